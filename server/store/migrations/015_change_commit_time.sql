-- 015: changed_at is the time the record is written, clock_timestamp(), not
-- the transaction's start, now() (API.md: "changed_at (the commit time)").
-- The writer calls changes_commit() as the last statement before COMMIT, so
-- that is the commit time up to the function's own run; before, a day's
-- transaction gave its records the time it began (seen 2.9-3.4 s early on
-- average in bench/changes.sh). Direct episode INSERTs (migration 012) get
-- their INSERT statement's time.
--
-- The two functions are otherwise unchanged: each is rewritten from its
-- current definition, and the migration fails unless each holds now()
-- exactly once (the changed_at it writes).
DO $$
DECLARE
  f text;
  def text;
  parts text[];
BEGIN
  FOREACH f IN ARRAY ARRAY['changes_commit_pending()', 'changes_episodes_insert()'] LOOP
    def := pg_get_functiondef(f::regprocedure);
    parts := string_to_array(def, 'now()');
    IF array_length(parts, 1) <> 2 THEN
      RAISE EXCEPTION 'migration 015: % does not hold now() exactly once', f;
    END IF;
    EXECUTE array_to_string(parts, 'clock_timestamp()');
  END LOOP;
END
$$;
