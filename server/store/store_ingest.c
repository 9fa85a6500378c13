/*
 * store_ingest: see store_ingest.h. Arrays travel as PostgreSQL array text
 * literals ({"a",NULL,"b"}) in ordinary text parameters.
 */
#include "store_ingest.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "hash.h"
#include "strbuf.h"
#include "u64map.h"
#include "xalloc.h"

/* ------------------------------------------------------------------ */
/* Array parameters                                                   */
/* ------------------------------------------------------------------ */

struct arr_ {
  struct strbuf b;
  int n;
};

static void arr_init_(struct arr_ *a) {
  strbuf_init(&a->b);
  strbuf_append_char(&a->b, '{');
  a->n = 0;
}

static void arrs_init_(struct arr_ *a, size_t n) {
  for (size_t i = 0; i < n; i++) {
    arr_init_(&a[i]);
  }
}

static void arr_add_(struct arr_ *a, const char *v) {
  if (a->n++ > 0) {
    strbuf_append_char(&a->b, ',');
  }
  if (v == NULL) {
    strbuf_append(&a->b, "NULL");
    return;
  }
  strbuf_append_char(&a->b, '"');
  const char *p = v;
  for (;;) {
    size_t span = strcspn(p, "\"\\");
    strbuf_append_n(&a->b, p, span);
    p += span;
    if (*p == '\0') {
      break;
    }
    char esc[2] = {'\\', *p++};
    strbuf_append_n(&a->b, esc, 2);
  }
  strbuf_append_char(&a->b, '"');
}

static void arr_add_int_(struct arr_ *a, long long v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%lld", v);
  arr_add_(a, buf);
}

static const char *arr_end_(struct arr_ *a) {
  strbuf_append_char(&a->b, '}');
  return a->b.data;
}

static void arr_release_(struct arr_ *a, size_t n) {
  for (size_t i = 0; i < n; i++) {
    strbuf_release(&a[i].b);
  }
}

/* Runs a statement; *rows (if not NULL) += affected rows. The result, or
 * NULL with *st set. */
static PGresult *exec_(struct store *s, const char *name, const char *sql, int n,
                       const char *const *v, long long *rows, enum store_status *st) {
  PGresult *r = store_exec(s, name, sql, n, v, st);
  if (r != NULL && rows != NULL) {
    const char *t = PQcmdTuples(r);
    *rows += t[0] ? strtoll(t, NULL, 10) : 0;
  }
  return r;
}

/* Runs a statement whose result is discarded; *rows += affected rows. */
static enum store_status run_(struct store *s, const char *name, const char *sql, int n,
                              const char *const *v, long long *rows) {
  enum store_status st;
  PQclear(exec_(s, name, sql, n, v, rows, &st));
  return st;
}

/* ------------------------------------------------------------------ */
/* Day write                                                          */
/* ------------------------------------------------------------------ */

static const char SQL_COUNTRIES_[] =
    "INSERT INTO countries (code, name, timezone) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) "
    "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, timezone = EXCLUDED.timezone "
    "WHERE (countries.name, countries.timezone) IS DISTINCT FROM (EXCLUDED.name, "
    "EXCLUDED.timezone)";

static const char SQL_DIST_UPDATE_[] =
    "UPDATE distributors d SET name = u.name, country_code = u.cc, official_site = u.site "
    "FROM unnest($1::smallint[], $2::int[], $3::text[], $4::text[], $5::text[]) "
    "AS u(kind, tid, name, cc, site) "
    "WHERE d.kind = u.kind AND d.tvmaze_id = u.tid AND (d.name, d.country_code, "
    "d.official_site) IS DISTINCT FROM (u.name, u.cc, u.site)";

static const char SQL_DIST_INSERT_[] =
    "INSERT INTO distributors (kind, tvmaze_id, name, country_code, official_site) "
    "SELECT u.kind, u.tid, u.name, u.cc, u.site "
    "FROM unnest($1::smallint[], $2::int[], $3::text[], $4::text[], $5::text[]) "
    "AS u(kind, tid, name, cc, site) "
    "WHERE NOT EXISTS (SELECT 1 FROM distributors d WHERE d.kind = u.kind AND "
    "d.tvmaze_id = u.tid) ON CONFLICT (kind, tvmaze_id) DO NOTHING "
    "RETURNING id, kind, tvmaze_id";

static const char SQL_GENRES_[] =
    "INSERT INTO genres (name) SELECT DISTINCT g FROM unnest($1::text[]) AS g "
    "WHERE NOT EXISTS (SELECT 1 FROM genres x WHERE x.name = g) ON CONFLICT (name) DO NOTHING "
    "RETURNING id, name";

/* The upserts answer one row: rows created (xmax = 0: a fresh tuple) and
 * rows updated; rows the WHERE guard left alone are not returned. */
#define UPSERT_COUNTS_ \
  "SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM w"

static const char SQL_SHOWS_[] =
    "WITH w AS (INSERT INTO shows (id, name, type, language, status, runtime, premiered, ended, "
    "official_site, rating, weight, summary, image_url, distributor_id, tvmaze_updated) "
    "SELECT u.id, u.name, u.type, u.language, u.status, u.runtime, u.premiered, u.ended, "
    "u.site, u.rating, u.weight, u.summary, u.image, d.id, to_timestamp(u.upd) "
    "FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], "
    "$7::date[], $8::date[], $9::text[], $10::numeric[], $11::int[], $12::text[], "
    "$13::text[], $14::smallint[], $15::int[], $16::bigint[]) AS u(id, name, type, "
    "language, status, runtime, premiered, ended, site, rating, weight, summary, image, "
    "dkind, did, upd) "
    "LEFT JOIN distributors d ON d.kind = u.dkind AND d.tvmaze_id = u.did "
    "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, type = EXCLUDED.type, "
    "language = EXCLUDED.language, status = EXCLUDED.status, runtime = EXCLUDED.runtime, "
    "premiered = EXCLUDED.premiered, ended = EXCLUDED.ended, "
    "official_site = EXCLUDED.official_site, rating = EXCLUDED.rating, "
    "weight = EXCLUDED.weight, summary = EXCLUDED.summary, image_url = EXCLUDED.image_url, "
    "distributor_id = EXCLUDED.distributor_id, tvmaze_updated = EXCLUDED.tvmaze_updated, "
    "updated_at = now() "
    "WHERE (shows.name, shows.type, shows.language, shows.status, shows.runtime, "
    "shows.premiered, shows.ended, shows.official_site, shows.rating, shows.weight, "
    "shows.summary, shows.image_url, shows.distributor_id, shows.tvmaze_updated) "
    "IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.type, EXCLUDED.language, EXCLUDED.status, "
    "EXCLUDED.runtime, EXCLUDED.premiered, EXCLUDED.ended, EXCLUDED.official_site, "
    "EXCLUDED.rating, EXCLUDED.weight, EXCLUDED.summary, EXCLUDED.image_url, "
    "EXCLUDED.distributor_id, EXCLUDED.tvmaze_updated) "
    "RETURNING (xmax = 0) AS created) " UPSERT_COUNTS_;

/* show_genres: the stored pairs of the day's shows against the listed ones,
 * as set differences (hashed or sorted, whatever the plan estimates): the
 * correlated NOT EXISTS forms these replace ran as nested loops under the
 * generic plan (unnest estimated at 10 rows) and cost 90 ms per day. */
static const char SQL_SG_DELETE_[] =
    "DELETE FROM show_genres sg USING ("
    "SELECT x.show_id, x.genre_id FROM show_genres x WHERE x.show_id = ANY ($1::int[]) "
    "EXCEPT SELECT p.s, ge.id FROM unnest($2::int[], $3::text[]) AS p(s, g) "
    "JOIN genres ge ON ge.name = p.g) AS gone "
    "WHERE sg.show_id = gone.show_id AND sg.genre_id = gone.genre_id";

static const char SQL_SG_INSERT_[] =
    "INSERT INTO show_genres (show_id, genre_id) "
    "SELECT p.s, ge.id FROM unnest($2::int[], $3::text[]) AS p(s, g) "
    "JOIN genres ge ON ge.name = p.g "
    "EXCEPT SELECT x.show_id, x.genre_id FROM show_genres x WHERE x.show_id = ANY ($1::int[]) "
    "ON CONFLICT DO NOTHING";

/* country_code: the show's distributor country, the value the row trigger
 * of migration 004 would look up per row, joined here for the whole day
 * (migration 007: the INSERT trigger only fills a NULL; 009: not even that
 * while tvmaze.episode_country_supplied is on, as in the day's transaction). */
static const char SQL_EPISODES_[] =
    "WITH w AS (INSERT INTO episodes (id, show_id, name, season, number, type, airdate, airtime, "
    "airstamp, runtime, rating, summary, image_url, country_code) "
    "SELECT u.*, d.country_code "
    "FROM unnest($1::int[], $2::int[], $3::text[], $4::int[], $5::int[], "
    "$6::text[], $7::date[], $8::text[], $9::timestamptz[], $10::int[], $11::numeric[], "
    "$12::text[], $13::text[]) AS u(id, show_id, name, season, number, type, airdate, "
    "airtime, airstamp, runtime, rating, summary, image_url) "
    "LEFT JOIN shows s ON s.id = u.show_id LEFT JOIN distributors d ON d.id = s.distributor_id "
    "ON CONFLICT (id) DO UPDATE SET show_id = EXCLUDED.show_id, name = EXCLUDED.name, "
    "season = EXCLUDED.season, number = EXCLUDED.number, type = EXCLUDED.type, "
    "airdate = EXCLUDED.airdate, airtime = EXCLUDED.airtime, airstamp = EXCLUDED.airstamp, "
    "runtime = EXCLUDED.runtime, rating = EXCLUDED.rating, summary = EXCLUDED.summary, "
    "image_url = EXCLUDED.image_url, updated_at = now() "
    "WHERE (episodes.show_id, episodes.name, episodes.season, episodes.number, "
    "episodes.type, episodes.airdate, episodes.airtime, episodes.airstamp, "
    "episodes.runtime, episodes.rating, episodes.summary, episodes.image_url) "
    "IS DISTINCT FROM (EXCLUDED.show_id, EXCLUDED.name, EXCLUDED.season, EXCLUDED.number, "
    "EXCLUDED.type, EXCLUDED.airdate, EXCLUDED.airtime, EXCLUDED.airstamp, "
    "EXCLUDED.runtime, EXCLUDED.rating, EXCLUDED.summary, EXCLUDED.image_url) "
    "RETURNING (xmax = 0) AS created) " UPSERT_COUNTS_;

const char store_generation_bump_sql[] =
    "WITH g AS (UPDATE data_generation SET generation = greatest(generation + 1, "
    "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint) RETURNING generation) "
    "SELECT pg_notify('tvmaze_generation', generation::text) FROM g";

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

/* Runs an upsert (UPSERT_COUNTS_); adds the rows it created and updated. */
static enum store_status upsert_(struct store *s, const char *name, const char *sql, int n,
                                 const char *const *v, long long *created, long long *updated) {
  enum store_status st;
  PGresult *r = store_exec(s, name, sql, n, v, &st);
  if (r == NULL) {
    return st;
  }
  if (PQntuples(r) == 1 && PQnfields(r) == 2) {
    *created += strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    *updated += strtoll(PQgetvalue(r, 0, 1), NULL, 10);
  }
  PQclear(r);
  return STORE_OK;
}

static enum store_status day_done_(struct store *s, long long run_id, const char *date, int status,
                                   const char *error, int skipped,
                                   const struct store_ingest_counts *c) {
  char nums[10][24];
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
  for (int i = 0; i < 10; i++) {
    snprintf(nums[i], sizeof nums[i], "%lld", vals[i]);
  }
  char st[4];
  snprintf(st, sizeof st, "%d", status);
  const char *v[14] = {nums[0], date,    st,      error,   nums[1], nums[2], nums[3],
                       nums[4], nums[5], nums[6], nums[7], nums[8], nums[9], skipped ? "t" : "f"};
  return run_(s, "ingest_day_done", SQL_DAY_DONE_, 14, v, NULL);
}

/* ------------------------------------------------------------------ */
/* Run memo                                                           */
/* ------------------------------------------------------------------ */

/* genres rows by name (a few dozen: searched in order). */
struct genre_ids_ {
  char **names;
  long long *ids;
  size_t n, cap;
};

static void genre_ids_add_(struct genre_ids_ *g, const char *name, long long id) {
  if (g->n == g->cap) {
    g->cap = g->cap ? 2 * g->cap : 32;
    g->names = xrealloc(g->names, g->cap * sizeof *g->names);
    g->ids = xrealloc(g->ids, g->cap * sizeof *g->ids);
  }
  g->names[g->n] = xstrdup(name);
  g->ids[g->n++] = id;
}

/* genres.id of name, 0 if not listed. */
static long long genre_ids_find_(const struct genre_ids_ *g, const char *name) {
  for (size_t i = 0; i < g->n; i++) {
    if (strcmp(g->names[i], name) == 0) {
      return g->ids[i];
    }
  }
  return 0;
}

static void genre_ids_release_(struct genre_ids_ *g) {
  for (size_t i = 0; i < g->n; i++) {
    free(g->names[i]);
  }
  free(g->names);
  free(g->ids);
  *g = (struct genre_ids_){0};
}

/* The memo's table (common/u64map): keys carry their kind in the top byte
 * (MEMO_*, and the ids below), so no key is 0; a forgotten entry keeps its
 * key with value 0 (row hashes are never 0). */
struct store_ingest_memo {
  struct u64map t; /* key -> row hash (or id, below); 0: unknown */
  /* store_ingest_memo_preload ran: the table also holds every stored
   * show id, the episode ids of the run's window and every distributor's
   * row id (keys STORED_SHOW_, STORED_EP_, DIST_ROW_ below), genres every
   * genre's; a day then needs no probe */
  int preloaded;
  struct genre_ids_ genres;
};

#define MEMO_SHOW_ ((uint64_t)1 << 56)
#define MEMO_DIST_ ((uint64_t)2 << 56)
#define MEMO_COUNTRY_ ((uint64_t)3 << 56)

struct store_ingest_memo *store_ingest_memo_create(void) {
  return xcalloc(1, sizeof(struct store_ingest_memo));
}

void store_ingest_memo_destroy(struct store_ingest_memo *m) {
  if (m == NULL) {
    return;
  }
  u64map_release(&m->t);
  genre_ids_release_(&m->genres);
  free(m);
}

/* Row hashes (change detection, common/hash.h's fold) over an unambiguous
 * encoding of the fields: NULL is word 0, a string is word 1 then its bytes
 * and length (strings hold no NUL: jansson rejects \u0000), a number its
 * value. */
static uint64_t h_str_(uint64_t h, const char *v) {
  if (v == NULL) {
    return hash_fold64_word(h, 0);
  }
  return hash_fold64(hash_fold64_word(h, 1), v, strlen(v));
}

static uint64_t h_int_(uint64_t h, long long v) {
  return hash_fold64_word(h, (uint64_t)v);
}

static uint64_t h_final_(uint64_t h) {
  return h != 0 ? h : 1; /* 0 means "unknown" in the memo */
}

/* Key of a country code: only two-byte codes (all the parser yields; the
 * table's CHECK refuses others) are memoized, else 0. */
static uint64_t country_key_(const char *code) {
  if (code == NULL || code[0] == '\0' || code[1] == '\0' || code[2] != '\0') {
    return 0;
  }
  return MEMO_COUNTRY_ | (uint64_t)(unsigned char)code[0] << 8 | (unsigned char)code[1];
}

static uint64_t dist_key_(const struct row_distributor *d) {
  return MEMO_DIST_ | (uint64_t)(d->kind & 0xff) << 32 | (uint32_t)d->tvmaze_id;
}

/* The row hashes of one day and which rows its statements carry. */
struct day_rows_ {
  uint64_t *country_h, *dist_h, *show_h;
  unsigned char *country_keep, *dist_keep, *show_keep; /* 1: write this row */
};

static void day_rows_init_(struct day_rows_ *r, const struct row_batch *b,
                           const struct store_ingest_memo *memo) {
  r->country_h = xcalloc(b->n_countries + 1, sizeof *r->country_h);
  r->dist_h = xcalloc(b->n_distributors + 1, sizeof *r->dist_h);
  r->show_h = xcalloc(b->n_shows + 1, sizeof *r->show_h);
  r->country_keep = xcalloc(b->n_countries + 1, 1);
  r->dist_keep = xcalloc(b->n_distributors + 1, 1);
  r->show_keep = xcalloc(b->n_shows + 1, 1);
  for (size_t i = 0; i < b->n_countries; i++) {
    const struct row_country *c = &b->countries[i];
    uint64_t h = h_str_(h_str_(h_str_(0, c->code), c->name), c->timezone);
    uint64_t key = country_key_(c->code);
    r->country_h[i] = h_final_(h);
    r->country_keep[i] = memo == NULL || key == 0 || u64map_get(&memo->t, key) != r->country_h[i];
  }
  for (size_t i = 0; i < b->n_distributors; i++) {
    const struct row_distributor *d = &b->distributors[i];
    uint64_t h = h_int_(h_int_(0, d->kind), d->tvmaze_id);
    h = h_str_(h_str_(h_str_(h, d->name), d->country_code), d->official_site);
    r->dist_h[i] = h_final_(h);
    r->dist_keep[i] = memo == NULL || u64map_get(&memo->t, dist_key_(d)) != r->dist_h[i];
  }
  for (size_t i = 0; i < b->n_shows; i++) {
    const struct row_show *sh = &b->shows[i];
    const char *f[] = {sh->name,      sh->type,      sh->language,      sh->status, sh->runtime,
                       sh->premiered, sh->ended,     sh->official_site, sh->rating, sh->weight,
                       sh->summary,   sh->image_url, sh->tvmaze_updated};
    uint64_t h = h_int_(0, sh->id);
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
      h = h_str_(h, f[k]);
    }
    h = h_int_(h_int_(h, sh->dist_kind), sh->dist_id);
    h = h_int_(h, (long long)sh->n_genres);
    for (size_t g = 0; g < sh->n_genres; g++) {
      h = h_str_(h, sh->genres[g]);
    }
    r->show_h[i] = h_final_(h);
    r->show_keep[i] =
        memo == NULL || u64map_get(&memo->t, MEMO_SHOW_ | (uint32_t)sh->id) != r->show_h[i];
  }
}

static void day_rows_release_(struct day_rows_ *r) {
  free(r->country_h);
  free(r->dist_h);
  free(r->show_h);
  free(r->country_keep);
  free(r->dist_keep);
  free(r->show_keep);
}

/* After the day committed: its rows are what the database holds. On
 * failure (forget): the rows of the day are unknown again, also when the
 * outcome of COMMIT itself is unknown. */
static void memo_update_(struct store_ingest_memo *m, const struct row_batch *b,
                         const struct day_rows_ *r, int committed) {
  if (m == NULL) {
    return;
  }
  for (size_t i = 0; i < b->n_countries; i++) {
    uint64_t key = country_key_(b->countries[i].code);
    if (key != 0) {
      u64map_put(&m->t, key, committed ? r->country_h[i] : 0);
    }
  }
  for (size_t i = 0; i < b->n_distributors; i++) {
    u64map_put(&m->t, dist_key_(&b->distributors[i]), committed ? r->dist_h[i] : 0);
  }
  for (size_t i = 0; i < b->n_shows; i++) {
    u64map_put(&m->t, MEMO_SHOW_ | (uint32_t)b->shows[i].id, committed ? r->show_h[i] : 0);
  }
}

/* ------------------------------------------------------------------ */
/* Day rows                                                           */
/* ------------------------------------------------------------------ */

/* The day's lookups (common/u64map; keys tagged in their top byte as the
 * memo's are; values never 0):
 *   IX_SHOW_ | id             index + 1 of the show in the batch
 *   IX_DIST_ | kind, tvmaze_id index + 1 of the distributor in the batch
 *   STORED_SHOW_ | id         1: the shows table has the row
 *   STORED_EP_ | id           1: the episodes table has the row
 *   DIST_ROW_ | kind, id      distributors.id of the row
 * The last three also live in a preloaded run memo (for the whole run);
 * without one, the day's probe finds them. */
#define IX_SHOW_ ((uint64_t)4 << 56)
#define IX_DIST_ ((uint64_t)5 << 56)
#define STORED_SHOW_ ((uint64_t)6 << 56)
#define STORED_EP_ ((uint64_t)7 << 56)
#define DIST_ROW_ ((uint64_t)8 << 56)

static uint64_t dist_ix_(uint64_t tag, int kind, int tvmaze_id) {
  return tag | (uint64_t)(kind & 0xff) << 32 | (uint32_t)tvmaze_id;
}

/* What the day's writer knows beyond the batch. */
struct day_ix_ {
  struct u64map t;                     /* this day's lookups (above) */
  const struct store_ingest_memo *run; /* a preloaded run memo, else NULL */
  struct genre_ids_ genres;            /* genres rows found this day */
};

/* Indexes b's shows and distributors (IX_SHOW_, IX_DIST_). */
static void day_ix_init_(struct day_ix_ *x, const struct row_batch *b,
                         const struct store_ingest_memo *memo) {
  *x = (struct day_ix_){.run = memo != NULL && memo->preloaded ? memo : NULL};
  for (size_t i = 0; i < b->n_shows; i++) {
    u64map_put(&x->t, IX_SHOW_ | (uint32_t)b->shows[i].id, i + 1);
  }
  for (size_t i = 0; i < b->n_distributors; i++) {
    const struct row_distributor *d = &b->distributors[i];
    u64map_put(&x->t, dist_ix_(IX_DIST_, d->kind, d->tvmaze_id), i + 1);
  }
}

static void day_ix_release_(struct day_ix_ *x) {
  u64map_release(&x->t);
  genre_ids_release_(&x->genres);
}

/* The day's value of key, else the run memo's. */
static uint64_t ix_get_(const struct day_ix_ *x, uint64_t key) {
  uint64_t v = u64map_get(&x->t, key);
  return v == 0 && x->run != NULL ? u64map_get(&x->run->t, key) : v;
}

/* genres.id of name, 0 if unknown. */
static long long genre_id_(const struct day_ix_ *x, const char *name) {
  long long id = genre_ids_find_(&x->genres, name);
  return id == 0 && x->run != NULL ? genre_ids_find_(&x->run->genres, name) : id;
}

/* Rows (tag, id, kind, tvmaze_id, name) of the probe and the preload:
 * 1 a stored show, 2 a stored episode, 3 a distributor's row id, 4 a
 * genre's. */
static void ix_rows_(struct u64map *t, struct genre_ids_ *g, const PGresult *res) {
  int n = res != NULL ? PQntuples(res) : 0;
  for (int i = 0; i < n; i++) {
    long long tag = strtoll(PQgetvalue(res, i, 0), NULL, 10);
    long long id = strtoll(PQgetvalue(res, i, 1), NULL, 10);
    if (tag == 1) {
      u64map_put(t, STORED_SHOW_ | (uint32_t)id, 1);
    } else if (tag == 2) {
      u64map_put(t, STORED_EP_ | (uint32_t)id, 1);
    } else if (tag == 3 && id > 0) {
      int kind = (int)strtol(PQgetvalue(res, i, 2), NULL, 10);
      int tid = (int)strtol(PQgetvalue(res, i, 3), NULL, 10);
      u64map_put(t, dist_ix_(DIST_ROW_, kind, tid), (uint64_t)id);
    } else if (tag == 4 && id > 0) {
      genre_ids_add_(g, PQgetvalue(res, i, 4), id);
    }
  }
}

/* Without a preloaded run memo: which of the day's kept shows and of its
 * episodes the tables already hold, and the row ids of its distributors
 * and genres; one statement, after the distributors and genres were
 * written. */
static const char SQL_PROBE_[] =
    "SELECT 1, id, 0, 0, NULL FROM shows WHERE id = ANY ($1::int[]) "
    "UNION ALL SELECT 2, id, 0, 0, NULL FROM episodes WHERE id = ANY ($2::int[]) "
    "UNION ALL SELECT 3, d.id, d.kind, d.tvmaze_id, NULL FROM distributors d "
    "JOIN unnest($3::smallint[], $4::int[]) AS u(kind, tid) "
    "ON d.kind = u.kind AND d.tvmaze_id = u.tid "
    "UNION ALL SELECT 4, id, 0, 0, name FROM genres WHERE name = ANY ($5::text[])";

static enum store_status probe_(struct store *s, const struct row_batch *b,
                                const struct day_rows_ *r, struct day_ix_ *x) {
  if (x->run != NULL) {
    return STORE_OK; /* the run memo knows */
  }
  struct arr_ a[5];
  arrs_init_(a, 5);
  for (size_t i = 0; i < b->n_shows; i++) {
    if (r->show_keep[i]) {
      arr_add_int_(&a[0], b->shows[i].id);
      for (size_t g = 0; g < b->shows[i].n_genres; g++) {
        arr_add_(&a[4], b->shows[i].genres[g]);
      }
    }
  }
  for (size_t i = 0; i < b->n_episodes; i++) {
    arr_add_int_(&a[1], b->episodes[i].id);
  }
  for (size_t i = 0; i < b->n_distributors; i++) {
    arr_add_int_(&a[2], b->distributors[i].kind);
    arr_add_int_(&a[3], b->distributors[i].tvmaze_id);
  }
  enum store_status st = STORE_OK;
  if (a[0].n + a[1].n > 0) {
    const char *v[5];
    for (size_t i = 0; i < 5; i++) {
      v[i] = arr_end_(&a[i]);
    }
    PGresult *res = store_exec(s, "ingest_probe", SQL_PROBE_, 5, v, &st);
    ix_rows_(&x->t, &x->genres, res);
    PQclear(res);
  }
  arr_release_(a, 5);
  return st;
}

/* Every stored show id, the ids of the episodes that air within a month
 * of the run's window (where the day's schedule finds them: an episode
 * stored with an airdate further off is taken for new, and its day's COPY
 * fails on the key and is written again with upserts) and every
 * distributor's and genre's row id. Unnamed: planned for the tables as
 * they are. */
static const char SQL_PRELOAD_[] =
    "SELECT 1, id, 0, 0, NULL FROM shows "
    "UNION ALL SELECT 2, id, 0, 0, NULL FROM episodes "
    "WHERE airdate BETWEEN $1::date - 31 AND $2::date + 31 "
    "UNION ALL SELECT 3, id, kind, tvmaze_id, NULL FROM distributors "
    "UNION ALL SELECT 4, id, 0, 0, name FROM genres";

enum store_status store_ingest_memo_preload(struct store *s, struct store_ingest_memo *m,
                                            const char *from, const char *to) {
  const char *v[2] = {from, to};
  enum store_status st;
  PGresult *res = store_exec(s, NULL, SQL_PRELOAD_, 2, v, &st);
  if (res == NULL) {
    return st;
  }
  ix_rows_(&m->t, &m->genres, res);
  PQclear(res);
  m->preloaded = 1;
  return STORE_OK;
}

/* After a day of a preloaded run memo: its shows and episodes count as
 * stored from now on (true after COMMIT; when the day failed they may be
 * missing, and the upserts that then write them create them as well), and
 * the distributors and genres rows the day created are recorded if it
 * committed (else they may not exist). */
static void memo_learn_(struct store_ingest_memo *m, const struct row_batch *b,
                        const struct day_ix_ *x, int committed) {
  if (m == NULL || !m->preloaded) {
    return;
  }
  for (size_t i = 0; i < b->n_shows; i++) {
    u64map_put(&m->t, STORED_SHOW_ | (uint32_t)b->shows[i].id, 1);
  }
  for (size_t i = 0; i < b->n_episodes; i++) {
    u64map_put(&m->t, STORED_EP_ | (uint32_t)b->episodes[i].id, 1);
  }
  if (!committed) {
    return;
  }
  for (size_t i = 0; i < x->t.cap; i++) {
    if ((x->t.keys[i] & ((uint64_t)0xff << 56)) == DIST_ROW_ && x->t.vals[i] != 0) {
      u64map_put(&m->t, x->t.keys[i], x->t.vals[i]);
    }
  }
  for (size_t i = 0; i < x->genres.n; i++) {
    genre_ids_add_(&m->genres, x->genres.names[i], x->genres.ids[i]);
  }
}

/* COPY text format: one field of a row, then `end` ('\t' between fields,
 * '\n' after the last). NULL is \N; backslash, tab, newline and carriage
 * return are escaped (every other byte is data as it stands). */
static void copy_text_(struct strbuf *out, const char *v, char end) {
  if (v == NULL) {
    strbuf_append_n(out, "\\N", 2);
    strbuf_append_char(out, end);
    return;
  }
  for (const char *p = v;;) {
    size_t span = strcspn(p, "\\\t\n\r");
    strbuf_append_n(out, p, span);
    p += span;
    if (*p == '\0') {
      break;
    }
    char esc[2] = {'\\', *p == '\t' ? 't' : *p == '\n' ? 'n' : *p == '\r' ? 'r' : '\\'};
    strbuf_append_n(out, esc, 2);
    p++;
  }
  strbuf_append_char(out, end);
}

static void copy_int_(struct strbuf *out, long long v, char end) {
  char buf[24];
  int k = snprintf(buf, sizeof buf, "%lld", v);
  strbuf_append_n(out, buf, (size_t)k);
  strbuf_append_char(out, end);
}

/* tvmaze_updated (epoch seconds, as the parser writes integers) as the UTC
 * timestamp to_timestamp() makes of it, into out. Returns 0 for anything
 * but an integer in [0, 253402300799] (year 9999): such a row takes the
 * upsert path and gets to_timestamp's own result or error. NULL is NULL. */
static int epoch_text_(const char *v, char out[32], const char **field) {
  if (v == NULL) {
    *field = NULL;
    return 1;
  }
  char *end = NULL;
  long long t = strtoll(v, &end, 10);
  if (end == v || *end != '\0' || t < 0 || t > 253402300799LL) {
    return 0;
  }
  time_t tt = (time_t)t;
  struct tm tm;
  if (gmtime_r(&tt, &tm) == NULL) {
    return 0;
  }
  snprintf(out, 32, "%04d-%02d-%02d %02d:%02d:%02d+00", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  *field = out;
  return 1;
}

/* A table's rows of the day: the COPY of the new ones (copy, COPY text),
 * then the upsert (UPSERT_COUNTS_) of the others (n columns of arrays);
 * *created and *updated get the rows each wrote. Empty ones are not sent. */
static enum store_status copy_then_upsert_(struct store *s, const char *copy_sql,
                                           const struct strbuf *copy, const char *name,
                                           const char *upsert_sql, struct arr_ *cols, int n,
                                           long long *created, long long *updated) {
  enum store_status st = STORE_OK;
  if (copy->len > 0) {
    st = store_copy_in(s, copy_sql, copy->data, copy->len, created);
  }
  if (st == STORE_OK && cols[0].n > 0) {
    const char *v[16];
    for (int i = 0; i < n; i++) {
      v[i] = arr_end_(&cols[i]);
    }
    st = upsert_(s, name, upsert_sql, n, v, created, updated);
  }
  return st;
}

static const char SQL_SHOWS_COPY_[] =
    "COPY shows (id, name, type, language, status, runtime, premiered, ended, official_site, "
    "rating, weight, summary, image_url, distributor_id, tvmaze_updated) FROM STDIN";

static const char SQL_SG_COPY_[] = "COPY show_genres (show_id, genre_id) FROM STDIN";

/* The genre pairs of a show new to the table as COPY rows (its names are
 * distinct: the parser drops repeats); 0 (nothing added) if a genre's row
 * is unknown. */
static int sg_copy_(struct strbuf *out, const struct row_show *sh, const struct day_ix_ *x) {
  size_t mark = out->len;
  for (size_t g = 0; g < sh->n_genres; g++) {
    long long id = genre_id_(x, sh->genres[g]);
    if (id == 0) {
      strbuf_truncate(out, mark); /* drops the rows added for this show */
      return 0;
    }
    copy_int_(out, sh->id, '\t');
    copy_int_(out, id, '\n');
  }
  return 1;
}

/* Shows the memo kept: those the tables lack are COPYed, the others (and
 * any whose distributor row or tvmaze_updated the COPY cannot express as
 * the upsert would) are upserted. Then their genre pairs: COPYed for
 * COPYed shows, else set against the stored pairs. */
static enum store_status write_shows_(struct store *s, const struct row_batch *b,
                                      const struct day_rows_ *r, const struct day_ix_ *x,
                                      int copy_ok, struct store_ingest_counts *c,
                                      long long *written) {
  struct strbuf copy, sg;
  strbuf_init(&copy);
  strbuf_init(&sg);
  struct arr_ sa[16], pa[3]; /* the upsert's columns; pairs (show, genre) and stored ids */
  arrs_init_(sa, 16);
  arrs_init_(pa, 3);
  for (size_t i = 0; i < b->n_shows; i++) {
    const struct row_show *sh = &b->shows[i];
    if (!r->show_keep[i]) {
      continue;
    }
    int stored = ix_get_(x, STORED_SHOW_ | (uint32_t)sh->id) != 0;
    uint64_t drow =
        sh->dist_kind != 0 ? ix_get_(x, dist_ix_(DIST_ROW_, sh->dist_kind, sh->dist_id)) : 0;
    char upd_buf[32];
    const char *upd = NULL;
    int copied = copy_ok && !stored && (sh->dist_kind == 0 || drow != 0) &&
                 epoch_text_(sh->tvmaze_updated, upd_buf, &upd);
    if (stored) {
      arr_add_int_(&pa[2], sh->id); /* its stored genre pairs are compared */
    }
    if (!copied || !sg_copy_(&sg, sh, x)) {
      for (size_t g = 0; g < sh->n_genres; g++) {
        arr_add_int_(&pa[0], sh->id);
        arr_add_(&pa[1], sh->genres[g]);
      }
    }
    const char *f[] = {sh->name,    sh->type,      sh->language, sh->status,
                       sh->runtime, sh->premiered, sh->ended,    sh->official_site,
                       sh->rating,  sh->weight,    sh->summary,  sh->image_url};
    if (copied) {
      copy_int_(&copy, sh->id, '\t');
      for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
        copy_text_(&copy, f[k], '\t');
      }
      if (drow != 0) {
        copy_int_(&copy, (long long)drow, '\t');
      } else {
        copy_text_(&copy, NULL, '\t');
      }
      copy_text_(&copy, upd, '\n');
      continue;
    }
    arr_add_int_(&sa[0], sh->id);
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
      arr_add_(&sa[1 + k], f[k]);
    }
    if (sh->dist_kind != 0) {
      arr_add_int_(&sa[13], sh->dist_kind);
      arr_add_int_(&sa[14], sh->dist_id);
    } else {
      arr_add_(&sa[13], NULL);
      arr_add_(&sa[14], NULL);
    }
    arr_add_(&sa[15], sh->tvmaze_updated);
  }
  long long cr = 0, up = 0;
  enum store_status st =
      copy_then_upsert_(s, SQL_SHOWS_COPY_, &copy, "ingest_shows", SQL_SHOWS_, sa, 16, &cr, &up);
  /* every show of the day not created or updated is unchanged, also those
   * the memo left out */
  c->shows_created += cr;
  c->shows_updated += up;
  c->shows_unchanged += (long long)b->n_shows - cr - up;
  *written += cr + up;
  const char *v[3] = {arr_end_(&pa[2]), arr_end_(&pa[0]), arr_end_(&pa[1])};
  if (st == STORE_OK && pa[2].n > 0) { /* new shows have no pairs to delete */
    st = run_(s, "ingest_sg_delete", SQL_SG_DELETE_, 3, v, written);
  }
  if (st == STORE_OK && pa[0].n > 0) {
    st = run_(s, "ingest_sg_insert", SQL_SG_INSERT_, 3, v, written);
  }
  if (st == STORE_OK && sg.len > 0) {
    st = store_copy_in(s, SQL_SG_COPY_, sg.data, sg.len, written);
  }
  strbuf_release(&copy);
  strbuf_release(&sg);
  arr_release_(sa, 16);
  arr_release_(pa, 3);
  return st;
}

static const char SQL_EPISODES_COPY_[] =
    "COPY episodes (id, show_id, name, season, number, type, airdate, airtime, airstamp, "
    "runtime, rating, summary, image_url, country_code) FROM STDIN";

/* The day's episodes: those the table lacks are COPYed with country_code
 * from the batch (its show's distributor's country: the row the day's
 * distributors statement left, or the memo knows, in the table), the others
 * upserted (the upsert joins the tables for it). */
static enum store_status write_episodes_(struct store *s, const struct row_batch *b,
                                         const struct day_ix_ *x, int copy_ok,
                                         struct store_ingest_counts *c, long long *written) {
  struct strbuf copy;
  strbuf_init(&copy);
  struct arr_ a[13];
  arrs_init_(a, 13);
  for (size_t i = 0; i < b->n_episodes; i++) {
    const struct row_episode *e = &b->episodes[i];
    const char *f[] = {e->name,     e->season,  e->number, e->type,    e->airdate,  e->airtime,
                       e->airstamp, e->runtime, e->rating, e->summary, e->image_url};
    uint64_t si = u64map_get(&x->t, IX_SHOW_ | (uint32_t)e->show_id);
    const struct row_show *sh = si != 0 ? &b->shows[si - 1] : NULL;
    uint64_t di = 0, drow = 0;
    if (sh != NULL && sh->dist_kind != 0) {
      di = u64map_get(&x->t, dist_ix_(IX_DIST_, sh->dist_kind, sh->dist_id));
      drow = ix_get_(x, dist_ix_(DIST_ROW_, sh->dist_kind, sh->dist_id));
    }
    /* copied only where the batch says what the upsert's join would find */
    if (copy_ok && ix_get_(x, STORED_EP_ | (uint32_t)e->id) == 0 && sh != NULL &&
        (sh->dist_kind == 0 || (di != 0 && drow != 0))) {
      copy_int_(&copy, e->id, '\t');
      copy_int_(&copy, e->show_id, '\t');
      for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
        copy_text_(&copy, f[k], '\t');
      }
      copy_text_(&copy, di != 0 ? b->distributors[di - 1].country_code : NULL, '\n');
      continue;
    }
    arr_add_int_(&a[0], e->id);
    arr_add_int_(&a[1], e->show_id);
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
      arr_add_(&a[2 + k], f[k]);
    }
  }
  long long cr = 0, up = 0;
  enum store_status st = copy_then_upsert_(s, SQL_EPISODES_COPY_, &copy, "ingest_episodes",
                                           SQL_EPISODES_, a, 13, &cr, &up);
  c->episodes_created += cr;
  c->episodes_updated += up;
  c->episodes_unchanged += (long long)b->n_episodes - cr - up;
  *written += cr + up;
  strbuf_release(&copy);
  arr_release_(a, 13);
  return st;
}

/* Writes the day's rows; those the memo knows unchanged (keep 0) are left
 * out of the statements, and a statement with no row is not sent. */
static enum store_status write_rows_(struct store *s, const struct row_batch *b,
                                     const struct day_rows_ *r, struct day_ix_ *x, int copy_ok,
                                     struct store_ingest_counts *c, long long *written) {
  enum store_status st = STORE_OK;
  struct arr_ a[5];
  size_t na = 0;

  /* countries */
  na = 3;
  arrs_init_(a, na);
  for (size_t i = 0; i < b->n_countries; i++) {
    if (r->country_keep[i]) {
      arr_add_(&a[0], b->countries[i].code);
      arr_add_(&a[1], b->countries[i].name);
      arr_add_(&a[2], b->countries[i].timezone);
    }
  }
  if (a[0].n > 0) {
    const char *v[3] = {arr_end_(&a[0]), arr_end_(&a[1]), arr_end_(&a[2])};
    st = run_(s, "ingest_countries", SQL_COUNTRIES_, 3, v, written);
  }
  arr_release_(a, na);
  if (st != STORE_OK) {
    return st;
  }

  /* distributors */
  na = 5;
  arrs_init_(a, na);
  for (size_t i = 0; i < b->n_distributors; i++) {
    const struct row_distributor *d = &b->distributors[i];
    if (!r->dist_keep[i]) {
      continue;
    }
    arr_add_int_(&a[0], d->kind);
    arr_add_int_(&a[1], d->tvmaze_id);
    arr_add_(&a[2], d->name);
    arr_add_(&a[3], d->country_code);
    arr_add_(&a[4], d->official_site);
  }
  if (a[0].n > 0) {
    const char *v[5] = {arr_end_(&a[0]), arr_end_(&a[1]), arr_end_(&a[2]), arr_end_(&a[3]),
                        arr_end_(&a[4])};
    st = run_(s, "ingest_dist_update", SQL_DIST_UPDATE_, 5, v, written);
    if (st == STORE_OK) { /* the new rows' ids (id, kind, tvmaze_id) */
      PGresult *res = exec_(s, "ingest_dist_insert", SQL_DIST_INSERT_, 5, v, written, &st);
      for (int i = 0; res != NULL && i < PQntuples(res); i++) {
        int kind = (int)strtol(PQgetvalue(res, i, 1), NULL, 10);
        int tid = (int)strtol(PQgetvalue(res, i, 2), NULL, 10);
        u64map_put(&x->t, dist_ix_(DIST_ROW_, kind, tid),
                   (uint64_t)strtoll(PQgetvalue(res, i, 0), NULL, 10));
      }
      PQclear(res);
    }
  }
  arr_release_(a, na);
  if (st != STORE_OK) {
    return st;
  }

  /* genres */
  na = 1;
  arr_init_(&a[0]);
  for (size_t i = 0; i < b->n_shows; i++) {
    for (size_t g = 0; r->show_keep[i] && g < b->shows[i].n_genres; g++) {
      arr_add_(&a[0], b->shows[i].genres[g]);
    }
  }
  if (a[0].n > 0) {
    const char *v[1] = {arr_end_(&a[0])};
    PGresult *res = exec_(s, "ingest_genres", SQL_GENRES_, 1, v, written, &st);
    for (int i = 0; res != NULL && i < PQntuples(res); i++) { /* new rows (id, name) */
      genre_ids_add_(&x->genres, PQgetvalue(res, i, 1), strtoll(PQgetvalue(res, i, 0), NULL, 10));
    }
    PQclear(res);
  }
  arr_release_(a, na);
  if (st != STORE_OK) {
    return st;
  }

  st = probe_(s, b, r, x);
  if (st == STORE_OK) {
    st = write_shows_(s, b, r, x, copy_ok, c, written);
  }
  if (st == STORE_OK) {
    st = write_episodes_(s, b, x, copy_ok, c, written);
  }
  return st;
}

static const char SQL_HASHES_DELETE_[] = "DELETE FROM ingest_source_hashes WHERE date = $1::date";

static const char SQL_HASHES_INSERT_[] =
    "INSERT INTO ingest_source_hashes (date, source, hash, items, day_episodes, day_shows) "
    "SELECT $1::date, src, decode(h, 'hex'), it, $5::integer, $6::integer "
    "FROM unnest($2::text[], $3::text[], $4::integer[]) AS u (src, h, it)";

/* Replaces the stored hashes of date (inside the day's transaction). */
static enum store_status put_hashes_(struct store *s, const char *date,
                                     const struct store_ingest_source_hash *hashes, size_t n,
                                     const struct row_batch *b) {
  const char *v1[1] = {date};
  enum store_status st = run_(s, "ingest_hashes_delete", SQL_HASHES_DELETE_, 1, v1, NULL);
  if (st != STORE_OK || n == 0) {
    return st;
  }
  struct arr_ a[3];
  arrs_init_(a, 3);
  for (size_t i = 0; i < n; i++) {
    char hex[2 * STORE_INGEST_HASH_LEN + 1];
    base16_encode(hashes[i].hash, STORE_INGEST_HASH_LEN, hex);
    arr_add_(&a[0], hashes[i].source);
    arr_add_(&a[1], hex);
    arr_add_int_(&a[2], hashes[i].items);
  }
  char eps[24], shows[24];
  snprintf(eps, sizeof eps, "%zu", b->n_episodes);
  snprintf(shows, sizeof shows, "%zu", b->n_shows);
  const char *v[6] = {date, arr_end_(&a[0]), arr_end_(&a[1]), arr_end_(&a[2]), eps, shows};
  st = run_(s, "ingest_hashes_insert", SQL_HASHES_INSERT_, 6, v, NULL);
  arr_release_(a, 3);
  return st;
}

enum store_status store_ingest_load_hashes(struct store *s, const char *from, const char *to,
                                           struct store_ingest_stored_hash **rows, size_t *n) {
  *rows = NULL;
  *n = 0;
  const char *v[2] = {from, to};
  enum store_status st;
  PGresult *r = store_exec(s, "ingest_hashes_load",
                           "SELECT date::text, source, encode(hash, 'hex'), items, day_episodes, "
                           "day_shows FROM ingest_source_hashes "
                           "WHERE date BETWEEN $1::date AND $2::date ORDER BY date, source",
                           2, v, &st);
  if (r == NULL) {
    return st;
  }
  size_t nt = (size_t)PQntuples(r);
  struct store_ingest_stored_hash *out = xcalloc(nt > 0 ? nt : 1, sizeof *out);
  size_t k = 0;
  for (size_t i = 0; i < nt; i++) {
    const char *hex = PQgetvalue(r, (int)i, 2);
    struct store_ingest_stored_hash *o = &out[k];
    if (strlen(hex) != 2 * STORE_INGEST_HASH_LEN ||
        base16_decode(hex, o->h.hash, STORE_INGEST_HASH_LEN) != 0) {
      continue; /* not ours: never matches */
    }
    k++;
    snprintf(o->date, sizeof o->date, "%s", PQgetvalue(r, (int)i, 0));
    snprintf(o->h.source, sizeof o->h.source, "%s", PQgetvalue(r, (int)i, 1));
    o->h.items = strtoll(PQgetvalue(r, (int)i, 3), NULL, 10);
    o->day_episodes = strtoll(PQgetvalue(r, (int)i, 4), NULL, 10);
    o->day_shows = strtoll(PQgetvalue(r, (int)i, 5), NULL, 10);
  }
  PQclear(r);
  *rows = out;
  *n = k;
  return STORE_OK;
}

enum store_status store_ingest_skip_day(struct store *s, long long run_id, const char *date,
                                        const struct store_ingest_counts *counts) {
  return day_done_(s, run_id, date, STORE_DAY_SUCCEEDED, NULL, 1, counts);
}

enum store_status store_ingest_write_day(struct store *s, long long run_id, const char *date,
                                         const struct row_batch *b,
                                         const struct store_ingest_source_hash *hashes,
                                         size_t n_hashes, struct store_ingest_memo *memo,
                                         struct store_ingest_counts *counts) {
  struct day_rows_ rows;
  day_rows_init_(&rows, b, memo);
  enum store_status st = STORE_OK;
  /* A COPY that fails on a key (a row taken for new that is stored) rolls
   * the day back, and it is written again with upserts only. */
  for (int attempt = 0; attempt < 2; attempt++) {
    struct store_ingest_counts c = {.requests = counts->requests,
                                    .retries = counts->retries,
                                    .episodes_seen = counts->episodes_seen};
    long long written = 0;
    struct day_ix_ x;
    day_ix_init_(&x, b, memo);
    /* The episodes COPY and upsert supply country_code themselves
     * (migration 009). Every statement of a day finds rows by key (primary
     * and unique indexes), so sequential scans are priced out of its plans:
     * a plan made while a table was nearly empty (a first load, an
     * autoanalyze early in one) would scan it whole, and the session (which
     * lives across runs) keeps prepared statements' plans as the table
     * grows. Seen: the probe's generic plan scanned episodes in a third
     * first load of bench/ingest.sh, 5.0 s instead of 0.18 s. The price
     * makes the one statement that has to scan (the generation bump of a
     * one-row table) look expensive enough for JIT compilation (200 ms per
     * day): no JIT either, none of these small statements gains from it.
     * The COMMIT stays synchronous: see docs/ingest.md ("Tried and not
     * kept") for synchronous_commit = off. */
    st = store_command(s,
                       "BEGIN; SET LOCAL tvmaze.episode_country_supplied = 'on'; "
                       "SET LOCAL enable_seqscan = off; SET LOCAL jit = off");
    if (st == STORE_OK) {
      st = write_rows_(s, b, &rows, &x, attempt == 0, &c, &written);
    }
    if (st == STORE_OK && written > 0) {
      st = run_(s, "ingest_generation", store_generation_bump_sql, 0, NULL, NULL);
    }
    if (st == STORE_OK) {
      st = put_hashes_(s, date, hashes, n_hashes, b);
    }
    if (st == STORE_OK) {
      st = day_done_(s, run_id, date, STORE_DAY_SUCCEEDED, NULL, 0, &c);
    }
    if (st == STORE_OK) {
      st = store_command(s, "COMMIT");
    }
    if (st == STORE_OK) {
      memo_learn_(memo, b, &x, 1);
      day_ix_release_(&x);
      memo_update_(memo, b, &rows, 1);
      day_rows_release_(&rows);
      c.changed = written > 0;
      *counts = c;
      return STORE_OK;
    }
    /* The caller reads the error after ROLLBACK: ROLLBACK of an aborted
     * transaction succeeds, and does not reset the message (db.c). */
    if (store_conn(s) != NULL && PQtransactionStatus(store_conn(s)) != PQTRANS_IDLE) {
      (void)store_command(s, "ROLLBACK");
    }
    memo_learn_(memo, b, &x, 0);
    day_ix_release_(&x);
    if (strcmp(store_last_sqlstate(s), "23505") != 0) { /* not a unique violation */
      break;
    }
  }
  memo_update_(memo, b, &rows, 0);
  day_rows_release_(&rows);
  return st;
}

enum store_status store_ingest_fail_day(struct store *s, long long run_id, const char *date,
                                        const char *error, long long requests, long long retries) {
  struct store_ingest_counts c = {.requests = requests, .retries = retries};
  return day_done_(s, run_id, date, STORE_DAY_FAILED, error, 0, &c);
}

/* ------------------------------------------------------------------ */
/* Runs                                                               */
/* ------------------------------------------------------------------ */

enum store_status store_ingest_try_lock(struct store *s, int *got) {
  enum store_status st;
  const char *v[1] = {"1953918313"};
  PGresult *r =
      store_exec(s, "ingest_try_lock", "SELECT pg_try_advisory_lock($1::bigint)", 1, v, &st);
  if (r == NULL) {
    return st;
  }
  *got = PQgetvalue(r, 0, 0)[0] == 't';
  PQclear(r);
  return STORE_OK;
}

enum store_status store_ingest_unlock(struct store *s) {
  const char *v[1] = {"1953918313"};
  return run_(s, "ingest_unlock", "SELECT pg_advisory_unlock($1::bigint)", 1, v, NULL);
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

enum store_status store_ingest_keep_lock(struct store *s, long long run_id, int *held,
                                         int *retaken) {
  *held = 0;
  *retaken = 0;
  const char *key[1] = {"1953918313"};
  /* A bigint advisory key shows in pg_locks as classid (high 32 bits),
   * objid (low 32 bits), objsubid 1. */
  static const char sql[] =
      "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
      " AND pid = pg_backend_pid() AND classid = ($1::bigint >> 32)::oid"
      " AND objid = ($1::bigint & 4294967295)::oid AND objsubid = 1)";
  enum store_status st = bool_(s, "ingest_lock_held", sql, 1, key, held);
  if (st == STORE_UNAVAILABLE) {
    /* A terminated session is noticed by its next statement, which fails;
     * the store has dropped it, so this one runs on a new connection. */
    st = bool_(s, "ingest_lock_held", sql, 1, key, held);
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
  char id[24];
  snprintf(id, sizeof id, "%lld", run_id);
  const char *v[1] = {id};
  int running = 0;
  st = bool_(s, "ingest_run_is_running", "SELECT status = 1 FROM ingest_runs WHERE id = $1::bigint",
             1, v, &running);
  if (st != STORE_OK || !running) {
    /* another runner marked it FAILED meanwhile: it is over */
    (void)store_ingest_unlock(s);
    return st;
  }
  *held = 1;
  *retaken = 1;
  return STORE_OK;
}

enum store_status store_ingest_fail_stale(struct store *s, const char *error, int *n) {
  long long rows = 0;
  const char *v[1] = {error};
  enum store_status st = run_(s, "ingest_fail_stale",
                              "UPDATE ingest_runs SET status = 4, error = $1, finished_at = now() "
                              "WHERE status = 1",
                              1, v, &rows);
  *n = (int)rows;
  return st;
}

enum store_status store_ingest_run_create(struct store *s, const char *start_date, int days,
                                          const char *owner, long long *id) {
  char d[16];
  snprintf(d, sizeof d, "%d", days);
  const char *v[3] = {start_date, d, owner};
  enum store_status st;
  PGresult *r =
      store_exec(s, "ingest_run_create",
                 "WITH r AS (INSERT INTO ingest_runs (status, start_date, days, owner) "
                 "VALUES (1, $1::date, $2::int, $3) RETURNING id), "
                 "d AS (INSERT INTO ingest_run_days (run_id, date, status) "
                 "SELECT r.id, $1::date + g, 1 FROM r, generate_series(0, $2::int - 1) g) "
                 "SELECT id FROM r",
                 3, v, &st);
  if (r == NULL) {
    return st;
  }
  *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return STORE_OK;
}

enum store_status store_ingest_run_finish(struct store *s, long long id, int status,
                                          const char *error) {
  char ids[24], sts[8];
  snprintf(ids, sizeof ids, "%lld", id);
  snprintf(sts, sizeof sts, "%d", status);
  const char *v[3] = {ids, sts, error};
  return run_(s, "ingest_run_finish",
              "UPDATE ingest_runs SET status = $2::smallint, error = $3, finished_at = now() "
              "WHERE id = $1::bigint",
              3, v, NULL);
}

enum store_status store_ingest_run_running(struct store *s, long long *id) {
  enum store_status st;
  PGresult *r = store_exec(s, "ingest_run_running",
                           "SELECT id FROM ingest_runs WHERE status = 1 ORDER BY id DESC LIMIT 1",
                           0, NULL, &st);
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
  char buf[24];
  snprintf(buf, sizeof buf, "%lld", since);
  const char *v[1] = {buf};
  enum store_status st;
  PGresult *r = store_exec(s, "ingest_run_since",
                           "SELECT EXISTS (SELECT 1 FROM ingest_runs WHERE started_at >= "
                           "to_timestamp($1::bigint))",
                           1, v, &st);
  if (r == NULL) {
    return st;
  }
  *exists = PQgetvalue(r, 0, 0)[0] == 't';
  PQclear(r);
  return STORE_OK;
}

#define RUN_COLS_                                                                       \
  "id, status, start_date::text, days, days_done, requests, retries, episodes_seen, "   \
  "shows_created, shows_updated, shows_unchanged, episodes_created, episodes_updated, " \
  "episodes_unchanged, error, extract(epoch FROM started_at)::float8, "                 \
  "coalesce(extract(epoch FROM finished_at)::float8, -1)"

static void run_from_row_(PGresult *r, int row, struct store_ingest_run *run) {
  memset(run, 0, sizeof *run);
  run->id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
  run->status = (int)strtol(PQgetvalue(r, row, 1), NULL, 10);
  snprintf(run->start_date, sizeof run->start_date, "%s", PQgetvalue(r, row, 2));
  run->days = (int)strtol(PQgetvalue(r, row, 3), NULL, 10);
  run->days_done = (int)strtol(PQgetvalue(r, row, 4), NULL, 10);
  long long *counts[] = {&run->requests,         &run->retries,          &run->episodes_seen,
                         &run->shows_created,    &run->shows_updated,    &run->shows_unchanged,
                         &run->episodes_created, &run->episodes_updated, &run->episodes_unchanged};
  for (int i = 0; i < 9; i++) {
    *counts[i] = strtoll(PQgetvalue(r, row, 5 + i), NULL, 10);
  }
  run->error = PQgetisnull(r, row, 14) ? NULL : xstrdup(PQgetvalue(r, row, 14));
  run->started_at = strtod(PQgetvalue(r, row, 15), NULL);
  run->finished_at = strtod(PQgetvalue(r, row, 16), NULL);
}

void store_ingest_run_release(struct store_ingest_run *run) {
  free(run->error);
  for (size_t i = 0; i < run->n_day_results; i++) {
    free(run->day_results[i].error);
  }
  free(run->day_results);
  memset(run, 0, sizeof *run);
}

enum store_status store_ingest_run_get(struct store *s, long long id,
                                       struct store_ingest_run *run) {
  char ids[24];
  snprintf(ids, sizeof ids, "%lld", id);
  const char *v[1] = {ids};
  enum store_status st;
  PGresult *r =
      store_exec(s, "ingest_run_get", "SELECT " RUN_COLS_ " FROM ingest_runs WHERE id = $1::bigint",
                 1, v, &st);
  if (r == NULL) {
    return st;
  }
  if (PQntuples(r) == 0) {
    PQclear(r);
    return STORE_NOT_FOUND;
  }
  run_from_row_(r, 0, run);
  PQclear(r);
  r = store_exec(s, "ingest_run_days",
                 "SELECT date::text, status, error, skipped FROM ingest_run_days "
                 "WHERE run_id = $1::bigint "
                 "ORDER BY date",
                 1, v, &st);
  if (r == NULL) {
    store_ingest_run_release(run);
    return st;
  }
  run->n_day_results = (size_t)PQntuples(r);
  run->day_results = xcalloc(run->n_day_results + 1, sizeof *run->day_results);
  for (int i = 0; i < PQntuples(r); i++) {
    struct store_ingest_day *d = &run->day_results[i];
    snprintf(d->date, sizeof d->date, "%s", PQgetvalue(r, i, 0));
    d->status = (int)strtol(PQgetvalue(r, i, 1), NULL, 10);
    d->error = PQgetisnull(r, i, 2) ? NULL : xstrdup(PQgetvalue(r, i, 2));
    d->skipped = PQgetvalue(r, i, 3)[0] == 't';
  }
  PQclear(r);
  return STORE_OK;
}

enum store_status store_ingest_run_list(struct store *s, long long offset, int limit,
                                        struct store_ingest_run **runs, size_t *n,
                                        long long *total) {
  char off[24], lim[16];
  snprintf(off, sizeof off, "%lld", offset);
  snprintf(lim, sizeof lim, "%d", limit);
  const char *v[2] = {off, lim};
  enum store_status st;
  PGresult *r = store_exec(s, "ingest_run_list",
                           "SELECT " RUN_COLS_
                           " FROM ingest_runs "
                           "ORDER BY id DESC OFFSET $1::bigint LIMIT $2::int",
                           2, v, &st);
  if (r == NULL) {
    return st;
  }
  *n = (size_t)PQntuples(r);
  *runs = xcalloc(*n + 1, sizeof **runs);
  for (int i = 0; i < PQntuples(r); i++) {
    run_from_row_(r, i, &(*runs)[i]);
  }
  PQclear(r);
  r = store_exec(s, "ingest_run_count", "SELECT count(*) FROM ingest_runs", 0, NULL, &st);
  if (r == NULL) {
    store_ingest_runs_free(*runs, *n);
    *runs = NULL;
    *n = 0;
    return st;
  }
  *total = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return STORE_OK;
}

void store_ingest_runs_free(struct store_ingest_run *runs, size_t n) {
  if (runs == NULL) {
    return;
  }
  for (size_t i = 0; i < n; i++) {
    store_ingest_run_release(&runs[i]);
  }
  free(runs);
}

enum store_status store_ingest_run_counts(struct store *s, long long counts[5]) {
  enum store_status st;
  PGresult *r =
      store_exec(s, "ingest_run_counts", "SELECT status, count(*) FROM ingest_runs GROUP BY status",
                 0, NULL, &st);
  if (r == NULL) {
    return st;
  }
  long long c[5] = {0};
  for (int i = 0; i < PQntuples(r); i++) {
    long status = strtol(PQgetvalue(r, i, 0), NULL, 10);
    if (status >= 1 && status <= 4) {
      c[status] = strtoll(PQgetvalue(r, i, 1), NULL, 10);
    }
  }
  PQclear(r);
  memcpy(counts, c, sizeof c);
  return STORE_OK;
}
