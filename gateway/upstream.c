/*
 * upstream: the gateway's client side of the binding. One channel to
 * TVMAZE_GRPC_TARGET, one ProtobufCService per service descriptor (the
 * routes' services, Auth and Health), created at start and read-only after,
 * so calls from any worker thread share them. Every call carries
 * x-request-id and traceparent metadata and the configured deadline, cut
 * short by the request's own deadline (time queued for a worker counts).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "grpc/health/v1/health.pb-c.h"
#include "tvmaze/v1/auth.pb-c.h"

#define MAX_SERVICES 8
#define HEALTH_TIMEOUT_MS 2000

static rpc_channel *channel_;
static long timeout_ms_;
static struct {
  const ProtobufCServiceDescriptor *desc;
  ProtobufCService *svc;
} services_[MAX_SERVICES];
static size_t nservices_;

static void add_service_(const ProtobufCServiceDescriptor *desc) {
  if (!desc || gw_upstream_service(desc) || nservices_ >= MAX_SERVICES)
    return;
  services_[nservices_].desc = desc;
  services_[nservices_].svc = rpc_client_service_create(channel_, desc);
  nservices_++;
}

void gw_upstream_init(const char *target, long timeout_ms) {
  channel_ = rpc_channel_create(target, 0);
  timeout_ms_ = timeout_ms;
  for (size_t i = 0; i < gw_routes_count; i++)
    add_service_(gw_routes[i].service);
  add_service_(&tvmaze__v1__auth__descriptor);
  add_service_(&grpc__health__v1__health__descriptor);
}

void gw_upstream_shutdown(void) {
  for (size_t i = 0; i < nservices_; i++)
    rpc_client_service_destroy(services_[i].svc);
  nservices_ = 0;
  if (channel_)
    rpc_channel_destroy(channel_);
  channel_ = NULL;
}

ProtobufCService *gw_upstream_service(const ProtobufCServiceDescriptor *desc) {
  for (size_t i = 0; i < nservices_; i++)
    if (services_[i].desc == desc)
      return services_[i].svc;
  return NULL;
}

int64_t gw_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void call_(ProtobufCService *service, unsigned index, const ProtobufCMessage *req,
                  const struct gw_trace *trace, long timeout_ms, struct rpc_client_ctx *ctx) {
  struct rpc_metadata md[2] = {{"x-request-id", trace->request_id},
                               {"traceparent", trace->traceparent}};
  memset(ctx, 0, sizeof *ctx);
  if (trace->deadline_ms > 0) {
    int64_t left = trace->deadline_ms - gw_now_ms();
    if (left <= 0) {
      ctx->code = RPC_DEADLINE_EXCEEDED;
      snprintf(ctx->message, sizeof ctx->message,
               "deadline exceeded while waiting for an upstream worker");
      return;
    }
    if (left < timeout_ms)
      timeout_ms = (long)left;
  }
  ctx->timeout_ms = timeout_ms;
  ctx->code = RPC_UNKNOWN;
  ctx->metadata = md;
  ctx->n_metadata = 2;
  if (!service) {
    ctx->code = RPC_UNAVAILABLE;
    snprintf(ctx->message, sizeof ctx->message, "upstream not configured");
    return;
  }
  service->invoke(service, index, req, rpc_client_keep_reply, ctx);
  ctx->metadata = NULL;
  ctx->n_metadata = 0;
}

void gw_upstream_call(ProtobufCService *service, unsigned index, const ProtobufCMessage *req,
                      const struct gw_trace *trace, struct rpc_client_ctx *ctx) {
  call_(service, index, req, trace, timeout_ms_, ctx);
}

void gw_upstream_call_within(ProtobufCService *service, unsigned index, const ProtobufCMessage *req,
                             const struct gw_trace *trace, long timeout_ms,
                             struct rpc_client_ctx *ctx) {
  call_(service, index, req, trace, timeout_ms < timeout_ms_ ? timeout_ms : timeout_ms_, ctx);
}

rpc_code gw_upstream_health(const struct gw_trace *trace, int *serving, char *msg, size_t msglen) {
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  struct rpc_client_ctx ctx;
  gw_upstream_call_within(gw_upstream_service(&grpc__health__v1__health__descriptor), 0, &req.base,
                          trace, HEALTH_TIMEOUT_MS, &ctx);
  rpc_code code = ctx.code;
  *serving = 0;
  if (code == RPC_OK && ctx.reply) {
    const Grpc__Health__V1__HealthCheckResponse *r =
        (const Grpc__Health__V1__HealthCheckResponse *)ctx.reply;
    *serving = r->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
  }
  snprintf(msg, msglen, "%s", ctx.message);
  rpc_client_ctx_release(&ctx);
  return code;
}
