/*
 * otel_sampler: OpenTelemetry's built-in samplers as OTEL_TRACES_SAMPLER
 * names them, with OTEL_TRACES_SAMPLER_ARG for the ratio ones:
 *
 *   always_on, always_off, traceidratio        (no parent consulted)
 *   parentbased_always_on, parentbased_always_off,
 *   parentbased_traceidratio (the default)     (a parent's sampled flag
 *                                               decides; the root by the rest)
 *
 * TraceIdRatioBased is deterministic on the trace id, as the OpenTelemetry
 * SDKs compute it: the trace id's last 8 bytes as a big-endian integer,
 * shifted right by one, below ratio * 2^63. So every process that sees a
 * trace id decides alike. No state besides the value; thread-safe.
 * Tests: tests/unit/test_otel.c (sampler).
 */
#ifndef TVMAZE_OTEL_SAMPLER_H
#define TVMAZE_OTEL_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

enum otel_sampler_kind {
  OTEL_SAMPLER_ALWAYS_ON,
  OTEL_SAMPLER_ALWAYS_OFF,
  OTEL_SAMPLER_RATIO,
};

struct otel_sampler {
  enum otel_sampler_kind root; /* the decision without a parent */
  int parent_based;            /* a parent's sampled flag decides */
  double ratio;                /* OTEL_SAMPLER_RATIO: 0..1 */
  uint64_t bound;              /* ratio * 2^63 */
};

#define OTEL_SAMPLER_DEFAULT_ARG 0.1

/* From the variables' values (NULL or "" = unset; names are
 * case-insensitive, as the spec asks of enum values): 0, or -1 with err
 * naming the variable (an unknown sampler; an ARG that is not a number in
 * [0, 1] for a ratio sampler). An ARG given to another sampler is ignored.
 * Default: parentbased_traceidratio at OTEL_SAMPLER_DEFAULT_ARG. */
int otel_sampler_parse(const char *name, const char *arg, struct otel_sampler *out, char *err,
                       size_t errlen);

/* The ratio sampler alone: 1 when trace_id falls in ratio. */
int otel_sampler_ratio_hit(const struct otel_sampler *s, const uint8_t trace_id[16]);

/* The decision for a span of trace_id: with a parent (has_parent) whose
 * sampled flag is parent_sampled, or a root. 1 = record and export. */
int otel_sampler_decide(const struct otel_sampler *s, const uint8_t trace_id[16], int has_parent,
                        int parent_sampled);

/* The configured name ("parentbased_traceidratio", ...), static. */
const char *otel_sampler_name(const struct otel_sampler *s);

#endif
