/*
 * Unit tests of server/ingest/json_stream.c: the items of documents fed in
 * every chunk size from 1 byte to the whole are exactly json_span's items
 * of the whole document (bytes and count), and each malformed document
 * fails with its own message whatever the chunking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_span.h"
#include "json_stream.h"
#include "strbuf.h"

/* Items as "<len>:<bytes>\n" records. */
static int collect_(const char *p, size_t n, void *user) {
  strbuf_appendf(user, "%zu:", n);
  strbuf_append_n(user, p, n);
  strbuf_append_char(user, '\n');
  return 0;
}

/* Feeds doc in chunks of `chunk` bytes; the stream's result (feed and
 * finish), its items in *out, its error in err. */
static int run_(const char *doc, size_t chunk, size_t max_item, struct strbuf *out, char *err,
                size_t errlen) {
  struct json_stream s;
  json_stream_init(&s, max_item, collect_, out);
  size_t n = strlen(doc);
  int r = 0;
  for (size_t i = 0; i < n && r == 0; i += chunk) {
    r = json_stream_feed(&s, doc + i, n - i < chunk ? n - i : chunk);
  }
  if (r == 0) {
    r = json_stream_finish(&s);
  }
  snprintf(err, errlen, "%s", s.err);
  json_stream_release(&s);
  return r;
}

static const char *const good_[] = {
    "[]",
    " [ ] \n",
    "[1]",
    "[1,2 , 3]",
    "[true,false,null,-1.5e3]",
    "[\"a\",\"b\\\"c\",\"\\\\\"]",
    "[{\"id\":1,\"show\":{\"id\":2,\"name\":\"x]}\"}},{\"id\":3}]",
    "[{\"a\":[1,[2,{\"b\":\"\\u00e9\"}]]}, [], {}]",
    "\r\n\t[ {\"airdate\":\"2030-01-01\",\"_embedded\":{\"show\":{\"id\":9}}} ]\n",
};

static void test_items_like_json_span(void **state) {
  (void)state;
  for (size_t d = 0; d < sizeof good_ / sizeof good_[0]; d++) {
    const char *doc = good_[d];
    struct strbuf want;
    strbuf_init(&want);
    struct json_span_array a;
    struct json_span_item it;
    int r;
    json_span_array_begin(&a, doc, strlen(doc));
    while ((r = json_span_array_next(&a, &it)) > 0) {
      collect_(it.p, (size_t)(it.end - it.p), &want);
    }
    assert_int_equal(r, 0);
    for (size_t chunk = 1; chunk <= strlen(doc); chunk++) {
      struct strbuf got;
      char err[200];
      strbuf_init(&got);
      assert_int_equal(run_(doc, chunk, 0, &got, err, sizeof err), 0);
      assert_string_equal(got.data ? got.data : "", want.data ? want.data : "");
      strbuf_release(&got);
    }
    strbuf_release(&want);
  }
}

struct bad_ {
  const char *doc;
  const char *msg; /* a substring of the error */
};

static const struct bad_ bad_[] = {
    {"", "empty document"},
    {"   ", "empty document"},
    {"<html><body>Bad gateway</body></html>", "not a JSON array"},
    {"{\"items\":[]}", "not a JSON array"},
    {"[1,]", "expected an array item"},
    {"[,1]", "expected an array item"},
    {"[1 2]", "expected ',' or ']'"},
    {"[{\"a\":1]]", "mismatched bracket"},
    {"[1] x", "text after the array"},
    {"[1][2]", "text after the array"},
    {"[{\"id\":1},{\"id\":2", "truncated"},
    {"[\"abc", "truncated"},
    {"[1", "truncated"},
    {"[", "truncated"},
};

static void test_malformed(void **state) {
  (void)state;
  for (size_t d = 0; d < sizeof bad_ / sizeof bad_[0]; d++) {
    size_t n = strlen(bad_[d].doc);
    for (size_t chunk = 1; chunk <= (n > 0 ? n : 1); chunk++) {
      struct strbuf got;
      char err[200];
      strbuf_init(&got);
      assert_int_equal(run_(bad_[d].doc, chunk, 0, &got, err, sizeof err), -1);
      if (strstr(err, bad_[d].msg) == NULL) {
        fail_msg("%s (chunk %zu): %s, wanted %s", bad_[d].doc, chunk, err, bad_[d].msg);
      }
      strbuf_release(&got);
    }
  }
}

/* Nesting past JSON_SPAN_MAX_DEPTH and an item past the bound fail; the
 * bound holds whatever the chunks (the item buffer never exceeds it). */
static void test_limits(void **state) {
  (void)state;
  struct strbuf doc, got;
  char err[200];
  strbuf_init(&doc);
  strbuf_append_char(&doc, '[');
  for (int i = 0; i < JSON_SPAN_MAX_DEPTH + 1; i++) {
    strbuf_append_char(&doc, '[');
  }
  strbuf_init(&got);
  assert_int_equal(run_(doc.data, 7, 0, &got, err, sizeof err), -1);
  assert_non_null(strstr(err, "nesting deeper than 128"));
  strbuf_reset(&doc);
  strbuf_append(&doc, "[{\"id\":1},\"");
  for (int i = 0; i < 5000; i++) {
    strbuf_append_char(&doc, 'x');
  }
  strbuf_append(&doc, "\"]");
  for (size_t chunk = 1; chunk <= doc.len; chunk += 999) {
    strbuf_reset(&got);
    assert_int_equal(run_(doc.data, chunk, 4096, &got, err, sizeof err), -1);
    assert_non_null(strstr(err, "item 2 larger than 4096 bytes"));
    assert_string_equal(got.data, "8:{\"id\":1}\n"); /* the first item went through */
  }
  strbuf_release(&doc);
  strbuf_release(&got);
}

static int stop_at_second_(const char *p, size_t n, void *user) {
  (void)p;
  (void)n;
  return ++*(int *)user == 2;
}

/* A callback's nonzero stops the stream: no more items, err "". */
static void test_callback_stops(void **state) {
  (void)state;
  int calls = 0;
  struct json_stream s;
  json_stream_init(&s, 0, stop_at_second_, &calls);
  assert_int_equal(json_stream_feed(&s, "[1,2,3]", 7), -1);
  assert_int_equal(calls, 2);
  assert_string_equal(s.err, "");
  assert_int_equal(json_stream_feed(&s, "", 0), -1);
  json_stream_release(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_items_like_json_span),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_callback_stops),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
