/*
 * metrics: the gateway's Prometheus counters and latency histogram, and
 * their text exposition (format 0.0.4). One handle per gateway, owned by
 * the daemon, passed to the modules that count (pipeline, auth, rate
 * limits, handlers). Every function is thread-safe (one mutex; a request
 * takes it once per count).
 *
 *   http_requests_total{route,method,code}
 *   http_request_duration_seconds{route} (histogram; buckets 0.005 .. 10 s)
 *   tvmaze_gateway_api_requests_total{route,tier}  (authenticated /api requests;
 *                             tier: free, basic, premium (API keys), operator (Basic))
 *   tvmaze_gateway_requests_total{route,method,status}      deprecated: the same
 *   tvmaze_gateway_request_duration_seconds{route}          counts under their old
 *                                             names, for one release (0.2.0 drops them)
 *   tvmaze_gateway_response_bytes_total
 *   tvmaze_gateway_upstream_errors_total{code}
 *   tvmaze_gateway_rate_limited_total{scope}
 *   tvmaze_gateway_auth_cache_total{result="hit|miss"}
 *   tvmaze_gateway_ratelimit_backend_total{backend="redis|local"}
 *   tvmaze_gateway_response_cache_total{result="hit|stale|miss|bypass"}
 *   tvmaze_gateway_upstream_queue_full_total  (503: no room in the worker queue)
 *   tvmaze_gateway_upstream_workers{state="busy|idle"}, tvmaze_gateway_upstream_queue_length
 *                                             (gauges given at render: workers.h)
 *   process_* (common/procstat.h)
 *
 * route is always a route template or "unmatched", never a raw path, so
 * every label is bounded (routes x methods x statuses seen).
 */
#ifndef TVMAZE_GATEWAY_METRICS_H
#define TVMAZE_GATEWAY_METRICS_H

#include <stddef.h>

#include "rpc.h"

struct strbuf;
struct gw_metrics;

/* Empty counters. */
struct gw_metrics *gw_metrics_create(void);
/* Frees m (NULL: no-op). No other thread may use it any more. */
void gw_metrics_destroy(struct gw_metrics *m);

/* The caller's tier for tvmaze_gateway_api_requests_total. */
enum gw_metrics_tier {
  GW_TIER_NONE = -1,    /* not authenticated: not counted there */
  GW_TIER_OPERATOR = 0, /* HTTP Basic */
  GW_TIER_FREE = 1,     /* API keys: gw_identity.tier */
  GW_TIER_BASIC = 2,
  GW_TIER_PREMIUM = 3,
};

/* route and method must be static strings (a route template or
 * "unmatched"; they are kept and compared by address). */
void gw_metrics_request(struct gw_metrics *m, const char *route, const char *method,
                        unsigned status, double seconds, size_t bytes, enum gw_metrics_tier tier);
void gw_metrics_upstream_error(struct gw_metrics *m, rpc_code code);
/* scope: "ip" or "key" */
void gw_metrics_rate_limited(struct gw_metrics *m, const char *scope);
void gw_metrics_auth_cache(struct gw_metrics *m, int hit);
void gw_metrics_ratelimit_backend(struct gw_metrics *m, int redis_ok);
/* result: 1 hit, -1 stale hit (refresh under way), 0 miss, 2 bypass (the
 * follower is down: follow.h) */
void gw_metrics_response_cache(struct gw_metrics *m, int result);
void gw_metrics_queue_full(struct gw_metrics *m);

/* The worker pool's gauges, read by the caller at render time. */
struct gw_metrics_gauges {
  long queued;  /* jobs waiting for a worker */
  long busy;    /* workers running a job */
  long threads; /* workers */
};

/* Appends the exposition of every counter and of g to out. */
void gw_metrics_render(struct gw_metrics *m, const struct gw_metrics_gauges *g, struct strbuf *out);

#endif
