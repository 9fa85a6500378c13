/*
 * ingest_runner: the runner object of tvmaze-server: one thread with its
 * own PostgreSQL session that executes StartIngest requests and the daily
 * schedule, one run at a time, through the steps of ingest_run.h (which
 * this header includes for callers of those steps).
 *
 * Run outcome: SUCCEEDED (every day landed), PARTIAL (some days failed),
 * FAILED (every day failed, or interrupted by shutdown: error "interrupted");
 * the table is in ingest_outcome.h.
 */
#ifndef TVMAZE_INGEST_RUNNER_H
#define TVMAZE_INGEST_RUNNER_H

#include <stdint.h>

#include "db.h"
#include "ingest_fetch.h"
#include "ingest_run.h"

struct otel_tracer;

struct ingest_runner_config {
  const char *database_url;
  struct ingest_fetch_config fetch; /* strings must outlive the runner */
  int at_minute;                    /* daily schedule, minutes after 00:00 UTC; -1 off */
  int default_days;                 /* days of a scheduled run */
  const char *owner;                /* recorded in ingest_runs.owner (e.g. hostname:pid) */
  struct otel_tracer *tracer;       /* NULL: no spans; else each run is a root span
                                       "ingest.run" (sampled by the sampler) with its SQL
                                       and a child span per day (ingest_run.c); must
                                       outlive the runner */
  int orphan_check_ms;              /* while idle, how often to look for an orphan RUNNING
                                       run (ingest_run_recover_orphans); <= 0: 30000 */
};

struct ingest_runner;

/* Starts the runner thread (which also finishes orphan runs when it can
 * take the lock, at start and every orphan_check_ms while idle). Never NULL. cfg is copied (not the
 * strings it points to). */
struct ingest_runner *ingest_runner_create(const struct ingest_runner_config *cfg);

/* Stops the thread: an in-flight run stops at once (transfers abandoned; the
 * current day's transaction, if any, commits or rolls back whole) and
 * becomes FAILED "interrupted". Accepts NULL. */
void ingest_runner_destroy(struct ingest_runner *r);

/* StartIngest: asks the runner thread to begin a run and waits (up to 30 s)
 * for the answer: *run_id and *started as ingest_run_begin. Concurrent
 * callers get the same run; only one sees *started = 1. Thread-safe.
 * STORE_UNAVAILABLE if the database or the runner did not answer. */
enum store_status ingest_runner_start(struct ingest_runner *r, int32_t start_day, int days,
                                      long long *run_id, int *started);

#endif
