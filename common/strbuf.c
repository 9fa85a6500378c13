/*
 * strbuf: growable / fixed string buffers. See strbuf.h.
 */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "xalloc.h"

static char empty_[1] = "";

void strbuf_init(struct strbuf *b) {
  b->data = empty_;
  b->len = 0;
  b->cap = 0;
  b->fixed = 0;
  b->truncated = 0;
}

void strbuf_init_fixed(struct strbuf *b, char *storage, size_t cap) {
  b->data = storage;
  b->len = 0;
  b->cap = cap;
  b->fixed = 1;
  b->truncated = 0;
  if (cap > 0) {
    storage[0] = '\0';
  }
}

void strbuf_release(struct strbuf *b) {
  if (!b->fixed && b->cap > 0) {
    free(b->data);
  }
  if (!b->fixed) {
    strbuf_init(b);
  } else {
    strbuf_reset(b);
  }
}

char *strbuf_detach(struct strbuf *b, size_t *len) {
  char *out;
  if (b->fixed || b->cap == 0) {
    out = xstrndup(b->data, b->len);
  } else {
    out = b->data;
  }
  if (len != NULL) {
    *len = b->len;
  }
  if (b->fixed) {
    strbuf_reset(b);
  } else {
    strbuf_init(b);
  }
  return out;
}

void strbuf_reset(struct strbuf *b) {
  b->len = 0;
  if (b->cap > 0) {
    b->data[0] = '\0';
  }
  b->truncated = 0;
}

void strbuf_truncate(struct strbuf *b, size_t len) {
  if (len < b->len) {
    b->len = len;
    b->data[len] = '\0';
  }
}

/* Ensures room for n more bytes (+NUL); returns how many may be written. */
static size_t reserve_(struct strbuf *b, size_t n) {
  if (b->len + n + 1 <= b->cap) {
    return n;
  }
  if (b->fixed) {
    size_t room = b->cap > b->len + 1 ? b->cap - b->len - 1 : 0;
    b->truncated = 1;
    return room;
  }
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + n + 1) {
    cap *= 2;
  }
  b->data = b->cap ? xrealloc(b->data, cap) : xmalloc(cap);
  if (b->cap == 0) {
    b->data[0] = '\0';
  }
  b->cap = cap;
  return n;
}

void strbuf_reserve(struct strbuf *b, size_t n) {
  if (b->fixed || b->len + n + 1 <= b->cap) {
    return;
  }
  size_t cap = b->len + n + 1;
  b->data = b->cap ? xrealloc(b->data, cap) : xmalloc(cap);
  if (b->cap == 0) {
    b->data[0] = '\0';
  }
  b->cap = cap;
}

void strbuf_append_n(struct strbuf *b, const void *p, size_t n) {
  size_t k = reserve_(b, n);
  if (k > 0) {
    memcpy(b->data + b->len, p, k);
    b->len += k;
  }
  if (b->cap > 0) {
    b->data[b->len] = '\0';
  }
}

void strbuf_append(struct strbuf *b, const char *s) {
  strbuf_append_n(b, s, strlen(s));
}

void strbuf_append_char(struct strbuf *b, char c) {
  strbuf_append_n(b, &c, 1);
}

void strbuf_appendf(struct strbuf *b, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    return;
  }
  if ((size_t)n < sizeof small) {
    strbuf_append_n(b, small, (size_t)n);
    return;
  }
  char *big = xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  strbuf_append_n(b, big, (size_t)n);
  free(big);
}

void strbuf_append_json_string(struct strbuf *b, const char *s) {
  strbuf_append_json_string_n(b, s, strlen(s));
}

void strbuf_append_json_string_n(struct strbuf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  strbuf_append_char(b, '"');
  size_t i = 0;
  while (i < n) {
    /* copy a run of characters that need no escaping in one go */
    size_t run = i;
    while (run < n && (unsigned char)s[run] >= 0x20 && (unsigned char)s[run] < 0x80 &&
           s[run] != '"' && s[run] != '\\')
      run++;
    if (run > i) {
      strbuf_append_n(b, s + i, run - i);
      i = run;
      continue;
    }
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x80) {
      size_t len = utf8_sequence_length(s + i, n - i);
      if (len == 0) {
        strbuf_append(b, "\xEF\xBF\xBD"); /* U+FFFD */
        i++;
      } else {
        strbuf_append_n(b, s + i, len);
        i += len;
      }
      continue;
    }
    switch (c) {
    case '"':
      strbuf_append(b, "\\\"");
      break;
    case '\\':
      strbuf_append(b, "\\\\");
      break;
    case '\n':
      strbuf_append(b, "\\n");
      break;
    case '\r':
      strbuf_append(b, "\\r");
      break;
    case '\t':
      strbuf_append(b, "\\t");
      break;
    default:
      if (c < 0x20) {
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        strbuf_append_n(b, esc, sizeof esc);
      } else {
        strbuf_append_char(b, (char)c);
      }
    }
    i++;
  }
  strbuf_append_char(b, '"');
}
