/*
 * store_runs: ingest_runs / ingest_run_days bookkeeping and the run lock;
 * see store_runs.h. Statuses and the lock key travel as statement
 * parameters made from the enums and STORE_INGEST_LOCK_KEY, so the SQL
 * holds no second copy of them. Reads build protobuf in the caller's arena
 * (store_read.h helpers where the format fits).
 */
#include "store_runs.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_read.h"
#include "xalloc.h"

_Static_assert((int)STORE_RUN_RUNNING == (int)TVMAZE__V1__RUN_STATUS__RUN_STATUS_RUNNING &&
                   (int)STORE_RUN_SUCCEEDED == (int)TVMAZE__V1__RUN_STATUS__RUN_STATUS_SUCCEEDED &&
                   (int)STORE_RUN_PARTIAL == (int)TVMAZE__V1__RUN_STATUS__RUN_STATUS_PARTIAL &&
                   (int)STORE_RUN_FAILED == (int)TVMAZE__V1__RUN_STATUS__RUN_STATUS_FAILED,
               "store run statuses are tvmaze.v1.RunStatus values");
_Static_assert((int)STORE_DAY_PENDING == (int)TVMAZE__V1__DAY_STATUS__DAY_STATUS_PENDING &&
                   (int)STORE_DAY_SUCCEEDED == (int)TVMAZE__V1__DAY_STATUS__DAY_STATUS_SUCCEEDED &&
                   (int)STORE_DAY_FAILED == (int)TVMAZE__V1__DAY_STATUS__DAY_STATUS_FAILED,
               "store day statuses are tvmaze.v1.DayStatus values");

/* A number as statement parameter text. */
struct num_ {
  char s[24];
};

static struct num_ num_(long long v) {
  struct num_ n;
  snprintf(n.s, sizeof n.s, "%lld", v);
  return n;
}

/* Runs a statement whose result is discarded; *rows (if not NULL) gets the
 * rows it affected. */
static enum store_status run_(struct store *s, const char *name, const char *sql, int n,
                              const char *const *v, long long *rows) {
  enum store_status st;
  PGresult *r = store_exec(s, name, sql, n, v, &st);
  if (r != NULL && rows != NULL) {
    const char *t = PQcmdTuples(r);
    *rows = t[0] ? strtoll(t, NULL, 10) : 0;
  }
  PQclear(r);
  return st;
}

/* One boolean out of a one-row, one-column statement. */
static enum store_status bool_(struct store *s, const char *name, const char *sql, int n,
                               const char *const *v, int *out) {
  enum store_status st;
  PGresult *r = store_exec(s, name, sql, n, v, &st);
  if (r == NULL) {
    return st;
  }
  *out = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
  PQclear(r);
  return STORE_OK;
}

/* ------------------------------------------------------------------ */
/* The run lock                                                       */
/* ------------------------------------------------------------------ */

enum store_status store_ingest_try_lock(struct store *s, int *got) {
  struct num_ key = num_(STORE_INGEST_LOCK_KEY);
  const char *v[1] = {key.s};
  return bool_(s, "ingest_try_lock", "SELECT pg_try_advisory_lock($1::bigint)", 1, v, got);
}

enum store_status store_ingest_unlock(struct store *s) {
  struct num_ key = num_(STORE_INGEST_LOCK_KEY);
  const char *v[1] = {key.s};
  return run_(s, "ingest_unlock", "SELECT pg_advisory_unlock($1::bigint)", 1, v, NULL);
}

enum store_status store_ingest_keep_lock(struct store *s, long long run_id, int *held,
                                         int *retaken) {
  *held = 0;
  *retaken = 0;
  struct num_ key = num_(STORE_INGEST_LOCK_KEY);
  const char *k[1] = {key.s};
  /* A bigint advisory key shows in pg_locks as classid (high 32 bits),
   * objid (low 32 bits), objsubid 1. */
  static const char sql[] =
      "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
      " AND pid = pg_backend_pid() AND classid = ($1::bigint >> 32)::oid"
      " AND objid = ($1::bigint & 4294967295)::oid AND objsubid = 1)";
  enum store_status st = bool_(s, "ingest_lock_held", sql, 1, k, held);
  if (st == STORE_UNAVAILABLE) {
    /* A terminated session is noticed by its next statement, which fails;
     * the store has dropped it, so this one runs on a new connection. */
    st = bool_(s, "ingest_lock_held", sql, 1, k, held);
  }
  if (st != STORE_OK || *held) {
    return st;
  }
  /* The session that held it ended (store_exec reconnected). */
  int got = 0;
  st = store_ingest_try_lock(s, &got);
  if (st != STORE_OK || !got) {
    return st;
  }
  struct num_ id = num_(run_id), running_st = num_(STORE_RUN_RUNNING);
  const char *v[2] = {id.s, running_st.s};
  int running = 0;
  st = bool_(s, "ingest_run_is_running",
             "SELECT status = $2::smallint FROM ingest_runs WHERE id = $1::bigint", 2, v, &running);
  if (st != STORE_OK || !running) {
    /* another runner marked it FAILED meanwhile: it is over */
    (void)store_ingest_unlock(s);
    return st;
  }
  *held = 1;
  *retaken = 1;
  return STORE_OK;
}

/* ------------------------------------------------------------------ */
/* Run and day rows                                                   */
/* ------------------------------------------------------------------ */

/* Runs ended by this process, by status (store_ingest_runs_ended). */
static atomic_ullong ended_[STORE_RUN_FAILED + 1];

static void count_ended_(int status, long long n) {
  if (status >= STORE_RUN_SUCCEEDED && status <= STORE_RUN_FAILED && n > 0) {
    atomic_fetch_add_explicit(&ended_[status], (unsigned long long)n, memory_order_relaxed);
  }
}

unsigned long long store_ingest_runs_ended(int status) {
  if (status < STORE_RUN_SUCCEEDED || status > STORE_RUN_FAILED) {
    return 0;
  }
  return atomic_load_explicit(&ended_[status], memory_order_relaxed);
}

/* Runs an UPDATE of 3 parameters that ends runs with status, and counts the
 * runs it ended (*rows). */
static enum store_status end_runs_(struct store *s, const char *name, const char *sql,
                                   const char *const *v, int status, long long *rows) {
  enum store_status st = run_(s, name, sql, 3, v, rows);
  if (st == STORE_OK) {
    count_ended_(status, *rows);
  }
  return st;
}

enum store_status store_ingest_stale_runs(struct store *s, struct store_ingest_stale **out,
                                          size_t *n) {
  *out = NULL;
  *n = 0;
  struct num_ running = num_(STORE_RUN_RUNNING), ok = num_(STORE_DAY_SUCCEEDED),
              failed = num_(STORE_DAY_FAILED);
  const char *v[3] = {running.s, ok.s, failed.s};
  enum store_status st;
  PGresult *r = store_exec(s, "ingest_stale_runs",
                           "SELECT r.id, r.days, "
                           "count(*) FILTER (WHERE d.status = $2::smallint), "
                           "count(*) FILTER (WHERE d.status = $3::smallint) "
                           "FROM ingest_runs r LEFT JOIN ingest_run_days d ON d.run_id = r.id "
                           "WHERE r.status = $1::smallint GROUP BY r.id ORDER BY r.id",
                           3, v, &st);
  if (r == NULL) {
    return st;
  }
  size_t rows = (size_t)PQntuples(r);
  if (rows > 0) {
    *out = xcalloc(rows, sizeof **out);
  }
  for (size_t i = 0; i < rows; i++) {
    struct store_ingest_stale *x = &(*out)[i];
    x->id = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
    x->days = (int)strtol(PQgetvalue(r, (int)i, 1), NULL, 10);
    x->days_ok = (int)strtol(PQgetvalue(r, (int)i, 2), NULL, 10);
    x->days_failed = (int)strtol(PQgetvalue(r, (int)i, 3), NULL, 10);
  }
  *n = rows;
  PQclear(r);
  return STORE_OK;
}

enum store_status store_ingest_run_create(struct store *s, const char *start_date, int days,
                                          const char *owner, long long *id) {
  struct num_ d = num_(days), run_st = num_(STORE_RUN_RUNNING), day_st = num_(STORE_DAY_PENDING);
  const char *v[5] = {start_date, d.s, owner, run_st.s, day_st.s};
  enum store_status st;
  PGresult *r = store_exec(s, "ingest_run_create",
                           "WITH r AS (INSERT INTO ingest_runs (status, start_date, days, owner) "
                           "VALUES ($4::smallint, $1::date, $2::int, $3) RETURNING id), "
                           "d AS (INSERT INTO ingest_run_days (run_id, date, status) "
                           "SELECT r.id, $1::date + g, $5::smallint FROM r, "
                           "generate_series(0, $2::int - 1) g) "
                           "SELECT id FROM r",
                           5, v, &st);
  if (r == NULL) {
    return st;
  }
  *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return STORE_OK;
}

enum store_status store_ingest_run_finish(struct store *s, long long id, int status,
                                          const char *error) {
  struct num_ ids = num_(id), sts = num_(status);
  const char *v[3] = {ids.s, sts.s, error};
  long long rows = 0;
  return end_runs_(s, "ingest_run_finish",
                   "UPDATE ingest_runs SET status = $2::smallint, error = $3, finished_at = now() "
                   "WHERE id = $1::bigint",
                   v, status, &rows);
}

enum store_status store_ingest_run_progress(struct store *s, long long id, long long bytes,
                                            long long bytes_total, long long items) {
  struct num_ ids = num_(id), b = num_(bytes), t = num_(bytes_total), n = num_(items);
  const char *v[4] = {ids.s, b.s, t.s, n.s};
  return run_(s, "ingest_run_progress",
              "UPDATE ingest_runs SET bytes_downloaded = $2::bigint, bytes_total = $3::bigint, "
              "items_seen = $4::bigint WHERE id = $1::bigint",
              4, v, NULL);
}

static const char SQL_DAY_DONE_[] =
    "WITH d AS (UPDATE ingest_run_days SET status = $3::smallint, error = $4, "
    "skipped = $14::boolean "
    "WHERE run_id = $1::bigint AND date = $2::date) "
    "UPDATE ingest_runs SET days_done = days_done + 1, requests = requests + $5::bigint, "
    "retries = retries + $6::bigint, episodes_seen = episodes_seen + $7::bigint, "
    "shows_created = shows_created + $8::bigint, shows_updated = shows_updated + $9::bigint, "
    "shows_unchanged = shows_unchanged + $10::bigint, "
    "episodes_created = episodes_created + $11::bigint, "
    "episodes_updated = episodes_updated + $12::bigint, "
    "episodes_unchanged = episodes_unchanged + $13::bigint WHERE id = $1::bigint";

enum store_status store_ingest_day_done(struct store *s, long long run_id, const char *date,
                                        int status, const char *error, int skipped,
                                        const struct store_ingest_counts *c) {
  long long vals[10] = {run_id,
                        c->requests,
                        c->retries,
                        c->episodes_seen,
                        c->shows_created,
                        c->shows_updated,
                        c->shows_unchanged,
                        c->episodes_created,
                        c->episodes_updated,
                        c->episodes_unchanged};
  struct num_ nums[10];
  for (int i = 0; i < 10; i++) {
    nums[i] = num_(vals[i]);
  }
  struct num_ st = num_(status);
  const char *v[14] = {
      nums[0].s, date,      st.s,      error,     nums[1].s, nums[2].s, nums[3].s,
      nums[4].s, nums[5].s, nums[6].s, nums[7].s, nums[8].s, nums[9].s, skipped ? "t" : "f"};
  return run_(s, "ingest_day_done", SQL_DAY_DONE_, 14, v, NULL);
}

enum store_status store_ingest_skip_day(struct store *s, long long run_id, const char *date,
                                        const struct store_ingest_counts *counts) {
  return store_ingest_day_done(s, run_id, date, STORE_DAY_SUCCEEDED, NULL, 1, counts);
}

enum store_status store_ingest_fail_day(struct store *s, long long run_id, const char *date,
                                        const char *error, long long requests, long long retries) {
  struct store_ingest_counts c = {.requests = requests, .retries = retries};
  return store_ingest_day_done(s, run_id, date, STORE_DAY_FAILED, error, 0, &c);
}

/* ------------------------------------------------------------------ */
/* Reads                                                              */
/* ------------------------------------------------------------------ */

enum store_status store_ingest_run_running(struct store *s, long long *id) {
  struct num_ running = num_(STORE_RUN_RUNNING);
  const char *v[1] = {running.s};
  enum store_status st;
  PGresult *r = store_exec(s, "ingest_run_running",
                           "SELECT id FROM ingest_runs WHERE status = $1::smallint "
                           "ORDER BY id DESC LIMIT 1",
                           1, v, &st);
  if (r == NULL) {
    return st;
  }
  st = PQntuples(r) == 0 ? STORE_NOT_FOUND : STORE_OK;
  if (st == STORE_OK) {
    *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  }
  PQclear(r);
  return st;
}

enum store_status store_ingest_run_started_since(struct store *s, long long since, int *exists) {
  struct num_ t = num_(since);
  const char *v[1] = {t.s};
  return bool_(s, "ingest_run_since",
               "SELECT EXISTS (SELECT 1 FROM ingest_runs WHERE started_at >= "
               "to_timestamp($1::bigint))",
               1, v, exists);
}

#define RUN_COLS_                                                                       \
  "id, status, start_date::text, days, days_done, requests, retries, episodes_seen, "   \
  "shows_created, shows_updated, shows_unchanged, episodes_created, episodes_updated, " \
  "episodes_unchanged, error, extract(epoch FROM started_at)::float8, "                 \
  "coalesce(extract(epoch FROM finished_at)::float8, -1), episodes_removed, "           \
  "bytes_downloaded, bytes_total, items_seen"

/* A Timestamp of epoch seconds (fractions kept as nanos). */
static Google__Protobuf__Timestamp *ts_(struct arena *a, double epoch) {
  Google__Protobuf__Timestamp *t = arena_alloc(a, sizeof *t);
  google__protobuf__timestamp__init(t);
  t->seconds = (int64_t)floor(epoch);
  t->nanos = (int32_t)((epoch - floor(epoch)) * 1e9);
  return t;
}

/* Row `row` of a RUN_COLS_ result as a new IngestRun in a. */
static Tvmaze__V1__IngestRun *run_from_row_(struct arena *a, const PGresult *r, int row) {
  Tvmaze__V1__IngestRun *m = arena_alloc(a, sizeof *m);
  tvmaze__v1__ingest_run__init(m);
  m->id = store_read_int(r, row, 0);
  m->status = (Tvmaze__V1__RunStatus)store_read_int(r, row, 1);
  m->start_date = store_read_str(a, r, row, 2);
  m->days = (int32_t)store_read_int(r, row, 3);
  m->days_done = (int32_t)store_read_int(r, row, 4);
  int64_t *counts[] = {&m->requests,         &m->retries,          &m->episodes_seen,
                       &m->shows_created,    &m->shows_updated,    &m->shows_unchanged,
                       &m->episodes_created, &m->episodes_updated, &m->episodes_unchanged};
  for (int i = 0; i < 9; i++) {
    *counts[i] = store_read_int(r, row, 5 + i);
  }
  m->error = store_read_str(a, r, row, 14);
  m->started_at = ts_(a, strtod(PQgetvalue(r, row, 15), NULL));
  double finished = strtod(PQgetvalue(r, row, 16), NULL);
  if (finished >= 0) {
    m->finished_at = ts_(a, finished);
  }
  m->episodes_removed = store_read_int(r, row, 17);
  m->bytes_downloaded = store_read_int(r, row, 18);
  m->bytes_total = store_read_int(r, row, 19);
  m->items_seen = store_read_int(r, row, 20);
  return m;
}

enum store_status store_ingest_run_get(struct store *s, struct arena *a, long long id,
                                       Tvmaze__V1__IngestRun **out) {
  *out = NULL;
  struct num_ ids = num_(id);
  const char *v[1] = {ids.s};
  enum store_status st;
  PGresult *days = NULL;
  PGresult *r =
      store_exec(s, "ingest_run_get", "SELECT " RUN_COLS_ " FROM ingest_runs WHERE id = $1::bigint",
                 1, v, &st);
  if (r != NULL && PQntuples(r) == 0) {
    st = STORE_NOT_FOUND;
  }
  if (st == STORE_OK) {
    days = store_exec(s, "ingest_run_days",
                      "SELECT date::text, status, error, skipped FROM ingest_run_days "
                      "WHERE run_id = $1::bigint ORDER BY date",
                      1, v, &st);
  }
  if (st == STORE_OK) {
    Tvmaze__V1__IngestRun *m = run_from_row_(a, r, 0);
    int n = PQntuples(days);
    m->n_day_results = (size_t)n;
    m->day_results = n > 0 ? arena_alloc(a, (size_t)n * sizeof *m->day_results) : NULL;
    for (int i = 0; i < n; i++) {
      Tvmaze__V1__DayResult *d = arena_alloc(a, sizeof *d);
      tvmaze__v1__day_result__init(d);
      d->date = store_read_str(a, days, i, 0);
      d->status = (Tvmaze__V1__DayStatus)store_read_int(days, i, 1);
      d->error = store_read_str(a, days, i, 2);
      d->skipped = PQgetvalue(days, i, 3)[0] == 't';
      m->day_results[i] = d;
    }
    *out = m;
  }
  PQclear(days);
  PQclear(r);
  return st;
}

enum store_status store_ingest_run_list(struct store *s, struct arena *a, int32_t page,
                                        int32_t per_page,
                                        Tvmaze__V1__ListIngestRunsResponse **out) {
  *out = NULL;
  struct num_ off = num_((long long)(page - 1) * per_page), lim = num_(per_page);
  const char *v[2] = {off.s, lim.s};
  enum store_status st;
  PGresult *total = NULL;
  PGresult *r = store_exec(s, "ingest_run_list",
                           "SELECT " RUN_COLS_
                           " FROM ingest_runs "
                           "ORDER BY id DESC OFFSET $1::bigint LIMIT $2::int",
                           2, v, &st);
  if (st == STORE_OK) {
    total = store_exec(s, "ingest_run_count", "SELECT count(*) FROM ingest_runs", 0, NULL, &st);
  }
  if (st == STORE_OK) {
    Tvmaze__V1__ListIngestRunsResponse *m = arena_alloc(a, sizeof *m);
    tvmaze__v1__list_ingest_runs_response__init(m);
    int n = PQntuples(r);
    m->n_runs = (size_t)n;
    m->runs = n > 0 ? arena_alloc(a, (size_t)n * sizeof *m->runs) : NULL;
    for (int i = 0; i < n; i++) {
      m->runs[i] = run_from_row_(a, r, i);
    }
    int64_t all = store_read_int(total, 0, 0);
    Tvmaze__V1__Pagination *p = arena_alloc(a, sizeof *p);
    tvmaze__v1__pagination__init(p);
    p->page = page;
    p->per_page = per_page;
    p->total = (int32_t)all;
    p->total_pages = (int32_t)((all + per_page - 1) / per_page);
    m->pagination = p;
    *out = m;
  }
  PQclear(total);
  PQclear(r);
  return st;
}

enum store_status store_ingest_run_counts(struct store *s, struct arena *a,
                                          Tvmaze__V1__CountIngestRunsResponse **out) {
  *out = NULL;
  enum store_status st;
  PGresult *r =
      store_exec(s, "ingest_run_counts", "SELECT status, count(*) FROM ingest_runs GROUP BY status",
                 0, NULL, &st);
  if (r == NULL) {
    return st;
  }
  long long c[STORE_RUN_FAILED + 1] = {0};
  for (int i = 0; i < PQntuples(r); i++) {
    int64_t status = store_read_int(r, i, 0);
    if (status >= STORE_RUN_RUNNING && status <= STORE_RUN_FAILED) {
      c[status] = store_read_int(r, i, 1);
    }
  }
  PQclear(r);
  Tvmaze__V1__CountIngestRunsResponse *m = arena_alloc(a, sizeof *m);
  tvmaze__v1__count_ingest_runs_response__init(m);
  size_t n = 0;
  for (int k = STORE_RUN_RUNNING; k <= STORE_RUN_FAILED; k++) {
    n += c[k] > 0;
  }
  m->counts = n > 0 ? arena_alloc(a, n * sizeof *m->counts) : NULL;
  for (int k = STORE_RUN_RUNNING; k <= STORE_RUN_FAILED; k++) {
    if (c[k] > 0) {
      Tvmaze__V1__IngestRunCount *e = arena_alloc(a, sizeof *e);
      tvmaze__v1__ingest_run_count__init(e);
      e->status = (Tvmaze__V1__RunStatus)k;
      e->runs = c[k];
      m->counts[m->n_counts++] = e;
    }
  }
  *out = m;
  return STORE_OK;
}

enum store_status store_ingest_last_success(struct store *s, double *epoch) {
  struct num_ ok = num_(STORE_RUN_SUCCEEDED);
  const char *v[1] = {ok.s};
  enum store_status st;
  PGresult *r = store_exec(s, "ingest_last_success",
                           "SELECT COALESCE(EXTRACT(EPOCH FROM max(finished_at)), 0)::float8 "
                           "FROM ingest_runs WHERE status = $1::smallint",
                           1, v, &st);
  if (r == NULL) {
    return st;
  }
  *epoch = strtod(PQgetvalue(r, 0, 0), NULL);
  PQclear(r);
  return STORE_OK;
}
