/*
 * Integration tests of the run bookkeeping (server/store/store_runs.c)
 * against a fresh PostgreSQL database per test, on the store API alone:
 * runs and their days (create, day outcomes, finish, stale runs), the
 * reads as protobuf built on the heap and in an arena (get, list with
 * pagination, counts per status), and the run lock (try, keep, retake,
 * unlock). The statuses the SQL writes are the enums' values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "ingest_env.h"
#include "log.h"
#include "store_ingest.h"

static int setup_(void **state) {
  (void)state;
  itest_fresh_db("tvmaze_test_store_runs");
  return 0;
}

/* A run of days from 2030-01-01 on s; its id. */
static long long create_(struct store *s, int days) {
  long long id = 0;
  assert_int_equal(store_ingest_run_create(s, "2030-01-01", days, "test", &id), STORE_OK);
  assert_true(id > 0);
  return id;
}

static void test_run_days_and_get(void **state) {
  (void)state;
  struct store *s = store_open(itest_db_url);
  long long id = create_(s, 3);
  char sql[160];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM ingest_run_days WHERE run_id = %lld AND status = %d", id,
           STORE_DAY_PENDING);
  assert_int_equal(itest_q(sql), 3);
  long long running = 0;
  assert_int_equal(store_ingest_run_running(s, &running), STORE_OK);
  assert_int_equal(running, id);
  struct store_ingest_counts c = {.requests = 2,
                                  .retries = 1,
                                  .episodes_seen = 5,
                                  .shows_created = 2,
                                  .episodes_created = 4,
                                  .episodes_unchanged = 1};
  assert_int_equal(store_ingest_day_done(s, id, "2030-01-01", STORE_DAY_SUCCEEDED, NULL, 0, &c),
                   STORE_OK);
  struct store_ingest_counts k = {.requests = 1, .episodes_seen = 3, .episodes_unchanged = 3};
  assert_int_equal(store_ingest_skip_day(s, id, "2030-01-02", &k), STORE_OK);
  assert_int_equal(store_ingest_fail_day(s, id, "2030-01-03", "boom", 4, 3), STORE_OK);
  assert_int_equal(store_ingest_run_finish(s, id, STORE_RUN_PARTIAL, NULL), STORE_OK);
  assert_int_equal(store_ingest_run_running(s, &running), STORE_NOT_FOUND);

  Tvmaze__V1__IngestRun *run = NULL;
  assert_int_equal(store_ingest_run_get(s, NULL, id, &run), STORE_OK);
  assert_int_equal(run->id, id);
  assert_int_equal(run->status, TVMAZE__V1__RUN_STATUS__RUN_STATUS_PARTIAL);
  assert_string_equal(run->start_date, "2030-01-01");
  assert_int_equal(run->days, 3);
  assert_int_equal(run->days_done, 3);
  assert_int_equal(run->requests, 7);
  assert_int_equal(run->retries, 4);
  assert_int_equal(run->episodes_seen, 8);
  assert_int_equal(run->shows_created, 2);
  assert_int_equal(run->episodes_created, 4);
  assert_int_equal(run->episodes_unchanged, 4);
  assert_string_equal(run->error, "");
  assert_non_null(run->started_at);
  assert_non_null(run->finished_at);
  assert_true(run->finished_at->seconds >= run->started_at->seconds);
  assert_int_equal(run->n_day_results, 3);
  const Tvmaze__V1__DayResult *const *d = (const Tvmaze__V1__DayResult *const *)run->day_results;
  assert_string_equal(d[0]->date, "2030-01-01");
  assert_int_equal(d[0]->status, TVMAZE__V1__DAY_STATUS__DAY_STATUS_SUCCEEDED);
  assert_false(d[0]->skipped);
  assert_int_equal(d[1]->status, TVMAZE__V1__DAY_STATUS__DAY_STATUS_SUCCEEDED);
  assert_true(d[1]->skipped);
  assert_int_equal(d[2]->status, TVMAZE__V1__DAY_STATUS__DAY_STATUS_FAILED);
  assert_string_equal(d[2]->error, "boom");
  itest_run_free(&run);

  /* absent: NOT_FOUND, nothing built */
  assert_int_equal(store_ingest_run_get(s, NULL, id + 1000, &run), STORE_NOT_FOUND);
  assert_null(run);
  store_close(s);
}

static void test_stale_runs_and_counts(void **state) {
  (void)state;
  struct store *s = store_open(itest_db_url);
  long long a = create_(s, 1), b = create_(s, 1), c = create_(s, 2);
  unsigned long long ok0 = store_ingest_runs_ended(STORE_RUN_SUCCEEDED);
  unsigned long long failed0 = store_ingest_runs_ended(STORE_RUN_FAILED);
  assert_int_equal(store_ingest_run_finish(s, a, STORE_RUN_SUCCEEDED, NULL), STORE_OK);
  double last = 0;
  assert_int_equal(store_ingest_last_success(s, &last), STORE_OK);
  assert_true(last > 1.7e9); /* a's finished_at, now */
  /* b and c are RUNNING: listed with what their days say */
  struct store_ingest_counts cnt = {.requests = 2};
  assert_int_equal(store_ingest_day_done(s, c, "2030-01-02", STORE_DAY_SUCCEEDED, NULL, 0, &cnt),
                   STORE_OK);
  struct store_ingest_stale *stale = NULL;
  size_t n = 0;
  assert_int_equal(store_ingest_stale_runs(s, &stale, &n), STORE_OK);
  assert_int_equal(n, 2);
  assert_int_equal(stale[0].id, b);
  assert_int_equal(stale[0].days, 1);
  assert_int_equal(stale[0].days_ok, 0);
  assert_int_equal(stale[0].days_failed, 0);
  assert_int_equal(stale[1].id, c);
  assert_int_equal(stale[1].days, 2);
  assert_int_equal(stale[1].days_ok, 1);
  assert_int_equal(stale[1].days_failed, 0);
  free(stale);
  assert_int_equal(store_ingest_fail_day(s, c, "2030-01-01", "test", 1, 0), STORE_OK);
  assert_int_equal(store_ingest_stale_runs(s, &stale, &n), STORE_OK);
  assert_int_equal(n, 2);
  assert_int_equal(stale[1].days_ok, 1);
  assert_int_equal(stale[1].days_failed, 1);
  free(stale);
  assert_int_equal(store_ingest_run_finish(s, b, STORE_RUN_FAILED, "interrupted: test"), STORE_OK);
  assert_int_equal(store_ingest_run_finish(s, c, STORE_RUN_FAILED, "interrupted: test"), STORE_OK);
  assert_int_equal(store_ingest_stale_runs(s, &stale, &n), STORE_OK);
  assert_int_equal(n, 0);
  assert_null(stale);
  /* the runs this process ended (tvmaze_ingest_runs_total) */
  assert_int_equal(store_ingest_runs_ended(STORE_RUN_SUCCEEDED) - ok0, 1);
  assert_int_equal(store_ingest_runs_ended(STORE_RUN_FAILED) - failed0, 2);
  assert_int_equal(store_ingest_runs_ended(STORE_RUN_RUNNING), 0);
  assert_int_equal(itest_run_status(b), STORE_RUN_FAILED);
  assert_int_equal(itest_run_status(c), STORE_RUN_FAILED);
  long long d = create_(s, 1); /* RUNNING */
  (void)d;

  struct arena ar;
  arena_init(&ar, 4096);
  Tvmaze__V1__CountIngestRunsResponse *counts = NULL;
  assert_int_equal(store_ingest_run_counts(s, &ar, &counts), STORE_OK);
  /* statuses in order, those without runs left out */
  assert_int_equal(counts->n_counts, 3);
  assert_int_equal(counts->counts[0]->status, TVMAZE__V1__RUN_STATUS__RUN_STATUS_RUNNING);
  assert_int_equal(counts->counts[0]->runs, 1);
  assert_int_equal(counts->counts[1]->status, TVMAZE__V1__RUN_STATUS__RUN_STATUS_SUCCEEDED);
  assert_int_equal(counts->counts[1]->runs, 1);
  assert_int_equal(counts->counts[2]->status, TVMAZE__V1__RUN_STATUS__RUN_STATUS_FAILED);
  assert_int_equal(counts->counts[2]->runs, 2);
  arena_release(&ar);

  Tvmaze__V1__IngestRun *run = NULL;
  assert_int_equal(store_ingest_run_get(s, NULL, b, &run), STORE_OK);
  assert_string_equal(run->error, "interrupted: test");
  itest_run_free(&run);
  store_close(s);
}

static void test_list_pages(void **state) {
  (void)state;
  struct store *s = store_open(itest_db_url);
  long long ids[5];
  for (int i = 0; i < 5; i++) {
    ids[i] = create_(s, 1);
    assert_int_equal(store_ingest_run_finish(s, ids[i], STORE_RUN_SUCCEEDED, NULL), STORE_OK);
  }
  /* heap: page 2 of 2 per page is the third and fourth newest */
  Tvmaze__V1__ListIngestRunsResponse *page = NULL;
  assert_int_equal(store_ingest_run_list(s, NULL, 2, 2, &page), STORE_OK);
  assert_int_equal(page->n_runs, 2);
  assert_int_equal(page->runs[0]->id, ids[2]);
  assert_int_equal(page->runs[1]->id, ids[1]);
  assert_int_equal(page->runs[0]->n_day_results, 0);
  assert_int_equal(page->pagination->page, 2);
  assert_int_equal(page->pagination->per_page, 2);
  assert_int_equal(page->pagination->total, 5);
  assert_int_equal(page->pagination->total_pages, 3);
  protobuf_c_message_free_unpacked(&page->base, NULL);
  /* arena: past the last page, no runs but the total */
  struct arena ar;
  arena_init(&ar, 4096);
  assert_int_equal(store_ingest_run_list(s, &ar, 9, 20, &page), STORE_OK);
  assert_int_equal(page->n_runs, 0);
  assert_int_equal(page->pagination->total, 5);
  assert_int_equal(page->pagination->total_pages, 1);
  arena_release(&ar);
  store_close(s);
}

static void test_lock(void **state) {
  (void)state;
  struct store *s = store_open(itest_db_url);
  struct store *other = store_open(itest_db_url);
  int got = 0, held = 0, retaken = 0;
  assert_int_equal(store_ingest_try_lock(s, &got), STORE_OK);
  assert_true(got);
  assert_int_equal(store_ingest_try_lock(other, &got), STORE_OK);
  assert_false(got);
  char sql[512];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM pg_locks WHERE " ITEST_OUR_ADVISORY_LOCKS
           " AND granted AND "
           "objid = %lld AND objsubid = 1",
           STORE_INGEST_LOCK_KEY);
  assert_int_equal(itest_q(sql), 1);
  long long id = create_(s, 1);
  assert_int_equal(store_ingest_keep_lock(s, id, &held, &retaken), STORE_OK);
  assert_true(held);
  assert_false(retaken);
  /* the session's lock gone (as after a reconnect): taken again while the
   * run is RUNNING */
  assert_int_equal(store_ingest_unlock(s), STORE_OK);
  assert_int_equal(store_ingest_keep_lock(s, id, &held, &retaken), STORE_OK);
  assert_true(held);
  assert_true(retaken);
  /* the run ended meanwhile: not taken, the run must stop */
  assert_int_equal(store_ingest_unlock(s), STORE_OK);
  assert_int_equal(store_ingest_run_finish(s, id, STORE_RUN_FAILED, "stopped"), STORE_OK);
  assert_int_equal(store_ingest_keep_lock(s, id, &held, &retaken), STORE_OK);
  assert_false(held);
  assert_int_equal(itest_q(sql), 0);
  assert_int_equal(store_ingest_try_lock(other, &got), STORE_OK);
  assert_true(got);
  store_close(other);
  store_close(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_run_days_and_get, setup_),
      cmocka_unit_test_setup(test_stale_runs_and_counts, setup_),
      cmocka_unit_test_setup(test_list_pages, setup_),
      cmocka_unit_test_setup(test_lock, setup_),
  };
  return cmocka_run_group_tests_name("store_runs", tests, itest_group_setup, NULL);
}
