-- 009: the country lookup of 004/007 also skips rows whose writer says it
-- supplied episodes.country_code, NULL included.
-- Since 007 the ingest computes the column in its INSERT, and the INSERT
-- trigger fires only for a NULL. But NULL is also a real value: the
-- episodes of a global channel (Netflix: no country) get NULL from the
-- ingest's join, and the trigger then ran its PL/pgSQL lookup only to find
-- NULL again, for about 10 % of all episodes (3,540 of the benchmark's
-- 35,000; inserting them all: 1.22 s -> 1.11 s, mean of four alternating
-- runs). A writer that supplies the column sets the transaction-local
-- setting tvmaze.episode_country_supplied to 'on' (the ingest does, in the
-- BEGIN of each day); every other writer gets the lookup as before.
DROP TRIGGER episodes_country_insert ON episodes;

CREATE TRIGGER episodes_country_insert BEFORE INSERT ON episodes
  FOR EACH ROW
  WHEN (NEW.country_code IS NULL
        AND current_setting('tvmaze.episode_country_supplied', true) IS DISTINCT FROM 'on')
  EXECUTE FUNCTION episodes_set_country();
