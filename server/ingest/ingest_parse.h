/*
 * ingest_parse: TVMaze schedule JSON (jansson) to normalized rows.
 *
 * One struct row_batch collects the rows of one day from any number of
 * schedule documents (the web schedule and each country's network schedule),
 * deduplicated by natural key, ready for store_ingest: for episodes,
 * distributors and countries the last occurrence wins; a show (embedded in
 * every item of it) is normalized once, from its first occurrence.
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
 *     id name type language status runtime(runtime, else averageRuntime)
 *     premiered ended officialSite rating.average weight summary image.medium
 *     updated (epoch s -> tvmaze_updated), genres[] (non-empty strings)
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
#define INGEST_NORMALIZE_VERSION 1

/* A run's memo of the show objects it has normalized. A show is embedded,
 * whole, in every item of every day it airs (in the benchmark's 90 days,
 * 35,000 items carry 8,000 shows; its JSON is about 70 % of an item's
 * bytes), and an unchanged show has byte-identical JSON each time. With a
 * memo, ingest_parse_schedule hands jansson each item on its own and, for
 * an item whose show object has exactly the bytes of one normalized before
 * (compared in full, not by hash), parses the item with that object
 * replaced by null and uses the rows it gave then. The resulting batch is
 * the one the whole-document parse gives (tests and fuzz_parse compare
 * them). The rows of recorded shows live in the memo: destroy it only after
 * every batch parsed with it is released. A show is recorded while the
 * memo's memory (arena chunks of 256 KiB and its table) plus an estimate of
 * the entry stays within max_bytes. One thread at a time. */
struct ingest_show_memo;

struct ingest_show_memo_stats {
  size_t shows; /* show objects recorded */
  size_t bytes; /* memory held: arena chunks and the table */
  size_t hits;  /* items whose show came from the memo */
};

struct ingest_show_memo *ingest_show_memo_create(size_t max_bytes);
void ingest_show_memo_destroy(struct ingest_show_memo *m);
struct ingest_show_memo_stats ingest_show_memo_stats(const struct ingest_show_memo *m);

/* Parses one schedule document json[0..n) and merges its items into b; m
 * (may be NULL) as above. On failure b keeps what it had before the call
 * (nothing of this document is added) and err (errlen bytes) gets a
 * message. */
enum ingest_parse_status ingest_parse_schedule(struct row_batch *b, struct ingest_show_memo *m,
                                               const char *json, size_t n, char *err,
                                               size_t errlen);

#endif
