-- 002: indexes for the read queries (server/store/store_shows.c).
-- The window aggregate of ListShows (show_id, min(airstamp) per airdate range)
-- and the ListEpisodes page read only this index (index-only scans).
CREATE INDEX episodes_window_idx ON episodes (airdate) INCLUDE (show_id, airstamp, id);
