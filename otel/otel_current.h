/*
 * otel_current: the thread's current span, so that code deep below a
 * handler (SQL statements, cache calls, TVMaze requests) can start child
 * spans without a trace handle in every signature. The server span layer
 * (server/trace/) sets it for a unary handler's duration, the ingest run
 * for its run and days; everything else sees none and starts nothing.
 *
 *   set    otel_current_push(t, &ctx, &saved)   ... otel_current_pop(&saved)
 *   child  s = otel_current_start("name", kind) ... otel_current_end(s)
 *
 * Only a recorded (sampled, exported) span is made current: with tracing
 * off or a trace not sampled, a child costs one thread-local read and
 * returns NULL (every otel_span_* setter accepts NULL). State: one
 * thread-local slot per thread; nothing shared. Tests: tests/unit/test_otel.c
 * (current), tests/integration/test_server_otel.sh.
 */
#ifndef TVMAZE_OTEL_CURRENT_H
#define TVMAZE_OTEL_CURRENT_H

#include "otel_tracer.h"

/* What a push replaced, for the matching pop. */
struct otel_current_saved {
  struct otel_tracer *tracer;
  struct otel_span_context ctx;
};

/* Makes ctx (copied; a recorded span's context) of tracer t the thread's
 * current span; the previous one goes to *saved. t NULL clears. */
void otel_current_push(struct otel_tracer *t, const struct otel_span_context *ctx,
                       struct otel_current_saved *saved);

/* The thread's current span into *out (tracer NULL: none), to push on
 * another thread that works for it (e.g. a writer thread). */
void otel_current_capture(struct otel_current_saved *out);

/* Restores what the matching push saved. */
void otel_current_pop(const struct otel_current_saved *saved);

/* Starts a child of the current span named name (copied), or NULL when
 * there is none. The span is the caller's until otel_current_end. */
struct otel_span *otel_current_start(const char *name, enum otel_span_kind kind);

/* Ends a span of otel_current_start (NULL: no-op), on the same thread,
 * before the current span changes. */
void otel_current_end(struct otel_span *s);

/* 1 when the thread has a current span (a child would be recorded). */
int otel_current_active(void);

/* The current span's context into *ctx: 1, or 0 when there is none. */
int otel_current_get(struct otel_span_context *ctx);

#endif
