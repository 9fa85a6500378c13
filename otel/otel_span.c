/*
 * otel_span: a span's fields and its text buffer. See otel_span.h.
 */
#include "otel_span.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "utf8.h"
#include "xalloc.h"

uint64_t otel_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Copies v[0..n) into s->text as well-formed UTF-8 (protobuf strings
 * must be: a collector refuses a whole batch over one bad string), each
 * malformed byte replaced by '?', cut before a character that does not fit,
 * and a NUL (the encoder hands the text to protobuf-c as C strings): sets
 * *off, *len (without the NUL). */
static void text_put_(struct otel_span *s, const char *v, size_t n, uint16_t *off, uint16_t *len) {
  if (s->text_len >= sizeof s->text) { /* full: an empty string (the last byte is a NUL) */
    *off = (uint16_t)(sizeof s->text - 1);
    *len = 0;
    return;
  }
  size_t room = sizeof s->text - s->text_len - 1, out = 0; /* 1: the NUL */
  char *dst = s->text + s->text_len;
  for (size_t i = 0; i < n;) {
    size_t k = utf8_sequence_length(v + i, n - i);
    if (k == 0) { /* malformed: one byte, replaced */
      if (out + 1 > room)
        break;
      dst[out++] = '?';
      i++;
      continue;
    }
    if (out + k > room)
      break;
    memcpy(dst + out, v + i, k);
    out += k;
    i += k;
  }
  dst[out] = '\0';
  *off = (uint16_t)s->text_len;
  *len = (uint16_t)out;
  s->text_len += out + 1;
}

struct otel_span *otel_span_new(const char *name) {
  struct otel_span *s = xmalloc(sizeof *s);
  memset(s, 0, offsetof(struct otel_span, text));
  s->next = NULL;
  text_put_(s, name, strlen(name), &s->name_off, &s->name_len);
  return s;
}

void otel_span_free(struct otel_span *s) {
  free(s);
}

void otel_span_set_name(struct otel_span *s, const char *name) {
  if (s == NULL)
    return;
  size_t n = strlen(name);
  if (n <= s->name_len && utf8_valid(name, n)) { /* fits where the old one was */
    memcpy(s->text + s->name_off, name, n);
    s->text[s->name_off + n] = '\0';
    s->name_len = (uint16_t)n;
    return;
  }
  text_put_(s, name, n, &s->name_off, &s->name_len);
}

void otel_span_attr_strn(struct otel_span *s, const char *key, const char *value, size_t n) {
  if (s == NULL || value == NULL)
    return;
  if (s->nattrs == OTEL_SPAN_MAX_ATTRS) {
    s->dropped_attrs++;
    return;
  }
  struct otel_attr *a = &s->attrs[s->nattrs++];
  a->key = key;
  a->type = OTEL_ATTR_STRING;
  text_put_(s, value, n, &a->off, &a->len);
}

void otel_span_attr_str(struct otel_span *s, const char *key, const char *value) {
  if (value != NULL)
    otel_span_attr_strn(s, key, value, strlen(value));
}

void otel_span_attr_int(struct otel_span *s, const char *key, int64_t value) {
  if (s == NULL)
    return;
  if (s->nattrs == OTEL_SPAN_MAX_ATTRS) {
    s->dropped_attrs++;
    return;
  }
  struct otel_attr *a = &s->attrs[s->nattrs++];
  a->key = key;
  a->type = OTEL_ATTR_INT;
  a->i = value;
}

void otel_span_set_status(struct otel_span *s, enum otel_status st, const char *msg) {
  if (s == NULL)
    return;
  s->status = st;
  if (st == OTEL_STATUS_ERROR && msg != NULL && s->status_len == 0)
    text_put_(s, msg, strlen(msg), &s->status_off, &s->status_len);
}

const char *otel_span_attr_get(const struct otel_span *s, const char *key, size_t *n) {
  for (size_t i = 0; i < s->nattrs; i++)
    if (s->attrs[i].type == OTEL_ATTR_STRING && strcmp(s->attrs[i].key, key) == 0) {
      *n = s->attrs[i].len;
      return s->text + s->attrs[i].off;
    }
  return NULL;
}
