/*
 * batch_cmp: see batch_cmp.h.
 */
#include "batch_cmp.h"

#include <stdio.h>
#include <string.h>

static int str_diff_(const char *x, const char *y) {
  if (x == NULL || y == NULL) {
    return x != y;
  }
  return strcmp(x, y) != 0;
}

#define CMP_INT_(what, i, x, y)                                                          \
  do {                                                                                   \
    if ((x) != (y)) {                                                                    \
      snprintf(why, n, "%s %zu: %s %lld != %lld", what, (size_t)(i), #x, (long long)(x), \
               (long long)(y));                                                          \
      return 1;                                                                          \
    }                                                                                    \
  } while (0)

#define CMP_STR_(what, i, x, y)                                                                    \
  do {                                                                                             \
    if (str_diff_((x), (y))) {                                                                     \
      snprintf(why, n, "%s %zu: %s \"%s\" != \"%s\"", what, (size_t)(i), #x, (x) ? (x) : "(null)", \
               (y) ? (y) : "(null)");                                                              \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

int ingest_batch_diff(const struct row_batch *a, const struct row_batch *b, char *why, size_t n) {
  CMP_INT_("batch", 0, a->items_seen, b->items_seen);
  CMP_INT_("batch", 0, a->items_skipped, b->items_skipped);
  CMP_INT_("batch", 0, a->n_countries, b->n_countries);
  CMP_INT_("batch", 0, a->n_distributors, b->n_distributors);
  CMP_INT_("batch", 0, a->n_shows, b->n_shows);
  CMP_INT_("batch", 0, a->n_episodes, b->n_episodes);
  for (size_t i = 0; i < a->n_countries; i++) {
    const struct row_country *x = &a->countries[i], *y = &b->countries[i];
    CMP_STR_("country", i, x->code, y->code);
    CMP_STR_("country", i, x->name, y->name);
    CMP_STR_("country", i, x->timezone, y->timezone);
  }
  for (size_t i = 0; i < a->n_distributors; i++) {
    const struct row_distributor *x = &a->distributors[i], *y = &b->distributors[i];
    CMP_INT_("distributor", i, x->kind, y->kind);
    CMP_INT_("distributor", i, x->tvmaze_id, y->tvmaze_id);
    CMP_STR_("distributor", i, x->name, y->name);
    CMP_STR_("distributor", i, x->country_code, y->country_code);
    CMP_STR_("distributor", i, x->official_site, y->official_site);
  }
  for (size_t i = 0; i < a->n_shows; i++) {
    const struct row_show *x = &a->shows[i], *y = &b->shows[i];
    CMP_INT_("show", i, x->id, y->id);
    CMP_STR_("show", i, x->name, y->name);
    CMP_STR_("show", i, x->type, y->type);
    CMP_STR_("show", i, x->language, y->language);
    CMP_STR_("show", i, x->status, y->status);
    CMP_STR_("show", i, x->runtime, y->runtime);
    CMP_STR_("show", i, x->premiered, y->premiered);
    CMP_STR_("show", i, x->ended, y->ended);
    CMP_STR_("show", i, x->official_site, y->official_site);
    CMP_STR_("show", i, x->rating, y->rating);
    CMP_STR_("show", i, x->weight, y->weight);
    CMP_STR_("show", i, x->summary, y->summary);
    CMP_STR_("show", i, x->image_url, y->image_url);
    CMP_STR_("show", i, x->tvmaze_updated, y->tvmaze_updated);
    CMP_INT_("show", i, x->dist_kind, y->dist_kind);
    CMP_INT_("show", i, x->dist_id, y->dist_id);
    CMP_INT_("show", i, x->n_genres, y->n_genres);
    for (size_t g = 0; g < x->n_genres; g++) {
      CMP_STR_("show genre", i, x->genres[g], y->genres[g]);
    }
  }
  for (size_t i = 0; i < a->n_episodes; i++) {
    const struct row_episode *x = &a->episodes[i], *y = &b->episodes[i];
    CMP_INT_("episode", i, x->id, y->id);
    CMP_INT_("episode", i, x->show_id, y->show_id);
    CMP_STR_("episode", i, x->name, y->name);
    CMP_STR_("episode", i, x->season, y->season);
    CMP_STR_("episode", i, x->number, y->number);
    CMP_STR_("episode", i, x->type, y->type);
    CMP_STR_("episode", i, x->airdate, y->airdate);
    CMP_STR_("episode", i, x->airtime, y->airtime);
    CMP_STR_("episode", i, x->airstamp, y->airstamp);
    CMP_STR_("episode", i, x->runtime, y->runtime);
    CMP_STR_("episode", i, x->rating, y->rating);
    CMP_STR_("episode", i, x->summary, y->summary);
    CMP_STR_("episode", i, x->image_url, y->image_url);
  }
  return 0;
}
