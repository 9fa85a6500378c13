/*
 * api_handler: the one handler behind every RPC route. Builds the request
 * message from path parameters, query parameters and (for POST) the JSON
 * body through pbjson, calls the route's method through upstream.h, and
 * writes the reply as proto3 JSON (or the error body with grpc-gateway's
 * status); a reply shaped as google.api.HttpBody (content_type + data, e.g.
 * Shows/GetCalendar) is written raw with its own Content-Type, as
 * grpc-gateway serves HttpBody. Adding an RPC is a route line, not code here. Building the
 * request (gw_rpc_prepare) never blocks and runs on an MHD thread, so bad
 * input is answered there; the call (gw_rpc_invoke) blocks and runs on an
 * upstream worker (workers.h). No state; thread-safe.
 */
#ifndef TVMAZE_GATEWAY_API_HANDLER_H
#define TVMAZE_GATEWAY_API_HANDLER_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "reply.h"
#include "routes.h"
#include "trace.h"

struct gw_upstream;
struct gw_metrics;

/* Query/path/body input of an RPC route (borrowed for the call). */
struct gw_request_input {
  const struct gw_path_param *params;
  size_t nparams;
  const char *const *query_keys; /* nquery pairs */
  const char *const *query_values;
  size_t nquery;
  const char *body;
  size_t body_len;
};

/* An RPC request built from the HTTP input, ready to be sent. */
struct gw_rpc_call {
  const struct gw_route *route;
  unsigned index;        /* method index in route->service */
  ProtobufCMessage *req; /* owned; NULL once invoked or released */
};

/* Builds call->req from in (no network): 0, or -1 with reply set to the
 * error (400 naming the field, 501) and nothing to release. */
int gw_rpc_prepare(const struct gw_route *route, const struct gw_request_input *in,
                   struct gw_rpc_call *call, struct gw_reply *reply);
/* Sends call (blocking: one gRPC call) and fills reply with the JSON reply
 * or the error (counted in m); releases call->req. */
void gw_rpc_invoke(struct gw_upstream *up, struct gw_metrics *m, struct gw_rpc_call *call,
                   const struct gw_trace *trace, struct gw_reply *reply);
/* Frees call->req if still held (NULL-safe, idempotent). */
void gw_rpc_release(struct gw_rpc_call *call);

#endif
