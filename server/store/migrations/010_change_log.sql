-- 010: the change log (API.md "Changes and versions"; ARCHITECTURE.md).
-- Every created, updated or removed show or episode is a record of
-- `changes`, written in the transaction that changed the row:
--
--   changes      column      meaning
--                version     strictly increasing in commit order; the data
--                            version (data_generation.generation) is the
--                            version of the last record
--                entity      tvmaze.v1.ChangeEntity: 1 show, 2 episode
--                op          tvmaze.v1.ChangeOp: 1 created, 2 updated,
--                            3 removed (episodes only)
--                id, show_id TVMaze ids (show_id = id for a show)
--                changed_at  the transaction's time (now())
--                fields      UPDATED: proto field names that changed, in
--                            proto order; '{}' otherwise
--                image       the entity after the change (NULL: REMOVED):
--                            show {"s": shows row, "d": distributors row,
--                            "c": countries row, "sg": show_genres rows}
--                            without null members ("d" and "c" absent for a
--                            show without them), episode: the episodes row
--                            (to_jsonb, as it is); read back with
--                            jsonb_populate_record into the columns the
--                            Shows reads map (store_map.h: one mapping)
--
-- How: statement-level AFTER triggers with transition tables (set-based;
-- they fire for COPY too) collect (entity, op, id, show_id, fields) into
-- change_pending; the writer ends each transaction that may have changed
-- rows with SELECT changes_commit(), which merges the pending rows per
-- entity (one record per show or episode per transaction: CREATED wins,
-- fields are united), assigns versions in (entity, id) order starting at
-- greatest(last + 1, clock in microseconds) (migration 005: unique across
-- databases and restores), writes the records with their images, moves the
-- data version, NOTIFYs tvmaze_generation with it, and empties the pending
-- rows of the transaction. Nothing pending: nothing moves.
-- Columns that are no proto field (created_at, updated_at,
-- episodes.country_code, distributors.official_site) never make a change.
-- A renamed distributor or country (its name, country or time zone) changes
-- the Show message of its shows: they get UPDATED "distributor".

ALTER TABLE ingest_runs ADD COLUMN episodes_removed bigint NOT NULL DEFAULT 0;

CREATE TABLE changes (
  version     bigint      PRIMARY KEY,
  entity      smallint    NOT NULL CHECK (entity IN (1, 2)),
  op          smallint    NOT NULL CHECK (op BETWEEN 1 AND 3),
  id          integer     NOT NULL,
  show_id     integer     NOT NULL,
  changed_at  timestamptz NOT NULL,
  fields      text[]      NOT NULL DEFAULT '{}',
  image       jsonb
);
-- "version > V ORDER BY version LIMIT N" reads the primary key; with
-- show_ids, this one.
CREATE INDEX changes_show_idx ON changes (show_id, version);

-- The highest version pruned (changes_prune): an after_version below it
-- asks for records that are gone.
CREATE TABLE changes_floor (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  version   bigint  NOT NULL
);
INSERT INTO changes_floor (version) VALUES (0);

-- Rows of transactions in progress; each changes_commit takes its own out.
-- Unlogged: a crash rolls back every transaction that had rows here.
CREATE UNLOGGED TABLE change_pending (
  xid      bigint   NOT NULL DEFAULT txid_current(),
  entity   smallint NOT NULL,
  op       smallint NOT NULL,
  id       integer  NOT NULL,
  show_id  integer  NOT NULL,
  fields   text[]   NOT NULL DEFAULT '{}'
);
-- changes_commit finds its transaction's rows by this index, never by a
-- scan of the dead rows earlier transactions left.
CREATE INDEX change_pending_xid_idx ON change_pending (xid);

-- ------------------------------------------------------------------
-- Collecting triggers
-- ------------------------------------------------------------------

CREATE FUNCTION changes_shows_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_pending (entity, op, id, show_id) SELECT 1, 1, n.id, n.id FROM new_rows n;
  RETURN NULL;
END
$$;
CREATE TRIGGER shows_changes_insert AFTER INSERT ON shows
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION changes_shows_insert();

CREATE FUNCTION changes_shows_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_pending (entity, op, id, show_id, fields)
  SELECT 1, 2, n.id, n.id, f.fields
  FROM old_rows o JOIN new_rows n ON n.id = o.id
  CROSS JOIN LATERAL (SELECT array_remove(ARRAY[
    CASE WHEN o.name IS DISTINCT FROM n.name THEN 'name' END,
    CASE WHEN o.type IS DISTINCT FROM n.type THEN 'type' END,
    CASE WHEN o.language IS DISTINCT FROM n.language THEN 'language' END,
    CASE WHEN o.status IS DISTINCT FROM n.status THEN 'status' END,
    CASE WHEN o.runtime IS DISTINCT FROM n.runtime THEN 'runtime' END,
    CASE WHEN o.premiered IS DISTINCT FROM n.premiered THEN 'premiered' END,
    CASE WHEN o.ended IS DISTINCT FROM n.ended THEN 'ended' END,
    CASE WHEN o.official_site IS DISTINCT FROM n.official_site THEN 'official_site' END,
    CASE WHEN o.rating IS DISTINCT FROM n.rating THEN 'rating' END,
    CASE WHEN o.weight IS DISTINCT FROM n.weight THEN 'weight' END,
    CASE WHEN o.summary IS DISTINCT FROM n.summary THEN 'summary' END,
    CASE WHEN o.image_url IS DISTINCT FROM n.image_url THEN 'image_url' END,
    CASE WHEN o.distributor_id IS DISTINCT FROM n.distributor_id THEN 'distributor' END,
    CASE WHEN o.tvmaze_updated IS DISTINCT FROM n.tvmaze_updated THEN 'updated_at' END
  ], NULL) AS fields) f
  WHERE cardinality(f.fields) > 0;
  RETURN NULL;
END
$$;
CREATE TRIGGER shows_changes_update AFTER UPDATE ON shows
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION changes_shows_update();

-- A show's genre pairs inserted or deleted: the show's "genres".
CREATE FUNCTION changes_show_genres() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_pending (entity, op, id, show_id, fields)
  SELECT DISTINCT 1, 2, r.show_id, r.show_id, '{genres}'::text[] FROM changed_rows r;
  RETURN NULL;
END
$$;
CREATE TRIGGER show_genres_changes_insert AFTER INSERT ON show_genres
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION changes_show_genres();
CREATE TRIGGER show_genres_changes_delete AFTER DELETE ON show_genres
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION changes_show_genres();

-- What a Show message shows of its distributor: kind, id, name, country.
CREATE FUNCTION changes_distributors_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_pending (entity, op, id, show_id, fields)
  SELECT 1, 2, s.id, s.id, '{distributor}'::text[]
  FROM old_rows o JOIN new_rows n ON n.id = o.id JOIN shows s ON s.distributor_id = n.id
  WHERE (o.kind, o.tvmaze_id, o.name, o.country_code)
        IS DISTINCT FROM (n.kind, n.tvmaze_id, n.name, n.country_code);
  RETURN NULL;
END
$$;
CREATE TRIGGER distributors_changes_update AFTER UPDATE ON distributors
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION changes_distributors_update();

CREATE FUNCTION changes_countries_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_pending (entity, op, id, show_id, fields)
  SELECT 1, 2, s.id, s.id, '{distributor}'::text[]
  FROM old_rows o JOIN new_rows n ON n.code = o.code
  JOIN distributors d ON d.country_code = n.code JOIN shows s ON s.distributor_id = d.id
  WHERE (o.name, o.timezone) IS DISTINCT FROM (n.name, n.timezone);
  RETURN NULL;
END
$$;
CREATE TRIGGER countries_changes_update AFTER UPDATE ON countries
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION changes_countries_update();

CREATE FUNCTION changes_episodes_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_pending (entity, op, id, show_id)
  SELECT 2, 1, n.id, n.show_id FROM new_rows n;
  RETURN NULL;
END
$$;
CREATE TRIGGER episodes_changes_insert AFTER INSERT ON episodes
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION changes_episodes_insert();

CREATE FUNCTION changes_episodes_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_pending (entity, op, id, show_id, fields)
  SELECT 2, 2, n.id, n.show_id, f.fields
  FROM old_rows o JOIN new_rows n ON n.id = o.id
  CROSS JOIN LATERAL (SELECT array_remove(ARRAY[
    CASE WHEN o.show_id IS DISTINCT FROM n.show_id THEN 'show_id' END,
    CASE WHEN o.name IS DISTINCT FROM n.name THEN 'name' END,
    CASE WHEN o.season IS DISTINCT FROM n.season THEN 'season' END,
    CASE WHEN o.number IS DISTINCT FROM n.number THEN 'number' END,
    CASE WHEN o.type IS DISTINCT FROM n.type THEN 'type' END,
    CASE WHEN o.airdate IS DISTINCT FROM n.airdate THEN 'airdate' END,
    CASE WHEN o.airtime IS DISTINCT FROM n.airtime THEN 'airtime' END,
    CASE WHEN o.airstamp IS DISTINCT FROM n.airstamp THEN 'airstamp' END,
    CASE WHEN o.runtime IS DISTINCT FROM n.runtime THEN 'runtime' END,
    CASE WHEN o.rating IS DISTINCT FROM n.rating THEN 'rating' END,
    CASE WHEN o.summary IS DISTINCT FROM n.summary THEN 'summary' END,
    CASE WHEN o.image_url IS DISTINCT FROM n.image_url THEN 'image_url' END
  ], NULL) AS fields) f
  WHERE cardinality(f.fields) > 0;
  RETURN NULL;
END
$$;
CREATE TRIGGER episodes_changes_update AFTER UPDATE ON episodes
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION changes_episodes_update();

CREATE FUNCTION changes_episodes_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_pending (entity, op, id, show_id)
  SELECT 2, 3, o.id, o.show_id FROM old_rows o;
  RETURN NULL;
END
$$;
CREATE TRIGGER episodes_changes_delete AFTER DELETE ON episodes
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION changes_episodes_delete();

-- ------------------------------------------------------------------
-- Finalize: one statement per writing transaction
-- ------------------------------------------------------------------

-- Returns the new data version, or NULL when the transaction changed
-- nothing (then nothing moves). Takes data_generation's row lock until the
-- transaction ends, so versions follow commit order. Every lookup is by
-- key (the pending rows by xid; the rows after the change by id, one
-- probe per record: LATERAL .. OFFSET 0 keeps the planner from joining
-- whole tables, as the session's cached plan did after a first load had
-- planned it against nearly empty tables: 130 ms for a day of 400 rows at
-- 35,000 episodes, growing with the table), so its cost follows the
-- transaction's changes, not the tables' size. Sequential scans are
-- priced out here whatever the caller says, and JIT is off (the priced-out
-- scan of the one-row data_generation would trigger it).
CREATE FUNCTION changes_commit() RETURNS bigint LANGUAGE plpgsql
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
           CASE WHEN m.entity = 2 THEN to_jsonb(e)
           ELSE jsonb_strip_nulls(jsonb_build_object('s', to_jsonb(s), 'd', to_jsonb(d),
                  'c', to_jsonb(c), 'sg', coalesce((SELECT jsonb_agg(to_jsonb(sg))
                  FROM show_genres sg WHERE sg.show_id = s.id), '[]'::jsonb))) END AS image
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
  INSERT INTO changes (version, entity, op, id, show_id, changed_at, fields, image)
  SELECT base + row_number() OVER (ORDER BY r.entity, r.id) - 1, r.entity, r.op, r.id, r.show_id,
         now(), r.fields, r.image
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

-- ------------------------------------------------------------------
-- Retention
-- ------------------------------------------------------------------

-- Deletes the records older than keep_days days and raises the floor to the
-- highest version deleted; also drops pending rows of transactions that
-- ended without changes_commit. One replica at a time (a transaction-level
-- advisory lock, key 1953918307 "tvmc"; another replica's call returns NULL
-- at once); idempotent. Returns the highest version deleted, or NULL.
CREATE FUNCTION changes_prune(keep_days integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  top bigint;
BEGIN
  IF NOT pg_try_advisory_xact_lock(1953918307) THEN
    RETURN NULL;
  END IF;
  WITH d AS (
    DELETE FROM changes WHERE changed_at < now() - make_interval(days => keep_days)
    RETURNING version
  )
  SELECT max(version) INTO top FROM d;
  IF top IS NOT NULL THEN
    UPDATE changes_floor SET version = greatest(version, top);
  END IF;
  DELETE FROM change_pending WHERE xid < txid_snapshot_xmin(txid_current_snapshot());
  RETURN top;
END
$$;
