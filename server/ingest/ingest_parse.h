/*
 * ingest_parse: TVMaze schedule JSON (jansson) to normalized rows.
 *
 * One struct row_batch collects the rows of one day from any number of
 * schedule documents (the web schedule and each country's network schedule),
 * deduplicated by natural key, ready for store_ingest: for episodes,
 * distributors and countries the last occurrence wins; a show (embedded in
 * every item of it) is normalized once, from its first occurrence.
 *
 * One path: json_span (json_span.h) splits the document into items and
 * finds each item's show object; the show memo (ingest_show_memo.h; none
 * is a lookup that never hits) is asked about the object's bytes; jansson
 * parses each item (without its show object on a hit), which is normalized
 * (ingest_normalize.h) and freed before the next item is parsed, so that
 * jansson holds one item at a time, however long the document; once every
 * item is normalized, one loop merges the rows into the batch. A document
 * json_span cannot split goes to jansson whole, which decides: its error,
 * or its array's elements as the items of the same loop.
 *
 * Upstream fields (TVMAZE.md) -> rows; every value is text or NULL (SQL NULL):
 *
 *   item (episode)       episodes column   normalization
 *   id                   id                > 0 integer, else the item is skipped
 *   name                 name              string or NULL
 *   season, number       season, number    integer or NULL (number NULL: special)
 *   type                 type              string or NULL
 *   airdate              airdate           YYYY-MM-DD (real date) or NULL
 *   airtime              airtime           "HH:MM" or "" (web releases) or NULL
 *   airstamp             airstamp          ISO 8601 with offset, else NULL
 *   runtime              runtime           integer >= 0 or NULL
 *   rating.average       rating            0..10 number or NULL
 *   summary              summary           html_to_text; "" -> NULL
 *   image.medium         image_url         string or NULL
 *   show | _embedded.show -> shows row (id > 0 and a name, else item skipped):
 *     id name type language status runtime averageRuntime (-> average_runtime;
 *     each integer >= 0 or NULL, neither stands in for the other) premiered
 *     ended officialSite rating.average weight summary image.medium updated
 *     (epoch s -> tvmaze_updated), genres[] (non-empty strings, TVMaze's
 *     order, a repeated name kept at its first place)
 *     network (kind 1) else webChannel (kind 2) -> distributors (kind, id)
 *       {id > 0, name, country, officialSite}; country {code [A-Z]{2}, name,
 *       timezone} -> countries; absent/null country (global channel) -> NULL
 *
 * Not thread-safe per batch; distinct batches may be used from distinct
 * threads. Tests: tests/unit/test_ingest_parse.c, tests/fuzz/fuzz_parse.c.
 */
#ifndef TVMAZE_INGEST_PARSE_H
#define TVMAZE_INGEST_PARSE_H

#include <stddef.h>

#include "ingest_show_memo.h"
#include "rows.h"

enum ingest_parse_status {
  INGEST_PARSE_OK = 0,
  INGEST_PARSE_BAD_JSON, /* not JSON (or invalid UTF-8, NUL in a string) */
  INGEST_PARSE_BAD_SHAPE /* JSON but not an array of schedule items */
};

/* Version of the normalization (field mapping, html_to_text, dedup): part
 * of every stored source hash (migration 006), so bump it with any change
 * that alters the rows a given document yields, and the next run re-parses
 * every day instead of skipping unchanged bodies. */
#define INGEST_NORMALIZE_VERSION 2 /* 2: average_runtime, genre order, line breaks */

/* Parses one schedule document json[0..n) and merges its items into b. m
 * (NULL: none) is the run's show memo (ingest_show_memo.h): an item whose
 * show object has exactly the bytes of one recorded there is parsed with
 * that object replaced by null and the recorded rows stand for it; a show
 * object seen for the first time is recorded while m has room. The batch
 * is the same with any memo or none. On failure b keeps the rows it had
 * before the call (nothing of this document is added; its arena may hold
 * strings of the items normalized before the failure, freed with b) and
 * err (errlen bytes) gets jansson's message for the whole document. */
enum ingest_parse_status ingest_parse_schedule(struct row_batch *b, struct ingest_show_memo *m,
                                               const char *json, size_t n, char *err,
                                               size_t errlen);

/* The same without json_span: jansson parses the whole document and its
 * array's elements are the items (the source ingest_parse_schedule falls
 * back to when json_span cannot split a document, e.g. nesting deeper than
 * JSON_SPAN_MAX_DEPTH). For tests that check that splitting a document
 * into items changes nothing (test_ingest_parse, fuzz_parse). */
enum ingest_parse_status ingest_parse_schedule_whole(struct row_batch *b, const char *json,
                                                     size_t n, char *err, size_t errlen);

#endif
