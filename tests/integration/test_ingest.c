/*
 * Integration tests of ingestion runs (server/ingest, server/store) against
 * a fresh PostgreSQL database per test and the fake TVMaze server
 * (tests/fake_tvmaze/fake_tvmaze.py, fixtures in fixtures/base|changed):
 * full runs, re-runs, source hashes, faults, retries, concurrency, killed
 * and interrupted runs, the run lock, the rate limit. The day write on the
 * store API is in test_ingest_write.c; shared helpers in
 * tests/support/ingest_env.h.
 * Waits poll the database for a state (bounded); nothing asserts durations
 * except that a client waited at least as long as Retry-After said.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>

#include "date.h"
#include "db.h"
#include "ingest_env.h"
#include "ingest_parse.h"
#include "ingest_runner.h"
#include "log.h"
#include "store_ingest.h"
#include "testenv.h"

/* ------------------------------------------------------------------ */
/* Fixtures                                                           */
/* ------------------------------------------------------------------ */

static int setup_(void **state) {
  (void)state;
  itest_fresh_start("tvmaze_test_ingest");
  return 0;
}

/* ------------------------------------------------------------------ */
/* Tests                                                              */
/* ------------------------------------------------------------------ */

/* Full run, identical re-run, changed fixtures. */
static void test_full_rerun_changed(void **state) {
  (void)state;
  Tvmaze__V1__IngestRun *run = NULL;
  itest_run_sync(3, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_int_equal(run->days_done, 3);
  assert_int_equal(run->episodes_seen, 8);
  assert_int_equal(run->episodes_created, 8);
  assert_int_equal(run->episodes_updated, 0);
  assert_int_equal(run->shows_created, 5);
  assert_int_equal(run->shows_updated, 0);
  assert_int_equal(run->shows_unchanged, 3); /* 501 once and 601 twice again, later days */
  assert_int_equal(run->requests, 6);
  assert_int_equal(run->n_day_results, 3);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(run->day_results[i]->status, STORE_DAY_SUCCEEDED);
    assert_false(run->day_results[i]->skipped);
  }
  itest_run_free(&run);
  /* the raw body hash of each (date, source), with the day's counts */
  assert_int_equal(itest_q("SELECT count(*) FROM ingest_source_hashes WHERE length(hash) = 32"), 6);
  assert_int_equal(itest_q("SELECT count(DISTINCT hash) FROM ingest_source_hashes"), 6);
  assert_int_equal(
      itest_q("SELECT sum(day_episodes) FROM ingest_source_hashes WHERE source = 'web'"), 8);
  assert_int_equal(itest_q("SELECT count(*) FROM ingest_source_hashes WHERE source = 'US'"), 3);
  assert_int_equal(itest_q("SELECT items FROM ingest_source_hashes WHERE date = '2030-01-03' "
                           "AND source = 'web'"),
                   0);

  assert_int_equal(itest_q("SELECT count(*) FROM episodes"), 8);
  assert_int_equal(itest_q("SELECT count(*) FROM shows"), 5);
  /* network 1 (NBC) and web channel 1 (Netflix) stay two distributors */
  assert_int_equal(itest_q("SELECT count(*) FROM distributors WHERE tvmaze_id = 1"), 2);
  assert_int_equal(itest_q("SELECT count(*) FROM distributors"), 4);
  assert_int_equal(
      itest_q("SELECT count(*) FROM shows s JOIN distributors d ON d.id = "
              "s.distributor_id WHERE s.id = 501 AND d.kind = 2 AND d.name = 'Netflix' "
              "AND d.country_code IS NULL"),
      1);
  assert_int_equal(itest_q("SELECT count(*) FROM shows WHERE id = 602 AND distributor_id IS NULL"),
                   1);
  /* episodes.country_code (migrations 004, 007): the ingest supplies the
   * show's distributor country; NULL for a global channel or none */
  assert_int_equal(itest_q("SELECT count(*) FROM episodes e JOIN shows s ON s.id = e.show_id "
                           "LEFT JOIN distributors d ON d.id = s.distributor_id "
                           "WHERE e.country_code IS DISTINCT FROM d.country_code"),
                   0);
  assert_true(itest_q("SELECT count(*) FROM episodes WHERE country_code = 'US'") > 0);
  assert_true(itest_q("SELECT count(*) FROM episodes WHERE country_code IS NULL") > 0);
  assert_int_equal(itest_q("SELECT count(*) FROM countries"), 2);
  assert_int_equal(itest_q("SELECT count(*) FROM show_genres WHERE show_id = 501"), 2);
  assert_int_equal(itest_q("SELECT count(*) FROM genres"), 5);
  char *summary = itest_qs("SELECT summary FROM shows WHERE id = 501");
  assert_string_equal(summary,
                      "Stranger Things & friends' adventure.\nSecond line "
                      "\xf0\x9f\x91\xbe \"quoted\" \xc3\xa9t\xc3\xa9");
  free(summary);
  summary = itest_qs("SELECT summary FROM shows WHERE id = 502"); /* two paragraphs */
  assert_string_equal(summary,
                      "\xc3\x9cn\xc3\xaf"
                      "c\xc3\xb6"
                      "d\xc3\xa9 \xe2\x80\x94 ok\nnext paragraph");
  free(summary);
  /* runtime is TVMaze's (null for 501), averageRuntime its own column */
  assert_int_equal(itest_q("SELECT count(*) FROM shows WHERE id = 501 AND runtime IS NULL AND "
                           "average_runtime = 50"),
                   1);
  assert_int_equal(itest_q("SELECT count(*) FROM shows WHERE id = 502 AND runtime = 45 AND "
                           "average_runtime IS NULL"),
                   1);
  /* genres at their place in TVMaze's list: 603 is [Drama, Crime] */
  char *genres = itest_qs(
      "SELECT string_agg(g.name, ',' ORDER BY sg.position) FROM show_genres "
      "sg JOIN genres g ON g.id = sg.genre_id WHERE sg.show_id = 603");
  assert_string_equal(genres, "Drama,Crime");
  free(genres);
  char *name = itest_qs("SELECT name FROM shows WHERE id = 502");
  assert_string_equal(name, "Doctor Who: \xe6\x99\x82\xe7\xa9\xba \xf0\x9f\x9a\x80");
  free(name);
  assert_int_equal(
      itest_q("SELECT count(*) FROM shows WHERE summary ~ '</?(p|b|i|em|br)\\M|&[a-z#]'"), 0);
  char *crime = itest_qs("SELECT summary FROM shows WHERE id = 603");
  assert_string_equal(crime, "Crime <drama>");
  free(crime);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE id = 1001 AND number IS NULL AND "
                           "airtime = '' AND airstamp = '2030-01-01T08:00:00Z'"),
                   1);
  assert_int_equal(itest_q("SELECT rating * 10 FROM shows WHERE id = 601"), 75);
  long long gen1 = itest_q("SELECT generation FROM data_generation");
  assert_true(gen1 > 1);
  /* polite client: the User-Agent names the service */
  json_t *stats = itest_fake_call("/_stats", NULL);
  const char *ua =
      json_string_value(json_object_get(json_array_get(json_object_get(stats, "log"), 0), "ua"));
  assert_non_null(ua);
  assert_memory_equal(ua, "tvmaze-ingest/", 14);
  json_decref(stats);

  /* identical re-run: nothing created or updated, no table written */
  long long before[ITEST_N_TABLES], after[ITEST_N_TABLES];
  itest_writes_all(before);
  assert_true(before[5] >= 8);
  itest_run_sync(3, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_int_equal(run->episodes_created + run->episodes_updated, 0);
  assert_int_equal(run->episodes_unchanged, 8);
  assert_int_equal(run->shows_created + run->shows_updated, 0);
  assert_int_equal(run->episodes_seen, 8);
  assert_int_equal(run->shows_unchanged, 8); /* 5 shows, 3 of them again on later days */
  assert_int_equal(run->requests, 6);
  /* every day skipped as identical: bodies hashed, not parsed */
  assert_int_equal(run->n_day_results, 3);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(run->day_results[i]->status, STORE_DAY_SUCCEEDED);
    assert_true(run->day_results[i]->skipped);
  }
  itest_run_free(&run);
  itest_writes_all(after);
  for (size_t i = 0; i < ITEST_N_TABLES; i++) {
    if (after[i] != before[i]) {
      fail_msg("%s: %lld rows written by an identical re-run", itest_tables[i],
               after[i] - before[i]);
    }
  }
  assert_int_equal(itest_q("SELECT generation FROM data_generation"), gen1);

  /* changed fixtures: exactly episode 1001 and show 601 are updated */
  itest_fake_control("{\"set\": \"changed\"}");
  itest_run_sync(3, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_int_equal(run->episodes_updated, 1);
  assert_int_equal(run->episodes_created, 0);
  assert_int_equal(run->shows_updated, 1);
  assert_int_equal(run->shows_created, 0);
  for (size_t i = 0; i < 3; i++) {
    assert_false(run->day_results[i]->skipped); /* every day has a changed body */
  }
  itest_run_free(&run);
  long long changed[ITEST_N_TABLES];
  itest_writes_all(changed);
  for (size_t i = 0; i < ITEST_N_TABLES; i++) {
    long long want =
        strcmp(itest_tables[i], "shows") == 0 || strcmp(itest_tables[i], "episodes") == 0;
    if (changed[i] - after[i] != want) {
      fail_msg("%s: %lld rows written, want %lld", itest_tables[i], changed[i] - after[i], want);
    }
  }
  assert_int_equal(itest_q("SELECT rating * 10 FROM shows WHERE id = 601"), 80);
  char *ep = itest_qs("SELECT name FROM episodes WHERE id = 1001");
  assert_string_equal(ep, "The Upside Down (changed)");
  free(ep);
  assert_true(itest_q("SELECT generation FROM data_generation") > gen1);
  assert_int_equal(itest_q("SELECT count(*) FROM ingest_runs WHERE status = 2"), 3);
}

static void test_malformed_day(void **state) {
  (void)state;
  itest_fake_control(
      "{\"faults\": [{\"match\": \"web?date=2030-01-02\", \"times\": -1, "
      "\"body\": \"[{\\\"id\\\": 1003, \\\"name\\\": \"}]}");
  Tvmaze__V1__IngestRun *run = NULL;
  itest_run_sync(3, &run);
  assert_int_equal(run->status, STORE_RUN_PARTIAL);
  assert_int_equal(run->days_done, 3);
  assert_int_equal(run->day_results[0]->status, STORE_DAY_SUCCEEDED);
  assert_int_equal(run->day_results[1]->status, STORE_DAY_FAILED);
  assert_string_equal(run->day_results[1]->date, "2030-01-02");
  assert_non_null(run->day_results[1]->error);
  assert_non_null(strstr(run->day_results[1]->error, "2030-01-02"));
  assert_non_null(strstr(run->day_results[1]->error, "malformed JSON"));
  assert_int_equal(run->day_results[2]->status, STORE_DAY_SUCCEEDED);
  itest_run_free(&run);
  /* nothing of day 2 (its network schedule was fine) */
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE airdate = '2030-01-02'"), 0);
  assert_int_equal(itest_q("SELECT count(*) FROM shows WHERE id = 603"), 0);
  assert_int_equal(itest_q("SELECT count(*) FROM distributors WHERE kind = 1 AND tvmaze_id = 2"),
                   0);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE airdate = '2030-01-01'"), 4);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE airdate = '2030-01-03'"), 1);
  /* the failed day recorded no hash: the next run parses it fully */
  assert_int_equal(itest_q("SELECT count(*) FROM ingest_source_hashes WHERE date = '2030-01-02'"),
                   0);
  assert_int_equal(itest_q("SELECT count(*) FROM ingest_source_hashes"), 4);
  json_decref(itest_fake_call("/_reset", "{}")); /* faults cleared */
  itest_run_sync(3, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_true(run->day_results[0]->skipped);
  assert_false(run->day_results[1]->skipped);
  assert_true(run->day_results[2]->skipped);
  assert_true(run->episodes_created > 0);
  itest_run_free(&run);
  assert_int_equal(itest_q("SELECT count(*) FROM shows WHERE id = 603"), 1);
  assert_int_equal(itest_q("SELECT count(*) FROM ingest_source_hashes"), 6);
}

/* A changed body on one day: only that day is parsed, and exactly the
 * changed row is written; the others are skipped as identical. */
static void test_one_day_changed(void **state) {
  (void)state;
  Tvmaze__V1__IngestRun *run = NULL;
  itest_run_sync(3, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  itest_run_free(&run);
  char *old_hash = itest_qs(
      "SELECT encode(hash, 'hex') FROM ingest_source_hashes "
      "WHERE date = '2030-01-03' AND source = 'US'");
  char *web_hash = itest_qs(
      "SELECT encode(hash, 'hex') FROM ingest_source_hashes "
      "WHERE date = '2030-01-03' AND source = 'web'");
  assert_non_null(old_hash);
  assert_non_null(web_hash);

  FILE *f = fopen(testenv_source_path("tests/fake_tvmaze/fixtures/base/US-2030-01-03.json"), "rb");
  assert_non_null(f);
  char body[65536];
  size_t n = fread(body, 1, sizeof body - 1, f);
  fclose(f);
  body[n] = '\0';
  const char *name = "\"Wednesday Edition\"";
  char *at = strstr(body, name);
  assert_non_null(at);
  char changed[65600];
  snprintf(changed, sizeof changed, "%.*s\"Wednesday Edition (changed)\"%s", (int)(at - body), body,
           at + strlen(name));
  json_t *ctl = json_pack("{s:[{s:s, s:i, s:s}]}", "faults", "match", "country=US&date=2030-01-03",
                          "times", -1, "body", changed);
  char *ctls = json_dumps(ctl, 0);
  itest_fake_control(ctls);
  free(ctls);
  json_decref(ctl);

  long long before[ITEST_N_TABLES], after[ITEST_N_TABLES];
  itest_writes_all(before);
  itest_run_sync(3, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_true(run->day_results[0]->skipped);
  assert_true(run->day_results[1]->skipped);
  assert_false(run->day_results[2]->skipped);
  assert_int_equal(run->episodes_seen, 8);
  assert_int_equal(run->episodes_updated, 1);
  assert_int_equal(run->episodes_created, 0);
  assert_int_equal(run->episodes_unchanged, 7);
  assert_int_equal(run->shows_created + run->shows_updated, 0);
  itest_run_free(&run);
  itest_writes_all(after);
  for (size_t i = 0; i < ITEST_N_TABLES; i++) {
    long long want = strcmp(itest_tables[i], "episodes") == 0;
    if (after[i] - before[i] != want) {
      fail_msg("%s: %lld rows written, want %lld", itest_tables[i], after[i] - before[i], want);
    }
  }
  char *ep = itest_qs("SELECT name FROM episodes WHERE id = 2005");
  assert_string_equal(ep, "Wednesday Edition (changed)");
  free(ep);
  /* that day's hashes follow the new body; the unchanged source's stays */
  char *new_hash = itest_qs(
      "SELECT encode(hash, 'hex') FROM ingest_source_hashes "
      "WHERE date = '2030-01-03' AND source = 'US'");
  char *web_now = itest_qs(
      "SELECT encode(hash, 'hex') FROM ingest_source_hashes "
      "WHERE date = '2030-01-03' AND source = 'web'");
  assert_string_not_equal(new_hash, old_hash);
  assert_string_equal(web_now, web_hash);
  free(new_hash);
  free(web_now);
  free(old_hash);
  free(web_hash);

  /* and the next identical run skips all three days */
  itest_run_sync(3, &run);
  for (size_t i = 0; i < 3; i++) {
    assert_true(run->day_results[i]->skipped);
  }
  assert_int_equal(run->episodes_unchanged, 8);
  itest_run_free(&run);
}

static double log_time_(json_t *log, const char *path, int nth) {
  size_t i;
  json_t *it;
  json_array_foreach(log, i, it) {
    if (strcmp(json_string_value(json_object_get(it, "path")), path) == 0 && nth-- == 0) {
      return json_real_value(json_object_get(it, "t"));
    }
  }
  fail_msg("request %s not logged", path);
  return 0;
}

static void test_429_and_500_retried(void **state) {
  (void)state;
  itest_fake_control(
      "{\"faults\": [{\"match\": \"/schedule/web?date=2030-01-01\", \"status\": 429, "
      "\"retry_after\": 1, \"times\": 1}, {\"match\": \"country=US&date=2030-01-02\", "
      "\"status\": 500, \"times\": 1}, {\"match\": \"country=US&date=2030-01-03\", "
      "\"status\": 503, \"times\": 2}]}");
  Tvmaze__V1__IngestRun *run = NULL;
  itest_run_sync(3, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_int_equal(run->retries, 4);
  assert_int_equal(run->requests, 10);
  itest_run_free(&run);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes"), 8);
  json_t *stats = itest_fake_call("/_stats", NULL);
  json_t *log = json_object_get(stats, "log");
  const char *p = "/schedule/web?date=2030-01-01";
  double waited = log_time_(log, p, 1) - log_time_(log, p, 0);
  if (waited < 0.9) {
    fail_msg("retried after %.3f s, Retry-After said 1 s", waited);
  }
  json_decref(stats);
}

static void test_slow_and_refused(void **state) {
  (void)state;
  /* one answer slower than the 1.5 s timeout, then no listener for 1 s */
  itest_fake_control(
      "{\"faults\": [{\"match\": \"web?date=2030-01-03\", \"delay\": 3, "
      "\"times\": 1}]}");
  itest_fake_control("{\"refuse_for\": 1.0}");
  usleep(700 * 1000); /* let the listener close */
  Tvmaze__V1__IngestRun *run = NULL;
  itest_run_sync(3, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_true(run->retries >= 2);
  itest_run_free(&run);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes"), 8);
}

struct starter_ {
  struct ingest_runner *runner;
  long long run_id;
  int started;
  enum store_status st;
};

static void *starter_main_(void *arg) {
  struct starter_ *s = arg;
  s->st = ingest_runner_start(s->runner, date_from_civil(2030, 1, 1), 3, &s->run_id, &s->started);
  return NULL;
}

/* Two replicas, two callers each, at once: one run-> */
static void test_concurrent_start(void **state) {
  (void)state;
  itest_fake_control("{\"faults\": [{\"match\": \"/schedule\", \"delay\": 0.3, \"times\": -1}]}");
  struct ingest_runner *a = itest_runner("replica-a", 0);
  struct ingest_runner *b = itest_runner("replica-b", 0);
  struct starter_ st[4] = {{.runner = a}, {.runner = b}, {.runner = a}, {.runner = b}};
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    assert_int_equal(pthread_create(&th[i], NULL, starter_main_, &st[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
  }
  int started = 0;
  for (int i = 0; i < 4; i++) {
    assert_int_equal(st[i].st, STORE_OK);
    assert_true(st[i].run_id > 0);
    assert_int_equal(st[i].run_id, st[0].run_id);
    started += st[i].started;
  }
  assert_int_equal(started, 1);
  assert_int_equal(itest_q("SELECT count(*) FROM ingest_runs"), 1);
  itest_wait_for("SELECT count(*) FROM ingest_runs WHERE status <> 1", 1);
  assert_int_equal(itest_run_status(st[0].run_id), STORE_RUN_SUCCEEDED);
  ingest_runner_destroy(a);
  ingest_runner_destroy(b);
  assert_int_equal(itest_q("SELECT count(*) FROM ingest_runs"), 1);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes"), 8);
}

/* A process killed mid-run: whole days only, and FAILED after restart. */
static void test_killed_run(void **state) {
  (void)state;
  itest_fake_control("{\"faults\": [{\"match\": \"/schedule\", \"delay\": 0.4, \"times\": -1}]}");
  fflush(NULL);
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    struct store *s = store_open(itest_db_url);
    long long id = 0;
    int started = 0;
    if (ingest_run_begin(s, date_from_civil(2030, 1, 1), 3, "child", 0, &id, &started) !=
            STORE_OK ||
        !started) {
      _exit(3);
    }
    struct ingest_fetch_config fc = itest_fetch_cfg();
    fc.days_in_flight = 1;
    (void)ingest_run_execute(s, &fc, id, date_from_civil(2030, 1, 1), 3, NULL);
    _exit(0);
  }
  itest_wait_for("SELECT coalesce(max(days_done), 0) FROM ingest_runs", 1);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  assert_true(WIFSIGNALED(status));
  long long id = itest_q("SELECT max(id) FROM ingest_runs");
  int done = (int)itest_q("SELECT days_done FROM ingest_runs");
  if (done >= 3) {
    fail_msg("the run finished before it was killed; slow the fake down");
  }
  assert_int_equal(itest_run_status(id), STORE_RUN_RUNNING);
  /* consistent: succeeded days have all their episodes, pending days none */
  assert_int_equal(itest_q("SELECT count(*) FROM ingest_run_days d JOIN episodes e ON e.airdate = "
                           "d.date WHERE d.status = 1"),
                   0);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE airdate = '2030-01-01'"), 4);
  /* a restarted server fails the dead run */
  struct ingest_runner *r = itest_runner("restarted", 0);
  itest_wait_for("SELECT count(*) FROM ingest_runs WHERE status = 4", 1);
  char *err = itest_qs("SELECT error FROM ingest_runs");
  assert_non_null(strstr(err, "interrupted"));
  free(err);
  /* and a new run can start and completes the data */
  long long run_id = 0;
  int started = 0;
  itest_fake_control("{}");
  json_decref(itest_fake_call("/_reset", "{}"));
  assert_int_equal(ingest_runner_start(r, date_from_civil(2030, 1, 1), 3, &run_id, &started),
                   STORE_OK);
  assert_true(started);
  assert_true(run_id > id);
  itest_wait_for("SELECT count(*) FROM ingest_runs WHERE status = 2", 1);
  ingest_runner_destroy(r);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes"), 8);
}

/* Shutdown mid-run: the run becomes FAILED "interrupted", days stay whole. */
static void test_shutdown_interrupts(void **state) {
  (void)state;
  itest_fake_control("{\"faults\": [{\"match\": \"/schedule\", \"delay\": 0.5, \"times\": -1}]}");
  struct ingest_runner *r = itest_runner("shutdown", 0);
  long long id = 0;
  int started = 0;
  assert_int_equal(ingest_runner_start(r, date_from_civil(2030, 1, 1), 3, &id, &started), STORE_OK);
  assert_true(started);
  assert_int_equal(itest_run_status(id), STORE_RUN_RUNNING);
  ingest_runner_destroy(r);
  assert_int_equal(itest_run_status(id), STORE_RUN_FAILED);
  char *err = itest_qs("SELECT error FROM ingest_runs");
  assert_non_null(strstr(err, "interrupted"));
  free(err);
  assert_int_equal(itest_q("SELECT count(*) FROM ingest_run_days d JOIN episodes e ON e.airdate = "
                           "d.date WHERE d.status = 1"),
                   0);
  /* the lock went with the runner: a new start works */
  struct store *s = store_open(itest_db_url);
  int got = 0;
  assert_int_equal(store_ingest_try_lock(s, &got), STORE_OK);
  assert_true(got);
  store_close(s);
}

/* A run executing on its own thread with one day in flight (lost-lock test). */
struct lock_run_ {
  struct store *s;
  long long id;
  int status;
};

static void *lock_run_main_(void *arg) {
  struct lock_run_ *lr = arg;
  struct ingest_fetch_config fc = itest_fetch_cfg();
  fc.days_in_flight = 1;
  lr->status = ingest_run_execute(lr->s, &fc, lr->id, date_from_civil(2030, 1, 1), 3, NULL);
  return NULL;
}

/* Terminates the backend that holds the run lock (the runner's session). */
static void kill_lock_holder_(void) {
  char sql[512];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM (SELECT pg_terminate_backend(pid, 60000) FROM "
           "pg_locks WHERE " ITEST_OUR_ADVISORY_LOCKS
           " AND granted AND classid = 0 AND "
           "objid = %lld AND objsubid = 1) t",
           STORE_INGEST_LOCK_KEY);
  assert_int_equal(itest_q(sql), 1);
}

/* The runner's database session dies mid-run, taking the run lock with it
 * (store_exec reconnects silently). With the lock free, the run takes it
 * again and completes; with another session holding it (another replica),
 * the run stops FAILED and writes no further day. */
static void test_lost_lock(void **state) {
  (void)state;
  itest_fake_control("{\"faults\": [{\"match\": \"/schedule\", \"delay\": 0.4, \"times\": -1}]}");
  /* 1: the lock is free again: taken back, the run completes */
  struct lock_run_ a = {0};
  a.s = itest_begin(3, &a.id);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, lock_run_main_, &a), 0);
  itest_wait_for("SELECT coalesce(max(days_done), 0) FROM ingest_runs", 1);
  kill_lock_holder_();
  pthread_join(th, NULL);
  store_close(a.s);
  assert_int_equal(a.status, STORE_RUN_SUCCEEDED);
  assert_int_equal(itest_run_status(a.id), STORE_RUN_SUCCEEDED);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes"), 8);

  /* 2: another session takes the lock first: the run stops */
  struct lock_run_ b = {0};
  b.s = itest_begin(3, &b.id);
  assert_int_equal(pthread_create(&th, NULL, lock_run_main_, &b), 0);
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT days_done FROM ingest_runs WHERE id = %lld", b.id);
  itest_wait_for(sql, 1);
  kill_lock_holder_();
  PGconn *other = itest_db();
  snprintf(sql, sizeof sql, "SELECT pg_try_advisory_lock(%lld)", STORE_INGEST_LOCK_KEY);
  PGresult *r = PQexec(other, sql);
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  assert_string_equal(PQgetvalue(r, 0, 0), "t");
  PQclear(r);
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM ingest_run_days WHERE run_id = %lld AND status = 2", b.id);
  long long ok_at_kill = itest_q(sql);
  pthread_join(th, NULL);
  store_close(b.s);
  assert_int_equal(b.status, STORE_RUN_FAILED);
  assert_int_equal(itest_run_status(b.id), STORE_RUN_FAILED);
  assert_int_equal(itest_q(sql), ok_at_kill); /* no day written after the lock went */
  snprintf(sql, sizeof sql, "SELECT error FROM ingest_runs WHERE id = %lld", b.id);
  char *err = itest_qs(sql);
  assert_non_null(strstr(err, "run lock"));
  free(err);
  PQfinish(other);
}

/* The client-side rate limit spaces request starts. */
static void test_rate_limit(void **state) {
  (void)state;
  long long id = 0;
  struct store *s = itest_begin(3, &id);
  struct ingest_fetch_config fc = itest_fetch_cfg();
  fc.rate_requests = 2;
  fc.rate_window_ms = 1000;
  assert_int_equal(ingest_run_execute(s, &fc, id, date_from_civil(2030, 1, 1), 3, NULL),
                   STORE_RUN_SUCCEEDED);
  store_close(s);
  json_t *stats = itest_fake_call("/_stats", NULL);
  json_t *log = json_object_get(stats, "log");
  assert_int_equal(json_array_size(log), 6);
  /* any 3 consecutive starts span at least the window */
  for (size_t i = 2; i < json_array_size(log); i++) {
    double t0 = json_real_value(json_object_get(json_array_get(log, i - 2), "t"));
    double t2 = json_real_value(json_object_get(json_array_get(log, i), "t"));
    if (t2 - t0 < 0.9) {
      fail_msg("3 requests within %.3f s under a 2 per 1 s limit", t2 - t0);
    }
  }
  json_decref(stats);
}

/* More requests than the fetch keeps in the curl multi at once (16): 3
 * days of the web schedule and 20 countries, all in flight, 63 requests,
 * two of them failing once. Every request is made (the failed ones twice),
 * every day lands. */
static void test_many_transfers(void **state) {
  (void)state;
  static const char many[20][3] = {"US", "GB", "DE", "FR", "JP", "CA", "AU", "NL", "SE", "NO",
                                   "DK", "FI", "ES", "IT", "BR", "MX", "KR", "IN", "IE", "NZ"};
  itest_fake_control(
      "{\"faults\": [{\"match\": \"country=FR&date=2030-01-02\", \"status\": 500, "
      "\"times\": 1}, {\"match\": \"country=US&date=2030-01-03\", \"status\": 503, "
      "\"times\": 1}]}");
  long long id = 0;
  struct store *s = itest_begin(3, &id);
  struct ingest_fetch_config fc = itest_fetch_cfg();
  fc.countries = many;
  fc.n_countries = 20;
  fc.rate_requests = 0; /* no limit: everything is due at once */
  assert_int_equal(ingest_run_execute(s, &fc, id, date_from_civil(2030, 1, 1), 3, NULL),
                   STORE_RUN_SUCCEEDED);
  Tvmaze__V1__IngestRun *run = NULL;
  assert_int_equal(store_ingest_run_get(s, NULL, id, &run), STORE_OK);
  store_close(s);
  assert_int_equal(run->requests, 65);
  assert_int_equal(run->retries, 2);
  assert_int_equal(run->days_done, 3);
  itest_run_free(&run);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes"), 8); /* the other countries answer [] */
  json_t *stats = itest_fake_call("/_stats", NULL);
  json_t *log = json_object_get(stats, "log");
  assert_int_equal(json_array_size(log), 65);
  for (int d = 1; d <= 3; d++) { /* each URL asked for, the failed ones twice */
    for (int c = -1; c < 20; c++) {
      char want[96];
      if (c < 0) {
        snprintf(want, sizeof want, "/schedule/web?date=2030-01-0%d", d);
      } else {
        snprintf(want, sizeof want, "/schedule?country=%s&date=2030-01-0%d", many[c], d);
      }
      int seen = 0;
      for (size_t i = 0; i < json_array_size(log); i++) {
        seen +=
            strcmp(json_string_value(json_object_get(json_array_get(log, i), "path")), want) == 0;
      }
      int failed = (c == 3 && d == 2) || (c == 0 && d == 3);
      if (seen != 1 + failed) {
        fail_msg("%s asked for %d times, expected %d", want, seen, 1 + failed);
      }
    }
  }
  json_decref(stats);
}
int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_full_rerun_changed, setup_),
      cmocka_unit_test_setup(test_malformed_day, setup_),
      cmocka_unit_test_setup(test_one_day_changed, setup_),
      cmocka_unit_test_setup(test_429_and_500_retried, setup_),
      cmocka_unit_test_setup(test_slow_and_refused, setup_),
      cmocka_unit_test_setup(test_concurrent_start, setup_),
      cmocka_unit_test_setup(test_killed_run, setup_),
      cmocka_unit_test_setup(test_shutdown_interrupts, setup_),
      cmocka_unit_test_setup(test_lost_lock, setup_),
      cmocka_unit_test_setup(test_rate_limit, setup_),
      cmocka_unit_test_setup(test_many_transfers, setup_),
  };
  return cmocka_run_group_tests_name("ingest", tests, itest_fake_group_setup,
                                     itest_fake_group_teardown);
}
