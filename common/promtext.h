/*
 * promtext: pieces of the Prometheus text exposition format 0.0.4 appended
 * to a strbuf -- a family's HELP/TYPE lines, samples, label values escaped,
 * and a histogram's cumulative buckets from per-bucket counts. No state, no
 * locks: the caller owns the numbers and the buffer.
 *
 *   # HELP name help            prom_family
 *   # TYPE name counter
 *   name{a="x"} 3               prom_sample_u64 (labels "a=\"x\"", or NULL)
 *   name_bucket{a="x",le="0.1"} 2   prom_histogram
 *   name_bucket{a="x",le="+Inf"} 3
 *   name_sum{a="x"} 0.25
 *   name_count{a="x"} 3
 *
 * Values print as integers (counters, gauges of counts) or in the shortest
 * form that reads back the same, laid out as client_golang does ("10",
 * "0.005", "1.5e+06"; NaN and +-Inf as the format spells them). Tests: tests/unit/test_promtext.c.
 */
#ifndef TVMAZE_COMMON_PROMTEXT_H
#define TVMAZE_COMMON_PROMTEXT_H

#include <stddef.h>

#include "strbuf.h"

#define PROMTEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* "# HELP name help\n# TYPE name type\n"; type: counter, gauge, histogram. */
void prom_family(struct strbuf *b, const char *name, const char *type, const char *help);

/* Appends v escaped as a label value (backslash, double quote, newline). */
void prom_label_value(struct strbuf *b, const char *v);

/* "name{labels} v\n" (labels NULL or "": no braces). */
void prom_sample_u64(struct strbuf *b, const char *name, const char *labels, unsigned long long v);
void prom_sample_double(struct strbuf *b, const char *name, const char *labels, double v);

/* A histogram's series: name_bucket for each of the n upper bounds
 * (ascending) and +Inf, name_sum, name_count. counts[0..n] are per bucket
 * (counts[n]: above the last bound), not cumulative; labels as above. */
void prom_histogram(struct strbuf *b, const char *name, const char *labels, const double *bounds,
                    const unsigned long long *counts, size_t n, double sum);

#endif
