/*
 * test_cli_util: client/cli_util.c -- UTF-8 cell widths, truncation with "…",
 * table alignment, and flag parsing (values, `=` form, aliases, usage errors
 * naming the flag).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli_util.h"

/* A cli_ctx whose out/err go to memory streams. */
struct fixture {
  struct cli_ctx ctx;
  char *out, *err;
  size_t out_len, err_len;
};

static int setup_(void **state) {
  struct fixture *f = calloc(1, sizeof *f);
  f->ctx.out = open_memstream(&f->out, &f->out_len);
  f->ctx.err = open_memstream(&f->err, &f->err_len);
  *state = f;
  return 0;
}

static int teardown_(void **state) {
  struct fixture *f = *state;
  fclose(f->ctx.out);
  fclose(f->ctx.err);
  free(f->out);
  free(f->err);
  free(f);
  return 0;
}

/* A writable copy of words (argv-style), freed by argv_free_. */
static char **argv_(const char *const *words, size_t n) {
  char **v = calloc(n + 1, sizeof *v);
  for (size_t i = 0; i < n; i++) {
    v[i] = strdup(words[i]);
  }
  return v;
}

static void argv_free_(char **v) {
  for (size_t i = 0; v[i] != NULL; i++) {
    free(v[i]);
  }
  free(v);
}

static void test_text_width(void **state) {
  (void)state;
  assert_int_equal(cli_text_width(""), 0);
  assert_int_equal(cli_text_width("abc"), 3);
  assert_int_equal(cli_text_width("Caf\xC3\xA9"), 4);  /* Café */
  assert_int_equal(cli_text_width("Cafe\xCC\x81"), 4); /* e + combining acute */
  assert_int_equal(cli_text_width("\xE9\x80\x83\xE3\x81\x92\xE6\x81\xA5"), 6); /* 3 CJK: 2 each */
  assert_int_equal(cli_text_width("\xF0\x9F\x98\x80"), 2);                     /* emoji */
  assert_int_equal(cli_text_width("a\xFF"
                                  "b"),
                   3); /* bad byte: 1 */
}

static void test_table_aligns_and_truncates(void **state) {
  struct fixture *f = *state;
  static const char *const hdr[] = {"ID", "NAME", "X"};
  static const size_t maxw[] = {0, 6, 0};
  struct cli_table *t = cli_table_create(3, hdr, maxw);
  const char *r1[] = {"1", "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", "a"}; /* 日本語: width 6 fits */
  const char *r2[] = {"22", "Caf\xC3\xA9 society", "b"};                 /* cut to 5 + … */
  const char *r3[] = {"333", "tab\there", NULL};
  cli_table_add(t, r1);
  cli_table_add(t, r2);
  cli_table_add(t, r3);
  cli_table_print(t, f->ctx.out);
  cli_table_destroy(t);
  fflush(f->ctx.out);
  assert_string_equal(f->out,
                      "ID   NAME    X\n"
                      "1    \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E  a\n"
                      "22   Caf\xC3\xA9 \xE2\x80\xA6  b\n"
                      "333  tab h\xE2\x80\xA6\n");
  cli_table_destroy(NULL);
}

static void test_table_wide_char_not_split(void **state) {
  struct fixture *f = *state;
  static const char *const hdr[] = {"N"};
  static const size_t maxw[] = {4};
  struct cli_table *t = cli_table_create(1, hdr, maxw);
  const char *r[] = {"a\xE6\x97\xA5\xE6\x9C\xAC"}; /* a日本 = 5 cells: a日 (3) + … */
  cli_table_add(t, r);
  cli_table_print(t, f->ctx.out);
  cli_table_destroy(t);
  fflush(f->ctx.out);
  assert_string_equal(f->out, "N\na\xE6\x97\xA5\xE2\x80\xA6\n");
}

static void test_flags_parse(void **state) {
  struct fixture *f = *state;
  const char *from = NULL, *q = NULL;
  int32_t page = 0;
  double rating = 0;
  int has_page = 0, has_rating = 0, help = 0;
  const struct cli_flag flags[] = {
      {"--date-from", NULL, CLI_FLAG_STRING, &from, NULL},
      {"--q", "-q", CLI_FLAG_STRING, &q, NULL},
      {"--page", NULL, CLI_FLAG_INT, &page, &has_page},
      {"--rating", NULL, CLI_FLAG_DOUBLE, &rating, &has_rating},
  };
  const char *const argv_w[] = {"--date-from", "2030-03-01", "-q=al",    "--page=3",
                                "--json",      "ID",         "--rating", "7.5"};
  char **argv = argv_(argv_w, sizeof argv_w / sizeof argv_w[0]);
  const char *pos[2];
  size_t npos = 0;
  assert_int_equal(cli_flags_parse(&f->ctx, flags, 4, 8, argv, pos, 2, &npos, &help), CLI_OK);
  assert_string_equal(from, "2030-03-01");
  assert_string_equal(q, "al");
  assert_int_equal(page, 3);
  assert_true(has_page);
  assert_true(has_rating);
  assert_true(rating > 7.49 && rating < 7.51);
  assert_true(f->ctx.json);
  assert_int_equal(npos, 1);
  assert_string_equal(pos[0], "ID");
  assert_false(help);
  argv_free_(argv);
}

static void test_flags_bool(void **state) {
  struct fixture *f = *state;
  int wait = 0, help = 0;
  const struct cli_flag flags[] = {{"--wait", NULL, CLI_FLAG_BOOL, &wait, NULL}};
  const char *pos[1];
  size_t npos = 0;
  const char *const ok_w[] = {"--wait"};
  char **ok = argv_(ok_w, 1);
  assert_int_equal(cli_flags_parse(&f->ctx, flags, 1, 1, ok, pos, 0, &npos, &help), CLI_OK);
  assert_int_equal(wait, 1);
  const char *const valued_w[] = {"--wait=yes"};
  char **valued = argv_(valued_w, 1);
  assert_int_equal(cli_flags_parse(&f->ctx, flags, 1, 1, valued, pos, 0, &npos, &help), CLI_USAGE);
  fflush(f->ctx.err);
  assert_non_null(strstr(f->err, "--wait takes no value"));
  argv_free_(ok);
  argv_free_(valued);
}

static void test_flags_errors_name_the_flag(void **state) {
  struct fixture *f = *state;
  int32_t page = 0;
  int help = 0;
  const struct cli_flag flags[] = {{"--page", NULL, CLI_FLAG_INT, &page, NULL}};
  const char *pos[1];
  size_t npos = 0;
  const char *const bad_num_w[] = {"--page", "x1"};
  char **bad_num = argv_(bad_num_w, sizeof bad_num_w / sizeof bad_num_w[0]);
  assert_int_equal(cli_flags_parse(&f->ctx, flags, 1, 2, bad_num, pos, 0, &npos, &help), CLI_USAGE);
  const char *const too_big_w[] = {"--page=99999999999"};
  char **too_big = argv_(too_big_w, sizeof too_big_w / sizeof too_big_w[0]);
  assert_int_equal(cli_flags_parse(&f->ctx, flags, 1, 1, too_big, pos, 0, &npos, &help), CLI_USAGE);
  const char *const missing_w[] = {"--page"};
  char **missing = argv_(missing_w, sizeof missing_w / sizeof missing_w[0]);
  assert_int_equal(cli_flags_parse(&f->ctx, flags, 1, 1, missing, pos, 0, &npos, &help), CLI_USAGE);
  const char *const unknown_w[] = {"--pgae=2"};
  char **unknown = argv_(unknown_w, sizeof unknown_w / sizeof unknown_w[0]);
  assert_int_equal(cli_flags_parse(&f->ctx, flags, 1, 1, unknown, pos, 0, &npos, &help), CLI_USAGE);
  const char *const extra_w[] = {"word"};
  char **extra = argv_(extra_w, sizeof extra_w / sizeof extra_w[0]);
  assert_int_equal(cli_flags_parse(&f->ctx, flags, 1, 1, extra, pos, 0, &npos, &help), CLI_USAGE);
  const char *const h_w[] = {"--help"};
  char **h = argv_(h_w, sizeof h_w / sizeof h_w[0]);
  assert_int_equal(cli_flags_parse(&f->ctx, flags, 1, 1, h, pos, 0, &npos, &help), CLI_OK);
  assert_true(help);
  fflush(f->ctx.err);
  assert_non_null(strstr(f->err, "--page: \"x1\" is not a whole number"));
  assert_non_null(strstr(f->err, "--page: \"99999999999\" is not a whole number"));
  assert_non_null(strstr(f->err, "--page needs a value"));
  assert_non_null(strstr(f->err, "unknown flag \"--pgae\""));
  assert_non_null(strstr(f->err, "unexpected argument \"word\""));
  argv_free_(bad_num);
  argv_free_(too_big);
  argv_free_(missing);
  argv_free_(unknown);
  argv_free_(extra);
  argv_free_(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text_width),
      cmocka_unit_test_setup_teardown(test_table_aligns_and_truncates, setup_, teardown_),
      cmocka_unit_test_setup_teardown(test_table_wide_char_not_split, setup_, teardown_),
      cmocka_unit_test_setup_teardown(test_flags_parse, setup_, teardown_),
      cmocka_unit_test_setup_teardown(test_flags_bool, setup_, teardown_),
      cmocka_unit_test_setup_teardown(test_flags_errors_name_the_flag, setup_, teardown_),
  };
  return cmocka_run_group_tests_name("cli_util", tests, NULL, NULL);
}
