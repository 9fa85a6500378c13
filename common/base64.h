/*
 * base64: RFC 4648 encoding and decoding (standard alphabet; the decoder
 * also takes the URL-safe one, and padding is optional), shared by the
 * proto3 JSON transcoder (bytes fields) and the gateway (HTTP Basic); and
 * RFC 4648 base16 (lowercase hex), for API key secrets and the ingest's
 * source hashes.
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

/* Writes the lowercase base16 of data[0..len) and a NUL to out (2 * len +
 * 1 bytes). */
void base16_encode(const uint8_t *data, size_t len, char *out);

/* Decodes the 2 * len characters at s (either case) into out[0..len).
 * Returns 0, or -1 on a character that is not a hex digit (out is then
 * partly written). */
int base16_decode(const char *s, uint8_t *out, size_t len);

#endif
