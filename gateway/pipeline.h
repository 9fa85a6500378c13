/*
 * pipeline: the per-request pipeline, as libmicrohttpd's callbacks (URI
 * log, access handler, completion). A request is a sequence of steps:
 *
 *   URL > 8 KiB -> 414; body > 64 KiB -> 413; route -> 404 / 405 + Allow;
 *   /api/v1: per-IP limit -> 429, credentials -> 401, per-key limit -> 429;
 *   handler (response-cache hit, or the RPC); ETag + 304 on GET; security
 *   headers, X-Request-Id, RateLimit-* (response.h); one JSON log line
 *   (with the request span's trace_id and span_id), the metrics, and the
 *   request's SERVER span (trace.h) ended.
 *
 * The MHD threads never wait on the network: a step that would (a gRPC
 * call, a Redis claim) runs on an upstream worker (workers.h) while the
 * connection is suspended. One pipeline per daemon; it borrows the
 * modules' handles (struct gw_pipeline_deps), which must outlive it.
 */
#ifndef TVMAZE_GATEWAY_PIPELINE_H
#define TVMAZE_GATEWAY_PIPELINE_H

#include <stddef.h>

#include <microhttpd.h>

struct gw_upstream;
struct gw_auth;
struct ratelimit;
struct gw_respcache;
struct gw_metrics;
struct gw_workers;
struct gw_health;
struct gw_runstats;
struct gw_proxies;
struct gw_follow;
struct gw_feed;
struct otel_tracer;

/* What the pipeline uses: borrowed handles and settings. */
struct gw_pipeline_deps {
  struct gw_upstream *upstream;
  struct gw_auth *auth;
  struct ratelimit *ratelimit;
  struct gw_respcache *respcache;
  struct gw_metrics *metrics;
  struct gw_workers *workers;
  struct gw_runstats *runstats;
  struct gw_health *health; /* /up's state */
  struct gw_follow *follow; /* the data version the cache follows */
  struct gw_feed *feed;     /* change streams */
  const struct gw_proxies *proxies;
  struct otel_tracer *tracer; /* request spans (otel/otel_tracer.h) */
  long ip_limit;              /* per-IP requests per ip_window_s */
  long ip_window_s;           /* seconds */
  long upstream_timeout_ms;   /* a request's deadline, from its start */
};

struct gw_pipeline;

/* deps is copied (the handles it points to are borrowed). */
struct gw_pipeline *gw_pipeline_create(const struct gw_pipeline_deps *deps);
/* Frees p (NULL: no-op); MHD must be stopped. */
void gw_pipeline_destroy(struct gw_pipeline *p);

/* Drain (SIGTERM, daemon.c): from now on every request that begins is
 * answered 503 UNAVAILABLE "the gateway is shutting down" with Retry-After
 * and Connection: close (a JSON error body); requests already past their
 * first step go on. Thread-safe. */
void gw_pipeline_drain(struct gw_pipeline *p);
/* Requests begun and not yet completed (in flight), for the drain's wait.
 * Thread-safe. */
long gw_pipeline_active(struct gw_pipeline *p);

/* MHD_OPTION_URI_LOG_CALLBACK (cls: the pipeline): the request's state. */
void *gw_pipeline_uri_log(void *cls, const char *uri, struct MHD_Connection *con);
/* MHD_OPTION_NOTIFY_COMPLETED: frees the request's state. */
void gw_pipeline_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                           enum MHD_RequestTerminationCode toe);
/* The access handler (cls: the pipeline). */
enum MHD_Result gw_pipeline_access(void *cls, struct MHD_Connection *con, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls);

#endif
