/*
 * libFuzzer target: schedule JSON through ingest_parse_schedule (parse and
 * normalize, which includes html_to_text on summaries). Checks that every
 * text value of the resulting batch is valid UTF-8 and that a batch survives
 * a second document merged into it. Differential: ingest_json (the ingest's
 * own JSON reader) must accept exactly what jansson's json_loadb(.., 0, ..)
 * accepts, with the same values. Seeds: corpus/parse/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "html_text.h"
#include "ingest_json.h"
#include "ingest_parse.h"
#include "utf8.h"

static void check_(const char *s) {
  if (s != NULL && !utf8_valid(s, strlen(s))) {
    abort();
  }
}

/* Whether ingest_json value v holds what jansson value j holds. */
static int same_(const struct ingest_json_value *v, json_t *j) {
  switch (v->type) {
  case INGEST_JSON_NULL:
    return json_is_null(j);
  case INGEST_JSON_TRUE:
    return json_is_true(j);
  case INGEST_JSON_FALSE:
    return json_is_false(j);
  case INGEST_JSON_INTEGER:
    return json_is_integer(j) && json_integer_value(j) == v->u.i;
  case INGEST_JSON_REAL:
    return json_is_real(j) && memcmp(&v->u.d, &(double){json_real_value(j)}, sizeof(double)) == 0;
  case INGEST_JSON_STRING:
    return json_is_string(j) && json_string_length(j) == v->len &&
           memcmp(json_string_value(j), v->u.s, v->len) == 0 && v->u.s[v->len] == '\0';
  case INGEST_JSON_ARRAY: {
    if (!json_is_array(j) || json_array_size(j) != v->len) {
      return 0;
    }
    size_t i = 0;
    for (const struct ingest_json_value *c = ingest_json_first(v); c != NULL;
         c = ingest_json_next(v, c), i++) {
      if (!same_(c, json_array_get(j, i))) {
        return 0;
      }
    }
    return 1;
  }
  case INGEST_JSON_OBJECT: {
    /* repeated keys: both keep the last; jansson has one member per key */
    if (!json_is_object(j) || json_object_size(j) > v->len) {
      return 0;
    }
    size_t distinct = 0;
    for (const struct ingest_json_value *c = ingest_json_first(v); c != NULL;
         c = ingest_json_next(v, c)) {
      if (ingest_json_get(v, c->key) != c) {
        continue; /* a later member has this key */
      }
      distinct++;
      if (!same_(c, json_object_getn(j, c->key, c->key_len))) {
        return 0;
      }
    }
    return distinct == json_object_size(j);
  }
  default:
    return 0;
  }
}

static void differential_(const uint8_t *data, size_t size) {
  struct ingest_json_doc doc;
  char err[160];
  int ours = ingest_json_parse(&doc, (const char *)data, size, err, sizeof err) == 0;
  json_t *j = json_loadb((const char *)data, size, 0, NULL);
  /* jansson's one known leniency: its lexer skips a NUL byte that follows
   * a number or literal (the unget of a 0 byte reads as "buffer empty");
   * ingest_json refuses every NUL outside a string */
  int nul_quirk = !ours && j != NULL && memchr(data, '\0', size) != NULL;
  if (!nul_quirk && (ours != (j != NULL) || (ours && !same_(&doc.values[0], j)))) {
    abort();
  }
  json_decref(j);
  ingest_json_release(&doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  differential_(data, size);
  struct ingest_batch b;
  ingest_batch_init(&b);
  char err[256];
  for (int round = 0; round < 2; round++) {
    (void)ingest_parse_schedule(&b, (const char *)data, size, err, sizeof err);
  }
  for (size_t i = 0; i < b.n_shows; i++) {
    check_(b.shows[i].name);
    check_(b.shows[i].summary);
    for (size_t g = 0; g < b.shows[i].n_genres; g++) {
      check_(b.shows[i].genres[g]);
    }
  }
  for (size_t i = 0; i < b.n_episodes; i++) {
    check_(b.episodes[i].name);
    check_(b.episodes[i].summary);
    if (b.episodes[i].id <= 0) {
      abort();
    }
  }
  ingest_batch_release(&b);
  char *t = html_to_text((const char *)data, size);
  check_(t);
  if (memchr(t, '\0', strlen(t)) != NULL) {
    abort();
  }
  free(t);
  return 0;
}
