/*
 * metrics: Prometheus counters in fixed tables under one mutex, rendered
 * in text format 0.0.4. See metrics.h for the series.
 * Tests: tests/integration/test_gateway_http.sh ("metrics"), test_gateway_otel.sh
 * (promtool, the http_* series, the tier, process_*).
 */
#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "procstat.h"
#include "promtext.h"
#include "strbuf.h"
#include "xalloc.h"

#define MAX_ROUTES 48
#define MAX_SERIES 256
#define NBUCKETS 11
#define NTIERS 4

/* prometheus.DefBuckets with 2 s for the 2 s alarm (helm/tvmaze rules). */
static const double buckets_[NBUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10};
static const char *const tiers_[NTIERS] = {"operator", "free", "basic", "premium"};

struct series {
  const char *route; /* static string (a route template or "unmatched") */
  const char *method;
  unsigned status;
  unsigned long long count;
};

struct hist {
  const char *route;
  unsigned long long bucket[NBUCKETS + 1]; /* per bucket (not cumulative); [NBUCKETS]: above */
  double sum;
  unsigned long long tier[NTIERS]; /* authenticated requests by tier */
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
  double created_epoch; /* for process_start_time_seconds without /proc; read-only */
};

struct gw_metrics *gw_metrics_create(void) {
  struct gw_metrics *m = xcalloc(1, sizeof *m);
  pthread_mutex_init(&m->lock, NULL);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  m->created_epoch = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
  return m;
}

void gw_metrics_destroy(struct gw_metrics *m) {
  if (!m)
    return;
  pthread_mutex_destroy(&m->lock);
  free(m);
}

void gw_metrics_request(struct gw_metrics *m, const char *route, const char *method,
                        unsigned status, double seconds, size_t bytes, enum gw_metrics_tier tier) {
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
    int b = 0;
    while (b < NBUCKETS && seconds > buckets_[b])
      b++;
    m->hists[i].bucket[b]++;
    m->hists[i].sum += seconds;
    if (tier >= GW_TIER_OPERATOR && tier <= GW_TIER_PREMIUM)
      m->hists[i].tier[tier]++;
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

/* route="..." into b (reset first). */
static void route_label_(struct strbuf *b, const char *route) {
  strbuf_reset(b);
  strbuf_append(b, "route=\"");
  prom_label_value(b, route);
  strbuf_append(b, "\"");
}

/* The request counts as family name, the status under label code_label
 * (lock held). */
static void render_requests_(struct gw_metrics *m, struct strbuf *out, const char *name,
                             const char *code_label, const char *help) {
  struct strbuf labels;
  strbuf_init(&labels);
  prom_family(out, name, "counter", help);
  for (size_t i = 0; i < m->nseries; i++) {
    route_label_(&labels, m->series[i].route);
    strbuf_append(&labels, ",method=\"");
    prom_label_value(&labels, m->series[i].method);
    strbuf_appendf(&labels, "\",%s=\"%u\"", code_label, m->series[i].status);
    prom_sample_u64(out, name, labels.data, m->series[i].count);
  }
  strbuf_release(&labels);
}

/* The latency histograms as family name (lock held). */
static void render_durations_(struct gw_metrics *m, struct strbuf *out, const char *name,
                              const char *help) {
  struct strbuf labels;
  strbuf_init(&labels);
  prom_family(out, name, "histogram", help);
  for (size_t i = 0; i < m->nhists; i++) {
    route_label_(&labels, m->hists[i].route);
    prom_histogram(out, name, labels.data, buckets_, m->hists[i].bucket, NBUCKETS, m->hists[i].sum);
  }
  strbuf_release(&labels);
}

void gw_metrics_render(struct gw_metrics *m, const struct gw_metrics_gauges *g,
                       struct strbuf *out) {
  long queued = g->queued, busy = g->busy, threads = g->threads;
  pthread_mutex_lock(&m->lock);
  render_requests_(m, out, "http_requests_total", "code",
                   "HTTP requests by route template, method and status code.");
  render_durations_(m, out, "http_request_duration_seconds",
                    "Time from a request's arrival to its reply, by route template.");
  prom_family(out, "tvmaze_gateway_api_requests_total", "counter",
              "Authenticated /api requests by route template and the caller's tier.");
  struct strbuf labels;
  strbuf_init(&labels);
  for (size_t i = 0; i < m->nhists; i++)
    for (int t = 0; t < NTIERS; t++) {
      if (m->hists[i].tier[t] == 0)
        continue;
      route_label_(&labels, m->hists[i].route);
      strbuf_appendf(&labels, ",tier=\"%s\"", tiers_[t]);
      prom_sample_u64(out, "tvmaze_gateway_api_requests_total", labels.data, m->hists[i].tier[t]);
    }
  strbuf_release(&labels);
  render_requests_(m, out, "tvmaze_gateway_requests_total", "status",
                   "Deprecated (use http_requests_total): HTTP requests by route, method and "
                   "status.");
  render_durations_(m, out, "tvmaze_gateway_request_duration_seconds",
                    "Deprecated (use http_request_duration_seconds): request latency.");
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
  procstat_render(out, m->created_epoch);
}
