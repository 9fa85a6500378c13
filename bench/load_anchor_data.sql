-- load_anchor_data.sql: loads the anchors' generated CSVs (gen_data.py) into
-- OUR schema (001_schema.sql) for bench/query.sh. psql variable :data = the
-- CSV directory. Staging tables mirror the anchors' columns; the conversion
-- is what our ingest normalizer does: ids on the wire are TVMaze ids (shows,
-- episodes), network kinds become 1/2, summaries lose their HTML tags,
-- airtime becomes HH:MM. This is a stand-in for ingestion by our own
-- pipeline (server/ingest), which needs a fake TVMaze API for this data set.
\set ON_ERROR_STOP 1
BEGIN;
CREATE TEMP TABLE s_countries (id int, code text, name text, timezone text);
CREATE TEMP TABLE s_networks (id int, kind text, tvmaze_id int, name text, country_id int,
                              official_site text);
CREATE TEMP TABLE s_genres (id int, name text);
CREATE TEMP TABLE s_shows (id int, tvmaze_id int, name text, type text, language text,
                           status text, runtime int, premiered date, rating numeric(3, 1),
                           weight int, summary text, image_url text, network_id int);
CREATE TEMP TABLE s_show_genres (show_id int, genre_id int);
CREATE TEMP TABLE s_episodes (tvmaze_id int, show_id int, name text, season int, number int,
                              airdate date, airtime time, airstamp timestamptz, runtime int,
                              rating numeric(3, 1), summary text);
\set f :data '/countries.csv'
COPY s_countries FROM :'f' WITH (FORMAT csv, HEADER true);
\set f :data '/networks.csv'
COPY s_networks FROM :'f' WITH (FORMAT csv, HEADER true);
\set f :data '/genres.csv'
COPY s_genres FROM :'f' WITH (FORMAT csv, HEADER true);
\set f :data '/shows.csv'
COPY s_shows FROM :'f' WITH (FORMAT csv, HEADER true);
\set f :data '/show_genres.csv'
COPY s_show_genres FROM :'f' WITH (FORMAT csv, HEADER true);
\set f :data '/episodes.csv'
COPY s_episodes FROM :'f' WITH (FORMAT csv, HEADER true);

INSERT INTO countries (code, name, timezone) SELECT code, name, timezone FROM s_countries;
INSERT INTO distributors (id, kind, tvmaze_id, name, country_code, official_site)
  OVERRIDING SYSTEM VALUE
  SELECT n.id, CASE n.kind WHEN 'network' THEN 1 ELSE 2 END, n.tvmaze_id, n.name, c.code,
         n.official_site
  FROM s_networks n LEFT JOIN s_countries c ON c.id = n.country_id;
INSERT INTO genres (id, name) OVERRIDING SYSTEM VALUE SELECT id, name FROM s_genres;
INSERT INTO shows (id, name, type, language, status, runtime, premiered, rating, weight,
                   summary, image_url, distributor_id)
  SELECT tvmaze_id, name, type, language, status, runtime, premiered, rating, weight,
         regexp_replace(summary, '<[^>]*>', '', 'g'), image_url, network_id
  FROM s_shows;
INSERT INTO show_genres (show_id, genre_id)
  SELECT s.tvmaze_id, sg.genre_id FROM s_show_genres sg JOIN s_shows s ON s.id = sg.show_id;
INSERT INTO episodes (id, show_id, name, season, number, type, airdate, airtime, airstamp,
                      runtime, rating, summary)
  SELECT e.tvmaze_id, s.tvmaze_id, e.name, e.season, e.number, 'regular', e.airdate,
         coalesce(to_char(e.airtime, 'HH24:MI'), ''), e.airstamp, e.runtime, e.rating,
         regexp_replace(e.summary, '<[^>]*>', '', 'g')
  FROM s_episodes e JOIN s_shows s ON s.id = e.show_id;
UPDATE data_generation SET generation = generation + 1;
COMMIT;
VACUUM ANALYZE;
