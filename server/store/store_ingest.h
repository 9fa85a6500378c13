/*
 * store_ingest: the SQL of ingestion -- the batched per-day write of
 * schedule rows, the run memo and the source hashes. Its parts:
 *
 *   file          job
 *   store_ingest  the executor: sends a day's plan in one transaction
 *   day_plan      the pure plan: row -> skip / COPY / upsert (no libpq)
 *   day_sql       the SQL text of the day write, every statement
 *   run_memo      the run memo, the day's key index, the one tag table
 *   pg_encode     array literals and COPY text (no libpq)
 *   store_runs    ingest_runs / ingest_run_days and the run lock (included
 *                 here: callers of store_ingest.h see it all)
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
 *   memo knows, are left out of these statements and of the shows': the
 *   plan's SKIP)
 *   (which rows are stored, and distributors' and genres' row ids: from a
 *   run memo preloaded by store_ingest_memo_preload, which learns each
 *   day's, and from the distributors and genres INSERTs' RETURNING; without
 *   a preloaded memo, one probe SELECT per day tells; then the plan routes
 *   each kept row to COPY or upsert)
 *   shows          new ones: COPY (distributor_id as above); stored
 *                  ones: INSERT .. ON CONFLICT (id) DO UPDATE .. WHERE (cols)
 *                  IS DISTINCT FROM (EXCLUDED cols) RETURNING (xmax = 0):
 *                  created = COPYed rows + true rows, updated = false rows,
 *                  unchanged = the rest
 *   show_genres    new shows: COPY of their pairs (with each genre's place
 *                  in TVMaze's list); stored shows: DELETE pairs no longer
 *                  listed at their place, INSERT missing ones
 *   episodes       new ones: COPY with country_code from the batch (the
 *                  show's distributor's country, which the day's statements
 *                  have just made the tables hold); stored ones: upsert as
 *                  shows, country_code joined from the tables
 *   changes        SELECT changes_commit() only if any of the above wrote a
 *                  row: the change records (collected by the triggers of
 *                  migration 010), the data version moved and NOTIFYd
 *   ingest_source_hashes  the day's raw body hashes replaced (migration 006)
 *   ingest_runs / ingest_run_days  counters and the day's outcome
 *
 * A row taken for new that is stored after all (an episode stored with an
 * airdate outside the preloaded window, or added by something else) makes
 * the COPY fail on the primary key (SQLSTATE 23505): the day is rolled back
 * and written once more with upserts only.
 *
 * Functions take the caller's struct store (one owner thread) and return
 * enum store_status; the store's last error has details.
 */
#ifndef TVMAZE_STORE_INGEST_H
#define TVMAZE_STORE_INGEST_H

#include <stddef.h>

#include "db.h"
#include "rows.h"
#include "store_runs.h"

/* The statement that ends a writing transaction: SELECT changes_commit()
 * (migration 010) writes the change records of the rows the transaction
 * created, updated or removed, moves the data version (data_generation,
 * part of every cache key) to the last record's version and notifies
 * channel tvmaze_generation with it; nothing moves when no show or episode
 * changed. Versions are at least the clock in microseconds, so a number is
 * never reused for other data (migration 005). Run in each day's
 * transaction that wrote a row and in the run's removal. Exposed for tests
 * that simulate an ingest commit. */
extern const char store_changes_commit_sql[];

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
 * when n_hashes is 0). memo may be NULL (every row is sent). The plan
 * (day_plan.h) is made once per call, routed again for the retry with
 * upserts only; every allocation is per day, released on the one way out.
 * Tests: tests/unit/test_day_plan.c (the plan), test_ingest_write.c (the
 * executor against PostgreSQL), test_ingest.c (whole runs). */
enum store_status store_ingest_write_day(struct store *s, long long run_id, const char *date,
                                         const struct row_batch *b,
                                         const struct store_ingest_source_hash *hashes,
                                         size_t n_hashes, struct store_ingest_memo *memo,
                                         struct store_ingest_counts *counts);

/* The run's removal (API.md "Changes and versions"), at its end: in one
 * transaction, deletes the episodes stored on dates[0..n_dates)
 * (YYYY-MM-DD: the days the run fetched and wrote completely; not skipped
 * or failed ones) whose id is not in seen[0..n_seen) (every episode id the
 * run parsed, on any day), adds their count to run_id's episodes_removed
 * and ends with changes_commit (REMOVED records). *removed gets the count.
 * Nothing is sent when n_dates is 0. Rolled back on failure. */
enum store_status store_ingest_remove_unlisted(struct store *s, long long run_id,
                                               const char (*dates)[11], size_t n_dates,
                                               const int *seen, size_t n_seen, long long *removed);

/* Deletes the stored source hashes of date (YYYY-MM-DD): a day of the run
 * that failed, whose rows other days of the run may have changed, is
 * parsed and written again by the next run instead of skipped. */
enum store_status store_ingest_forget_hashes(struct store *s, const char *date);

/* Every stored source hash of dates [from, to] (YYYY-MM-DD), by date and
 * source; free *rows with free(). */
enum store_status store_ingest_load_hashes(struct store *s, const char *from, const char *to,
                                           struct store_ingest_stored_hash **rows, size_t *n);

/* The HTTP validators of a document (full mode; "" when absent). */
struct store_ingest_validators {
  char etag[256];
  char last_modified[64];
};

/* The validators stored for url (migration 017); both "" when none. */
enum store_status store_ingest_validators_load(struct store *s, const char *url,
                                               struct store_ingest_validators *out);

/* Stores v for url, replacing any; v NULL (or both "") deletes them. */
enum store_status store_ingest_validators_save(struct store *s, const char *url,
                                               const struct store_ingest_validators *v);

#endif
