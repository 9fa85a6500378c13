/*
 * rows: the normalized schedule rows of one day, as ingest produces them and
 * store writes them. A neutral header: ingest (ingest_parse.h) fills a
 * struct row_batch, store (store_ingest.h) reads it, and neither includes
 * the other for it.
 *
 * Every value is text or NULL (SQL NULL); the field mapping from TVMaze's
 * JSON is documented in ingest_parse.h.
 *
 * Not thread-safe per batch; distinct batches may be used from distinct
 * threads.
 */
#ifndef TVMAZE_ROWS_H
#define TVMAZE_ROWS_H

#include <stddef.h>

#include "arena.h"
#include "u64map.h"

struct row_country {
  char *code, *name, *timezone;
};

struct row_distributor {
  int kind; /* 1 network, 2 web channel */
  int tvmaze_id;
  char *name, *country_code, *official_site;
};

struct row_show {
  int id;
  char *name, *type, *language, *status, *runtime, *average_runtime, *premiered, *ended,
      *official_site, *rating, *weight, *summary, *image_url, *tvmaze_updated;
  int dist_kind; /* 0: no distributor */
  int dist_id;
  char **genres; /* in TVMaze's order, duplicates dropped */
  size_t n_genres;
};

struct row_episode {
  int id;
  int show_id;
  char *name, *season, *number, *type, *airdate, *airtime, *airstamp, *runtime, *rating, *summary,
      *image_url;
};

/* Every string (and genre list) of the rows lives in the batch's arena
 * until row_batch_release. */
struct row_batch {
  struct arena strings;
  struct row_country *countries;
  size_t n_countries, cap_countries;
  struct row_distributor *distributors;
  size_t n_distributors, cap_distributors;
  struct row_show *shows;
  size_t n_shows, cap_shows;
  struct row_episode *episodes;
  size_t n_episodes, cap_episodes;
  size_t items_seen;    /* schedule items read */
  size_t items_skipped; /* items without a usable episode or show id/name */
  struct u64map index;  /* row index + 1 by natural key (ingest_parse.c) */
};

void row_batch_init(struct row_batch *b);
/* Frees every row; the batch is empty and reusable. Accepts a zeroed batch. */
void row_batch_release(struct row_batch *b);

#endif
