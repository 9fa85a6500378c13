/*
 * base64: RFC 4648 encoding and decoding (standard alphabet; the decoder
 * also takes the URL-safe one, and padding is optional), shared by the
 * proto3 JSON transcoder (bytes fields) and the gateway (HTTP Basic).
 */
#ifndef TVMAZE_COMMON_BASE64_H
#define TVMAZE_COMMON_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* Appends the padded standard encoding of data[0..len) to out. */
void base64_encode(struct strbuf *out, const uint8_t *data, size_t len);

/* Decodes the NUL-terminated s into out (at most cap bytes). Returns the
 * decoded length, or -1 on a character outside both alphabets, data after
 * padding, or output that does not fit. */
long base64_decode(const char *s, uint8_t *out, size_t cap);

/* Bytes base64_decode needs at most for an input of n characters. */
size_t base64_decoded_max(size_t n);

#endif
