/*
 * gzip: the gateway's gzip content coding (zlib) of reply bodies, and the
 * Accept-Encoding test that decides it. Replies of more than
 * GW_GZIP_MIN_BYTES go out gzipped to clients that accept gzip; the
 * change streams (SSE, NDJSON) never do (response.c). The gzip form of a
 * body has its own ETag: the plain form's with "-gz" before the closing
 * quote, so a cache or If-None-Match never mixes the two forms.
 * Pure functions; thread-safe. Tests: tests/integration/test_gateway_schedule.sh ("gzip").
 */
#ifndef TVMAZE_GATEWAY_GZIP_H
#define TVMAZE_GATEWAY_GZIP_H

#include <stddef.h>

/* Bodies of at most this many bytes are sent as they are. */
#define GW_GZIP_MIN_BYTES 1024

/* 1 when the Accept-Encoding header value ae (NULL: none) accepts gzip: a
 * "gzip", "x-gzip" or "*" coding whose q is not 0 (case-insensitive;
 * RFC 9110 12.5.3), unless gzip itself is listed with q=0. */
int gw_gzip_accepted(const char *ae);

/* The gzip member of data[0..len): a new buffer (free()) of *out_len
 * bytes, or NULL when zlib fails. */
char *gw_gzip_encode(const char *data, size_t len, size_t *out_len);

/* The ETag of the gzip form from the plain form's quoted ETag etag:
 * "<x>" -> "<x>-gz" (out: 24 bytes). */
void gw_gzip_etag(const char *etag, char out[24]);

#endif
