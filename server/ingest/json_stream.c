/*
 * json_stream: see json_stream.h. A byte-driven state machine; inside a
 * string it jumps with memchr to the next quote or backslash. An item that
 * lies whole inside one chunk goes to the callback from the chunk itself;
 * one that spans chunks is gathered in s->item.
 */
#include "json_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

enum {
  ST_BEFORE = 0, /* before '[' */
  ST_FIRST,      /* after '[': an item or ']' */
  ST_NEXT,       /* after ',': an item */
  ST_IN,         /* inside a string, object or array item */
  ST_SCALAR,     /* inside a number or literal item */
  ST_AFTER,      /* after an item: ',' or ']' */
  ST_DONE,       /* after ']': whitespace only */
  ST_FAILED
};

static int ws_(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A byte that ends a number or literal (as json_span's). */
static int delim_(char c) {
  return ws_(c) || c == ',' || c == ':' || c == '[' || c == ']' || c == '{' || c == '}' || c == '"';
}

void json_stream_init(struct json_stream *s, size_t max_item, json_stream_item_fn fn, void *user) {
  memset(s, 0, sizeof *s);
  s->max_item = max_item > 0 ? max_item : JSON_STREAM_MAX_ITEM;
  s->fn = fn;
  s->user = user;
}

void json_stream_release(struct json_stream *s) {
  free(s->item);
  s->item = NULL;
  s->len = s->cap = 0;
}

static int fail_(struct json_stream *s, size_t at, const char *what) {
  snprintf(s->err, sizeof s->err, "%s at byte %zu (after %zu items)", what, at, s->items);
  s->state = ST_FAILED;
  return -1;
}

/* Appends p[0..n) to the item in progress; -1 when it would grow too large. */
static int gather_(struct json_stream *s, const char *p, size_t n) {
  if (s->len + n > s->max_item) {
    snprintf(s->err, sizeof s->err, "item %zu larger than %zu bytes at byte %zu", s->items + 1,
             s->max_item, s->offset);
    s->state = ST_FAILED;
    return -1;
  }
  if (s->len + n > s->cap) {
    s->cap = (s->len + n) * 2 < s->max_item ? (s->len + n) * 2 : s->max_item;
    s->item = xrealloc(s->item, s->cap);
  }
  memcpy(s->item + s->len, p, n);
  s->len += n;
  return 0;
}

/* The item ended at q (exclusive); it began at seg in this chunk (or before
 * it, gathered). */
static int emit_(struct json_stream *s, const char *seg, const char *q) {
  const char *p = seg;
  size_t n = (size_t)(q - seg);
  if (s->len > 0) {
    if (gather_(s, seg, n) != 0) {
      return -1;
    }
    p = s->item;
    n = s->len;
  } else if (n > s->max_item) {
    return gather_(s, seg, n); /* fails with the size message */
  }
  s->len = 0;
  s->items++;
  s->state = ST_AFTER;
  if (s->fn(p, n, s->user) != 0) {
    s->err[0] = '\0';
    s->state = ST_FAILED;
    return -1;
  }
  return 0;
}

int json_stream_feed(struct json_stream *s, const char *p, size_t n) {
  const char *end = p + n, *chunk = p;
  const char *seg = p; /* start of the item's bytes in this chunk */
  if (s->state == ST_FAILED) {
    return -1;
  }
#define AT_ (s->offset + (size_t)(p - chunk))
  while (p < end) {
    char c = *p;
    switch (s->state) {
    case ST_BEFORE:
      if (ws_(c)) {
        p++;
      } else if (c == '[') {
        p++;
        s->state = ST_FIRST;
      } else {
        return fail_(s, AT_, "not a JSON array (the document does not start with '[')");
      }
      break;
    case ST_FIRST:
    case ST_NEXT:
      if (ws_(c)) {
        p++;
        break;
      }
      if (c == ']' && s->state == ST_FIRST) {
        p++;
        s->state = ST_DONE;
        break;
      }
      seg = p;
      s->len = 0;
      s->depth = 0;
      s->in_string = s->escape = 0;
      if (!delim_(c)) {
        s->state = ST_SCALAR;
      } else if (c == '"' || c == '{' || c == '[') {
        s->state = ST_IN;
      } else {
        return fail_(s, AT_, "expected an array item");
      }
      break;
    case ST_SCALAR:
      if (!delim_(c)) {
        p++;
        break;
      }
      if (emit_(s, seg, p) != 0) {
        return -1;
      }
      break; /* c is looked at again, after the item */
    case ST_IN:
      if (s->in_string) {
        if (s->escape) {
          s->escape = 0;
          p++;
          break;
        }
        const char *q = memchr(p, '"', (size_t)(end - p));
        const char *bs = memchr(p, '\\', (size_t)((q != NULL ? q : end) - p));
        if (bs != NULL) {
          s->escape = 1;
          p = bs + 1;
          break;
        }
        if (q == NULL) {
          p = end;
          break;
        }
        s->in_string = 0;
        p = q + 1;
      } else if (c == '"') {
        s->in_string = 1;
        p++;
      } else if (c == '{' || c == '[') {
        if (s->depth == JSON_SPAN_MAX_DEPTH) {
          return fail_(s, AT_, "nesting deeper than 128 levels");
        }
        s->closers[s->depth++] = c == '{' ? '}' : ']';
        p++;
      } else if (c == '}' || c == ']') {
        if (s->depth == 0 || s->closers[s->depth - 1] != c) {
          return fail_(s, AT_, "mismatched bracket");
        }
        s->depth--;
        p++;
      } else {
        p++;
        continue; /* inside a container: any other byte */
      }
      if (!s->in_string && s->depth == 0 && emit_(s, seg, p) != 0) {
        return -1;
      }
      break;
    case ST_AFTER:
      if (ws_(c)) {
        p++;
      } else if (c == ',') {
        p++;
        s->state = ST_NEXT;
      } else if (c == ']') {
        p++;
        s->state = ST_DONE;
      } else {
        return fail_(s, AT_, "expected ',' or ']' after an array item");
      }
      break;
    case ST_DONE:
      if (!ws_(c)) {
        return fail_(s, AT_, "text after the array");
      }
      p++;
      break;
    default:
      return -1;
    }
  }
  if ((s->state == ST_IN || s->state == ST_SCALAR) && gather_(s, seg, (size_t)(end - seg)) != 0) {
    return -1;
  }
#undef AT_
  s->offset += n;
  return 0;
}

int json_stream_finish(struct json_stream *s) {
  if (s->state == ST_SCALAR) { /* "[1" ends the number, not the array */
    s->state = ST_AFTER;
  }
  switch (s->state) {
  case ST_DONE:
    return 0;
  case ST_FAILED:
    return -1;
  case ST_BEFORE:
    snprintf(s->err, sizeof s->err, "empty document (no JSON array)");
    break;
  default:
    snprintf(s->err, sizeof s->err,
             "truncated: the document ended inside the array at byte %zu "
             "(after %zu items)",
             s->offset, s->items);
    break;
  }
  s->state = ST_FAILED;
  return -1;
}
