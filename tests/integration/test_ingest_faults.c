/*
 * Integration tests of ingestion runs under faults (issue 19), against a
 * fresh PostgreSQL database per test and the fake TVMaze server
 * (tests/fake_tvmaze/fake_tvmaze.py): TVMaze unreachable from the start
 * (connection refused, a name that does not resolve); PostgreSQL restarted
 * while a run's last day is written (the run still ends with its true
 * outcome); orphan RUNNING runs finished by another runner with the outcome
 * their days give; skipping unchanged days after a PARTIAL run whose
 * written day moved an episode away from the failed day (rows compared
 * table by table with a clean ingest). Shared helpers in
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
#include "ingest_runner.h"
#include "store_ingest.h"
#include "testenv.h"

static int setup_(void **state) {
  (void)state;
  itest_fresh_start("tvmaze_test_ingest_faults");
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
  assert_int_equal(itest_q("SELECT count(*) FROM pg_locks WHERE " ITEST_OUR_ADVISORY_LOCKS), 0);
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

/* ------------------------------------------------------------------ */
/* Outcomes recorded after a PostgreSQL outage                        */
/* ------------------------------------------------------------------ */

static char *day_field_(long long id, const char *date, const char *col) {
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT %s::text FROM ingest_run_days WHERE run_id = %lld AND date = '%s'", col, id,
           date);
  return itest_qs(sql);
}

/* PostgreSQL stops while the last day downloads (the fake delays it) and
 * comes back 8 s later: the day's write fails on the database, and the
 * runner retries recording the day and the run until it is back. The run
 * ends PARTIAL (2 days written, the last failed on the database), not
 * RUNNING; the lock is free, and the next run writes the day. */
static void test_pg_restart_last_day(void **state) {
  (void)state;
  itest_fake_control(
      "{\"faults\": [{\"match\": \"date=2030-01-03\", \"delay\": 3, "
      "\"times\": 2}]}");
  struct ingest_runner *r = itest_runner("pg-restart", 0);
  long long id = 0;
  int started = 0;
  assert_int_equal(ingest_runner_start(r, date_from_civil(2030, 1, 1), 3, &id, &started), STORE_OK);
  assert_true(started);
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT days_done FROM ingest_runs WHERE id = %lld", id);
  itest_wait_for(sql, 2);
  assert_int_equal(itest_run_status(id), STORE_RUN_RUNNING);
  testenv_services("pg-stop");
  sleep(8); /* the last day arrives (3 s) and fails on the database meanwhile */
  testenv_services("pg-start");
  snprintf(sql, sizeof sql, "SELECT count(*) FROM ingest_runs WHERE id = %lld AND status <> %d", id,
           STORE_RUN_RUNNING);
  itest_wait_for(sql, 1);
  assert_int_equal(itest_run_status(id), STORE_RUN_PARTIAL);
  snprintf(sql, sizeof sql, "SELECT days_done FROM ingest_runs WHERE id = %lld", id);
  assert_int_equal(itest_q(sql), 3);
  snprintf(sql, sizeof sql, "SELECT count(*) FROM ingest_runs WHERE id = %lld AND error IS NULL",
           id);
  assert_int_equal(itest_q(sql), 1);
  char *st = day_field_(id, "2030-01-03", "status");
  char *err = day_field_(id, "2030-01-03", "error");
  assert_non_null(st);
  assert_int_equal((int)strtol(st, NULL, 10), STORE_DAY_FAILED);
  assert_non_null(err);
  if (strstr(err, "2030-01-03: database: ") != err) {
    fail_msg("day error \"%s\"", err);
  }
  free(st);
  free(err);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE airdate = '2030-01-03'"), 0);
  /* nobody holds the lock: the next run starts and writes the day */
  assert_int_equal(itest_q("SELECT count(*) FROM pg_locks WHERE " ITEST_OUR_ADVISORY_LOCKS), 0);
  long long id2 = 0;
  assert_int_equal(ingest_runner_start(r, date_from_civil(2030, 1, 1), 3, &id2, &started),
                   STORE_OK);
  assert_true(started);
  snprintf(sql, sizeof sql, "SELECT count(*) FROM ingest_runs WHERE id = %lld AND status <> %d",
           id2, STORE_RUN_RUNNING);
  itest_wait_for(sql, 1);
  assert_int_equal(itest_run_status(id2), STORE_RUN_SUCCEEDED);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE airdate = '2030-01-03'"), 1);
  ingest_runner_destroy(r);
}

/* A run left RUNNING without its runner (the session that held the lock
 * closed), days recorded as given; returns its id. */
static long long orphan_(int ok, int failed) {
  long long id = 0;
  struct store *s = itest_begin(3, &id);
  struct store_ingest_counts c = {.requests = 2};
  for (int i = 0; i < ok + failed; i++) {
    char date[11];
    date_format(date_from_civil(2030, 1, 1) + i, date);
    if (i < ok) {
      assert_int_equal(store_ingest_day_done(s, id, date, STORE_DAY_SUCCEEDED, NULL, 0, &c),
                       STORE_OK);
    } else {
      assert_int_equal(store_ingest_fail_day(s, id, date, "test failure", 2, 0), STORE_OK);
    }
  }
  store_close(s); /* the lock goes with the session */
  return id;
}

static long long wait_finished_(long long id) {
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM ingest_runs WHERE id = %lld AND status <> %d", id,
           STORE_RUN_RUNNING);
  itest_wait_for(sql, 1);
  return itest_run_status(id);
}

static char *run_error_(long long id) {
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT error FROM ingest_runs WHERE id = %lld", id);
  return itest_qs(sql);
}

/* A runner that is idle finds orphans (its periodic check, every 200 ms
 * here) and ends each with the outcome its recorded days give. */
static void test_orphans_recovered(void **state) {
  (void)state;
  struct ingest_runner *r = itest_runner("sweeper", 200);
  long long partial = orphan_(2, 1);
  assert_int_equal(wait_finished_(partial), STORE_RUN_PARTIAL);
  assert_null(run_error_(partial));
  long long ok = orphan_(3, 0);
  assert_int_equal(wait_finished_(ok), STORE_RUN_SUCCEEDED);
  long long all_failed = orphan_(0, 3);
  assert_int_equal(wait_finished_(all_failed), STORE_RUN_FAILED);
  char *e = run_error_(all_failed);
  assert_non_null(e);
  assert_string_equal(e, "every day failed");
  free(e);
  long long cut = orphan_(1, 0);
  assert_int_equal(wait_finished_(cut), STORE_RUN_FAILED);
  e = run_error_(cut);
  assert_non_null(e);
  if (strstr(e, "interrupted: its server stopped, or could not record the run") != e) {
    fail_msg("run error \"%s\"", e);
  }
  free(e);
  /* a run whose runner holds the lock is not touched */
  long long live = 0;
  struct store *s = itest_begin(3, &live);
  usleep(600 * 1000);
  assert_int_equal(itest_run_status(live), STORE_RUN_RUNNING);
  store_close(s);
  assert_int_equal(wait_finished_(live), STORE_RUN_FAILED);
  ingest_runner_destroy(r);
}

/* ------------------------------------------------------------------ */
/* Skipping unchanged days after a PARTIAL run                        */
/* ------------------------------------------------------------------ */

/* The schedule tables as canonical text, without surrogate ids and write
 * times (distributors by (kind, tvmaze_id), genres by name); genres only
 * as far as a show lists them (no ingest deletes a genre name). */
#define N_DUMPS 6
static const char *const dump_names_[N_DUMPS] = {"countries", "distributors", "genres",
                                                 "shows",     "show_genres",  "episodes"};
static const char *const dump_sql_[N_DUMPS] = {
    "SELECT string_agg(to_jsonb(c)::text, E'\\n' ORDER BY code) FROM countries c",
    "SELECT string_agg((to_jsonb(d) - 'id')::text, E'\\n' ORDER BY kind, tvmaze_id) "
    "FROM distributors d",
    "SELECT string_agg(DISTINCT g.name, E'\\n' ORDER BY g.name) FROM genres g "
    "JOIN show_genres sg ON sg.genre_id = g.id",
    "SELECT string_agg((to_jsonb(s) - 'created_at' - 'updated_at' - 'distributor_id' || "
    "jsonb_build_object('distributor', d.kind || ':' || d.tvmaze_id))::text, E'\\n' "
    "ORDER BY s.id) FROM shows s LEFT JOIN distributors d ON d.id = s.distributor_id",
    "SELECT string_agg(sg.show_id || ' ' || g.name || ' ' || sg.position, E'\\n' "
    "ORDER BY sg.show_id, sg.position) FROM show_genres sg JOIN genres g ON g.id = sg.genre_id",
    "SELECT string_agg((to_jsonb(e) - 'created_at' - 'updated_at')::text, E'\\n' ORDER BY id) "
    "FROM episodes e"};

static void dump_(char *out[N_DUMPS]) {
  for (int i = 0; i < N_DUMPS; i++) {
    out[i] = itest_qs(dump_sql_[i]);
    assert_non_null(out[i]);
  }
}

static void dumps_free_(char *d[N_DUMPS]) {
  for (int i = 0; i < N_DUMPS; i++) {
    free(d[i]);
  }
}

/* Every table equals the clean ingest's dump. */
static void same_as_clean_(char *clean[N_DUMPS]) {
  char *seq[N_DUMPS];
  dump_(seq);
  for (int i = 0; i < N_DUMPS; i++) {
    if (strcmp(clean[i], seq[i]) != 0) {
      fail_msg(
          "table %s differs from a clean ingest:\n--- clean\n%s\n--- after the "
          "sequence\n%s",
          dump_names_[i], clean[i], seq[i]);
    }
  }
  dumps_free_(seq);
}

/* Ingest base ("v2"); re-ingest with the feed set ("v1": episode 2005
 * moved from 2030-01-03 to 2030-01-02, ratings and genres changed) that
 * does not finish 2030-01-03: malformed there (PARTIAL, the day FAILED) or,
 * with interrupt, the runner shut down while 01-03 downloads (FAILED
 * "interrupted", the day PENDING, no failure recorded); ingest base again:
 * every table equals a clean base ingest. Before the fix, 01-03 was
 * skipped by its base hashes and 2005 kept the airdate 2030-01-02 of v1. */
static void skip_sequence_(int interrupt) {
  char *clean[N_DUMPS];
  itest_fresh_db("tvmaze_test_ingest_faults_clean");
  Tvmaze__V1__IngestRun *run = NULL;
  itest_run_sync(3, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  itest_run_free(&run);
  dump_(clean);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE id = 2005 "
                           "AND airdate = '2030-01-03'"),
                   1);

  itest_fresh_db("tvmaze_test_ingest_faults");
  itest_run_sync(3, &run); /* v2 */
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  itest_run_free(&run);
  assert_int_equal(itest_q("SELECT count(*) FROM ingest_source_hashes"), 6);
  itest_fake_control("{\"set\": \"feed\"}");
  if (interrupt) {
    itest_fake_control(
        "{\"faults\": [{\"match\": \"date=2030-01-03\", \"delay\": 30, "
        "\"times\": -1}]}");
    struct ingest_runner *r = itest_runner("interrupted", 0);
    long long id = 0;
    int started = 0;
    assert_int_equal(ingest_runner_start(r, date_from_civil(2030, 1, 1), 3, &id, &started),
                     STORE_OK);
    assert_true(started);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT days_done FROM ingest_runs WHERE id = %lld", id);
    itest_wait_for(sql, 2);
    ingest_runner_destroy(r);
    assert_int_equal(itest_run_status(id), STORE_RUN_FAILED);
    char *st = day_field_(id, "2030-01-03", "status");
    assert_non_null(st);
    assert_int_equal((int)strtol(st, NULL, 10), STORE_DAY_PENDING);
    free(st);
  } else {
    itest_fake_control(
        "{\"faults\": [{\"match\": \"web?date=2030-01-03\", \"times\": -1, "
        "\"body\": \"[{\\\"id\\\": \"}]}");
    itest_run_sync(3, &run); /* v1, 01-03 malformed */
    assert_int_equal(run->status, STORE_RUN_PARTIAL);
    assert_int_equal(run->day_results[2]->status, STORE_DAY_FAILED);
    itest_run_free(&run);
  }
  /* v1's 01-02 moved 2005 there, away from 01-03, whose hashes are gone */
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE id = 2005 "
                           "AND airdate = '2030-01-02'"),
                   1);
  assert_int_equal(itest_q("SELECT count(*) FROM ingest_source_hashes WHERE date = '2030-01-03'"),
                   0);
  json_decref(itest_fake_call("/_reset", "{}")); /* base, no faults */
  /* one day at a time from here: days are handed to the writer as their
   * downloads finish, and what follows depends on 01-02 being written
   * before 01-03 (the other order leaves 01-02's new hashes, rightly) */
  struct ingest_fetch_config in_order = itest_fetch_cfg();
  in_order.days_in_flight = 1;
  itest_run_sync_cfg(&in_order, 3, &run); /* v2 again */
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_false(run->day_results[2]->skipped);
  itest_run_free(&run);
  same_as_clean_(clean);
  /* 2005 moved back, away from 01-02: its hashes are void too (the rule
   * cannot tell whether 01-02's stored bodies listed it), so one more run
   * parses 01-02, writes nothing, and every hash is back */
  assert_int_equal(itest_q("SELECT count(*) FROM ingest_source_hashes WHERE date = '2030-01-02'"),
                   0);
  itest_run_sync_cfg(&in_order, 3, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_true(run->day_results[0]->skipped);
  assert_false(run->day_results[1]->skipped);
  assert_true(run->day_results[2]->skipped);
  assert_int_equal(
      run->episodes_created + run->episodes_updated + run->shows_created + run->shows_updated, 0);
  itest_run_free(&run);
  assert_int_equal(itest_q("SELECT count(*) FROM ingest_source_hashes"), 6);
  same_as_clean_(clean);
  dumps_free_(clean);
}

static void test_skip_after_partial(void **state) {
  (void)state;
  skip_sequence_(0);
}

static void test_skip_after_interrupted(void **state) {
  (void)state;
  skip_sequence_(1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_unreachable_refused, setup_),
      cmocka_unit_test_setup(test_unreachable_dns, setup_),
      cmocka_unit_test_setup(test_pg_restart_last_day, setup_),
      cmocka_unit_test_setup(test_orphans_recovered, setup_),
      cmocka_unit_test_setup(test_skip_after_partial, setup_),
      cmocka_unit_test_setup(test_skip_after_interrupted, setup_),
  };
  return cmocka_run_group_tests(tests, itest_fake_group_setup, itest_fake_group_teardown);
}
