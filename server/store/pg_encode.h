/*
 * pg_encode: the PostgreSQL text encodings the day write sends, with no
 * database and no libpq: array literals for text parameters and fields of
 * COPY ... FROM STDIN in text format.
 *
 *   encoding        NULL    escaped                               example
 *   array literal   NULL    '"' and '\' (element in double quotes) {"a\"b",NULL,"7"}
 *   COPY text field \N      '\' tab LF CR as \\ \t \n \r           a\tb<TAB>\N<LF>
 *
 * Every other byte is data as it stands (the text is UTF-8 from the parser,
 * with no NUL). An array literal is complete only after pg_array_end;
 * nothing here checks that a value suits its column's type: the server
 * does (a refused value fails the statement). Not thread-safe per buffer.
 * Tests: tests/unit/test_pg_encode.c.
 */
#ifndef TVMAZE_STORE_PG_ENCODE_H
#define TVMAZE_STORE_PG_ENCODE_H

#include <stddef.h>

#include "strbuf.h"

/* An array literal under construction ({ then elements, } at the end). */
struct pg_array {
  struct strbuf b; /* the literal so far */
  int n;           /* elements added */
};

/* Starts an empty literal ("{"); pg_arrays_init starts n of them. */
void pg_array_init(struct pg_array *a);
void pg_arrays_init(struct pg_array *a, size_t n);
/* Appends element v (NULL: SQL NULL) in double quotes, '"' and '\'
 * escaped. */
void pg_array_add(struct pg_array *a, const char *v);
/* Appends the integer v (as the quoted decimal text). */
void pg_array_add_int(struct pg_array *a, long long v);
/* Closes the literal ("}") and returns it; valid until a's release. Call
 * once per literal. */
const char *pg_array_end(struct pg_array *a);
/* Frees n literals. Accepts released or only initialized ones. */
void pg_arrays_release(struct pg_array *a, size_t n);

/* Appends field v of a COPY text row (NULL: \N, '\\', tab, newline and
 * carriage return escaped), then `end`: '\t' between fields, '\n' after the
 * last. */
void pg_copy_text(struct strbuf *out, const char *v, char end);
/* Appends the integer v as a COPY field, then end. */
void pg_copy_int(struct strbuf *out, long long v, char end);

/* The UTC timestamp text ("YYYY-MM-DD HH:MM:SS+00") that to_timestamp()
 * makes of epoch seconds v (decimal digits, as the parser writes integers)
 * into out, *field pointing at it. NULL gives *field NULL (SQL NULL).
 * Returns 1 on success, 0 for anything but an integer in [0, 253402300799]
 * (year 9999): the caller then lets the server convert it (the upsert). */
int pg_encode_epoch(const char *v, char out[32], const char **field);

#endif
