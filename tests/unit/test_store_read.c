/*
 * store_read (server/store/store_read.c) on PGresults built in memory
 * (PQmakeEmptyPGresult + PQsetvalue, no connection): integers in every
 * form PostgreSQL prints them, the int64 limits, NULLs, wrappers, and that
 * strings land in the arena.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "store_read.h"

/* One text column holding vals[i] in row i (NULL = SQL NULL). */
static PGresult *column_(const char *const *vals, int n) {
  PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
  PGresAttDesc att = {.name = (char *)(uintptr_t) "v", .typid = 25, .typlen = -1, .format = 0};
  assert_int_equal(PQsetResultAttrs(r, 1, &att), 1);
  for (int i = 0; i < n; i++) {
    assert_int_equal(
        PQsetvalue(r, i, 0, (char *)(uintptr_t)vals[i], vals[i] ? (int)strlen(vals[i]) : -1), 1);
  }
  return r;
}

static void integers(void **state) {
  (void)state;
  const char *vals[] = {"0",
                        "7",
                        "-7",
                        "2147483647",
                        "-2147483648",
                        "9223372036854775807",
                        "-9223372036854775808",
                        NULL,
                        "123456789012"};
  PGresult *r = column_(vals, 9);
  assert_int_equal(store_read_int(r, 0, 0), 0);
  assert_int_equal(store_read_int(r, 1, 0), 7);
  assert_int_equal(store_read_int(r, 2, 0), -7);
  assert_int_equal(store_read_int(r, 3, 0), INT32_MAX);
  assert_int_equal(store_read_int(r, 4, 0), INT32_MIN);
  assert_true(store_read_int(r, 5, 0) == INT64_MAX);
  assert_true(store_read_int(r, 6, 0) == INT64_MIN);
  assert_int_equal(store_read_int(r, 7, 0), 0); /* NULL */
  assert_true(store_read_int(r, 8, 0) == 123456789012LL);
  PQclear(r);
}

static void wrappers_and_strings(void **state) {
  (void)state;
  const char *vals[] = {"42", NULL, "7.5", "1764028800", "Doctor Who"};
  PGresult *r = column_(vals, 5);
  struct arena a;
  arena_init(&a, 4096);
  Google__Protobuf__Int32Value *i = store_read_int32_value(&a, r, 0, 0);
  assert_int_equal(i->value, 42);
  assert_null(store_read_int32_value(&a, r, 1, 0));
  assert_null(store_read_double_value(&a, r, 1, 0));
  assert_null(store_read_timestamp(&a, r, 1, 0));
  Google__Protobuf__DoubleValue *d = store_read_double_value(&a, r, 2, 0);
  assert_true(d->value == 7.5);
  Google__Protobuf__Timestamp *t = store_read_timestamp(&a, r, 3, 0);
  assert_true(t->seconds == 1764028800LL);
  char *s = store_read_str(&a, r, 4, 0);
  assert_string_equal(s, "Doctor Who");
  assert_true(s != PQgetvalue(r, 4, 0)); /* a copy: outlives PQclear */
  assert_string_equal(store_read_str(&a, r, 1, 0), "");
  PQclear(r);
  assert_string_equal(s, "Doctor Who");
  arena_release(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(integers),
      cmocka_unit_test(wrappers_and_strings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
