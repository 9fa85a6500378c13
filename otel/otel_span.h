/*
 * otel_span: one recorded span, as the exporter sends it: ids, parent,
 * kind, name, times, status and up to OTEL_SPAN_MAX_ATTRS attributes. A
 * span is one allocation: its name and string values are copied into its
 * own text buffer (malformed UTF-8 bytes replaced by '?', cut before a
 * character that does not fit, so the protobuf strings stay valid: a
 * collector refuses a batch with one bad string), attribute keys are
 * borrowed and
 * must be static strings. A span belongs to one thread until it is ended
 * (otel_tracer.h), then to the exporter. Every setter accepts NULL (a span
 * that is not recorded), so callers need no branch.
 * Tests: tests/unit/test_otel.c (encoding).
 */
#ifndef TVMAZE_OTEL_SPAN_H
#define TVMAZE_OTEL_SPAN_H

#include <stddef.h>
#include <stdint.h>

#include "otel_traceparent.h"

#define OTEL_SPAN_MAX_ATTRS 12
#define OTEL_SPAN_TEXT 512 /* the name, string values and status message, each NUL-ended */

/* Values are those of opentelemetry.proto.trace.v1.Span.SpanKind. */
enum otel_span_kind {
  OTEL_SPAN_INTERNAL = 1,
  OTEL_SPAN_SERVER = 2,
  OTEL_SPAN_CLIENT = 3,
};

/* Values are those of opentelemetry.proto.trace.v1.Status.StatusCode. */
enum otel_status {
  OTEL_STATUS_UNSET = 0,
  OTEL_STATUS_OK = 1,
  OTEL_STATUS_ERROR = 2,
};

enum otel_attr_type { OTEL_ATTR_STRING, OTEL_ATTR_INT };

struct otel_attr {
  const char *key; /* static */
  enum otel_attr_type type;
  int64_t i;         /* OTEL_ATTR_INT */
  uint16_t off, len; /* OTEL_ATTR_STRING: bytes in text */
};

struct otel_span {
  struct otel_span_context ctx;
  uint8_t parent_span_id[8];
  int has_parent;
  enum otel_span_kind kind;
  uint64_t start_ns, end_ns; /* Unix nanoseconds */
  enum otel_status status;
  uint16_t name_off, name_len;     /* the name in text */
  uint16_t status_off, status_len; /* the status message in text */
  struct otel_attr attrs[OTEL_SPAN_MAX_ATTRS];
  size_t nattrs;
  uint32_t dropped_attrs; /* attributes that did not fit */
  size_t text_len;
  char text[OTEL_SPAN_TEXT];
  struct otel_span *next; /* the exporter's queue */
};

/* The current time, Unix nanoseconds. */
uint64_t otel_now_ns(void);

/* A zeroed span named name (copied). Never NULL (allocation failure
 * aborts, as xalloc). The caller frees it with otel_span_free unless it
 * hands it to the tracer. */
struct otel_span *otel_span_new(const char *name);
void otel_span_free(struct otel_span *s);

/* Replaces the name (a route known only later). */
void otel_span_set_name(struct otel_span *s, const char *name);
/* Adds an attribute; a key set twice keeps both (set each once). */
void otel_span_attr_str(struct otel_span *s, const char *key, const char *value);
void otel_span_attr_strn(struct otel_span *s, const char *key, const char *value, size_t n);
void otel_span_attr_int(struct otel_span *s, const char *key, int64_t value);
/* Sets the status; msg (may be NULL) only matters for ERROR. */
void otel_span_set_status(struct otel_span *s, enum otel_status st, const char *msg);

/* The value of a string attribute (pointer into the span, len in *n), or
 * NULL. For tests. */
const char *otel_span_attr_get(const struct otel_span *s, const char *key, size_t *n);

#endif
