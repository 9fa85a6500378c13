/*
 * json_span: where a JSON value ends, without decoding it.
 *
 * For code that hands parts of a document to jansson (ingest_parse's memo
 * path): it finds the bytes of each item of an array and of a member of an
 * object, so that jansson can parse an item alone, or an item with one
 * member's value replaced. It decodes nothing and validates only what it
 * must to find boundaries: strings (with their escapes) and the nesting of
 * brackets. Within a container any other byte is taken as it comes, so a
 * malformed document may get spans that jansson then rejects; the caller
 * must let jansson parse every byte it relies on. Never reads outside
 * [p, end); a NULL result means "not a well-formed value here" (unterminated
 * string or container, mismatched bracket, nesting deeper than
 * JSON_SPAN_MAX_DEPTH, end of input).
 *
 * Tests: tests/unit/test_ingest_parse.c (spans, and the memo path against
 * the plain path), tests/fuzz/fuzz_parse.c (the same on any input).
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

#endif
