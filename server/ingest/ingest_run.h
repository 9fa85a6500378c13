/*
 * ingest_run: one ingest run, as library steps on any thread that owns a
 * store session: begin (lock, stale runs, the run row) and execute (fetch,
 * parse, write, outcome, finish, unlock). The runner of tvmaze-server
 * (ingest_runner.h) and the integration tests call these.
 *
 * Singleton across replicas: a run executes only while its session holds
 * pg_advisory_lock(STORE_INGEST_LOCK_KEY) (store_runs.h). A start that
 * cannot take the lock returns the RUNNING run of whoever holds it. A
 * RUNNING row seen by a session that got the lock belongs to a runner that
 * died (a crash or SIGKILL drops its session and lock) and becomes FAILED.
 *
 * Execute is a two-stage pipeline: the calling thread drives the fetch and
 * parses each complete day (skipping unchanged ones, ingest_skip.h); a
 * writer executor (common/workq.h: its own thread, or inline when no
 * thread can start) writes the days on the run's session, in the order
 * they complete, with at most INGEST_RUN_WRITE_QUEUE parsed days waiting.
 * Outcome: ingest_outcome.h.
 */
#ifndef TVMAZE_INGEST_RUN_H
#define TVMAZE_INGEST_RUN_H

#include <stdatomic.h>
#include <stdint.h>

#include "db.h"
#include "ingest_fetch.h"

#define INGEST_RUN_WRITE_QUEUE 2

/* Takes the lock on s's session and creates a RUNNING run (*started = 1),
 * first finishing orphan RUNNING runs (ingest_run_recover_orphans); or, when another session holds
 * the lock, *run_id = its RUNNING run and *started = 0. With scheduled_since > 0 (epoch s), no run
 * is created when one started since then (*run_id = 0). STORE_CONFLICT: the lock is held but its
 * run is not visible (yet). */
enum store_status ingest_run_begin(struct store *s, int32_t start_day, int days, const char *owner,
                                   long long scheduled_since, long long *run_id, int *started);

/* Finishes every RUNNING run (an orphan: its runner died, or could not
 * record the outcome) if s's session can take the run lock now, and
 * releases it again; nothing when another session holds it. An orphan ends
 * with the outcome its recorded days give (SUCCEEDED, PARTIAL, FAILED
 * "every day failed"), or FAILED "interrupted: its server stopped, or could
 * not record the run, ..." while any day is unrecorded (ingest_outcome.h).
 * For a runner starting up, and its periodic orphan check. */
void ingest_run_recover_orphans(struct store *s);

/* Executes begun run run_id (s must be the session that began it): fetch,
 * parse and write each day, record outcomes, finish the run, release the
 * lock. Returns the final run status (enum store_run_status). */
int ingest_run_execute(struct store *s, const struct ingest_fetch_config *fetch, long long run_id,
                       int32_t start_day, int days, const atomic_int *stop);

#endif
