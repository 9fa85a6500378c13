-- 016: indexes for the time-zone windows of ListShows / ListEpisodes
-- (issue 16, API.md "Time zones"). With a tz the window is a UTC airstamp
-- range, [date_from 00:00, date_to + 1 00:00) in the zone, computed by
-- PostgreSQL from the parameters (store_shows.c TZ_WINDOW): these two are
-- the airstamp twins of episodes_window_idx (002) and
-- episodes_country_window_idx (004), so a tz listing reads one index range
-- (index-only: show_id and id are included, the sort key is the range key)
-- as a plain listing does. Episodes without an airstamp (never in a tz
-- window) are left out of both.
-- Migration 008 dropped 001's episodes_airstamp_idx (airstamp, id), which no
-- query used then.
CREATE INDEX episodes_airstamp_window_idx ON episodes (airstamp) INCLUDE (show_id, id)
  WHERE airstamp IS NOT NULL;
CREATE INDEX episodes_country_airstamp_window_idx ON episodes (country_code, airstamp)
  INCLUDE (show_id, id) WHERE airstamp IS NOT NULL;
