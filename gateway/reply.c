/*
 * reply: error replies (grpc-gateway's status mapping and body) and ETags.
 * See reply.h.
 */
#include "reply.h"

#include <stdarg.h>
#include <stdio.h>

#include "hash.h"
#include "pbjson.h"
#include "strbuf.h"

static void fill_(struct gw_reply *reply, unsigned http_status, rpc_code code, const char *msg,
                  const struct rpc_details *details) {
  reply->status = http_status ? http_status : gw_http_status(code);
  reply->code = code;
  reply->cacheable = 0;
  reply->location[0] = '\0';
  reply->etag[0] = '\0';
  strbuf_reset(reply->body);
  gw_error_body(reply->body, code, msg, details);
}

void gw_reply_error(struct gw_reply *reply, unsigned http_status, rpc_code code, const char *fmt,
                    ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct rpc_details d;
  rpc_details_from_status(code, msg, reply->retry_after, &d);
  fill_(reply, http_status, code, msg, &d);
  rpc_details_clear(&d);
}

void gw_reply_rpc_error(struct gw_reply *reply, rpc_code code, const char *message,
                        const struct rpc_details *details) {
  fill_(reply, 0, code, message, details);
}

void gw_etag_of(const char *data, size_t len, char out[24]) {
  snprintf(out, 24, "\"%016llx\"", (unsigned long long)hash_fnv1a64(data, len));
}

unsigned gw_http_status(rpc_code code) {
  switch (code) {
  case RPC_OK:
    return 200;
  case RPC_CANCELLED:
    return 499;
  case RPC_UNKNOWN:
    return 500;
  case RPC_INVALID_ARGUMENT:
    return 400;
  case RPC_DEADLINE_EXCEEDED:
    return 504;
  case RPC_NOT_FOUND:
    return 404;
  case RPC_ALREADY_EXISTS:
    return 409;
  case RPC_PERMISSION_DENIED:
    return 403;
  case RPC_RESOURCE_EXHAUSTED:
    return 429;
  case RPC_FAILED_PRECONDITION:
    return 400;
  case RPC_ABORTED:
    return 409;
  case RPC_OUT_OF_RANGE:
    return 400;
  case RPC_UNIMPLEMENTED:
    return 501;
  case RPC_INTERNAL:
    return 500;
  case RPC_UNAVAILABLE:
    return 503;
  case RPC_DATA_LOSS:
    return 500;
  case RPC_UNAUTHENTICATED:
    return 401;
  case RPC_STREAM_PENDING: /* not a status (rpc_client_stream_next only) */
    return 500;
  }
  return 500;
}

void gw_error_body(struct strbuf *out, rpc_code code, const char *message,
                   const struct rpc_details *details) {
  strbuf_appendf(out, "{\"code\":%d,\"message\":", (int)code);
  strbuf_append_json_string(out, message);
  strbuf_append(out, ",\"details\":[");
  for (size_t i = 0; details != NULL && i < details->n; i++) {
    if (i > 0)
      strbuf_append_char(out, ',');
    pbjson_write_any(out, details->items[i]);
  }
  strbuf_append(out, "]}");
}
