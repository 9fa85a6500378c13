/*
 * ingest_parse: see ingest_parse.h. Two steps per document:
 *
 *   items    every item of the document as a jansson value, with the memo's
 *            rows for its show when the memo has them (items_from_spans_,
 *            or items_from_whole_ when json_span cannot split the document);
 *            nothing touches the batch yet, so a failure leaves it as it was
 *   merge    one loop over the items: normalize (ingest_normalize.h) and
 *            merge into the batch, deduplicated by natural key
 *
 * Assumes the caller's thread may use the jansson arena (ingest_arena.h):
 * every jansson value made here is freed before the call returns, and
 * every string the batch or the memo keeps is a copy.
 */
#include "ingest_parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ingest_arena.h"
#include "ingest_normalize.h"
#include "json_span.h"
#include "xalloc.h"

/* ------------------------------------------------------------------ */
/* Batch: rows merged by natural key                                  */
/* ------------------------------------------------------------------ */

/* Strings of rows live in an arena: a batch's (b->strings, 64 KiB chunks,
 * all freed by row_batch_release: the writer thread frees a day's rows in
 * a few calls instead of one per string; a replaced row's strings stay until
 * then), or the show memo's (rows shared by the batches of a run). */

#define GROW_(arr, n, cap)                            \
  do {                                                \
    if ((n) == (cap)) {                               \
      (cap) = (cap) ? (cap)*2 : 16;                   \
      (arr) = xrealloc((arr), (cap) * sizeof *(arr)); \
    }                                                 \
  } while (0)

/* Keys of the batch's index (b->index), tagged by table in the top byte;
 * values are row index + 1. A country code is two letters
 * (ingest_normalize). */
#define KEY_EPISODE_(id) ((uint64_t)1 << 56 | (uint32_t)(id))
#define KEY_SHOW_(id) ((uint64_t)2 << 56 | (uint32_t)(id))
#define KEY_DIST_(kind, id) ((uint64_t)3 << 56 | (uint64_t)((kind)&0xff) << 32 | (uint32_t)(id))
#define KEY_COUNTRY_(code) \
  ((uint64_t)4 << 56 | (uint64_t)(unsigned char)(code)[0] << 8 | (unsigned char)(code)[1])

/* The row of key in b: its index, or the index of a new row at the end
 * (counted in *n, the array grown by the caller's GROW_ beforehand). */
static size_t row_of_(struct row_batch *b, uint64_t key, size_t *n) {
  uint64_t v = u64map_get(&b->index, key);
  if (v != 0) {
    return (size_t)v - 1;
  }
  u64map_put(&b->index, key, *n + 1);
  return (*n)++;
}

/* Merges a show's rows into b unless b has that show already (the first
 * one of the day is kept): its country and distributor replace earlier
 * rows of the same key (the last one wins), its show row is appended.
 * Returns the show id. */
static int show_merge_(struct row_batch *b, const struct ingest_show_rows *n) {
  if (u64map_get(&b->index, KEY_SHOW_(n->row.id)) != 0) {
    return n->row.id;
  }
  if (n->has_country) {
    GROW_(b->countries, b->n_countries, b->cap_countries);
    b->countries[row_of_(b, KEY_COUNTRY_(n->country.code), &b->n_countries)] = n->country;
  }
  if (n->has_dist) {
    GROW_(b->distributors, b->n_distributors, b->cap_distributors);
    b->distributors[row_of_(b, KEY_DIST_(n->dist.kind, n->dist.tvmaze_id), &b->n_distributors)] =
        n->dist;
  }
  GROW_(b->shows, b->n_shows, b->cap_shows);
  b->shows[row_of_(b, KEY_SHOW_(n->row.id), &b->n_shows)] = n->row;
  return n->row.id;
}

/* ------------------------------------------------------------------ */
/* Items of a document                                                */
/* ------------------------------------------------------------------ */

struct item_ {
  json_t *v; /* the item (its show object replaced by null when show came from a hit) */
  const struct ingest_show_rows *show; /* the memo's rows for its show, or NULL: v's own */
  int hit;                             /* show was found in the memo, not recorded here */
};

/* A document's items; root: the whole document when they are its array's
 * elements (items_from_whole_), else each v is the caller's. */
struct items_ {
  struct item_ *v;
  size_t n, cap;
  json_t *root;
};

static void items_release_(struct items_ *it) {
  if (it->root != NULL) {
    json_decref(it->root);
  } else {
    for (size_t i = 0; i < it->n; i++) {
      json_decref(it->v[i].v);
    }
  }
  free(it->v);
  *it = (struct items_){0};
}

/* jansson's value of item span s, with its show object's bytes replaced by
 * null when hit (scratch: a buffer reused across items). NULL: rejected. */
static json_t *load_item_(const struct json_span_item *s, int hit, char **scratch, size_t *cap) {
  json_error_t jerr;
  if (!hit) {
    return json_loadb(s->p, (size_t)(s->end - s->p), JSON_DECODE_ANY, &jerr);
  }
  size_t pre = (size_t)(s->show - s->p), post = (size_t)(s->end - s->show_end);
  if (pre + 4 + post > *cap) {
    *cap = (pre + 4 + post) * 2;
    *scratch = xrealloc(*scratch, *cap);
  }
  memcpy(*scratch, s->p, pre);
  memcpy(*scratch + pre, "null", 4);
  memcpy(*scratch + pre + 4, s->show_end, post);
  return json_loadb(*scratch, pre + 4 + post, JSON_DECODE_ANY, &jerr);
}

/* The items through json_span: each item goes to jansson on its own; an
 * item whose show object the memo knows is parsed without it, and a show
 * object new to the memo is normalized into it (when it has room) as soon
 * as its item parsed, so that later items with the same bytes, in this
 * document or any later one, hit. Every byte jansson does not see is one it
 * accepted before as a show object (and json_span checks the array's own
 * punctuation), so the items are those of jansson's parse of the whole
 * document. 0 (it empty): anything json_span or jansson refuses, for the
 * whole-document parse to decide. */
static int items_from_spans_(struct items_ *it, struct ingest_show_memo *m, const char *json,
                             size_t n) {
  struct json_span_array a;
  struct json_span_item s;
  char *scratch = NULL;
  size_t cap_scratch = 0;
  int r;
  json_span_array_begin(&a, json, n);
  while ((r = json_span_array_next(&a, &s)) > 0) {
    struct item_ item = {0};
    struct ingest_show_key key = {0};
    if (s.show != NULL) {
      key = ingest_show_key_of(s.show, (size_t)(s.show_end - s.show));
      item.show = ingest_show_memo_find(m, &key);
      item.hit = item.show != NULL;
    }
    item.v = load_item_(&s, item.hit, &scratch, &cap_scratch);
    if (item.v == NULL) {
      r = -1;
      break;
    }
    struct arena *room = s.show != NULL && !item.hit ? ingest_show_memo_room(m, &key) : NULL;
    struct ingest_show_rows rows;
    if (room != NULL && ingest_norm_show(room, ingest_norm_item_show(item.v), &rows) != 0) {
      item.show = ingest_show_memo_add(m, &key, &rows);
    }
    GROW_(it->v, it->n, it->cap);
    it->v[it->n++] = item;
  }
  free(scratch);
  if (r < 0) {
    items_release_(it);
    return 0;
  }
  return 1;
}

/* The items as the elements of jansson's parse of the whole document. */
static enum ingest_parse_status items_from_whole_(struct items_ *it, const char *json, size_t n,
                                                  char *err, size_t errlen) {
  json_error_t jerr;
  json_t *root = json_loadb(json, n, 0, &jerr);
  if (root == NULL) {
    /* jansson says "unable to decode byte 0x.." of bytes that are no UTF-8 */
    int utf8 = json_error_code(&jerr) == json_error_invalid_utf8 ||
               strstr(jerr.text, "unable to decode byte") != NULL;
    snprintf(err, errlen, "malformed JSON at line %d column %d: %s%s", jerr.line, jerr.column,
             jerr.text, utf8 ? " (invalid UTF-8)" : "");
    return INGEST_PARSE_BAD_JSON;
  }
  if (!json_is_array(root)) {
    json_decref(root);
    snprintf(err, errlen, "schedule is not a JSON array");
    return INGEST_PARSE_BAD_SHAPE;
  }
  it->root = root;
  it->n = it->cap = json_array_size(root);
  it->v = xcalloc(it->n + 1, sizeof *it->v);
  for (size_t i = 0; i < it->n; i++) {
    it->v[i].v = json_array_get(root, i);
  }
  return INGEST_PARSE_OK;
}

/* ------------------------------------------------------------------ */
/* The normalizer loop                                                */
/* ------------------------------------------------------------------ */

/* Merges every item into b. An item needs a positive id and a usable show
 * (the memo's rows, else its own show object normalized into b). */
static void merge_items_(struct row_batch *b, const struct items_ *it, struct ingest_show_memo *m) {
  size_t hits = 0;
  for (size_t i = 0; i < it->n; i++) {
    const struct item_ *item = &it->v[i];
    b->items_seen++;
    int id = json_is_object(item->v) ? ingest_norm_id(item->v) : 0;
    int show_id = 0;
    hits += (size_t)item->hit;
    if (id != 0 && item->show != NULL) {
      show_id = show_merge_(b, item->show);
    } else if (id != 0) {
      const json_t *show = ingest_norm_item_show(item->v);
      show_id = ingest_norm_id(show);
      if (show_id != 0 && !json_is_string(json_object_get(show, "name"))) {
        show_id = 0;
      }
      struct ingest_show_rows rows;
      if (show_id != 0 && u64map_get(&b->index, KEY_SHOW_(show_id)) == 0 &&
          ingest_norm_show(&b->strings, show, &rows) != 0) {
        show_merge_(b, &rows);
      }
    }
    if (show_id == 0) {
      b->items_skipped++;
      continue;
    }
    GROW_(b->episodes, b->n_episodes, b->cap_episodes);
    ingest_norm_episode(&b->strings, item->v, id, show_id,
                        &b->episodes[row_of_(b, KEY_EPISODE_(id), &b->n_episodes)]);
  }
  ingest_show_memo_count_hits(m, hits);
}

/* ------------------------------------------------------------------ */
/* Documents                                                          */
/* ------------------------------------------------------------------ */

static enum ingest_parse_status parse_(struct row_batch *b, struct ingest_show_memo *m, int spans,
                                       const char *json, size_t n, char *err, size_t errlen) {
  struct items_ it = {0};
  enum ingest_parse_status st = INGEST_PARSE_OK;
  /* jansson's values live in this thread's arena until the end of the call;
   * every string kept in b or m is copied out (ingest_normalize) */
  ingest_arena_begin();
  if (!spans || !items_from_spans_(&it, m, json, n)) {
    st = items_from_whole_(&it, json, n, err, errlen);
  }
  if (st == INGEST_PARSE_OK) {
    merge_items_(b, &it, m);
  }
  items_release_(&it);
  ingest_arena_end();
  return st;
}

enum ingest_parse_status ingest_parse_schedule(struct row_batch *b, struct ingest_show_memo *m,
                                               const char *json, size_t n, char *err,
                                               size_t errlen) {
  return parse_(b, m, 1, json, n, err, errlen);
}

enum ingest_parse_status ingest_parse_schedule_whole(struct row_batch *b, const char *json,
                                                     size_t n, char *err, size_t errlen) {
  return parse_(b, NULL, 0, json, n, err, errlen);
}
