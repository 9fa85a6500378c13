/*
 * ingest_skip: skip-unchanged. A day whose raw bodies hash exactly as the
 * ones stored with its rows (migration 006) yields the same rows, so it is
 * neither parsed nor written.
 *
 *   hash     SHA-256 (OpenSSL libcrypto) over
 *            "tvmaze-ingest normalize <INGEST_NORMALIZE_VERSION>\n" and the
 *            body: a change of the normalizer changes every hash
 *   compare  a day is unchanged when it has hashes, the stored sources of
 *            its date are exactly its sources, and every hash matches
 *
 * Pure functions but for the hashing; thread-safe.
 * Tests: tests/unit/test_ingest_skip.c.
 */
#ifndef TVMAZE_INGEST_SKIP_H
#define TVMAZE_INGEST_SKIP_H

#include <stddef.h>

#include "ingest_fetch.h"
#include "store_ingest.h"

/* The hash of one body. 0 on failure (libcrypto), out then undefined. */
int ingest_skip_hash_body(const char *doc, size_t len, unsigned char out[STORE_INGEST_HASH_LEN]);

/* The hashes of d's documents, named by their sources (items 0): *out
 * (free with free()) and *n. *n = 0 when any hash failed: the day is then
 * parsed, and no hash stored. */
void ingest_skip_hash_day(const struct ingest_fetched_day *d, struct store_ingest_source_hash **out,
                          size_t *n);

/* Whether the day date with hashes[0..n) is unchanged against stored[0..
 * n_stored) (any dates); if so *episodes and *shows get the day's stored
 * counts. */
int ingest_skip_unchanged(const struct store_ingest_stored_hash *stored, size_t n_stored,
                          const char *date, const struct store_ingest_source_hash *hashes, size_t n,
                          long long *episodes, long long *shows);

#endif
