/*
 * metrics: tvmaze-server's Prometheus exporter (docs/operations.md "Reading
 * metrics" is the contract of names, types and labels; "Metrics" there says
 * how it works).
 *
 *   series                                      source
 *   grpc_server_started_total                   the binding's observer (STARTED)
 *   grpc_server_handled_total                   the observer (FINISHED): code name
 *   grpc_server_handling_seconds                  as go-grpc-prometheus spells it
 *   tvmaze_db_pool_connections{state}           workers busy / connected and idle
 *   tvmaze_db_pool_max_connections              the worker count
 *   tvmaze_db_errors_total, _reconnects_total   store_counters_get (db.c)
 *   tvmaze_ingest_runs_total{status}            store_ingest_runs_ended (store_runs.c)
 *   tvmaze_ingest_last_success_timestamp_seconds  ingest_runs, read at scrape time
 *   tvmaze_data_version                         data_generation, read at scrape time
 *   process_*                                   /proc/self
 *   tvmaze_otel_*                               otel_tracer_render_metrics
 *
 * Threads: metrics_observe and metrics_worker_connected run on the gRPC
 * workers and only add to that worker's own cells with relaxed atomics (no
 * lock, no allocation). The HTTP listener (libmicrohttpd, one internal
 * thread) renders: it sums the workers' cells, and reads the database on its
 * own connection at most every METRICS_DB_CACHE_S seconds.
 */
#ifndef TVMAZE_SERVER_METRICS_H
#define TVMAZE_SERVER_METRICS_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "rpc.h"
#include "strbuf.h"

#define METRICS_DB_CACHE_S 5 /* seconds a database read serves scrapes */

struct server_metrics;

/* An exporter for `workers` gRPC workers; database_url for the scrape-time
 * reads (NULL: the ingest and data version series are left out). Never NULL. */
struct server_metrics *metrics_create(int workers, const char *database_url);

/* Registers a service's methods (series at 0 from the start). Before
 * metrics_listen and before calls are observed; up to 16 services. */
void metrics_add_service(struct server_metrics *m, const ProtobufCServiceDescriptor *desc);

/* Adds the tracer's exporter counters (tvmaze_otel_*) to every scrape; t
 * is borrowed and must outlive m. Before metrics_listen. */
struct otel_tracer;
void metrics_set_tracer(struct server_metrics *m, struct otel_tracer *t);

/* The binding's observer (struct rpc_server_config.observe); user is the
 * struct server_metrics. Reports of services not registered are ignored. */
void metrics_observe(const struct rpc_call_report *r, void *user);

/* Whether worker `worker` holds an open database connection (called by the
 * worker after each call; idle = connected and not in a call). */
void metrics_worker_connected(struct server_metrics *m, int worker, int connected);

/* Appends the whole exposition (text format 0.0.4) to b. Not concurrent
 * with itself (the listener's one thread, or a test). */
void metrics_render(struct server_metrics *m, struct strbuf *b);

/* Serves GET /metrics on addr ("host:port"; port 0 picks one) from a thread
 * of its own. Returns 0, or -1 with a message in err and errno set
 * (EADDRINUSE: port in use; EINVAL: the host does not resolve). *port gets
 * the bound port (may be NULL). */
int metrics_listen(struct server_metrics *m, const char *addr, int *port, char *err, size_t errlen);

/* Stops the listener (if any) and frees. Accepts NULL. */
void metrics_destroy(struct server_metrics *m);

#endif
