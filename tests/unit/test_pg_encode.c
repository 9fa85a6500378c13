/*
 * pg_encode (server/store/pg_encode.c): array literals (empty, NULL,
 * quotes and backslashes, integers, several literals at once), COPY text
 * fields (NULL, every escaped byte, \N and \. as data, integers) and the
 * epoch timestamp text (bounds, refused values).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pg_encode.h"

static void test_array_empty_and_null(void **state) {
  (void)state;
  struct pg_array a;
  pg_array_init(&a);
  assert_string_equal(pg_array_end(&a), "{}");
  assert_int_equal(a.n, 0);
  pg_arrays_release(&a, 1);
  pg_array_init(&a);
  pg_array_add(&a, NULL);
  pg_array_add(&a, "");
  pg_array_add(&a, "NULL"); /* the word as text stays quoted: not NULL */
  assert_int_equal(a.n, 3);
  assert_string_equal(pg_array_end(&a), "{NULL,\"\",\"NULL\"}");
  pg_arrays_release(&a, 1);
}

static void test_array_escapes(void **state) {
  (void)state;
  struct pg_array a;
  pg_array_init(&a);
  pg_array_add(&a, "say \"hi\"");
  pg_array_add(&a, "back\\slash");
  pg_array_add(&a, "\\\"");
  pg_array_add(&a, "{a,b} tab\tnew\nline \xc3\xa9");
  assert_string_equal(pg_array_end(&a),
                      "{\"say \\\"hi\\\"\",\"back\\\\slash\",\"\\\\\\\"\","
                      "\"{a,b} tab\tnew\nline \xc3\xa9\"}");
  pg_arrays_release(&a, 1);
}

static void test_array_ints_and_many(void **state) {
  (void)state;
  struct pg_array a[3];
  pg_arrays_init(a, 3);
  pg_array_add_int(&a[0], 0);
  pg_array_add_int(&a[0], -12);
  pg_array_add_int(&a[0], 9223372036854775807LL);
  pg_array_add(&a[2], "x");
  assert_string_equal(pg_array_end(&a[0]), "{\"0\",\"-12\",\"9223372036854775807\"}");
  assert_string_equal(pg_array_end(&a[1]), "{}");
  assert_string_equal(pg_array_end(&a[2]), "{\"x\"}");
  pg_arrays_release(a, 3);
}

static void test_copy_fields(void **state) {
  (void)state;
  struct strbuf b;
  strbuf_init(&b);
  pg_copy_int(&b, 42, '\t');
  pg_copy_text(&b, NULL, '\t');
  pg_copy_text(&b, "", '\t');
  pg_copy_text(&b, "a\\b\tc\nd\re", '\t');
  pg_copy_text(&b, "\\N", '\t'); /* COPY's NULL marker as text */
  pg_copy_text(&b, "\\.", '\t'); /* its end marker as text */
  pg_copy_text(&b, "\"quoted\" \xf0\x9f\x91\xbe", '\t');
  pg_copy_int(&b, -7, '\n');
  assert_string_equal(b.data,
                      "42\t\\N\t\t"
                      "a\\\\b\\tc\\nd\\re\t"
                      "\\\\N\t"
                      "\\\\.\t"
                      "\"quoted\" \xf0\x9f\x91\xbe\t"
                      "-7\n");
  strbuf_release(&b);
}

static void test_copy_only_escapes(void **state) {
  (void)state;
  struct strbuf b;
  strbuf_init(&b);
  pg_copy_text(&b, "\\\\\t\t\n\r", '\n');
  assert_string_equal(b.data, "\\\\\\\\\\t\\t\\n\\r\n");
  strbuf_release(&b);
}

static void test_epoch(void **state) {
  (void)state;
  char buf[32];
  const char *f = buf;
  assert_int_equal(pg_encode_epoch(NULL, buf, &f), 1);
  assert_null(f);
  assert_int_equal(pg_encode_epoch("0", buf, &f), 1);
  assert_ptr_equal(f, buf);
  assert_string_equal(f, "1970-01-01 00:00:00+00");
  assert_int_equal(pg_encode_epoch("1700000000", buf, &f), 1);
  assert_string_equal(f, "2023-11-14 22:13:20+00");
  assert_int_equal(pg_encode_epoch("253402300799", buf, &f), 1);
  assert_string_equal(f, "9999-12-31 23:59:59+00");
  /* refused: the upsert's to_timestamp() decides */
  const char *bad[] = {"", "-1", "253402300800", "12x", "1.5", "abc"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    f = "unchanged";
    assert_int_equal(pg_encode_epoch(bad[i], buf, &f), 0);
    assert_string_equal(f, "unchanged");
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_array_empty_and_null), cmocka_unit_test(test_array_escapes),
      cmocka_unit_test(test_array_ints_and_many),  cmocka_unit_test(test_copy_fields),
      cmocka_unit_test(test_copy_only_escapes),    cmocka_unit_test(test_epoch),
  };
  return cmocka_run_group_tests_name("pg_encode", tests, NULL, NULL);
}
