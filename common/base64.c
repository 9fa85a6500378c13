/*
 * base64: RFC 4648 encode/decode. See base64.h.
 */
#include "base64.h"

static const char alphabet_[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void base64_encode(struct strbuf *out, const uint8_t *data, size_t len) {
  size_t i = 0;
  for (; i + 2 < len; i += 3) {
    uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
    char q[4] = {alphabet_[v >> 18], alphabet_[(v >> 12) & 63], alphabet_[(v >> 6) & 63],
                 alphabet_[v & 63]};
    strbuf_append_n(out, q, 4);
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)data[i] << 16;
    char q[4] = {alphabet_[v >> 18], alphabet_[(v >> 12) & 63], '=', '='};
    strbuf_append_n(out, q, 4);
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8;
    char q[4] = {alphabet_[v >> 18], alphabet_[(v >> 12) & 63], alphabet_[(v >> 6) & 63], '='};
    strbuf_append_n(out, q, 4);
  }
}

static int value_(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+' || c == '-') {
    return 62;
  }
  if (c == '/' || c == '_') {
    return 63;
  }
  return -1;
}

size_t base64_decoded_max(size_t n) {
  return n / 4 * 3 + 3;
}

long base64_decode(const char *s, uint8_t *out, size_t cap) {
  size_t len = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (; *s != '\0' && *s != '='; s++) {
    int v = value_(*s);
    if (v < 0) {
      return -1;
    }
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (len == cap) {
        return -1;
      }
      out[len++] = (uint8_t)(acc >> bits);
    }
  }
  while (*s == '=') {
    s++;
  }
  return *s == '\0' ? (long)len : -1;
}

void base16_encode(const uint8_t *data, size_t len, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 15];
  }
  out[2 * len] = '\0';
}

static int hex_digit_(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

int base16_decode(const char *s, uint8_t *out, size_t len) {
  for (size_t i = 0; i < len; i++) {
    int hi = hex_digit_(s[2 * i]);
    int lo = hi < 0 ? -1 : hex_digit_(s[2 * i + 1]);
    if (lo < 0) {
      return -1;
    }
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}
