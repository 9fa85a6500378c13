/*
 * ingest_show_memo: a run's memo of the show objects it has normalized,
 * keyed by their exact JSON bytes.
 *
 * A show is embedded, whole, in every item of every day it airs (in the
 * benchmark's 90 days, 35,000 items carry 8,000 shows; its JSON is about
 * 70 % of an item's bytes), and an unchanged show has byte-identical JSON
 * each time. ingest_parse asks the memo about each item's show object
 * before jansson sees it: on a hit the item is parsed with that object
 * replaced by null and the recorded rows stand for it (normalization is a
 * pure function of the value, ingest_normalize.h). Entries are found by a
 * hash of the bytes (their length, first and last 64 bytes, which hold the
 * show's id, url and updated time) and told apart by the SHA-256 of the
 * bytes, computed only when an entry of the same hash and length is there
 * and for a new entry: the memo keeps the digest, not the bytes (about
 * half of an entry's size), so twice as many shows fit. At most
 * INGEST_SHOW_MEMO_CHAIN entries share a table slot, so crafted equal
 * hashes (FNV-1a is not collision-resistant) cost lookups, not rows.
 *
 * A NULL memo is a lookup that never hits and records nothing: the parse
 * has one path, with or without a memo.
 *
 * Bound: a show is recorded while the memo's memory (arena chunks of 256
 * KiB and its table) plus an estimate of the entry stays within max_bytes.
 * The recorded rows live in the memo: destroy it only after every batch
 * parsed with it is released. One thread at a time.
 * Tests: tests/unit/test_ingest_parse.c (memo cases), tests/fuzz/fuzz_parse.c.
 */
#ifndef TVMAZE_INGEST_SHOW_MEMO_H
#define TVMAZE_INGEST_SHOW_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "ingest_normalize.h"

#define INGEST_SHOW_MEMO_CHAIN 8

struct ingest_show_memo;

struct ingest_show_memo_stats {
  size_t shows; /* show objects recorded */
  size_t bytes; /* memory held: arena chunks and the table */
  size_t hits;  /* items whose show came from the memo */
};

struct ingest_show_memo *ingest_show_memo_create(size_t max_bytes);
/* Accepts NULL. */
void ingest_show_memo_destroy(struct ingest_show_memo *m);
/* m NULL: all zero. */
struct ingest_show_memo_stats ingest_show_memo_stats(const struct ingest_show_memo *m);

/* A show object's bytes p[0..len) (must outlive the key), their hash and,
 * once the memo needed it, their SHA-256. */
struct ingest_show_key {
  const char *p;
  size_t len;
  uint64_t hash;
  int has_digest;
  unsigned char digest[32];
};
struct ingest_show_key ingest_show_key_of(const char *p, size_t len);

/* The rows recorded for exactly k's bytes, or NULL (always NULL for a NULL
 * m). Owned by m. */
const struct ingest_show_rows *ingest_show_memo_find(const struct ingest_show_memo *m,
                                                     struct ingest_show_key *k);

/* The arena to normalize the show object of k into before recording it,
 * or NULL when m is NULL or has no room for it. */
struct arena *ingest_show_memo_room(struct ingest_show_memo *m, const struct ingest_show_key *k);

/* Records that k's bytes normalize to *rows (whose strings are in the
 * arena ingest_show_memo_room gave); keeps their digest. Returns the memo's
 * copy of the rows, or NULL when k's slot holds INGEST_SHOW_MEMO_CHAIN
 * entries already (nothing recorded; rows stay valid while m lives). */
const struct ingest_show_rows *ingest_show_memo_add(struct ingest_show_memo *m,
                                                    struct ingest_show_key *k,
                                                    const struct ingest_show_rows *rows);

/* Counts n items whose show came from m (stats.hits). m NULL: nothing. */
void ingest_show_memo_count_hits(struct ingest_show_memo *m, size_t n);

#endif
