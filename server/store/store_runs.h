/*
 * store_runs: the bookkeeping of ingest runs -- the run lock, the rows of
 * ingest_runs and ingest_run_days (begin, day outcome, finish, stale runs)
 * and their reads for tvmaze.v1.Ingest.
 *
 *   table            column   values (enum below; the SQL takes them as
 *                             parameters, never as literals)
 *   ingest_runs      status   STORE_RUN_RUNNING .. STORE_RUN_FAILED
 *   ingest_run_days  status   STORE_DAY_PENDING .. STORE_DAY_FAILED
 *                    skipped  SUCCEEDED without parse or write
 *   (migration 001 CHECKs the same ranges: 1..4, 1..3)
 *
 * Singleton runs: the runner's session holds
 * pg_advisory_lock(STORE_INGEST_LOCK_KEY) for the whole run; a RUNNING row
 * found while holding the lock was left by a dead runner and is marked
 * FAILED.
 *
 * Reads follow the store's convention for what gRPC serves (as
 * store_shows.h, store_analytics.h): the protobuf reply is built in the
 * arena a given (NULL: the heap; free with
 * protobuf_c_message_free_unpacked(msg, NULL)); on failure *out is NULL.
 * The status enums have the values of tvmaze.v1.RunStatus / DayStatus.
 * Functions take the caller's struct store (one owner thread) and return
 * enum store_status; the store's last error has details.
 */
#ifndef TVMAZE_STORE_RUNS_H
#define TVMAZE_STORE_RUNS_H

#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "tvmaze/v1/ingest.pb-c.h"

/* pg advisory lock key of ingest runs ("tvmi"). */
#define STORE_INGEST_LOCK_KEY 1953918313LL

enum store_run_status {
  STORE_RUN_RUNNING = 1,
  STORE_RUN_SUCCEEDED = 2,
  STORE_RUN_PARTIAL = 3,
  STORE_RUN_FAILED = 4
};
enum store_day_status { STORE_DAY_PENDING = 1, STORE_DAY_SUCCEEDED = 2, STORE_DAY_FAILED = 3 };

/* What one day's write did (and the run's counters it adds to). */
struct store_ingest_counts {
  long long requests, retries, episodes_seen;
  long long shows_created, shows_updated, shows_unchanged;
  long long episodes_created, episodes_updated, episodes_unchanged;
  int changed; /* some row was written (the generation was bumped) */
};

/* pg_try_advisory_lock on this session: *got 1 if now held. */
enum store_status store_ingest_try_lock(struct store *s, int *got);
enum store_status store_ingest_unlock(struct store *s);

/* Before each day's write: whether this session still holds the run lock.
 * A dropped connection (store_exec reconnects) loses it; then it is taken
 * again if free and run_id is still RUNNING (*retaken 1), else *held is 0:
 * another runner may be writing, so this run must stop. */
enum store_status store_ingest_keep_lock(struct store *s, long long run_id, int *held,
                                         int *retaken);

/* A RUNNING run and what its days say (store_ingest_stale_runs). */
struct store_ingest_stale {
  long long id;
  int days;                 /* of the run */
  int days_ok, days_failed; /* days recorded SUCCEEDED / FAILED (the rest PENDING) */
};

/* Every RUNNING run with its recorded days, oldest first (*out malloc'd,
 * free it; NULL when none). Called while holding the lock, every such run
 * is an orphan, whose runner died or could not record its outcome; the
 * caller finishes each with store_ingest_run_finish. */
enum store_status store_ingest_stale_runs(struct store *s, struct store_ingest_stale **out,
                                          size_t *n);

/* Runs this process ended with status (enum store_run_status: SUCCEEDED,
 * PARTIAL, FAILED) through store_ingest_run_finish (also orphans'), counted when the update
 * succeeded; 0 for other statuses. Thread-safe (relaxed atomics). */
unsigned long long store_ingest_runs_ended(int status);

/* *epoch gets the Unix time (seconds) at which the newest SUCCEEDED run
 * finished, 0 if none did (the freshness metric). */
enum store_status store_ingest_last_success(struct store *s, double *epoch);

/* Inserts a RUNNING run with its days PENDING; *id gets its id. */
enum store_status store_ingest_run_create(struct store *s, const char *start_date, int days,
                                          const char *owner, long long *id);

/* Sets the final status (enum store_run_status; and error, may be NULL)
 * and finished_at. */
enum store_status store_ingest_run_finish(struct store *s, long long id, int status,
                                          const char *error);

/* Sets the download progress of run_id (a full-mode run): decoded body
 * bytes so far, the Content-Length (0: unknown) and items split so far. */
enum store_status store_ingest_run_progress(struct store *s, long long id, long long bytes,
                                            long long bytes_total, long long items);

/* Records day `date` of run_id with status (enum store_day_status), error
 * (may be NULL) and skipped, adding c's counters (requests .. *_unchanged)
 * to the run and one to days_done: one statement (inside the day's
 * transaction for a written day). */
enum store_status store_ingest_day_done(struct store *s, long long run_id, const char *date,
                                        int status, const char *error, int skipped,
                                        const struct store_ingest_counts *c);

/* Records day `date` of run_id as SUCCEEDED and skipped (bodies identical
 * to the stored hashes): counts (requests, retries, episodes_seen,
 * *_unchanged) are added to the run; no schedule table is touched. */
enum store_status store_ingest_skip_day(struct store *s, long long run_id, const char *date,
                                        const struct store_ingest_counts *counts);

/* Records day `date` of run_id as failed with error, adding requests/retries
 * to the run and one to days_done. */
enum store_status store_ingest_fail_day(struct store *s, long long run_id, const char *date,
                                        const char *error, long long requests, long long retries);

/* Id of the newest RUNNING run; STORE_NOT_FOUND if none. */
enum store_status store_ingest_run_running(struct store *s, long long *id);

/* Whether a run started at or after epoch second `since` (scheduler). */
enum store_status store_ingest_run_started_since(struct store *s, long long since, int *exists);

/* Run id with its day results (by date); STORE_NOT_FOUND if absent. */
enum store_status store_ingest_run_get(struct store *s, struct arena *a, long long id,
                                       Tvmaze__V1__IngestRun **out);

/* Page `page` (>= 1) of per_page (>= 1) runs, newest first, without day
 * results, with pagination (total: every run). */
enum store_status store_ingest_run_list(struct store *s, struct arena *a, int32_t page,
                                        int32_t per_page, Tvmaze__V1__ListIngestRunsResponse **out);

/* Runs per status, statuses without runs left out, in status order. One
 * GROUP BY over ingest_runs. */
enum store_status store_ingest_run_counts(struct store *s, struct arena *a,
                                          Tvmaze__V1__CountIngestRunsResponse **out);

#endif
