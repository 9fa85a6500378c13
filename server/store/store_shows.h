/*
 * store_shows: the read SQL of tvmaze.v1.Shows (ListShows, GetShow,
 * ListEpisodes) and the data generation read by the cache.
 *
 * Every statement is a constant, parameterized, lazily prepared statement
 * (db.h). A request costs a fixed number of statements whatever the page
 * size:
 *
 *   call           statements
 *   ListShows      shows_page (page of shows + total), shows_episodes (their
 *                  episodes inside the window, one statement for the page)
 *   GetShow        show_by_id, show_all_episodes
 *   ListEpisodes   episodes_page (page of episodes + total)
 *   GetCalendar    episodes_page (one page of at most the cap), calendar_shows
 *                  (the shows of those episodes)
 *
 * With a tz (shows_filter.tz) the same statements take their window on
 * airstamp, as local dates in the zone (API.md "Time zones"); ListShows'
 * second statement is then shows_episodes_tz.
 *
 * Each reply carries the data version (data_generation.generation: the
 * version of the last change, migration 010) read in the snapshot of its
 * rows: a column of the first statement; ListShows and GetShow run their
 * two statements in one REPEATABLE READ READ ONLY transaction.
 *
 * Ordering (stable pagination): shows by their first airstamp inside the
 * window (NULLs last), then id; episodes by airstamp (NULLs last), then id.
 *
 * Replies are built in the arena a given to each call (the server's workers
 * pass one per worker and reset it after the reply is sent: no free() per
 * node); with a NULL arena they are built on the heap and
 * protobuf_c_message_free_unpacked(msg, NULL) frees them.
 * Not thread-safe: the store belongs to one thread.
 */
#ifndef TVMAZE_STORE_SHOWS_H
#define TVMAZE_STORE_SHOWS_H

#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "tvmaze/v1/shows.pb-c.h"

/* Validated filters shared by ListShows and ListEpisodes. Strings are
 * borrowed (must live for the call); NULL = no filter. */
struct shows_filter {
  int32_t date_from;       /* day number (date.h), inclusive */
  int32_t date_to;         /* day number, inclusive, >= date_from */
  const char *country;     /* upper-case ISO 3166-1 alpha-2 */
  const char *distributor; /* compared case-insensitively */
  int has_rating;          /* min_rating set */
  double min_rating;       /* 0..10 */
  const char *genre;       /* compared case-insensitively */
  const char *q;           /* raw substring; %, _ and \ are escaped here */
  const int32_t *show_ids; /* only these shows (n_show_ids > 0), each > 0 */
  size_t n_show_ids;
  const char *tz;   /* a zone name of pg_timezone_names (store_tz.h): the
                       window is local dates there, on airstamp, and
                       episodes carry local_airdate / local_airtime;
                       NULL: the window is on TVMaze's airdate */
  int32_t page;     /* >= 1 */
  int32_t per_page; /* 1..100 */
};

/* Page of shows with their episodes inside the window, and pagination.
 * On STORE_OK *out is a new reply in a (see above);
 * else *out is NULL and the last error is set. */
enum store_status store_shows_list(struct store *s, struct arena *a, const struct shows_filter *f,
                                   Tvmaze__V1__ListShowsResponse **out);

/* One show with every stored episode, and *version the data version both
 * statements read (one REPEATABLE READ snapshot); STORE_NOT_FOUND if there
 * is none. */
enum store_status store_show_get(struct store *s, struct arena *a, int32_t id,
                                 Tvmaze__V1__Show **out, int64_t *version);

/* Page of episodes airing in the window, with pagination. As store_shows_list. */
enum store_status store_episodes_list(struct store *s, struct arena *a,
                                      const struct shows_filter *f,
                                      Tvmaze__V1__ListEpisodesResponse **out);

/* GetCalendar's read: every episode ListEpisodes returns for f (its
 * statement, episodes_page, as one page of at most max rows: f->page and
 * f->per_page are ignored) and, in *shows, the shows of those episodes
 * (each once, in no order), both in one REPEATABLE READ snapshot. When
 * (*eps)->pagination->total exceeds max, *eps holds only the first max
 * episodes and *shows none (the caller refuses the request). Built as
 * store_shows_list's reply. */
enum store_status store_calendar_read(struct store *s, struct arena *a,
                                      const struct shows_filter *f, int32_t max,
                                      Tvmaze__V1__ListEpisodesResponse **eps,
                                      Tvmaze__V1__ListShowsResponse **shows);

/* The SQL text of statement name ("shows_page", "episodes_page": the
 * variant for f's set filters; "shows_episodes"), malloc'd; NULL for an
 * unknown name. For bench/ and EXPLAIN: the server prepares exactly this. */
char *store_shows_sql(const char *name, const struct shows_filter *f);

#endif
