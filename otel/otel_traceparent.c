/*
 * otel_traceparent: parse and format W3C traceparent. See
 * otel_traceparent.h. Tests: tests/unit/test_otel.c (traceparent).
 */
#include "otel_traceparent.h"

#include <string.h>

static int nibble_(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1; /* uppercase is invalid in version 00 */
}

/* n bytes from 2n lowercase hex digits: 0, or -1. */
static int unhex_(const char *s, uint8_t *out, int n) {
  for (int i = 0; i < n; i++) {
    int hi = nibble_(s[2 * i]), lo = nibble_(s[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return -1;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}

int otel_id_is_zero(const uint8_t *bytes, int n) {
  for (int i = 0; i < n; i++)
    if (bytes[i] != 0)
      return 0;
  return 1;
}

int otel_traceparent_parse(const char *s, struct otel_span_context *out) {
  if (s == NULL || strlen(s) != OTEL_TRACEPARENT_LEN || s[0] != '0' || s[1] != '0' || s[2] != '-' ||
      s[35] != '-' || s[52] != '-')
    return -1;
  struct otel_span_context c;
  if (unhex_(s + 3, c.trace_id, 16) != 0 || unhex_(s + 36, c.span_id, 8) != 0 ||
      unhex_(s + 53, &c.flags, 1) != 0)
    return -1;
  if (otel_id_is_zero(c.trace_id, 16) || otel_id_is_zero(c.span_id, 8))
    return -1;
  *out = c;
  return 0;
}

void otel_hex(const uint8_t *bytes, int n, char *out) {
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < n; i++) {
    out[2 * i] = hex[bytes[i] >> 4];
    out[2 * i + 1] = hex[bytes[i] & 15];
  }
  out[2 * n] = '\0';
}

void otel_traceparent_format(const struct otel_span_context *c, char *out) {
  memcpy(out, "00-", 3);
  otel_hex(c->trace_id, 16, out + 3);
  out[35] = '-';
  otel_hex(c->span_id, 8, out + 36);
  out[52] = '-';
  otel_hex(&c->flags, 1, out + 53);
}
