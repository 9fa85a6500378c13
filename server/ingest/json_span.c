/*
 * json_span: see json_span.h.
 */
#include "json_span.h"

#include <string.h>

static int ws_(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A byte that ends a number or literal. */
static int delim_(char c) {
  return ws_(c) || c == ',' || c == ':' || c == '[' || c == ']' || c == '{' || c == '}' || c == '"';
}

const char *json_span_ws(const char *p, const char *end) {
  while (p < end && ws_(*p)) {
    p++;
  }
  return p;
}

/* p just after an opening quote: one past the closing quote, or NULL. */
static const char *string_end_(const char *p, const char *end) {
  for (;;) {
    const char *q = memchr(p, '"', (size_t)(end - p));
    if (q == NULL) {
      return NULL;
    }
    const char *bs = memchr(p, '\\', (size_t)(q - p));
    if (bs == NULL) {
      return q + 1;
    }
    if (end - bs < 2) {
      return NULL;
    }
    p = bs + 2; /* the escaped byte, whatever it is, does not end the string */
  }
}

const char *json_span_value(const char *p, const char *end) {
  char closers[JSON_SPAN_MAX_DEPTH];
  int depth = 0;
  if (p >= end) {
    return NULL;
  }
  if (!delim_(*p)) { /* a number or literal */
    while (p < end && !delim_(*p)) {
      p++;
    }
    return p;
  }
  do {
    if (p >= end) {
      return NULL;
    }
    char c = *p;
    if (c == '"') {
      p = string_end_(p + 1, end);
      if (p == NULL) {
        return NULL;
      }
    } else if (c == '{' || c == '[') {
      if (depth == JSON_SPAN_MAX_DEPTH) {
        return NULL;
      }
      closers[depth++] = c == '{' ? '}' : ']';
      p++;
    } else if (c == '}' || c == ']') {
      if (depth == 0 || closers[depth - 1] != c) {
        return NULL;
      }
      depth--;
      p++;
    } else if (depth > 0) {
      p++;
    } else {
      return NULL; /* whitespace, ',' or ':' where a value should start */
    }
  } while (depth > 0);
  return p;
}

const char *json_span_object(const char *p, const char *end, struct json_span_member *m, size_t n) {
  for (size_t i = 0; i < n; i++) {
    m[i].value = m[i].value_end = NULL;
    m[i].count = 0;
    m[i].escaped_keys = 0;
  }
  if (p >= end || *p != '{') {
    return NULL;
  }
  p = json_span_ws(p + 1, end);
  if (p < end && *p == '}') {
    return p + 1;
  }
  for (;;) {
    if (p >= end || *p != '"') {
      return NULL;
    }
    const char *key = p + 1;
    p = string_end_(key, end);
    if (p == NULL) {
      return NULL;
    }
    size_t key_len = (size_t)(p - 1 - key);
    int escaped = memchr(key, '\\', key_len) != NULL;
    p = json_span_ws(p, end);
    if (p >= end || *p != ':') {
      return NULL;
    }
    const char *v = json_span_ws(p + 1, end);
    const char *ve = json_span_value(v, end);
    if (ve == NULL) {
      return NULL;
    }
    for (size_t i = 0; i < n; i++) {
      m[i].escaped_keys |= escaped;
      if (!escaped && key_len == m[i].key_len && memcmp(key, m[i].key, key_len) == 0) {
        m[i].value = v;
        m[i].value_end = ve;
        m[i].count++;
      }
    }
    p = json_span_ws(ve, end);
    if (p < end && *p == ',') {
      p = json_span_ws(p + 1, end);
    } else if (p < end && *p == '}') {
      return p + 1;
    } else {
      return NULL;
    }
  }
}
