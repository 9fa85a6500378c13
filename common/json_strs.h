/*
 * json_strs: a strict decoder of one JSON shape, an array of strings
 * (["Drama", "Science-Fiction"]), for readers that need nothing more and
 * should not depend on a JSON library: the store reads a show's genres as
 * PostgreSQL's json_agg of text (store_shows.c).
 *
 * Strict: RFC 8259 whitespace around the tokens, strings with the escapes
 * \" \\ \/ \b \f \n \r \t and \uXXXX (a surrogate pair for code points past
 * U+FFFF), no raw control byte, valid UTF-8. Refused: anything else
 * (another value type, a trailing comma, text after the array), a lone
 * surrogate, and \u0000 (results are C strings).
 *
 * No state; thread-safe. Tests: tests/unit/test_json_strs.c.
 */
#ifndef TVMAZE_COMMON_JSON_STRS_H
#define TVMAZE_COMMON_JSON_STRS_H

#include <stddef.h>

#include "arena.h"

/* text (NUL-terminated). 0: *out gets the *n decoded strings (array and
 * strings in a, or on the heap when a is NULL; *out NULL when *n is 0).
 * -1: text is not such an array; *out NULL, *n 0, nothing allocated (the
 * whole text is checked before anything is decoded). */
int json_strs_decode(struct arena *a, const char *text, char ***out, size_t *n);

#endif
