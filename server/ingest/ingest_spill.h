/*
 * ingest_spill: the items of a /schedule/full download, kept per day of the
 * run's window on disk instead of in memory, so that a document of any size
 * becomes one schedule document per day, built when that day is written.
 *
 *   add      an item (its raw bytes, from json_stream) whose top-level
 *            "airdate" is a YYYY-MM-DD string inside the window is appended
 *            to the run's temporary file (unlinked at once, in $TMPDIR or
 *            /tmp) and indexed under its day: offset, length and a 64-bit
 *            hash of its bytes (24 bytes of memory per item); items of other
 *            days are counted and dropped, items without a readable airdate
 *            counted as undated (the normalizer would skip them too)
 *   day      the day's items as one JSON array "[item,item,...]", ordered
 *            by their hash (then offset): the same items in any document
 *            order give the same bytes, hence the same body hash
 *            (ingest_skip.h), so an unchanged day is skipped
 *   reset    forgets every item (a download that starts again)
 *
 * The airdate is read from the item's bytes (json_span_object): an item
 * whose keys carry escapes, or whose airdate string does, is undated
 * unless its airdate is plainly readable. Not thread-safe.
 * Tests: through ingest_full (tests/integration/test_ingest_full.c).
 */
#ifndef TVMAZE_INGEST_SPILL_H
#define TVMAZE_INGEST_SPILL_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

struct ingest_spill;

struct ingest_spill_stats {
  size_t kept;    /* items inside the window */
  size_t outside; /* items of other days */
  size_t undated; /* items without a readable airdate */
  size_t bytes;   /* bytes of the kept items */
};

/* A spill for the days [start_day, start_day + days). NULL (err set) when
 * no temporary file can be made. Free with ingest_spill_destroy. */
struct ingest_spill *ingest_spill_create(int32_t start_day, int days, char *err, size_t errlen);

void ingest_spill_destroy(struct ingest_spill *s); /* accepts NULL */

/* Files one item. 0, or -1 when the file cannot be written (err set). */
int ingest_spill_add(struct ingest_spill *s, const char *item, size_t n, char *err, size_t errlen);

/* Day i of the window (0-based) as a JSON array in *out (reset first). 0,
 * or -1 when the file cannot be read (err set). */
int ingest_spill_day(struct ingest_spill *s, int i, struct strbuf *out, char *err, size_t errlen);

void ingest_spill_reset(struct ingest_spill *s);

struct ingest_spill_stats ingest_spill_stats(const struct ingest_spill *s);

#endif
