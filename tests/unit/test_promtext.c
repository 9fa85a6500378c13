/*
 * promtext (common/promtext.h): family lines with HELP escaping, label value
 * escaping, number layout as client_golang prints it, histogram buckets made
 * cumulative with +Inf, _sum and _count, labels or none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>
#include <math.h>

#include "promtext.h"
#include "strbuf.h"

static void test_family_and_samples(void **state) {
  (void)state;
  struct strbuf b;
  strbuf_init(&b);
  prom_family(&b, "x_total", "counter", "a \\ b\nc");
  prom_sample_u64(&b, "x_total", NULL, 3);
  prom_sample_u64(&b, "x_total", "", 4);
  prom_sample_u64(&b, "x_total", "a=\"1\"", 18446744073709551615ULL);
  assert_string_equal(b.data,
                      "# HELP x_total a \\\\ b\\nc\n"
                      "# TYPE x_total counter\n"
                      "x_total 3\n"
                      "x_total 4\n"
                      "x_total{a=\"1\"} 18446744073709551615\n");
  strbuf_release(&b);
}

static void test_label_value(void **state) {
  (void)state;
  struct strbuf b;
  strbuf_init(&b);
  prom_label_value(&b, "a\"b\\c\nd");
  assert_string_equal(b.data, "a\\\"b\\\\c\\nd");
  strbuf_release(&b);
}

static void test_numbers(void **state) {
  (void)state;
  static const struct {
    double v;
    const char *want;
  } cases[] = {{10, "10"},
               {0.005, "0.005"},
               {2.5, "2.5"},
               {0, "0"},
               {1, "1"},
               {0.1, "0.1"},
               {123456, "123456"},
               {1e6, "1e+06"},
               {1.5e6, "1.5e+06"},
               {0.0001, "0.0001"},
               {0.00001, "1e-05"},
               {-3.25, "-3.25"},
               {1750000000, "1.75e+09"},
               {1.0 / 3, "0.3333333333333333"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct strbuf b;
    strbuf_init(&b);
    prom_sample_double(&b, "g", NULL, cases[i].v);
    char want[64];
    snprintf(want, sizeof want, "g %s\n", cases[i].want);
    assert_string_equal(b.data, want);
    strbuf_release(&b);
  }
  struct strbuf b;
  strbuf_init(&b);
  prom_sample_double(&b, "g", NULL, (double)NAN);
  prom_sample_double(&b, "g", NULL, (double)INFINITY);
  prom_sample_double(&b, "g", NULL, -(double)INFINITY);
  assert_string_equal(b.data, "g NaN\ng +Inf\ng -Inf\n");
  strbuf_release(&b);
}

static void test_histogram(void **state) {
  (void)state;
  static const double bounds[3] = {0.005, 0.5, 10};
  static const unsigned long long counts[4] = {1, 0, 2, 3};
  struct strbuf b;
  strbuf_init(&b);
  prom_histogram(&b, "h_seconds", "m=\"x\"", bounds, counts, 3, 12.5);
  assert_string_equal(b.data,
                      "h_seconds_bucket{m=\"x\",le=\"0.005\"} 1\n"
                      "h_seconds_bucket{m=\"x\",le=\"0.5\"} 1\n"
                      "h_seconds_bucket{m=\"x\",le=\"10\"} 3\n"
                      "h_seconds_bucket{m=\"x\",le=\"+Inf\"} 6\n"
                      "h_seconds_sum{m=\"x\"} 12.5\n"
                      "h_seconds_count{m=\"x\"} 6\n");
  strbuf_reset(&b);
  prom_histogram(&b, "h", NULL, bounds, counts, 0, 0);
  assert_string_equal(b.data, "h_bucket{le=\"+Inf\"} 1\nh_sum 0\nh_count 1\n");
  strbuf_release(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_family_and_samples),
      cmocka_unit_test(test_label_value),
      cmocka_unit_test(test_numbers),
      cmocka_unit_test(test_histogram),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
