/*
 * store_map: the row -> Show / Episode decoders; see store_map.h for the
 * column lists they read.
 */
#include "store_map.h"

#include "json_strs.h"
#include "store_read.h"

Tvmaze__V1__Episode *store_map_episode(struct arena *a, const PGresult *r, int row, int c) {
  Tvmaze__V1__Episode *e = arena_alloc(a, sizeof *e);
  tvmaze__v1__episode__init(e);
  e->id = (int32_t)store_read_int(r, row, c + 0);
  e->show_id = (int32_t)store_read_int(r, row, c + 1);
  e->name = store_read_str(a, r, row, c + 2);
  e->season = store_read_int32_value(a, r, row, c + 3);
  e->number = store_read_int32_value(a, r, row, c + 4);
  e->type = store_read_str(a, r, row, c + 5);
  e->airdate = store_read_str(a, r, row, c + 6);
  e->airtime = store_read_str(a, r, row, c + 7);
  e->airstamp = store_read_timestamp(a, r, row, c + 8);
  e->runtime = store_read_int32_value(a, r, row, c + 9);
  e->rating = store_read_double_value(a, r, row, c + 10);
  e->summary = store_read_str(a, r, row, c + 11);
  e->image_url = store_read_str(a, r, row, c + 12);
  return e;
}

void store_map_episode_local(struct arena *a, const PGresult *r, int row, int c,
                             Tvmaze__V1__Episode *e) {
  e->local_airdate = store_read_str(a, r, row, c + 0);
  e->local_airtime = store_read_str(a, r, row, c + 1);
}

/* The genres column: json_agg of the genre names (STORE_MAP_SHOW_COLS_OVER), a JSON array
 * of strings; anything else gives no genres. */
static void genres_from_json_(struct arena *a, Tvmaze__V1__Show *s, const char *text) {
  char **v = NULL;
  size_t n = 0;
  if (json_strs_decode(a, text, &v, &n) == 0 && n > 0) {
    s->genres = v;
    s->n_genres = n;
  }
}

Tvmaze__V1__Show *store_map_show(struct arena *a, const PGresult *r, int row, int c) {
  Tvmaze__V1__Show *s = arena_alloc(a, sizeof *s);
  tvmaze__v1__show__init(s);
  s->id = (int32_t)store_read_int(r, row, c + 0);
  s->name = store_read_str(a, r, row, c + 1);
  s->type = store_read_str(a, r, row, c + 2);
  s->language = store_read_str(a, r, row, c + 3);
  s->status = store_read_str(a, r, row, c + 4);
  s->runtime = store_read_int32_value(a, r, row, c + 5);
  s->premiered = store_read_str(a, r, row, c + 6);
  s->ended = store_read_str(a, r, row, c + 7);
  s->official_site = store_read_str(a, r, row, c + 8);
  s->rating = store_read_double_value(a, r, row, c + 9);
  s->weight = store_read_int32_value(a, r, row, c + 10);
  s->summary = store_read_str(a, r, row, c + 11);
  s->image_url = store_read_str(a, r, row, c + 12);
  if (!PQgetisnull(r, row, c + 13)) {
    Tvmaze__V1__Distributor *d = arena_alloc(a, sizeof *d);
    tvmaze__v1__distributor__init(d);
    d->id = (int32_t)store_read_int(r, row, c + 13);
    d->kind = store_read_int(r, row, c + 14) == 2
                  ? TVMAZE__V1__DISTRIBUTOR_KIND__DISTRIBUTOR_KIND_WEB_CHANNEL
                  : TVMAZE__V1__DISTRIBUTOR_KIND__DISTRIBUTOR_KIND_NETWORK;
    d->name = store_read_str(a, r, row, c + 15);
    if (!PQgetisnull(r, row, c + 16)) {
      Tvmaze__V1__Country *co = arena_alloc(a, sizeof *co);
      tvmaze__v1__country__init(co);
      co->code = store_read_str(a, r, row, c + 16);
      co->name = store_read_str(a, r, row, c + 17);
      co->timezone = store_read_str(a, r, row, c + 18);
      d->country = co;
    }
    s->distributor = d;
  }
  s->updated_at = store_read_timestamp(a, r, row, c + 19);
  if (!PQgetisnull(r, row, c + 20)) {
    genres_from_json_(a, s, PQgetvalue(r, row, c + 20));
  }
  s->average_runtime = store_read_int32_value(a, r, row, c + 21);
  return s;
}
