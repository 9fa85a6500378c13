-- 004: episodes.country_code, a denormalized copy of the show's distributor
-- country (shows.distributor_id -> distributors.country_code), kept by
-- triggers so writers (the ingest) need not know about it. The country
-- filter of ListShows / ListEpisodes (the main listing: 14-day US window)
-- then reads only that country's episodes of the window from one covering
-- index, instead of every episode of the window probed against the set of
-- the country's shows (bench/query.sh: 5,205 -> 1,171 index tuples).
ALTER TABLE episodes ADD COLUMN country_code text;

UPDATE episodes e SET country_code = d.country_code
FROM shows s JOIN distributors d ON d.id = s.distributor_id
WHERE s.id = e.show_id;

CREATE INDEX episodes_country_window_idx ON episodes (country_code, airdate)
  INCLUDE (show_id, airstamp, id);

-- New episode, or one moved to another show: copy the show's country.
CREATE FUNCTION episodes_set_country() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.country_code := (SELECT d.country_code FROM shows s
                       JOIN distributors d ON d.id = s.distributor_id
                       WHERE s.id = NEW.show_id);
  RETURN NEW;
END
$$;
CREATE TRIGGER episodes_country BEFORE INSERT OR UPDATE OF show_id, country_code ON episodes
  FOR EACH ROW EXECUTE FUNCTION episodes_set_country();

-- A show moved to another distributor: its episodes follow.
CREATE FUNCTION shows_propagate_country() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  cc text := (SELECT d.country_code FROM distributors d WHERE d.id = NEW.distributor_id);
BEGIN
  UPDATE episodes SET country_code = cc
  WHERE show_id = NEW.id AND country_code IS DISTINCT FROM cc;
  RETURN NULL;
END
$$;
CREATE TRIGGER shows_country AFTER UPDATE OF distributor_id ON shows
  FOR EACH ROW WHEN (OLD.distributor_id IS DISTINCT FROM NEW.distributor_id)
  EXECUTE FUNCTION shows_propagate_country();

-- A distributor's country changed: the episodes of its shows follow.
CREATE FUNCTION distributors_propagate_country() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE episodes e SET country_code = NEW.country_code
  FROM shows s
  WHERE s.distributor_id = NEW.id AND e.show_id = s.id
    AND e.country_code IS DISTINCT FROM NEW.country_code;
  RETURN NULL;
END
$$;
CREATE TRIGGER distributors_country AFTER UPDATE OF country_code ON distributors
  FOR EACH ROW WHEN (OLD.country_code IS DISTINCT FROM NEW.country_code)
  EXECUTE FUNCTION distributors_propagate_country();
