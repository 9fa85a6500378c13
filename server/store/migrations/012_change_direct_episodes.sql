-- 012: created episodes get their change records from the insert itself,
-- and those records take their image from the row until it changes.
-- Until now every changed row went through change_pending and waited for
-- changes_commit, which merged the pending rows, looked each row up again
-- for its image and wrote the records with it. For inserted episodes
-- (35,000 of the 43,000 records of the anchors' first load) none of that is
-- needed: the statement's transition table holds them, an episode is
-- inserted once per transaction, and the image is the row itself as long
-- as the row does not change. So
--   * the INSERT trigger on episodes
--     1. runs changes_commit() first, so that the records of what the
--        transaction changed before (its shows, in the writer's order:
--        shows and their genres, then episodes) come before the episodes';
--     2. writes a CREATED record per inserted row, numbered like
--        changes_commit's (from greatest(last + 1, clock in us) under
--        data_generation's row lock, in id order), with episode_row NULL:
--        "the episodes row as it is now";
--     3. moves the data version, NOTIFYs it, and remembers its first
--        version in the transaction-local setting
--        tvmaze.changes_direct_from;
--   * before such a row changes in a proto field (change_episode_of, below,
--     differs) or goes, an UPDATE / DELETE trigger writes its old value into
--     the record (episode_row), so the record keeps the entity after ITS
--     change; it finds the record by (show_id, id) through changes_show_idx
--     (the record's show_id is the row's as long as the image is lazy);
--   * reads take episode_row, or the episodes row when it is NULL, in the
--     same statement (one snapshot: store_changes.c).
-- The one-record-per-entity-per-transaction rule holds for the writer's
-- transactions (an episode is inserted or updated there, never both).
-- Should another session touch an inserted episode again in the same
-- transaction, changes_commit folds that into the CREATED record: it stays
-- lazy (the row at commit), or goes when the row is gone (inserted and
-- deleted: nothing happened). A show changed again after an episode insert
-- of the same transaction gets a second record. TRUNCATE fires none of
-- these triggers (as before: no REMOVED records either), so a lazy record
-- of a truncated episode reads without its entity.

-- The Episode columns of store_map.h of an episodes row.
CREATE FUNCTION change_episode_of(e episodes) RETURNS change_episode LANGUAGE sql IMMUTABLE AS $$
  SELECT ROW(e.id, e.show_id, e.name, e.season, e.number, e.type, e.airdate, e.airtime,
             e.airstamp, e.runtime, e.rating, e.summary, e.image_url)::change_episode
$$;

CREATE OR REPLACE FUNCTION changes_episodes_insert() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off SET jit = off AS $$
DECLARE
  last bigint;
  base bigint;
  n    bigint;
BEGIN
  PERFORM changes_commit();
  SELECT generation INTO last FROM data_generation FOR UPDATE;
  base := greatest(last + 1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint);
  INSERT INTO changes (version, entity, op, id, show_id, changed_at, fields)
  SELECT base + row_number() OVER (ORDER BY r.id) - 1, 2, 1, r.id, r.show_id, now(), '{}'
  FROM new_rows r;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n > 0 THEN
    UPDATE data_generation SET generation = base + n - 1;
    PERFORM pg_notify('tvmaze_generation', (base + n - 1)::text);
    IF coalesce(current_setting('tvmaze.changes_direct_from', true), '') = '' THEN
      PERFORM set_config('tvmaze.changes_direct_from', base::text, true);
    END IF;
  END IF;
  RETURN NULL;
END
$$;

-- Keeps a lazy record's image: the old row, before it changes or goes.
CREATE FUNCTION changes_episodes_keep() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off SET jit = off AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    UPDATE changes c SET episode_row = change_episode_of(o) FROM old_rows o
    WHERE c.show_id = o.show_id AND c.entity = 2 AND c.id = o.id AND c.op = 1
      AND c.episode_row IS NULL;
  ELSE
    UPDATE changes c SET episode_row = change_episode_of(o)
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE change_episode_of(o) IS DISTINCT FROM change_episode_of(n)
      AND c.show_id = o.show_id AND c.entity = 2 AND c.id = o.id AND c.op = 1
      AND c.episode_row IS NULL;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER episodes_changes_keep_update AFTER UPDATE ON episodes
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION changes_episodes_keep();
CREATE TRIGGER episodes_changes_keep_delete AFTER DELETE ON episodes
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION changes_episodes_keep();

-- changes_commit: migration 011's function (renamed changes_commit_pending,
-- unchanged) after folding pending rows of episodes this transaction
-- inserted into their CREATED records (which stay lazy: the row at commit).
ALTER FUNCTION changes_commit() RENAME TO changes_commit_pending;

CREATE FUNCTION changes_commit() RETURNS bigint LANGUAGE plpgsql
SET enable_seqscan = off SET jit = off AS $$
DECLARE
  first bigint;
BEGIN
  first := nullif(current_setting('tvmaze.changes_direct_from', true), '')::bigint;
  IF first IS NOT NULL AND EXISTS (SELECT 1 FROM change_pending WHERE xid = txid_current()) THEN
    WITH t AS (
      DELETE FROM change_pending p USING changes c
      WHERE p.xid = txid_current() AND p.entity = 2 AND c.version >= first AND c.entity = 2
        AND c.op = 1 AND c.id = p.id
      RETURNING p.id
    ), k AS (
      SELECT DISTINCT t.id FROM t
    ), gone AS (
      DELETE FROM changes c USING k
      WHERE c.version >= first AND c.entity = 2 AND c.op = 1 AND c.id = k.id
        AND NOT EXISTS (SELECT 1 FROM episodes e WHERE e.id = k.id)
    )
    UPDATE changes c SET show_id = e.show_id, episode_row = NULL
    FROM k JOIN episodes e ON e.id = k.id
    WHERE c.version >= first AND c.entity = 2 AND c.op = 1 AND c.id = k.id;
  END IF;
  RETURN changes_commit_pending();
END
$$;
