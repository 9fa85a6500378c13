/*
 * trace: the identity a request carries upstream (x-request-id, the W3C
 * trace context of its span) and its deadline. Used by the request
 * pipeline (one identity and one SERVER span per HTTP request) and by the
 * gateway's own calls (health.c, runstats.c: a context that is never
 * sampled, so probes start no traces), so neither depends on the other.
 * Parsing and sampling are the shared tracer's (otel/otel_tracer.h); the
 * upstream call's CLIENT span and the traceparent it sends are
 * upstream.c's.
 */
#ifndef TVMAZE_GATEWAY_TRACE_H
#define TVMAZE_GATEWAY_TRACE_H

#include <stdint.h>

#include "otel_span.h"
#include "otel_tracer.h"

/* Per-request trace identity and the request's deadline: time spent
 * waiting for a worker counts against it. */
struct gw_trace {
  char request_id[129];         /* x-request-id */
  struct otel_span_context ctx; /* the request's span (parent of its upstream calls) */
  struct otel_span *span;       /* that span when recorded, else NULL; owned by the request */
  int64_t deadline_ms;          /* clock_mono_ms() by which calls must end; 0: none */
  /* Whose key the upstream calls carry as x-api-key (upstream.h):
   * on_behalf 0, the gateway's own (its own calls, Auth/CheckApiKey); 1,
   * the caller's: caller_key (borrowed, the request's header string), or
   * the gateway's own key for HTTP Basic (caller_key NULL). */
  int on_behalf;
  const char *caller_key;
};

/* Fills t for an incoming request and starts its SERVER span (named
 * "HTTP" until gw_trace_finish names it), as a child of traceparent when
 * that is well-formed (otel_traceparent.h), else of no one, sampled as the
 * tracer decides; start_ns: the request's arrival (Unix ns). xrid is kept
 * when it is 1..128 of [A-Za-z0-9._:-], else the request id is the trace
 * id's 32 hex digits. Either header may be NULL. deadline_ms = 0. */
void gw_trace_init(struct otel_tracer *tr, struct gw_trace *t, const char *xrid,
                   const char *traceparent, uint64_t start_ns);

/* A fresh identity for calls the gateway makes on its own: a new trace
 * that is not sampled, no span; the request id is its trace id. */
void gw_trace_new(struct otel_tracer *tr, struct gw_trace *t);

/* What the request span records when the reply is out. */
struct gw_trace_http {
  const char *method; /* the request's method */
  const char *route;  /* the route template, or NULL when none matched */
  const char *path;   /* the path, without the query */
  size_t path_len;
  const char *client; /* the client's address */
  unsigned status;    /* the HTTP status sent */
};

/* Names the request span ("GET /api/v1/tv_shows/{id}", or the method
 * alone without a route), sets its HTTP attributes and status (ERROR for
 * 5xx) and ends it (t->span = NULL after). No-op without a span. */
void gw_trace_finish(struct otel_tracer *tr, struct gw_trace *t, const struct gw_trace_http *h);

/* Drops the request span unexported (t->span = NULL; no-op without one):
 * for the operational routes, whose probes and scrapes would fill the
 * traces. */
void gw_trace_discard(struct gw_trace *t);

/* The request span's ids as hex (33 and 17 bytes with the NUL), for the
 * log line. */
void gw_trace_ids(const struct gw_trace *t, char *trace_id, char *span_id);

#endif
