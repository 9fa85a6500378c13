/*
 * ops_handler: /up, /metrics, /api/v1/openapi.json. See ops_handler.h.
 * Tests: tests/integration/test_gateway_http.sh, test_gateway_pgdown.sh.
 */
#include "ops_handler.h"

#include <stdio.h>

#include "feed.h"
#include "follow.h"
#include "health.h"
#include "metrics.h"
#include "otel_tracer.h"
#include "runstats.h"
#include "strbuf.h"
#include "upstream.h"
#include "workers.h"

extern const unsigned char gw_openapi_json[];
extern const unsigned long gw_openapi_json_len;

void gw_handle_up(struct gw_health *h, struct gw_reply *reply) {
  struct gw_health_state st;
  gw_health_get(h, &st);
  rpc_code code = st.code;
  const char *msg = st.msg;
  if (st.known && code == RPC_OK && st.serving) {
    reply->status = 200;
    reply->code = RPC_OK;
    strbuf_append(reply->body, "{\"status\":\"ok\",\"upstream\":\"SERVING\"}");
    return;
  }
  reply->status = 503;
  reply->code = RPC_UNAVAILABLE;
  strbuf_append(reply->body, "{\"status\":\"unavailable\",\"upstream\":");
  strbuf_append_json_string(reply->body, !st.known        ? "UNKNOWN"
                                         : code == RPC_OK ? "NOT_SERVING"
                                                          : rpc_code_name(code));
  strbuf_append(reply->body, ",\"message\":");
  strbuf_append_json_string(reply->body, msg);
  strbuf_append(reply->body, "}");
}

void gw_handle_metrics(struct gw_metrics *m, struct gw_workers *w, struct gw_runstats *rs,
                       struct otel_tracer *tracer, const struct gw_follow *fo, struct gw_feed *feed,
                       struct gw_reply *reply) {
  struct gw_metrics_gauges g;
  gw_workers_stats(w, &g.queued, &g.busy, &g.threads);
  reply->status = 200;
  reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
  gw_metrics_render(m, &g, reply->body);
  gw_runstats_render(rs, reply->body);
  otel_tracer_render_metrics(tracer, reply->body);
  gw_follow_render(fo, reply->body);
  gw_feed_render(feed, reply->body);
}

void gw_handle_openapi(struct gw_reply *reply) {
  reply->status = 200;
  reply->cacheable = 1;
  strbuf_append_n(reply->body, gw_openapi_json, (size_t)gw_openapi_json_len);
}
