-- 001: the normalized schedule schema, ingest runs, API keys, data generation.
-- Ids of shows and episodes are TVMaze's own (they are the ids on the wire);
-- distributors get a surrogate key because TVMaze numbers networks and web
-- channels separately: the natural key is (kind, tvmaze_id).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE countries (
  code      text PRIMARY KEY CHECK (code ~ '^[A-Z]{2}$'),
  name      text NOT NULL,
  timezone  text NOT NULL DEFAULT ''
);

-- kind: 1 = network, 2 = web channel (tvmaze.v1.DistributorKind).
CREATE TABLE distributors (
  id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind          smallint NOT NULL CHECK (kind IN (1, 2)),
  tvmaze_id     integer  NOT NULL CHECK (tvmaze_id > 0),
  name          text     NOT NULL,
  country_code  text REFERENCES countries (code),
  official_site text,
  UNIQUE (kind, tvmaze_id)
);
CREATE INDEX distributors_country_idx ON distributors (country_code);
CREATE INDEX distributors_lower_name_idx ON distributors (lower(name));

CREATE TABLE genres (
  id    smallint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name  text NOT NULL UNIQUE CHECK (name <> '')
);

CREATE TABLE shows (
  id              integer PRIMARY KEY CHECK (id > 0),
  name            text NOT NULL,
  type            text,
  language        text,
  status          text,
  runtime         integer CHECK (runtime >= 0),
  premiered       date,
  ended           date,
  official_site   text,
  rating          numeric(3, 1) CHECK (rating BETWEEN 0 AND 10),
  weight          integer,
  summary         text,
  image_url       text,
  distributor_id  integer REFERENCES distributors (id),
  tvmaze_updated  timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shows_distributor_idx ON shows (distributor_id);
CREATE INDEX shows_rating_idx ON shows (rating);
CREATE INDEX shows_name_trgm_idx ON shows USING gin (name gin_trgm_ops);

CREATE TABLE show_genres (
  show_id   integer  NOT NULL REFERENCES shows (id) ON DELETE CASCADE,
  genre_id  smallint NOT NULL REFERENCES genres (id),
  PRIMARY KEY (show_id, genre_id)
);
CREATE INDEX show_genres_genre_idx ON show_genres (genre_id, show_id);

CREATE TABLE episodes (
  id          integer PRIMARY KEY CHECK (id > 0),
  show_id     integer NOT NULL REFERENCES shows (id) ON DELETE CASCADE,
  name        text,
  season      integer,
  number      integer,
  type        text,
  airdate     date,
  airtime     text CHECK (airtime ~ '^([0-9]{2}:[0-9]{2})?$'),
  airstamp    timestamptz,
  runtime     integer CHECK (runtime >= 0),
  rating      numeric(3, 1) CHECK (rating BETWEEN 0 AND 10),
  summary     text,
  image_url   text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX episodes_airdate_show_idx ON episodes (airdate, show_id);
CREATE INDEX episodes_show_airdate_idx ON episodes (show_id, airdate);
CREATE INDEX episodes_airstamp_idx ON episodes (airstamp, id);

-- status: tvmaze.v1.RunStatus numbers (1 running, 2 succeeded, 3 partial, 4 failed).
CREATE TABLE ingest_runs (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  status              smallint NOT NULL CHECK (status BETWEEN 1 AND 4),
  start_date          date     NOT NULL,
  days                integer  NOT NULL CHECK (days BETWEEN 1 AND 365),
  days_done           integer  NOT NULL DEFAULT 0,
  requests            bigint   NOT NULL DEFAULT 0,
  retries             bigint   NOT NULL DEFAULT 0,
  episodes_seen       bigint   NOT NULL DEFAULT 0,
  shows_created       bigint   NOT NULL DEFAULT 0,
  shows_updated       bigint   NOT NULL DEFAULT 0,
  shows_unchanged     bigint   NOT NULL DEFAULT 0,
  episodes_created    bigint   NOT NULL DEFAULT 0,
  episodes_updated    bigint   NOT NULL DEFAULT 0,
  episodes_unchanged  bigint   NOT NULL DEFAULT 0,
  error               text,
  owner               text,
  started_at          timestamptz NOT NULL DEFAULT now(),
  finished_at         timestamptz
);
CREATE INDEX ingest_runs_running_idx ON ingest_runs (status) WHERE status = 1;

-- status: tvmaze.v1.DayStatus numbers (1 pending, 2 succeeded, 3 failed).
CREATE TABLE ingest_run_days (
  run_id  bigint  NOT NULL REFERENCES ingest_runs (id) ON DELETE CASCADE,
  date    date    NOT NULL,
  status  smallint NOT NULL CHECK (status BETWEEN 1 AND 3),
  error   text,
  PRIMARY KEY (run_id, date)
);

-- tier: tvmaze.v1.KeyTier numbers (1 free, 2 basic, 3 premium).
-- key_hash: SHA-256 of the secret; the secret itself is never stored.
CREATE TABLE api_keys (
  id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text     NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_.-]{1,64}$'),
  tier        smallint NOT NULL CHECK (tier BETWEEN 1 AND 3),
  key_hash    bytea    NOT NULL UNIQUE CHECK (length(key_hash) = 32),
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

-- The data generation: bumped in every transaction that changes schedule data,
-- part of every cache key, so no reader sees pre-commit data from the cache.
CREATE TABLE data_generation (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  generation bigint NOT NULL
);
INSERT INTO data_generation (generation) VALUES (1);
