/*
 * ingest_parse: see ingest_parse.h. Two steps per document:
 *
 *   items    each item of the document parsed by jansson, normalized
 *            (ingest_normalize.h) into the document's pending list and
 *            freed before the next one is parsed, with the memo's rows for
 *            its show when the memo has them (items_from_spans_, or
 *            items_from_whole_ when json_span cannot split the document);
 *            nothing touches the batch's rows yet, so a failure leaves
 *            them as they were
 *   merge    one loop over the pending items: merged into the batch,
 *            deduplicated by natural key
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
/* Items of a document: normalized one by one, merged at the end      */
/* ------------------------------------------------------------------ */

/* One item of the document, normalized: the episode row and where its
 * show's rows are (show_id 0: the item is skipped). */
struct pend_item_ {
  struct row_episode ep;
  int show_id;
  const struct ingest_show_rows *memo; /* the memo's rows for the show, or NULL */
  size_t own;                          /* else index + 1 in pend_.shows, or 0 */
};

/* The document's items so far; nothing of it is in the batch yet. Its
 * strings are in the batch's arena (garbage there if the document fails). */
struct pend_ {
  struct pend_item_ *v;
  size_t n, cap;
  struct ingest_show_rows *shows; /* shows normalized from this document's items */
  size_t n_shows, cap_shows;
  struct u64map index; /* show id -> index + 1 in shows */
  size_t hits;         /* items whose show came from the memo */
};

static void pend_release_(struct pend_ *p) {
  free(p->v);
  free(p->shows);
  u64map_release(&p->index);
  *p = (struct pend_){0};
}

/* Normalizes item v (its show object replaced by null when memo is its
 * show's rows) into p: an item needs a positive id and a usable show (the
 * memo's rows, else its own show object, normalized once per day: not when
 * the batch or this document has that show already). */
static void pend_add_(struct pend_ *p, struct row_batch *b, const json_t *v,
                      const struct ingest_show_rows *memo, int hit) {
  GROW_(p->v, p->n, p->cap);
  struct pend_item_ *it = &p->v[p->n++];
  *it = (struct pend_item_){0};
  p->hits += (size_t)hit;
  int id = json_is_object(v) ? ingest_norm_id(v) : 0;
  if (id != 0 && memo != NULL) {
    it->show_id = memo->row.id;
    it->memo = memo;
  } else if (id != 0) {
    const json_t *show = ingest_norm_item_show(v);
    int show_id = ingest_norm_id(show);
    if (show_id != 0 && !json_is_string(json_object_get(show, "name"))) {
      show_id = 0;
    }
    it->show_id = show_id;
    if (show_id != 0 && u64map_get(&b->index, KEY_SHOW_(show_id)) == 0 &&
        u64map_get(&p->index, KEY_SHOW_(show_id)) == 0) {
      GROW_(p->shows, p->n_shows, p->cap_shows);
      if (ingest_norm_show(&b->strings, show, &p->shows[p->n_shows]) != 0) {
        p->n_shows++;
        u64map_put(&p->index, KEY_SHOW_(show_id), p->n_shows);
      }
    }
    it->own = (size_t)u64map_get(&p->index, KEY_SHOW_(show_id));
  }
  if (it->show_id != 0) {
    ingest_norm_episode(&b->strings, v, id, it->show_id, &it->ep);
  }
}

/* Merges p's items into b, deduplicated by natural key. */
static void pend_merge_(struct row_batch *b, const struct pend_ *p, struct ingest_show_memo *m) {
  for (size_t i = 0; i < p->n; i++) {
    const struct pend_item_ *it = &p->v[i];
    b->items_seen++;
    if (it->show_id == 0) {
      b->items_skipped++;
      continue;
    }
    if (it->memo != NULL) {
      show_merge_(b, it->memo);
    } else if (it->own != 0) {
      show_merge_(b, &p->shows[it->own - 1]);
    }
    GROW_(b->episodes, b->n_episodes, b->cap_episodes);
    b->episodes[row_of_(b, KEY_EPISODE_(it->ep.id), &b->n_episodes)] = it->ep;
  }
  ingest_show_memo_count_hits(m, p->hits);
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

/* The items through json_span: each item goes to jansson on its own and is
 * normalized and freed before the next one (so jansson holds one item at a
 * time); an item whose show object the memo knows is parsed without it,
 * and a show object new to the memo is normalized into it (when it has
 * room) as soon as its item parsed, so that later items with the same
 * bytes, in this document or any later one, hit. Every byte jansson does
 * not see is one it accepted before as a show object (and json_span checks
 * the array's own punctuation), so the items are those of jansson's parse
 * of the whole document. 0 (p empty): anything json_span or jansson
 * refuses, for the whole-document parse to decide. */
static int items_from_spans_(struct pend_ *p, struct row_batch *b, struct ingest_show_memo *m,
                             const char *json, size_t n) {
  struct json_span_array a;
  struct json_span_item s;
  char *scratch = NULL;
  size_t cap_scratch = 0;
  int r;
  json_span_array_begin(&a, json, n);
  while ((r = json_span_array_next(&a, &s)) > 0) {
    const struct ingest_show_rows *show = NULL;
    struct ingest_show_key key = {0};
    if (s.show != NULL) {
      key = ingest_show_key_of(s.show, (size_t)(s.show_end - s.show));
      show = ingest_show_memo_find(m, &key);
    }
    int hit = show != NULL;
    json_t *v = load_item_(&s, hit, &scratch, &cap_scratch);
    if (v == NULL) {
      r = -1;
      break;
    }
    struct arena *room = s.show != NULL && !hit ? ingest_show_memo_room(m, &key) : NULL;
    struct ingest_show_rows rows;
    if (room != NULL && ingest_norm_show(room, ingest_norm_item_show(v), &rows) != 0) {
      show = ingest_show_memo_add(m, &key, &rows);
    }
    pend_add_(p, b, v, show, hit);
    json_decref(v);
  }
  free(scratch);
  if (r < 0) {
    pend_release_(p);
    return 0;
  }
  return 1;
}

/* The items as the elements of jansson's parse of the whole document. */
static enum ingest_parse_status items_from_whole_(struct pend_ *p, struct row_batch *b,
                                                  const char *json, size_t n, char *err,
                                                  size_t errlen) {
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
  for (size_t i = 0; i < json_array_size(root); i++) {
    pend_add_(p, b, json_array_get(root, i), NULL, 0);
  }
  json_decref(root);
  return INGEST_PARSE_OK;
}

/* ------------------------------------------------------------------ */
/* Documents                                                          */
/* ------------------------------------------------------------------ */

static enum ingest_parse_status parse_(struct row_batch *b, struct ingest_show_memo *m, int spans,
                                       const char *json, size_t n, char *err, size_t errlen) {
  struct pend_ p = {0};
  enum ingest_parse_status st = INGEST_PARSE_OK;
  /* jansson's values live in this thread's arena, one item at a time when
   * json_span splits the document; every string kept in b or m is copied
   * out (ingest_normalize) */
  ingest_arena_begin();
  if (!spans || !items_from_spans_(&p, b, m, json, n)) {
    st = items_from_whole_(&p, b, json, n, err, errlen);
  }
  ingest_arena_end();
  if (st == INGEST_PARSE_OK) {
    pend_merge_(b, &p, m);
  }
  pend_release_(&p);
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
