/*
 * framing: strict HTTP/1.1 framing (RFC 9112) of a request head, checked
 * before any handler or body (issue 19): libmicrohttpd accepts forms that
 * make request smuggling possible, so the gateway looks at the raw headers
 * it parsed and refuses them. Pure: the caller feeds the version and each
 * header (pipeline.c from MHD's header list; the fuzz target from raw
 * bytes). Refused, each answer closing the connection (what follows on it
 * cannot be trusted):
 *   505  versions other than HTTP/1.0 and HTTP/1.1
 *   400  a header name outside RFC 9110's tchar (e.g. "Content-Length " with
 *        a space before the colon) or empty; no Host in HTTP/1.1, or two;
 *        two Content-Length headers (even equal ones) or one that is not all
 *        digits; Content-Length with Transfer-Encoding
 *   501  a Transfer-Encoding other than exactly "chunked"
 * Tests: tests/integration/test_gateway_hostile.sh (each case by name);
 * tests/fuzz/fuzz_http_head.c.
 */
#ifndef TVMAZE_GATEWAY_FRAMING_H
#define TVMAZE_GATEWAY_FRAMING_H

/* The headers seen so far; zero-initialize ({0}) before the first add. */
struct gw_framing {
  int host, content_length, transfer_encoding;
  int bad_name;        /* a name with a character outside tchar, or empty */
  const char *cl, *te; /* the (last) values: borrowed, must outlive the check */
};

/* Counts one header (key and value NUL-terminated). */
void gw_framing_add(struct gw_framing *f, const char *key, const char *value);

/* 0 when the head of version (e.g. "HTTP/1.1"; NULL: unknown) with the
 * headers added is well framed, else the status (400, 501, 505) with *why
 * set to a static message. */
unsigned gw_framing_check(const struct gw_framing *f, const char *version, const char **why);

#endif
