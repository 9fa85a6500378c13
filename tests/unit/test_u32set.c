/*
 * u32set (common/u32set.h): absent keys, repeated adds counted once,
 * growth past many doublings with ids alike in their low bits (as TVMaze
 * ids of one window are), the largest key, release.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "u32set.h"

static void test_add_has(void **state) {
  (void)state;
  struct u32set s = {0};
  assert_false(u32set_has(&s, 7));
  u32set_add(&s, 7);
  u32set_add(&s, 7);
  u32set_add(&s, UINT32_MAX);
  assert_true(u32set_has(&s, 7));
  assert_true(u32set_has(&s, UINT32_MAX));
  assert_false(u32set_has(&s, 8));
  assert_int_equal(s.n, 2);
  u32set_release(&s);
  assert_int_equal(s.cap, 0);
  assert_false(u32set_has(&s, 7));
}

static void test_growth(void **state) {
  (void)state;
  struct u32set s = {0};
  for (uint32_t i = 1; i <= 300000; i++) {
    u32set_add(&s, i << 12);
  }
  assert_int_equal(s.n, 300000);
  assert_true(2 * s.n <= s.cap);
  for (uint32_t i = 1; i <= 300000; i++) {
    assert_true(u32set_has(&s, i << 12));
    assert_false(u32set_has(&s, (i << 12) + 1));
  }
  size_t seen = 0;
  for (size_t i = 0; i < s.cap; i++) {
    seen += s.keys[i] != 0;
  }
  assert_int_equal(seen, 300000);
  u32set_release(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_add_has),
      cmocka_unit_test(test_growth),
  };
  return cmocka_run_group_tests_name("u32set", tests, NULL, NULL);
}
