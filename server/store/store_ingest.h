/*
 * store_ingest: the SQL of ingestion -- the batched per-day upsert of
 * schedule rows and the ingest_runs / ingest_run_days bookkeeping.
 *
 * Day write (one transaction; a row travels in a COPY or in an array bound
 * as a statement parameter and expanded with unnest, never a round trip
 * per row):
 *
 *   BEGIN          with tvmaze.episode_country_supplied on (migration 009)
 *                  and sequential scans priced out (every lookup below is by
 *                  key: a plan cached while a table was nearly empty must
 *                  not scan it whole later) and JIT off
 *   countries      INSERT .. ON CONFLICT (code) DO UPDATE .. WHERE changed
 *   distributors   UPDATE changed rows; INSERT missing ones (WHERE NOT EXISTS,
 *                  so the identity sequence is not burnt by existing rows)
 *   genres         INSERT missing names (same reason: smallint identity)
 *   (rows this run already committed with identical content, as the run
 *   memo knows, are left out of these statements and of the shows')
 *   (which rows are stored, and distributors' and genres' row ids: from a
 *   run memo preloaded by store_ingest_memo_preload, which learns each
 *   day's, and from the distributors and genres INSERTs' RETURNING; without
 *   a preloaded memo, one probe SELECT per day tells)
 *   shows          new ones: COPY (distributor_id as above); stored
 *                  ones: INSERT .. ON CONFLICT (id) DO UPDATE .. WHERE (cols)
 *                  IS DISTINCT FROM (EXCLUDED cols) RETURNING (xmax = 0):
 *                  created = COPYed rows + true rows, updated = false rows,
 *                  unchanged = the rest
 *   show_genres    new shows: COPY of their pairs; stored shows: DELETE pairs
 *                  no longer listed, INSERT missing pairs
 *   episodes       new ones: COPY with country_code from the batch (the
 *                  show's distributor's country, which the day's statements
 *                  have just made the tables hold); stored ones: upsert as
 *                  shows, country_code joined from the tables
 *   data_generation bumped (+ pg_notify 'tvmaze_generation') only if any of
 *                  the above wrote a row
 *   ingest_source_hashes  the day's raw body hashes replaced (migration 006)
 *   ingest_runs / ingest_run_days  counters and the day's outcome
 *
 * A row taken for new that is stored after all (an episode stored with an
 * airdate outside the preloaded window, or added by something else) makes
 * the COPY fail on the primary key (SQLSTATE 23505): the day is rolled back
 * and written once more with upserts only.
 *
 * Singleton runs: the runner's session holds pg_advisory_lock(INGEST_LOCK_KEY)
 * for the whole run; a RUNNING row found while holding the lock was left by
 * a dead runner and is marked FAILED.
 *
 * Functions take the caller's struct store (one owner thread) and return
 * enum store_status; the store's last error has details.
 */
#ifndef TVMAZE_STORE_INGEST_H
#define TVMAZE_STORE_INGEST_H

#include <stddef.h>

#include "db.h"
#include "rows.h"

/* pg advisory lock key of ingest runs ("tvmi"). */
#define STORE_INGEST_LOCK_KEY 1953918313LL

enum store_run_status {
  STORE_RUN_RUNNING = 1,
  STORE_RUN_SUCCEEDED = 2,
  STORE_RUN_PARTIAL = 3,
  STORE_RUN_FAILED = 4
};
enum store_day_status { STORE_DAY_PENDING = 1, STORE_DAY_SUCCEEDED = 2, STORE_DAY_FAILED = 3 };

/* The statement that bumps the data generation (part of every cache key) and
 * notifies listeners on channel tvmaze_generation with the new value; run in
 * each day's transaction that wrote a row. Generations are at least the
 * commit time in microseconds, so a number is never reused for other data
 * (migration 005). Exposed for tests that simulate an ingest commit. */
extern const char store_generation_bump_sql[];

/* What one day's write did. */
struct store_ingest_counts {
  long long requests, retries, episodes_seen;
  long long shows_created, shows_updated, shows_unchanged;
  long long episodes_created, episodes_updated, episodes_unchanged;
  int changed; /* some row was written (the generation was bumped) */
};

/* The raw body hash of one source of a day (migration 006). */
#define STORE_INGEST_HASH_LEN 32 /* SHA-256 */
struct store_ingest_source_hash {
  char source[8]; /* "web" or a country code */
  unsigned char hash[STORE_INGEST_HASH_LEN];
  long long items; /* schedule items in the body */
};

/* A stored source hash with its day's counts. */
struct store_ingest_stored_hash {
  char date[11];
  struct store_ingest_source_hash h;
  long long day_episodes, day_shows;
};

struct store_ingest_day {
  char date[11];
  int status;  /* enum store_day_status */
  int skipped; /* SUCCEEDED without parse or write: every body was identical */
  char *error; /* NULL if none */
};

struct store_ingest_run {
  long long id;
  int status; /* enum store_run_status */
  char start_date[11];
  int days, days_done;
  long long requests, retries, episodes_seen;
  long long shows_created, shows_updated, shows_unchanged;
  long long episodes_created, episodes_updated, episodes_unchanged;
  char *error;                          /* NULL if none */
  double started_at;                    /* epoch seconds */
  double finished_at;                   /* epoch seconds; < 0 while running */
  struct store_ingest_day *day_results; /* by date; NULL unless asked for */
  size_t n_day_results;
};

/* Frees the strings and days of run (not run itself). Accepts zeroed runs. */
void store_ingest_run_release(struct store_ingest_run *run);

/* Run memo: what this run's committed days wrote, as a 64-bit hash of each
 * normalized row (common/hash.h's hash_fold64 over every column) keyed by show id (the hash
 * covers its distributor key and genre list), distributor (kind, id) and
 * country code. store_ingest_write_day leaves a row whose hash equals the
 * memo's out of its statements: the database holds that content, because
 * this run committed it and the run's advisory lock keeps other ingests
 * out (a row changed by anything else meanwhile is not repaired before the
 * next run). It records the day's rows only after COMMIT succeeded and
 * forgets them on any failure (also when COMMIT's outcome is unknown), so a
 * failed day never makes a later day skip a row. Two different contents of
 * one key hashing equal (about 2^-64) would skip that change for the run.
 * One owner thread (the run's writer); destroy accepts NULL. */
struct store_ingest_memo;
struct store_ingest_memo *store_ingest_memo_create(void);
void store_ingest_memo_destroy(struct store_ingest_memo *m);

/* Reads into m which rows the tables hold: every show id, the ids of the
 * episodes airing within a month of [from, to] (YYYY-MM-DD) and every
 * distributor's and genre's row id; the days written with m then need no
 * probe of their own, and m learns the ids of every day it writes. An
 * episode stored with an airdate further off is taken for new: its day's
 * COPY fails on the key, and the day is written again with upserts.
 * Valid while this run holds the lock (after the lock was lost and
 * retaken, use a new memo). On failure m is unchanged (days probe). */
enum store_status store_ingest_memo_preload(struct store *s, struct store_ingest_memo *m,
                                            const char *from, const char *to);

/* Writes batch b as day `date` of run run_id in one transaction (rolled back
 * on any failure: nothing of the day remains). counts->requests/retries/
 * episodes_seen are inputs added to the run; the rest are outputs (a row
 * the memo left out counts as unchanged). The day's stored source hashes
 * are replaced by hashes[0..n_hashes) in the same transaction (none kept
 * when n_hashes is 0). memo may be NULL (every row is sent). */
enum store_status store_ingest_write_day(struct store *s, long long run_id, const char *date,
                                         const struct row_batch *b,
                                         const struct store_ingest_source_hash *hashes,
                                         size_t n_hashes, struct store_ingest_memo *memo,
                                         struct store_ingest_counts *counts);

/* Every stored source hash of dates [from, to] (YYYY-MM-DD), by date and
 * source; free *rows with free(). */
enum store_status store_ingest_load_hashes(struct store *s, const char *from, const char *to,
                                           struct store_ingest_stored_hash **rows, size_t *n);

/* Records day `date` of run_id as SUCCEEDED and skipped (bodies identical
 * to the stored hashes): counts (requests, retries, episodes_seen,
 * *_unchanged) are added to the run; no schedule table is touched. */
enum store_status store_ingest_skip_day(struct store *s, long long run_id, const char *date,
                                        const struct store_ingest_counts *counts);

/* Records day `date` of run_id as failed with error, adding requests/retries
 * to the run and one to days_done. */
enum store_status store_ingest_fail_day(struct store *s, long long run_id, const char *date,
                                        const char *error, long long requests, long long retries);

/* pg_try_advisory_lock on this session: *got 1 if now held. */
enum store_status store_ingest_try_lock(struct store *s, int *got);
enum store_status store_ingest_unlock(struct store *s);

/* Before each day's write: whether this session still holds the run lock.
 * A dropped connection (store_exec reconnects) loses it; then it is taken
 * again if free and run_id is still RUNNING (*retaken 1), else *held is 0:
 * another runner may be writing, so this run must stop. */
enum store_status store_ingest_keep_lock(struct store *s, long long run_id, int *held,
                                         int *retaken);

/* Marks every RUNNING run FAILED with error (call only while holding the
 * lock). *n gets how many. */
enum store_status store_ingest_fail_stale(struct store *s, const char *error, int *n);

/* Inserts a RUNNING run with its days PENDING; *id gets its id. */
enum store_status store_ingest_run_create(struct store *s, const char *start_date, int days,
                                          const char *owner, long long *id);

/* Sets the final status (and error, may be NULL) and finished_at. */
enum store_status store_ingest_run_finish(struct store *s, long long id, int status,
                                          const char *error);

/* Id of the newest RUNNING run; STORE_NOT_FOUND if none. */
enum store_status store_ingest_run_running(struct store *s, long long *id);

/* Whether a run started at or after epoch second `since` (scheduler). */
enum store_status store_ingest_run_started_since(struct store *s, long long since, int *exists);

/* Run id with its day results; STORE_NOT_FOUND if absent. Release *run. */
enum store_status store_ingest_run_get(struct store *s, long long id, struct store_ingest_run *run);

/* Runs newest first (without day results): *runs (free with
 * store_ingest_runs_free) gets up to limit runs from offset; *total all. */
enum store_status store_ingest_run_list(struct store *s, long long offset, int limit,
                                        struct store_ingest_run **runs, size_t *n,
                                        long long *total);
void store_ingest_runs_free(struct store_ingest_run *runs, size_t n);

/* Runs per status: counts[k] = runs with status k (1 running .. 4 failed;
 * counts[0] unused, 0). One GROUP BY over ingest_runs; counts unchanged on
 * failure. */
enum store_status store_ingest_run_counts(struct store *s, long long counts[5]);

#endif
