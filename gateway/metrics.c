/*
 * metrics: the gateway's Prometheus counters, kept in fixed tables under one
 * mutex (a request takes it once) and rendered in text format 0.0.4.
 *
 *   tvmaze_gateway_requests_total{route,method,status}
 *   tvmaze_gateway_request_duration_seconds{route} (histogram)
 *   tvmaze_gateway_response_bytes_total
 *   tvmaze_gateway_upstream_errors_total{code}
 *   tvmaze_gateway_rate_limited_total{scope}
 *   tvmaze_gateway_auth_cache_total{result="hit|miss"}
 *   tvmaze_gateway_ratelimit_backend_total{backend="redis|local"}
 *   tvmaze_gateway_response_cache_total{result="hit|stale|miss"}
 *   tvmaze_gateway_upstream_queue_full_total  (503: no room in the worker queue)
 *   tvmaze_gateway_upstream_workers{state="busy|idle"}, tvmaze_gateway_upstream_queue_length
 *                                             (gauges, workers.c, read at render)
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "strbuf.h"

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

static pthread_mutex_t lock_ = PTHREAD_MUTEX_INITIALIZER; /* guards everything below */
static struct series series_[MAX_SERIES];
static size_t nseries_;
static struct hist hists_[MAX_ROUTES];
static size_t nhists_;
static unsigned long long bytes_total_;
static unsigned long long upstream_errors_[17];
static unsigned long long limited_ip_, limited_key_;
static unsigned long long cache_hit_, cache_miss_;
static unsigned long long backend_redis_, backend_local_;
static unsigned long long resp_hit_, resp_miss_, resp_stale_;
static unsigned long long queue_full_;

void gw_metrics_request(const char *route, const char *method, unsigned status, double seconds,
                        size_t bytes) {
  pthread_mutex_lock(&lock_);
  size_t i;
  for (i = 0; i < nseries_; i++)
    if (series_[i].route == route && series_[i].method == method && series_[i].status == status)
      break;
  if (i == nseries_ && nseries_ < MAX_SERIES)
    series_[nseries_++] = (struct series){route, method, status, 0};
  if (i < nseries_)
    series_[i].count++;
  for (i = 0; i < nhists_; i++)
    if (hists_[i].route == route)
      break;
  if (i == nhists_ && nhists_ < MAX_ROUTES) {
    memset(&hists_[nhists_], 0, sizeof hists_[0]);
    hists_[nhists_++].route = route;
  }
  if (i < nhists_) {
    for (int b = 0; b < NBUCKETS; b++)
      if (seconds <= buckets_[b])
        hists_[i].bucket[b]++;
    hists_[i].count++;
    hists_[i].sum += seconds;
  }
  bytes_total_ += bytes;
  pthread_mutex_unlock(&lock_);
}

void gw_metrics_upstream_error(rpc_code code) {
  pthread_mutex_lock(&lock_);
  upstream_errors_[(unsigned)code <= 16 ? (unsigned)code : 2]++;
  pthread_mutex_unlock(&lock_);
}

void gw_metrics_rate_limited(const char *scope) {
  pthread_mutex_lock(&lock_);
  if (strcmp(scope, "ip") == 0)
    limited_ip_++;
  else
    limited_key_++;
  pthread_mutex_unlock(&lock_);
}

void gw_metrics_auth_cache(int hit) {
  pthread_mutex_lock(&lock_);
  if (hit)
    cache_hit_++;
  else
    cache_miss_++;
  pthread_mutex_unlock(&lock_);
}

void gw_metrics_ratelimit_backend(int redis_ok) {
  pthread_mutex_lock(&lock_);
  if (redis_ok)
    backend_redis_++;
  else
    backend_local_++;
  pthread_mutex_unlock(&lock_);
}

void gw_metrics_response_cache(int result) {
  pthread_mutex_lock(&lock_);
  if (result > 0)
    resp_hit_++;
  else if (result < 0)
    resp_stale_++;
  else
    resp_miss_++;
  pthread_mutex_unlock(&lock_);
}

void gw_metrics_queue_full(void) {
  pthread_mutex_lock(&lock_);
  queue_full_++;
  pthread_mutex_unlock(&lock_);
}

void gw_metrics_render(struct strbuf *out) {
  long queued, busy, threads;
  gw_workers_stats(&queued, &busy, &threads);
  pthread_mutex_lock(&lock_);
  strbuf_append(out,
                "# HELP tvmaze_gateway_requests_total HTTP requests by route, method and "
                "status.\n# TYPE tvmaze_gateway_requests_total counter\n");
  for (size_t i = 0; i < nseries_; i++)
    strbuf_appendf(out,
                   "tvmaze_gateway_requests_total{route=\"%s\",method=\"%s\",status=\"%u\"} %llu\n",
                   series_[i].route, series_[i].method, series_[i].status, series_[i].count);
  strbuf_append(out,
                "# HELP tvmaze_gateway_request_duration_seconds Request latency.\n"
                "# TYPE tvmaze_gateway_request_duration_seconds histogram\n");
  for (size_t i = 0; i < nhists_; i++) {
    for (int b = 0; b < NBUCKETS; b++)
      strbuf_appendf(
          out, "tvmaze_gateway_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
          hists_[i].route, buckets_[b], hists_[i].bucket[b]);
    strbuf_appendf(out,
                   "tvmaze_gateway_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
                   "tvmaze_gateway_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                   "tvmaze_gateway_request_duration_seconds_count{route=\"%s\"} %llu\n",
                   hists_[i].route, hists_[i].count, hists_[i].route, hists_[i].sum,
                   hists_[i].route, hists_[i].count);
  }
  strbuf_appendf(out,
                 "# HELP tvmaze_gateway_response_bytes_total Response body bytes.\n"
                 "# TYPE tvmaze_gateway_response_bytes_total counter\n"
                 "tvmaze_gateway_response_bytes_total %llu\n",
                 bytes_total_);
  strbuf_append(out,
                "# HELP tvmaze_gateway_upstream_errors_total Failed calls to tvmaze-server "
                "by gRPC code.\n# TYPE tvmaze_gateway_upstream_errors_total counter\n");
  for (unsigned c = 1; c <= 16; c++)
    strbuf_appendf(out, "tvmaze_gateway_upstream_errors_total{code=\"%s\"} %llu\n",
                   rpc_code_name((rpc_code)c), upstream_errors_[c]);
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
                 limited_ip_, limited_key_, cache_hit_, cache_miss_, backend_redis_, backend_local_,
                 resp_hit_, resp_miss_, resp_stale_, queue_full_, busy, threads - busy, queued);
  pthread_mutex_unlock(&lock_);
}
