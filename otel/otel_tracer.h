/*
 * otel_tracer: what a process holds to trace: its configuration
 * (otel_config.h), the sampler, an id generator and, when an endpoint is
 * set, the exporter (otel_exporter.h). One per process, created at start
 * and destroyed at exit (which flushes).
 *
 * Starting a span always yields the span context to propagate (the trace
 * id of the parent or a new one, a new span id, the sampled flag as
 * decided), so W3C traceparent flows with tracing off too; a span is
 * recorded (non-NULL) only when it is sampled and an endpoint is set. With
 * no endpoint the cost is a sampling decision and two random ids.
 *
 *   remote parent (traceparent received) or none -> the sampler decides
 *   local parent (a span of this process)        -> the parent's decision
 *
 * Thread safety: every function but create/destroy is thread-safe.
 * Tests: tests/unit/test_otel.c, tests/integration/test_gateway_otel.sh.
 */
#ifndef TVMAZE_OTEL_TRACER_H
#define TVMAZE_OTEL_TRACER_H

#include <stddef.h>
#include <stdint.h>

#include "otel_config.h"
#include "otel_span.h"
#include "otel_traceparent.h"
#include "strbuf.h"

struct otel_tracer;

/* c is copied. NULL with err set when the exporter cannot start. */
struct otel_tracer *otel_tracer_create(const struct otel_config *c, char *err, size_t errlen);
/* Flushes (bounded: otel_exporter.h) and frees t (NULL: no-op). No span
 * may be started or ended any more. */
void otel_tracer_destroy(struct otel_tracer *t);

/* 1 when spans are exported (an endpoint is set). */
int otel_tracer_exporting(const struct otel_tracer *t);
const struct otel_config *otel_tracer_config(const struct otel_tracer *t);

/* Starts a span named name (copied) of kind: *ctx gets its context. parent
 * NULL: a root; parent_remote: parent came from another process. start_ns:
 * Unix ns, 0 for now. Returns the span to fill and end, or NULL when it is
 * not recorded (every otel_span_* setter and otel_tracer_end accept NULL).
 * The span is the caller's until otel_tracer_end. */
struct otel_span *otel_tracer_start(struct otel_tracer *t, const struct otel_span_context *parent,
                                    int parent_remote, const char *name, enum otel_span_kind kind,
                                    uint64_t start_ns, struct otel_span_context *ctx);

/* Ends s now (NULL: no-op) and hands it to the exporter. */
void otel_tracer_end(struct otel_tracer *t, struct otel_span *s);

/* A fresh trace context that is not sampled (for a process's own
 * background calls, so they start no trace): *ctx. */
void otel_tracer_background(struct otel_tracer *t, struct otel_span_context *ctx);

/* Appends the exporter's counters in Prometheus text (zeros when not
 * exporting): tvmaze_otel_spans_exported_total,
 * tvmaze_otel_spans_dropped_total{reason="queue_full|export_failed|shutdown"},
 * tvmaze_otel_queue_spans. */
void otel_tracer_render_metrics(struct otel_tracer *t, struct strbuf *b);

#endif
