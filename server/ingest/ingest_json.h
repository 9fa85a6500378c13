/*
 * ingest_json: a small JSON reader for schedule documents.
 *
 * Parses a whole document into a flat array of values in document order
 * (a "tape"): a container is followed by its children, each value knows
 * the size of its subtree, an object member carries its key. Strings are
 * unescaped into one buffer (NUL-terminated). No per-value allocation and
 * no hash table: a document costs two allocations, and a lookup by key is
 * a walk over the object's members (schedule objects have a few dozen).
 * Replaces jansson's DOM for the ingest (jansson and its allocations were
 * about two thirds of the server's CPU in the ingest benchmark).
 *
 * Accepted: RFC 8259 JSON whose top level is an array or an object, with
 * the rules jansson applies by default, so a document fails here exactly
 * when json_loadb(.., 0, ..) fails (fuzz_parse checks both on every input),
 * with one exception: jansson's lexer skips a NUL byte right after a number
 * or literal ("[1\0]" loads), here any NUL outside a string is an error:
 *
 *   strings     well-formed UTF-8 (no overlong form, surrogate, > U+10FFFF),
 *               no control character below 0x20, escapes \" \\ \/ \b \f
 *               \n \r \t \uXXXX; a \u surrogate must be a high+low pair;
 *               \u0000 is refused
 *   numbers     -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; without
 *               fraction and exponent an integer (long long; beyond it the
 *               document fails), else a real (a real that overflows fails)
 *   nesting     at most 2048 levels
 *   objects     a repeated key: the last one counts (as json_object_set)
 *   after the top-level value only whitespace
 *
 * Thread safety: a document is used by one thread at a time; distinct
 * documents are independent. Tests: tests/unit/test_ingest_parse.c,
 * tests/fuzz/fuzz_parse.c.
 */
#ifndef TVMAZE_INGEST_JSON_H
#define TVMAZE_INGEST_JSON_H

#include <stddef.h>
#include <stdint.h>

enum ingest_json_type {
  INGEST_JSON_NULL = 0,
  INGEST_JSON_FALSE,
  INGEST_JSON_TRUE,
  INGEST_JSON_INTEGER,
  INGEST_JSON_REAL,
  INGEST_JSON_STRING,
  INGEST_JSON_ARRAY,
  INGEST_JSON_OBJECT
};

struct ingest_json_value {
  uint8_t type;     /* enum ingest_json_type */
  uint32_t size;    /* values in this subtree, itself included */
  uint32_t len;     /* string: bytes (without the NUL); container: children */
  uint32_t key_len; /* object member: bytes of key */
  const char *key;  /* object member: its key (NUL-terminated); else NULL */
  union {
    const char *s; /* string (NUL-terminated, may hold no NUL inside) */
    long long i;   /* integer */
    double d;      /* real */
  } u;
};

struct ingest_json_doc {
  struct ingest_json_value *values; /* values[0] is the top-level value */
  size_t n, cap;
  char *strings; /* every unescaped string and key */
  size_t strings_len;
};

/* Parses json[0..n) into *doc (an empty doc is overwritten: call
 * ingest_json_release after either result). Returns 0, or -1 with a message
 * in err (errlen bytes): "at line L column C: what". */
int ingest_json_parse(struct ingest_json_doc *doc, const char *json, size_t n, char *err,
                      size_t errlen);

/* Frees the doc's memory; accepts a zeroed or half-built doc. */
void ingest_json_release(struct ingest_json_doc *doc);

/* The member `key` of object v (the last one if repeated), or NULL when v is
 * NULL, not an object, or has no such member. The result lives as long as
 * the doc. */
const struct ingest_json_value *ingest_json_get(const struct ingest_json_value *v, const char *key);

/* Children of an array or object v: the first, and the one after c; NULL at
 * the end (or when v is NULL or not a container). */
const struct ingest_json_value *ingest_json_first(const struct ingest_json_value *v);
const struct ingest_json_value *ingest_json_next(const struct ingest_json_value *v,
                                                 const struct ingest_json_value *c);

#endif
