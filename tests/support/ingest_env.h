/*
 * ingest_env: what the ingestion integration tests share
 * (tests/integration/test_ingest*.c): the fake TVMaze server
 * (tests/fake_tvmaze/fake_tvmaze.py) as a child process, a fresh migrated
 * database per test, one-shot SQL helpers and runs started on a new
 * session. Every helper fails the test (cmocka) instead of returning an
 * error. One test thread (the database URL and the fake's URL are
 * process-wide).
 */
#ifndef TVMAZE_TEST_INGEST_ENV_H
#define TVMAZE_TEST_INGEST_ENV_H

#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "db.h"
#include "ingest_runner.h"
#include "store_ingest.h"
#include "tvmaze/v1/ingest.pb-c.h"

/* The fake's base URL ("http://127.0.0.1:PORT") and the test database's
 * URL (set by itest_fresh_db). */
extern char itest_fake_url[64];
extern char itest_db_url[512];

/* Starts the fake server (curl and logging initialized too); 0 on success.
 * itest_fake_stop ends it. For cmocka group setup / teardown. */
int itest_fake_start(void);
void itest_fake_stop(void);

/* cmocka group setup of the tests without the fake: logs errors only. */
int itest_group_setup(void **state);

/* cmocka group setup / teardown of the tests with the fake:
 * itest_fake_start / itest_fake_stop. */
int itest_fake_group_setup(void **state);
int itest_fake_group_teardown(void **state);

/* A test's start with the fake: itest_fresh_db(name) and the fake reset to
 * its base set (POST /_reset). */
void itest_fresh_start(const char *name);

/* A fresh database named name, migrated; its URL in itest_db_url. */
void itest_fresh_db(const char *name);

/* POST body to the fake's path (or GET when body is NULL); the reply
 * (json_decref it). itest_fake_control posts to /_control. */
json_t *itest_fake_call(const char *path, const char *body);
void itest_fake_control(const char *body);

/* The fetch settings of the tests: the fake, one country (US), 20 requests
 * per 10 s, quick retries and timeouts, 3 days in flight. */
struct ingest_fetch_config itest_fetch_cfg(void);

/* A new connection to the test database. */
PGconn *itest_db(void);
/* First column of the first row of sql as a number (-1 for NULL). */
long long itest_q(const char *sql);
/* The same as a string (malloc'd; NULL for NULL or no row). */
char *itest_qs(const char *sql);
/* Runs a statement that returns no rows. */
void itest_x(const char *sql);

/* SQL condition: an advisory lock of the test's own database. pg_locks is
 * cluster-wide, and tests running beside it (ctest -j) take the same run
 * lock key in their own databases. */
#define ITEST_OUR_ADVISORY_LOCKS                                                       \
  "locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = " \
  "current_database())"

/* The schedule tables counted by itest_writes_all. */
#define ITEST_N_TABLES 6
extern const char *const itest_tables[ITEST_N_TABLES];
/* Rows written to each schedule table since the stats began (ins + upd + del). */
void itest_writes_all(long long out[ITEST_N_TABLES]);

/* A new session that began a run of 2030-01-01 + days; *id gets the run. */
struct store *itest_begin(int days, long long *id);
/* Runs an ingest of 2030-01-01 + days synchronously on a new session; makes
 * its table statistics visible before returning. *out gets the run with its
 * days (free with itest_run_free); returns the run id. */
long long itest_run_sync(int days, Tvmaze__V1__IngestRun **out);
/* The same with the fetch settings fc (itest_run_sync: itest_fetch_cfg()). */
long long itest_run_sync_cfg(const struct ingest_fetch_config *fc, int days,
                             Tvmaze__V1__IngestRun **out);
/* Frees *run and sets it NULL. */
void itest_run_free(Tvmaze__V1__IngestRun **run);
/* A runner (ingest_runner_create) on the test database with the test fetch
 * settings, 3 days by default, no schedule; orphan_check_ms as its config
 * (<= 0: the default). */
struct ingest_runner *itest_runner(const char *owner, int orphan_check_ms);

/* ingest_runs.status of run id. */
int itest_run_status(long long id);
/* Polls until sql yields at least want (bounded: 60 s). */
void itest_wait_for(const char *sql, long long want);

#endif
