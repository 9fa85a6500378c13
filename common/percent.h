/*
 * percent: RFC 3986 percent-decoding, shared by the gateway's path
 * parameters and the Redis URL's user and password. Pure, thread-safe.
 */
#ifndef TVMAZE_COMMON_PERCENT_H
#define TVMAZE_COMMON_PERCENT_H

#include <stddef.h>

/* Decodes s[0..n) into out (outlen bytes including the NUL): 0, or -1 on a
 * malformed escape ("%4", "%zz"), a NUL (literal or %00) or when it does not
 * fit; out is then unspecified. '+' is kept as is. */
int percent_decode(const char *s, size_t n, char *out, size_t outlen);

#endif
