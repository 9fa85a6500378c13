/*
 * pg_encode: PostgreSQL array literals and COPY text fields; see
 * pg_encode.h for the formats. Output goes to strbuf (growable: allocation
 * failure aborts, xalloc.h), so nothing here fails.
 */
#include "pg_encode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void pg_array_init(struct pg_array *a) {
  strbuf_init(&a->b);
  strbuf_append_char(&a->b, '{');
  a->n = 0;
}

void pg_arrays_init(struct pg_array *a, size_t n) {
  for (size_t i = 0; i < n; i++) {
    pg_array_init(&a[i]);
  }
}

void pg_array_add(struct pg_array *a, const char *v) {
  if (a->n++ > 0) {
    strbuf_append_char(&a->b, ',');
  }
  if (v == NULL) {
    strbuf_append(&a->b, "NULL");
    return;
  }
  strbuf_append_char(&a->b, '"');
  const char *p = v;
  for (;;) {
    size_t span = strcspn(p, "\"\\");
    strbuf_append_n(&a->b, p, span);
    p += span;
    if (*p == '\0') {
      break;
    }
    char esc[2] = {'\\', *p++};
    strbuf_append_n(&a->b, esc, 2);
  }
  strbuf_append_char(&a->b, '"');
}

void pg_array_add_int(struct pg_array *a, long long v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%lld", v);
  pg_array_add(a, buf);
}

const char *pg_array_end(struct pg_array *a) {
  strbuf_append_char(&a->b, '}');
  return a->b.data;
}

void pg_arrays_release(struct pg_array *a, size_t n) {
  for (size_t i = 0; i < n; i++) {
    strbuf_release(&a[i].b);
  }
}

void pg_copy_text(struct strbuf *out, const char *v, char end) {
  if (v == NULL) {
    strbuf_append_n(out, "\\N", 2);
    strbuf_append_char(out, end);
    return;
  }
  for (const char *p = v;;) {
    size_t span = strcspn(p, "\\\t\n\r");
    strbuf_append_n(out, p, span);
    p += span;
    if (*p == '\0') {
      break;
    }
    char esc[2] = {'\\', *p == '\t' ? 't' : *p == '\n' ? 'n' : *p == '\r' ? 'r' : '\\'};
    strbuf_append_n(out, esc, 2);
    p++;
  }
  strbuf_append_char(out, end);
}

void pg_copy_int(struct strbuf *out, long long v, char end) {
  char buf[24];
  int k = snprintf(buf, sizeof buf, "%lld", v);
  strbuf_append_n(out, buf, (size_t)k);
  strbuf_append_char(out, end);
}

int pg_encode_epoch(const char *v, char out[32], const char **field) {
  if (v == NULL) {
    *field = NULL;
    return 1;
  }
  char *end = NULL;
  long long t = strtoll(v, &end, 10);
  if (end == v || *end != '\0' || t < 0 || t > 253402300799LL) {
    return 0;
  }
  time_t tt = (time_t)t;
  struct tm tm;
  if (gmtime_r(&tt, &tm) == NULL) {
    return 0;
  }
  snprintf(out, 32, "%04d-%02d-%02d %02d:%02d:%02d+00", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  *field = out;
  return 1;
}
