/*
 * upstream: one channel, one client service per descriptor, metadata and
 * deadlines. See upstream.h.
 */
#include "upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "grpc/health/v1/health.pb-c.h"
#include "routes.h"
#include "tvmaze/v1/auth.pb-c.h"
#include "xalloc.h"

#define MAX_SERVICES 8
#define HEALTH_TIMEOUT_MS 2000

/* Written by create only; read-only after (no lock). */
struct gw_upstream {
  rpc_channel *channel;
  struct otel_tracer *tracer; /* borrowed: the upstream calls' CLIENT spans */
  long timeout_ms;
  char *api_key; /* TVMAZE_API_KEY, or NULL */
  struct {
    const ProtobufCServiceDescriptor *desc;
    ProtobufCService *svc;
  } services[MAX_SERVICES];
  size_t nservices;
};

static ProtobufCService *service_(const struct gw_upstream *up,
                                  const ProtobufCServiceDescriptor *desc) {
  for (size_t i = 0; i < up->nservices; i++)
    if (up->services[i].desc == desc)
      return up->services[i].svc;
  return NULL;
}

static void add_service_(struct gw_upstream *up, const ProtobufCServiceDescriptor *desc) {
  if (!desc || service_(up, desc) || up->nservices >= MAX_SERVICES)
    return;
  up->services[up->nservices].desc = desc;
  up->services[up->nservices].svc = rpc_client_service_create(up->channel, desc);
  up->nservices++;
}

struct gw_upstream *gw_upstream_create(const char *target, const struct rpc_tls_files *tls,
                                       const char *api_key, long timeout_ms,
                                       struct otel_tracer *tracer, char *err, size_t errlen) {
  rpc_channel *channel = rpc_channel_create_tls(target, 0, tls, err, errlen);
  if (!channel)
    return NULL;
  struct gw_upstream *up = xcalloc(1, sizeof *up);
  up->api_key = api_key && api_key[0] ? xstrdup(api_key) : NULL;
  up->channel = channel;
  up->tracer = tracer;
  up->timeout_ms = timeout_ms;
  for (size_t i = 0; i < gw_routes_count; i++)
    add_service_(up, gw_routes[i].service);
  add_service_(up, &tvmaze__v1__auth__descriptor);
  add_service_(up, &grpc__health__v1__health__descriptor);
  return up;
}

void gw_upstream_destroy(struct gw_upstream *up) {
  if (!up)
    return;
  for (size_t i = 0; i < up->nservices; i++)
    rpc_client_service_destroy(up->services[i].svc);
  if (up->channel)
    rpc_channel_destroy(up->channel);
  free(up->api_key);
  free(up);
}

/* The metadata of a call (see upstream.h): request id, traceparent and the
 * keys; returns the number of entries written to md (at most 4). */
static size_t metadata_(const struct gw_upstream *up, const struct gw_trace *trace,
                        const char *traceparent, struct rpc_metadata md[4]) {
  size_t n = 0;
  md[n++] = (struct rpc_metadata){"x-request-id", trace->request_id};
  md[n++] = (struct rpc_metadata){"traceparent", traceparent};
  const char *key = trace->on_behalf && trace->caller_key ? trace->caller_key : up->api_key;
  if (key)
    md[n++] = (struct rpc_metadata){"x-api-key", key};
  if (up->api_key) /* the gateway limits what it relays itself */
    md[n++] = (struct rpc_metadata){"x-tvmaze-relay-key", up->api_key};
  return n;
}

/* The CLIENT span of a call (semantic conventions for gRPC), a child of
 * the request's span; *ctx gets its context, which the call sends. */
static struct otel_span *client_span_(struct gw_upstream *up,
                                      const ProtobufCServiceDescriptor *desc, unsigned index,
                                      const struct gw_trace *trace, struct otel_span_context *ctx) {
  const char *method = index < desc->n_methods ? desc->methods[index].name : "unknown";
  char name[160];
  snprintf(name, sizeof name, "%s/%s", desc->name, method);
  struct otel_span *s =
      otel_tracer_start(up->tracer, &trace->ctx, 0, name, OTEL_SPAN_CLIENT, 0, ctx);
  otel_span_attr_str(s, "rpc.system", "grpc");
  otel_span_attr_str(s, "rpc.service", desc->name);
  otel_span_attr_str(s, "rpc.method", method);
  return s;
}

static void call_(struct gw_upstream *up, const ProtobufCServiceDescriptor *desc, unsigned index,
                  const ProtobufCMessage *req, const struct gw_trace *trace, long timeout_ms,
                  struct rpc_client_ctx *ctx) {
  memset(ctx, 0, sizeof *ctx);
  if (trace->deadline_ms > 0) {
    int64_t left = trace->deadline_ms - clock_mono_ms();
    if (left <= 0) {
      ctx->code = RPC_DEADLINE_EXCEEDED;
      snprintf(ctx->message, sizeof ctx->message,
               "deadline exceeded while waiting for an upstream worker");
      return;
    }
    if (left < timeout_ms)
      timeout_ms = (long)left;
  }
  ProtobufCService *service = service_(up, desc);
  if (!service) {
    ctx->code = RPC_UNAVAILABLE;
    snprintf(ctx->message, sizeof ctx->message, "upstream not configured");
    return;
  }
  struct otel_span_context cctx;
  struct otel_span *span = client_span_(up, desc, index, trace, &cctx);
  char traceparent[OTEL_TRACEPARENT_LEN + 1];
  otel_traceparent_format(&cctx, traceparent);
  struct rpc_metadata md[4];
  ctx->timeout_ms = timeout_ms;
  ctx->code = RPC_UNKNOWN;
  ctx->metadata = md;
  ctx->n_metadata = metadata_(up, trace, traceparent, md);
  service->invoke(service, index, req, rpc_client_keep_reply, ctx);
  ctx->metadata = NULL;
  ctx->n_metadata = 0;
  otel_span_attr_int(span, "rpc.grpc.status_code", (int64_t)ctx->code);
  if (ctx->code != RPC_OK)
    otel_span_set_status(span, OTEL_STATUS_ERROR, ctx->message);
  otel_tracer_end(up->tracer, span);
}

struct otel_tracer *gw_upstream_tracer(struct gw_upstream *up) {
  return up->tracer;
}

void gw_upstream_call(struct gw_upstream *up, const ProtobufCServiceDescriptor *desc,
                      unsigned index, const ProtobufCMessage *req, const struct gw_trace *trace,
                      struct rpc_client_ctx *ctx) {
  call_(up, desc, index, req, trace, up->timeout_ms, ctx);
}

void gw_upstream_call_within(struct gw_upstream *up, const ProtobufCServiceDescriptor *desc,
                             unsigned index, const ProtobufCMessage *req,
                             const struct gw_trace *trace, long timeout_ms,
                             struct rpc_client_ctx *ctx) {
  call_(up, desc, index, req, trace, timeout_ms < up->timeout_ms ? timeout_ms : up->timeout_ms,
        ctx);
}

rpc_client_stream *gw_upstream_stream_open(struct gw_upstream *up, const char *method_path,
                                           const ProtobufCMessage *req,
                                           const ProtobufCMessageDescriptor *reply_desc,
                                           const struct gw_trace *trace) {
  char traceparent[OTEL_TRACEPARENT_LEN + 1];
  otel_traceparent_format(&trace->ctx, traceparent);
  struct rpc_metadata md[4];
  struct rpc_client_ctx ctx = {
      .timeout_ms = 0, .metadata = md, .n_metadata = metadata_(up, trace, traceparent, md)};
  return rpc_client_stream_open(up->channel, method_path, req, reply_desc, &ctx);
}

void gw_upstream_reconnect(struct gw_upstream *up) {
  rpc_channel_reset_backoff(up->channel);
}

rpc_code gw_upstream_health(struct gw_upstream *up, const struct gw_trace *trace, int *serving,
                            char *msg, size_t msglen) {
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  struct rpc_client_ctx ctx;
  gw_upstream_call_within(up, &grpc__health__v1__health__descriptor, 0, &req.base, trace,
                          HEALTH_TIMEOUT_MS, &ctx);
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
