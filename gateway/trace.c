/*
 * trace: request ids, the request span, its HTTP attributes. See trace.h.
 * Tests: tests/unit/test_trace.c, tests/integration/test_gateway_otel.sh,
 * test_gateway_http.sh (X-Request-Id kept or generated).
 */
#include "trace.h"

#include <stdio.h>
#include <string.h>

static int valid_request_id_(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 128)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.' || c == ':'))
      return 0;
  }
  return 1;
}

static void request_id_(struct gw_trace *t, const char *xrid) {
  if (xrid && valid_request_id_(xrid))
    snprintf(t->request_id, sizeof t->request_id, "%s", xrid);
  else
    otel_hex(t->ctx.trace_id, 16, t->request_id);
}

void gw_trace_init(struct otel_tracer *tr, struct gw_trace *t, const char *xrid,
                   const char *traceparent, uint64_t start_ns) {
  struct otel_span_context parent;
  int remote = otel_traceparent_parse(traceparent, &parent) == 0;
  t->deadline_ms = 0;
  t->on_behalf = 0;
  t->caller_key = NULL;
  t->span = otel_tracer_start(tr, remote ? &parent : NULL, 1, "HTTP", OTEL_SPAN_SERVER, start_ns,
                              &t->ctx);
  request_id_(t, xrid);
}

void gw_trace_new(struct otel_tracer *tr, struct gw_trace *t) {
  t->deadline_ms = 0;
  t->on_behalf = 0;
  t->caller_key = NULL;
  t->span = NULL;
  otel_tracer_background(tr, &t->ctx);
  request_id_(t, NULL);
}

/* The semantic conventions' name for a method outside the known set. */
static const char other_method_[] = "_OTHER";

/* The method as HTTP semantic conventions name it: a known method, else
 * "_OTHER" (so a span name stays bounded). */
static const char *method_(const char *m) {
  static const char *const known[] = {"GET",   "HEAD",    "POST",  "PUT",    "DELETE",
                                      "PATCH", "OPTIONS", "TRACE", "CONNECT"};
  for (size_t i = 0; m && i < sizeof known / sizeof known[0]; i++)
    if (strcmp(m, known[i]) == 0)
      return known[i];
  return other_method_;
}

void gw_trace_finish(struct otel_tracer *tr, struct gw_trace *t, const struct gw_trace_http *h) {
  struct otel_span *s = t->span;
  if (s == NULL)
    return;
  const char *m = method_(h->method);
  char name[160];
  if (h->route)
    snprintf(name, sizeof name, "%s %s", m == other_method_ ? "HTTP" : m, h->route);
  else
    snprintf(name, sizeof name, "%s", m == other_method_ ? "HTTP" : m);
  otel_span_set_name(s, name);
  otel_span_attr_str(s, "http.request.method", m);
  if (h->route)
    otel_span_attr_str(s, "http.route", h->route);
  otel_span_attr_int(s, "http.response.status_code", (int64_t)h->status);
  otel_span_attr_str(s, "url.scheme", "http");
  otel_span_attr_str(s, "client.address", h->client);
  otel_span_attr_str(s, "tvmaze.request_id", t->request_id);
  if (h->path)
    otel_span_attr_strn(s, "url.path", h->path, h->path_len);
  if (h->status >= 500)
    otel_span_set_status(s, OTEL_STATUS_ERROR, NULL);
  t->span = NULL;
  otel_tracer_end(tr, s);
}

void gw_trace_discard(struct gw_trace *t) {
  otel_span_free(t->span);
  t->span = NULL;
}

void gw_trace_ids(const struct gw_trace *t, char *trace_id, char *span_id) {
  otel_hex(t->ctx.trace_id, 16, trace_id);
  otel_hex(t->ctx.span_id, 8, span_id);
}
