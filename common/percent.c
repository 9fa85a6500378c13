/*
 * percent: RFC 3986 percent-decoding. See percent.h.
 */
#include "percent.h"

static int hexval_(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int percent_decode(const char *s, size_t n, char *out, size_t outlen) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '%') {
      int h = i + 2 < n ? hexval_(s[i + 1]) : -1;
      int l = i + 2 < n ? hexval_(s[i + 2]) : -1;
      if (h < 0 || l < 0)
        return -1;
      c = (char)(h * 16 + l);
      i += 2;
    }
    if (c == '\0' || o + 1 >= outlen)
      return -1;
    out[o++] = c;
  }
  if (outlen == 0)
    return -1;
  out[o] = '\0';
  return 0;
}
