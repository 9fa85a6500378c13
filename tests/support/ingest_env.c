/*
 * ingest_env: see ingest_env.h. The fake server is started with python3
 * from the source tree and tells its port through a temporary file.
 */
#include "ingest_env.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "date.h"
#include "log.h"
#include "strbuf.h"
#include "testenv.h"

char itest_fake_url[64];
char itest_db_url[512];
static pid_t fake_pid;
static const char countries_[1][3] = {"US"};

const char *const itest_tables[ITEST_N_TABLES] = {"countries", "distributors", "genres",
                                                  "shows",     "show_genres",  "episodes"};

int itest_fake_start(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  log_init(LOG_ERROR, LOG_FORMAT_TEXT);
  char port_file[] = "/tmp/fake_tvmaze_portXXXXXX";
  int fd = mkstemp(port_file);
  assert_true(fd >= 0);
  close(fd);
  unlink(port_file);
  pid_t parent = getpid();
  fake_pid = fork();
  assert_true(fake_pid >= 0);
  if (fake_pid == 0) {
    /* dies with the test: a test that aborts (a sanitizer report) skips
     * the group teardown, and an orphan holding the test's stdout would
     * keep ctest waiting until its timeout */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) {
      _exit(127);
    }
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
        snprintf(itest_fake_url, sizeof itest_fake_url, "http://127.0.0.1:%d", port);
      }
      fclose(f);
      unlink(port_file);
      return 0;
    }
    usleep(50 * 1000);
  }
  return -1;
}

void itest_fake_stop(void) {
  if (fake_pid > 0) {
    kill(fake_pid, SIGTERM);
    waitpid(fake_pid, NULL, 0);
    fake_pid = 0;
  }
}

int itest_fake_group_setup(void **state) {
  (void)state;
  return itest_fake_start();
}

int itest_fake_group_teardown(void **state) {
  (void)state;
  itest_fake_stop();
  return 0;
}

int itest_group_setup(void **state) {
  (void)state;
  log_init(LOG_ERROR, LOG_FORMAT_TEXT);
  return 0;
}

void itest_fresh_db(const char *name) {
  snprintf(itest_db_url, sizeof itest_db_url, "%s", testenv_fresh_database(name));
  struct store *s = store_open(itest_db_url);
  int applied = 0;
  assert_int_equal(store_migrate(s, &applied), STORE_OK);
  store_close(s);
}

static size_t sink_(char *p, size_t s, size_t n, void *u) {
  strbuf_append_n(u, p, s * n);
  return s * n;
}

json_t *itest_fake_call(const char *path, const char *body) {
  char url[128];
  snprintf(url, sizeof url, "%s%s", itest_fake_url, path);
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

void itest_fresh_start(const char *name) {
  itest_fresh_db(name);
  json_decref(itest_fake_call("/_reset", "{}"));
}

void itest_fake_control(const char *body) {
  json_decref(itest_fake_call("/_control", body));
}

struct ingest_fetch_config itest_fetch_cfg(void) {
  struct ingest_fetch_config c = {.api_url = itest_fake_url,
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

PGconn *itest_db(void) {
  PGconn *c = PQconnectdb(itest_db_url);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  return c;
}

long long itest_q(const char *sql) {
  PGconn *c = itest_db();
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    fail_msg("%s: %s", sql, PQerrorMessage(c));
  }
  long long v = PQgetisnull(r, 0, 0) ? -1 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  PQfinish(c);
  return v;
}

char *itest_qs(const char *sql) {
  PGconn *c = itest_db();
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    fail_msg("%s: %s", sql, PQerrorMessage(c));
  }
  char *v = PQntuples(r) == 0 || PQgetisnull(r, 0, 0) ? NULL : strdup(PQgetvalue(r, 0, 0));
  PQclear(r);
  PQfinish(c);
  return v;
}

void itest_x(const char *sql) {
  PGconn *c = itest_db();
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    fail_msg("%s: %s", sql, PQerrorMessage(c));
  }
  PQclear(r);
  PQfinish(c);
}

void itest_writes_all(long long out[ITEST_N_TABLES]) {
  for (size_t i = 0; i < ITEST_N_TABLES; i++) {
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables "
             "WHERE relname = '%s'",
             itest_tables[i]);
    out[i] = itest_q(sql);
  }
}

struct store *itest_begin(int days, long long *id) {
  struct store *s = store_open(itest_db_url);
  int started = 0;
  assert_int_equal(ingest_run_begin(s, date_from_civil(2030, 1, 1), days, "test", 0, id, &started),
                   STORE_OK);
  assert_true(started);
  return s;
}

long long itest_run_sync(int days, Tvmaze__V1__IngestRun **out) {
  struct ingest_fetch_config fc = itest_fetch_cfg();
  return itest_run_sync_cfg(&fc, days, out);
}

long long itest_run_sync_cfg(const struct ingest_fetch_config *fc, int days,
                             Tvmaze__V1__IngestRun **out) {
  long long id = 0;
  struct store *s = itest_begin(days, &id);
  (void)ingest_run_execute(s, fc, id, date_from_civil(2030, 1, 1), days, NULL);
  PQclear(PQexec(store_conn(s), "SELECT pg_stat_force_next_flush()"));
  PQclear(PQexec(store_conn(s), "SELECT 1"));
  assert_int_equal(store_ingest_run_get(s, NULL, id, out), STORE_OK);
  store_close(s);
  return id;
}

void itest_run_free(Tvmaze__V1__IngestRun **run) {
  if (*run != NULL) {
    protobuf_c_message_free_unpacked(&(*run)->base, NULL);
    *run = NULL;
  }
}

struct ingest_runner *itest_runner(const char *owner, int orphan_check_ms) {
  struct ingest_runner_config rc = {.database_url = itest_db_url,
                                    .fetch = itest_fetch_cfg(),
                                    .at_minute = -1,
                                    .default_days = 3,
                                    .owner = owner,
                                    .orphan_check_ms = orphan_check_ms};
  return ingest_runner_create(&rc);
}

int itest_run_status(long long id) {
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT status FROM ingest_runs WHERE id = %lld", id);
  return (int)itest_q(sql);
}

void itest_wait_for(const char *sql, long long want) {
  for (int i = 0; i < 600; i++) {
    if (itest_q(sql) >= want) {
      return;
    }
    usleep(100 * 1000);
  }
  fail_msg("timed out waiting for %s >= %lld", sql, want);
}
