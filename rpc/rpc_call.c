/*
 * rpc_call: unary calls of the server half (see rpc.h, rpc_server_impl.h).
 *
 * An accepted call: the request is unpacked with the method's input
 * descriptor (in place when it arrived as one uncompressed slice), the
 * handler runs with the struct rpc_call as closure_data and replies one of
 * two ways (recorded by rpc_reply.c), then one batch {SEND_INITIAL_METADATA, SEND_MESSAGE?,
 * SEND_STATUS_FROM_SERVER, RECV_CLOSE_ON_SERVER} finishes the call:
 *
 *   closure(msg, call)                      msg packed into one slice here
 *   rpc_call_reply_packed(call, b, n, rel)  bytes already packed (cache hits):
 *                                           checked at their top level
 *                                           (rpc_packed.c), then sent as they
 *                                           are -- rel non-NULL: without a copy
 *
 * Without a reply the status set with rpc_call_set_status is sent. The
 * call object is freed when its final batch completes (RPC_TAG_FINISH) and
 * kept by its worker for reuse. Runs on the worker thread that owns the
 * call only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "grpc/health/v1/health.pb-c.h"
#include "rpc_server_impl.h"
#include "xalloc.h"

/* ------------------------------------------------------------------ */
/* Bytes                                                              */
/* ------------------------------------------------------------------ */

rpc_code rpc_unpack_request(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                            size_t max, ProtobufCMessage **out) {
  *out = NULL;
  if (max != 0 && len > max) {
    return RPC_RESOURCE_EXHAUSTED;
  }
  ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, len, data);
  if (msg == NULL) {
    return RPC_INVALID_ARGUMENT;
  }
  *out = msg;
  return RPC_OK;
}

/* ------------------------------------------------------------------ */
/* Call objects                                                       */
/* ------------------------------------------------------------------ */

void rpc_call_clear_(struct rpc_call *c) {
  if (c->out != NULL) {
    grpc_byte_buffer_destroy(c->out);
  }
  if (c->call != NULL) {
    grpc_call_unref(c->call);
  }
  grpc_metadata_array_destroy(&c->md);
  free(c->message);
  if (c->peer != NULL) {
    gpr_free(c->peer);
  }
  for (size_t i = 0; i < c->n_strs; i++) {
    free(c->strs[i]);
  }
  free(c->strs);
  free(c->path);
}

void rpc_call_free_(struct rpc_call *c) {
  rpc_call_clear_(c);
  struct rpc_worker_ *w = c->w;
  if (w->n_spare < RPC_MAX_SPARE_CALLS) {
    c->next_spare = w->spare;
    w->spare = c;
    w->n_spare++;
  } else {
    free(c);
  }
}

void rpc_call_spares_free_(struct rpc_worker_ *w) {
  while (w->spare != NULL) {
    struct rpc_call *c = w->spare;
    w->spare = c->next_spare;
    free(c);
  }
  w->n_spare = 0;
}

/* A zeroed call object (from the worker's spares when it has one). */
static struct rpc_call *call_new_(struct rpc_worker_ *w) {
  struct rpc_call *c = w->spare;
  if (c != NULL) {
    w->spare = c->next_spare;
    w->n_spare--;
    memset(c, 0, sizeof *c);
  } else {
    c = xcalloc(1, sizeof *c);
  }
  return c;
}

/* ------------------------------------------------------------------ */
/* Observer                                                           */
/* ------------------------------------------------------------------ */

int64_t rpc_mono_ns_(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Whether c is a call the observer hears of (a registered service's). */
static int observed_(const struct rpc_call *c) {
  return c->m != NULL && c->m->kind == RPC_M_USER && c->w->srv->cfg.observe != NULL;
}

static void report_(struct rpc_call *c, enum rpc_call_event ev, int64_t now_ns) {
  const struct rpc_server_config *cfg = &c->w->srv->cfg;
  struct rpc_call_report r = {
      .event = ev,
      .service = c->m->service->descriptor,
      .method_index = c->m->index,
      .code = ev == RPC_CALL_FINISHED ? c->code : RPC_OK,
      .duration_ns = ev == RPC_CALL_FINISHED ? now_ns - c->start_ns : 0,
      .worker_index = c->w->index,
      .worker_data = c->w->data,
      .call = ev == RPC_CALL_STARTED ? c : NULL,
      .slot = &c->observer_slot,
  };
  cfg->observe(&r, cfg->user);
}

/* Starts the final batch; the call is freed when it completes. */
static void send_final_(struct rpc_call *c) {
  if (observed_(c)) {
    report_(c, RPC_CALL_FINISHED, rpc_mono_ns_());
  }
  grpc_op ops[4];
  memset(ops, 0, sizeof ops);
  size_t n = 0;
  ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
  n++;
  if (c->out != NULL) {
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = c->out;
    n++;
  }
  grpc_slice details = grpc_slice_from_copied_string(c->message ? c->message : "");
  grpc_metadata trailer;
  int has_trailer = rpc_status_details_(c->code, c->message, c->retry_s, &trailer);
  ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[n].data.send_status_from_server.status = (grpc_status_code)c->code;
  ops[n].data.send_status_from_server.status_details = &details;
  ops[n].data.send_status_from_server.trailing_metadata_count = has_trailer ? 1 : 0;
  ops[n].data.send_status_from_server.trailing_metadata = has_trailer ? &trailer : NULL;
  n++;
  ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  ops[n].data.recv_close_on_server.cancelled = &c->cancelled;
  n++;
  grpc_call_error e = rpc_batch_start_(c->w, c->call, ops, n, &c->tag);
  grpc_slice_unref(details);
  if (has_trailer) {
    grpc_slice_unref(trailer.key);
    grpc_slice_unref(trailer.value);
  }
  if (e != GRPC_CALL_OK) {
    rpc_call_free_(c);
  }
}

/* The closure handlers call. */
static void reply_closure_(const ProtobufCMessage *msg, void *closure_data) {
  rpc_call_reply_message_(closure_data, msg);
}

/* ------------------------------------------------------------------ */
/* Handling                                                           */
/* ------------------------------------------------------------------ */

typedef void (*generic_handler_)(ProtobufCService *svc, const ProtobufCMessage *in,
                                 ProtobufCClosure closure, void *closure_data);

/* Runs the user handler of c's method on request in. */
static void invoke_(struct rpc_call *c, const ProtobufCMessage *in) {
  struct rpc_method_ *m = c->m;
  ProtobufCService *svc = m->service;
  /* protobuf_c_service_invoke_internal calls a NULL handler slot unchecked. */
  generic_handler_ h = NULL;
  if (svc->invoke == protobuf_c_service_invoke_internal) {
    memcpy(&h, (const char *)(svc + 1) + m->index * sizeof(generic_handler_), sizeof h);
    if (h == NULL) {
      rpc_call_set_status(c, RPC_UNIMPLEMENTED, "%s is not implemented", m->path);
      c->replied = 1;
      return;
    }
  }
  svc->invoke(svc, m->index, in, reply_closure_, c);
  if (!c->replied) {
    rpc_call_set_status(c, RPC_INTERNAL, "handler returned without replying");
  }
}

static void handle_unary_(struct rpc_call *c, grpc_byte_buffer *payload) {
  struct rpc_method_ *m = c->m;
  const ProtobufCMessageDescriptor *in_desc =
      m->kind == RPC_M_HEALTH ? &grpc__health__v1__health_check_request__descriptor
                              : m->service->descriptor->methods[m->index].input;
  if (payload == NULL) {
    rpc_call_set_status(c, RPC_INTERNAL, "no request message");
    send_final_(c);
    return;
  }
  /* The usual received buffer is one uncompressed slice: unpack from it in
   * place; otherwise copy it into one slice. */
  grpc_slice bytes;
  if (payload->type == GRPC_BB_RAW && payload->data.raw.compression == GRPC_COMPRESS_NONE &&
      payload->data.raw.slice_buffer.count <= 1) {
    bytes = payload->data.raw.slice_buffer.count == 1
                ? grpc_slice_ref(payload->data.raw.slice_buffer.slices[0])
                : grpc_empty_slice();
  } else {
    bytes = rpc_slice_read_all_(payload);
  }
  ProtobufCMessage *in = NULL;
  rpc_code rc = rpc_unpack_request(in_desc, GRPC_SLICE_START_PTR(bytes), GRPC_SLICE_LENGTH(bytes),
                                   c->w->srv->cfg.max_message_bytes, &in);
  /* protobuf-c cuts a string at a NUL: refused here, naming the field, while
   * the bytes still say how long the string really is */
  char nul_field[128];
  if (rc == RPC_OK &&
      rpc_packed_find_nul(in_desc, GRPC_SLICE_START_PTR(bytes), GRPC_SLICE_LENGTH(bytes), nul_field,
                          sizeof nul_field) != 0) {
    grpc_slice_unref(bytes);
    protobuf_c_message_free_unpacked(in, NULL);
    rpc_call_set_status(c, RPC_INVALID_ARGUMENT, "%s: must not contain a NUL character", nul_field);
    send_final_(c);
    return;
  }
  grpc_slice_unref(bytes);
  if (rc != RPC_OK) {
    rpc_call_set_status(c, rc, "%s",
                        rc == RPC_RESOURCE_EXHAUSTED
                            ? "request exceeds the message size limit"
                            : "request does not parse as the method's input");
    send_final_(c);
    return;
  }
  if (m->kind == RPC_M_HEALTH) {
    rpc_health_check_(c, in);
  } else {
    invoke_(c, in);
  }
  protobuf_c_message_free_unpacked(in, NULL);
  send_final_(c);
}

void rpc_call_accept_(struct rpc_worker_ *w, struct rpc_method_ *m, grpc_call *call,
                      grpc_metadata_array *md, gpr_timespec deadline, grpc_byte_buffer *payload,
                      char *path) {
  struct rpc_call *c = call_new_(w);
  c->tag.kind = RPC_TAG_FINISH;
  c->w = w;
  c->m = m;
  c->call = call;
  c->md = *md;
  c->deadline = deadline;
  if (m == NULL) {
    c->path = xstrdup(path);
    rpc_call_set_status(c, RPC_UNIMPLEMENTED, "unknown method %s", path);
    gpr_free(path);
    send_final_(c);
    return;
  }
  if (observed_(c)) {
    c->start_ns = rpc_mono_ns_();
    report_(c, RPC_CALL_STARTED, c->start_ns);
  }
  const struct rpc_server_config *cfg = &w->srv->cfg;
  if (m->kind == RPC_M_USER && cfg->gate != NULL &&
      cfg->gate(c, m->service->descriptor, m->index, w->data, cfg->user) != 0) {
    if (c->message == NULL) {
      rpc_call_set_status(c, RPC_PERMISSION_DENIED, "refused");
    }
    send_final_(c);
    return;
  }
  handle_unary_(c, payload);
}

/* ------------------------------------------------------------------ */
/* Accessors                                                          */
/* ------------------------------------------------------------------ */

const char *rpc_call_metadata(const rpc_call *call_in, const char *key) {
  struct rpc_call *c = (struct rpc_call *)call_in; /* caches the copy */
  for (size_t i = 0; i < c->md.count; i++) {
    if (grpc_slice_str_cmp(c->md.metadata[i].key, key) == 0) {
      char *v = grpc_slice_to_c_string(c->md.metadata[i].value);
      char *copy = xstrdup(v);
      gpr_free(v);
      c->strs = xrealloc(c->strs, (c->n_strs + 1) * sizeof *c->strs);
      c->strs[c->n_strs++] = copy;
      return copy;
    }
  }
  return NULL;
}

size_t rpc_call_metadata_all(const rpc_call *call_in, const char *key, const char **values,
                             size_t *lens, size_t max) {
  struct rpc_call *c = (struct rpc_call *)call_in; /* caches the copies */
  size_t n = 0;
  for (size_t i = 0; i < c->md.count; i++) {
    if (grpc_slice_str_cmp(c->md.metadata[i].key, key) != 0) {
      continue;
    }
    if (n < max) {
      size_t len = GRPC_SLICE_LENGTH(c->md.metadata[i].value);
      char *copy = xmalloc(len + 1);
      memcpy(copy, GRPC_SLICE_START_PTR(c->md.metadata[i].value), len);
      copy[len] = '\0';
      c->strs = xrealloc(c->strs, (c->n_strs + 1) * sizeof *c->strs);
      c->strs[c->n_strs++] = copy;
      values[n] = copy;
      lens[n] = len;
    }
    n++;
  }
  return n;
}

int64_t rpc_call_deadline_remaining_ms(const rpc_call *c) {
  gpr_timespec d = gpr_convert_clock_type(c->deadline, GPR_CLOCK_REALTIME);
  if (gpr_time_cmp(d, gpr_inf_future(GPR_CLOCK_REALTIME)) >= 0) {
    return INT64_MAX;
  }
  gpr_timespec left = gpr_time_sub(d, gpr_now(GPR_CLOCK_REALTIME));
  int64_t ms = (int64_t)left.tv_sec * 1000 + left.tv_nsec / 1000000;
  return ms < 0 ? 0 : ms;
}

void *rpc_call_worker_data(const rpc_call *c) {
  return c->w->data;
}

int rpc_call_worker_index(const rpc_call *c) {
  return c->w->index;
}

const char *rpc_call_method(const rpc_call *c) {
  return c->m != NULL ? c->m->path : c->path;
}

const char *rpc_call_peer(const rpc_call *call_in) {
  struct rpc_call *c = (struct rpc_call *)call_in;
  if (c->peer == NULL) {
    c->peer = grpc_call_get_peer(c->call);
  }
  return c->peer;
}
