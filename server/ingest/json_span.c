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

/* it->p at an item: one past its end (NULL if malformed), and its show
 * object's span (json_span.h). */
static const char *item_(const char *p, const char *end, struct json_span_item *it) {
  it->p = p;
  it->show = it->show_end = NULL;
  if (p >= end || *p != '{') {
    return json_span_value(p, end);
  }
  struct json_span_member f[2] = {{.key = "show", .key_len = 4},
                                  {.key = "_embedded", .key_len = 9}};
  const char *e = json_span_object(p, end, f, 2);
  if (e == NULL || f[0].escaped_keys || f[0].count > 1 || f[1].count > 1) {
    return e;
  }
  if (f[0].count == 1 && *f[0].value == '{') {
    it->show = f[0].value;
    it->show_end = f[0].value_end;
    return e;
  }
  struct json_span_member g = {.key = "show", .key_len = 4};
  if (f[1].count == 1 && *f[1].value == '{' &&
      json_span_object(f[1].value, f[1].value_end, &g, 1) == f[1].value_end && !g.escaped_keys &&
      g.count == 1 && *g.value == '{') {
    it->show = g.value;
    it->show_end = g.value_end;
  }
  return e;
}

void json_span_array_begin(struct json_span_array *a, const char *doc, size_t n) {
  a->p = doc;
  a->end = doc + n;
  a->state = 0;
}

int json_span_array_next(struct json_span_array *a, struct json_span_item *it) {
  const char *p = json_span_ws(a->p, a->end);
  if (a->state == 0) {
    if (p == a->end || *p != '[') {
      return a->state = -1;
    }
    p = json_span_ws(p + 1, a->end);
    a->state = 1;
    if (p < a->end && *p == ']') {
      p++;
      a->state = 3;
    }
  } else if (a->state == 2) {
    if (p < a->end && *p == ',') {
      p = json_span_ws(p + 1, a->end);
      a->state = 1;
    } else if (p < a->end && *p == ']') {
      p++;
      a->state = 3;
    } else {
      return a->state = -1;
    }
  }
  if (a->state == 3) {
    a->p = p;
    return json_span_ws(p, a->end) == a->end ? 0 : (a->state = -1);
  }
  if (a->state != 1) {
    return -1;
  }
  const char *e = item_(p, a->end, it);
  if (e == NULL) {
    return a->state = -1;
  }
  it->end = e;
  a->p = e;
  a->state = 2;
  return 1;
}
