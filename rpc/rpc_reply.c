/*
 * rpc_reply: the status and the reply of a unary call (see rpc.h,
 * rpc_server_impl.h). A handler replies once: a message through its
 * closure (packed into one slice here, checked against the size limit), or
 * bytes already packed (rpc_call_reply_packed: checked at their top level by
 * rpc_packed.c, then sent as they are, without a copy when the caller hands
 * them over); or sets a status and no reply. rpc_call.c sends what is
 * recorded here in the call's final batch. Worker thread of the call only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <grpc/byte_buffer.h>

#include "rpc_server_impl.h"
#include "xalloc.h"

/* ------------------------------------------------------------------ */
/* Status and replies                                                 */
/* ------------------------------------------------------------------ */

static void set_status_(struct rpc_call *c, rpc_code code, const char *msg) {
  c->code = code;
  free(c->message);
  c->message = xstrdup(msg);
}

void rpc_call_set_status(rpc_call *call, rpc_code code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char buf[1024];
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  set_status_(call, code, buf);
}

void rpc_call_set_retry_delay(rpc_call *call, int64_t seconds) {
  call->retry_s = seconds;
}

/* RPC_OK if a reply of n bytes fits the server's limit, else the status
 * set (RESOURCE_EXHAUSTED). */
static rpc_code fits_(struct rpc_call *c, size_t n) {
  size_t max = c->w->srv->cfg.max_message_bytes;
  if (n > max) {
    rpc_call_set_status(c, RPC_RESOURCE_EXHAUSTED, "reply of %zu bytes exceeds the limit of %zu", n,
                        max);
    return RPC_RESOURCE_EXHAUSTED;
  }
  return RPC_OK;
}

void rpc_call_reply_slice_(struct rpc_call *c, grpc_slice s) {
  if (c->replied) {
    grpc_slice_unref(s);
    return;
  }
  c->replied = 1;
  c->out = grpc_raw_byte_buffer_create(&s, 1);
  grpc_slice_unref(s);
  c->code = RPC_OK;
  free(c->message);
  c->message = NULL;
}

void rpc_call_reply_message_(struct rpc_call *c, const ProtobufCMessage *msg) {
  if (c->replied) {
    return; /* a second reply is ignored */
  }
  if (msg == NULL) {
    c->replied = 1;
    if (c->code == RPC_OK) {
      set_status_(c, RPC_UNKNOWN, "handler returned no reply");
    }
    return;
  }
  /* Sized once: protobuf-c sizes every nested message again while packing,
   * so a second top-level pass is not free for a 24 KB reply. */
  size_t n = protobuf_c_message_get_packed_size(msg);
  if (fits_(c, n) != RPC_OK) {
    c->replied = 1;
    return;
  }
  grpc_slice s = grpc_slice_malloc(n);
  protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
  rpc_call_reply_slice_(c, s);
}

/* The output descriptor of c's method (NULL for health and unknown ones). */
static const ProtobufCMessageDescriptor *output_(const struct rpc_call *c) {
  if (c->m == NULL || c->m->kind != RPC_M_USER) {
    return NULL;
  }
  return c->m->service->descriptor->methods[c->m->index].output;
}

rpc_code rpc_call_reply_packed(rpc_call *c, void *bytes, size_t len, void (*release)(void *)) {
  const ProtobufCMessageDescriptor *out = output_(c);
  rpc_code code = RPC_OK;
  char why[160];
  if (c->replied) {
    code = RPC_FAILED_PRECONDITION; /* a second reply is ignored */
  } else if (bytes == NULL) {
    code = RPC_INTERNAL;
    rpc_call_set_status(c, code, "no packed reply");
  } else if (fits_(c, len) != RPC_OK) {
    code = RPC_RESOURCE_EXHAUSTED;
  } else if (out != NULL && rpc_packed_check(out, bytes, len, why, sizeof why) != 0) {
    code = RPC_INTERNAL;
    rpc_call_set_status(c, code, "packed reply is not a %s: %s", out->name, why);
  }
  if (code != RPC_OK) {
    c->replied = 1;
    if (release != NULL && bytes != NULL) {
      release(bytes);
    }
    return code;
  }
  if (release != NULL && len > 0) {
    rpc_call_reply_slice_(c, grpc_slice_new(bytes, len, release)); /* no copy */
  } else {
    rpc_call_reply_slice_(c, grpc_slice_from_copied_buffer(bytes, len));
    if (release != NULL) {
      release(bytes);
    }
  }
  return RPC_OK;
}
