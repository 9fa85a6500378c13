/*
 * gzip: see gzip.h. deflate with a gzip wrapper (windowBits 15 + 16) at
 * level 6, zlib's default, in one call over a buffer sized by deflateBound.
 */
#include "gzip.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "xalloc.h"

/* The q of the coding element e[0..n) ("gzip;q=0.5"): 1 without a q. */
static double q_of_(const char *e, size_t n) {
  const char *semi = memchr(e, ';', n);
  while (semi != NULL) {
    const char *p = semi + 1;
    while (p < e + n && (*p == ' ' || *p == '\t'))
      p++;
    if (p + 1 < e + n && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
      char num[16];
      size_t k = (size_t)(e + n - (p + 2));
      if (k >= sizeof num)
        k = sizeof num - 1;
      memcpy(num, p + 2, k);
      num[k] = '\0';
      return strtod(num, NULL);
    }
    semi = memchr(p, ';', (size_t)(e + n - p));
  }
  return 1.0;
}

int gw_gzip_accepted(const char *ae) {
  if (ae == NULL)
    return 0;
  int gzip = -1, star = -1; /* -1: not listed; else whether q > 0 */
  const char *p = ae;
  while (*p) {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    size_t name = 0;
    while (name < n && p[name] != ';' && p[name] != ' ' && p[name] != '\t')
      name++;
    int ok = q_of_(p, n) > 0.0;
    if ((name == 4 && strncasecmp(p, "gzip", 4) == 0) ||
        (name == 6 && strncasecmp(p, "x-gzip", 6) == 0))
      gzip = ok;
    else if (name == 1 && p[0] == '*')
      star = ok;
    p += n;
  }
  return gzip >= 0 ? gzip : star > 0;
}

char *gw_gzip_encode(const char *data, size_t len, size_t *out_len) {
  *out_len = 0;
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return NULL;
  size_t bound = deflateBound(&z, (uLong)len) + 32;
  char *out = xmalloc(bound);
  z.next_in = (Bytef *)(uintptr_t)data;
  z.avail_in = (uInt)len;
  z.next_out = (Bytef *)out;
  z.avail_out = (uInt)bound;
  int rc = deflate(&z, Z_FINISH);
  size_t produced = bound - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    free(out);
    return NULL;
  }
  *out_len = produced;
  return out;
}

void gw_gzip_etag(const char *etag, char out[24]) {
  size_t n = strlen(etag);
  if (n >= 2 && etag[n - 1] == '"' && n + 3 < 24)
    snprintf(out, 24, "%.*s-gz\"", (int)(n - 1), etag);
  else
    snprintf(out, 24, "%s", etag);
}
