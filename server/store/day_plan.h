/*
 * day_plan: what one day's write sends, decided without a database. Every
 * row of a struct row_batch is sorted against the run memo and the day's
 * keys (run_memo.h) into an operation:
 *
 *   table         operations          decided by
 *   countries     SKIP, UPSERT        memo row hash (day_plan_init)
 *   distributors  SKIP, UPSERT        memo row hash (day_plan_init)
 *   shows         SKIP, COPY, UPSERT  memo row hash (init); stored or not,
 *                                     distributor row id, tvmaze_updated
 *                                     (day_plan_route)
 *   show_genres   per kept show: pairs COPYed (a COPYed show whose genres'
 *                 row ids are all known), else set against the stored pairs
 *                 (delete those of stored shows no longer listed, insert the
 *                 missing: UPSERT); SKIP for a skipped show
 *   episodes      COPY, UPSERT        stored or not, its show and that
 *                                     show's distributor in the batch with
 *                                     a known row id (day_plan_route)
 *
 * SKIP: the memo knows the row as this run committed it; it counts as
 * unchanged. COPY: the table lacks the row (as far as the keys know); a
 * row taken for new that is stored after all makes the COPY fail on the
 * key, and the executor routes the day again with upserts_only. UPSERT:
 * INSERT .. ON CONFLICT DO UPDATE .. WHERE changed. Room is left for a
 * REMOVE operation and the change records of each row (the change feed:
 * ARCHITECTURE.md "Changes and versions"): one more op value and arrays
 * beside these.
 *
 * Two passes, because some keys are known only after the day's first
 * statements ran: day_plan_init (batch + memo: row hashes, SKIP or not)
 * before anything is sent, day_plan_route (batch + day keys: COPY or
 * UPSERT) after the countries, distributors and genres statements (whose
 * RETURNING gives new row ids) and the probe. Both are pure: no database,
 * no libpq; one pass over the batch's arrays each, and a fixed number of
 * allocations per day (none per row). Tests: tests/unit/test_day_plan.c.
 */
#ifndef TVMAZE_STORE_DAY_PLAN_H
#define TVMAZE_STORE_DAY_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "rows.h"
#include "run_memo.h"

enum day_op {
  DAY_SKIP = 0,   /* left out: the memo knows it unchanged */
  DAY_COPY = 1,   /* new: COPY .. FROM STDIN */
  DAY_UPSERT = 2, /* stored (or not known to be new): upsert */
  /* next (the change feed): DAY_REMOVE, an episode of a completely fetched
   * day that nobody listed */
};

/* The plan of one day; arrays are indexed like the batch's rows. */
struct day_plan {
  /* day_plan_init */
  uint64_t *country_h, *dist_h, *show_h; /* row hashes (the memo records them) */
  unsigned char *country_op, *dist_op;   /* enum day_op: SKIP or UPSERT */
  /* day_plan_init (SKIP or not), then day_plan_route */
  unsigned char *show_op; /* enum day_op */
  /* day_plan_route */
  unsigned char *show_stored; /* 1: stored show, its pairs are compared */
  uint64_t *show_dist_row;    /* COPYed show: distributors.id, 0 = NULL */
  unsigned char *sg_op;       /* the show's genre pairs: enum day_op */
  long long *sg_genre_id;     /* COPYed pairs' genre ids, from sg_off[i] */
  size_t *sg_off;             /* show i's first genre in sg_genre_id */
  unsigned char *episode_op;  /* enum day_op: COPY or UPSERT */
  size_t *episode_dist;       /* COPYed episode: batch distributor index + 1
                                 (its country_code), 0 = NULL */
  /* rows per operation (the executor sends no empty statement) */
  size_t n_countries_sent, n_dists_sent, n_shows_kept;
  size_t n_shows_copy, n_shows_upsert, n_episodes_copy, n_episodes_upsert;
};

/* Hashes b's countries, distributors and shows and marks SKIP those whose
 * hash equals memo's (memo NULL: none); the rest are UPSERT until routed.
 * Release with day_plan_release. */
void day_plan_init(struct day_plan *p, const struct row_batch *b,
                   const struct store_ingest_memo *memo);

/* Routes the kept shows, their genre pairs and every episode to COPY or
 * UPSERT with what x knows (stored rows, distributor and genre row ids);
 * upserts_only: every one UPSERT (the retry after a COPY conflict). May be
 * called again (each call replaces the previous routing). */
void day_plan_route(struct day_plan *p, const struct row_batch *b, const struct day_keys *x,
                    int upserts_only);

/* Frees the plan. Accepts a zeroed one. */
void day_plan_release(struct day_plan *p);

#endif
