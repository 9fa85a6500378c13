/*
 * batch_cmp: compares two ingest batches row by row (order included), for
 * the tests that check that ingest_parse_schedule (items split by
 * json_span, with or without a show memo) gives exactly the rows of
 * jansson's whole-document parse (ingest_parse_schedule_whole).
 */
#ifndef TVMAZE_TEST_BATCH_CMP_H
#define TVMAZE_TEST_BATCH_CMP_H

#include <stddef.h>

#include "ingest_parse.h"

/* 0 if a and b hold the same rows and counts; else nonzero and why (n
 * bytes) names the first difference. */
int ingest_batch_diff(const struct row_batch *a, const struct row_batch *b, char *why, size_t n);

#endif
