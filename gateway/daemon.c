/*
 * daemon: module handles and the libmicrohttpd daemon. See daemon.h.
 *
 * MHD runs a small pool of epoll threads (MHD_USE_INTERNAL_POLLING_THREAD
 * | MHD_USE_EPOLL, TVMAZE_HTTP_THREADS, one per CPU by default) that never
 * block: every blocking step is a worker's (pipeline.h), handed over with
 * suspend/resume (MHD_ALLOW_SUSPEND_RESUME).
 * Tests: tests/integration/test_gateway_drain.sh (SIGTERM: refused, 503 +
 * close, in flight finish), test_gateway_suspend.sh (stop with parked
 * requests), test_gateway_http.sh.
 */
#include "daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "auth.h"
#include "clock.h"
#include "clientip.h"
#include "config.h"
#include "conns.h"
#include "feed.h"
#include "follow.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "otel_tracer.h"
#include "pipeline.h"
#include "ratelimit.h"
#include "respcache.h"
#include "runstats.h"
#include "upstream.h"
#include "workers.h"
#include "xalloc.h"

/* Each connection's MHD memory pool: request line + headers, the reply's
 * header block. MHD zeroes the whole pool between keep-alive requests
 * (memset was 17 % of the warm path at 128 KiB), so keep it small: 32 KiB,
 * nginx's default header budget (4 x 8k), holds an 8 KiB URL (our 414
 * limit) with room for the headers. */
#define CONN_MEMORY_BYTES (32 * 1024)

/* File descriptors kept for other than HTTP connections (listen socket,
 * epoll, gRPC channels, Redis, OTLP, logs), and the connections kept for
 * other than change streams (/up, /metrics, the API): the stream cap is at
 * most the connection limit minus OTHER_CONNS, so 4,000 streams (or any
 * TVMAZE_STREAM_LIMIT) never block the load balancer's health check. */
#define FD_RESERVE 128
#define OTHER_CONNS 256
#define MAX_CONNS 65536

/* The connection limit: RLIMIT_NOFILE (its soft limit raised to the hard
 * one) minus FD_RESERVE (half of it when that is no more than 2 x
 * FD_RESERVE), at most MAX_CONNS. */
static unsigned conn_limit_(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 1000;
  if (rl.rlim_cur < rl.rlim_max) {
    struct rlimit up = {rl.rlim_max, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &up) == 0)
      rl.rlim_cur = rl.rlim_max;
  }
  rlim_t n = rl.rlim_cur == RLIM_INFINITY ? MAX_CONNS + FD_RESERVE : rl.rlim_cur;
  n = n > 2 * FD_RESERVE ? n - FD_RESERVE : n / 2; /* a tiny limit: half for connections */
  return n > MAX_CONNS ? MAX_CONNS : (unsigned)n;
}

/* Written by start only; read-only while serving. */
struct gw_daemon {
  struct otel_tracer *tracer;
  struct gw_metrics *metrics;
  struct gw_upstream *upstream;
  struct gw_auth *auth;
  struct gw_proxies *proxies;
  struct ratelimit *ratelimit;
  struct gw_respcache *respcache;
  struct gw_runstats *runstats;
  struct gw_workers *workers;
  struct gw_feed *feed;
  struct gw_follow *follow;
  struct gw_pipeline *pipeline;
  struct gw_conns *conns;
  struct gw_health *health;
  struct MHD_Daemon *mhd;
};

/* Frees every module of a daemon that serves no more (or never did), in
 * the reverse order of creation. */
static void free_modules_(struct gw_daemon *d) {
  gw_conns_stop(d->conns);
  gw_health_stop(d->health);
  gw_pipeline_destroy(d->pipeline);
  gw_follow_stop(d->follow); /* before the feed: it calls the feed */
  gw_feed_destroy(d->feed);
  gw_workers_destroy(d->workers);
  gw_runstats_stop(d->runstats);
  gw_respcache_destroy(d->respcache);
  ratelimit_destroy(d->ratelimit);
  gw_proxies_destroy(d->proxies);
  gw_auth_destroy(d->auth);
  gw_upstream_destroy(d->upstream);
  gw_metrics_destroy(d->metrics);
  otel_tracer_destroy(d->tracer); /* flushes the spans still queued */
  free(d);
}

static struct MHD_Daemon *start_mhd_(const struct gw_config *cfg, unsigned conn_limit,
                                     struct gw_pipeline *p, struct gw_conns *conns, char *err,
                                     size_t errlen) {
  struct sockaddr_storage ss;
  socklen_t slen;
  if (gw_listen_addr_parse(cfg->http_addr, &ss, &slen) != 0) {
    snprintf(err, errlen, "bad listen address %s", cfg->http_addr);
    return NULL;
  }
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
  if (ss.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  unsigned pool = (unsigned)cfg->http_threads;
  if (pool == 0) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    pool = ncpu < 1 ? 1 : ncpu > 64 ? 64 : (unsigned)ncpu;
  }
  struct MHD_Daemon *mhd = MHD_start_daemon(
      flags, 0, NULL, NULL, gw_pipeline_access, p, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
      MHD_OPTION_THREAD_POOL_SIZE, pool, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)cfg->conn_timeout_s, MHD_OPTION_CONNECTION_LIMIT, conn_limit,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->per_ip_connections,
      MHD_OPTION_NOTIFY_CONNECTION, gw_conns_notify, conns, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      (size_t)CONN_MEMORY_BYTES, MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024),
      MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_URI_LOG_CALLBACK,
      gw_pipeline_uri_log, p, MHD_OPTION_NOTIFY_COMPLETED, gw_pipeline_completed, p,
      MHD_OPTION_END);
  if (!mhd)
    snprintf(err, errlen, "cannot listen on %s", cfg->http_addr);
  return mhd;
}

struct gw_daemon *gw_daemon_start(const struct gw_config *cfg, char *err, size_t errlen) {
  struct gw_daemon *d = xcalloc(1, sizeof *d);
  d->tracer = otel_tracer_create(&cfg->otel, err, errlen);
  if (!d->tracer)
    goto fail;
  d->metrics = gw_metrics_create();
  d->upstream = gw_upstream_create(cfg->grpc_target, cfg->tls_on ? &cfg->tls : NULL, cfg->api_key,
                                   cfg->upstream_timeout_ms, d->tracer, err, errlen);
  if (!d->upstream)
    goto fail;
  d->auth = gw_auth_create(cfg->api_username, cfg->api_password, cfg->auth_cache_ttl_s, d->upstream,
                           d->metrics);
  d->proxies = gw_proxies_create(cfg->trusted_proxies);
  d->ratelimit = ratelimit_create(cfg->redis_url, err, errlen);
  if (!d->ratelimit)
    goto fail;
  d->respcache =
      gw_respcache_create(cfg->response_cache_ttl_s, cfg->upstream_timeout_ms / 1000 + 1);
  d->runstats = gw_runstats_start(d->upstream, cfg->runstats_period_s, err, errlen);
  if (!d->runstats)
    goto fail;
  d->workers = gw_workers_create(cfg->upstream_workers, cfg->upstream_queue, err, errlen);
  if (!d->workers)
    goto fail;
  d->health = gw_health_start(d->upstream, d->metrics, cfg->health_interval_ms, err, errlen);
  if (!d->health)
    goto fail;
  unsigned conn_limit = conn_limit_();
  long stream_limit = cfg->stream_limit;
  if (stream_limit > (long)conn_limit - OTHER_CONNS) {
    stream_limit = (long)conn_limit - OTHER_CONNS;
    if (stream_limit < 1)
      stream_limit = 1;
    LOG_EVENT(LOG_WARN, "gateway_stream_limit_lowered", LF_INT("configured", cfg->stream_limit),
              LF_INT("stream_limit", stream_limit), LF_INT("connection_limit", conn_limit),
              LF_STR("reason", "RLIMIT_NOFILE: connections are kept for /up and other requests"));
  }
  d->feed =
      gw_feed_create(d->upstream, d->workers, cfg->stream_heartbeat_ms, stream_limit, err, errlen);
  if (!d->feed)
    goto fail;
  struct gw_follow_listener fl = {
      .on_base = gw_feed_on_base, .on_change = gw_feed_on_change, .user = d->feed};
  d->follow = gw_follow_start(d->upstream, &fl, err, errlen);
  if (!d->follow)
    goto fail;
  struct gw_pipeline_deps deps = {.upstream = d->upstream,
                                  .auth = d->auth,
                                  .ratelimit = d->ratelimit,
                                  .respcache = d->respcache,
                                  .metrics = d->metrics,
                                  .workers = d->workers,
                                  .runstats = d->runstats,
                                  .health = d->health,
                                  .follow = d->follow,
                                  .feed = d->feed,
                                  .proxies = d->proxies,
                                  .tracer = d->tracer,
                                  .ip_limit = cfg->ip_limit,
                                  .ip_window_s = cfg->ip_window_s,
                                  .upstream_timeout_ms = cfg->upstream_timeout_ms};
  d->pipeline = gw_pipeline_create(&deps);
  d->conns = gw_conns_start(cfg->head_timeout_s * 1000, err, errlen);
  if (!d->conns)
    goto fail;
  d->mhd = start_mhd_(cfg, conn_limit, d->pipeline, d->conns, err, errlen);
  if (!d->mhd)
    goto fail;
  return d;

fail:
  free_modules_(d);
  return NULL;
}

/* How long the drain waits for requests in flight once the workers are
 * done (a client still sending its body, a reply still being written). */
#define DRAIN_WAIT_MS 5000

void gw_daemon_stop(struct gw_daemon *d) {
  if (!d)
    return;
  /* Drain: requests that begin from now on get 503 + Connection: close
   * (pipeline.h); MHD accepts no more connections (quiesce), and the
   * listening socket is shut down at once, so a new connection is refused
   * instead of waiting in the kernel's backlog until the close below (it
   * hung, then was reset). The workers finish (and resume) every suspended
   * request; the requests in flight are given DRAIN_WAIT_MS to complete;
   * only then may MHD stop (it must not hold suspended connections). */
  gw_pipeline_drain(d->pipeline);
  MHD_socket listen_fd = d->mhd ? MHD_quiesce_daemon(d->mhd) : MHD_INVALID_SOCKET;
  if (listen_fd != MHD_INVALID_SOCKET)
    shutdown(listen_fd, SHUT_RDWR); /* Linux: a listening socket stops listening */
  gw_feed_stop(d->feed);            /* change streams end now: the drain does not wait for them */
  gw_workers_stop(d->workers);
  for (int64_t until = clock_mono_ms() + DRAIN_WAIT_MS;
       d->pipeline && gw_pipeline_active(d->pipeline) > 0 && clock_mono_ms() < until;)
    usleep(10 * 1000);
  if (d->mhd)
    MHD_stop_daemon(d->mhd);
  if (listen_fd != MHD_INVALID_SOCKET)
    close(listen_fd); /* handed to us by the quiesce; MHD no longer closes it */
  free_modules_(d);
}
