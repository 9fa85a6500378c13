/*
 * query_support: shared setup of the Shows/Analytics integration tests: a
 * fresh database, migrated, holding tests/fixtures/query_fixture.sql; and
 * QS(), which turns a query's tagged reply (query.h) into a typed message.
 * Header-only (tests/CMakeLists.txt builds each test_*.c on its own).
 */
#ifndef TVMAZE_TEST_QUERY_SUPPORT_H
#define TVMAZE_TEST_QUERY_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

#include "db.h"
#include "query.h"
#include "testenv.h"

/* The reply the query inside QS() fills. */
static struct query_reply qs_r __attribute__((unused));
static rpc_code qs_code_ __attribute__((unused));

/* The message of r, taken out of it (a PACKED reply unpacked; heap-built
 * when w has no arena: free with protobuf_c_message_free_unpacked); NULL
 * when the query failed. r is left empty. */
static inline void *qs_take(struct worker_ctx *w, struct query_reply *r) {
  ProtobufCMessage *m = query_reply_message(w, r);
  if (m == NULL && r->kind == QUERY_REPLY_PACKED) {
    fprintf(stderr, "qs_take: packed reply does not unpack\n");
    exit(1);
  }
  free(r->packed);
  r->packed = NULL;
  r->message = NULL;
  r->kind = QUERY_REPLY_NONE;
  return m;
}

/* QS(query_list_shows(&w, &req, &qs_r, msg, sizeof msg), &w, out): runs the
 * query (which fills qs_r), sets out (a typed reply pointer) to its message
 * (qs_take) and yields its code. */
#define QS(call, w, out) (qs_code_ = (call), (out) = qs_take((w), &qs_r), qs_code_)

/* Runs sql on url (one or more statements); exits the test on failure. */
static inline void qs_exec(const char *url, const char *sql) {
  PGconn *c = PQconnectdb(url);
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
    fprintf(stderr, "qs_exec: %s\n", PQerrorMessage(c));
    exit(1);
  }
  PQclear(r);
  PQfinish(c);
}

/* Fresh database `name` with schema and fixture; returns its URL (static). */
static inline const char *qs_fixture_db(const char *name) {
  static char url[512];
  snprintf(url, sizeof url, "%s", testenv_fresh_database(name));
  struct store *s = store_open(url);
  int applied = 0;
  if (store_migrate(s, &applied) != STORE_OK) {
    fprintf(stderr, "migrate: %s\n", store_last_error(s));
    exit(1);
  }
  store_close(s);
  FILE *f = fopen(testenv_source_path("tests/fixtures/query_fixture.sql"), "rb");
  if (f == NULL) {
    perror("fixture");
    exit(1);
  }
  static char sql[65536];
  size_t n = fread(sql, 1, sizeof sql - 1, f);
  fclose(f);
  sql[n] = '\0';
  qs_exec(url, sql);
  return url;
}

#endif
