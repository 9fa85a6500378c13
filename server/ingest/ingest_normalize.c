/*
 * ingest_normalize: see ingest_normalize.h. One helper per kind of value
 * (string, integer, date, rating, airtime, airstamp, summary); each reads
 * one member and returns its normalized text in the arena, or NULL.
 */
#include "ingest_normalize.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "date.h"
#include "html_text.h"

/* ------------------------------------------------------------------ */
/* Value helpers                                                      */
/* ------------------------------------------------------------------ */

/* s[0..n) (no NUL inside) as a string of a. */
static char *bstrndup_(struct arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

/* x as decimal text in a. */
static char *bint_(struct arena *a, long long x) {
  char buf[24];
  int k = snprintf(buf, sizeof buf, "%lld", x);
  return bstrndup_(a, buf, (size_t)k);
}

/* A value of the parsed document (jansson); read-only here. */
typedef const json_t val_;

/* A member of obj (NULL when obj is not an object or lacks it). */
static val_ *get_(val_ *obj, const char *key) {
  return json_object_get(obj, key);
}

static char *str_(struct arena *a, val_ *obj, const char *key) {
  val_ *v = get_(obj, key);
  if (!json_is_string(v)) {
    return NULL;
  }
  return bstrndup_(a, json_string_value(v), json_string_length(v));
}

/* Integer member as text, NULL when absent, not integral or below min. */
static char *int_(struct arena *a, val_ *obj, const char *key, long long min) {
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
  return bint_(a, x);
}

int ingest_norm_id(val_ *obj) {
  val_ *v = get_(obj, "id");
  if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > INT32_MAX) {
    return 0;
  }
  return (int)json_integer_value(v);
}

/* rating.average in 0..10 as text with one decimal, else NULL. */
static char *rating_(struct arena *a, val_ *obj) {
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
  return bstrndup_(a, buf, (size_t)k);
}

static char *image_(struct arena *a, val_ *obj) {
  return str_(a, get_(obj, "image"), "medium");
}

static char *date_(struct arena *a, val_ *obj, const char *key) {
  val_ *v = get_(obj, key);
  int32_t day;
  if (!json_is_string(v) || date_parse(json_string_value(v), &day) != 0) {
    return NULL;
  }
  return bstrndup_(a, json_string_value(v), json_string_length(v));
}

static char *summary_(struct arena *a, val_ *obj) {
  val_ *v = get_(obj, "summary");
  if (!json_is_string(v)) {
    return NULL;
  }
  char *t = html_to_text(json_string_value(v), json_string_length(v));
  char *r = t[0] == '\0' ? NULL : bstrndup_(a, t, strlen(t));
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
static char *airtime_(struct arena *a, val_ *obj) {
  val_ *v = get_(obj, "airtime");
  if (!json_is_string(v)) {
    return NULL;
  }
  const char *s = json_string_value(v);
  if (s[0] == '\0') {
    return bstrndup_(a, "", 0);
  }
  if (json_string_length(v) != 5 || s[2] != ':' || !digits_(s, 2) || !digits_(s + 3, 2) ||
      (s[0] - '0') * 10 + (s[1] - '0') > 23 || (s[3] - '0') * 10 + (s[4] - '0') > 59) {
    return NULL;
  }
  return bstrndup_(a, s, json_string_length(v));
}

/* YYYY-MM-DDTHH:MM[:SS[.fff]](Z|+HH:MM|-HH:MM), date real; else NULL. */
static char *airstamp_(struct arena *a, val_ *obj) {
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
    return bstrndup_(a, s, n);
  }
  if (i + 6 == n && (s[i] == '+' || s[i] == '-') && digits_(s + i + 1, 2) && s[i + 3] == ':' &&
      digits_(s + i + 4, 2)) {
    return bstrndup_(a, s, n);
  }
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Shows                                                              */
/* ------------------------------------------------------------------ */

/* country object -> 1 and *out if usable (a name and a two-letter
 * upper-case code), else 0. */
static int country_norm_(struct arena *a, val_ *c, struct row_country *out) {
  char *code = str_(a, c, "code");
  char *name = str_(a, c, "name");
  if (code == NULL || name == NULL || strlen(code) != 2 || !isupper((unsigned char)code[0]) ||
      !isupper((unsigned char)code[1])) {
    return 0;
  }
  char *tz = str_(a, c, "timezone");
  *out =
      (struct row_country){.code = code, .name = name, .timezone = tz ? tz : bstrndup_(a, "", 0)};
  return 1;
}

/* A network (kind 1) or web channel (kind 2) into n->dist (and its country
 * into n->country); 0 if unusable (no id or name), n untouched. */
static int distributor_norm_(struct arena *a, val_ *d, int kind, struct ingest_show_rows *n) {
  int id = ingest_norm_id(d);
  char *name = str_(a, d, "name");
  if (id == 0 || name == NULL) {
    return 0;
  }
  n->has_country = country_norm_(a, get_(d, "country"), &n->country);
  n->has_dist = 1;
  n->dist = (struct row_distributor){.kind = kind,
                                     .tvmaze_id = id,
                                     .name = name,
                                     .country_code = n->has_country ? n->country.code : NULL,
                                     .official_site = str_(a, d, "officialSite")};
  return 1;
}

int ingest_norm_show(struct arena *a, val_ *s, struct ingest_show_rows *n) {
  int id = ingest_norm_id(s);
  if (id == 0 || !json_is_string(get_(s, "name"))) {
    return 0;
  }
  memset(n, 0, sizeof *n);
  struct row_show *row = &n->row;
  row->id = id;
  row->name = str_(a, s, "name");
  row->type = str_(a, s, "type");
  row->language = str_(a, s, "language");
  row->status = str_(a, s, "status");
  row->runtime = int_(a, s, "runtime", 0);
  row->average_runtime = int_(a, s, "averageRuntime", 0);
  row->premiered = date_(a, s, "premiered");
  row->ended = date_(a, s, "ended");
  row->official_site = str_(a, s, "officialSite");
  row->rating = rating_(a, s);
  row->weight = int_(a, s, "weight", INT32_MIN);
  row->summary = summary_(a, s);
  row->image_url = image_(a, s);
  val_ *upd = get_(s, "updated");
  if (json_is_integer(upd) && json_integer_value(upd) > 0 &&
      json_integer_value(upd) < 253402300800LL) {
    row->tvmaze_updated = bint_(a, json_integer_value(upd));
  }
  if (distributor_norm_(a, get_(s, "network"), 1, n) ||
      distributor_norm_(a, get_(s, "webChannel"), 2, n)) {
    row->dist_kind = n->dist.kind;
    row->dist_id = n->dist.tvmaze_id;
  }
  val_ *genres = get_(s, "genres");
  if (json_is_array(genres)) {
    row->genres = arena_alloc(a, (json_array_size(genres) + 1) * sizeof *row->genres);
    size_t gi;
    val_ *g;
    json_array_foreach(genres, gi, g) {
      if (!json_is_string(g) || json_string_length(g) == 0) {
        continue;
      }
      int dup = 0;
      for (size_t k = 0; k < row->n_genres; k++) {
        dup |= strcmp(row->genres[k], json_string_value(g)) == 0;
      }
      if (!dup) {
        row->genres[row->n_genres++] = bstrndup_(a, json_string_value(g), json_string_length(g));
      }
    }
  }
  return id;
}

/* ------------------------------------------------------------------ */
/* Items                                                              */
/* ------------------------------------------------------------------ */

const json_t *ingest_norm_item_show(val_ *item) {
  val_ *show = get_(item, "show");
  if (!json_is_object(show)) {
    show = get_(get_(item, "_embedded"), "show");
  }
  return json_is_object(show) ? show : NULL;
}

void ingest_norm_episode(struct arena *a, val_ *it, int id, int show_id, struct row_episode *out) {
  struct row_episode row = {.id = id, .show_id = show_id};
  row.name = str_(a, it, "name");
  row.season = int_(a, it, "season", INT32_MIN);
  row.number = int_(a, it, "number", INT32_MIN);
  row.type = str_(a, it, "type");
  row.airdate = date_(a, it, "airdate");
  row.airtime = airtime_(a, it);
  row.airstamp = airstamp_(a, it);
  row.runtime = int_(a, it, "runtime", 0);
  row.rating = rating_(a, it);
  row.summary = summary_(a, it);
  row.image_url = image_(a, it);
  *out = row;
}
