/*
 * testenv: what integration tests need from the environment that
 * scripts/test.sh prepares (private PostgreSQL and Redis, the build tree).
 * Every getter fails the test (cmocka fail_msg / exit 1) instead of skipping
 * when something is missing.
 */
#ifndef TVMAZE_TEST_TESTENV_H
#define TVMAZE_TEST_TESTENV_H

/* Creates (drops first) database `name` on the test PostgreSQL and returns its
 * URL (static storage, valid until the next call). */
const char *testenv_fresh_database(const char *name);

/* The test Redis URL ("redis://127.0.0.1:PORT"). */
const char *testenv_redis_url(void);

/* Path of a built binary or file under the build tree (static storage). */
const char *testenv_build_path(const char *relative);

/* Path under the source tree (static storage). */
const char *testenv_source_path(const char *relative);

/* Runs `scripts/services.sh VERB $TVMAZE_TEST_SERVICES_DIR` (pg-stop,
 * pg-start, redis-stop, redis-start); exits 1 unless it exits 0. */
void testenv_services(const char *verb);

/* A free TCP port on 127.0.0.1. */
int testenv_free_port(void);

/* Creates a new premium API key of scope ingest in the (migrated) database
 * at db_url with `tvmaze-server keys create` (name "<prefix>-<pid>-<n>")
 * and returns the secret (static storage, valid until the next call); the
 * tests send it as x-api-key (rpc_channel_add_metadata). Exits 1 when the
 * command fails. */
const char *testenv_api_key(const char *db_url, const char *prefix);

#endif
