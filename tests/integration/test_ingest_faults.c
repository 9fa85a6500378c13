/*
 * Integration tests of ingestion runs under faults (issue 19), against a
 * fresh PostgreSQL database per test and the fake TVMaze server
 * (tests/fake_tvmaze/fake_tvmaze.py): TVMaze unreachable from the start
 * (connection refused, a name that does not resolve). Shared helpers in
 * tests/support/ingest_env.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "date.h"
#include "db.h"
#include "ingest_env.h"
#include "ingest_run.h"
#include "store_ingest.h"

static int group_setup_(void **state) {
  (void)state;
  return itest_fake_start();
}

static int group_teardown_(void **state) {
  (void)state;
  itest_fake_stop();
  return 0;
}

static int setup_(void **state) {
  (void)state;
  itest_fresh_db("tvmaze_test_ingest_faults");
  json_decref(itest_fake_call("/_reset", "{}"));
  return 0;
}

static double now_s_(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* TVMaze unreachable                                                 */
/* ------------------------------------------------------------------ */

/* A run of 90 days against api_url with the production retry settings
 * (5 retries from 500 ms, capped at 30 s): FAILED within 60 s with
 * "TVMaze unreachable: <reason>", reason containing want. */
static void unreachable_run_(const char *api_url, const char *want) {
  long long id = 0;
  struct store *s = itest_begin(90, &id);
  struct ingest_fetch_config fc = itest_fetch_cfg();
  fc.api_url = api_url;
  fc.rate_requests = 20;
  fc.max_retries = -1;
  fc.backoff_base_ms = 0;
  fc.backoff_max_ms = 0;
  fc.days_in_flight = 0;
  double t0 = now_s_();
  int status = ingest_run_execute(s, &fc, id, date_from_civil(2030, 1, 1), 90, NULL);
  double took = now_s_() - t0;
  assert_int_equal(status, STORE_RUN_FAILED);
  if (took >= 60.0) {
    fail_msg("the run took %.1f s to give up on %s", took, api_url);
  }
  Tvmaze__V1__IngestRun *run = NULL;
  assert_int_equal(store_ingest_run_get(s, NULL, id, &run), STORE_OK);
  assert_int_equal(run->status, STORE_RUN_FAILED);
  assert_non_null(run->error);
  if (strncmp(run->error, "TVMaze unreachable: ", 20) != 0 || strstr(run->error, want) == NULL) {
    fail_msg("run error \"%s\": want \"TVMaze unreachable: ...%s...\"", run->error, want);
  }
  print_message("after %.1f s: %s\n", took, run->error);
  assert_non_null(strstr(run->error, api_url));
  assert_int_equal(run->days_done, 0);
  /* it gave up on the first request's retries, not after ~1,000 */
  assert_true(run->requests <= 6 * 16);
  itest_run_free(&run);
  assert_int_equal(itest_run_status(id), STORE_RUN_FAILED);
  /* the lock is free again: the next run starts */
  assert_int_equal(itest_q("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 0);
  store_close(s);
}

static void test_unreachable_refused(void **state) {
  (void)state;
  /* a bound port nobody listens on: every connect is refused */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
  unreachable_run_(url, "onnect");
  close(fd);
}

static void test_unreachable_dns(void **state) {
  (void)state;
  unreachable_run_("http://tvmaze.invalid", "resolve");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_unreachable_refused, setup_),
      cmocka_unit_test_setup(test_unreachable_dns, setup_),
  };
  return cmocka_run_group_tests(tests, group_setup_, group_teardown_);
}
