/*
 * ingest_parse: see ingest_parse.h. Field access is defensive: every member
 * may be missing, null or of the wrong type, and each is then NULL.
 */
#include "ingest_parse.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena.h"
#include "date.h"
#include "html_text.h"
#include "ingest_arena.h"
#include "xalloc.h"

/* ------------------------------------------------------------------ */
/* Value helpers                                                      */
/* ------------------------------------------------------------------ */

/* The batch's strings live in its arena (b->strings, 64 KiB chunks), all
 * freed by ingest_batch_release: the writer thread frees a day's rows in a
 * few calls instead of one per string. A replaced row's strings stay until
 * then. */
static void *balloc_(struct ingest_batch *b, size_t n) {
  return arena_alloc(&b->strings, n);
}

/* s[0..n) (no NUL inside) as a string of b. */
static char *bstrndup_(struct ingest_batch *b, const char *s, size_t n) {
  char *p = balloc_(b, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

/* x as decimal text in b. */
static char *bint_(struct ingest_batch *b, long long x) {
  char buf[24];
  int k = snprintf(buf, sizeof buf, "%lld", x);
  return bstrndup_(b, buf, (size_t)k);
}

/* A value of the parsed document (jansson); read-only here. */
typedef json_t val_;

/* A member of obj (NULL when obj is not an object or lacks it). */
static val_ *get_(val_ *obj, const char *key) {
  return json_object_get(obj, key);
}

static char *str_(struct ingest_batch *b, val_ *obj, const char *key) {
  val_ *v = get_(obj, key);
  if (!json_is_string(v)) {
    return NULL;
  }
  return bstrndup_(b, json_string_value(v), json_string_length(v));
}

/* Integer member as text, NULL when absent, not integral or below min. */
static char *int_(struct ingest_batch *b, val_ *obj, const char *key, long long min) {
  val_ *v = get_(obj, key);
  long long x;
  if (json_is_integer(v)) {
    x = json_integer_value(v);
  } else if (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v) &&
             fabs(json_real_value(v)) < 2e9) {
    x = (long long)json_real_value(v);
  } else {
    return NULL;
  }
  if (x < min || x > INT32_MAX) {
    return NULL;
  }
  return bint_(b, x);
}

static int id_(val_ *obj) {
  val_ *v = get_(obj, "id");
  if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > INT32_MAX) {
    return 0;
  }
  return (int)json_integer_value(v);
}

/* rating.average in 0..10 as text with one decimal, else NULL. */
static char *rating_(struct ingest_batch *b, val_ *obj) {
  val_ *v = get_(get_(obj, "rating"), "average");
  double d;
  if (json_is_integer(v)) {
    d = (double)json_integer_value(v);
  } else if (json_is_real(v)) {
    d = json_real_value(v);
  } else {
    return NULL;
  }
  if (!(d >= 0.0 && d <= 10.0)) {
    return NULL;
  }
  char buf[8]; /* 0.0 .. 10.0 */
  int k = snprintf(buf, sizeof buf, "%.1f", d);
  return bstrndup_(b, buf, (size_t)k);
}

static char *image_(struct ingest_batch *b, val_ *obj) {
  return str_(b, get_(obj, "image"), "medium");
}

static char *date_(struct ingest_batch *b, val_ *obj, const char *key) {
  val_ *v = get_(obj, key);
  int32_t day;
  if (!json_is_string(v) || date_parse(json_string_value(v), &day) != 0) {
    return NULL;
  }
  return bstrndup_(b, json_string_value(v), json_string_length(v));
}

static char *summary_(struct ingest_batch *b, val_ *obj) {
  val_ *v = get_(obj, "summary");
  if (!json_is_string(v)) {
    return NULL;
  }
  char *t = html_to_text(json_string_value(v), json_string_length(v));
  char *r = t[0] == '\0' ? NULL : bstrndup_(b, t, strlen(t));
  free(t);
  return r;
}

static int digits_(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i])) {
      return 0;
    }
  }
  return 1;
}

/* "HH:MM" (00..23:00..59) or "" kept; anything else NULL. */
static char *airtime_(struct ingest_batch *b, val_ *obj) {
  val_ *v = get_(obj, "airtime");
  if (!json_is_string(v)) {
    return NULL;
  }
  const char *s = json_string_value(v);
  if (s[0] == '\0') {
    return bstrndup_(b, "", 0);
  }
  if (json_string_length(v) != 5 || s[2] != ':' || !digits_(s, 2) || !digits_(s + 3, 2) ||
      (s[0] - '0') * 10 + (s[1] - '0') > 23 || (s[3] - '0') * 10 + (s[4] - '0') > 59) {
    return NULL;
  }
  return bstrndup_(b, s, json_string_length(v));
}

/* YYYY-MM-DDTHH:MM[:SS[.fff]](Z|+HH:MM|-HH:MM), date real; else NULL. */
static char *airstamp_(struct ingest_batch *b, val_ *obj) {
  val_ *v = get_(obj, "airstamp");
  if (!json_is_string(v)) {
    return NULL;
  }
  const char *s = json_string_value(v);
  size_t n = json_string_length(v);
  char date[11];
  int32_t day;
  if (n < 17 || n > 40 || s[10] != 'T') {
    return NULL;
  }
  memcpy(date, s, 10);
  date[10] = '\0';
  if (date_parse(date, &day) != 0 || !digits_(s + 11, 2) || s[13] != ':' || !digits_(s + 14, 2)) {
    return NULL;
  }
  size_t i = 16;
  if (i < n && s[i] == ':') {
    if (i + 3 > n || !digits_(s + i + 1, 2)) {
      return NULL;
    }
    i += 3;
    if (i < n && s[i] == '.') {
      i++;
      size_t f = i;
      while (i < n && isdigit((unsigned char)s[i])) {
        i++;
      }
      if (i == f) {
        return NULL;
      }
    }
  }
  if (i < n && s[i] == 'Z' && i + 1 == n) {
    return bstrndup_(b, s, n);
  }
  if (i + 6 == n && (s[i] == '+' || s[i] == '-') && digits_(s + i + 1, 2) && s[i + 3] == ':' &&
      digits_(s + i + 4, 2)) {
    return bstrndup_(b, s, n);
  }
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Batch                                                              */
/* ------------------------------------------------------------------ */

#define GROW_(arr, n, cap)                            \
  do {                                                \
    if ((n) == (cap)) {                               \
      (cap) = (cap) ? (cap)*2 : 16;                   \
      (arr) = xrealloc((arr), (cap) * sizeof *(arr)); \
    }                                                 \
  } while (0)

void ingest_batch_init(struct ingest_batch *b) {
  memset(b, 0, sizeof *b);
  arena_init(&b->strings, (size_t)64 << 10);
}

void ingest_batch_release(struct ingest_batch *b) {
  arena_release(&b->strings);
  free(b->countries);
  free(b->distributors);
  free(b->shows);
  free(b->episodes);
  memset(b, 0, sizeof *b);
}

/* country object -> code (in b) or NULL; merges it into b. */
static char *country_(struct ingest_batch *b, val_ *c) {
  char *code = str_(b, c, "code");
  char *name = str_(b, c, "name");
  if (code == NULL || name == NULL || strlen(code) != 2 || !isupper((unsigned char)code[0]) ||
      !isupper((unsigned char)code[1])) {
    return NULL;
  }
  char *tz = str_(b, c, "timezone");
  struct ingest_country row = {
      .code = code, .name = name, .timezone = tz ? tz : bstrndup_(b, "", 0)};
  for (size_t i = 0; i < b->n_countries; i++) {
    if (strcmp(b->countries[i].code, code) == 0) {
      b->countries[i] = row;
      return code;
    }
  }
  GROW_(b->countries, b->n_countries, b->cap_countries);
  b->countries[b->n_countries++] = row;
  return code;
}

/* Merges a network (kind 1) or web channel (kind 2); 0 if unusable. */
static int distributor_(struct ingest_batch *b, val_ *d, int kind) {
  int id = id_(d);
  char *name = str_(b, d, "name");
  if (id == 0 || name == NULL) {
    return 0;
  }
  struct ingest_distributor row = {.kind = kind,
                                   .tvmaze_id = id,
                                   .name = name,
                                   .country_code = country_(b, get_(d, "country")),
                                   .official_site = str_(b, d, "officialSite")};
  for (size_t i = 0; i < b->n_distributors; i++) {
    if (b->distributors[i].kind == kind && b->distributors[i].tvmaze_id == id) {
      b->distributors[i] = row;
      return 1;
    }
  }
  GROW_(b->distributors, b->n_distributors, b->cap_distributors);
  b->distributors[b->n_distributors++] = row;
  return 1;
}

/* Merges a show; returns its id or 0 if unusable. */
static int show_(struct ingest_batch *b, val_ *s) {
  int id = id_(s);
  if (id == 0 || !json_is_string(get_(s, "name"))) {
    return 0;
  }
  /* The same show object is embedded in each of its items: the first one of
   * the day is kept and the others are not normalized again. */
  for (size_t i = 0; i < b->n_shows; i++) {
    if (b->shows[i].id == id) {
      return id;
    }
  }
  struct ingest_show row = {.id = id};
  row.name = str_(b, s, "name");
  row.type = str_(b, s, "type");
  row.language = str_(b, s, "language");
  row.status = str_(b, s, "status");
  row.runtime = int_(b, s, "runtime", 0);
  if (row.runtime == NULL) {
    row.runtime = int_(b, s, "averageRuntime", 0);
  }
  row.premiered = date_(b, s, "premiered");
  row.ended = date_(b, s, "ended");
  row.official_site = str_(b, s, "officialSite");
  row.rating = rating_(b, s);
  row.weight = int_(b, s, "weight", INT32_MIN);
  row.summary = summary_(b, s);
  row.image_url = image_(b, s);
  val_ *upd = get_(s, "updated");
  if (json_is_integer(upd) && json_integer_value(upd) > 0 &&
      json_integer_value(upd) < 253402300800LL) {
    row.tvmaze_updated = bint_(b, json_integer_value(upd));
  }
  if (distributor_(b, get_(s, "network"), 1)) {
    row.dist_kind = 1;
    row.dist_id = id_(get_(s, "network"));
  } else if (distributor_(b, get_(s, "webChannel"), 2)) {
    row.dist_kind = 2;
    row.dist_id = id_(get_(s, "webChannel"));
  }
  val_ *genres = get_(s, "genres");
  if (json_is_array(genres)) {
    row.genres = balloc_(b, (json_array_size(genres) + 1) * sizeof *row.genres);
    size_t gi;
    val_ *g;
    json_array_foreach(genres, gi, g) {
      if (!json_is_string(g) || json_string_length(g) == 0) {
        continue;
      }
      int dup = 0;
      for (size_t k = 0; k < row.n_genres; k++) {
        dup |= strcmp(row.genres[k], json_string_value(g)) == 0;
      }
      if (!dup) {
        row.genres[row.n_genres++] = bstrndup_(b, json_string_value(g), json_string_length(g));
      }
    }
  }
  GROW_(b->shows, b->n_shows, b->cap_shows);
  b->shows[b->n_shows++] = row;
  return id;
}

static void item_(struct ingest_batch *b, val_ *it) {
  b->items_seen++;
  int id = id_(it);
  val_ *show = get_(it, "show");
  if (!json_is_object(show)) {
    show = get_(get_(it, "_embedded"), "show");
  }
  int show_id = id == 0 || !json_is_object(show) ? 0 : show_(b, show);
  if (show_id == 0) {
    b->items_skipped++;
    return;
  }
  struct ingest_episode row = {.id = id, .show_id = show_id};
  row.name = str_(b, it, "name");
  row.season = int_(b, it, "season", INT32_MIN);
  row.number = int_(b, it, "number", INT32_MIN);
  row.type = str_(b, it, "type");
  row.airdate = date_(b, it, "airdate");
  row.airtime = airtime_(b, it);
  row.airstamp = airstamp_(b, it);
  row.runtime = int_(b, it, "runtime", 0);
  row.rating = rating_(b, it);
  row.summary = summary_(b, it);
  row.image_url = image_(b, it);
  for (size_t i = 0; i < b->n_episodes; i++) {
    if (b->episodes[i].id == id) {
      b->episodes[i] = row;
      return;
    }
  }
  GROW_(b->episodes, b->n_episodes, b->cap_episodes);
  b->episodes[b->n_episodes++] = row;
}

enum ingest_parse_status ingest_parse_schedule(struct ingest_batch *b, const char *json, size_t n,
                                               char *err, size_t errlen) {
  enum ingest_parse_status st = INGEST_PARSE_OK;
  json_error_t jerr;
  /* jansson's values live in this thread's arena until the end of the call;
   * every string kept in b is copied out (bstrndup_, html_to_text) */
  ingest_arena_begin();
  json_t *root = json_loadb(json, n, 0, &jerr);
  if (root == NULL) {
    snprintf(err, errlen, "malformed JSON at line %d column %d: %s", jerr.line, jerr.column,
             jerr.text);
    st = INGEST_PARSE_BAD_JSON;
    goto out;
  }
  if (!json_is_array(root)) {
    snprintf(err, errlen, "schedule is not a JSON array");
    st = INGEST_PARSE_BAD_SHAPE;
    goto out;
  }
  size_t i;
  json_t *it;
  json_array_foreach(root, i, it) {
    if (json_is_object(it)) {
      item_(b, it);
    } else {
      b->items_seen++;
      b->items_skipped++;
    }
  }
out:
  json_decref(root);
  ingest_arena_end();
  return st;
}
