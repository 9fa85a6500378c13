/*
 * strbuf: an append-only byte buffer, always NUL-terminated.
 *
 * Two modes: growable (strbuf_init; memory from xalloc, released by
 * strbuf_release) or fixed (strbuf_init_fixed over caller storage; appends
 * past the end are truncated and set `truncated`). Not thread-safe; one owner.
 */
#ifndef TVMAZE_COMMON_STRBUF_H
#define TVMAZE_COMMON_STRBUF_H

#include <stddef.h>

struct strbuf {
  char *data;    /* NUL-terminated contents */
  size_t len;    /* bytes used, excluding the NUL */
  size_t cap;    /* bytes available, including the NUL */
  int fixed;     /* caller storage: never reallocated or freed */
  int truncated; /* a fixed buffer dropped bytes */
};

void strbuf_init(struct strbuf *b);
void strbuf_init_fixed(struct strbuf *b, char *storage, size_t cap);
/* Frees a growable buffer's memory; the buffer is empty and reusable after. */
void strbuf_release(struct strbuf *b);
/* Hands the contents to the caller (free with free()); the buffer is reset. */
char *strbuf_detach(struct strbuf *b, size_t *len);
void strbuf_reset(struct strbuf *b);
/* Drops the contents past len (no-op if len >= b->len). */
void strbuf_truncate(struct strbuf *b, size_t len);

/* A growable buffer gets room for exactly n more bytes (+NUL) if it has
 * less (appends that follow grow it by doubling); a fixed one: nothing. */
void strbuf_reserve(struct strbuf *b, size_t n);

void strbuf_append(struct strbuf *b, const char *s);
void strbuf_append_n(struct strbuf *b, const void *p, size_t n);
void strbuf_append_char(struct strbuf *b, char c);
void strbuf_appendf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal (quotes, escapes; UTF-8 passed through,
 * invalid bytes replaced with U+FFFD). */
void strbuf_append_json_string(struct strbuf *b, const char *s);
void strbuf_append_json_string_n(struct strbuf *b, const char *s, size_t n);

#endif
