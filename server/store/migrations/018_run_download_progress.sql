-- 018: the download progress of a full-mode run (issue 18, docs/ingest.md
-- "Full mode"): the decoded bytes of /schedule/full received so far, the
-- document's Content-Length (0 when unknown) and the items split from it so
-- far. Updated by the runner at a bounded rate during the download; 0 for
-- daily-mode runs and runs from before this migration.
ALTER TABLE ingest_runs
  ADD COLUMN bytes_downloaded bigint NOT NULL DEFAULT 0,
  ADD COLUMN bytes_total      bigint NOT NULL DEFAULT 0,
  ADD COLUMN items_seen       bigint NOT NULL DEFAULT 0;
