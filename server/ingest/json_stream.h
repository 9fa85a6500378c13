/*
 * json_stream: the items of a top-level JSON array, split from a byte
 * stream as it arrives (a download of /schedule/full), without holding the
 * document.
 *
 * Bytes are fed in chunks of any size; each item is handed to a callback as
 * soon as its last byte arrived, as one contiguous span (the splitter keeps
 * only the item in progress, at most JSON_STREAM_MAX_ITEM bytes). Like
 * json_span (json_span.h) it decodes nothing: it follows strings and their
 * escapes and the nesting of brackets (at most JSON_SPAN_MAX_DEPTH deep) and
 * checks the array's own punctuation; an item's insides are for jansson to
 * judge. So the items of a well-formed array are exactly its elements, and
 * a malformed document gets a message saying what and where (byte offset):
 *
 *   not an array           the first non-blank byte is not '['
 *   bad punctuation        anything but ',' or ']' after an item, or a
 *                          value missing where an item should start
 *   item too large         an item grows past max_item bytes
 *   too deep               nesting deeper than JSON_SPAN_MAX_DEPTH
 *   text after the array   anything but whitespace after the closing ']'
 *   truncated              json_stream_finish before the closing ']'
 *
 * One stream per document; not thread-safe. Tests:
 * tests/unit/test_json_stream.c (every chunking of documents against
 * json_span's items), tests/fuzz/fuzz_parse.c (the same on any input).
 */
#ifndef TVMAZE_JSON_STREAM_H
#define TVMAZE_JSON_STREAM_H

#include <stddef.h>

#include "json_span.h"

/* Default bound of one item (a TVMaze item with its show is a few KiB). */
#define JSON_STREAM_MAX_ITEM ((size_t)4 << 20)

/* One complete item, p[0..n) valid during the call. Nonzero stops the
 * stream (json_stream_feed then returns -1 with the callback's own error
 * left to the caller: err stays ""). */
typedef int (*json_stream_item_fn)(const char *p, size_t n, void *user);

struct json_stream {
  int state;     /* see json_stream.c */
  int depth;     /* open brackets of the item in progress */
  int in_string; /* inside a string of the item */
  int escape;    /* the previous byte was a backslash inside a string */
  char closers[JSON_SPAN_MAX_DEPTH];
  char *item;      /* the bytes of the item in progress */
  size_t len, cap; /* of item */
  size_t max_item; /* bound of one item (0: JSON_STREAM_MAX_ITEM) */
  size_t offset;   /* bytes consumed so far */
  size_t items;    /* items handed to the callback */
  json_stream_item_fn fn;
  void *user;
  char err[160]; /* why the stream failed ("" when the callback stopped it) */
};

/* Starts a stream (s is the caller's; max_item 0: the default). */
void json_stream_init(struct json_stream *s, size_t max_item, json_stream_item_fn fn, void *user);

/* Frees the item buffer; s may be reused after json_stream_init. */
void json_stream_release(struct json_stream *s);

/* Feeds p[0..n). 0: fine so far; -1: the stream failed (s->err says why;
 * every later call fails too). */
int json_stream_feed(struct json_stream *s, const char *p, size_t n);

/* The document ended: 0 when the array was complete (only whitespace
 * after it), else -1 with s->err ("truncated" when it ended inside). */
int json_stream_finish(struct json_stream *s);

#endif
