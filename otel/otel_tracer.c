/*
 * otel_tracer: sampling, ids and the hand-off to the exporter. See
 * otel_tracer.h. Tests: tests/unit/test_otel.c (tracer),
 * tests/integration/test_gateway_otel.sh.
 */
#include "otel_tracer.h"

#include <stdlib.h>
#include <string.h>

#include "idgen.h"
#include "otel_exporter.h"
#include "otel_sampler.h"
#include "promtext.h"
#include "xalloc.h"

/* Written by create only, but ids (atomic). */
struct otel_tracer {
  struct otel_config cfg;
  struct idgen ids;
  struct otel_exporter *exporter; /* NULL: not exporting */
};

struct otel_tracer *otel_tracer_create(const struct otel_config *c, char *err, size_t errlen) {
  struct otel_tracer *t = xcalloc(1, sizeof *t);
  t->cfg = *c;
  idgen_init(&t->ids);
  if (c->endpoint[0] != '\0') {
    t->exporter = otel_exporter_start(c, err, errlen);
    if (t->exporter == NULL) {
      free(t);
      return NULL;
    }
  }
  return t;
}

void otel_tracer_destroy(struct otel_tracer *t) {
  if (t == NULL)
    return;
  otel_exporter_stop(t->exporter);
  free(t);
}

int otel_tracer_exporting(const struct otel_tracer *t) {
  return t->exporter != NULL;
}

const struct otel_config *otel_tracer_config(const struct otel_tracer *t) {
  return &t->cfg;
}

/* Random non-zero ids (an all-zero id is invalid; 2^-64 odds, but cheap). */
static void new_id_(struct idstream *st, uint8_t *id, int n) {
  do
    idstream_bytes(st, id, (size_t)n);
  while (otel_id_is_zero(id, n));
}

struct otel_span *otel_tracer_start(struct otel_tracer *t, const struct otel_span_context *parent,
                                    int parent_remote, const char *name, enum otel_span_kind kind,
                                    uint64_t start_ns, struct otel_span_context *ctx) {
  struct idstream st = idgen_stream(&t->ids);
  struct otel_span_context c;
  if (parent != NULL)
    memcpy(c.trace_id, parent->trace_id, 16);
  else
    new_id_(&st, c.trace_id, 16);
  new_id_(&st, c.span_id, 8);
  int sampled;
  if (parent != NULL && !parent_remote)
    sampled = (parent->flags & OTEL_FLAG_SAMPLED) != 0;
  else
    sampled = otel_sampler_decide(&t->cfg.sampler, c.trace_id, parent != NULL,
                                  parent != NULL && (parent->flags & OTEL_FLAG_SAMPLED) != 0);
  c.flags = (uint8_t)((parent != NULL ? parent->flags & ~OTEL_FLAG_SAMPLED : 0) |
                      (sampled ? OTEL_FLAG_SAMPLED : 0));
  *ctx = c;
  if (!sampled || t->exporter == NULL)
    return NULL;
  struct otel_span *s = otel_span_new(name);
  s->ctx = c;
  if (parent != NULL) {
    memcpy(s->parent_span_id, parent->span_id, 8);
    s->has_parent = 1;
  }
  s->kind = kind;
  s->start_ns = start_ns != 0 ? start_ns : otel_now_ns();
  return s;
}

void otel_tracer_end(struct otel_tracer *t, struct otel_span *s) {
  if (s == NULL)
    return;
  s->end_ns = otel_now_ns();
  if (s->end_ns < s->start_ns)
    s->end_ns = s->start_ns;
  if (t->exporter != NULL)
    otel_exporter_submit(t->exporter, s);
  else
    otel_span_free(s);
}

void otel_tracer_background(struct otel_tracer *t, struct otel_span_context *ctx) {
  struct idstream st = idgen_stream(&t->ids);
  new_id_(&st, ctx->trace_id, 16);
  new_id_(&st, ctx->span_id, 8);
  ctx->flags = 0;
}

void otel_tracer_render_metrics(struct otel_tracer *t, struct strbuf *b) {
  struct otel_exporter_stats s = {0};
  if (t->exporter != NULL)
    otel_exporter_stats(t->exporter, &s);
  prom_family(b, "tvmaze_otel_spans_exported_total", "counter",
              "Spans an OTLP collector accepted.");
  prom_sample_u64(b, "tvmaze_otel_spans_exported_total", NULL, s.exported);
  prom_family(b, "tvmaze_otel_spans_dropped_total", "counter",
              "Sampled spans not exported: the queue was full, the POST failed, or the "
              "shutdown flush ran out of time.");
  prom_sample_u64(b, "tvmaze_otel_spans_dropped_total", "reason=\"queue_full\"", s.dropped_queue);
  prom_sample_u64(b, "tvmaze_otel_spans_dropped_total", "reason=\"export_failed\"",
                  s.dropped_export);
  prom_sample_u64(b, "tvmaze_otel_spans_dropped_total", "reason=\"shutdown\"", s.dropped_stop);
  prom_family(b, "tvmaze_otel_queue_spans", "gauge", "Spans waiting for the OTLP exporter.");
  prom_sample_u64(b, "tvmaze_otel_queue_spans", NULL, s.queued);
}
