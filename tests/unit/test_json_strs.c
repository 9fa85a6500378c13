/*
 * Unit tests of common/json_strs.c: what PostgreSQL's json_agg of text
 * produces (separators, escapes, non-ASCII) decodes to the original
 * strings; every other shape, bad escape, lone surrogate, control byte or
 * invalid UTF-8 is refused with nothing returned.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "json_strs.h"

static struct arena a_;

static int setup_(void **state) {
  (void)state;
  arena_init(&a_, 4096);
  return 0;
}

static int teardown_(void **state) {
  (void)state;
  arena_release(&a_);
  return 0;
}

/* text decodes to the n strings of want. */
static void decodes_(const char *text, const char *const *want, size_t n) {
  char **v = NULL;
  size_t got = 99;
  if (json_strs_decode(&a_, text, &v, &got) != 0) {
    fail_msg("refused: %s", text);
  }
  assert_int_equal(got, n);
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(v[i], want[i]);
  }
  if (n == 0) {
    assert_null(v);
  }
}

static void test_accepts(void **state) {
  (void)state;
  decodes_("[]", NULL, 0);
  decodes_(" [ ]\n", NULL, 0);
  static const char *const two[] = {"Drama", "Science-Fiction"};
  decodes_("[\"Drama\", \"Science-Fiction\"]", two, 2); /* json_agg's ", " */
  decodes_("[\"Drama\",\"Science-Fiction\"]", two, 2);
  decodes_("\t[ \"Drama\" ,\r\n\"Science-Fiction\" ] ", two, 2);
  static const char *const esc[] = {"a\"b\\c/d\be\ff\ng\rh\ti", ""};
  decodes_("[\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\", \"\"]", esc, 2);
  static const char *const uni[] = {"\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x91\xbe \x01"};
  decodes_("[\"\\u00e9t\\u00E9 \\u20ac \\ud83d\\udc7e \\u0001\"]", uni, 1);
  static const char *const raw[] = {"\xc3\xa9t\xc3\xa9 \xf0\x9f\x91\xbe"};
  decodes_("[\"\xc3\xa9t\xc3\xa9 \xf0\x9f\x91\xbe\"]", raw, 1);
}

static void test_refuses(void **state) {
  (void)state;
  static const char *const bad[] = {
      "",
      "null",
      "{}",
      "\"Drama\"",
      "[",
      "[\"Drama\"",
      "[\"Drama\",]",
      "[,\"Drama\"]",
      "[\"Drama\" \"Comedy\"]",
      "[\"Drama\"] x",
      "[\"Drama\"]]",
      "[1]",
      "[null]",
      "[\"a\", 2]",
      "[[\"a\"]]",
      "{\"a\": \"b\"}",
      "[\"unterminated]",
      "[\"bad \\x escape\"]",
      "[\"short \\u12\"]",
      "[\"nohex \\u12g4\"]",
      "[\"lone high \\ud83d\"]",
      "[\"lone high \\ud83d then \\u0041\"]",
      "[\"lone low \\udc7e\"]",
      "[\"nul \\u0000\"]",
      "[\"tab\tinside\"]",
      "[\"newline\ninside\"]",
      "[\"bad utf-8 \xff\"]",
      "[\"overlong \xc0\xaf\"]",
      "[\"truncated \xe2\x82\"]",
      "[\"escape at end \\",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char **v = (char **)&a_; /* not NULL before */
    size_t n = 99;
    if (json_strs_decode(&a_, bad[i], &v, &n) != -1) {
      fail_msg("accepted: %s", bad[i]);
    }
    assert_null(v);
    assert_int_equal(n, 0);
  }
}

static void test_heap(void **state) {
  (void)state;
  char **v = NULL;
  size_t n = 0;
  assert_int_equal(json_strs_decode(NULL, "[\"x\"]", &v, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(v[0], "x");
  free(v[0]);
  free(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accepts),
      cmocka_unit_test(test_refuses),
      cmocka_unit_test(test_heap),
  };
  return cmocka_run_group_tests_name("json_strs", tests, setup_, teardown_);
}
