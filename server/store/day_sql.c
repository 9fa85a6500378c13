/*
 * day_sql: the SQL text of a day's write; see day_sql.h for each
 * statement's parameters. Constants only: nothing is assembled at run time.
 */
#include "day_sql.h"

#include "run_memo.h"
#include "store_ingest.h"

/* The day's transaction: episodes get country_code from the writer
 * (migration 009: the trigger leaves it alone). Every statement of a day
 * finds rows by key (primary and unique indexes), so sequential scans are
 * priced out of its plans: a plan made while a table was nearly empty (a
 * first load, an autoanalyze early in one) would scan it whole, and the
 * session (which lives across runs) keeps prepared statements' plans as
 * the table grows. Seen: the probe's generic plan scanned episodes in a
 * third first load of bench/ingest.sh, 5.0 s instead of 0.18 s. The price
 * makes the one statement that has to scan (the generation bump of a
 * one-row table) look expensive enough for JIT compilation (200 ms per
 * day): no JIT either, none of these small statements gains from it. The
 * COMMIT stays synchronous: see docs/ingest.md ("Tried and not kept") for
 * synchronous_commit = off. */
const char day_sql_begin[] =
    "BEGIN; SET LOCAL tvmaze.episode_country_supplied = 'on'; "
    "SET LOCAL enable_seqscan = off; SET LOCAL jit = off";

const char day_sql_countries[] =
    "INSERT INTO countries (code, name, timezone) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) "
    "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, timezone = EXCLUDED.timezone "
    "WHERE (countries.name, countries.timezone) IS DISTINCT FROM (EXCLUDED.name, "
    "EXCLUDED.timezone)";

const char day_sql_dist_update[] =
    "UPDATE distributors d SET name = u.name, country_code = u.cc, official_site = u.site "
    "FROM unnest($1::smallint[], $2::int[], $3::text[], $4::text[], $5::text[]) "
    "AS u(kind, tid, name, cc, site) "
    "WHERE d.kind = u.kind AND d.tvmaze_id = u.tid AND (d.name, d.country_code, "
    "d.official_site) IS DISTINCT FROM (u.name, u.cc, u.site)";

const char day_sql_dist_insert[] =
    "INSERT INTO distributors (kind, tvmaze_id, name, country_code, official_site) "
    "SELECT u.kind, u.tid, u.name, u.cc, u.site "
    "FROM unnest($1::smallint[], $2::int[], $3::text[], $4::text[], $5::text[]) "
    "AS u(kind, tid, name, cc, site) "
    "WHERE NOT EXISTS (SELECT 1 FROM distributors d WHERE d.kind = u.kind AND "
    "d.tvmaze_id = u.tid) ON CONFLICT (kind, tvmaze_id) DO NOTHING "
    "RETURNING id, kind, tvmaze_id";

const char day_sql_genres[] =
    "INSERT INTO genres (name) SELECT DISTINCT g FROM unnest($1::text[]) AS g "
    "WHERE NOT EXISTS (SELECT 1 FROM genres x WHERE x.name = g) ON CONFLICT (name) DO NOTHING "
    "RETURNING id, name";

/* Which of the day's kept shows and of its episodes the tables already
 * hold, and the row ids of its distributors and genres (without a
 * preloaded run memo); one statement, after the distributors and genres
 * were written. */
const char day_sql_probe[] =
    "SELECT " RUN_TAG_SQL(RUN_TAG_STORED_SHOW) ", id, 0, 0, NULL FROM shows "
    "WHERE id = ANY ($1::int[]) "
    "UNION ALL SELECT " RUN_TAG_SQL(RUN_TAG_STORED_EP) ", id, 0, 0, NULL FROM episodes "
    "WHERE id = ANY ($2::int[]) "
    "UNION ALL SELECT " RUN_TAG_SQL(RUN_TAG_DIST_ROW) ", d.id, d.kind, d.tvmaze_id, NULL "
    "FROM distributors d JOIN unnest($3::smallint[], $4::int[]) AS u(kind, tid) "
    "ON d.kind = u.kind AND d.tvmaze_id = u.tid "
    "UNION ALL SELECT " RUN_TAG_SQL(RUN_TAG_GENRE_ROW) ", id, 0, 0, name FROM genres "
    "WHERE name = ANY ($5::text[])";

/* Every stored show id, the ids of the episodes that air within a month
 * of the run's window (where the day's schedule finds them: an episode
 * stored with an airdate further off is taken for new, and its day's COPY
 * fails on the key and is written again with upserts) and every
 * distributor's and genre's row id. The ids come as arrays, a row per
 * tag (a genre's row per genre), so that the result holds a few bytes per
 * id rather than a row each (a world's window: 340,000 ids). Sent
 * unnamed: planned for the tables as they are. */
const char day_sql_preload[] =
    "SELECT " RUN_TAG_SQL(RUN_TAG_STORED_SHOW) ", (SELECT array_agg(id) FROM shows)::text, "
    "NULL, NULL, NULL "
    "UNION ALL SELECT " RUN_TAG_SQL(RUN_TAG_STORED_EP) ", (SELECT array_agg(id) FROM episodes "
    "WHERE airdate BETWEEN $1::date - 31 AND $2::date + 31)::text, NULL, NULL, NULL "
    "UNION ALL SELECT " RUN_TAG_SQL(RUN_TAG_DIST_ROW) ", array_agg(id)::text, "
    "array_agg(kind)::text, array_agg(tvmaze_id)::text, NULL FROM distributors "
    "UNION ALL SELECT " RUN_TAG_SQL(RUN_TAG_GENRE_ROW) ", id::text, NULL, NULL, name FROM genres";

/* The upserts answer one row: rows created (xmax = 0: a fresh tuple) and
 * rows updated; rows the WHERE guard left alone are not returned. */
#define UPSERT_COUNTS_ \
  "SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM w"

const char day_sql_shows[] =
    "WITH w AS (INSERT INTO shows (id, name, type, language, status, runtime, average_runtime, "
    "premiered, ended, official_site, rating, weight, summary, image_url, distributor_id, "
    "tvmaze_updated) "
    "SELECT u.id, u.name, u.type, u.language, u.status, u.runtime, u.avg_runtime, u.premiered, "
    "u.ended, u.site, u.rating, u.weight, u.summary, u.image, d.id, to_timestamp(u.upd) "
    "FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], "
    "$7::int[], $8::date[], $9::date[], $10::text[], $11::numeric[], $12::int[], $13::text[], "
    "$14::text[], $15::smallint[], $16::int[], $17::bigint[]) AS u(id, name, type, "
    "language, status, runtime, avg_runtime, premiered, ended, site, rating, weight, summary, "
    "image, dkind, did, upd) "
    "LEFT JOIN distributors d ON d.kind = u.dkind AND d.tvmaze_id = u.did "
    "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, type = EXCLUDED.type, "
    "language = EXCLUDED.language, status = EXCLUDED.status, runtime = EXCLUDED.runtime, "
    "average_runtime = EXCLUDED.average_runtime, "
    "premiered = EXCLUDED.premiered, ended = EXCLUDED.ended, "
    "official_site = EXCLUDED.official_site, rating = EXCLUDED.rating, "
    "weight = EXCLUDED.weight, summary = EXCLUDED.summary, image_url = EXCLUDED.image_url, "
    "distributor_id = EXCLUDED.distributor_id, tvmaze_updated = EXCLUDED.tvmaze_updated, "
    "updated_at = now() "
    "WHERE (shows.name, shows.type, shows.language, shows.status, shows.runtime, "
    "shows.average_runtime, shows.premiered, shows.ended, shows.official_site, shows.rating, "
    "shows.weight, shows.summary, shows.image_url, shows.distributor_id, shows.tvmaze_updated) "
    "IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.type, EXCLUDED.language, EXCLUDED.status, "
    "EXCLUDED.runtime, EXCLUDED.average_runtime, EXCLUDED.premiered, EXCLUDED.ended, "
    "EXCLUDED.official_site, EXCLUDED.rating, EXCLUDED.weight, EXCLUDED.summary, "
    "EXCLUDED.image_url, EXCLUDED.distributor_id, EXCLUDED.tvmaze_updated) "
    "RETURNING (xmax = 0) AS created) " UPSERT_COUNTS_;

const char day_sql_shows_copy[] =
    "COPY shows (id, name, type, language, status, runtime, average_runtime, premiered, ended, "
    "official_site, rating, weight, summary, image_url, distributor_id, tvmaze_updated) "
    "FROM STDIN";

/* show_genres: the stored triples (show, genre, position) of the day's
 * shows against the listed ones, as set differences (hashed or sorted,
 * whatever the plan estimates): the correlated NOT EXISTS forms these
 * replace ran as nested loops under the generic plan (unnest estimated at
 * 10 rows) and cost 90 ms per day. A genre that moved in the show's list is
 * deleted and inserted again at its new position (before the insert: the
 * key is (show, genre)). */

const char day_sql_sg_delete[] =
    "DELETE FROM show_genres sg USING ("
    "SELECT x.show_id, x.genre_id, x.position FROM show_genres x "
    "WHERE x.show_id = ANY ($1::int[]) "
    "EXCEPT SELECT p.s, ge.id, p.pos FROM unnest($2::int[], $3::text[], $4::smallint[]) "
    "AS p(s, g, pos) JOIN genres ge ON ge.name = p.g) AS gone "
    "WHERE sg.show_id = gone.show_id AND sg.genre_id = gone.genre_id";

const char day_sql_sg_insert[] =
    "INSERT INTO show_genres (show_id, genre_id, position) "
    "SELECT p.s, ge.id, p.pos FROM unnest($2::int[], $3::text[], $4::smallint[]) "
    "AS p(s, g, pos) JOIN genres ge ON ge.name = p.g "
    "EXCEPT SELECT x.show_id, x.genre_id, x.position FROM show_genres x "
    "WHERE x.show_id = ANY ($1::int[]) "
    "ON CONFLICT DO NOTHING";

const char day_sql_sg_copy[] = "COPY show_genres (show_id, genre_id, position) FROM STDIN";

/* country_code: the show's distributor country, the value the row trigger
 * of migration 004 would look up per row, joined here for the whole day
 * (migration 007: the INSERT trigger only fills a NULL; 009: not even that
 * while tvmaze.episode_country_supplied is on, as in the day's transaction). */

const char day_sql_episodes[] =
    "WITH w AS (INSERT INTO episodes (id, show_id, name, season, number, type, airdate, airtime, "
    "airstamp, runtime, rating, summary, image_url, country_code) "
    "SELECT u.*, d.country_code "
    "FROM unnest($1::int[], $2::int[], $3::text[], $4::int[], $5::int[], "
    "$6::text[], $7::date[], $8::text[], $9::timestamptz[], $10::int[], $11::numeric[], "
    "$12::text[], $13::text[]) AS u(id, show_id, name, season, number, type, airdate, "
    "airtime, airstamp, runtime, rating, summary, image_url) "
    "LEFT JOIN shows s ON s.id = u.show_id LEFT JOIN distributors d ON d.id = s.distributor_id "
    "ON CONFLICT (id) DO UPDATE SET show_id = EXCLUDED.show_id, name = EXCLUDED.name, "
    "season = EXCLUDED.season, number = EXCLUDED.number, type = EXCLUDED.type, "
    "airdate = EXCLUDED.airdate, airtime = EXCLUDED.airtime, airstamp = EXCLUDED.airstamp, "
    "runtime = EXCLUDED.runtime, rating = EXCLUDED.rating, summary = EXCLUDED.summary, "
    "image_url = EXCLUDED.image_url, updated_at = now() "
    "WHERE (episodes.show_id, episodes.name, episodes.season, episodes.number, "
    "episodes.type, episodes.airdate, episodes.airtime, episodes.airstamp, "
    "episodes.runtime, episodes.rating, episodes.summary, episodes.image_url) "
    "IS DISTINCT FROM (EXCLUDED.show_id, EXCLUDED.name, EXCLUDED.season, EXCLUDED.number, "
    "EXCLUDED.type, EXCLUDED.airdate, EXCLUDED.airtime, EXCLUDED.airstamp, "
    "EXCLUDED.runtime, EXCLUDED.rating, EXCLUDED.summary, EXCLUDED.image_url) "
    "RETURNING (xmax = 0) AS created) " UPSERT_COUNTS_;

const char day_sql_episodes_copy[] =
    "COPY episodes (id, show_id, name, season, number, type, airdate, airtime, airstamp, "
    "runtime, rating, summary, image_url, country_code) FROM STDIN";

/* The change log's finalize (migration 010): records of the rows this
 * transaction changed, the data version moved to the last one and
 * NOTIFYd on tvmaze_generation; nothing when nothing changed. */
const char store_changes_commit_sql[] = "SELECT changes_commit()";

/* The run's removal (store_ingest_remove_unlisted): episodes stored on the
 * completely fetched days $1 that the run saw nowhere ($2: every episode id
 * it parsed; an anti-join against the unnested ids, hashed, not a scan of
 * the array per row), counted on run $3; answers the count removed. */
const char day_sql_remove_unlisted[] =
    "WITH d AS (DELETE FROM episodes e WHERE e.airdate = ANY ($1::date[]) "
    "AND NOT EXISTS (SELECT 1 FROM unnest($2::int[]) AS u(id) WHERE u.id = e.id) "
    "RETURNING 1), n AS (SELECT count(*) AS n FROM d) "
    "UPDATE ingest_runs SET episodes_removed = episodes_removed + n.n FROM n "
    "WHERE ingest_runs.id = $3::bigint RETURNING n.n";

const char day_sql_hashes_delete[] = "DELETE FROM ingest_source_hashes WHERE date = $1::date";

/* Before a day's episode upsert: the stored hashes of every other date
 * that an episode of the day moves away from ($1 id[], $2 new airdate[],
 * $3 the day). That date's bodies no longer say what its rows are, so it
 * must not be skipped by its hash again (docs/ingest.md "Unchanged days"). */
const char day_sql_hashes_moved[] =
    "DELETE FROM ingest_source_hashes h USING unnest($1::int[], $2::date[]) AS n (id, airdate) "
    "JOIN episodes e ON e.id = n.id "
    "WHERE e.airdate IS DISTINCT FROM n.airdate AND h.date = e.airdate AND h.date <> $3::date";

const char day_sql_hashes_insert[] =
    "INSERT INTO ingest_source_hashes (date, source, hash, items, day_episodes, day_shows) "
    "SELECT $1::date, src, decode(h, 'hex'), it, $5::integer, $6::integer "
    "FROM unnest($2::text[], $3::text[], $4::integer[]) AS u (src, h, it)";

const char day_sql_hashes_load[] =
    "SELECT date::text, source, encode(hash, 'hex'), items, day_episodes, "
    "day_shows FROM ingest_source_hashes "
    "WHERE date BETWEEN $1::date AND $2::date ORDER BY date, source";
