/*
 * otel_traceparent: the W3C Trace Context `traceparent` header (version 00)
 * and the span context it carries, shared by the gateway (HTTP header in,
 * gRPC metadata out) and the server (gRPC metadata in).
 *
 *   00-<trace-id: 32 hex>-<parent-id: 16 hex>-<trace-flags: 2 hex>
 *
 * Lowercase hex only; an all-zero trace id or span id is invalid; flags
 * bit 0 is "sampled" (the other bits are kept as received but not acted
 * on). A version other than 00, or 00 with anything after the flags, is
 * refused (the spec lets a parser try a higher version's first fields; we
 * start a new trace instead). No state. Tests: tests/unit/test_otel.c.
 */
#ifndef TVMAZE_OTEL_TRACEPARENT_H
#define TVMAZE_OTEL_TRACEPARENT_H

#include <stdint.h>

#define OTEL_TRACEPARENT_LEN 55 /* "00-" 32 "-" 16 "-" 2 */
#define OTEL_FLAG_SAMPLED 0x01

/* A span's identity as propagated. */
struct otel_span_context {
  uint8_t trace_id[16];
  uint8_t span_id[8];
  uint8_t flags; /* W3C trace flags; OTEL_FLAG_SAMPLED */
};

/* Parses s (NULL allowed): 0 with *out filled, or -1 (malformed, other
 * version, all-zero id; *out unchanged). */
int otel_traceparent_parse(const char *s, struct otel_span_context *out);

/* Writes c's header value and a NUL: out must hold
 * OTEL_TRACEPARENT_LEN + 1 bytes. */
void otel_traceparent_format(const struct otel_span_context *c, char *out);

/* Lowercase hex of n bytes (2n digits and a NUL into out). */
void otel_hex(const uint8_t *bytes, int n, char *out);

/* 1 when the n bytes are all zero. */
int otel_id_is_zero(const uint8_t *bytes, int n);

#endif
