/*
 * test_base64: common/base64.c round trips, alphabets, padding, errors; base16.
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

static void base16(void **state) {
  (void)state;
  uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
  char hex[2 * sizeof in + 1];
  memset(hex, 'x', sizeof hex);
  base16_encode(in, sizeof in, hex);
  assert_string_equal(hex, "00017f80abff");
  uint8_t out[sizeof in];
  assert_int_equal(base16_decode("00017F80abFF", out, sizeof out), 0); /* either case */
  assert_memory_equal(out, in, sizeof in);
  assert_int_equal(base16_decode("0g", out, 1), -1); /* not a hex digit */
  assert_int_equal(base16_decode("g0", out, 1), -1);
  assert_int_equal(base16_decode("0", out, 1), -1); /* the NUL is not a digit */
  base16_encode(in, 0, hex);
  assert_string_equal(hex, "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rfc4648_vectors),
      cmocka_unit_test(decode_variants),
      cmocka_unit_test(decode_errors),
      cmocka_unit_test(base16),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
