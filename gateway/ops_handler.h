/*
 * ops_handler: the gateway's own routes. GET /up (the load balancer's
 * check: the server's grpc.health.v1 answer, which is SERVING only while
 * its database answers, as last probed by health.h; never blocks), GET /metrics (Prometheus text
 * from metrics.h, the worker gauges and runstats.h's ingest-run counts; never blocks) and GET
 * /api/v1/openapi.json (gateway/openapi.json, embedded at build time). No state; thread-safe.
 */
#ifndef TVMAZE_GATEWAY_OPS_HANDLER_H
#define TVMAZE_GATEWAY_OPS_HANDLER_H

#include "reply.h"
#include "trace.h"

struct gw_health;
struct gw_metrics;
struct otel_tracer;
struct gw_workers;
struct gw_runstats;
struct gw_follow;
struct gw_feed;

/* Non-blocking: 200 from the health state (health.h) when the server's last
 * probe said SERVING, else 503 with the reason. */
void gw_handle_up(struct gw_health *h, struct gw_reply *reply);
/* Non-blocking: the gateway's metrics, the workers' gauges, the last
 * ingest-run counts, the span exporter's counters, the follower's state
 * and the change streams. */
void gw_handle_metrics(struct gw_metrics *m, struct gw_workers *w, struct gw_runstats *rs,
                       struct otel_tracer *tracer, const struct gw_follow *fo, struct gw_feed *feed,
                       struct gw_reply *reply);
void gw_handle_openapi(struct gw_reply *reply);

#endif
