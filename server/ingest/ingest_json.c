/*
 * ingest_json: see ingest_json.h. Recursive descent over the input with a
 * depth limit; values are appended to doc->values (indices, never pointers,
 * are held across appends: the array may move); strings are copied or
 * unescaped into doc->strings, which has room for them all (an unescaped
 * string plus its NUL is never longer than its quoted source).
 */
#include "ingest_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "xalloc.h"

#define MAX_DEPTH_ 2048 /* as jansson's JSON_PARSER_MAX_DEPTH, counted per value level */

struct parser_ {
  const char *start, *p, *end;
  struct ingest_json_doc *d;
  int depth;
  const char *err;    /* what went wrong, NULL while fine */
  const char *err_at; /* where */
};

static int fail_(struct parser_ *ps, const char *what) {
  if (ps->err == NULL) {
    ps->err = what;
    ps->err_at = ps->p;
  }
  return -1;
}

static void ws_(struct parser_ *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t')) {
    ps->p++;
  }
}

/* Appends a value; returns its index. */
static size_t push_(struct parser_ *ps, enum ingest_json_type type, const char *key,
                    uint32_t key_len) {
  struct ingest_json_doc *d = ps->d;
  if (d->n == d->cap) {
    d->cap = d->cap ? d->cap * 2 : 256;
    d->values = xrealloc(d->values, d->cap * sizeof *d->values);
  }
  struct ingest_json_value *v = &d->values[d->n];
  memset(v, 0, sizeof *v);
  v->type = (uint8_t)type;
  v->size = 1;
  v->key = key;
  v->key_len = key_len;
  return d->n++;
}

static int hex4_(const char *p, unsigned long *out) {
  unsigned long v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= (unsigned long)(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v |= (unsigned long)(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      v |= (unsigned long)(c - 'A' + 10);
    } else {
      return -1;
    }
  }
  *out = v;
  return 0;
}

/* A string at ps->p (the opening quote) into doc->strings; *out, *len. */
static int string_(struct parser_ *ps, const char **out, uint32_t *len) {
  char *o0 = ps->d->strings + ps->d->strings_len;
  char *o = o0;
  ps->p++;
  for (;;) {
    const char *run = ps->p;
    while (ps->p < ps->end) {
      unsigned char c = (unsigned char)*ps->p;
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) {
        break;
      }
      ps->p++;
    }
    memcpy(o, run, (size_t)(ps->p - run));
    o += ps->p - run;
    if (ps->p >= ps->end) {
      return fail_(ps, "premature end of input");
    }
    unsigned char c = (unsigned char)*ps->p;
    if (c == '"') {
      ps->p++;
      break;
    }
    if (c < 0x20) {
      return fail_(ps, "control character in string");
    }
    if (c >= 0x80) {
      size_t l = utf8_sequence_length(ps->p, (size_t)(ps->end - ps->p));
      if (l == 0) {
        return fail_(ps, "invalid UTF-8");
      }
      memcpy(o, ps->p, l);
      o += l;
      ps->p += l;
      continue;
    }
    /* an escape */
    if (ps->end - ps->p < 2) {
      return fail_(ps, "premature end of input");
    }
    char e = ps->p[1];
    const char *simple = strchr("\"\\/bfnrt", e);
    if (e != '\0' && simple != NULL) {
      static const char to[] = "\"\\/\b\f\n\r\t";
      *o++ = to[simple - "\"\\/bfnrt"];
      ps->p += 2;
      continue;
    }
    unsigned long cp;
    if (e != 'u' || ps->end - ps->p < 6 || hex4_(ps->p + 2, &cp) != 0) {
      return fail_(ps, "invalid escape");
    }
    ps->p += 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return fail_(ps, "invalid Unicode (lone low surrogate)");
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      unsigned long lo;
      if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
          hex4_(ps->p + 2, &lo) != 0) {
        return fail_(ps, "invalid Unicode (high surrogate without its pair)");
      }
      if (lo < 0xDC00 || lo > 0xDFFF) {
        return fail_(ps, "invalid Unicode (high surrogate without its pair)");
      }
      ps->p += 6;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0) {
      return fail_(ps, "\\u0000 is not allowed");
    }
    o += utf8_encode(cp, o);
  }
  *o++ = '\0';
  *out = o0;
  *len = (uint32_t)(o - o0 - 1);
  ps->d->strings_len += (size_t)(o - o0);
  return 0;
}

static int is_digit_(const struct parser_ *ps, const char *q) {
  return q < ps->end && *q >= '0' && *q <= '9';
}

/* One or more digits at *q, which moves past them. */
static int digits_(struct parser_ *ps, const char **q) {
  if (!is_digit_(ps, *q)) {
    return fail_(ps, "invalid token");
  }
  while (is_digit_(ps, *q)) {
    (*q)++;
  }
  return 0;
}

static int number_(struct parser_ *ps, size_t idx) {
  const char *s = ps->p, *q = ps->p;
  int real = 0;
  if (*q == '-') {
    q++;
  }
  if (q < ps->end && *q == '0') {
    q++;
    if (is_digit_(ps, q)) {
      return fail_(ps, "invalid token"); /* no leading zero */
    }
  } else if (digits_(ps, &q) != 0) {
    return -1;
  }
  if (q < ps->end && *q == '.') {
    q++;
    if (digits_(ps, &q) != 0) {
      return -1;
    }
    real = 1;
  }
  if (q < ps->end && (*q == 'e' || *q == 'E')) {
    q++;
    if (q < ps->end && (*q == '+' || *q == '-')) {
      q++;
    }
    if (digits_(ps, &q) != 0) {
      return -1;
    }
    real = 1;
  }
  /* strtoll/strtod need a terminated copy */
  size_t n = (size_t)(q - s);
  char small[64];
  char *buf = n < sizeof small ? small : xmalloc(n + 1);
  memcpy(buf, s, n);
  buf[n] = '\0';
  int rc = 0;
  struct ingest_json_value *v = &ps->d->values[idx];
  errno = 0;
  if (!real) {
    v->type = INGEST_JSON_INTEGER;
    v->u.i = strtoll(buf, NULL, 10);
    if (errno == ERANGE) {
      rc = fail_(ps, "too big integer");
    }
  } else {
    v->type = INGEST_JSON_REAL;
    v->u.d = strtod(buf, NULL);
    if (isinf(v->u.d)) {
      rc = fail_(ps, "real number overflow");
    }
  }
  if (buf != small) {
    free(buf);
  }
  ps->p = q;
  return rc;
}

static int literal_(struct parser_ *ps, const char *word, enum ingest_json_type type, size_t idx) {
  size_t n = strlen(word);
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
    return fail_(ps, "invalid token");
  }
  ps->p += n;
  if (ps->p < ps->end && ((*ps->p >= 'a' && *ps->p <= 'z') || (*ps->p >= 'A' && *ps->p <= 'Z'))) {
    return fail_(ps, "invalid token"); /* "truex" is one token, and not a literal */
  }
  ps->d->values[idx].type = (uint8_t)type;
  return 0;
}

static int value_(struct parser_ *ps, const char *key, uint32_t key_len);

/* An array or object at ps->p; idx is its value. */
static int container_(struct parser_ *ps, size_t idx, int object) {
  char close = object ? '}' : ']';
  uint32_t count = 0;
  ps->p++;
  ws_(ps);
  if (ps->p < ps->end && *ps->p == close) {
    ps->p++;
  } else {
    for (;;) {
      const char *key = NULL;
      uint32_t key_len = 0;
      if (object) {
        if (ps->p >= ps->end || *ps->p != '"') {
          return fail_(ps, "string or '}' expected");
        }
        if (string_(ps, &key, &key_len) != 0) {
          return -1;
        }
        ws_(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
          return fail_(ps, "':' expected");
        }
        ps->p++;
        ws_(ps);
      }
      if (value_(ps, key, key_len) != 0) {
        return -1;
      }
      count++;
      ws_(ps);
      if (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        ws_(ps);
        continue;
      }
      if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        break;
      }
      return fail_(ps, object ? "'}' expected" : "']' expected");
    }
  }
  struct ingest_json_value *v = &ps->d->values[idx];
  v->len = count;
  v->size = (uint32_t)(ps->d->n - idx);
  return 0;
}

static int scalar_or_container_(struct parser_ *ps, size_t idx) {
  switch (*ps->p) {
  case '{':
    ps->d->values[idx].type = INGEST_JSON_OBJECT;
    return container_(ps, idx, 1);
  case '[':
    ps->d->values[idx].type = INGEST_JSON_ARRAY;
    return container_(ps, idx, 0);
  case '"': {
    const char *s;
    uint32_t len;
    if (string_(ps, &s, &len) != 0) {
      return -1;
    }
    struct ingest_json_value *v = &ps->d->values[idx];
    v->type = INGEST_JSON_STRING;
    v->u.s = s;
    v->len = len;
    return 0;
  }
  case 't':
    return literal_(ps, "true", INGEST_JSON_TRUE, idx);
  case 'f':
    return literal_(ps, "false", INGEST_JSON_FALSE, idx);
  case 'n':
    return literal_(ps, "null", INGEST_JSON_NULL, idx);
  default:
    return number_(ps, idx);
  }
}

/* Any value; the depth counts every value level, as jansson's does. */
static int value_(struct parser_ *ps, const char *key, uint32_t key_len) {
  if (ps->p >= ps->end) {
    return fail_(ps, "premature end of input");
  }
  if (++ps->depth > MAX_DEPTH_) {
    return fail_(ps, "maximum parsing depth reached");
  }
  size_t idx = push_(ps, INGEST_JSON_NULL, key, key_len);
  if (scalar_or_container_(ps, idx) != 0) {
    return -1;
  }
  ps->depth--;
  return 0;
}

int ingest_json_parse(struct ingest_json_doc *doc, const char *json, size_t n, char *err,
                      size_t errlen) {
  memset(doc, 0, sizeof *doc);
  struct parser_ ps = {.start = json, .p = json, .end = json + n, .d = doc};
  if (n > UINT32_MAX / 2) {
    snprintf(err, errlen, "document too large");
    return -1;
  }
  doc->strings = xmalloc(n + 1);
  ws_(&ps);
  if (ps.p >= ps.end || (*ps.p != '[' && *ps.p != '{')) {
    fail_(&ps, "'[' or '{' expected");
  } else if (value_(&ps, NULL, 0) == 0) {
    ws_(&ps);
    if (ps.p != ps.end) {
      fail_(&ps, "end of file expected");
    }
  }
  if (ps.err == NULL) {
    return 0;
  }
  int line = 1, column = 1;
  for (const char *q = json; q < ps.err_at; q++) {
    if (*q == '\n') {
      line++;
      column = 1;
    } else {
      column++;
    }
  }
  snprintf(err, errlen, "at line %d column %d: %s", line, column, ps.err);
  return -1;
}

void ingest_json_release(struct ingest_json_doc *doc) {
  free(doc->values);
  free(doc->strings);
  memset(doc, 0, sizeof *doc);
}

const struct ingest_json_value *ingest_json_first(const struct ingest_json_value *v) {
  if (v == NULL || (v->type != INGEST_JSON_ARRAY && v->type != INGEST_JSON_OBJECT) || v->len == 0) {
    return NULL;
  }
  return v + 1;
}

const struct ingest_json_value *ingest_json_next(const struct ingest_json_value *v,
                                                 const struct ingest_json_value *c) {
  const struct ingest_json_value *next = c + c->size;
  return next < v + v->size ? next : NULL;
}

const struct ingest_json_value *ingest_json_get(const struct ingest_json_value *v,
                                                const char *key) {
  if (v == NULL || v->type != INGEST_JSON_OBJECT) {
    return NULL;
  }
  size_t n = strlen(key);
  const struct ingest_json_value *found = NULL;
  for (const struct ingest_json_value *c = ingest_json_first(v); c != NULL;
       c = ingest_json_next(v, c)) {
    if (c->key_len == n && memcmp(c->key, key, n) == 0) {
      found = c; /* the last one counts */
    }
  }
  return found;
}
