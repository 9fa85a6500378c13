/*
 * ingest_runner: ingest runs -- the library steps (begin, execute) and the
 * runner object of tvmaze-server: one thread with its own PostgreSQL
 * session that executes StartIngest requests and the daily schedule.
 *
 * Singleton across replicas: a run executes only while its session holds
 * pg_advisory_lock(STORE_INGEST_LOCK_KEY) (store_ingest.h). A start that
 * cannot take the lock returns the RUNNING run of whoever holds it. A
 * RUNNING row seen by a session that got the lock belongs to a runner that
 * died (a crash or SIGKILL drops its session and lock) and becomes FAILED.
 *
 * Run outcome: SUCCEEDED (every day landed), PARTIAL (some days failed),
 * FAILED (every day failed, or interrupted by shutdown: error "interrupted").
 */
#ifndef TVMAZE_INGEST_RUNNER_H
#define TVMAZE_INGEST_RUNNER_H

#include <stdatomic.h>
#include <stdint.h>

#include "db.h"
#include "ingest_fetch.h"

/* --- library steps (any thread with its own store) --- */

/* Takes the lock on s's session and creates a RUNNING run (*started = 1),
 * first failing stale RUNNING runs; or, when another session holds the
 * lock, *run_id = its RUNNING run and *started = 0. With scheduled_since > 0
 * (epoch s), no run is created when one started since then (*run_id = 0).
 * STORE_CONFLICT: the lock is held but its run is not visible (yet). */
enum store_status ingest_run_begin(struct store *s, int32_t start_day, int days, const char *owner,
                                   long long scheduled_since, long long *run_id, int *started);

/* Executes begun run run_id (s must be the session that began it): fetch,
 * parse and write each day, record outcomes, finish the run, release the
 * lock. Returns the final run status (enum store_run_status). */
int ingest_run_execute(struct store *s, const struct ingest_fetch_config *fetch, long long run_id,
                       int32_t start_day, int days, const atomic_int *stop);

/* --- the runner of tvmaze-server --- */

struct ingest_runner_config {
  const char *database_url;
  struct ingest_fetch_config fetch; /* strings must outlive the runner */
  int at_minute;                    /* daily schedule, minutes after 00:00 UTC; -1 off */
  int default_days;                 /* days of a scheduled run */
  const char *owner;                /* recorded in ingest_runs.owner (e.g. hostname:pid) */
};

struct ingest_runner;

/* Starts the runner thread (which also fails stale runs when it can take the
 * lock). Never NULL. cfg is copied (not the strings it points to). */
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
