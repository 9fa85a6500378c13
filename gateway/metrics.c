/*
 * metrics: Prometheus counters in fixed tables under one mutex, rendered
 * in text format 0.0.4. See metrics.h for the series.
 * Tests: tests/integration/test_gateway_http.sh ("metrics").
 */
#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "xalloc.h"

#define MAX_ROUTES 48
#define MAX_SERIES 256
#define NBUCKETS 11

static const double buckets_[NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                          0.05,   0.1,   0.25,   1.0,   5.0};

struct series {
  const char *route; /* static string (a route template or "unmatched") */
  const char *method;
  unsigned status;
  unsigned long long count;
};

struct hist {
  const char *route;
  unsigned long long bucket[NBUCKETS];
  unsigned long long count;
  double sum;
};

/* Every field but lock is guarded by lock. */
struct gw_metrics {
  pthread_mutex_t lock;
  struct series series[MAX_SERIES];
  size_t nseries;
  struct hist hists[MAX_ROUTES];
  size_t nhists;
  unsigned long long bytes_total;
  unsigned long long upstream_errors[17]; /* by gRPC code */
  unsigned long long limited_ip, limited_key;
  unsigned long long auth_hit, auth_miss;
  unsigned long long backend_redis, backend_local;
  unsigned long long resp_hit, resp_miss, resp_stale, resp_bypass;
  unsigned long long queue_full;
};

struct gw_metrics *gw_metrics_create(void) {
  struct gw_metrics *m = xcalloc(1, sizeof *m);
  pthread_mutex_init(&m->lock, NULL);
  return m;
}

void gw_metrics_destroy(struct gw_metrics *m) {
  if (!m)
    return;
  pthread_mutex_destroy(&m->lock);
  free(m);
}

void gw_metrics_request(struct gw_metrics *m, const char *route, const char *method,
                        unsigned status, double seconds, size_t bytes) {
  pthread_mutex_lock(&m->lock);
  size_t i;
  for (i = 0; i < m->nseries; i++)
    if (m->series[i].route == route && m->series[i].method == method &&
        m->series[i].status == status)
      break;
  if (i == m->nseries && m->nseries < MAX_SERIES)
    m->series[m->nseries++] = (struct series){route, method, status, 0};
  if (i < m->nseries)
    m->series[i].count++;
  for (i = 0; i < m->nhists; i++)
    if (m->hists[i].route == route)
      break;
  if (i == m->nhists && m->nhists < MAX_ROUTES) {
    memset(&m->hists[m->nhists], 0, sizeof m->hists[0]);
    m->hists[m->nhists++].route = route;
  }
  if (i < m->nhists) {
    for (int b = 0; b < NBUCKETS; b++)
      if (seconds <= buckets_[b])
        m->hists[i].bucket[b]++;
    m->hists[i].count++;
    m->hists[i].sum += seconds;
  }
  m->bytes_total += bytes;
  pthread_mutex_unlock(&m->lock);
}

void gw_metrics_upstream_error(struct gw_metrics *m, rpc_code code) {
  pthread_mutex_lock(&m->lock);
  m->upstream_errors[(unsigned)code <= 16 ? (unsigned)code : 2]++;
  pthread_mutex_unlock(&m->lock);
}

void gw_metrics_rate_limited(struct gw_metrics *m, const char *scope) {
  pthread_mutex_lock(&m->lock);
  if (strcmp(scope, "ip") == 0)
    m->limited_ip++;
  else
    m->limited_key++;
  pthread_mutex_unlock(&m->lock);
}

void gw_metrics_auth_cache(struct gw_metrics *m, int hit) {
  pthread_mutex_lock(&m->lock);
  if (hit)
    m->auth_hit++;
  else
    m->auth_miss++;
  pthread_mutex_unlock(&m->lock);
}

void gw_metrics_ratelimit_backend(struct gw_metrics *m, int redis_ok) {
  pthread_mutex_lock(&m->lock);
  if (redis_ok)
    m->backend_redis++;
  else
    m->backend_local++;
  pthread_mutex_unlock(&m->lock);
}

void gw_metrics_response_cache(struct gw_metrics *m, int result) {
  pthread_mutex_lock(&m->lock);
  if (result > 1)
    m->resp_bypass++;
  else if (result > 0)
    m->resp_hit++;
  else if (result < 0)
    m->resp_stale++;
  else
    m->resp_miss++;
  pthread_mutex_unlock(&m->lock);
}

void gw_metrics_queue_full(struct gw_metrics *m) {
  pthread_mutex_lock(&m->lock);
  m->queue_full++;
  pthread_mutex_unlock(&m->lock);
}

void gw_metrics_render(struct gw_metrics *m, const struct gw_metrics_gauges *g,
                       struct strbuf *out) {
  long queued = g->queued, busy = g->busy, threads = g->threads;
  pthread_mutex_lock(&m->lock);
  strbuf_append(out,
                "# HELP tvmaze_gateway_requests_total HTTP requests by route, method and "
                "status.\n# TYPE tvmaze_gateway_requests_total counter\n");
  for (size_t i = 0; i < m->nseries; i++)
    strbuf_appendf(
        out, "tvmaze_gateway_requests_total{route=\"%s\",method=\"%s\",status=\"%u\"} %llu\n",
        m->series[i].route, m->series[i].method, m->series[i].status, m->series[i].count);
  strbuf_append(out,
                "# HELP tvmaze_gateway_request_duration_seconds Request latency.\n"
                "# TYPE tvmaze_gateway_request_duration_seconds histogram\n");
  for (size_t i = 0; i < m->nhists; i++) {
    for (int b = 0; b < NBUCKETS; b++)
      strbuf_appendf(
          out, "tvmaze_gateway_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
          m->hists[i].route, buckets_[b], m->hists[i].bucket[b]);
    strbuf_appendf(out,
                   "tvmaze_gateway_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
                   "tvmaze_gateway_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                   "tvmaze_gateway_request_duration_seconds_count{route=\"%s\"} %llu\n",
                   m->hists[i].route, m->hists[i].count, m->hists[i].route, m->hists[i].sum,
                   m->hists[i].route, m->hists[i].count);
  }
  strbuf_appendf(out,
                 "# HELP tvmaze_gateway_response_bytes_total Response body bytes.\n"
                 "# TYPE tvmaze_gateway_response_bytes_total counter\n"
                 "tvmaze_gateway_response_bytes_total %llu\n",
                 m->bytes_total);
  strbuf_append(out,
                "# HELP tvmaze_gateway_upstream_errors_total Failed calls to tvmaze-server "
                "by gRPC code.\n# TYPE tvmaze_gateway_upstream_errors_total counter\n");
  for (unsigned c = 1; c <= 16; c++)
    strbuf_appendf(out, "tvmaze_gateway_upstream_errors_total{code=\"%s\"} %llu\n",
                   rpc_code_name((rpc_code)c), m->upstream_errors[c]);
  strbuf_appendf(out,
                 "# HELP tvmaze_gateway_rate_limited_total Requests refused with 429.\n"
                 "# TYPE tvmaze_gateway_rate_limited_total counter\n"
                 "tvmaze_gateway_rate_limited_total{scope=\"ip\"} %llu\n"
                 "tvmaze_gateway_rate_limited_total{scope=\"key\"} %llu\n"
                 "# HELP tvmaze_gateway_auth_cache_total API key cache lookups.\n"
                 "# TYPE tvmaze_gateway_auth_cache_total counter\n"
                 "tvmaze_gateway_auth_cache_total{result=\"hit\"} %llu\n"
                 "tvmaze_gateway_auth_cache_total{result=\"miss\"} %llu\n"
                 "# HELP tvmaze_gateway_ratelimit_backend_total Rate-limit counts by store.\n"
                 "# TYPE tvmaze_gateway_ratelimit_backend_total counter\n"
                 "tvmaze_gateway_ratelimit_backend_total{backend=\"redis\"} %llu\n"
                 "tvmaze_gateway_ratelimit_backend_total{backend=\"local\"} %llu\n"
                 "# HELP tvmaze_gateway_response_cache_total Response cache lookups.\n"
                 "# TYPE tvmaze_gateway_response_cache_total counter\n"
                 "tvmaze_gateway_response_cache_total{result=\"hit\"} %llu\n"
                 "tvmaze_gateway_response_cache_total{result=\"miss\"} %llu\n"
                 "tvmaze_gateway_response_cache_total{result=\"stale\"} %llu\n"
                 "tvmaze_gateway_response_cache_total{result=\"bypass\"} %llu\n"
                 "# HELP tvmaze_gateway_upstream_queue_full_total Requests refused with 503 "
                 "because the upstream worker queue was full.\n"
                 "# TYPE tvmaze_gateway_upstream_queue_full_total counter\n"
                 "tvmaze_gateway_upstream_queue_full_total %llu\n"
                 "# HELP tvmaze_gateway_upstream_workers Upstream worker threads by state.\n"
                 "# TYPE tvmaze_gateway_upstream_workers gauge\n"
                 "tvmaze_gateway_upstream_workers{state=\"busy\"} %ld\n"
                 "tvmaze_gateway_upstream_workers{state=\"idle\"} %ld\n"
                 "# HELP tvmaze_gateway_upstream_queue_length Requests waiting for a worker.\n"
                 "# TYPE tvmaze_gateway_upstream_queue_length gauge\n"
                 "tvmaze_gateway_upstream_queue_length %ld\n",
                 m->limited_ip, m->limited_key, m->auth_hit, m->auth_miss, m->backend_redis,
                 m->backend_local, m->resp_hit, m->resp_miss, m->resp_stale, m->resp_bypass,
                 m->queue_full, busy, threads - busy, queued);
  pthread_mutex_unlock(&m->lock);
}
