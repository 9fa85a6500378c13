/*
 * day_plan: the pure plan of a day's write; see day_plan.h for the
 * operations and why there are two passes. Assumes the batch's rows are
 * unique per key (the parser merges repeats: ingest_parse.c) and that x
 * was made for the same batch (day_keys_init).
 */
#include "day_plan.h"

#include <stdlib.h>
#include <string.h>

#include "pg_encode.h"
#include "xalloc.h"

void day_plan_init(struct day_plan *p, const struct row_batch *b,
                   const struct store_ingest_memo *memo) {
  *p = (struct day_plan){0};
  size_t nc = b->n_countries, nd = b->n_distributors, ns = b->n_shows, ne = b->n_episodes;
  size_t ng = 0;
  for (size_t i = 0; i < ns; i++) {
    ng += b->shows[i].n_genres;
  }
  p->country_h = xcalloc(nc + 1, sizeof *p->country_h);
  p->dist_h = xcalloc(nd + 1, sizeof *p->dist_h);
  p->show_h = xcalloc(ns + 1, sizeof *p->show_h);
  p->country_op = xcalloc(nc + 1, 1);
  p->dist_op = xcalloc(nd + 1, 1);
  p->show_op = xcalloc(ns + 1, 1);
  p->show_stored = xcalloc(ns + 1, 1);
  p->show_dist_row = xcalloc(ns + 1, sizeof *p->show_dist_row);
  p->sg_op = xcalloc(ns + 1, 1);
  p->sg_genre_id = xcalloc(ng + 1, sizeof *p->sg_genre_id);
  p->sg_off = xcalloc(ns + 1, sizeof *p->sg_off);
  p->episode_op = xcalloc(ne + 1, 1);
  p->episode_dist = xcalloc(ne + 1, sizeof *p->episode_dist);
  const struct u64map *known = memo != NULL ? &memo->t : NULL;
  for (size_t i = 0; i < nc; i++) {
    uint64_t key = run_key_country_hash(b->countries[i].code);
    p->country_h[i] = run_hash_country(&b->countries[i]);
    int skip = known != NULL && key != 0 && u64map_get(known, key) == p->country_h[i];
    p->country_op[i] = skip ? DAY_SKIP : DAY_UPSERT;
    p->n_countries_sent += !skip;
  }
  for (size_t i = 0; i < nd; i++) {
    const struct row_distributor *d = &b->distributors[i];
    p->dist_h[i] = run_hash_distributor(d);
    int skip = known != NULL &&
               u64map_get(known, run_key_dist_hash(d->kind, d->tvmaze_id)) == p->dist_h[i];
    p->dist_op[i] = skip ? DAY_SKIP : DAY_UPSERT;
    p->n_dists_sent += !skip;
  }
  size_t off = 0;
  for (size_t i = 0; i < ns; i++) {
    p->show_h[i] = run_hash_show(&b->shows[i]);
    int skip =
        known != NULL && u64map_get(known, run_key_show_hash(b->shows[i].id)) == p->show_h[i];
    p->show_op[i] = skip ? DAY_SKIP : DAY_UPSERT;
    p->n_shows_kept += !skip;
    p->sg_off[i] = off;
    off += b->shows[i].n_genres;
  }
}

/* A COPYed show's genre pairs: COPY when every genre's row id is known
 * (recorded from sg_off), else UPSERT (the insert joins genres by name). */
static unsigned char route_pairs_(struct day_plan *p, size_t i, const struct row_show *sh,
                                  const struct day_keys *x) {
  for (size_t g = 0; g < sh->n_genres; g++) {
    long long id = day_keys_genre(x, sh->genres[g]);
    if (id == 0) {
      return DAY_UPSERT;
    }
    p->sg_genre_id[p->sg_off[i] + g] = id;
  }
  return DAY_COPY;
}

void day_plan_route(struct day_plan *p, const struct row_batch *b, const struct day_keys *x,
                    int upserts_only) {
  p->n_shows_copy = p->n_shows_upsert = p->n_episodes_copy = p->n_episodes_upsert = 0;
  for (size_t i = 0; i < b->n_shows; i++) {
    const struct row_show *sh = &b->shows[i];
    p->show_stored[i] = 0;
    p->show_dist_row[i] = 0;
    p->sg_op[i] = DAY_SKIP;
    if (p->show_op[i] == DAY_SKIP) {
      continue;
    }
    int stored = day_keys_get(x, run_key_stored_show(sh->id)) != 0;
    uint64_t drow =
        sh->dist_kind != 0 ? day_keys_get(x, run_key_dist_row(sh->dist_kind, sh->dist_id)) : 0;
    char upd_buf[32];
    const char *upd = NULL;
    /* COPY only where it writes what the upsert would: the distributor's
     * row id known, tvmaze_updated as to_timestamp() makes it */
    int copy = !upserts_only && !stored && (sh->dist_kind == 0 || drow != 0) &&
               pg_encode_epoch(sh->tvmaze_updated, upd_buf, &upd);
    p->show_op[i] = copy ? DAY_COPY : DAY_UPSERT;
    p->show_stored[i] = (unsigned char)stored;
    p->show_dist_row[i] = copy ? drow : 0;
    if (sh->n_genres > 0) {
      p->sg_op[i] = copy ? route_pairs_(p, i, sh, x) : DAY_UPSERT;
    }
    p->n_shows_copy += copy;
    p->n_shows_upsert += !copy;
  }
  for (size_t i = 0; i < b->n_episodes; i++) {
    const struct row_episode *e = &b->episodes[i];
    uint64_t si = u64map_get(&x->t, run_key_batch_show(e->show_id));
    const struct row_show *sh = si != 0 ? &b->shows[si - 1] : NULL;
    uint64_t di = 0, drow = 0;
    if (sh != NULL && sh->dist_kind != 0) {
      di = u64map_get(&x->t, run_key_batch_dist(sh->dist_kind, sh->dist_id));
      drow = day_keys_get(x, run_key_dist_row(sh->dist_kind, sh->dist_id));
    }
    /* COPY only where the batch says what the upsert's join would find */
    int copy = !upserts_only && day_keys_get(x, run_key_stored_episode(e->id)) == 0 && sh != NULL &&
               (sh->dist_kind == 0 || (di != 0 && drow != 0));
    p->episode_op[i] = copy ? DAY_COPY : DAY_UPSERT;
    p->episode_dist[i] = copy ? (size_t)di : 0;
    p->n_episodes_copy += copy;
    p->n_episodes_upsert += !copy;
  }
}

void day_plan_release(struct day_plan *p) {
  free(p->country_h);
  free(p->dist_h);
  free(p->show_h);
  free(p->country_op);
  free(p->dist_op);
  free(p->show_op);
  free(p->show_stored);
  free(p->show_dist_row);
  free(p->sg_op);
  free(p->sg_genre_id);
  free(p->sg_off);
  free(p->episode_op);
  free(p->episode_dist);
  *p = (struct day_plan){0};
}
