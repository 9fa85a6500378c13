/*
 * Unit tests of server/ingest/ingest_outcome.c: every row of the table in
 * ingest_outcome.h, and which row wins when several match.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ingest_outcome.h"
#include "store_ingest.h"

static struct ingest_outcome of_(int days, int ok, int failed, enum ingest_fetch_status fs,
                                 int lock_lost) {
  struct ingest_outcome_in in = {.days = days,
                                 .days_ok = ok,
                                 .days_failed = failed,
                                 .fetch = fs,
                                 .fetch_error = "curl_multi_init failed",
                                 .lock_lost = lock_lost};
  return ingest_outcome_of(&in);
}

static void is_(struct ingest_outcome o, int status, const char *prefix) {
  assert_int_equal(o.status, status);
  if (prefix == NULL) {
    assert_null(o.error);
  } else {
    assert_non_null(o.error);
    if (strncmp(o.error, prefix, strlen(prefix)) != 0) {
      fail_msg("error \"%s\" does not start with \"%s\"", o.error, prefix);
    }
  }
}

static void test_rows(void **state) {
  (void)state;
  is_(of_(3, 3, 0, INGEST_FETCH_DONE, 0), STORE_RUN_SUCCEEDED, NULL);
  is_(of_(3, 2, 1, INGEST_FETCH_DONE, 0), STORE_RUN_PARTIAL, NULL);
  is_(of_(3, 0, 3, INGEST_FETCH_DONE, 0), STORE_RUN_FAILED, "every day failed");
  is_(of_(3, 1, 0, INGEST_FETCH_STOPPED, 0), STORE_RUN_FAILED, "interrupted: the server");
  is_(of_(3, 2, 0, INGEST_FETCH_DONE, 0), STORE_RUN_FAILED, "interrupted: the server");
  is_(of_(3, 0, 0, INGEST_FETCH_ERROR, 0), STORE_RUN_FAILED, "curl_multi_init failed");
  is_(of_(3, 0, 0, INGEST_FETCH_UNREACHABLE, 0), STORE_RUN_FAILED, "curl_multi_init failed");
  is_(of_(3, 1, 1, INGEST_FETCH_UNREACHABLE, 0), STORE_RUN_FAILED, "curl_multi_init failed");
  is_(of_(3, 1, 0, INGEST_FETCH_STOPPED, 1), STORE_RUN_FAILED, "stopped: its database session");
  is_(of_(0, 0, 0, INGEST_FETCH_DONE, 0), STORE_RUN_SUCCEEDED, NULL); /* nothing to do */
}

/* A RUNNING run found without its runner: its recorded days decide. */
static struct ingest_outcome orphan_(int days, int ok, int failed) {
  struct ingest_outcome_in in = {
      .days = days, .days_ok = ok, .days_failed = failed, .fetch = INGEST_FETCH_DONE, .orphan = 1};
  return ingest_outcome_of(&in);
}

static void test_orphans(void **state) {
  (void)state;
  is_(orphan_(3, 3, 0), STORE_RUN_SUCCEEDED, NULL);
  is_(orphan_(3, 2, 1), STORE_RUN_PARTIAL, NULL);
  is_(orphan_(3, 0, 3), STORE_RUN_FAILED, "every day failed");
  is_(orphan_(3, 2, 0), STORE_RUN_FAILED, "interrupted: its server stopped, or could not record");
  is_(orphan_(3, 0, 0), STORE_RUN_FAILED, "interrupted: its server stopped, or could not record");
}

static void test_precedence(void **state) {
  (void)state;
  /* a lost lock wins over everything; a stop over a failed fetch */
  is_(of_(3, 3, 0, INGEST_FETCH_DONE, 1), STORE_RUN_FAILED, "stopped:");
  is_(of_(3, 0, 3, INGEST_FETCH_ERROR, 1), STORE_RUN_FAILED, "stopped:");
  is_(of_(3, 0, 0, INGEST_FETCH_STOPPED, 0), STORE_RUN_FAILED, "interrupted:");
  /* days recorded beyond the run's (cannot happen) still count as done */
  is_(of_(2, 2, 1, INGEST_FETCH_DONE, 0), STORE_RUN_PARTIAL, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rows),
      cmocka_unit_test(test_precedence),
      cmocka_unit_test(test_orphans),
  };
  return cmocka_run_group_tests_name("ingest_outcome", tests, NULL, NULL);
}
