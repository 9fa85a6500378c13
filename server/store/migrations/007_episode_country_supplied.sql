-- 007: a writer may supply episodes.country_code on INSERT (migration 004).
-- The row trigger of 004 looked the country up for every inserted episode
-- (a PL/pgSQL call and a two-table query per row): in the ingest benchmark
-- it was about a third of the episodes upsert. The ingest now computes the
-- same value set-based in its INSERT (episodes JOIN shows JOIN distributors,
-- in the same statement, after the day's shows and distributors were
-- written), so the INSERT trigger only fires when the writer left the
-- column NULL: writers that do not know the column still get it filled (and
-- an episode of a show without a distributor country keeps NULL).
-- UPDATEs of show_id or country_code still always recompute it, and the
-- propagation triggers of shows and distributors are unchanged.
DROP TRIGGER episodes_country ON episodes;

CREATE TRIGGER episodes_country_insert BEFORE INSERT ON episodes
  FOR EACH ROW WHEN (NEW.country_code IS NULL)
  EXECUTE FUNCTION episodes_set_country();

CREATE TRIGGER episodes_country_update BEFORE UPDATE OF show_id, country_code ON episodes
  FOR EACH ROW EXECUTE FUNCTION episodes_set_country();
