/*
 * redis_url: strict parser of redis://[[user]:password@]host[:port][/db].
 * See redis_url.h for the grammar. Tests: tests/unit/test_redis_url.c.
 */
#include "redis_url.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "percent.h"

static enum redis_url_status fail_(enum redis_url_status st, char *err, size_t errlen,
                                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum redis_url_status fail_(enum redis_url_status st, char *err, size_t errlen,
                                   const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return st;
}

/* Digits s[0..n) as a number in 0..max: the number, or -1. */
static long digits_(const char *s, size_t n, long max) {
  if (n == 0 || n > 10)
    return -1;
  long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v <= max ? v : -1;
}

enum redis_url_status redis_url_parse(const char *url, struct redis_url *out, char *err,
                                      size_t errlen) {
  static const char scheme[] = "redis://";
  memset(out, 0, sizeof *out);
  out->port = REDIS_URL_DEFAULT_PORT;
  if (!url || !url[0])
    return fail_(REDIS_URL_EMPTY, err, errlen, "empty Redis URL");
  if (strncmp(url, scheme, sizeof scheme - 1) != 0)
    return fail_(REDIS_URL_SCHEME, err, errlen,
                 "expected redis://[[user]:password@]host[:port][/db]");
  const char *p = url + sizeof scheme - 1;

  const char *at = strrchr(p, '@');
  if (at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *pw = colon ? colon + 1 : p;
    if (colon && percent_decode(p, (size_t)(colon - p), out->user, sizeof out->user) != 0)
      return fail_(REDIS_URL_USERINFO, err, errlen,
                   "bad user name (percent escape, NUL or over %zu bytes)", sizeof out->user - 1);
    if (percent_decode(pw, (size_t)(at - pw), out->password, sizeof out->password) != 0)
      return fail_(REDIS_URL_USERINFO, err, errlen,
                   "bad password (percent escape, NUL or over %zu bytes)",
                   sizeof out->password - 1);
    p = at + 1;
  }

  /* host: "[v6]" or up to ':' / '/' / '?' / end */
  const char *h = p, *he;
  if (*p == '[') {
    const char *close = strchr(p, ']');
    if (!close || close == p + 1)
      return fail_(REDIS_URL_HOST, err, errlen, "unclosed or empty [IPv6] host");
    h = p + 1;
    he = close;
    p = close + 1;
    if (*p && *p != ':' && *p != '/' && *p != '?')
      return fail_(REDIS_URL_HOST, err, errlen, "junk after the [IPv6] host");
  } else {
    he = p + strcspn(p, ":/?[]");
    if (*he == '[' || *he == ']')
      return fail_(REDIS_URL_HOST, err, errlen, "brackets inside the host");
    p = he;
  }
  size_t hl = (size_t)(he - h);
  if (hl == 0)
    return fail_(REDIS_URL_HOST, err, errlen, "no host");
  if (hl >= sizeof out->host)
    return fail_(REDIS_URL_HOST, err, errlen, "host over %zu bytes", sizeof out->host - 1);
  if (memchr(h, '%', hl))
    return fail_(REDIS_URL_HOST, err, errlen, "'%%' in the host");
  memcpy(out->host, h, hl);
  out->host[hl] = '\0';

  if (*p == ':') {
    p++;
    size_t n = strcspn(p, "/?");
    long port = digits_(p, n, 65535);
    if (port < 1)
      return fail_(REDIS_URL_PORT, err, errlen, "port must be 1..65535, got \"%.*s\"",
                   (int)(n > 16 ? 16 : n), p);
    out->port = (int)port;
    p += n;
  }
  if (*p == '/') {
    p++;
    size_t n = strcspn(p, "?");
    if (n > 0) {
      long db = digits_(p, n, 2147483647L);
      if (db < 0)
        return fail_(REDIS_URL_DB, err, errlen,
                     "database must be a number 0..2147483647, got \"%.*s\"",
                     (int)(n > 16 ? 16 : n), p);
      out->db = (int)db;
    }
    p += n;
  }
  if (*p)
    return fail_(REDIS_URL_TRAILING, err, errlen, "unexpected \"%.32s\" after the URL", p);
  return REDIS_URL_OK;
}
