/*
 * day_sql: the SQL text of a day's write, every statement in one place
 * (the executor, store_ingest.c, sends them; see store_ingest.h for the
 * order and docs/ingest.md "Write" for why each looks as it does).
 *
 *   statement              parameters (arrays as pg_encode.h literals)
 *   day_sql_begin          none: BEGIN and the day's SET LOCALs, one round trip
 *   day_sql_countries      $1 code[] $2 name[] $3 timezone[]
 *   day_sql_dist_update    $1 kind[] $2 tvmaze_id[] $3 name[] $4 country[] $5 site[]
 *   day_sql_dist_insert    as dist_update; RETURNING id, kind, tvmaze_id
 *   day_sql_genres         $1 name[]; RETURNING id, name
 *   day_sql_probe          $1 show id[] $2 episode id[] $3 dist kind[]
 *                          $4 dist tvmaze_id[] $5 genre name[]
 *   day_sql_preload        $1 from $2 to (dates of the run's window)
 *   day_sql_shows          17 columns (day_plan's UPSERT shows); answers
 *                          (created, updated)
 *   day_sql_sg_delete,     $1 stored show id[] $2 pair show id[]
 *   day_sql_sg_insert      $3 pair genre name[] $4 pair position[] (the
 *                          genre's 0-based place in the show's list)
 *   day_sql_episodes       13 columns; answers (created, updated)
 *   day_sql_*_copy         COPY .. FROM STDIN (text format)
 *   day_sql_hashes_delete  $1 date
 *   day_sql_hashes_moved   $1 episode id[] $2 airdate[] $3 date (before the
 *                          episode upsert: other dates' hashes its moves void)
 *   day_sql_hashes_insert  $1 date $2 source[] $3 hex hash[] $4 items[]
 *                          $5 day episodes $6 day shows
 *   day_sql_hashes_load    $1 from $2 to
 *   day_sql_remove_unlisted  $1 complete date[] $2 seen episode id[]
 *                          $3 run id; answers the count removed
 *
 * The probe answers rows (tag, id, kind, tvmaze_id, name) tagged as
 * run_memo.h's table says (RUN_TAG_SQL); the preload the same columns with
 * lists for id, kind and tvmaze_id (array text, "{1,2,3}", or NULL: none),
 * one row per tag of stored ids (the lists of a distributors row aligned)
 * and one per genre.
 */
#ifndef TVMAZE_STORE_DAY_SQL_H
#define TVMAZE_STORE_DAY_SQL_H

extern const char day_sql_begin[];
extern const char day_sql_countries[];
extern const char day_sql_dist_update[];
extern const char day_sql_dist_insert[];
extern const char day_sql_genres[];
extern const char day_sql_probe[];
extern const char day_sql_preload[];
extern const char day_sql_shows[];
extern const char day_sql_shows_copy[];
extern const char day_sql_sg_delete[];
extern const char day_sql_sg_insert[];
extern const char day_sql_sg_copy[];
extern const char day_sql_episodes[];
extern const char day_sql_episodes_copy[];
extern const char day_sql_hashes_delete[];
extern const char day_sql_hashes_moved[];
extern const char day_sql_hashes_insert[];
extern const char day_sql_hashes_load[];
extern const char day_sql_remove_unlisted[];

#endif
