/*
 * xalloc: the one allocation wrapper. Out of memory is not recoverable in
 * this service: every wrapper aborts with a message instead of returning NULL,
 * so callers never test for NULL. Free with free() or xfree().
 */
#ifndef TVMAZE_COMMON_XALLOC_H
#define TVMAZE_COMMON_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Copies at most n bytes of s and NUL-terminates. */
char *xstrndup(const char *s, size_t n);
/* printf into a new string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void xfree(void *p);

#endif
