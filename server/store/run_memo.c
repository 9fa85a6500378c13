/*
 * run_memo: the run memo, the day's key index and the row hashes; see
 * run_memo.h for the tag table. Pure memory work (u64map, xalloc: out of
 * memory aborts), no database.
 */
#include "run_memo.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "store_ingest.h"
#include "xalloc.h"

/* ------------------------------------------------------------------ */
/* Genre rows                                                         */
/* ------------------------------------------------------------------ */

void genre_ids_add(struct genre_ids *g, const char *name, long long id) {
  if (g->n == g->cap) {
    g->cap = g->cap ? 2 * g->cap : 32;
    g->names = xrealloc(g->names, g->cap * sizeof *g->names);
    g->ids = xrealloc(g->ids, g->cap * sizeof *g->ids);
  }
  g->names[g->n] = xstrdup(name);
  g->ids[g->n++] = id;
}

long long genre_ids_find(const struct genre_ids *g, const char *name) {
  for (size_t i = 0; i < g->n; i++) {
    if (strcmp(g->names[i], name) == 0) {
      return g->ids[i];
    }
  }
  return 0;
}

void genre_ids_release(struct genre_ids *g) {
  for (size_t i = 0; i < g->n; i++) {
    free(g->names[i]);
  }
  free(g->names);
  free(g->ids);
  *g = (struct genre_ids){0};
}

/* ------------------------------------------------------------------ */
/* Run memo                                                           */
/* ------------------------------------------------------------------ */

struct store_ingest_memo *store_ingest_memo_create(void) {
  return xcalloc(1, sizeof(struct store_ingest_memo));
}

void store_ingest_memo_destroy(struct store_ingest_memo *m) {
  if (m == NULL) {
    return;
  }
  u64map_release(&m->t);
  u32set_release(&m->stored_shows);
  u32set_release(&m->stored_episodes);
  genre_ids_release(&m->genres);
  free(m);
}

void run_memo_put(struct store_ingest_memo *m, long long tag, long long id, int kind, int tvmaze_id,
                  const char *name) {
  if (tag == RUN_TAG_STORED_SHOW && id > 0 && id <= INT32_MAX) {
    u32set_add(&m->stored_shows, (uint32_t)id);
  } else if (tag == RUN_TAG_STORED_EP && id > 0 && id <= INT32_MAX) {
    u32set_add(&m->stored_episodes, (uint32_t)id);
  } else {
    run_memo_put_row(&m->t, &m->genres, tag, id, kind, tvmaze_id, name);
  }
}

/* The run memo's value of key (its sets answer 1 for a stored id). */
static uint64_t run_memo_get_(const struct store_ingest_memo *m, uint64_t key) {
  uint64_t tag = key >> 56;
  uint32_t id = (uint32_t)key;
  if (tag == RUN_TAG_STORED_SHOW) {
    return (uint64_t)u32set_has(&m->stored_shows, id);
  }
  if (tag == RUN_TAG_STORED_EP) {
    return (uint64_t)u32set_has(&m->stored_episodes, id);
  }
  return u64map_get(&m->t, key);
}

void run_memo_put_row(struct u64map *t, struct genre_ids *g, long long tag, long long id, int kind,
                      int tvmaze_id, const char *name) {
  if (tag == RUN_TAG_STORED_SHOW) {
    u64map_put(t, run_key_stored_show((int)id), 1);
  } else if (tag == RUN_TAG_STORED_EP) {
    u64map_put(t, run_key_stored_episode((int)id), 1);
  } else if (tag == RUN_TAG_DIST_ROW && id > 0) {
    u64map_put(t, run_key_dist_row(kind, tvmaze_id), (uint64_t)id);
  } else if (tag == RUN_TAG_GENRE_ROW && id > 0 && name != NULL) {
    genre_ids_add(g, name, id);
  }
}

void run_memo_learn(struct store_ingest_memo *m, const struct row_batch *b,
                    const struct day_keys *x, int committed) {
  if (m == NULL || !m->preloaded) {
    return;
  }
  for (size_t i = 0; i < b->n_shows; i++) {
    run_memo_put(m, RUN_TAG_STORED_SHOW, b->shows[i].id, 0, 0, NULL);
  }
  for (size_t i = 0; i < b->n_episodes; i++) {
    run_memo_put(m, RUN_TAG_STORED_EP, b->episodes[i].id, 0, 0, NULL);
  }
  if (!committed) {
    return;
  }
  const uint64_t dist_row = (uint64_t)RUN_TAG_DIST_ROW << 56;
  for (size_t i = 0; i < x->t.cap; i++) {
    if ((x->t.keys[i] & RUN_TAG_MASK_) == dist_row && x->t.vals[i] != 0) {
      u64map_put(&m->t, x->t.keys[i], x->t.vals[i]);
    }
  }
  for (size_t i = 0; i < x->genres.n; i++) {
    genre_ids_add(&m->genres, x->genres.names[i], x->genres.ids[i]);
  }
}

void run_memo_record(struct store_ingest_memo *m, const struct row_batch *b,
                     const uint64_t *country_h, const uint64_t *dist_h, const uint64_t *show_h,
                     int committed) {
  if (m == NULL) {
    return;
  }
  for (size_t i = 0; i < b->n_countries; i++) {
    uint64_t key = run_key_country_hash(b->countries[i].code);
    if (key != 0) {
      u64map_put(&m->t, key, committed ? country_h[i] : 0);
    }
  }
  for (size_t i = 0; i < b->n_distributors; i++) {
    const struct row_distributor *d = &b->distributors[i];
    u64map_put(&m->t, run_key_dist_hash(d->kind, d->tvmaze_id), committed ? dist_h[i] : 0);
  }
  for (size_t i = 0; i < b->n_shows; i++) {
    u64map_put(&m->t, run_key_show_hash(b->shows[i].id), committed ? show_h[i] : 0);
  }
}

/* ------------------------------------------------------------------ */
/* Row hashes                                                         */
/* ------------------------------------------------------------------ */

/* Over an unambiguous encoding of the fields: NULL is word 0, a string is
 * word 1 then its bytes and length (strings hold no NUL: jansson rejects
 * \u0000), a number its value. */
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

uint64_t run_hash_country(const struct row_country *c) {
  return h_final_(h_str_(h_str_(h_str_(0, c->code), c->name), c->timezone));
}

uint64_t run_hash_distributor(const struct row_distributor *d) {
  uint64_t h = h_int_(h_int_(0, d->kind), d->tvmaze_id);
  return h_final_(h_str_(h_str_(h_str_(h, d->name), d->country_code), d->official_site));
}

uint64_t run_hash_show(const struct row_show *sh) {
  const char *f[] = {sh->name,      sh->type,          sh->language,
                     sh->status,    sh->runtime,       sh->average_runtime,
                     sh->premiered, sh->ended,         sh->official_site,
                     sh->rating,    sh->weight,        sh->summary,
                     sh->image_url, sh->tvmaze_updated};
  uint64_t h = h_int_(0, sh->id);
  for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
    h = h_str_(h, f[k]);
  }
  h = h_int_(h_int_(h, sh->dist_kind), sh->dist_id);
  h = h_int_(h, (long long)sh->n_genres);
  for (size_t g = 0; g < sh->n_genres; g++) {
    h = h_str_(h, sh->genres[g]);
  }
  return h_final_(h);
}

/* ------------------------------------------------------------------ */
/* The day's keys                                                     */
/* ------------------------------------------------------------------ */

void day_keys_init(struct day_keys *x, const struct row_batch *b,
                   const struct store_ingest_memo *memo) {
  *x = (struct day_keys){.run = memo != NULL && memo->preloaded ? memo : NULL};
  for (size_t i = 0; i < b->n_shows; i++) {
    u64map_put(&x->t, run_key_batch_show(b->shows[i].id), i + 1);
  }
  for (size_t i = 0; i < b->n_distributors; i++) {
    const struct row_distributor *d = &b->distributors[i];
    u64map_put(&x->t, run_key_batch_dist(d->kind, d->tvmaze_id), i + 1);
  }
}

void day_keys_release(struct day_keys *x) {
  u64map_release(&x->t);
  genre_ids_release(&x->genres);
}

uint64_t day_keys_get(const struct day_keys *x, uint64_t key) {
  uint64_t v = u64map_get(&x->t, key);
  return v == 0 && x->run != NULL ? run_memo_get_(x->run, key) : v;
}

long long day_keys_genre(const struct day_keys *x, const char *name) {
  long long id = genre_ids_find(&x->genres, name);
  return id == 0 && x->run != NULL ? genre_ids_find(&x->run->genres, name) : id;
}
