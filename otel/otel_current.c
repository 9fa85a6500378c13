/*
 * otel_current: the thread-local current span. See otel_current.h.
 */
#include "otel_current.h"

#include <string.h>

/* The thread's current span: tracer NULL = none. */
static _Thread_local struct otel_current_saved current_;

void otel_current_push(struct otel_tracer *t, const struct otel_span_context *ctx,
                       struct otel_current_saved *saved) {
  *saved = current_;
  current_.tracer = t;
  if (t != NULL)
    current_.ctx = *ctx;
}

void otel_current_capture(struct otel_current_saved *out) {
  *out = current_;
}

void otel_current_pop(const struct otel_current_saved *saved) {
  current_ = *saved;
}

struct otel_span *otel_current_start(const char *name, enum otel_span_kind kind) {
  if (current_.tracer == NULL)
    return NULL;
  struct otel_span_context child;
  return otel_tracer_start(current_.tracer, &current_.ctx, 0, name, kind, 0, &child);
}

void otel_current_end(struct otel_span *s) {
  if (s == NULL)
    return;
  if (current_.tracer == NULL) { /* misuse: the current span went away first */
    otel_span_free(s);
    return;
  }
  otel_tracer_end(current_.tracer, s);
}

int otel_current_active(void) {
  return current_.tracer != NULL;
}

int otel_current_get(struct otel_span_context *ctx) {
  if (current_.tracer == NULL)
    return 0;
  *ctx = current_.ctx;
  return 1;
}
