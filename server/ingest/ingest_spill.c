/*
 * ingest_spill: see ingest_spill.h. Writes go through the FILE's buffer;
 * a day is read back with pread after a flush.
 */
#include "ingest_spill.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "date.h"
#include "hash.h"
#include "json_span.h"
#include "xalloc.h"

struct entry_ {
  uint64_t off;
  uint64_t key; /* hash of the item's bytes: the order within the day */
  uint32_t len;
};

struct day_ {
  struct entry_ *v;
  size_t n, cap;
};

struct ingest_spill {
  FILE *f;
  uint64_t size; /* bytes written */
  int32_t start_day;
  int days;
  struct day_ *day; /* [days] */
  struct ingest_spill_stats st;
};

struct ingest_spill *ingest_spill_create(int32_t start_day, int days, char *err, size_t errlen) {
  const char *dir = getenv("TMPDIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/tvmaze-full-XXXXXX", dir != NULL && *dir ? dir : "/tmp");
  int fd = mkstemp(path);
  if (fd < 0) {
    snprintf(err, errlen, "cannot create a temporary file in %s: %s", dir ? dir : "/tmp",
             strerror(errno));
    return NULL;
  }
  unlink(path); /* gone with the descriptor */
  struct ingest_spill *s = xcalloc(1, sizeof *s);
  s->f = fdopen(fd, "w+");
  if (s->f == NULL) {
    snprintf(err, errlen, "cannot open the temporary file: %s", strerror(errno));
    close(fd);
    free(s);
    return NULL;
  }
  s->start_day = start_day;
  s->days = days > 0 ? days : 0;
  s->day = xcalloc((size_t)s->days + 1, sizeof *s->day);
  return s;
}

void ingest_spill_destroy(struct ingest_spill *s) {
  if (s == NULL) {
    return;
  }
  for (int i = 0; i < s->days; i++) {
    free(s->day[i].v);
  }
  free(s->day);
  if (s->f != NULL) {
    fclose(s->f);
  }
  free(s);
}

/* The item's day in the window: 0..days-1, -1 outside it, -2 undated. */
static int day_of_(const struct ingest_spill *s, const char *item, size_t n) {
  struct json_span_member m = {.key = "airdate", .key_len = 7};
  const char *end = item + n;
  if (n == 0 || *item != '{' || json_span_object(item, end, &m, 1) == NULL || m.count == 0 ||
      m.escaped_keys) {
    return -2;
  }
  char date[11];
  int32_t day;
  if (m.value_end - m.value != 12 || m.value[0] != '"' || m.value[11] != '"') {
    return -2;
  }
  memcpy(date, m.value + 1, 10);
  date[10] = '\0';
  if (date_parse(date, &day) != 0) {
    return -2;
  }
  if (day < s->start_day || day >= s->start_day + s->days) {
    return -1;
  }
  return (int)(day - s->start_day);
}

int ingest_spill_add(struct ingest_spill *s, const char *item, size_t n, char *err, size_t errlen) {
  int d = day_of_(s, item, n);
  if (d == -1) {
    s->st.outside++;
    return 0;
  }
  if (d < 0) {
    s->st.undated++;
    return 0;
  }
  if (fwrite(item, 1, n, s->f) != n) {
    snprintf(err, errlen, "cannot write the temporary file: %s", strerror(errno));
    return -1;
  }
  struct day_ *day = &s->day[d];
  if (day->n == day->cap) {
    day->cap = day->cap ? day->cap * 2 : 64;
    day->v = xrealloc(day->v, day->cap * sizeof *day->v);
  }
  day->v[day->n++] =
      (struct entry_){.off = s->size, .key = hash_fold64(0, item, n), .len = (uint32_t)n};
  s->size += n;
  s->st.kept++;
  s->st.bytes += n;
  return 0;
}

static int entry_cmp_(const void *a, const void *b) {
  const struct entry_ *x = a, *y = b;
  if (x->key != y->key) {
    return x->key < y->key ? -1 : 1;
  }
  return x->off < y->off ? -1 : x->off > y->off;
}

int ingest_spill_day(struct ingest_spill *s, int i, struct strbuf *out, char *err, size_t errlen) {
  strbuf_reset(out);
  strbuf_append_char(out, '[');
  if (i < 0 || i >= s->days) {
    strbuf_append_char(out, ']');
    return 0;
  }
  if (fflush(s->f) != 0) {
    snprintf(err, errlen, "cannot write the temporary file: %s", strerror(errno));
    return -1;
  }
  struct day_ *day = &s->day[i];
  if (day->n > 1) { /* v is NULL for a day without items */
    qsort(day->v, day->n, sizeof *day->v, entry_cmp_);
  }
  size_t total = 1 + day->n; /* "]" and the commas */
  for (size_t k = 0; k < day->n; k++) {
    total += day->v[k].len;
  }
  strbuf_reserve(out, total); /* the day's document, and not twice that */
  char *buf = NULL;
  size_t cap = 0;
  int rc = 0;
  for (size_t k = 0; k < day->n && rc == 0; k++) {
    const struct entry_ *e = &day->v[k];
    if (e->len > cap) {
      cap = e->len * 2;
      buf = xrealloc(buf, cap);
    }
    ssize_t got = pread(fileno(s->f), buf, e->len, (off_t)e->off);
    if (got != (ssize_t)e->len) {
      snprintf(err, errlen, "cannot read the temporary file: %s",
               got < 0 ? strerror(errno) : "short read");
      rc = -1;
      break;
    }
    if (k > 0) {
      strbuf_append_char(out, ',');
    }
    strbuf_append_n(out, buf, e->len);
  }
  free(buf);
  strbuf_append_char(out, ']');
  return rc;
}

void ingest_spill_reset(struct ingest_spill *s) {
  for (int i = 0; i < s->days; i++) {
    s->day[i].n = 0;
  }
  memset(&s->st, 0, sizeof s->st);
  fflush(s->f);
  rewind(s->f);                      /* later items overwrite the old ones */
  (void)!ftruncate(fileno(s->f), 0); /* only gives the disk space back */
  s->size = 0;
}

struct ingest_spill_stats ingest_spill_stats(const struct ingest_spill *s) {
  return s->st;
}
