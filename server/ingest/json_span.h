/*
 * json_span: where a JSON value ends, without decoding it.
 *
 * For code that hands parts of a document to jansson (ingest_parse): it
 * finds the bytes of each item of a top-level array and, in a schedule
 * item, of its show object, so that jansson can parse an item alone, or an
 * item with its show object replaced. It decodes nothing and validates only what it
 * must to find boundaries: strings (with their escapes) and the nesting of
 * brackets. Within a container any other byte is taken as it comes, so a
 * malformed document may get spans that jansson then rejects; the caller
 * must let jansson parse every byte it relies on. Never reads outside
 * [p, end); a NULL result means "not a well-formed value here" (unterminated
 * string or container, mismatched bracket, nesting deeper than
 * JSON_SPAN_MAX_DEPTH, end of input).
 *
 * Tests: tests/unit/test_ingest_parse.c (spans, the item iterator, and
 * parses through it against jansson's parse of the whole document),
 * tests/fuzz/fuzz_parse.c (the same on any input).
 */
#ifndef TVMAZE_JSON_SPAN_H
#define TVMAZE_JSON_SPAN_H

#include <stddef.h>

/* Deeper containers are refused (jansson's own limit is 2048). */
#define JSON_SPAN_MAX_DEPTH 128

/* p past JSON whitespace (space, tab, LF, CR). */
const char *json_span_ws(const char *p, const char *end);

/* p at the first byte of a value: one past its last byte, or NULL. A number
 * or literal ends at the next whitespace or structural byte. */
const char *json_span_value(const char *p, const char *end);

/* A member looked for by json_span_object. */
struct json_span_member {
  const char *key; /* raw key bytes to match (a key with an escape never matches) */
  size_t key_len;
  const char *value, *value_end; /* the last matching member's value */
  int count;                     /* matching members */
  int escaped_keys;              /* some key of the object contains a backslash */
};

/* p at '{': one past the matching '}', or NULL. Fills the n members (their
 * counts start at 0 here). */
const char *json_span_object(const char *p, const char *end, struct json_span_member *m, size_t n);

/* The items of a document that should be one JSON array, in order:
 *
 *   struct json_span_array a;
 *   struct json_span_item it;
 *   json_span_array_begin(&a, doc, n);
 *   while ((r = json_span_array_next(&a, &it)) > 0) { ... it.p .. it.end ... }
 *   r == 0: the array ended and nothing but whitespace follows it
 *   r < 0: not a well-formed array here (a document that is no array, bad
 *          punctuation between items, an item json_span_value refuses,
 *          anything after the array); it stays < 0
 *
 * The array's own punctuation (brackets, commas, whitespace) is checked
 * here; the items' insides are the caller's to have parsed (above). */
struct json_span_array {
  const char *p, *end;
  int state; /* 0 before '[', 1 before an item or ']', 2 before ',' or ']', 3 done, -1 failed */
};

/* One item of the array, and its show object: the value of its member
 * "show" if that is an object, else the value of its member "_embedded"'s
 * member "show" if that is an object (the order in which ingest_normalize
 * looks it up). show is NULL when the item is no object, has neither, or
 * the bytes alone cannot tell which value jansson would take: a key of the
 * item (or of "_embedded") with an escape, "show" or "_embedded" repeated. */
struct json_span_item {
  const char *p, *end;
  const char *show, *show_end;
};

void json_span_array_begin(struct json_span_array *a, const char *doc, size_t n);
int json_span_array_next(struct json_span_array *a, struct json_span_item *it);

#endif
