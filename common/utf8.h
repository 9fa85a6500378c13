/*
 * utf8: validation helpers for UTF-8 text from the network.
 */
#ifndef TVMAZE_COMMON_UTF8_H
#define TVMAZE_COMMON_UTF8_H

#include <stddef.h>

/* Length (1..4) of the well-formed UTF-8 sequence at s (at most n bytes), or 0
 * if it is malformed (overlong, surrogate, beyond U+10FFFF, truncated). */
size_t utf8_sequence_length(const char *s, size_t n);

/* 1 if s[0..n) is entirely well-formed UTF-8, else 0. */
int utf8_valid(const char *s, size_t n);

/* Number of code points in well-formed s[0..n) (malformed bytes count one each). */
size_t utf8_length(const char *s, size_t n);

/* Appends code point cp to out (which must have 4 bytes free); returns the
 * number of bytes written, 0 for an invalid code point. */
size_t utf8_encode(unsigned long cp, char *out);

#endif
