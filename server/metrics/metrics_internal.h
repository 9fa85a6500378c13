/*
 * metrics_internal: the exporter's structures (metrics.c: counters,
 * rendering, the listener it owns). Nothing else includes it but tests.
 */
#ifndef TVMAZE_SERVER_METRICS_INTERNAL_H
#define TVMAZE_SERVER_METRICS_INTERNAL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

#define METRICS_MAX_SERVICES 16
#define METRICS_NBUCKETS 11 /* upper bounds; one more bucket counts above the last */
#define METRICS_NCODES 17   /* gRPC codes 0..16 */

/* One method's counters on one worker (written by that worker only). */
struct metrics_cell_ {
  atomic_ullong started;
  atomic_ullong handled[METRICS_NCODES];
  atomic_ullong bucket[METRICS_NBUCKETS + 1]; /* per bucket, not cumulative */
  atomic_ullong sum_ns;
};

/* A worker's state, a cache line of its own. */
struct metrics_worker_ {
  alignas(64) atomic_int busy; /* inside a handler (holds its connection) */
  atomic_int connected;        /* its store held a connection after the last call */
  struct metrics_cell_ *cells; /* n_methods, in registration order */
};

struct server_metrics {
  int n_workers;
  struct metrics_worker_ *workers;
  const ProtobufCServiceDescriptor *services[METRICS_MAX_SERVICES];
  size_t first_method[METRICS_MAX_SERVICES]; /* index of each service's first cell */
  size_t n_services;
  size_t n_methods;
  double created_epoch;
  struct otel_tracer *tracer; /* borrowed (metrics_set_tracer); NULL: no tvmaze_otel_* */
  /* Listener thread only: */
  char *database_url;
  struct store *store; /* its own connection, opened at the first scrape */
  double db_read_at;   /* monotonic seconds of the last read (0: never) */
  double last_success;
  int has_last_success;
  int64_t data_version;
  int has_data_version;
  struct metrics_http *http; /* the listener (metrics_http.h); NULL: none */
};

#endif
