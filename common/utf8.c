/*
 * utf8: UTF-8 validation per RFC 3629. See utf8.h.
 */
#include "utf8.h"

size_t utf8_sequence_length(const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  if (n == 0) {
    return 0;
  }
  unsigned char c = s[0];
  if (c < 0x80) {
    return 1;
  }
  size_t len;
  unsigned long cp;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n < len) {
    return 0;
  }
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

int utf8_valid(const char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t k = utf8_sequence_length(s + i, n - i);
    if (k == 0) {
      return 0;
    }
    i += k;
  }
  return 1;
}

size_t utf8_length(const char *s, size_t n) {
  size_t i = 0, count = 0;
  while (i < n) {
    size_t k = utf8_sequence_length(s + i, n - i);
    i += k ? k : 1;
    count++;
  }
  return count;
}

size_t utf8_encode(unsigned long cp, char *o) {
  unsigned char *out = (unsigned char *)o;
  if (cp < 0x80) {
    out[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (unsigned char)(0xC0 | (cp >> 6));
    out[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp >= 0xD800 && cp <= 0xDFFF) {
    return 0;
  }
  if (cp < 0x10000) {
    out[0] = (unsigned char)(0xE0 | (cp >> 12));
    out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  if (cp <= 0x10FFFF) {
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
  }
  return 0;
}
