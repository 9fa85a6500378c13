-- 011: the change log's after-images as typed rows instead of jsonb.
-- A record's entity after the change was jsonb (migration 010): to_jsonb of
-- the rows, 2.2x the bytes of the rows themselves (every key in every
-- record), and building it was most of what the change log cost a first
-- load (bench/ingest.sh: changes_commit's CPU for the 43,000 records of the
-- anchors' data set). Now each record carries composite values of types
-- of its own, with the columns store_map.h reads and nothing else:
--
--   changes column   type                 for
--   show_row         change_show          SHOW records (not REMOVED)
--   distributor_row  change_distributor   SHOW, when the show has one
--   country_row      change_country       SHOW, when the distributor has one
--   genre_ids        smallint[]           SHOW: its genres' ids ('{}': none)
--   episode_row      change_episode       EPISODE records (not REMOVED)
--
-- Types of our own, not the tables' row types: a column of a table's row
-- type makes PostgreSQL refuse ALTER COLUMN .. TYPE on that table, so a
-- later migration of shows or episodes would have to rewrite the log
-- first. A column added to store_map.h's lists is added here too (ALTER
-- TYPE .. ADD ATTRIBUTE, and to changes_commit's ROW(..)).

CREATE TYPE change_show AS (
  id integer, name text, type text, language text, status text, runtime integer,
  premiered date, ended date, official_site text, rating numeric, weight integer,
  summary text, image_url text, tvmaze_updated timestamptz
);
CREATE TYPE change_distributor AS (kind smallint, tvmaze_id integer, name text);
CREATE TYPE change_country AS (code text, name text, timezone text);
CREATE TYPE change_episode AS (
  id integer, show_id integer, name text, season integer, number integer, type text,
  airdate date, airtime text, airstamp timestamptz, runtime integer, rating numeric,
  summary text, image_url text
);

ALTER TABLE changes
  ADD COLUMN show_row change_show,
  ADD COLUMN distributor_row change_distributor,
  ADD COLUMN country_row change_country,
  ADD COLUMN genre_ids smallint[],
  ADD COLUMN episode_row change_episode;

-- The records written so far, converted.
UPDATE changes ch SET
  show_row = (SELECT ROW(s.id, s.name, s.type, s.language, s.status, s.runtime, s.premiered,
                s.ended, s.official_site, s.rating, s.weight, s.summary, s.image_url,
                s.tvmaze_updated)::change_show
              FROM jsonb_populate_record(NULL::shows, ch.image->'s') s),
  distributor_row = (SELECT ROW(d.kind, d.tvmaze_id, d.name)::change_distributor
                     FROM jsonb_populate_record(NULL::distributors, ch.image->'d') d),
  country_row = (SELECT ROW(c.code, c.name, c.timezone)::change_country
                 FROM jsonb_populate_record(NULL::countries, ch.image->'c') c),
  genre_ids = (SELECT coalesce(array_agg(sg.genre_id ORDER BY sg.genre_id), '{}')
               FROM jsonb_populate_recordset(NULL::show_genres, ch.image->'sg') sg)
WHERE ch.entity = 1 AND ch.image IS NOT NULL;
UPDATE changes SET distributor_row = NULL WHERE entity = 1 AND NOT image ? 'd';
UPDATE changes SET country_row = NULL WHERE entity = 1 AND NOT image ? 'c';
UPDATE changes ch SET
  episode_row = (SELECT ROW(e.id, e.show_id, e.name, e.season, e.number, e.type, e.airdate,
                   e.airtime, e.airstamp, e.runtime, e.rating, e.summary, e.image_url)::change_episode
                 FROM jsonb_populate_record(NULL::episodes, ch.image) e)
WHERE ch.entity = 2 AND ch.image IS NOT NULL;

ALTER TABLE changes DROP COLUMN image;

-- changes_commit as in migration 010, writing the typed images.
CREATE OR REPLACE FUNCTION changes_commit() RETURNS bigint LANGUAGE plpgsql
SET enable_seqscan = off SET jit = off AS $$
DECLARE
  last bigint;
  base bigint;
  n    bigint;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM change_pending WHERE xid = txid_current()) THEN
    RETURN NULL;
  END IF;
  SELECT generation INTO last FROM data_generation FOR UPDATE;
  base := greatest(last + 1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint);
  WITH p AS (
    DELETE FROM change_pending WHERE xid = txid_current()
    RETURNING entity, op, id, show_id, fields
  ), f AS (
    SELECT DISTINCT p.entity, p.id, u.name FROM p CROSS JOIN LATERAL unnest(p.fields) AS u(name)
  ), fa AS (
    SELECT f.entity, f.id, array_agg(f.name ORDER BY array_position(
             CASE WHEN f.entity = 1 THEN ARRAY['name', 'type', 'language', 'status', 'runtime',
               'premiered', 'ended', 'official_site', 'rating', 'weight', 'genres', 'summary',
               'image_url', 'distributor', 'updated_at']
             ELSE ARRAY['show_id', 'name', 'season', 'number', 'type', 'airdate', 'airtime',
               'airstamp', 'runtime', 'rating', 'summary', 'image_url'] END, f.name)) AS fields
    FROM f GROUP BY f.entity, f.id
  ), m AS (
    SELECT p.entity, p.id, max(p.show_id) AS show_id, bool_or(p.op = 1) AS created
    FROM p GROUP BY p.entity, p.id
  ), r AS (
    SELECT m.entity, m.id,
           CASE WHEN m.entity = 2 AND e.id IS NULL THEN 3 WHEN m.created THEN 1 ELSE 2 END AS op,
           coalesce(s.id, e.show_id, m.show_id) AS show_id,
           CASE WHEN m.created OR (m.entity = 2 AND e.id IS NULL) THEN '{}'::text[]
           ELSE coalesce(fa.fields, '{}'::text[]) END AS fields,
           CASE WHEN s.id IS NOT NULL THEN ROW(s.id, s.name, s.type, s.language, s.status,
             s.runtime, s.premiered, s.ended, s.official_site, s.rating, s.weight, s.summary,
             s.image_url, s.tvmaze_updated)::change_show END AS show_row,
           CASE WHEN d.id IS NOT NULL THEN
             ROW(d.kind, d.tvmaze_id, d.name)::change_distributor END AS distributor_row,
           CASE WHEN c.code IS NOT NULL THEN
             ROW(c.code, c.name, c.timezone)::change_country END AS country_row,
           CASE WHEN s.id IS NOT NULL THEN coalesce((SELECT array_agg(sg.genre_id
             ORDER BY sg.genre_id) FROM show_genres sg WHERE sg.show_id = s.id), '{}')
           END AS genre_ids,
           CASE WHEN e.id IS NOT NULL THEN ROW(e.id, e.show_id, e.name, e.season, e.number,
             e.type, e.airdate, e.airtime, e.airstamp, e.runtime, e.rating, e.summary,
             e.image_url)::change_episode END AS episode_row
    FROM m
    LEFT JOIN fa ON fa.entity = m.entity AND fa.id = m.id
    LEFT JOIN LATERAL (SELECT e.* FROM episodes e WHERE m.entity = 2 AND e.id = m.id OFFSET 0) e
      ON true
    LEFT JOIN LATERAL (SELECT s.* FROM shows s WHERE m.entity = 1 AND s.id = m.id OFFSET 0) s
      ON true
    LEFT JOIN LATERAL (SELECT d.* FROM distributors d WHERE d.id = s.distributor_id OFFSET 0) d
      ON true
    LEFT JOIN LATERAL (SELECT c.* FROM countries c WHERE c.code = d.country_code OFFSET 0) c
      ON true
    WHERE NOT (m.entity = 2 AND e.id IS NULL AND m.created) AND NOT (m.entity = 1 AND s.id IS NULL)
  )
  INSERT INTO changes (version, entity, op, id, show_id, changed_at, fields, show_row,
                       distributor_row, country_row, genre_ids, episode_row)
  SELECT base + row_number() OVER (ORDER BY r.entity, r.id) - 1, r.entity, r.op, r.id, r.show_id,
         now(), r.fields, r.show_row, r.distributor_row, r.country_row, r.genre_ids, r.episode_row
  FROM r;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n = 0 THEN
    RETURN NULL;
  END IF;
  UPDATE data_generation SET generation = base + n - 1;
  PERFORM pg_notify('tvmaze_generation', (base + n - 1)::text);
  RETURN base + n - 1;
END
$$;
