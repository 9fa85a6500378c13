/*
 * json_strs: see json_strs.h. Two passes: count the strings (and check
 * the whole text), then decode each into the arena.
 */
#include "json_strs.h"

#include <string.h>

#include "utf8.h"

static const char *ws_(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
    p++;
  }
  return p;
}

static int hex4_(const char *p, unsigned long *v) {
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) {
      return -1;
    }
    *v = *v << 4 | (unsigned long)d;
  }
  return 0;
}

/* p just after an opening quote: one past the closing quote, or NULL. With
 * out, the decoded bytes go there (at most as many as the source's) and
 * *len gets their count. */
static const char *string_(const char *p, char *out, size_t *len) {
  size_t k = 0;
  const char *run = p; /* start of the bytes not yet copied or checked */
  for (;;) {
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\') {
      if (!utf8_valid(run, (size_t)(p - run))) {
        return NULL;
      }
      if (out != NULL) {
        memcpy(out + k, run, (size_t)(p - run));
      }
      k += (size_t)(p - run);
    }
    if (c == '"') {
      if (len != NULL) {
        *len = k;
      }
      return p + 1;
    }
    if (c < 0x20) { /* a control byte, or the end of the text */
      return NULL;
    }
    if (c != '\\') {
      p++;
      continue;
    }
    char e = p[1];
    char one = e == '"'    ? '"'
               : e == '\\' ? '\\'
               : e == '/'  ? '/'
               : e == 'b'  ? '\b'
               : e == 'f'  ? '\f'
               : e == 'n'  ? '\n'
               : e == 'r'  ? '\r'
               : e == 't'  ? '\t'
                           : 0;
    char buf[4];
    size_t nb;
    if (one != 0) {
      buf[0] = one;
      nb = 1;
      p += 2;
    } else if (e == 'u') {
      unsigned long cp, lo;
      if (hex4_(p + 2, &cp) != 0) {
        return NULL;
      }
      p += 6;
      if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return NULL; /* a low surrogate alone */
      }
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (p[0] != '\\' || p[1] != 'u' || hex4_(p + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
          return NULL;
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        p += 6;
      }
      if (cp == 0) {
        return NULL;
      }
      nb = utf8_encode(cp, buf);
    } else {
      return NULL;
    }
    if (out != NULL) {
      memcpy(out + k, buf, nb);
    }
    k += nb;
    run = p;
  }
}

int json_strs_decode(struct arena *a, const char *text, char ***out, size_t *n) {
  *out = NULL;
  *n = 0;
  const char *p = ws_(text);
  if (*p != '[') {
    return -1;
  }
  const char *first = ws_(p + 1);
  size_t count = 0;
  p = first;
  if (*p == ']') {
    return *ws_(p + 1) == '\0' ? 0 : -1;
  }
  for (;;) { /* check and count */
    if (*p != '"' || (p = string_(p + 1, NULL, NULL)) == NULL) {
      return -1;
    }
    count++;
    p = ws_(p);
    if (*p == ']') {
      break;
    }
    if (*p != ',') {
      return -1;
    }
    p = ws_(p + 1);
  }
  if (*ws_(p + 1) != '\0') {
    return -1;
  }
  char **v = arena_alloc(a, count * sizeof *v);
  p = first;
  for (size_t i = 0; i < count; i++) {
    const char *q = p + 1;
    const char *e = string_(q, NULL, NULL);
    size_t len = 0;
    v[i] = arena_alloc(a, (size_t)(e - q)); /* decoded is never longer, and drops the quote */
    (void)string_(q, v[i], &len);
    v[i][len] = '\0';
    p = ws_(e);
    p = ws_(p + 1); /* past ',' (or the final ']') */
  }
  *out = v;
  *n = count;
  return 0;
}
