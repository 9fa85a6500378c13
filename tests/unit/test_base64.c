/*
 * test_base64: common/base64.c round trips, alphabets, padding, errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"

static void encode_(const char *in, const char *want) {
  struct strbuf b;
  strbuf_init(&b);
  base64_encode(&b, (const uint8_t *)in, strlen(in));
  assert_string_equal(b.data, want);
  strbuf_release(&b);
}

static void decode_(const char *in, const char *want) {
  uint8_t out[64];
  long n = base64_decode(in, out, sizeof out);
  assert_int_equal(n, (long)strlen(want));
  assert_memory_equal(out, want, strlen(want));
}

static void rfc4648_vectors(void **state) {
  (void)state;
  static const char *const v[][2] = {{"", ""},
                                     {"f", "Zg=="},
                                     {"fo", "Zm8="},
                                     {"foo", "Zm9v"},
                                     {"foob", "Zm9vYg=="},
                                     {"fooba", "Zm9vYmE="},
                                     {"foobar", "Zm9vYmFy"}};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    encode_(v[i][0], v[i][1]);
    decode_(v[i][1], v[i][0]);
  }
}

static void decode_variants(void **state) {
  (void)state;
  decode_("Zm9vYg", "foob"); /* padding optional */
  decode_("YWRtaW46czNjcmV0", "admin:s3cret");
  uint8_t out[8];
  uint8_t url[] = {0xfb, 0xff};
  assert_int_equal(base64_decode("-_8", out, sizeof out), 2); /* URL-safe alphabet */
  assert_memory_equal(out, url, 2);
  assert_int_equal(base64_decode("+/8=", out, sizeof out), 2);
  assert_memory_equal(out, url, 2);
}

static void decode_errors(void **state) {
  (void)state;
  uint8_t out[4];
  assert_int_equal(base64_decode("Zm9v!", out, sizeof out), -1);    /* bad character */
  assert_int_equal(base64_decode("Zg==Zg==", out, sizeof out), -1); /* data after padding */
  assert_int_equal(base64_decode("Zm9vYmFy", out, sizeof out), -1); /* does not fit */
  assert_true(base64_decoded_max(8) >= 6);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rfc4648_vectors),
      cmocka_unit_test(decode_variants),
      cmocka_unit_test(decode_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
