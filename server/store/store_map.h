/*
 * store_map: the one mapping from stored rows to tvmaze.v1.Show and
 * tvmaze.v1.Episode, shared by the Shows reads (store_shows.c) and the
 * change log's after-images (store_changes.c): the column lists below and
 * the decoders that read them. A field added to Show or Episode is added
 * here once.
 *
 * The column lists read tables through aliases: s (shows), d
 * (distributors), c (countries) and sg (show_genres rows of the show), e
 * (episodes). The Shows reads alias the tables themselves; the change log
 * aliases its records' typed after-images ((ch.show_row).* and the like,
 * migration 011, whose types carry exactly these columns: a column added
 * here is added to those types and to changes_commit too).
 *
 *   list                      columns
 *   STORE_MAP_SHOW_COLS_OVER  22: id, name, type, language, status, runtime,
 *                             premiered, ended, official_site, rating, weight,
 *                             summary, image_url, distributor (tvmaze_id,
 *                             kind, name), country (code, name, timezone),
 *                             updated_at (epoch s), genres (JSON array, in
 *                             TVMaze's order), average_runtime
 *   STORE_MAP_EPISODE_COLS    13: id, show_id, name, season, number, type,
 *                             airdate, airtime, airstamp (epoch s), runtime,
 *                             rating, summary, image_url
 *   STORE_MAP_EPISODE_LOCAL_COLS(TZ)
 *                             2: the airstamp's local date and time in
 *                             zone TZ (local_airdate, local_airtime), after
 *                             the episode columns of a tz listing
 */
#ifndef TVMAZE_STORE_MAP_H
#define TVMAZE_STORE_MAP_H

#include <libpq-fe.h>

#include "arena.h"
#include "tvmaze/v1/shows.pb-c.h"

/* Show columns; SG_SRC is the FROM item of the show's genre pairs, aliased
 * sg, SG_WHERE restricts it to the show and SG_ORDER orders them as TVMaze
 * lists them. */
#define STORE_MAP_SHOW_COLS_OVER(SG_SRC, SG_WHERE, SG_ORDER)                              \
  "s.id, s.name, s.type, s.language, s.status, s.runtime,"                                \
  " to_char(s.premiered, 'YYYY-MM-DD'), to_char(s.ended, 'YYYY-MM-DD'), s.official_site," \
  " s.rating, s.weight, s.summary, s.image_url, d.tvmaze_id, d.kind, d.name,"             \
  " c.code, c.name, c.timezone, extract(epoch FROM s.tvmaze_updated)::bigint,"            \
  " (SELECT coalesce(json_agg(g.name ORDER BY " SG_ORDER "), '[]'::json) FROM " SG_SRC    \
  " JOIN genres g ON g.id = sg.genre_id WHERE " SG_WHERE "), s.average_runtime"

/* The show columns over the stored tables: genres by show_genres.position
 * (migration 014; rows written before it share position 0 and fall back to
 * the name). */
#define STORE_MAP_SHOW_COLS \
  STORE_MAP_SHOW_COLS_OVER("show_genres sg", "sg.show_id = s.id", "sg.position, g.name")
#define STORE_MAP_SHOW_NCOLS 22

#define STORE_MAP_EPISODE_COLS                                                             \
  "e.id, e.show_id, e.name, e.season, e.number, e.type, to_char(e.airdate, 'YYYY-MM-DD')," \
  " e.airtime, extract(epoch FROM e.airstamp)::bigint, e.runtime, e.rating, e.summary,"    \
  " e.image_url"
#define STORE_MAP_EPISODE_NCOLS 13

/* With a time zone (API.md "Time zones"): the airstamp's local date and
 * time in zone TZ (an SQL text expression, e.g. "$4::text"), two columns
 * read by store_map_episode_local. */
#define STORE_MAP_EPISODE_LOCAL_COLS(TZ) \
  "to_char(e.airstamp AT TIME ZONE " TZ  \
  ", 'YYYY-MM-DD'),"                     \
  " to_char(e.airstamp AT TIME ZONE " TZ ", 'HH24:MI')"
#define STORE_MAP_EPISODE_LOCAL_NCOLS 2

/* The show of row `row` whose columns start at col (STORE_MAP_SHOW_COLS),
 * built in a (NULL: the heap). */
Tvmaze__V1__Show *store_map_show(struct arena *a, const PGresult *r, int row, int col);

/* The episode of row `row` whose columns start at col. */
Tvmaze__V1__Episode *store_map_episode(struct arena *a, const PGresult *r, int row, int col);

/* Sets e's local_airdate and local_airtime from the columns of
 * STORE_MAP_EPISODE_LOCAL_COLS starting at col. */
void store_map_episode_local(struct arena *a, const PGresult *r, int row, int col,
                             Tvmaze__V1__Episode *e);

#endif
