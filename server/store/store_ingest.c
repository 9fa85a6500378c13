/*
 * store_ingest: the executor of a day's write (see store_ingest.h for the
 * statements in order), the run memo's preload and the source hashes.
 *
 * A day is planned by day_plan.c (pure: which rows are skipped, COPYed or
 * upserted), encoded with pg_encode.c (array literals, COPY text) and sent
 * here in one transaction, with the SQL of day_sql.c. The run memo and the
 * day's keys are run_memo.c's; the day's outcome row is store_runs.c's.
 * Assumes the caller's run holds the run lock (store_runs.h), so nothing
 * else writes schedule rows meanwhile (the memo's premise). Allocations per
 * day, never per row (the arrays of the plan and one buffer per column).
 */
#include "store_ingest.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "day_plan.h"
#include "day_sql.h"
#include "pg_encode.h"
#include "run_memo.h"
#include "strbuf.h"
#include "xalloc.h"

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

/* Closes n array literals into v[0..n). */
static void ends_(struct pg_array *a, int n, const char **v) {
  for (int i = 0; i < n; i++) {
    v[i] = pg_array_end(&a[i]);
  }
}

/* Runs an upsert (answering (created, updated)); adds its two counts. */
static enum store_status upsert_ended_(struct store *s, const char *name, const char *sql,
                                       const char *const *v, int n, long long *created,
                                       long long *updated) {
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

static enum store_status upsert_(struct store *s, const char *name, const char *sql,
                                 struct pg_array *cols, int n, long long *created,
                                 long long *updated) {
  const char *v[17];
  ends_(cols, n, v);
  return upsert_ended_(s, name, sql, v, n, created, updated);
}

/* Rows (tag, id, kind, tvmaze_id, name) of the probe into t / g
 * (run_memo.h's tags). */
static void put_rows_(struct u64map *t, struct genre_ids *g, const PGresult *res) {
  int n = res != NULL ? PQntuples(res) : 0;
  for (int i = 0; i < n; i++) {
    run_memo_put_row(
        t, g, strtoll(PQgetvalue(res, i, 0), NULL, 10), strtoll(PQgetvalue(res, i, 1), NULL, 10),
        (int)strtol(PQgetvalue(res, i, 2), NULL, 10), (int)strtol(PQgetvalue(res, i, 3), NULL, 10),
        PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4));
  }
}

/* The next integer of list *p (array text "{1,2,3}", or one number),
 * moving *p past it; 0 when the list (or a NULL one) has no more. */
static long long list_next_(const char **p) {
  const char *s = *p;
  if (s == NULL) {
    return 0;
  }
  while (*s != '\0' && *s != '-' && (*s < '0' || *s > '9')) {
    s++;
  }
  if (*s == '\0') {
    *p = s;
    return 0;
  }
  char *end;
  long long v = strtoll(s, &end, 10);
  *p = end;
  return v;
}

/* The preload's rows (day_sql.h: lists of ids per tag) into m. */
static void put_lists_(struct store_ingest_memo *m, const PGresult *res) {
  for (int i = 0; i < PQntuples(res); i++) {
    long long tag = strtoll(PQgetvalue(res, i, 0), NULL, 10);
    const char *ids = PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1);
    const char *kinds = PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2);
    const char *tids = PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3);
    const char *name = PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4);
    for (long long id; (id = list_next_(&ids)) != 0;) {
      run_memo_put(m, tag, id, (int)list_next_(&kinds), (int)list_next_(&tids), name);
    }
  }
}

enum store_status store_ingest_memo_preload(struct store *s, struct store_ingest_memo *m,
                                            const char *from, const char *to) {
  const char *v[2] = {from, to};
  enum store_status st;
  PGresult *res = store_exec(s, NULL, day_sql_preload, 2, v, &st);
  if (res == NULL) {
    return st;
  }
  put_lists_(m, res);
  PQclear(res);
  m->preloaded = 1;
  return STORE_OK;
}

/* ------------------------------------------------------------------ */
/* The day's statements                                               */
/* ------------------------------------------------------------------ */

/* countries, distributors and genres of the plan's kept rows; the new
 * distributors' and genres' row ids go into x. */
static enum store_status send_head_(struct store *s, const struct row_batch *b,
                                    const struct day_plan *p, struct day_keys *x,
                                    long long *written) {
  enum store_status st = STORE_OK;
  struct pg_array c[3], d[5], g[1];
  pg_arrays_init(c, 3);
  pg_arrays_init(d, 5);
  pg_arrays_init(g, 1);
  for (size_t i = 0; i < b->n_countries; i++) {
    if (p->country_op[i] != DAY_SKIP) {
      pg_array_add(&c[0], b->countries[i].code);
      pg_array_add(&c[1], b->countries[i].name);
      pg_array_add(&c[2], b->countries[i].timezone);
    }
  }
  for (size_t i = 0; i < b->n_distributors; i++) {
    const struct row_distributor *r = &b->distributors[i];
    if (p->dist_op[i] != DAY_SKIP) {
      pg_array_add_int(&d[0], r->kind);
      pg_array_add_int(&d[1], r->tvmaze_id);
      pg_array_add(&d[2], r->name);
      pg_array_add(&d[3], r->country_code);
      pg_array_add(&d[4], r->official_site);
    }
  }
  for (size_t i = 0; i < b->n_shows; i++) {
    for (size_t k = 0; p->show_op[i] != DAY_SKIP && k < b->shows[i].n_genres; k++) {
      pg_array_add(&g[0], b->shows[i].genres[k]);
    }
  }
  if (c[0].n > 0) {
    const char *v[3];
    ends_(c, 3, v);
    st = run_(s, "ingest_countries", day_sql_countries, 3, v, written);
  }
  if (st == STORE_OK && d[0].n > 0) {
    const char *v[5];
    ends_(d, 5, v);
    st = run_(s, "ingest_dist_update", day_sql_dist_update, 5, v, written);
    if (st == STORE_OK) { /* the new rows' ids (id, kind, tvmaze_id) */
      PGresult *res = exec_(s, "ingest_dist_insert", day_sql_dist_insert, 5, v, written, &st);
      for (int i = 0; res != NULL && i < PQntuples(res); i++) {
        u64map_put(&x->t,
                   run_key_dist_row((int)strtol(PQgetvalue(res, i, 1), NULL, 10),
                                    (int)strtol(PQgetvalue(res, i, 2), NULL, 10)),
                   (uint64_t)strtoll(PQgetvalue(res, i, 0), NULL, 10));
      }
      PQclear(res);
    }
  }
  if (st == STORE_OK && g[0].n > 0) {
    const char *v[1] = {pg_array_end(&g[0])};
    PGresult *res = exec_(s, "ingest_genres", day_sql_genres, 1, v, written, &st);
    for (int i = 0; res != NULL && i < PQntuples(res); i++) { /* new rows (id, name) */
      genre_ids_add(&x->genres, PQgetvalue(res, i, 1), strtoll(PQgetvalue(res, i, 0), NULL, 10));
    }
    PQclear(res);
  }
  pg_arrays_release(c, 3);
  pg_arrays_release(d, 5);
  pg_arrays_release(g, 1);
  return st;
}

/* Without a preloaded run memo: the probe of the kept shows, the episodes,
 * the distributors and the kept shows' genres into x. */
static enum store_status probe_(struct store *s, const struct row_batch *b,
                                const struct day_plan *p, struct day_keys *x) {
  if (x->run != NULL) {
    return STORE_OK; /* the run memo knows */
  }
  struct pg_array a[5];
  pg_arrays_init(a, 5);
  for (size_t i = 0; i < b->n_shows; i++) {
    if (p->show_op[i] != DAY_SKIP) {
      pg_array_add_int(&a[0], b->shows[i].id);
      for (size_t g = 0; g < b->shows[i].n_genres; g++) {
        pg_array_add(&a[4], b->shows[i].genres[g]);
      }
    }
  }
  for (size_t i = 0; i < b->n_episodes; i++) {
    pg_array_add_int(&a[1], b->episodes[i].id);
  }
  for (size_t i = 0; i < b->n_distributors; i++) {
    pg_array_add_int(&a[2], b->distributors[i].kind);
    pg_array_add_int(&a[3], b->distributors[i].tvmaze_id);
  }
  enum store_status st = STORE_OK;
  if (a[0].n + a[1].n > 0) {
    const char *v[5];
    ends_(a, 5, v);
    PGresult *res = store_exec(s, "ingest_probe", day_sql_probe, 5, v, &st);
    put_rows_(&x->t, &x->genres, res);
    PQclear(res);
  }
  pg_arrays_release(a, 5);
  return st;
}

/* The plan's shows: COPY rows, upsert columns, then their genre pairs
 * (COPYed, or set against the stored pairs). */
static enum store_status send_shows_(struct store *s, const struct row_batch *b,
                                     const struct day_plan *p, struct store_ingest_counts *c,
                                     long long *written) {
  struct strbuf copy, sg;
  strbuf_init(&copy);
  strbuf_init(&sg);
  /* the upsert's columns; pairs (show, genre, position), stored ids */
  struct pg_array sa[17], pa[4];
  pg_arrays_init(sa, 17);
  pg_arrays_init(pa, 4);
  for (size_t i = 0; i < b->n_shows; i++) {
    const struct row_show *sh = &b->shows[i];
    if (p->show_op[i] == DAY_SKIP) {
      continue;
    }
    if (p->show_stored[i]) {
      pg_array_add_int(&pa[2], sh->id); /* its stored genre pairs are compared */
    }
    for (size_t g = 0; g < sh->n_genres; g++) {
      if (p->sg_op[i] == DAY_COPY) {
        pg_copy_int(&sg, sh->id, '\t');
        pg_copy_int(&sg, p->sg_genre_id[p->sg_off[i] + g], '\t');
        pg_copy_int(&sg, (long long)g, '\n');
      } else {
        pg_array_add_int(&pa[0], sh->id);
        pg_array_add(&pa[1], sh->genres[g]);
        pg_array_add_int(&pa[3], (long long)g);
      }
    }
    const char *f[] = {
        sh->name,      sh->type,  sh->language,      sh->status, sh->runtime, sh->average_runtime,
        sh->premiered, sh->ended, sh->official_site, sh->rating, sh->weight,  sh->summary,
        sh->image_url};
    if (p->show_op[i] == DAY_COPY) {
      char upd_buf[32];
      const char *upd = NULL;
      (void)pg_encode_epoch(sh->tvmaze_updated, upd_buf, &upd); /* 1: the plan checked */
      pg_copy_int(&copy, sh->id, '\t');
      for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
        pg_copy_text(&copy, f[k], '\t');
      }
      if (p->show_dist_row[i] != 0) {
        pg_copy_int(&copy, (long long)p->show_dist_row[i], '\t');
      } else {
        pg_copy_text(&copy, NULL, '\t');
      }
      pg_copy_text(&copy, upd, '\n');
      continue;
    }
    pg_array_add_int(&sa[0], sh->id);
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
      pg_array_add(&sa[1 + k], f[k]);
    }
    if (sh->dist_kind != 0) {
      pg_array_add_int(&sa[14], sh->dist_kind);
      pg_array_add_int(&sa[15], sh->dist_id);
    } else {
      pg_array_add(&sa[14], NULL);
      pg_array_add(&sa[15], NULL);
    }
    pg_array_add(&sa[16], sh->tvmaze_updated);
  }
  long long cr = 0, up = 0;
  enum store_status st = STORE_OK;
  if (copy.len > 0) {
    st = store_copy_in(s, day_sql_shows_copy, copy.data, copy.len, &cr);
  }
  if (st == STORE_OK && sa[0].n > 0) {
    st = upsert_(s, "ingest_shows", day_sql_shows, sa, 17, &cr, &up);
  }
  /* every show of the day not created or updated is unchanged, also those
   * the memo left out */
  c->shows_created += cr;
  c->shows_updated += up;
  c->shows_unchanged += (long long)b->n_shows - cr - up;
  *written += cr + up;
  const char *v[4] = {pg_array_end(&pa[2]), pg_array_end(&pa[0]), pg_array_end(&pa[1]),
                      pg_array_end(&pa[3])};
  if (st == STORE_OK && pa[2].n > 0) { /* new shows have no pairs to delete */
    st = run_(s, "ingest_sg_delete", day_sql_sg_delete, 4, v, written);
  }
  if (st == STORE_OK && pa[0].n > 0) {
    st = run_(s, "ingest_sg_insert", day_sql_sg_insert, 4, v, written);
  }
  if (st == STORE_OK && sg.len > 0) {
    st = store_copy_in(s, day_sql_sg_copy, sg.data, sg.len, written);
  }
  strbuf_release(&copy);
  strbuf_release(&sg);
  pg_arrays_release(sa, 17);
  pg_arrays_release(pa, 4);
  return st;
}

/* The plan's episodes: COPYed with country_code from the batch (the plan's
 * distributor row), the others upserted (the upsert joins for it). */
static enum store_status send_episodes_(struct store *s, const char *date,
                                        const struct row_batch *b, const struct day_plan *p,
                                        struct store_ingest_counts *c, long long *written) {
  struct strbuf copy;
  strbuf_init(&copy);
  struct pg_array a[13];
  pg_arrays_init(a, 13);
  for (size_t i = 0; i < b->n_episodes; i++) {
    const struct row_episode *e = &b->episodes[i];
    const char *f[] = {e->name,     e->season,  e->number, e->type,    e->airdate,  e->airtime,
                       e->airstamp, e->runtime, e->rating, e->summary, e->image_url};
    if (p->episode_op[i] == DAY_COPY) {
      size_t di = p->episode_dist[i];
      pg_copy_int(&copy, e->id, '\t');
      pg_copy_int(&copy, e->show_id, '\t');
      for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
        pg_copy_text(&copy, f[k], '\t');
      }
      pg_copy_text(&copy, di != 0 ? b->distributors[di - 1].country_code : NULL, '\n');
      continue;
    }
    pg_array_add_int(&a[0], e->id);
    pg_array_add_int(&a[1], e->show_id);
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
      pg_array_add(&a[2 + k], f[k]);
    }
  }
  long long cr = 0, up = 0;
  enum store_status st = STORE_OK;
  if (copy.len > 0) {
    st = store_copy_in(s, day_sql_episodes_copy, copy.data, copy.len, &cr);
  }
  if (st == STORE_OK && a[0].n > 0) {
    const char *v[13];
    ends_(a, 13, v);
    /* stored episodes only (a COPYed one is new): a move voids the hashes
     * of the date it leaves; $1/$2 are the upsert's id and airdate arrays */
    const char *mv[3] = {v[0], v[6], date};
    st = run_(s, "ingest_hashes_moved", day_sql_hashes_moved, 3, mv, NULL);
    if (st == STORE_OK) {
      st = upsert_ended_(s, "ingest_episodes", day_sql_episodes, v, 13, &cr, &up);
    }
  }
  c->episodes_created += cr;
  c->episodes_updated += up;
  c->episodes_unchanged += (long long)b->n_episodes - cr - up;
  *written += cr + up;
  strbuf_release(&copy);
  pg_arrays_release(a, 13);
  return st;
}

/* Replaces the stored hashes of date (inside the day's transaction). */
static enum store_status put_hashes_(struct store *s, const char *date,
                                     const struct store_ingest_source_hash *hashes, size_t n,
                                     const struct row_batch *b) {
  const char *v1[1] = {date};
  enum store_status st = run_(s, "ingest_hashes_delete", day_sql_hashes_delete, 1, v1, NULL);
  if (st != STORE_OK || n == 0) {
    return st;
  }
  struct pg_array a[3];
  pg_arrays_init(a, 3);
  for (size_t i = 0; i < n; i++) {
    char hex[2 * STORE_INGEST_HASH_LEN + 1];
    base16_encode(hashes[i].hash, STORE_INGEST_HASH_LEN, hex);
    pg_array_add(&a[0], hashes[i].source);
    pg_array_add(&a[1], hex);
    pg_array_add_int(&a[2], hashes[i].items);
  }
  char eps[24], shows[24];
  snprintf(eps, sizeof eps, "%zu", b->n_episodes);
  snprintf(shows, sizeof shows, "%zu", b->n_shows);
  const char *v[6] = {date, pg_array_end(&a[0]), pg_array_end(&a[1]), pg_array_end(&a[2]), eps,
                      shows};
  st = run_(s, "ingest_hashes_insert", day_sql_hashes_insert, 6, v, NULL);
  pg_arrays_release(a, 3);
  return st;
}

enum store_status store_ingest_forget_hashes(struct store *s, const char *date) {
  const char *v[1] = {date};
  return run_(s, "ingest_hashes_delete", day_sql_hashes_delete, 1, v, NULL);
}

enum store_status store_ingest_load_hashes(struct store *s, const char *from, const char *to,
                                           struct store_ingest_stored_hash **rows, size_t *n) {
  *rows = NULL;
  *n = 0;
  const char *v[2] = {from, to};
  enum store_status st;
  PGresult *r = store_exec(s, "ingest_hashes_load", day_sql_hashes_load, 2, v, &st);
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

enum store_status store_ingest_validators_load(struct store *s, const char *url,
                                               struct store_ingest_validators *out) {
  *out = (struct store_ingest_validators){0};
  const char *v[1] = {url};
  enum store_status st;
  PGresult *r = store_exec(s, "ingest_validators_load",
                           "SELECT etag, last_modified FROM ingest_full_validators WHERE url = $1",
                           1, v, &st);
  if (r == NULL) {
    return st;
  }
  if (PQntuples(r) == 1) {
    snprintf(out->etag, sizeof out->etag, "%s", PQgetvalue(r, 0, 0));
    snprintf(out->last_modified, sizeof out->last_modified, "%s", PQgetvalue(r, 0, 1));
  }
  PQclear(r);
  return STORE_OK;
}

enum store_status store_ingest_validators_save(struct store *s, const char *url,
                                               const struct store_ingest_validators *v) {
  enum store_status st;
  PGresult *r;
  if (v == NULL || (v->etag[0] == '\0' && v->last_modified[0] == '\0')) {
    const char *p[1] = {url};
    r = store_exec(s, "ingest_validators_delete",
                   "DELETE FROM ingest_full_validators WHERE url = $1", 1, p, &st);
  } else {
    const char *p[3] = {url, v->etag, v->last_modified};
    r = store_exec(s, "ingest_validators_save",
                   "INSERT INTO ingest_full_validators (url, etag, last_modified) "
                   "VALUES ($1, $2, $3) ON CONFLICT (url) DO UPDATE SET etag = $2, "
                   "last_modified = $3, saved_at = now()",
                   3, p, &st);
  }
  if (r == NULL) {
    return st;
  }
  PQclear(r);
  return STORE_OK;
}

/* ------------------------------------------------------------------ */
/* The day's transaction                                              */
/* ------------------------------------------------------------------ */

/* One attempt: BEGIN .. COMMIT of the day, routing plan p with x
 * (upserts_only after a COPY conflict); *c gets the counts. On failure the
 * transaction may still be open (the caller rolls back). */
static enum store_status send_day_(struct store *s, long long run_id, const char *date,
                                   const struct row_batch *b,
                                   const struct store_ingest_source_hash *hashes, size_t n_hashes,
                                   struct day_plan *p, struct day_keys *x, int upserts_only,
                                   struct store_ingest_counts *c) {
  long long written = 0;
  enum store_status st = store_command(s, day_sql_begin);
  if (st == STORE_OK) {
    st = send_head_(s, b, p, x, &written);
  }
  if (st == STORE_OK) {
    st = probe_(s, b, p, x);
  }
  if (st == STORE_OK) {
    day_plan_route(p, b, x, upserts_only);
    st = send_shows_(s, b, p, c, &written);
  }
  if (st == STORE_OK) {
    st = send_episodes_(s, date, b, p, c, &written);
  }
  if (st == STORE_OK && written > 0) {
    st = run_(s, "ingest_changes_commit", store_changes_commit_sql, 0, NULL, NULL);
  }
  if (st == STORE_OK) {
    st = put_hashes_(s, date, hashes, n_hashes, b);
  }
  if (st == STORE_OK) {
    st = store_ingest_day_done(s, run_id, date, STORE_DAY_SUCCEEDED, NULL, 0, c);
  }
  if (st == STORE_OK) {
    st = store_command(s, "COMMIT");
  }
  c->changed = written > 0;
  return st;
}

enum store_status store_ingest_write_day(struct store *s, long long run_id, const char *date,
                                         const struct row_batch *b,
                                         const struct store_ingest_source_hash *hashes,
                                         size_t n_hashes, struct store_ingest_memo *memo,
                                         struct store_ingest_counts *counts) {
  struct day_plan plan;
  day_plan_init(&plan, b, memo);
  struct day_keys x = {0};
  struct store_ingest_counts c = {0};
  enum store_status st = STORE_OK;
  int committed = 0;
  /* A COPY that fails on a key (a row taken for new that is stored) rolls
   * the day back, and it is written again with upserts only. */
  for (int attempt = 0; attempt < 2; attempt++) {
    c = (struct store_ingest_counts){.requests = counts->requests,
                                     .retries = counts->retries,
                                     .episodes_seen = counts->episodes_seen};
    day_keys_release(&x);
    day_keys_init(&x, b, memo);
    st = send_day_(s, run_id, date, b, hashes, n_hashes, &plan, &x, attempt > 0, &c);
    if (st == STORE_OK) {
      committed = 1;
      break;
    }
    /* The caller reads the error after ROLLBACK: ROLLBACK of an aborted
     * transaction succeeds, and does not reset the message (db.c). */
    if (store_conn(s) != NULL && PQtransactionStatus(store_conn(s)) != PQTRANS_IDLE) {
      (void)store_command(s, "ROLLBACK");
    }
    run_memo_learn(memo, b, &x, 0);
    if (strcmp(store_last_sqlstate(s), "23505") != 0) { /* not a unique violation */
      break;
    }
  }
  /* the one way out: the memo learns or forgets the day, the plan goes */
  if (committed) {
    run_memo_learn(memo, b, &x, 1);
    *counts = c;
  }
  run_memo_record(memo, b, plan.country_h, plan.dist_h, plan.show_h, committed);
  day_keys_release(&x);
  day_plan_release(&plan);
  return st;
}

/* ------------------------------------------------------------------ */
/* The run's removal                                                  */
/* ------------------------------------------------------------------ */

enum store_status store_ingest_remove_unlisted(struct store *s, long long run_id,
                                               const char (*dates)[11], size_t n_dates,
                                               const int *seen, size_t n_seen, long long *removed) {
  *removed = 0;
  if (n_dates == 0) {
    return STORE_OK;
  }
  struct pg_array a[2];
  pg_arrays_init(a, 2);
  for (size_t i = 0; i < n_dates; i++) {
    pg_array_add(&a[0], dates[i]);
  }
  for (size_t i = 0; i < n_seen; i++) {
    pg_array_add_int(&a[1], seen[i]);
  }
  char run[24];
  snprintf(run, sizeof run, "%lld", run_id);
  const char *v[3] = {pg_array_end(&a[0]), pg_array_end(&a[1]), run};
  enum store_status st = store_command(s, day_sql_begin);
  if (st == STORE_OK) {
    PGresult *r = store_exec(s, "ingest_remove_unlisted", day_sql_remove_unlisted, 3, v, &st);
    if (r != NULL && PQntuples(r) == 1) {
      *removed = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    }
    PQclear(r);
  }
  if (st == STORE_OK && *removed > 0) {
    st = run_(s, "ingest_changes_commit", store_changes_commit_sql, 0, NULL, NULL);
  }
  if (st == STORE_OK) {
    st = store_command(s, "COMMIT");
  }
  if (st != STORE_OK) {
    *removed = 0;
    if (store_conn(s) != NULL && PQtransactionStatus(store_conn(s)) != PQTRANS_IDLE) {
      (void)store_command(s, "ROLLBACK");
    }
  }
  pg_arrays_release(a, 2);
  return st;
}
