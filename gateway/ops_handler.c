/*
 * ops_handler: GET /up (the load balancer's check: the server's
 * grpc.health.v1 answer, which is SERVING only while its database answers),
 * GET /metrics (Prometheus text: metrics.c, and runstats.c's ingest-run
 * counts; never blocks) and GET /api/v1/openapi.json (the document
 * gateway/openapi.json, embedded at build time).
 */
#include <stdio.h>

#include "gateway.h"
#include "strbuf.h"

extern const unsigned char gw_openapi_json[];
extern const unsigned long gw_openapi_json_len;

void gw_handle_up(const struct gw_trace *trace, struct gw_reply *reply) {
  int serving = 0;
  char msg[256];
  rpc_code code = gw_upstream_health(trace, &serving, msg, sizeof msg);
  if (code == RPC_OK && serving) {
    reply->status = 200;
    reply->code = RPC_OK;
    strbuf_append(reply->body, "{\"status\":\"ok\",\"upstream\":\"SERVING\"}");
    return;
  }
  if (code != RPC_OK)
    gw_metrics_upstream_error(code);
  reply->status = 503;
  reply->code = RPC_UNAVAILABLE;
  strbuf_append(reply->body, "{\"status\":\"unavailable\",\"upstream\":");
  strbuf_append_json_string(reply->body, code == RPC_OK ? "NOT_SERVING" : rpc_code_name(code));
  strbuf_append(reply->body, ",\"message\":");
  strbuf_append_json_string(reply->body, msg);
  strbuf_append(reply->body, "}");
}

void gw_handle_metrics(struct gw_reply *reply) {
  reply->status = 200;
  reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
  gw_metrics_render(reply->body);
  gw_runstats_render(reply->body);
}

void gw_handle_openapi(struct gw_reply *reply) {
  reply->status = 200;
  reply->cacheable = 1;
  strbuf_append_n(reply->body, gw_openapi_json, (size_t)gw_openapi_json_len);
}
