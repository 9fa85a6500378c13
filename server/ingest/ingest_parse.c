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
#include "hash.h"
#include "html_text.h"
#include "ingest_arena.h"
#include "json_span.h"
#include "xalloc.h"

/* ------------------------------------------------------------------ */
/* Value helpers                                                      */
/* ------------------------------------------------------------------ */

/* Strings of rows live in an arena: a batch's (b->strings, 64 KiB chunks,
 * all freed by row_batch_release: the writer thread frees a day's rows in
 * a few calls instead of one per string; a replaced row's strings stay until
 * then), or a show memo's (rows shared by the batches of a run). */

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
typedef json_t val_;

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

static int id_(val_ *obj) {
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
/* Batch                                                              */
/* ------------------------------------------------------------------ */

#define GROW_(arr, n, cap)                            \
  do {                                                \
    if ((n) == (cap)) {                               \
      (cap) = (cap) ? (cap)*2 : 16;                   \
      (arr) = xrealloc((arr), (cap) * sizeof *(arr)); \
    }                                                 \
  } while (0)

/* ------------------------------------------------------------------ */
/* Shows: normalized once, merged into a batch                        */
/* ------------------------------------------------------------------ */

/* What one embedded show object contributes to a batch: its row and, if
 * usable, its distributor and that distributor's country. A pure function
 * of the object, so equal objects (equal bytes) contribute equal rows. */
struct show_norm_ {
  struct row_show row;
  int has_country, has_dist;
  struct row_country country;
  struct row_distributor dist;
};

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
static int distributor_norm_(struct arena *a, val_ *d, int kind, struct show_norm_ *n) {
  int id = id_(d);
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

/* A show object with an id and a name into *n, strings in a. */
static void show_norm_(struct arena *a, val_ *s, int id, struct show_norm_ *n) {
  memset(n, 0, sizeof *n);
  struct row_show *row = &n->row;
  row->id = id;
  row->name = str_(a, s, "name");
  row->type = str_(a, s, "type");
  row->language = str_(a, s, "language");
  row->status = str_(a, s, "status");
  row->runtime = int_(a, s, "runtime", 0);
  if (row->runtime == NULL) {
    row->runtime = int_(a, s, "averageRuntime", 0);
  }
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
}

/* Keys of the batch's index (b->index), tagged by table in the top byte;
 * values are row index + 1. A country code is two letters
 * (country_norm_). */
#define KEY_EPISODE_(id) ((uint64_t)1 << 56 | (uint32_t)(id))
#define KEY_SHOW_(id) ((uint64_t)2 << 56 | (uint32_t)(id))
#define KEY_DIST_(kind, id) ((uint64_t)3 << 56 | (uint64_t)((kind)&0xff) << 32 | (uint32_t)(id))
#define KEY_COUNTRY_(code) \
  ((uint64_t)4 << 56 | (uint64_t)(unsigned char)(code)[0] << 8 | (unsigned char)(code)[1])

/* The row of key in b: its index, or the index of a new row at the end
 * (counted in *n, the array grown by the caller's GROW_ beforehand). */
static size_t row_of_(struct row_batch *b, uint64_t key, size_t *n) {
  uint64_t v = u64map_get(&b->index, key);
  if (v != 0) {
    return (size_t)v - 1;
  }
  u64map_put(&b->index, key, *n + 1);
  return (*n)++;
}

/* Merges n into b: its country and distributor replace earlier rows of the
 * same key (the last one wins), its show row is appended. */
static void show_merge_(struct row_batch *b, const struct show_norm_ *n) {
  if (n->has_country) {
    GROW_(b->countries, b->n_countries, b->cap_countries);
    b->countries[row_of_(b, KEY_COUNTRY_(n->country.code), &b->n_countries)] = n->country;
  }
  if (n->has_dist) {
    GROW_(b->distributors, b->n_distributors, b->cap_distributors);
    b->distributors[row_of_(b, KEY_DIST_(n->dist.kind, n->dist.tvmaze_id), &b->n_distributors)] =
        n->dist;
  }
  GROW_(b->shows, b->n_shows, b->cap_shows);
  b->shows[row_of_(b, KEY_SHOW_(n->row.id), &b->n_shows)] = n->row;
}

static int show_in_batch_(const struct row_batch *b, int id) {
  return u64map_get(&b->index, KEY_SHOW_(id)) != 0;
}

/* ------------------------------------------------------------------ */
/* Show memo                                                          */
/* ------------------------------------------------------------------ */

struct memo_entry_ {
  struct memo_entry_ *next;
  uint64_t hash;
  size_t len;
  const char *bytes; /* the show object's JSON text, as it was in its document */
  struct show_norm_ norm;
};

struct ingest_show_memo {
  struct arena a; /* entries, their bytes and their rows' strings */
  struct memo_entry_ **slots;
  size_t n_slots; /* a power of two */
  size_t max_bytes;
  struct ingest_show_memo_stats stats;
};

/* At most this many entries per slot: equal hashes of distinct objects
 * (crafted, FNV-1a is not collision-resistant) cost lookups, not rows. */
#define MEMO_CHAIN_MAX_ 8

struct ingest_show_memo *ingest_show_memo_create(size_t max_bytes) {
  struct ingest_show_memo *m = xcalloc(1, sizeof *m);
  arena_init(&m->a, (size_t)256 << 10);
  m->n_slots = 1024;
  m->slots = xcalloc(m->n_slots, sizeof *m->slots);
  m->max_bytes = max_bytes;
  m->stats.bytes = m->n_slots * sizeof *m->slots;
  return m;
}

void ingest_show_memo_destroy(struct ingest_show_memo *m) {
  if (m == NULL) {
    return;
  }
  arena_release(&m->a);
  free(m->slots);
  free(m);
}

struct ingest_show_memo_stats ingest_show_memo_stats(const struct ingest_show_memo *m) {
  return m->stats;
}

static struct memo_entry_ *memo_find_(const struct ingest_show_memo *m, const char *p, size_t len,
                                      uint64_t h) {
  for (struct memo_entry_ *e = m->slots[h & (m->n_slots - 1)]; e != NULL; e = e->next) {
    if (e->hash == h && e->len == len && memcmp(e->bytes, p, len) == 0) {
      return e;
    }
  }
  return NULL;
}

static void memo_grow_(struct ingest_show_memo *m) {
  size_t n = m->n_slots * 2;
  struct memo_entry_ **slots = xcalloc(n, sizeof *slots);
  for (size_t i = 0; i < m->n_slots; i++) {
    for (struct memo_entry_ *e = m->slots[i], *next; e != NULL; e = next) {
      next = e->next;
      e->next = slots[e->hash & (n - 1)];
      slots[e->hash & (n - 1)] = e;
    }
  }
  free(m->slots);
  m->slots = slots;
  m->n_slots = n;
}

/* Records that the show object p[0..len) (hash h) normalizes to *n, whose
 * strings are in m->a. */
static void memo_add_(struct ingest_show_memo *m, const char *p, size_t len, uint64_t h,
                      const struct show_norm_ *n) {
  size_t chain = 0;
  for (struct memo_entry_ *e = m->slots[h & (m->n_slots - 1)]; e != NULL; e = e->next) {
    chain++;
  }
  if (chain >= MEMO_CHAIN_MAX_) {
    return;
  }
  struct memo_entry_ *e = arena_alloc(&m->a, sizeof *e);
  char *bytes = arena_alloc(&m->a, len);
  memcpy(bytes, p, len);
  *e = (struct memo_entry_){.hash = h, .len = len, .bytes = bytes, .norm = *n};
  e->next = m->slots[h & (m->n_slots - 1)];
  m->slots[h & (m->n_slots - 1)] = e;
  m->stats.shows++;
  if (m->stats.shows > m->n_slots) {
    memo_grow_(m);
  }
  m->stats.bytes = arena_held(&m->a) + m->n_slots * sizeof *m->slots;
}

/* Whether an object of len bytes may still be recorded: the memo keeps its
 * bytes, and its normalized strings are at most about three times as many
 * (U+FFFD for a bad byte). */
static int memo_room_(const struct ingest_show_memo *m, size_t len) {
  return m->stats.bytes + sizeof(struct memo_entry_) + 4 * len + 1024 <= m->max_bytes;
}

/* ------------------------------------------------------------------ */
/* Items                                                              */
/* ------------------------------------------------------------------ */

/* The show object of one item on the memo path: its bytes, and the memo's
 * entry for them if there is one. When the item was parsed with the object
 * replaced by null and the memo has no entry (an earlier item of the same
 * document had these bytes but was not recorded), obj is the object parsed
 * on its own and stands for the item's. */
struct show_src_ {
  const char *p;
  size_t len;
  uint64_t hash;
  const struct memo_entry_ *hit;
  val_ *obj;
};

/* Merges the show s (of an item) into b; returns its id, or 0 if unusable.
 * The same show object is embedded in each of its items: the first one of
 * the day is kept and the others are not normalized again. With a memo and
 * the object's bytes (src), a show normalized for the first time in the
 * run is recorded, its strings in the memo. */
static int show_(struct row_batch *b, val_ *s, struct ingest_show_memo *m,
                 const struct show_src_ *src) {
  int id = id_(s);
  if (id == 0 || !json_is_string(get_(s, "name"))) {
    return 0;
  }
  if (show_in_batch_(b, id)) {
    return id;
  }
  int record = m != NULL && src != NULL && src->p != NULL && memo_room_(m, src->len);
  struct show_norm_ n;
  show_norm_(record ? &m->a : &b->strings, s, id, &n);
  show_merge_(b, &n);
  if (record) {
    memo_add_(m, src->p, src->len, src->hash, &n);
  }
  return id;
}

/* it: an item object. src->hit: its show was replaced by null before
 * parsing, and the memo's rows stand for it. */
static void item_(struct row_batch *b, val_ *it, struct ingest_show_memo *m,
                  const struct show_src_ *src) {
  b->items_seen++;
  int id = id_(it);
  int show_id = 0;
  if (id != 0 && src != NULL && src->hit != NULL) {
    show_id = src->hit->norm.row.id;
    if (!show_in_batch_(b, show_id)) {
      show_merge_(b, &src->hit->norm);
    }
  } else if (id != 0) {
    val_ *show = src != NULL && src->obj != NULL ? src->obj : get_(it, "show");
    if (!json_is_object(show)) {
      show = get_(get_(it, "_embedded"), "show");
    }
    show_id = json_is_object(show) ? show_(b, show, m, src) : 0;
  }
  if (show_id == 0) {
    b->items_skipped++;
    return;
  }
  struct arena *a = &b->strings;
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
  GROW_(b->episodes, b->n_episodes, b->cap_episodes);
  b->episodes[row_of_(b, KEY_EPISODE_(id), &b->n_episodes)] = row;
}

static void value_(struct row_batch *b, val_ *it, struct ingest_show_memo *m,
                   const struct show_src_ *src) {
  if (json_is_object(it)) {
    item_(b, it, m, src);
  } else {
    b->items_seen++;
    b->items_skipped++;
  }
}

/* ------------------------------------------------------------------ */
/* Documents                                                          */
/* ------------------------------------------------------------------ */

/* The whole document parsed by jansson at once. */
static enum ingest_parse_status parse_whole_(struct row_batch *b, struct ingest_show_memo *m,
                                             const char *json, size_t n, char *err, size_t errlen) {
  json_error_t jerr;
  json_t *root = json_loadb(json, n, 0, &jerr);
  if (root == NULL) {
    snprintf(err, errlen, "malformed JSON at line %d column %d: %s", jerr.line, jerr.column,
             jerr.text);
    return INGEST_PARSE_BAD_JSON;
  }
  enum ingest_parse_status st = INGEST_PARSE_OK;
  if (!json_is_array(root)) {
    snprintf(err, errlen, "schedule is not a JSON array");
    st = INGEST_PARSE_BAD_SHAPE;
  } else {
    size_t i;
    json_t *it;
    json_array_foreach(root, i, it) {
      value_(b, it, m, NULL);
    }
  }
  json_decref(root);
  return st;
}

/* p at an item of the array: one past its end (NULL if malformed). *show
 * gets its show object's bytes (to *show_end): the value of its member
 * "show" if that is an object, else of "_embedded"'s member "show" (as
 * item_ looks it up); NULL when there is none or it cannot be told from the
 * bytes alone (a key with an escape, a repeated key). */
static const char *item_span_(const char *p, const char *end, const char **show,
                              const char **show_end) {
  *show = NULL;
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
    *show = f[0].value;
    *show_end = f[0].value_end;
    return e;
  }
  struct json_span_member g = {.key = "show", .key_len = 4};
  if (f[1].count == 1 && *f[1].value == '{' &&
      json_span_object(f[1].value, f[1].value_end, &g, 1) == f[1].value_end && !g.escaped_keys &&
      g.count == 1 && *g.value == '{') {
    *show = g.value;
    *show_end = g.value_end;
  }
  return e;
}

/* Hash of a show object's bytes for the memo's table (entries are compared
 * in full): its length, first and last 64 bytes, which hold its id, url and
 * updated time. */
static uint64_t show_hash_(const char *p, size_t len) {
  uint64_t h = HASH_FNV1A64_OFFSET;
  for (size_t i = 0; i < sizeof len; i++) {
    h = hash_fnv1a64_step(h, (unsigned char)(len >> (8 * i)));
  }
  size_t head = len < 128 ? len : 64;
  for (size_t i = 0; i < head; i++) {
    h = hash_fnv1a64_step(h, (unsigned char)p[i]);
  }
  for (size_t i = len - 64 > head ? len - 64 : head; i < len; i++) {
    h = hash_fnv1a64_step(h, (unsigned char)p[i]);
  }
  return h;
}

/* One parsed item of the memo path. dup: its show object has the bytes of
 * an earlier item's of the same document, parsed in full there. */
struct item_src_ {
  json_t *v;
  struct show_src_ show;
  int dup;
};

/* The show objects a document's items parsed in full so far: open
 * addressing over item index + 1 (0: empty), by the show hash. At most
 * MEMO_CHAIN_MAX_ entries of one hash are compared (as in the memo), so
 * crafted equal hashes cost lookups, not quadratic time. */
struct doc_shows_ {
  size_t *slots;
  size_t cap, n; /* cap: a power of two, or 0 */
};

/* Whether an item before has the bytes of src's show (parsed in full);
 * if not, and there is room in its chain, records item index i as having
 * them. */
static int doc_shows_dup_(struct doc_shows_ *t, const struct item_src_ *items, size_t i) {
  const struct show_src_ *src = &items[i].show;
  if (2 * (t->n + 1) > t->cap) {
    struct doc_shows_ old = *t;
    t->cap = old.cap ? 2 * old.cap : 64;
    t->slots = xcalloc(t->cap, sizeof *t->slots);
    t->n = 0;
    for (size_t k = 0; k < old.cap; k++) {
      if (old.slots[k] != 0) {
        size_t j = items[old.slots[k] - 1].show.hash & (t->cap - 1);
        while (t->slots[j] != 0) {
          j = (j + 1) & (t->cap - 1);
        }
        t->slots[j] = old.slots[k];
        t->n++;
      }
    }
    free(old.slots);
  }
  size_t j = src->hash & (t->cap - 1);
  int same_hash = 0;
  for (; t->slots[j] != 0; j = (j + 1) & (t->cap - 1)) {
    const struct show_src_ *o = &items[t->slots[j] - 1].show;
    if (o->hash != src->hash) {
      continue;
    }
    if (o->len == src->len && memcmp(o->p, src->p, src->len) == 0) {
      return 1;
    }
    if (++same_hash >= MEMO_CHAIN_MAX_) {
      return 0;
    }
  }
  t->slots[j] = i + 1;
  t->n++;
  return 0;
}

/* The memo path: jansson parses each item of the top-level array on its
 * own, and an item whose show object has the bytes of one already
 * normalized in this run is parsed with that object replaced by null (the
 * memo's rows stand for it). So is an item whose show object has the bytes
 * of an earlier item's in the same document: once the earlier items are
 * merged (which records that show), the memo's rows stand for it; if they
 * were not recorded (no room, or the earlier items were skipped before
 * their show was read), the object alone is parsed then. Every byte
 * jansson does not see is therefore a byte it has accepted before in the
 * same place of a show object, and the array's own punctuation is checked
 * here. Returns 0 (b untouched)
 * whenever the plain path must decide instead: anything malformed (so that
 * the error is reported as for the whole document), nesting deeper than
 * JSON_SPAN_MAX_DEPTH. */
static int parse_items_(struct row_batch *b, struct ingest_show_memo *m, const char *json,
                        size_t n) {
  const char *end = json + n;
  const char *p = json_span_ws(json, end);
  if (p == end || *p != '[') {
    return 0;
  }
  struct item_src_ *items = NULL;
  size_t n_items = 0, cap_items = 0;
  struct doc_shows_ doc = {0};
  char *scratch = NULL;
  size_t cap_scratch = 0;
  int ok = 1;
  p = json_span_ws(p + 1, end);
  if (p < end && *p == ']') {
    p++;
  } else {
    for (;;) {
      const char *s = NULL, *se = NULL;
      const char *e = item_span_(p, end, &s, &se);
      if (e == NULL) {
        ok = 0;
        break;
      }
      struct item_src_ is = {0};
      json_error_t jerr;
      if (s != NULL) {
        is.show.p = s;
        is.show.len = (size_t)(se - s);
        is.show.hash = show_hash_(s, is.show.len);
        is.show.hit = memo_find_(m, s, is.show.len, is.show.hash);
      }
      GROW_(items, n_items, cap_items);
      items[n_items] = is;
      if (s != NULL && is.show.hit == NULL) {
        is.dup = items[n_items].dup = doc_shows_dup_(&doc, items, n_items);
      }
      if (is.show.hit != NULL || is.dup) {
        size_t pre = (size_t)(s - p), post = (size_t)(e - se);
        if (pre + 4 + post > cap_scratch) {
          cap_scratch = (pre + 4 + post) * 2;
          scratch = xrealloc(scratch, cap_scratch);
        }
        memcpy(scratch, p, pre);
        memcpy(scratch + pre, "null", 4);
        memcpy(scratch + pre + 4, se, post);
        is.v = json_loadb(scratch, pre + 4 + post, JSON_DECODE_ANY, &jerr);
      } else {
        is.v = json_loadb(p, (size_t)(e - p), JSON_DECODE_ANY, &jerr);
      }
      if (is.v == NULL) {
        ok = 0;
        break;
      }
      items[n_items++] = is; /* room made above */
      p = json_span_ws(e, end);
      if (p < end && *p == ',') {
        p = json_span_ws(p + 1, end);
      } else if (p < end && *p == ']') {
        p++;
        break;
      } else {
        ok = 0;
        break;
      }
    }
  }
  ok = ok && json_span_ws(p, end) == end;
  for (size_t i = 0; i < n_items; i++) {
    struct show_src_ *src = &items[i].show;
    if (ok && items[i].dup) {
      src->hit = memo_find_(m, src->p, src->len, src->hash);
      if (src->hit == NULL) {
        json_error_t jerr;
        src->obj = json_loadb(src->p, src->len, 0, &jerr);
      }
    }
    if (ok && items[i].dup && src->hit == NULL && src->obj == NULL) {
      /* cannot happen (bytes jansson accepted as an object in an earlier
       * item); counted as an item without a usable show */
      b->items_seen++;
      b->items_skipped++;
    } else if (ok) {
      value_(b, items[i].v, m, src);
      m->stats.hits += src->hit != NULL;
    }
    json_decref(items[i].v);
    json_decref(src->obj);
  }
  free(items);
  free(doc.slots);
  free(scratch);
  return ok;
}

enum ingest_parse_status ingest_parse_schedule(struct row_batch *b, struct ingest_show_memo *m,
                                               const char *json, size_t n, char *err,
                                               size_t errlen) {
  enum ingest_parse_status st = INGEST_PARSE_OK;
  /* jansson's values live in this thread's arena until the end of the call;
   * every string kept in b is copied out (bstrndup_, html_to_text) */
  ingest_arena_begin();
  if (m == NULL || !parse_items_(b, m, json, n)) {
    st = parse_whole_(b, m, json, n, err, errlen);
  }
  ingest_arena_end();
  return st;
}
