/*
 * daemon: the gateway as a whole. Creates every module's handle in
 * dependency order (tracer, metrics, upstream, auth, trusted proxies, rate limits,
 * response cache, run counts, workers, the change feed and its follower,
 * the pipeline), owns them, and runs
 * the libmicrohttpd daemon whose callbacks are the pipeline's. As
 * libmicrohttpd's own daemon.c: setup, threads, start and stop.
 *
 *   | handle               | used by                                      |
 *   |----------------------|----------------------------------------------|
 *   | otel_tracer          | pipeline, upstream (spans), ops (/metrics)   |
 *   | gw_metrics           | pipeline, auth, ratelimit, handlers          |
 *   | gw_upstream          | auth, runstats, api/ops handlers             |
 *   | gw_auth              | pipeline                                     |
 *   | gw_proxies           | pipeline (client address)                    |
 *   | ratelimit (common/)  | pipeline                                     |
 *   | gw_respcache         | pipeline                                     |
 *   | gw_runstats          | ops handler (/metrics)                       |
 *   | gw_workers           | pipeline (blocking steps), ops handler       |
 *   | gw_pipeline          | MHD's callbacks                              |
 *   | gw_conns             | MHD's connection notices (head deadline)     |
 *   | gw_health            | ops handler (/up)                            |
 *   | gw_feed              | pipeline (change streams), the follower      |
 *   | gw_follow            | pipeline (cache version), ops handler        |
 *
 * Not thread-safe: start and stop from one thread (main).
 */
#ifndef TVMAZE_GATEWAY_DAEMON_H
#define TVMAZE_GATEWAY_DAEMON_H

#include <stddef.h>

struct gw_config;
struct gw_daemon;

/* Creates every module and starts listening. NULL with err set on failure
 * (bad address, port in use, a thread that would not start), everything
 * created so far stopped and freed. cfg's strings are not kept past
 * start (modules copy what they keep). rpc_init() must have run. */
struct gw_daemon *gw_daemon_start(const struct gw_config *cfg, char *err, size_t errlen);
/* Drains: new requests on open connections get 503 + Connection: close
 * (gw_pipeline_drain), new connections are refused at once (quiesce and
 * shutdown of the listening socket), the workers finish every suspended
 * request, requests in flight get up to 5 s; then stops MHD, then stops and
 * frees every module (NULL: no-op). */
void gw_daemon_stop(struct gw_daemon *d);

#endif
