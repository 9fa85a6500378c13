-- 017: the validators (ETag, Last-Modified) of the last /schedule/full
-- document a full-mode run wrote completely (issue 18, docs/ingest.md "Full
-- mode"), one row per document URL. The next full run sends them as
-- If-None-Match / If-Modified-Since; a 304 Not Modified then skips every day
-- as unchanged without a body. A run that got a document but did not write
-- every day deletes the row ('' : the response had no such header).
CREATE TABLE ingest_full_validators (
  url           text PRIMARY KEY,
  etag          text NOT NULL DEFAULT '',
  last_modified text NOT NULL DEFAULT '',
  saved_at      timestamptz NOT NULL DEFAULT now()
);
