-- 006: skip unchanged days. TVMaze answers byte-identical bodies for a day
-- whose schedule did not change; the ingest stores, per (date, source), the
-- SHA-256 of the raw body (source: 'web' or a country code), written in the
-- same transaction as the day's rows. A later run skips a day whose sources
-- (same set) all hash to the stored values: no parse, no schedule write.
-- The hash covers INGEST_NORMALIZE_VERSION (ingest_parse.h) too, so a change
-- of normalization re-parses everything. A migration that changes what the
-- normalized rows hold must TRUNCATE ingest_source_hashes.
-- day_episodes / day_shows: the day's distinct episodes and shows (the same
-- on each source row of the day), reported as unchanged when it is skipped.
CREATE TABLE ingest_source_hashes (
  date         date        NOT NULL,
  source       text        NOT NULL,
  hash         bytea       NOT NULL,
  items        integer     NOT NULL,
  day_episodes integer     NOT NULL,
  day_shows    integer     NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (date, source)
);

-- A day result skipped because every source body was identical.
ALTER TABLE ingest_run_days ADD COLUMN skipped boolean NOT NULL DEFAULT false;
