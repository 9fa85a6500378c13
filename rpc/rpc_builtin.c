/*
 * rpc_builtin: what the server half answers itself, without a registered
 * service: grpc.health.v1.Health/Check (a unary call, through the health
 * callback) and the bidi ServerReflectionInfo streams of
 * grpc.reflection.v1 and v1alpha (answers from rpc_reflection.c).
 *
 * Health: service "" or a served name (the added services, the health
 * service, the reflection services when on) -> the callback's state
 * (SERVING without one), sent as prepacked static bytes; any other name ->
 * NOT_FOUND, as the gRPC health spec says. Watch is a server stream
 * (rpc_health_watch.c).
 *
 * Reflection stream steps, each one batch on the worker's queue
 * (RPC_TAG_REFL): {SEND_INITIAL_METADATA, RECV_MESSAGE}, then
 * {SEND_MESSAGE, RECV_MESSAGE} per request, and {SEND_STATUS OK,
 * RECV_CLOSE_ON_SERVER} once the client half-closes (NULL message) or a
 * request does not parse. Worker thread only.
 */
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>

#include "grpc/health/v1/health.pb-c.h"
#include "rpc_server_impl.h"
#include "xalloc.h"

const char rpc_health_service_[] = "grpc.health.v1.Health";
const char rpc_reflection_v1_[] = "grpc.reflection.v1.ServerReflection";
const char rpc_reflection_v1a_[] = "grpc.reflection.v1alpha.ServerReflection";

/* ------------------------------------------------------------------ */
/* Health                                                             */
/* ------------------------------------------------------------------ */

int rpc_served_(const struct rpc_server *srv, const char *name) {
  for (size_t i = 0; i < srv->n_services; i++) {
    if (strcmp(srv->services[i]->descriptor->name, name) == 0) {
      return 1;
    }
  }
  for (size_t i = 0; i < srv->n_stream_regs; i++) {
    if (strcmp(srv->stream_regs[i].svc->name, name) == 0) {
      return 1;
    }
  }
  return strcmp(name, rpc_health_service_) == 0 ||
         (srv->refl != NULL &&
          (strcmp(name, rpc_reflection_v1_) == 0 || strcmp(name, rpc_reflection_v1a_) == 0));
}

void rpc_health_check_(struct rpc_call *c, const ProtobufCMessage *in) {
  const Grpc__Health__V1__HealthCheckRequest *req =
      (const Grpc__Health__V1__HealthCheckRequest *)in;
  struct rpc_server *srv = c->w->srv;
  const char *name = req->service ? req->service : "";
  if (name[0] != '\0' && !rpc_served_(srv, name)) {
    rpc_call_set_status(c, RPC_NOT_FOUND, "unknown service %s", name);
    rpc_call_reply_message_(c, NULL);
    return;
  }
  rpc_health_status st = RPC_HEALTH_SERVING;
  if (srv->cfg.health != NULL) {
    st = srv->cfg.health(name, c->w->data, srv->cfg.user);
  }
  if ((unsigned)st <= RPC_HEALTH_SERVICE_UNKNOWN) {
    /* HealthCheckResponse{status: st} is field 1 as a varint: prepacked,
     * sent from static storage (no packing, no copy). */
    static const uint8_t packed[4][2] = {{0x08, 0}, {0x08, 1}, {0x08, 2}, {0x08, 3}};
    rpc_call_reply_slice_(c, grpc_slice_from_static_buffer(packed[st], st == 0 ? 0 : 2));
    return;
  }
  Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
  resp.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)st;
  rpc_call_reply_message_(c, &resp.base);
}

/* ------------------------------------------------------------------ */
/* Reflection streams                                                 */
/* ------------------------------------------------------------------ */

enum stream_state_ { ST_READING, ST_FINISHING };

struct rpc_refl_ {
  struct rpc_tag_ tag; /* RPC_TAG_REFL */
  struct rpc_worker_ *w;
  grpc_call *call;
  grpc_metadata_array md;
  grpc_byte_buffer *recv; /* the request being received */
  grpc_byte_buffer *send; /* the answer being sent */
  enum stream_state_ state;
  int cancelled;
};

static void stream_free_(struct rpc_refl_ *s) {
  if (s->recv != NULL) {
    grpc_byte_buffer_destroy(s->recv);
  }
  if (s->send != NULL) {
    grpc_byte_buffer_destroy(s->send);
  }
  grpc_call_unref(s->call);
  grpc_metadata_array_destroy(&s->md);
  free(s);
}

static void stream_finish_(struct rpc_refl_ *s) {
  grpc_op ops[2];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[0].data.send_status_from_server.status = GRPC_STATUS_OK;
  ops[1].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  ops[1].data.recv_close_on_server.cancelled = &s->cancelled;
  s->state = ST_FINISHING;
  if (rpc_batch_start_(s->w, s->call, ops, 2, &s->tag) != GRPC_CALL_OK) {
    stream_free_(s);
  }
}

void rpc_refl_start_(struct rpc_worker_ *w, grpc_call *call, grpc_metadata_array *md) {
  struct rpc_refl_ *s = xcalloc(1, sizeof *s);
  s->tag.kind = RPC_TAG_REFL;
  s->w = w;
  s->call = call;
  s->md = *md;
  s->state = ST_READING;
  grpc_op ops[2];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[1].op = GRPC_OP_RECV_MESSAGE;
  ops[1].data.recv_message.recv_message = &s->recv;
  if (rpc_batch_start_(w, call, ops, 2, &s->tag) != GRPC_CALL_OK) {
    stream_free_(s);
  }
}

void rpc_refl_step_(struct rpc_refl_ *s, int success) {
  if (s->state == ST_FINISHING) {
    stream_free_(s);
    return;
  }
  if (s->send != NULL) {
    grpc_byte_buffer_destroy(s->send);
    s->send = NULL;
  }
  if (!success || s->recv == NULL) {
    stream_finish_(s);
    return;
  }
  grpc_slice bytes = rpc_slice_read_all_(s->recv);
  grpc_byte_buffer_destroy(s->recv);
  s->recv = NULL;
  uint8_t *out = NULL;
  size_t out_len = 0;
  int rc = rpc_reflection_answer(s->w->srv->refl, GRPC_SLICE_START_PTR(bytes),
                                 GRPC_SLICE_LENGTH(bytes), &out, &out_len);
  grpc_slice_unref(bytes);
  if (rc != 0) {
    stream_finish_(s);
    return;
  }
  grpc_slice sl = grpc_slice_new(out, out_len, free);
  s->send = grpc_raw_byte_buffer_create(&sl, 1);
  grpc_slice_unref(sl);
  grpc_op ops[2];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_MESSAGE;
  ops[0].data.send_message.send_message = s->send;
  ops[1].op = GRPC_OP_RECV_MESSAGE;
  ops[1].data.recv_message.recv_message = &s->recv;
  if (rpc_batch_start_(s->w, s->call, ops, 2, &s->tag) != GRPC_CALL_OK) {
    stream_finish_(s);
  }
}
