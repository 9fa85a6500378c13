/*
 * api_handler: request message from HTTP input, one gRPC call, reply as
 * proto3 JSON, or raw for an HttpBody-style reply. See api_handler.h. Tests: tests/integration/
 * test_gateway_http.sh (every route, 400 naming the field);
 * tests/fuzz/fuzz_gateway_map.c (the mapping).
 */
#include "api_handler.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "pbjson.h"
#include "strbuf.h"
#include "upstream.h"

/* Formats the scalar at dotted path `path` of msg ("run.id"); -1 if absent. */
static int field_text_(const ProtobufCMessage *msg, const char *path, char *out, size_t outlen) {
  char name[64];
  const char *dot = strchr(path, '.');
  size_t n = dot ? (size_t)(dot - path) : strlen(path);
  if (n >= sizeof name)
    return -1;
  memcpy(name, path, n);
  name[n] = '\0';
  const ProtobufCFieldDescriptor *f =
      protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
  if (!f || f->label == PROTOBUF_C_LABEL_REPEATED)
    return -1;
  const void *p = (const char *)msg + f->offset;
  if (dot) {
    const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
    if (f->type != PROTOBUF_C_TYPE_MESSAGE || !sub)
      return -1;
    return field_text_(sub, dot + 1, out, outlen);
  }
  switch (f->type) {
  case PROTOBUF_C_TYPE_INT64:
    snprintf(out, outlen, "%" PRId64, *(const int64_t *)p);
    return 0;
  case PROTOBUF_C_TYPE_INT32:
    snprintf(out, outlen, "%" PRId32, *(const int32_t *)p);
    return 0;
  case PROTOBUF_C_TYPE_STRING:
    snprintf(out, outlen, "%s", *(char *const *)p);
    return 0;
  default:
    return -1;
  }
}

/* An HttpBody-style reply (as google.api.HttpBody: string content_type = 1,
 * bytes data = 2, nothing else, e.g. Shows/GetCalendar): 1 with *type and
 * *data set, else 0. grpc-gateway serves such a reply raw. */
static int http_body_(const ProtobufCMessage *msg, const char **type,
                      const ProtobufCBinaryData **data) {
  const ProtobufCMessageDescriptor *d = msg->descriptor;
  const ProtobufCFieldDescriptor *t =
      protobuf_c_message_descriptor_get_field_by_name(d, "content_type");
  const ProtobufCFieldDescriptor *b = protobuf_c_message_descriptor_get_field_by_name(d, "data");
  if (d->n_fields != 2 || !t || !b || t->id != 1 || t->type != PROTOBUF_C_TYPE_STRING ||
      t->label == PROTOBUF_C_LABEL_REPEATED || b->id != 2 || b->type != PROTOBUF_C_TYPE_BYTES ||
      b->label == PROTOBUF_C_LABEL_REPEATED)
    return 0;
  *type = *(char *const *)(const void *)((const char *)msg + t->offset);
  *data = (const ProtobufCBinaryData *)(const void *)((const char *)msg + b->offset);
  return 1;
}

static rpc_code input_error_(enum pbjson_status st) {
  (void)st;
  return RPC_INVALID_ARGUMENT;
}

int gw_rpc_prepare(const struct gw_route *route, const struct gw_request_input *in,
                   struct gw_rpc_call *call, struct gw_reply *reply) {
  call->route = route;
  call->req = NULL;
  const ProtobufCMethodDescriptor *m =
      protobuf_c_service_descriptor_get_method_by_name(route->service, route->rpc);
  if (!m) {
    gw_reply_error(reply, 0, RPC_UNIMPLEMENTED, "%s is not implemented", route->rpc);
    return -1;
  }
  call->index = (unsigned)(m - route->service->methods);
  ProtobufCMessage *req = pbjson_message_new(m->input);
  struct pbjson_error err;
  enum pbjson_status st = PBJSON_OK;
  for (size_t i = 0; st == PBJSON_OK && i < in->nparams; i++)
    st = pbjson_set_field(req, in->params[i].name, in->params[i].value, &err);
  for (size_t i = 0; st == PBJSON_OK && i < in->nquery; i++)
    st = pbjson_set_field(req, in->query_keys[i], in->query_values[i] ? in->query_values[i] : "",
                          &err);
  if (st == PBJSON_OK && in->body && in->body_len > 0)
    st = pbjson_parse(req, in->body, in->body_len, &err);
  if (st != PBJSON_OK) {
    gw_reply_error(reply, 0, input_error_(st), "%s", err.message);
    protobuf_c_message_free_unpacked(req, NULL);
    return -1;
  }
  call->req = req;
  return 0;
}

void gw_rpc_release(struct gw_rpc_call *call) {
  if (call && call->req) {
    protobuf_c_message_free_unpacked(call->req, NULL);
    call->req = NULL;
  }
}

void gw_rpc_invoke(struct gw_upstream *up, struct gw_metrics *m, struct gw_rpc_call *call,
                   const struct gw_trace *trace, struct gw_reply *reply) {
  const struct gw_route *route = call->route;
  struct rpc_client_ctx ctx;
  gw_upstream_call(up, route->service, call->index, call->req, trace, &ctx);
  if (ctx.code != RPC_OK || !ctx.reply) {
    rpc_code code = ctx.code == RPC_OK ? RPC_INTERNAL : ctx.code;
    gw_metrics_upstream_error(m, code);
    gw_reply_rpc_error(reply, code, ctx.message[0] ? ctx.message : rpc_code_name(code),
                       &ctx.details);
    goto cleanup;
  }
  reply->status = route->status;
  reply->code = RPC_OK;
  /* ETag + max-age only for the read routes (gw_routes[]'s cache column):
   * ingest runs change while they go, so they are no-store */
  reply->cacheable = strcmp(route->method, "GET") == 0 && route->cache;
  const char *type;
  const ProtobufCBinaryData *data;
  if (http_body_(ctx.reply, &type, &data)) {
    strbuf_append_n(reply->body, data->data, data->len);
    snprintf(reply->content_type_buf, sizeof reply->content_type_buf, "%s",
             type && type[0] ? type : "application/octet-stream");
    reply->content_type = reply->content_type_buf;
  } else {
    pbjson_write(reply->body, ctx.reply);
  }
  if (route->location) {
    char id[64];
    if (field_text_(ctx.reply, route->location, id, sizeof id) == 0) {
      /* the collection path + "/" + id: POST /api/v1/ingest/runs -> .../runs/7 */
      snprintf(reply->location, sizeof reply->location, "%s/%s", route->path, id);
    }
  }

cleanup:
  rpc_client_ctx_release(&ctx);
  gw_rpc_release(call);
}
