-- 014: fidelity to TVMaze (issue 16): a show's averageRuntime beside its
-- runtime, and its genres in TVMaze's order.
--
--   table / type   column            meaning
--   shows          average_runtime   TVMaze's averageRuntime (minutes or
--                                    NULL); runtime is TVMaze's runtime
--                                    alone (NULL when TVMaze has none), no
--                                    longer averageRuntime in its place
--   show_genres    position          the genre's 0-based place in the show's
--                                    TVMaze list; readers order by it
--                                    (store_map.h), then by name (rows
--                                    written before this migration share 0
--                                    until the next run rewrites them)
--   change_show    average_runtime   the after-image carries it (migration
--                                    011's rule: a column of store_map.h is
--                                    an attribute of its type)
--   changes        genre_ids         written in position order; the reader
--                                    keeps the array's order (store_changes.c)
--
-- The ingest's normalize version moved to 2 with this migration
-- (ingest_parse.h): every day's source hashes differ, so the next run parses
-- every day again and rewrites runtime, average_runtime, the genre positions
-- and the summaries (line breaks) of the stored rows, each a change record
-- like any other update. The stored hashes go too (docs/ingest.md: a
-- migration that changes what the normalized rows hold truncates them), so
-- no day is skipped against a body that was normalized the old way.

TRUNCATE ingest_source_hashes;
ALTER TABLE shows ADD COLUMN average_runtime integer CHECK (average_runtime >= 0);
ALTER TABLE show_genres ADD COLUMN position smallint NOT NULL DEFAULT 0 CHECK (position >= 0);
ALTER TYPE change_show ADD ATTRIBUTE average_runtime integer;

-- "average_runtime" among an UPDATED show's fields: a trigger of its own
-- beside migration 010's (changes_commit unites a show's pending fields).
CREATE FUNCTION changes_shows_update_average_runtime() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_pending (entity, op, id, show_id, fields)
  SELECT 1, 2, n.id, n.id, '{average_runtime}'::text[]
  FROM old_rows o JOIN new_rows n ON n.id = o.id
  WHERE o.average_runtime IS DISTINCT FROM n.average_runtime;
  RETURN NULL;
END
$$;
CREATE TRIGGER shows_changes_update_average_runtime AFTER UPDATE ON shows
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION changes_shows_update_average_runtime();

-- changes_commit_pending (migration 011's changes_commit, renamed by 012)
-- as it was, but for three things: the show image's average_runtime, its
-- genre_ids in position order, and "average_runtime" in the fields' order.
CREATE OR REPLACE FUNCTION changes_commit_pending() RETURNS bigint LANGUAGE plpgsql
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
               'image_url', 'distributor', 'updated_at', 'average_runtime']
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
             s.image_url, s.tvmaze_updated, s.average_runtime)::change_show END AS show_row,
           CASE WHEN d.id IS NOT NULL THEN
             ROW(d.kind, d.tvmaze_id, d.name)::change_distributor END AS distributor_row,
           CASE WHEN c.code IS NOT NULL THEN
             ROW(c.code, c.name, c.timezone)::change_country END AS country_row,
           CASE WHEN s.id IS NOT NULL THEN coalesce((SELECT array_agg(sg.genre_id
             ORDER BY sg.position, g.name) FROM show_genres sg JOIN genres g ON g.id = sg.genre_id
             WHERE sg.show_id = s.id), '{}')
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
