/*
 * u64map (common/u64map.h): get of absent keys, put and overwrite, growth
 * past many doublings with every value kept, colliding low bits, release.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "u64map.h"

static void test_empty_and_overwrite(void **state) {
  (void)state;
  struct u64map m = {0};
  assert_int_equal(u64map_get(&m, 7), 0);
  u64map_put(&m, 7, 70);
  assert_int_equal(u64map_get(&m, 7), 70);
  u64map_put(&m, 7, 71);
  assert_int_equal(u64map_get(&m, 7), 71);
  assert_int_equal(m.n, 1);
  assert_int_equal(u64map_get(&m, 8), 0);
  u64map_release(&m);
  assert_int_equal(m.cap, 0);
  assert_int_equal(u64map_get(&m, 7), 0);
}

static void test_growth(void **state) {
  (void)state;
  struct u64map m = {0};
  /* keys alike in their low bits and tagged in the top byte, as used */
  for (uint64_t i = 1; i <= 100000; i++) {
    u64map_put(&m, (uint64_t)3 << 56 | i << 20, i * 3);
  }
  assert_int_equal(m.n, 100000);
  assert_true(2 * m.n <= m.cap);
  for (uint64_t i = 1; i <= 100000; i++) {
    assert_int_equal(u64map_get(&m, (uint64_t)3 << 56 | i << 20), i * 3);
  }
  assert_int_equal(u64map_get(&m, (uint64_t)4 << 56 | 1 << 20), 0);
  size_t seen = 0;
  for (size_t i = 0; i < m.cap; i++) {
    seen += m.keys[i] != 0;
  }
  assert_int_equal(seen, 100000);
  u64map_release(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty_and_overwrite),
      cmocka_unit_test(test_growth),
  };
  return cmocka_run_group_tests_name("u64map", tests, NULL, NULL);
}
