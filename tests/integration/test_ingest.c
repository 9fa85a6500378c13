/*
 * Integration tests of ingestion (server/ingest, server/store/store_ingest.c)
 * against a fresh PostgreSQL database per test and the fake TVMaze server
 * (tests/fake_tvmaze/fake_tvmaze.py, fixtures in fixtures/base|changed).
 * Waits poll the database for a state (bounded); nothing asserts durations
 * except that a client waited at least as long as Retry-After said.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>

#include "date.h"
#include "db.h"
#include "ingest_parse.h"
#include "ingest_runner.h"
#include "log.h"
#include "store_ingest.h"
#include "strbuf.h"
#include "testenv.h"

static pid_t fake_pid;
static char fake_url[64];
static char db_url[512];
static const char countries_[1][3] = {"US"};

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

static size_t sink_(char *p, size_t s, size_t n, void *u) {
  strbuf_append_n(u, p, s * n);
  return s * n;
}

/* POST body to the fake's path (or GET when body is NULL); returns the reply. */
static json_t *fake_call_(const char *path, const char *body) {
  char url[128];
  snprintf(url, sizeof url, "%s%s", fake_url, path);
  struct strbuf b;
  strbuf_init(&b);
  CURL *e = curl_easy_init();
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink_);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
  if (body != NULL) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  }
  assert_int_equal(curl_easy_perform(e), CURLE_OK);
  curl_easy_cleanup(e);
  json_t *j = json_loads(b.data, 0, NULL);
  assert_non_null(j);
  strbuf_release(&b);
  return j;
}

static void fake_control_(const char *body) {
  json_decref(fake_call_("/_control", body));
}

static struct ingest_fetch_config fetch_cfg_(void) {
  struct ingest_fetch_config c = {.api_url = fake_url,
                                  .countries = countries_,
                                  .n_countries = 1,
                                  .rate_requests = 20,
                                  .rate_window_ms = 10000,
                                  .max_retries = 8,
                                  .backoff_base_ms = 100,
                                  .backoff_max_ms = 800,
                                  .retry_after_max_s = 5,
                                  .timeout_ms = 1500,
                                  .connect_timeout_ms = 1000,
                                  .days_in_flight = 3};
  return c;
}

static PGconn *db_(void) {
  PGconn *c = PQconnectdb(db_url);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  return c;
}

/* First column of the first row of sql as a number. */
static long long q_(const char *sql) {
  PGconn *c = db_();
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    fail_msg("%s: %s", sql, PQerrorMessage(c));
  }
  long long v = PQgetisnull(r, 0, 0) ? -1 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  PQfinish(c);
  return v;
}

static char *qs_(const char *sql) {
  PGconn *c = db_();
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    fail_msg("%s: %s", sql, PQerrorMessage(c));
  }
  char *v = PQntuples(r) == 0 || PQgetisnull(r, 0, 0) ? NULL : strdup(PQgetvalue(r, 0, 0));
  PQclear(r);
  PQfinish(c);
  return v;
}

/* Runs a statement that returns no rows. */
static void x_(const char *sql) {
  PGconn *c = db_();
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    fail_msg("%s: %s", sql, PQerrorMessage(c));
  }
  PQclear(r);
  PQfinish(c);
}

/* Rows written to schedule tables since the stats began (ins + upd + del). */
static long long writes_(const char *table) {
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables "
           "WHERE relname = '%s'",
           table);
  return q_(sql);
}

static const char *const tables_[] = {"countries", "distributors", "genres",
                                      "shows",     "show_genres",  "episodes"};
#define N_TABLES (sizeof tables_ / sizeof tables_[0])

static void writes_all_(long long out[N_TABLES]) {
  for (size_t i = 0; i < N_TABLES; i++) {
    out[i] = writes_(tables_[i]);
  }
}

/* Runs an ingest of 2030-01-01 + days synchronously on a new session; makes
 * its table statistics visible before returning. Returns the run id. */
/* A new session that began a run of 2030-01-01 + days; *id gets the run. */
static struct store *begin_(int days, long long *id) {
  struct store *s = store_open(db_url);
  int started = 0;
  assert_int_equal(ingest_run_begin(s, date_from_civil(2030, 1, 1), days, "test", 0, id, &started),
                   STORE_OK);
  assert_true(started);
  return s;
}

static long long run_sync_(int days, struct store_ingest_run *out) {
  long long id = 0;
  struct store *s = begin_(days, &id);
  struct ingest_fetch_config fc = fetch_cfg_();
  (void)ingest_run_execute(s, &fc, id, date_from_civil(2030, 1, 1), days, NULL);
  PQclear(PQexec(store_conn(s), "SELECT pg_stat_force_next_flush()"));
  PQclear(PQexec(store_conn(s), "SELECT 1"));
  assert_int_equal(store_ingest_run_get(s, id, out), STORE_OK);
  store_close(s);
  return id;
}

static int run_status_(long long id) {
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT status FROM ingest_runs WHERE id = %lld", id);
  return (int)q_(sql);
}

/* Polls until sql yields at least want (bounded: 60 s). */
static void wait_for_(const char *sql, long long want) {
  for (int i = 0; i < 600; i++) {
    if (q_(sql) >= want) {
      return;
    }
    usleep(100 * 1000);
  }
  fail_msg("timed out waiting for %s >= %lld", sql, want);
}

/* ------------------------------------------------------------------ */
/* Fixtures                                                           */
/* ------------------------------------------------------------------ */

static int group_setup_(void **state) {
  (void)state;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  log_init(LOG_ERROR, LOG_FORMAT_TEXT);
  char port_file[] = "/tmp/fake_tvmaze_portXXXXXX";
  int fd = mkstemp(port_file);
  assert_true(fd >= 0);
  close(fd);
  unlink(port_file);
  fake_pid = fork();
  assert_true(fake_pid >= 0);
  if (fake_pid == 0) {
    char script[1024], fixtures[1024];
    snprintf(script, sizeof script, "%s", testenv_source_path("tests/fake_tvmaze/fake_tvmaze.py"));
    snprintf(fixtures, sizeof fixtures, "%s", testenv_source_path("tests/fake_tvmaze/fixtures"));
    execlp("python3", "python3", script, "--fixtures", fixtures, "--port-file", port_file,
           (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 200; i++) {
    FILE *f = fopen(port_file, "r");
    int port = 0;
    if (f != NULL) {
      if (fscanf(f, "%d", &port) == 1) {
        snprintf(fake_url, sizeof fake_url, "http://127.0.0.1:%d", port);
      }
      fclose(f);
      unlink(port_file);
      return 0;
    }
    usleep(50 * 1000);
  }
  return -1;
}

static int group_teardown_(void **state) {
  (void)state;
  if (fake_pid > 0) {
    kill(fake_pid, SIGTERM);
    waitpid(fake_pid, NULL, 0);
  }
  return 0;
}

static int setup_(void **state) {
  (void)state;
  snprintf(db_url, sizeof db_url, "%s", testenv_fresh_database("tvmaze_test_ingest"));
  struct store *s = store_open(db_url);
  int applied = 0;
  assert_int_equal(store_migrate(s, &applied), STORE_OK);
  store_close(s);
  json_decref(fake_call_("/_reset", "{}"));
  return 0;
}

/* ------------------------------------------------------------------ */
/* Tests                                                              */
/* ------------------------------------------------------------------ */

/* Full run, identical re-run, changed fixtures. */
static void test_full_rerun_changed(void **state) {
  (void)state;
  struct store_ingest_run run;
  run_sync_(3, &run);
  assert_int_equal(run.status, STORE_RUN_SUCCEEDED);
  assert_int_equal(run.days_done, 3);
  assert_int_equal(run.episodes_seen, 8);
  assert_int_equal(run.episodes_created, 8);
  assert_int_equal(run.episodes_updated, 0);
  assert_int_equal(run.shows_created, 5);
  assert_int_equal(run.shows_updated, 0);
  assert_int_equal(run.shows_unchanged, 3); /* 501 once and 601 twice again, later days */
  assert_int_equal(run.requests, 6);
  assert_int_equal(run.n_day_results, 3);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(run.day_results[i].status, STORE_DAY_SUCCEEDED);
    assert_false(run.day_results[i].skipped);
  }
  store_ingest_run_release(&run);
  /* the raw body hash of each (date, source), with the day's counts */
  assert_int_equal(q_("SELECT count(*) FROM ingest_source_hashes WHERE length(hash) = 32"), 6);
  assert_int_equal(q_("SELECT count(DISTINCT hash) FROM ingest_source_hashes"), 6);
  assert_int_equal(q_("SELECT sum(day_episodes) FROM ingest_source_hashes WHERE source = 'web'"),
                   8);
  assert_int_equal(q_("SELECT count(*) FROM ingest_source_hashes WHERE source = 'US'"), 3);
  assert_int_equal(q_("SELECT items FROM ingest_source_hashes WHERE date = '2030-01-03' "
                      "AND source = 'web'"),
                   0);

  assert_int_equal(q_("SELECT count(*) FROM episodes"), 8);
  assert_int_equal(q_("SELECT count(*) FROM shows"), 5);
  /* network 1 (NBC) and web channel 1 (Netflix) stay two distributors */
  assert_int_equal(q_("SELECT count(*) FROM distributors WHERE tvmaze_id = 1"), 2);
  assert_int_equal(q_("SELECT count(*) FROM distributors"), 4);
  assert_int_equal(q_("SELECT count(*) FROM shows s JOIN distributors d ON d.id = "
                      "s.distributor_id WHERE s.id = 501 AND d.kind = 2 AND d.name = 'Netflix' "
                      "AND d.country_code IS NULL"),
                   1);
  assert_int_equal(q_("SELECT count(*) FROM shows WHERE id = 602 AND distributor_id IS NULL"), 1);
  /* episodes.country_code (migrations 004, 007): the ingest supplies the
   * show's distributor country; NULL for a global channel or none */
  assert_int_equal(q_("SELECT count(*) FROM episodes e JOIN shows s ON s.id = e.show_id "
                      "LEFT JOIN distributors d ON d.id = s.distributor_id "
                      "WHERE e.country_code IS DISTINCT FROM d.country_code"),
                   0);
  assert_true(q_("SELECT count(*) FROM episodes WHERE country_code = 'US'") > 0);
  assert_true(q_("SELECT count(*) FROM episodes WHERE country_code IS NULL") > 0);
  assert_int_equal(q_("SELECT count(*) FROM countries"), 2);
  assert_int_equal(q_("SELECT count(*) FROM show_genres WHERE show_id = 501"), 2);
  assert_int_equal(q_("SELECT count(*) FROM genres"), 5);
  char *summary = qs_("SELECT summary FROM shows WHERE id = 501");
  assert_string_equal(summary,
                      "Stranger Things & friends' adventure. Second line "
                      "\xf0\x9f\x91\xbe \"quoted\" \xc3\xa9t\xc3\xa9");
  free(summary);
  char *name = qs_("SELECT name FROM shows WHERE id = 502");
  assert_string_equal(name, "Doctor Who: \xe6\x99\x82\xe7\xa9\xba \xf0\x9f\x9a\x80");
  free(name);
  assert_int_equal(q_("SELECT count(*) FROM shows WHERE summary ~ '</?(p|b|i|em|br)\\M|&[a-z#]'"),
                   0);
  char *crime = qs_("SELECT summary FROM shows WHERE id = 603");
  assert_string_equal(crime, "Crime <drama>");
  free(crime);
  assert_int_equal(q_("SELECT count(*) FROM episodes WHERE id = 1001 AND number IS NULL AND "
                      "airtime = '' AND airstamp = '2030-01-01T08:00:00Z'"),
                   1);
  assert_int_equal(q_("SELECT rating * 10 FROM shows WHERE id = 601"), 75);
  long long gen1 = q_("SELECT generation FROM data_generation");
  assert_true(gen1 > 1);
  /* polite client: the User-Agent names the service */
  json_t *stats = fake_call_("/_stats", NULL);
  const char *ua =
      json_string_value(json_object_get(json_array_get(json_object_get(stats, "log"), 0), "ua"));
  assert_non_null(ua);
  assert_memory_equal(ua, "tvmaze-ingest/", 14);
  json_decref(stats);

  /* identical re-run: nothing created or updated, no table written */
  long long before[N_TABLES], after[N_TABLES];
  writes_all_(before);
  assert_true(before[5] >= 8);
  run_sync_(3, &run);
  assert_int_equal(run.status, STORE_RUN_SUCCEEDED);
  assert_int_equal(run.episodes_created + run.episodes_updated, 0);
  assert_int_equal(run.episodes_unchanged, 8);
  assert_int_equal(run.shows_created + run.shows_updated, 0);
  assert_int_equal(run.episodes_seen, 8);
  assert_int_equal(run.shows_unchanged, 8); /* 5 shows, 3 of them again on later days */
  assert_int_equal(run.requests, 6);
  /* every day skipped as identical: bodies hashed, not parsed */
  assert_int_equal(run.n_day_results, 3);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(run.day_results[i].status, STORE_DAY_SUCCEEDED);
    assert_true(run.day_results[i].skipped);
  }
  store_ingest_run_release(&run);
  writes_all_(after);
  for (size_t i = 0; i < N_TABLES; i++) {
    if (after[i] != before[i]) {
      fail_msg("%s: %lld rows written by an identical re-run", tables_[i], after[i] - before[i]);
    }
  }
  assert_int_equal(q_("SELECT generation FROM data_generation"), gen1);

  /* changed fixtures: exactly episode 1001 and show 601 are updated */
  fake_control_("{\"set\": \"changed\"}");
  run_sync_(3, &run);
  assert_int_equal(run.status, STORE_RUN_SUCCEEDED);
  assert_int_equal(run.episodes_updated, 1);
  assert_int_equal(run.episodes_created, 0);
  assert_int_equal(run.shows_updated, 1);
  assert_int_equal(run.shows_created, 0);
  for (size_t i = 0; i < 3; i++) {
    assert_false(run.day_results[i].skipped); /* every day has a changed body */
  }
  store_ingest_run_release(&run);
  long long changed[N_TABLES];
  writes_all_(changed);
  for (size_t i = 0; i < N_TABLES; i++) {
    long long want = strcmp(tables_[i], "shows") == 0 || strcmp(tables_[i], "episodes") == 0;
    if (changed[i] - after[i] != want) {
      fail_msg("%s: %lld rows written, want %lld", tables_[i], changed[i] - after[i], want);
    }
  }
  assert_int_equal(q_("SELECT rating * 10 FROM shows WHERE id = 601"), 80);
  char *ep = qs_("SELECT name FROM episodes WHERE id = 1001");
  assert_string_equal(ep, "The Upside Down (changed)");
  free(ep);
  assert_true(q_("SELECT generation FROM data_generation") > gen1);
  assert_int_equal(q_("SELECT count(*) FROM ingest_runs WHERE status = 2"), 3);
}

static void test_malformed_day(void **state) {
  (void)state;
  fake_control_(
      "{\"faults\": [{\"match\": \"web?date=2030-01-02\", \"times\": -1, "
      "\"body\": \"[{\\\"id\\\": 1003, \\\"name\\\": \"}]}");
  struct store_ingest_run run;
  run_sync_(3, &run);
  assert_int_equal(run.status, STORE_RUN_PARTIAL);
  assert_int_equal(run.days_done, 3);
  assert_int_equal(run.day_results[0].status, STORE_DAY_SUCCEEDED);
  assert_int_equal(run.day_results[1].status, STORE_DAY_FAILED);
  assert_string_equal(run.day_results[1].date, "2030-01-02");
  assert_non_null(run.day_results[1].error);
  assert_non_null(strstr(run.day_results[1].error, "2030-01-02"));
  assert_non_null(strstr(run.day_results[1].error, "malformed JSON"));
  assert_int_equal(run.day_results[2].status, STORE_DAY_SUCCEEDED);
  store_ingest_run_release(&run);
  /* nothing of day 2 (its network schedule was fine) */
  assert_int_equal(q_("SELECT count(*) FROM episodes WHERE airdate = '2030-01-02'"), 0);
  assert_int_equal(q_("SELECT count(*) FROM shows WHERE id = 603"), 0);
  assert_int_equal(q_("SELECT count(*) FROM distributors WHERE kind = 1 AND tvmaze_id = 2"), 0);
  assert_int_equal(q_("SELECT count(*) FROM episodes WHERE airdate = '2030-01-01'"), 4);
  assert_int_equal(q_("SELECT count(*) FROM episodes WHERE airdate = '2030-01-03'"), 1);
  /* the failed day recorded no hash: the next run parses it fully */
  assert_int_equal(q_("SELECT count(*) FROM ingest_source_hashes WHERE date = '2030-01-02'"), 0);
  assert_int_equal(q_("SELECT count(*) FROM ingest_source_hashes"), 4);
  json_decref(fake_call_("/_reset", "{}")); /* faults cleared */
  run_sync_(3, &run);
  assert_int_equal(run.status, STORE_RUN_SUCCEEDED);
  assert_true(run.day_results[0].skipped);
  assert_false(run.day_results[1].skipped);
  assert_true(run.day_results[2].skipped);
  assert_true(run.episodes_created > 0);
  store_ingest_run_release(&run);
  assert_int_equal(q_("SELECT count(*) FROM shows WHERE id = 603"), 1);
  assert_int_equal(q_("SELECT count(*) FROM ingest_source_hashes"), 6);
}

/* A changed body on one day: only that day is parsed, and exactly the
 * changed row is written; the others are skipped as identical. */
static void test_one_day_changed(void **state) {
  (void)state;
  struct store_ingest_run run;
  run_sync_(3, &run);
  assert_int_equal(run.status, STORE_RUN_SUCCEEDED);
  store_ingest_run_release(&run);
  char *old_hash =
      qs_("SELECT encode(hash, 'hex') FROM ingest_source_hashes "
          "WHERE date = '2030-01-03' AND source = 'US'");
  char *web_hash =
      qs_("SELECT encode(hash, 'hex') FROM ingest_source_hashes "
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
  fake_control_(ctls);
  free(ctls);
  json_decref(ctl);

  long long before[N_TABLES], after[N_TABLES];
  writes_all_(before);
  run_sync_(3, &run);
  assert_int_equal(run.status, STORE_RUN_SUCCEEDED);
  assert_true(run.day_results[0].skipped);
  assert_true(run.day_results[1].skipped);
  assert_false(run.day_results[2].skipped);
  assert_int_equal(run.episodes_seen, 8);
  assert_int_equal(run.episodes_updated, 1);
  assert_int_equal(run.episodes_created, 0);
  assert_int_equal(run.episodes_unchanged, 7);
  assert_int_equal(run.shows_created + run.shows_updated, 0);
  store_ingest_run_release(&run);
  writes_all_(after);
  for (size_t i = 0; i < N_TABLES; i++) {
    long long want = strcmp(tables_[i], "episodes") == 0;
    if (after[i] - before[i] != want) {
      fail_msg("%s: %lld rows written, want %lld", tables_[i], after[i] - before[i], want);
    }
  }
  char *ep = qs_("SELECT name FROM episodes WHERE id = 2005");
  assert_string_equal(ep, "Wednesday Edition (changed)");
  free(ep);
  /* that day's hashes follow the new body; the unchanged source's stays */
  char *new_hash =
      qs_("SELECT encode(hash, 'hex') FROM ingest_source_hashes "
          "WHERE date = '2030-01-03' AND source = 'US'");
  char *web_now =
      qs_("SELECT encode(hash, 'hex') FROM ingest_source_hashes "
          "WHERE date = '2030-01-03' AND source = 'web'");
  assert_string_not_equal(new_hash, old_hash);
  assert_string_equal(web_now, web_hash);
  free(new_hash);
  free(web_now);
  free(old_hash);
  free(web_hash);

  /* and the next identical run skips all three days */
  run_sync_(3, &run);
  for (size_t i = 0; i < 3; i++) {
    assert_true(run.day_results[i].skipped);
  }
  assert_int_equal(run.episodes_unchanged, 8);
  store_ingest_run_release(&run);
}

/* Parses doc into *b and writes it as a day of run id with memo. */
static enum store_status memo_day_(struct store *s, long long id, struct store_ingest_memo *memo,
                                   const char *doc, int corrupt, struct store_ingest_counts *c) {
  struct row_batch b;
  row_batch_init(&b);
  char err[256];
  assert_int_equal(ingest_parse_schedule(&b, NULL, doc, strlen(doc), err, sizeof err),
                   INGEST_PARSE_OK);
  static char bad_date[] = "not a date";
  if (corrupt) { /* a value the database refuses, after the shows statement ran */
    b.episodes[0].airdate = bad_date;
  }
  memset(c, 0, sizeof *c);
  enum store_status st = store_ingest_write_day(s, id, "2030-01-01", &b, NULL, 0, memo, c);
  row_batch_release(&b);
  return st;
}

/* The run memo (store_ingest_memo): a show committed earlier in the run is
 * left out of a later day's statements when identical; a day that failed
 * records nothing, so a later day with its content writes it. */
static void test_run_memo(void **state) {
  (void)state;
  long long id = 0;
  struct store *s = begin_(1, &id);
  struct store_ingest_memo *memo = store_ingest_memo_create();
  struct store_ingest_counts c;
  /* counts the statements sent to shows (a statement trigger fires also when
   * no row is inserted or updated) */
  x_("CREATE TABLE test_show_statements (n int)");
  x_("CREATE FUNCTION test_show_statement() RETURNS trigger LANGUAGE plpgsql AS "
     "$$ BEGIN INSERT INTO test_show_statements VALUES (1); RETURN NULL; END $$");
  x_("CREATE TRIGGER test_show_statement AFTER INSERT ON shows FOR EACH STATEMENT "
     "EXECUTE FUNCTION test_show_statement()");
#define DOC_(ep, show)                                                        \
  "[{\"id\": " ep                                                             \
  ", \"name\": \"e\", \"airdate\": \"2030-01-01\", \"show\": {\"id\": 7001, " \
  "\"name\": \"" show                                                         \
  "\", \"genres\": [\"Drama\"], \"network\": {\"id\": 9, \"name\": \"N\", "   \
  "\"country\": {\"code\": \"US\", \"name\": \"United States\"}}}}]"
  assert_int_equal(memo_day_(s, id, memo, DOC_("9001", "A"), 0, &c), STORE_OK);
  assert_int_equal(c.shows_created, 1);
  assert_int_equal(q_("SELECT count(*) FROM test_show_statements"), 1);
  /* identical show: left out, no shows statement at all */
  assert_int_equal(memo_day_(s, id, memo, DOC_("9002", "A"), 0, &c), STORE_OK);
  assert_int_equal(c.shows_unchanged, 1);
  assert_int_equal(c.episodes_created, 1);
  assert_int_equal(q_("SELECT count(*) FROM test_show_statements"), 1);
  assert_int_equal(q_("SELECT count(*) FROM episodes WHERE id = 9002 AND country_code = 'US'"), 1);
  /* show renamed B on a day that fails: rolled back, not recorded */
  assert_int_not_equal(memo_day_(s, id, memo, DOC_("9003", "B"), 1, &c), STORE_OK);
  char *name = qs_("SELECT name FROM shows WHERE id = 7001");
  assert_string_equal(name, "A");
  free(name);
  /* B again on a good day: written */
  assert_int_equal(memo_day_(s, id, memo, DOC_("9003", "B"), 0, &c), STORE_OK);
  assert_int_equal(c.shows_updated, 1);
  name = qs_("SELECT name FROM shows WHERE id = 7001");
  assert_string_equal(name, "B");
  free(name);
  /* and A after B: written back (the memo holds B now) */
  assert_int_equal(memo_day_(s, id, memo, DOC_("9004", "A"), 0, &c), STORE_OK);
  assert_int_equal(c.shows_updated, 1);
#undef DOC_
  store_ingest_memo_destroy(memo);
  assert_int_equal(store_ingest_unlock(s), STORE_OK);
  store_close(s);
}

/* Every column the ingest writes of shows and episodes (not created_at /
 * updated_at), one JSON line per row by id; episode filter where. */
static char *dump_rows_(const char *where) {
  char sql[1024];
  snprintf(sql, sizeof sql,
           "SELECT (SELECT string_agg(row_to_json(x)::text, E'\\n' ORDER BY x.id) FROM "
           "(SELECT id, name, type, language, status, runtime, premiered, ended, official_site, "
           "rating, weight, summary, image_url, distributor_id, tvmaze_updated, "
           "(SELECT array_agg(g.name ORDER BY g.name) FROM show_genres sg JOIN genres g "
           "ON g.id = sg.genre_id WHERE sg.show_id = shows.id) AS genres FROM shows) x) "
           "|| E'\\n' || (SELECT string_agg(row_to_json(y)::text, E'\\n' ORDER BY y.id) FROM "
           "(SELECT id, show_id, name, season, number, type, airdate, airtime, airstamp, runtime, "
           "rating, summary, image_url, country_code FROM episodes WHERE %s) y)",
           where);
  return qs_(sql);
}

/* New rows are COPYed, stored ones upserted (store_ingest.c): both paths
 * write the same values, also for strings with every byte the COPY text
 * format escapes, and the COPYed episodes' country_code is the one the
 * upsert's join (and the triggers of migration 004) would give. */
/* From now on every row offered to table (by INSERT, upsert or COPY, also
 * in a transaction rolled back: nextval is not) counts in the sequence
 * test_rows_offered, shared by every table counted. */
static void count_rows_offered_(const char *table) {
  x_("CREATE SEQUENCE IF NOT EXISTS test_rows_offered");
  x_("CREATE OR REPLACE FUNCTION test_row_offered() RETURNS trigger LANGUAGE plpgsql AS "
     "$$ BEGIN PERFORM nextval('test_rows_offered'); RETURN NEW; END $$");
  char sql[256];
  snprintf(sql, sizeof sql,
           "CREATE TRIGGER test_row_offered BEFORE INSERT ON %s FOR EACH ROW "
           "EXECUTE FUNCTION test_row_offered()",
           table);
  x_(sql);
}

/* A preloaded run memo for a day of the test (NULL: the day probes). */
static struct store_ingest_memo *preloaded_(struct store *s, int preload) {
  if (!preload) {
    return NULL;
  }
  struct store_ingest_memo *m = store_ingest_memo_create();
  assert_int_equal(store_ingest_memo_preload(s, m, "2030-01-01", "2030-01-01"), STORE_OK);
  return m;
}

/* With preload, the stored rows are known from a preloaded memo (fresh
 * for each day, else its row hashes would leave the spoiled rows alone);
 * without, from each day's probe. */
static void copy_and_upsert_agree_(int preload) {
  long long id = 0;
  struct store_ingest_memo *memo = NULL;
  struct store *s = begin_(1, &id);
  struct store_ingest_counts c;
  /* JSON escapes: \\ backslash, \t tab, \n newline, \r carriage return; a
   * name that is COPY's NULL marker (\N) and its end marker (\.) as text */
#define SHOW_A_                                                                              \
  "{\"id\": 8101, \"name\": \"Tab\\there\\\\N\", \"type\": \"Scripted\\r\\n\", "             \
  "\"language\": \"\\\\.\", \"status\": \"Running\", \"runtime\": 30, "                      \
  "\"premiered\": \"2029-02-03\", \"ended\": null, \"officialSite\": \"http://a/\\\\b\", "   \
  "\"rating\": {\"average\": 7.25}, \"weight\": 88, \"summary\": \"<p>Caf\\u00e9 &amp; "     \
  "\\u6f22\\u5b57 \\ud83d\\ude00</p>\", \"updated\": 1700000000, "                           \
  "\"image\": {\"medium\": \"http://i/\\\\\\t\"}, \"genres\": [\"Drama\", \"Tab\\tGenre\", " \
  "\"Drama\"], "                                                                             \
  "\"network\": {\"id\": 31, \"name\": \"Net\\\\work\", \"country\": {\"code\": \"GB\", "    \
  "\"name\": \"United Kingdom\", \"timezone\": \"Europe/London\"}}}"
#define SHOW_B_                                                           \
  "{\"id\": 8102, \"name\": \"Global\", \"updated\": 1, \"genres\": [], " \
  "\"webChannel\": {\"id\": 31, \"name\": \"Streamer\", \"country\": null}}"
#define SHOW_C_ "{\"id\": 8103, \"name\": \"Nowhere\", \"updated\": null}"
#define EP_(ep, name, show)                                                                       \
  "{\"id\": " ep ", \"name\": \"" name                                                            \
  "\", \"season\": 1, \"number\": 2, \"type\": "                                                  \
  "\"regular\", \"airdate\": \"2030-01-01\", \"airtime\": \"\", \"airstamp\": "                   \
  "\"2030-01-01T12:00:00+00:00\", \"runtime\": 45, \"rating\": {\"average\": 9.9}, "              \
  "\"summary\": \"<b>line\\r\\nbreak</b>\", \"image\": {\"medium\": \"x\\\\y\"}, \"show\": " show \
  "}"
#define DAY_                                 \
  EP_("9101", "a\\\\b\\tc\\nd\\re", SHOW_A_) \
  ", " EP_("9102", "", SHOW_B_) ", " EP_("9103", "\\\\N", SHOW_C_)
  memo = preloaded_(s, preload);
  assert_int_equal(memo_day_(s, id, memo, "[" DAY_ "]", 0, &c), STORE_OK);
  store_ingest_memo_destroy(memo);
  assert_int_equal(c.shows_created, 3);
  assert_int_equal(c.episodes_created, 3);
  char *copied = dump_rows_("true");
  assert_non_null(copied);
  char *name = qs_("SELECT name FROM episodes WHERE id = 9101");
  assert_string_equal(name, "a\\b\tc\nd\re");
  free(name);
  name = qs_("SELECT name || '|' || type || '|' || language FROM shows WHERE id = 8101");
  assert_string_equal(name, "Tab\there\\N|Scripted\r\n|\\.");
  free(name);
  assert_int_equal(q_("SELECT count(*) FROM episodes WHERE id = 9102 AND name = ''"), 1);
  /* a genre listed twice is one pair (the parser drops the repeat) */
  assert_int_equal(q_("SELECT count(*) FROM show_genres WHERE show_id = 8101"), 2);
  assert_int_equal(q_("SELECT count(*) FROM episodes WHERE airtime = ''"), 3);
  assert_int_equal(q_("SELECT count(*) FROM shows WHERE id = 8102 AND tvmaze_updated = "
                      "to_timestamp(1)"),
                   1);
  assert_int_equal(q_("SELECT count(*) FROM shows WHERE id = 8101 AND tvmaze_updated = "
                      "to_timestamp(1700000000)"),
                   1);
  /* country_code: as the join finds it (GB; NULL for the global channel and
   * for the show without a distributor) */
  const char *country_ok =
      "SELECT count(*) FROM episodes e JOIN shows s ON s.id = e.show_id "
      "LEFT JOIN distributors d ON d.id = s.distributor_id "
      "WHERE e.country_code IS NOT DISTINCT FROM d.country_code";
  assert_int_equal(q_(country_ok), 3);
  assert_int_equal(q_("SELECT count(*) FROM episodes WHERE country_code = 'GB'"), 1);

  /* every written column spoiled, then the same rows again plus a new
   * episode: the stored ones take the upsert (their UPDATE), the new one
   * the COPY, in one day */
  x_("UPDATE shows SET name = 'junk', type = NULL, language = NULL, status = NULL, "
     "runtime = NULL, premiered = NULL, ended = NULL, official_site = NULL, rating = NULL, "
     "weight = NULL, summary = NULL, image_url = NULL, distributor_id = NULL, "
     "tvmaze_updated = NULL");
  x_("UPDATE episodes SET name = 'junk', season = NULL, number = NULL, type = NULL, "
     "airdate = airdate + 1, airtime = NULL, airstamp = NULL, runtime = NULL, rating = NULL, "
     "summary = NULL, image_url = NULL");
  x_("DELETE FROM show_genres");
  /* a stored row taken for new would fail the COPY and make the day
   * retry: more rows offered */
  count_rows_offered_("episodes");
  count_rows_offered_("shows");
  memo = preloaded_(s, preload);
  assert_int_equal(memo_day_(s, id, memo, "[" DAY_ ", " EP_("9104", "new", SHOW_A_) "]", 0, &c),
                   STORE_OK);
  store_ingest_memo_destroy(memo);
  assert_int_equal(c.shows_updated, 3);
  assert_int_equal(c.episodes_updated, 3);
  assert_int_equal(c.episodes_created, 1);
  /* 3 shows and 4 episodes offered: no COPY failed, no retry */
  assert_int_equal(q_("SELECT last_value FROM test_rows_offered"), 7);
  char *upserted = dump_rows_("id <> 9104");
  assert_non_null(upserted);
  assert_string_equal(upserted, copied);
  assert_int_equal(q_(country_ok), 4);
  free(copied);
  free(upserted);
#undef DAY_
#undef EP_
#undef SHOW_C_
#undef SHOW_B_
#undef SHOW_A_
  assert_int_equal(store_ingest_unlock(s), STORE_OK);
  store_close(s);
}

static void test_copy_and_upsert_agree(void **state) {
  (void)state;
  copy_and_upsert_agree_(0);
}

static void test_copy_and_upsert_agree_preloaded(void **state) {
  (void)state;
  copy_and_upsert_agree_(1);
}

/* A row taken for new that is stored by the time of the day's COPY (here
 * added inside the day's transaction, before the episodes' COPY): the COPY
 * fails on the key, the day is rolled back whole (the added row too) and
 * written again with upserts only. */
static void test_copy_conflict_retried(void **state) {
  (void)state;
  long long id = 0;
  struct store *s = begin_(1, &id);
  struct store_ingest_counts c;
  x_("CREATE SEQUENCE test_show_inserts"); /* nextval is not rolled back */
  x_("CREATE FUNCTION test_sneak() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
     "PERFORM nextval('test_show_inserts'); "
     "INSERT INTO episodes (id, show_id, name) VALUES (9301, NEW.id, 'sneaked'); "
     "RETURN NULL; END $$");
  x_("CREATE TRIGGER test_sneak AFTER INSERT ON shows FOR EACH ROW "
     "EXECUTE FUNCTION test_sneak()");
  const char *doc =
      "[{\"id\": 9301, \"name\": \"e\", \"airdate\": \"2030-01-01\", "
      "\"show\": {\"id\": 8301, \"name\": \"S\"}}]";
  assert_int_equal(memo_day_(s, id, NULL, doc, 0, &c), STORE_OK);
  /* two attempts; the second one's upsert updated the row its own show
   * insert added */
  assert_int_equal(q_("SELECT last_value FROM test_show_inserts"), 2);
  assert_int_equal(c.shows_created, 1);
  assert_int_equal(c.episodes_created, 0);
  assert_int_equal(c.episodes_updated, 1);
  assert_int_equal(q_("SELECT count(*) FROM episodes"), 1);
  assert_int_equal(q_("SELECT count(*) FROM episodes WHERE id = 9301 AND name = 'e'"), 1);
  assert_int_equal(q_("SELECT days_done FROM ingest_runs WHERE id = "
                      "(SELECT max(id) FROM ingest_runs)"),
                   1);
  assert_int_equal(store_ingest_unlock(s), STORE_OK);
  store_close(s);
}

/* A preloaded run memo (store_ingest_memo_preload) knows the episodes
 * airing within a month of the run's window: one stored with an airdate
 * further off is taken for new, its COPY fails on the key, and the day is
 * written again with upserts. One within the window is upserted at once. */
static void test_preload_window(void **state) {
  (void)state;
  long long id = 0;
  struct store *s = begin_(1, &id);
  struct store_ingest_counts c;
  const char *far =
      "[{\"id\": 9401, \"name\": \"far\", \"airdate\": \"2029-01-01\", "
      "\"show\": {\"id\": 8401, \"name\": \"S\"}}, "
      "{\"id\": 9402, \"name\": \"near\", \"airdate\": \"2029-12-20\", "
      "\"show\": {\"id\": 8401, \"name\": \"S\"}}]";
  assert_int_equal(memo_day_(s, id, NULL, far, 0, &c), STORE_OK);
  assert_int_equal(c.episodes_created, 2);
  count_rows_offered_("episodes");
  struct store_ingest_memo *memo = store_ingest_memo_create();
  assert_int_equal(store_ingest_memo_preload(s, memo, "2030-01-01", "2030-01-01"), STORE_OK);
  /* both moved to 2030-01-01: 9402 (stored 12 days before) is known, 9401
   * (a year before) is not */
  const char *moved =
      "[{\"id\": 9401, \"name\": \"far\", \"airdate\": \"2030-01-01\", "
      "\"show\": {\"id\": 8401, \"name\": \"S\"}}, "
      "{\"id\": 9402, \"name\": \"near\", \"airdate\": \"2030-01-01\", "
      "\"show\": {\"id\": 8401, \"name\": \"S\"}}]";
  assert_int_equal(memo_day_(s, id, memo, moved, 0, &c), STORE_OK);
  assert_int_equal(c.episodes_created, 0);
  assert_int_equal(c.episodes_updated, 2);
  /* first attempt: the COPY of 9401 alone (failed on the key); then the
   * upsert of both */
  assert_int_equal(q_("SELECT last_value FROM test_rows_offered"), 3);
  assert_int_equal(q_("SELECT count(*) FROM episodes WHERE airdate = '2030-01-01'"), 2);
  /* and the memo learned them: the same day again is one upsert */
  assert_int_equal(memo_day_(s, id, memo, moved, 0, &c), STORE_OK);
  assert_int_equal(c.episodes_unchanged, 2);
  assert_int_equal(q_("SELECT last_value FROM test_rows_offered"), 5);
  store_ingest_memo_destroy(memo);
  assert_int_equal(store_ingest_unlock(s), STORE_OK);
  store_close(s);
}

/* The session ends in the middle of a day's COPY (its backend terminated
 * by a row of it): the day fails as unavailable, leaves no row, and the
 * same store writes it on a new connection afterwards. */
static void test_copy_connection_lost(void **state) {
  (void)state;
  long long id = 0;
  struct store *s = begin_(1, &id);
  struct store_ingest_counts c;
  x_("CREATE FUNCTION test_die() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
     "IF NEW.id = 9502 THEN PERFORM pg_terminate_backend(pg_backend_pid()); "
     "PERFORM pg_sleep(5); END IF; RETURN NEW; END $$");
  x_("CREATE TRIGGER test_die BEFORE INSERT ON episodes FOR EACH ROW "
     "EXECUTE FUNCTION test_die()");
  const char *doc =
      "[{\"id\": 9501, \"name\": \"a\", \"airdate\": \"2030-01-01\", "
      "\"show\": {\"id\": 8501, \"name\": \"S\"}}, "
      "{\"id\": 9502, \"name\": \"b\", \"airdate\": \"2030-01-01\", "
      "\"show\": {\"id\": 8501, \"name\": \"S\"}}]";
  assert_int_equal(memo_day_(s, id, NULL, doc, 0, &c), STORE_UNAVAILABLE);
  assert_int_equal(q_("SELECT count(*) FROM shows"), 0);
  assert_int_equal(q_("SELECT count(*) FROM episodes"), 0);
  x_("DROP TRIGGER test_die ON episodes");
  usleep(600 * 1000); /* past the store's reconnect spacing (500 ms) */
  assert_int_equal(memo_day_(s, id, NULL, doc, 0, &c), STORE_OK);
  assert_int_equal(c.episodes_created, 2);
  store_close(s);
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
  fake_control_(
      "{\"faults\": [{\"match\": \"/schedule/web?date=2030-01-01\", \"status\": 429, "
      "\"retry_after\": 1, \"times\": 1}, {\"match\": \"country=US&date=2030-01-02\", "
      "\"status\": 500, \"times\": 1}, {\"match\": \"country=US&date=2030-01-03\", "
      "\"status\": 503, \"times\": 2}]}");
  struct store_ingest_run run;
  run_sync_(3, &run);
  assert_int_equal(run.status, STORE_RUN_SUCCEEDED);
  assert_int_equal(run.retries, 4);
  assert_int_equal(run.requests, 10);
  store_ingest_run_release(&run);
  assert_int_equal(q_("SELECT count(*) FROM episodes"), 8);
  json_t *stats = fake_call_("/_stats", NULL);
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
  fake_control_(
      "{\"faults\": [{\"match\": \"web?date=2030-01-03\", \"delay\": 3, "
      "\"times\": 1}]}");
  fake_control_("{\"refuse_for\": 1.0}");
  usleep(700 * 1000); /* let the listener close */
  struct store_ingest_run run;
  run_sync_(3, &run);
  assert_int_equal(run.status, STORE_RUN_SUCCEEDED);
  assert_true(run.retries >= 2);
  store_ingest_run_release(&run);
  assert_int_equal(q_("SELECT count(*) FROM episodes"), 8);
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

static struct ingest_runner *runner_(const char *owner) {
  struct ingest_runner_config rc = {.database_url = db_url,
                                    .fetch = fetch_cfg_(),
                                    .at_minute = -1,
                                    .default_days = 3,
                                    .owner = owner};
  return ingest_runner_create(&rc);
}

/* Two replicas, two callers each, at once: one run. */
static void test_concurrent_start(void **state) {
  (void)state;
  fake_control_("{\"faults\": [{\"match\": \"/schedule\", \"delay\": 0.3, \"times\": -1}]}");
  struct ingest_runner *a = runner_("replica-a");
  struct ingest_runner *b = runner_("replica-b");
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
  assert_int_equal(q_("SELECT count(*) FROM ingest_runs"), 1);
  wait_for_("SELECT count(*) FROM ingest_runs WHERE status <> 1", 1);
  assert_int_equal(run_status_(st[0].run_id), STORE_RUN_SUCCEEDED);
  ingest_runner_destroy(a);
  ingest_runner_destroy(b);
  assert_int_equal(q_("SELECT count(*) FROM ingest_runs"), 1);
  assert_int_equal(q_("SELECT count(*) FROM episodes"), 8);
}

/* A process killed mid-run: whole days only, and FAILED after restart. */
static void test_killed_run(void **state) {
  (void)state;
  fake_control_("{\"faults\": [{\"match\": \"/schedule\", \"delay\": 0.4, \"times\": -1}]}");
  fflush(NULL);
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    struct store *s = store_open(db_url);
    long long id = 0;
    int started = 0;
    if (ingest_run_begin(s, date_from_civil(2030, 1, 1), 3, "child", 0, &id, &started) !=
            STORE_OK ||
        !started) {
      _exit(3);
    }
    struct ingest_fetch_config fc = fetch_cfg_();
    fc.days_in_flight = 1;
    (void)ingest_run_execute(s, &fc, id, date_from_civil(2030, 1, 1), 3, NULL);
    _exit(0);
  }
  wait_for_("SELECT coalesce(max(days_done), 0) FROM ingest_runs", 1);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  assert_true(WIFSIGNALED(status));
  long long id = q_("SELECT max(id) FROM ingest_runs");
  int done = (int)q_("SELECT days_done FROM ingest_runs");
  if (done >= 3) {
    fail_msg("the run finished before it was killed; slow the fake down");
  }
  assert_int_equal(run_status_(id), STORE_RUN_RUNNING);
  /* consistent: succeeded days have all their episodes, pending days none */
  assert_int_equal(q_("SELECT count(*) FROM ingest_run_days d JOIN episodes e ON e.airdate = "
                      "d.date WHERE d.status = 1"),
                   0);
  assert_int_equal(q_("SELECT count(*) FROM episodes WHERE airdate = '2030-01-01'"), 4);
  /* a restarted server fails the dead run */
  struct ingest_runner *r = runner_("restarted");
  wait_for_("SELECT count(*) FROM ingest_runs WHERE status = 4", 1);
  char *err = qs_("SELECT error FROM ingest_runs");
  assert_non_null(strstr(err, "interrupted"));
  free(err);
  /* and a new run can start and completes the data */
  long long run_id = 0;
  int started = 0;
  fake_control_("{}");
  json_decref(fake_call_("/_reset", "{}"));
  assert_int_equal(ingest_runner_start(r, date_from_civil(2030, 1, 1), 3, &run_id, &started),
                   STORE_OK);
  assert_true(started);
  assert_true(run_id > id);
  wait_for_("SELECT count(*) FROM ingest_runs WHERE status = 2", 1);
  ingest_runner_destroy(r);
  assert_int_equal(q_("SELECT count(*) FROM episodes"), 8);
}

/* Shutdown mid-run: the run becomes FAILED "interrupted", days stay whole. */
static void test_shutdown_interrupts(void **state) {
  (void)state;
  fake_control_("{\"faults\": [{\"match\": \"/schedule\", \"delay\": 0.5, \"times\": -1}]}");
  struct ingest_runner *r = runner_("shutdown");
  long long id = 0;
  int started = 0;
  assert_int_equal(ingest_runner_start(r, date_from_civil(2030, 1, 1), 3, &id, &started), STORE_OK);
  assert_true(started);
  assert_int_equal(run_status_(id), STORE_RUN_RUNNING);
  ingest_runner_destroy(r);
  assert_int_equal(run_status_(id), STORE_RUN_FAILED);
  char *err = qs_("SELECT error FROM ingest_runs");
  assert_non_null(strstr(err, "interrupted"));
  free(err);
  assert_int_equal(q_("SELECT count(*) FROM ingest_run_days d JOIN episodes e ON e.airdate = "
                      "d.date WHERE d.status = 1"),
                   0);
  /* the lock went with the runner: a new start works */
  struct store *s = store_open(db_url);
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
  struct ingest_fetch_config fc = fetch_cfg_();
  fc.days_in_flight = 1;
  lr->status = ingest_run_execute(lr->s, &fc, lr->id, date_from_civil(2030, 1, 1), 3, NULL);
  return NULL;
}

/* Terminates the backend that holds the run lock (the runner's session). */
static void kill_lock_holder_(void) {
  assert_int_equal(q_("SELECT count(*) FROM (SELECT pg_terminate_backend(pid, 60000) FROM "
                      "pg_locks WHERE locktype = 'advisory' AND granted AND classid = 0 AND "
                      "objid = 1953918313 AND objsubid = 1) t"),
                   1);
}

/* The runner's database session dies mid-run, taking the run lock with it
 * (store_exec reconnects silently). With the lock free, the run takes it
 * again and completes; with another session holding it (another replica),
 * the run stops FAILED and writes no further day. */
static void test_lost_lock(void **state) {
  (void)state;
  fake_control_("{\"faults\": [{\"match\": \"/schedule\", \"delay\": 0.4, \"times\": -1}]}");
  /* 1: the lock is free again: taken back, the run completes */
  struct lock_run_ a = {0};
  a.s = begin_(3, &a.id);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, lock_run_main_, &a), 0);
  wait_for_("SELECT coalesce(max(days_done), 0) FROM ingest_runs", 1);
  kill_lock_holder_();
  pthread_join(th, NULL);
  store_close(a.s);
  assert_int_equal(a.status, STORE_RUN_SUCCEEDED);
  assert_int_equal(run_status_(a.id), STORE_RUN_SUCCEEDED);
  assert_int_equal(q_("SELECT count(*) FROM episodes"), 8);

  /* 2: another session takes the lock first: the run stops */
  struct lock_run_ b = {0};
  b.s = begin_(3, &b.id);
  assert_int_equal(pthread_create(&th, NULL, lock_run_main_, &b), 0);
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT days_done FROM ingest_runs WHERE id = %lld", b.id);
  wait_for_(sql, 1);
  kill_lock_holder_();
  PGconn *other = db_();
  PGresult *r = PQexec(other, "SELECT pg_try_advisory_lock(1953918313)");
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  assert_string_equal(PQgetvalue(r, 0, 0), "t");
  PQclear(r);
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM ingest_run_days WHERE run_id = %lld AND status = 2", b.id);
  long long ok_at_kill = q_(sql);
  pthread_join(th, NULL);
  store_close(b.s);
  assert_int_equal(b.status, STORE_RUN_FAILED);
  assert_int_equal(run_status_(b.id), STORE_RUN_FAILED);
  assert_int_equal(q_(sql), ok_at_kill); /* no day written after the lock went */
  snprintf(sql, sizeof sql, "SELECT error FROM ingest_runs WHERE id = %lld", b.id);
  char *err = qs_(sql);
  assert_non_null(strstr(err, "run lock"));
  free(err);
  PQfinish(other);
}

/* The client-side rate limit spaces request starts. */
static void test_rate_limit(void **state) {
  (void)state;
  long long id = 0;
  struct store *s = begin_(3, &id);
  struct ingest_fetch_config fc = fetch_cfg_();
  fc.rate_requests = 2;
  fc.rate_window_ms = 1000;
  assert_int_equal(ingest_run_execute(s, &fc, id, date_from_civil(2030, 1, 1), 3, NULL),
                   STORE_RUN_SUCCEEDED);
  store_close(s);
  json_t *stats = fake_call_("/_stats", NULL);
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
  fake_control_(
      "{\"faults\": [{\"match\": \"country=FR&date=2030-01-02\", \"status\": 500, "
      "\"times\": 1}, {\"match\": \"country=US&date=2030-01-03\", \"status\": 503, "
      "\"times\": 1}]}");
  long long id = 0;
  struct store *s = begin_(3, &id);
  struct ingest_fetch_config fc = fetch_cfg_();
  fc.countries = many;
  fc.n_countries = 20;
  fc.rate_requests = 0; /* no limit: everything is due at once */
  assert_int_equal(ingest_run_execute(s, &fc, id, date_from_civil(2030, 1, 1), 3, NULL),
                   STORE_RUN_SUCCEEDED);
  struct store_ingest_run run;
  assert_int_equal(store_ingest_run_get(s, id, &run), STORE_OK);
  store_close(s);
  assert_int_equal(run.requests, 65);
  assert_int_equal(run.retries, 2);
  assert_int_equal(run.days_done, 3);
  store_ingest_run_release(&run);
  assert_int_equal(q_("SELECT count(*) FROM episodes"), 8); /* the other countries answer [] */
  json_t *stats = fake_call_("/_stats", NULL);
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
      cmocka_unit_test_setup(test_run_memo, setup_),
      cmocka_unit_test_setup(test_copy_and_upsert_agree, setup_),
      cmocka_unit_test_setup(test_copy_and_upsert_agree_preloaded, setup_),
      cmocka_unit_test_setup(test_copy_conflict_retried, setup_),
      cmocka_unit_test_setup(test_preload_window, setup_),
      cmocka_unit_test_setup(test_copy_connection_lost, setup_),
      cmocka_unit_test_setup(test_429_and_500_retried, setup_),
      cmocka_unit_test_setup(test_slow_and_refused, setup_),
      cmocka_unit_test_setup(test_concurrent_start, setup_),
      cmocka_unit_test_setup(test_killed_run, setup_),
      cmocka_unit_test_setup(test_shutdown_interrupts, setup_),
      cmocka_unit_test_setup(test_lost_lock, setup_),
      cmocka_unit_test_setup(test_rate_limit, setup_),
      cmocka_unit_test_setup(test_many_transfers, setup_),
  };
  return cmocka_run_group_tests_name("ingest", tests, group_setup_, group_teardown_);
}
