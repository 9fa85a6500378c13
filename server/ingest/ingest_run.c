/*
 * ingest_run: see ingest_run.h.
 *
 * Work items of the writer executor (struct work_): the preload of the
 * run memo (first, so that it runs while the first days download), then
 * one per fetched day. Only the writer uses the run's session between the
 * executor's start and its finish; the fetch side reads x->lock_lost only.
 * Every store call is one of store_ingest.h's functions.
 */
#include "ingest_run.h"

#include <stdio.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "date.h"
#include "ingest_full.h"
#include "ingest_outcome.h"
#include "ingest_parse.h"
#include "ingest_skip.h"
#include "log.h"
#include "otel_current.h"
#include "store_ingest.h"
#include "workq.h"
#include "xalloc.h"

/* ------------------------------------------------------------------ */
/* Begin                                                              */
/* ------------------------------------------------------------------ */

/* With the lock held: every RUNNING run is an orphan (its runner died, or
 * could not record its outcome). Each ends with the outcome its recorded
 * days give (ingest_outcome_of, orphan), else FAILED "interrupted: ...". */
static enum store_status recover_orphans_locked_(struct store *s) {
  struct store_ingest_stale *runs = NULL;
  size_t n = 0;
  enum store_status st = store_ingest_stale_runs(s, &runs, &n);
  for (size_t i = 0; st == STORE_OK && i < n; i++) {
    struct ingest_outcome_in in = {.days = runs[i].days,
                                   .days_ok = runs[i].days_ok,
                                   .days_failed = runs[i].days_failed,
                                   .fetch = INGEST_FETCH_DONE,
                                   .orphan = 1};
    struct ingest_outcome out = ingest_outcome_of(&in);
    st = store_ingest_run_finish(s, runs[i].id, out.status, out.error);
    LOG_EVENT(LOG_WARN, "ingest_orphan_run_finished", LF_INT("run", runs[i].id),
              LF_INT("status", out.status), LF_INT("days", runs[i].days),
              LF_INT("days_ok", runs[i].days_ok), LF_INT("days_failed", runs[i].days_failed),
              LF_STR("error", out.error), LF_STR("record", store_status_name(st)));
  }
  free(runs);
  return st;
}

void ingest_run_recover_orphans(struct store *s) {
  int got = 0;
  if (store_ingest_try_lock(s, &got) == STORE_OK && got) {
    (void)recover_orphans_locked_(s);
    (void)store_ingest_unlock(s);
  }
}

enum store_status ingest_run_begin(struct store *s, int32_t start_day, int days, const char *owner,
                                   long long scheduled_since, long long *run_id, int *started) {
  int got = 0;
  *started = 0;
  *run_id = 0;
  enum store_status st = STORE_OK;
  /* Not got: someone else runs, and its row may be a moment behind its
   * lock; or a replica holds it for a moment to finish orphans (then it is
   * free again and no run is RUNNING). */
  for (int i = 0; i < 50; i++) {
    st = store_ingest_try_lock(s, &got);
    if (st != STORE_OK || got) {
      break;
    }
    st = store_ingest_run_running(s, run_id);
    if (st != STORE_NOT_FOUND) {
      return st;
    }
    usleep(100 * 1000);
  }
  if (st != STORE_OK) {
    return st;
  }
  if (!got) {
    return STORE_CONFLICT;
  }
  st = recover_orphans_locked_(s);
  if (st == STORE_OK && scheduled_since > 0) {
    int exists = 0;
    st = store_ingest_run_started_since(s, scheduled_since, &exists);
    if (st == STORE_OK && exists) {
      (void)store_ingest_unlock(s);
      return STORE_OK;
    }
  }
  if (st == STORE_OK) {
    char date[11];
    date_format(start_day, date);
    st = store_ingest_run_create(s, date, days, owner, run_id);
  }
  if (st != STORE_OK) {
    (void)store_ingest_unlock(s);
    return st;
  }
  *started = 1;
  return STORE_OK;
}

/* ------------------------------------------------------------------ */
/* Execute: the writer's side                                         */
/* ------------------------------------------------------------------ */

struct work_ {
  int preload;  /* the run memo's preload, not a day */
  int progress; /* the full download's progress (exec_'s progress_*), not a day */
  char date[11];
  long long requests, retries;
  struct row_batch batch; /* when error == NULL */
  char *error;            /* the day failed (fetch or parse) */
  /* the raw body hashes of the day's sources, stored with its rows */
  struct store_ingest_source_hash *hashes;
  size_t n_hashes;
  int skipped;                         /* every body matched the stored hash: not parsed */
  long long skip_episodes, skip_shows; /* the stored counts when skipped */
};

/* Bound of a run's show memo (ingest_show_memo.h): about 1 KiB per show
 * (its normalized strings and digest), so some 30,000 shows fit; a run
 * with more parses the rest in full. Within the server pod's 128 MiB limit
 * together with the local reply cache (helm/tvmaze/values.yaml). */
#define SHOW_MEMO_MAX_BYTES ((size_t)32 << 20)

struct exec_ {
  struct store *s;
  long long run_id;
  int ok, failed; /* writer only until the executor finished */
  const atomic_int *stop;
  const struct ingest_fetch_config *fetch;
  /* source hashes stored before the run (read-only while it executes) */
  struct store_ingest_stored_hash *stored;
  size_t n_stored;
  struct store_ingest_memo *memo; /* rows committed by this run (writer only) */
  char from[11], to[11];          /* the run's first and last date */
  /* show objects this run normalized (fetch side only; the batches' rows
   * point into it, so it outlives the writer) */
  struct ingest_show_memo *shows;
  struct workq_exec *writer;
  atomic_int lock_lost; /* the run lock is gone: write nothing more */
  /* the run's removal (writer only until the executor finished): every
   * episode id parsed, and the days written completely (not skipped) */
  int *seen;
  size_t n_seen, cap_seen;
  char (*complete)[11];
  size_t n_complete, cap_complete;
  struct otel_current_saved trace; /* the run's span (the caller's current), for the days */
  /* the full download's latest progress (fetch side writes, the writer
   * records it on s); progress_queued: a progress item waits in the queue */
  atomic_llong progress_bytes, progress_total, progress_items;
  atomic_int progress_queued;
};

/* Remembers w's parsed episode ids (whether or not its write succeeds: an
 * episode listed on a failed day was seen, so no complete day removes it). */
static void note_seen_(struct exec_ *x, const struct work_ *w) {
  const struct row_batch *b = &w->batch;
  if (x->n_seen + b->n_episodes > x->cap_seen) {
    x->cap_seen = (x->n_seen + b->n_episodes) * 2 + 64;
    x->seen = xrealloc(x->seen, x->cap_seen * sizeof *x->seen);
  }
  for (size_t i = 0; i < b->n_episodes; i++) {
    x->seen[x->n_seen++] = b->episodes[i].id;
  }
}

static void note_complete_(struct exec_ *x, const struct work_ *w) {
  if (x->n_complete == x->cap_complete) {
    x->cap_complete = x->cap_complete * 2 + 16;
    x->complete = xrealloc(x->complete, x->cap_complete * sizeof *x->complete);
  }
  memcpy(x->complete[x->n_complete++], w->date, sizeof w->date);
}

/* Backoff between attempts to record a day or the run's outcome while
 * PostgreSQL is unavailable: from 250 ms, doubling, at most 5 s. */
#define RECORD_BACKOFF_MIN_MS 250
#define RECORD_BACKOFF_MAX_MS 5000

/* Attempt `attempt` to record what (of run run_id) ended with st: 1 when it
 * is to be tried again, after a backoff (logged ingest_record_retry); 0
 * when st is not STORE_UNAVAILABLE (nothing to wait for) or the server is
 * shutting down (stop), which leaves the run to the orphan rule
 * (recover_orphans_locked_). */
static int record_again_(struct store *s, const atomic_int *stop, long long run_id,
                         const char *what, enum store_status st, int attempt) {
  if (st != STORE_UNAVAILABLE || (stop != NULL && atomic_load(stop))) {
    return 0;
  }
  long long ms = RECORD_BACKOFF_MIN_MS;
  for (int i = 1; i < attempt && ms < RECORD_BACKOFF_MAX_MS; i++) {
    ms *= 2;
  }
  if (ms > RECORD_BACKOFF_MAX_MS) {
    ms = RECORD_BACKOFF_MAX_MS;
  }
  LOG_EVENT(LOG_WARN, "ingest_record_retry", LF_INT("run", run_id), LF_STR("what", what),
            LF_INT("attempt", attempt), LF_INT("wait_ms", ms),
            LF_STR("error", store_last_error(s)));
  for (long long t = 0; t < ms; t += 50) {
    if (stop != NULL && atomic_load(stop)) {
      return 0;
    }
    usleep(50 * 1000);
  }
  return 1;
}

static void fail_day_(struct exec_ *x, const struct work_ *w, const char *error) {
  enum store_status st;
  for (int attempt = 1;; attempt++) {
    st = store_ingest_fail_day(x->s, x->run_id, w->date, error, w->requests, w->retries);
    if (st == STORE_OK || !record_again_(x->s, x->stop, x->run_id, w->date, st, attempt)) {
      break;
    }
  }
  /* its stored hashes no longer prove its rows: other days of this run
   * may have written rows its bodies own (the next run parses it) */
  enum store_status hs;
  for (int attempt = 1;; attempt++) {
    hs = store_ingest_forget_hashes(x->s, w->date);
    if (hs == STORE_OK || !record_again_(x->s, x->stop, x->run_id, w->date, hs, attempt)) {
      break;
    }
  }
  if (hs != STORE_OK) {
    LOG_EVENT(LOG_WARN, "ingest_hashes_not_forgotten", LF_INT("run", x->run_id),
              LF_STR("date", w->date), LF_STR("error", store_last_error(x->s)));
  }
  LOG_EVENT(LOG_WARN, "ingest_day_failed", LF_INT("run", x->run_id), LF_STR("date", w->date),
            LF_STR("error", error), LF_STR("record", store_status_name(st)));
  x->failed++;
}

/* The day failed on the database: its error is the store's last one. */
static void fail_day_db_(struct exec_ *x, const struct work_ *w) {
  char err[512];
  snprintf(err, sizeof err, "%s: database: %s", w->date, store_last_error(x->s));
  fail_day_(x, w, err);
}

/* Before a day's statements, makes sure this session still holds the run
 * lock (a dropped connection loses it; store_exec reconnects silently).
 * 1: go ahead. 0: the day is not written: either it was recorded as failed
 * (the check itself failed) or the lock is lost, which ends the run
 * (x->lock_lost; the fetch stops at its next day). */
static int keep_lock_(struct exec_ *x, const struct work_ *w) {
  if (atomic_load(&x->lock_lost)) {
    return 0;
  }
  int held = 0, retaken = 0;
  enum store_status st = store_ingest_keep_lock(x->s, x->run_id, &held, &retaken);
  if (st != STORE_OK) {
    fail_day_db_(x, w);
    return 0;
  }
  if (!held) {
    atomic_store(&x->lock_lost, 1);
    LOG_EVENT(LOG_ERROR, "ingest_lock_lost", LF_INT("run", x->run_id), LF_STR("date", w->date),
              LF_STR("effect", "run stopped; another run holds the lock or failed this one"));
    return 0;
  }
  if (retaken) {
    /* Whatever ran while the lock was free may have changed rows (the new
     * memo is not preloaded: each day probes). */
    store_ingest_memo_destroy(x->memo);
    x->memo = store_ingest_memo_create();
    LOG_EVENT(LOG_WARN, "ingest_lock_retaken", LF_INT("run", x->run_id), LF_STR("date", w->date));
  }
  return 1;
}

static void write_day_(struct exec_ *x, struct work_ *w) {
  if (w->error == NULL && !w->skipped) {
    note_seen_(x, w);
  }
  if (!keep_lock_(x, w)) {
    return;
  }
  if (w->error != NULL) {
    fail_day_(x, w, w->error);
    return;
  }
  struct store_ingest_counts c = {.requests = w->requests, .retries = w->retries};
  enum store_status st;
  if (w->skipped) {
    c.episodes_seen = c.episodes_unchanged = w->skip_episodes;
    c.shows_unchanged = w->skip_shows;
    st = store_ingest_skip_day(x->s, x->run_id, w->date, &c);
  } else {
    c.episodes_seen = (long long)w->batch.n_episodes;
    st = store_ingest_write_day(x->s, x->run_id, w->date, &w->batch, w->hashes, w->n_hashes,
                                x->memo, &c);
  }
  if (st != STORE_OK) {
    fail_day_db_(x, w);
    return;
  }
  x->ok++;
  if (!w->skipped) {
    note_complete_(x, w);
  }
  LOG_EVENT(LOG_DEBUG, w->skipped ? "ingest_day_skipped" : "ingest_day_done",
            LF_INT("run", x->run_id), LF_STR("date", w->date), LF_INT("episodes", c.episodes_seen),
            LF_INT("episodes_created", c.episodes_created),
            LF_INT("episodes_updated", c.episodes_updated), LF_BOOL("changed", c.changed));
}

/* write_day_ as a span "ingest.day" under the run's (none when the run is
 * not traced), current on the writer thread for the day's SQL. */
static void traced_write_day_(struct exec_ *x, struct work_ *w) {
  struct otel_current_saved outer, inner;
  otel_current_push(x->trace.tracer, &x->trace.ctx, &outer);
  struct otel_span *day = otel_current_start("ingest.day", OTEL_SPAN_INTERNAL);
  if (day == NULL) {
    otel_current_pop(&outer);
    write_day_(x, w);
    return;
  }
  otel_current_push(x->trace.tracer, &day->ctx, &inner);
  int failed = x->failed;
  write_day_(x, w);
  otel_current_pop(&inner);
  otel_span_attr_str(day, "tvmaze.ingest.date", w->date);
  otel_span_attr_int(day, "tvmaze.ingest.requests", w->requests);
  otel_span_attr_int(day, "tvmaze.ingest.retries", w->retries);
  otel_span_attr_int(day, "tvmaze.ingest.skipped", w->skipped);
  if (x->failed != failed) {
    otel_span_set_status(day, OTEL_STATUS_ERROR, w->error != NULL ? w->error : "write failed");
  }
  otel_current_end(day);
  otel_current_pop(&outer);
}

static void work_free_(struct work_ *w) {
  row_batch_release(&w->batch);
  free(w->hashes);
  free(w->error);
  free(w);
}

/* The writer executor's function (its thread, or inline). */
static void writer_fn_(void *item, void *arg) {
  struct exec_ *x = arg;
  struct work_ *w = item;
  if (w->progress) {
    /* cleared before the read: a report arriving meanwhile queues again */
    atomic_store(&x->progress_queued, 0);
    if (store_ingest_run_progress(x->s, x->run_id, atomic_load(&x->progress_bytes),
                                  atomic_load(&x->progress_total),
                                  atomic_load(&x->progress_items)) != STORE_OK) {
      LOG_EVENT(LOG_WARN, "ingest_progress_unrecorded", LF_INT("run", x->run_id),
                LF_STR("error", store_last_error(x->s)));
    }
  } else if (w->preload) {
    /* the stored rows' ids for the whole run (else each day probes its own) */
    if (store_ingest_memo_preload(x->s, x->memo, x->from, x->to) != STORE_OK) {
      LOG_EVENT(LOG_WARN, "ingest_preload_unavailable", LF_STR("error", store_last_error(x->s)));
    }
  } else if (x->stop == NULL || !atomic_load(x->stop)) { /* shutting down: drop queued days */
    traced_write_day_(x, w);
  }
  work_free_(w);
}

/* At the run's end (the writer finished): removes the episodes of the
 * complete days that the run saw nowhere (store_ingest_remove_unlisted).
 * Only after a run whose every day succeeded (written or skipped as
 * identical): a failed day (PARTIAL run), a stop or a lost lock leaves
 * some day's list unknown, and an episode that moved there would be
 * REMOVED now and CREATED by the next run instead of UPDATED. A failure is
 * logged; the run keeps its days. */
static void remove_unlisted_(struct exec_ *x, int days, enum ingest_fetch_status fs) {
  if (x->n_complete == 0 || x->failed > 0 || x->ok != days || fs != INGEST_FETCH_DONE ||
      atomic_load(&x->lock_lost) || (x->stop != NULL && atomic_load(x->stop))) {
    return;
  }
  int held = 0, retaken = 0;
  if (store_ingest_keep_lock(x->s, x->run_id, &held, &retaken) != STORE_OK || !held) {
    LOG_EVENT(LOG_WARN, "ingest_removal_skipped", LF_INT("run", x->run_id),
              LF_STR("reason", "the run lock is not held"));
    return;
  }
  long long removed = 0;
  enum store_status st = store_ingest_remove_unlisted(
      x->s, x->run_id, (const char(*)[11])x->complete, x->n_complete, x->seen, x->n_seen, &removed);
  LOG_EVENT(st == STORE_OK ? LOG_DEBUG : LOG_WARN, "ingest_removal", LF_INT("run", x->run_id),
            LF_INT("days", (long long)x->n_complete), LF_INT("removed", removed),
            LF_STR("record", store_status_name(st)),
            LF_STR("error", st == STORE_OK ? NULL : store_last_error(x->s)));
}

/* ------------------------------------------------------------------ */
/* Execute: the fetch side                                            */
/* ------------------------------------------------------------------ */

/* Parses d's documents into w->batch (w->error on failure). */
static void parse_day_(struct exec_ *x, const struct ingest_fetched_day *d, struct work_ *w) {
  for (size_t i = 0; i < d->n_docs; i++) {
    char perr[300];
    size_t before = w->batch.items_seen;
    if (ingest_parse_schedule(&w->batch, x->shows, d->docs[i], d->doc_len[i], perr, sizeof perr) !=
        INGEST_PARSE_OK) {
      w->error = xasprintf("%s: %s schedule: %s", d->date, d->labels[i], perr);
      row_batch_release(&w->batch);
      return;
    }
    if (i < w->n_hashes) {
      w->hashes[i].items = (long long)(w->batch.items_seen - before);
    }
  }
}

/* A 304 to the validators of the document the stored days came from: the
 * day keeps its stored hashes, so it is skipped as unchanged; a day with
 * none (never the case: full_send_ checked) fails rather than lose rows. */
static void unchanged_day_(const struct exec_ *x, struct work_ *w) {
  w->hashes = xcalloc(x->n_stored > 0 ? x->n_stored : 1, sizeof *w->hashes);
  for (size_t i = 0; i < x->n_stored; i++) {
    if (strcmp(x->stored[i].date, w->date) == 0) {
      w->hashes[w->n_hashes++] = x->stored[i].h;
    }
  }
  w->skipped = ingest_skip_unchanged(x->stored, x->n_stored, w->date, w->hashes, w->n_hashes,
                                     &w->skip_episodes, &w->skip_shows);
  if (!w->skipped) {
    w->error =
        xasprintf("%s: full schedule: 304 Not Modified, but the day has no stored digest", w->date);
  }
}

/* Whether every day of the run was last written from a full document (a
 * stored "full" hash): only then may its validators be sent, since a 304
 * keeps the stored days as they are. */
static int full_days_stored_(const struct exec_ *x, int32_t start_day, int days) {
  for (int i = 0; i < days; i++) {
    char date[11];
    int found = 0;
    date_format(start_day + i, date);
    for (size_t k = 0; k < x->n_stored && !found; k++) {
      found = strcmp(x->stored[k].date, date) == 0 && strcmp(x->stored[k].h.source, "full") == 0;
    }
    if (!found) {
      return 0;
    }
  }
  return 1;
}

/* The full download's progress (fetch side, ingest_full_progress_fn): kept
 * in x and recorded by the writer, which owns the run's session s; at most
 * one progress item waits in the writer's queue, so the download never
 * waits for a write and a slow write only coarsens the reports. */
static void progress_cb_(long long bytes, long long bytes_total, long long items, void *user) {
  struct exec_ *x = user;
  atomic_store(&x->progress_bytes, bytes);
  atomic_store(&x->progress_total, bytes_total);
  atomic_store(&x->progress_items, items);
  if (atomic_exchange(&x->progress_queued, 1) == 0) {
    struct work_ *w = xcalloc(1, sizeof *w);
    w->progress = 1;
    row_batch_init(&w->batch);
    workq_exec_submit(x->writer, w);
  }
}

/* A day's documents arrived (or its fetch failed): hash, parse unless every
 * body is the one already stored, hand to the writer. */
static int day_cb_(const struct ingest_fetched_day *d, void *user) {
  struct exec_ *x = user;
  struct work_ *w = xcalloc(1, sizeof *w);
  memcpy(w->date, d->date, sizeof w->date);
  w->requests = d->requests;
  w->retries = d->retries;
  row_batch_init(&w->batch);
  if (d->error != NULL) {
    w->error = xasprintf("%s: %s", d->date, d->error);
  } else if (d->unchanged) {
    unchanged_day_(x, w);
  } else {
    ingest_skip_hash_day(d, &w->hashes, &w->n_hashes);
    w->skipped = ingest_skip_unchanged(x->stored, x->n_stored, w->date, w->hashes, w->n_hashes,
                                       &w->skip_episodes, &w->skip_shows);
    if (!w->skipped) {
      parse_day_(x, d, w);
    }
  }
  workq_exec_submit(x->writer, w);
  return atomic_load(&x->lock_lost); /* nonzero stops the fetch */
}

int ingest_run_execute(struct store *s, const struct ingest_fetch_config *fetch, long long run_id,
                       int32_t start_day, int days, const atomic_int *stop) {
  struct exec_ x = {.s = s,
                    .run_id = run_id,
                    .stop = stop,
                    .fetch = fetch,
                    .memo = store_ingest_memo_create(),
                    .shows = ingest_show_memo_create(SHOW_MEMO_MAX_BYTES)};
  char err[256] = "";
  otel_current_capture(&x.trace);
  LOG_EVENT(LOG_INFO, "ingest_run_started", LF_INT("run", run_id), LF_INT("days", days));
  date_format(start_day, x.from);
  date_format(start_day + (days > 0 ? days - 1 : 0), x.to);
  if (store_ingest_load_hashes(s, x.from, x.to, &x.stored, &x.n_stored) != STORE_OK) {
    /* not fatal: every day is parsed and written */
    LOG_EVENT(LOG_WARN, "ingest_hashes_unavailable", LF_STR("error", store_last_error(s)));
  }
  struct ingest_full_stats fst = {0};
  struct store_ingest_validators sent = {0}, got = {0};
  char *full_url = NULL;
  if (fetch->source == INGEST_SOURCE_FULL) { /* on s before the writer owns it */
    full_url = ingest_full_url(fetch);
    if (full_days_stored_(&x, start_day, days) &&
        store_ingest_validators_load(s, full_url, &sent) != STORE_OK) {
      sent = (struct store_ingest_validators){0}; /* not fatal: an unconditional GET */
    }
  }
  x.writer = workq_exec_start(INGEST_RUN_WRITE_QUEUE, 1, writer_fn_, &x);
  struct work_ *preload = xcalloc(1, sizeof *preload);
  preload->preload = 1;
  row_batch_init(&preload->batch);
  workq_exec_submit(x.writer, preload);
  enum ingest_fetch_status fs;
  if (full_url != NULL) {
    fs = ingest_full_days(fetch, start_day, days, stop, day_cb_, &x, &sent, &got, &fst,
                          progress_cb_, &x, err, sizeof err);
    LOG_EVENT(LOG_INFO, "ingest_full_document", LF_INT("run", run_id), LF_INT("bytes", fst.bytes),
              LF_INT("items", fst.items), LF_INT("kept", fst.kept), LF_INT("outside", fst.outside),
              LF_INT("undated", fst.undated), LF_INT("not_modified", fst.not_modified));
  } else {
    fs = ingest_fetch_days(fetch, start_day, days, stop, day_cb_, &x, err, sizeof err);
  }
  workq_exec_finish(x.writer);
  if (full_url != NULL && !fst.not_modified && !atomic_load(&x.lock_lost)) {
    /* a document arrived (or none did): its validators are kept only when
     * every day of it was written, else the stored days may not match them */
    int all = fs == INGEST_FETCH_DONE && x.ok == days && x.failed == 0;
    if (store_ingest_validators_save(s, full_url, all ? &got : NULL) != STORE_OK) {
      LOG_EVENT(LOG_WARN, "ingest_validators_unsaved", LF_STR("error", store_last_error(s)));
    }
  }
  free(full_url);
  remove_unlisted_(&x, days, fs);
  free(x.seen);
  free(x.complete);
  free(x.stored);
  store_ingest_memo_destroy(x.memo);
  struct ingest_show_memo_stats ms = ingest_show_memo_stats(x.shows);
  LOG_EVENT(LOG_DEBUG, "ingest_show_memo", LF_INT("run", run_id),
            LF_INT("shows", (long long)ms.shows), LF_INT("bytes", (long long)ms.bytes),
            LF_INT("hits", (long long)ms.hits));
  ingest_show_memo_destroy(x.shows);
  struct ingest_outcome_in in = {.days = days,
                                 .days_ok = x.ok,
                                 .days_failed = x.failed,
                                 .fetch = fs,
                                 .fetch_error = err,
                                 .lock_lost = atomic_load(&x.lock_lost)};
  struct ingest_outcome out = ingest_outcome_of(&in);
  enum store_status st;
  for (int attempt = 1;; attempt++) {
    st = store_ingest_run_finish(s, run_id, out.status, out.error);
    if (st == STORE_OK || !record_again_(s, stop, run_id, "outcome", st, attempt)) {
      break;
    }
  }
  (void)store_ingest_unlock(s);
  LOG_EVENT(out.status == STORE_RUN_SUCCEEDED ? LOG_INFO : LOG_WARN, "ingest_run_finished",
            LF_INT("run", run_id), LF_INT("status", out.status), LF_INT("days_ok", x.ok),
            LF_INT("days_failed", x.failed), LF_STR("error", out.error),
            LF_STR("record", store_status_name(st)));
#ifdef __GLIBC__
  /* the run's memos, batches and day documents were freed in the threads'
   * malloc arenas, which keep the pages: give them back, so the server's
   * RSS between runs is what it holds, not what its last run peaked at */
  malloc_trim(0);
#endif
  return out.status;
}
