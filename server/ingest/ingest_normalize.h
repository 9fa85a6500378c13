/*
 * ingest_normalize: one schedule item or embedded show object (a jansson
 * value) to rows: the field mapping tabled in ingest_parse.h, value by
 * value, with no knowledge of batches, documents or the show memo.
 *
 * Pure functions of the value: equal values give equal rows, which is what
 * lets the show memo (ingest_show_memo.h) stand in for a show object with
 * the bytes of one normalized before. Field access is defensive: every
 * member may be missing, null or of the wrong type, and each is then NULL.
 * Every string of a result is a copy in the arena passed (nothing points
 * into the jansson value), so the value may be freed at once.
 *
 * Thread safety: none needed (no state); the arena is the caller's.
 * Tests: tests/unit/test_ingest_parse.c (through ingest_parse_schedule).
 */
#ifndef TVMAZE_INGEST_NORMALIZE_H
#define TVMAZE_INGEST_NORMALIZE_H

#include "arena.h"
#include "rows.h"

struct json_t; /* jansson's json_t: this header does not include jansson */

/* What one embedded show object contributes to a day's batch: its row and,
 * if usable, its distributor and that distributor's country. The strings
 * live in the arena the show was normalized into. */
struct ingest_show_rows {
  struct row_show row;
  int has_country, has_dist;
  struct row_country country;
  struct row_distributor dist;
};

/* obj's member "id" if it is an integer in 1..INT32_MAX, else 0. */
int ingest_norm_id(const struct json_t *obj);

/* The show object of a schedule item: its member "show" if that is an
 * object, else "_embedded"'s member "show" if that is one; else NULL.
 * Borrowed from item. */
const struct json_t *ingest_norm_item_show(const struct json_t *item);

/* A show object with an id and a name string: *out (strings in a) and its
 * id. 0 (out untouched, nothing allocated) if it lacks either. */
int ingest_norm_show(struct arena *a, const struct json_t *show, struct ingest_show_rows *out);

/* The episode columns of item (an object) as episode id of show show_id,
 * strings in a. */
void ingest_norm_episode(struct arena *a, const struct json_t *item, int id, int show_id,
                         struct row_episode *out);

#endif
