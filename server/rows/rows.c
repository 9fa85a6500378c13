/*
 * rows: lifetime of a day's row batch (rows.h). The rows themselves are
 * filled by ingest_parse.c, which keeps its natural-key index in the batch.
 */
#include "rows.h"

#include <stdlib.h>
#include <string.h>

void row_batch_init(struct row_batch *b) {
  memset(b, 0, sizeof *b);
  arena_init(&b->strings, (size_t)64 << 10);
}

void row_batch_release(struct row_batch *b) {
  arena_release(&b->strings);
  u64map_release(&b->index);
  free(b->countries);
  free(b->distributors);
  free(b->shows);
  free(b->episodes);
  memset(b, 0, sizeof *b);
}
