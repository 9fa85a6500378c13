/*
 * Integration tests of the change log (migration 010, server/store/
 * store_changes.c, the run's removal in server/ingest/ingest_run.c, the
 * Changes service) against a fresh PostgreSQL database per test and the
 * fake TVMaze server (fixture sets base and feed: tests/fake_tvmaze/
 * make_fixtures.py says what feed changes):
 *   - a run that creates, updates, moves and drops episodes gives exactly
 *     the expected records in version order, with the entity after the
 *     change as the Shows reads map it; an identical re-run writes none;
 *   - a PARTIAL run and a day skipped by its body hash remove nothing;
 *   - the version of ListShows / GetShow / ListEpisodes is ListChanges'
 *     current_version;
 *   - retention: the prune raises the floor;
 *   - over gRPC (the real tvmaze-server, the generated stubs): every bad
 *     input with its code and the field it names, FAILED_PRECONDITION below
 *     the floor (WatchChanges: tests/integration/test_changes_watch.sh).
 * Shared helpers: tests/support/ingest_env.h. No timed assertions.
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

#include "grpc/health/v1/health.pb-c.h"
#include "ingest_env.h"
#include "query_support.h"
#include "rpc.h"
#include "store_changes.h"
#include "store_shows.h"
#include "testenv.h"
#include "tvmaze/v1/changes.pb-c.h"
#include "tvmaze/v1/shows.pb-c.h"

#define S(lit) ((char *)(uintptr_t)(lit))
#define SHOW_E TVMAZE__V1__CHANGE_ENTITY__CHANGE_ENTITY_SHOW
#define EPISODE_E TVMAZE__V1__CHANGE_ENTITY__CHANGE_ENTITY_EPISODE
#define CREATED TVMAZE__V1__CHANGE_OP__CHANGE_OP_CREATED
#define UPDATED TVMAZE__V1__CHANGE_OP__CHANGE_OP_UPDATED
#define REMOVED TVMAZE__V1__CHANGE_OP__CHANGE_OP_REMOVED

static struct store *g_s;

static int setup_(void **state) {
  (void)state;
  itest_fresh_start("tvmaze_test_changes");
  g_s = store_open(itest_db_url);
  return 0;
}

/* The server a gRPC test started (0: none): stopped by teardown_ when a
 * failed assertion left the test before grpc_stop_, so no orphan keeps
 * ctest's output pipe open. */
static pid_t g_server_pid;

static int teardown_(void **state) {
  (void)state;
  if (g_server_pid > 0) {
    kill(g_server_pid, SIGKILL);
    waitpid(g_server_pid, NULL, 0);
    g_server_pid = 0;
  }
  store_close(g_s);
  g_s = NULL;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

/* Every record after `after` (heap reply); *floor the floor. */
static Tvmaze__V1__ListChangesResponse *list_(int64_t after, int64_t *floor) {
  struct store_changes_query q = {.after_version = after, .limit = STORE_CHANGES_MAX_LIMIT};
  Tvmaze__V1__ListChangesResponse *r = NULL;
  int64_t fl = 0;
  assert_int_equal(store_changes_list(g_s, NULL, &q, &r, &fl), STORE_OK);
  assert_non_null(r);
  if (floor != NULL) {
    *floor = fl;
  }
  return r;
}

static void free_(void *m) {
  if (m != NULL) {
    protobuf_c_message_free_unpacked(m, NULL);
  }
}

/* "a,b,c" of c's fields. */
static void fields_(const Tvmaze__V1__Change *c, char *out, size_t n) {
  out[0] = '\0';
  size_t len = 0;
  for (size_t i = 0; i < c->n_fields; i++) {
    int w = snprintf(out + len, n - len, "%s%s", i ? "," : "", c->fields[i]);
    assert_true(w > 0 && (size_t)w < n - len);
    len += (size_t)w;
  }
}

/* The record of (entity, id) in r; exactly one. */
static const Tvmaze__V1__Change *find_(const Tvmaze__V1__ListChangesResponse *r, int entity,
                                       int id) {
  const Tvmaze__V1__Change *found = NULL;
  for (size_t i = 0; i < r->n_changes; i++) {
    if ((int)r->changes[i]->entity == entity && r->changes[i]->id == id) {
      assert_null(found);
      found = r->changes[i];
    }
  }
  if (found == NULL) {
    fail_msg("no change of entity %d id %d", entity, id);
  }
  return found;
}

/* The record of (entity, id) with op in r; exactly one. */
static const Tvmaze__V1__Change *find_op_(const Tvmaze__V1__ListChangesResponse *r, int entity,
                                          int id, int op) {
  const Tvmaze__V1__Change *found = NULL;
  for (size_t i = 0; i < r->n_changes; i++) {
    const Tvmaze__V1__Change *c = r->changes[i];
    if ((int)c->entity == entity && c->id == id && (int)c->op == op) {
      assert_null(found);
      found = c;
    }
  }
  if (found == NULL) {
    fail_msg("no change of entity %d id %d op %d", entity, id, op);
    abort(); /* not reached: fail_msg leaves the test (gcc cannot tell) */
  }
  return found;
}

static void expect_(const Tvmaze__V1__ListChangesResponse *r, int entity, int id, int op,
                    int show_id, const char *fields) {
  const Tvmaze__V1__Change *c = find_(r, entity, id);
  char got[256];
  fields_(c, got, sizeof got);
  assert_int_equal(c->op, op);
  assert_int_equal(c->show_id, show_id);
  assert_string_equal(got, fields);
  assert_non_null(c->changed_at);
  assert_true(c->changed_at->seconds > 1700000000);
  if (op == REMOVED) {
    assert_null(c->show);
    assert_null(c->episode);
  } else if (entity == SHOW_E) {
    assert_non_null(c->show);
    assert_null(c->episode);
    assert_int_equal(c->show->id, id);
    assert_int_equal(c->show->n_episodes, 0);
  } else {
    assert_null(c->show);
    assert_non_null(c->episode);
    assert_int_equal(c->episode->id, id);
  }
}

/* Versions strictly increase and the reply's cursor is the last one. */
static void ordered_(const Tvmaze__V1__ListChangesResponse *r) {
  for (size_t i = 1; i < r->n_changes; i++) {
    assert_true(r->changes[i]->version > r->changes[i - 1]->version);
  }
  if (r->n_changes > 0) {
    assert_int_equal(r->next_after_version, r->changes[r->n_changes - 1]->version);
  }
}

static long long version_(void) {
  return itest_q("SELECT generation FROM data_generation");
}

/* The first run of the base set (3 days), its outcome left unread. */
static void first_run_(void) {
  Tvmaze__V1__IngestRun *run = NULL;
  itest_run_sync(3, &run);
  itest_run_free(&run);
}

/* The packed bytes of m equal those of n. */
static void same_message_(const ProtobufCMessage *m, const ProtobufCMessage *n) {
  size_t a = protobuf_c_message_get_packed_size(m), b = protobuf_c_message_get_packed_size(n);
  assert_int_equal(a, b);
  uint8_t *pa = malloc(a + 1), *pb = malloc(b + 1);
  protobuf_c_message_pack(m, pa);
  protobuf_c_message_pack(n, pb);
  assert_memory_equal(pa, pb, a);
  free(pa);
  free(pb);
}

/* ------------------------------------------------------------------ */
/* The records of runs                                                */
/* ------------------------------------------------------------------ */

static void test_feed_run_records(void **state) {
  (void)state;
  Tvmaze__V1__IngestRun *run = NULL;
  assert_int_equal(version_(), version_());
  itest_run_sync(3, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_int_equal(run->episodes_removed, 0);
  itest_run_free(&run);
  /* the first run: every show and episode CREATED, nothing else */
  int64_t floor = -1;
  Tvmaze__V1__ListChangesResponse *r = list_(0, &floor);
  assert_int_equal(floor, 0);
  assert_int_equal(r->n_changes, 5 + 8);
  ordered_(r);
  for (size_t i = 0; i < r->n_changes; i++) {
    assert_int_equal(r->changes[i]->op, CREATED);
    assert_int_equal(r->changes[i]->n_fields, 0);
  }
  long long v0 = version_();
  assert_int_equal(r->current_version, v0);
  assert_int_equal(r->next_after_version, v0); /* the last change is the data version */
  expect_(r, SHOW_E, 501, CREATED, 501, "");
  expect_(r, EPISODE_E, 1003, CREATED, 501, "");
  /* the after-images: TVMaze's runtime (null for 501) beside its
   * averageRuntime, genres in TVMaze's order (603: Drama, Crime) */
  const Tvmaze__V1__Show *c501 = find_(r, SHOW_E, 501)->show;
  assert_null(c501->runtime);
  assert_non_null(c501->average_runtime);
  assert_int_equal(c501->average_runtime->value, 50);
  const Tvmaze__V1__Show *c603 = find_(r, SHOW_E, 603)->show;
  assert_int_equal(c603->n_genres, 2);
  assert_string_equal(c603->genres[0], "Drama");
  assert_string_equal(c603->genres[1], "Crime");
  free_(r);

  /* the feed set: updates, a move, a drop, a new show */
  itest_fake_control("{\"set\": \"feed\"}");
  itest_run_sync(3, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_int_equal(run->episodes_removed, 1);
  assert_int_equal(run->episodes_created, 1);
  assert_int_equal(run->shows_created, 1);
  itest_run_free(&run);
  r = list_(v0, NULL);
  ordered_(r);
  assert_int_equal(r->n_changes, 7);
  expect_(r, SHOW_E, 601, UPDATED, 601, "rating");
  expect_(r, SHOW_E, 603, UPDATED, 603, "genres");
  expect_(r, SHOW_E, 604, CREATED, 604, "");
  expect_(r, EPISODE_E, 2002, UPDATED, 602, "airtime,airstamp");
  expect_(r, EPISODE_E, 2005, UPDATED, 601, "airdate,airtime,airstamp"); /* moved: no removal */
  expect_(r, EPISODE_E, 2006, CREATED, 604, "");
  expect_(r, EPISODE_E, 1003, REMOVED, 501, "");
  /* the removal is decided at the run's end: its record is the last */
  assert_int_equal(r->changes[6]->id, 1003);
  assert_int_equal(r->current_version, version_());
  assert_int_equal(r->next_after_version, r->current_version);
  /* the entity after the change */
  const Tvmaze__V1__Show *s601 = find_(r, SHOW_E, 601)->show;
  assert_non_null(s601->rating);
  assert_true(s601->rating->value == 8.0);
  assert_string_equal(s601->name, "NBC Nightly");
  assert_non_null(s601->distributor);
  assert_string_equal(s601->distributor->name, "NBC");
  assert_non_null(s601->distributor->country);
  assert_string_equal(s601->distributor->country->code, "US");
  const Tvmaze__V1__Show *s603 = find_(r, SHOW_E, 603)->show;
  assert_int_equal(s603->n_genres, 2); /* in TVMaze's order */
  assert_string_equal(s603->genres[0], "Crime");
  assert_string_equal(s603->genres[1], "Action");
  const Tvmaze__V1__Show *s604 = find_(r, SHOW_E, 604)->show;
  assert_string_equal(s604->name, "CBS Late");
  assert_int_equal(s604->n_genres, 1);
  assert_string_equal(s604->genres[0], "Comedy");
  assert_string_equal(s604->summary, "Late.");
  const Tvmaze__V1__Episode *e2005 = find_(r, EPISODE_E, 2005)->episode;
  assert_string_equal(e2005->airdate, "2030-01-02");
  assert_string_equal(e2005->airtime, "18:45");
  assert_non_null(e2005->airstamp);
  assert_int_equal(e2005->airstamp->seconds, 1893627900); /* 2030-01-02T23:45:00Z */
  assert_string_equal(find_(r, EPISODE_E, 2002)->episode->airtime, "21:30");
  assert_int_equal(find_(r, EPISODE_E, 2006)->episode->show_id, 604);
  /* the store agrees */
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE id = 1003"), 0);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE id = 2005 AND "
                           "airdate = '2030-01-02'"),
                   1);

  /* the after-image is what GetShow maps (one mapping): same bytes */
  struct worker_ctx w = {.store = g_s};
  Tvmaze__V1__GetShowRequest gs = TVMAZE__V1__GET_SHOW_REQUEST__INIT;
  gs.id = 601;
  Tvmaze__V1__GetShowResponse *got = NULL;
  char msg[256];
  assert_int_equal(QS(query_get_show(&w, &gs, &qs_r, msg, sizeof msg), &w, got), RPC_OK);
  assert_int_equal(got->version, r->current_version);
  size_t n_eps = got->show->n_episodes;
  got->show->n_episodes = 0;
  same_message_(&got->show->base, &s601->base);
  got->show->n_episodes = n_eps;
  free_(got);

  /* every record keeps the entity after ITS change: the first run's
   * CREATED records of the episodes changed or removed since (migration
   * 012 keeps the old row for them) */
  Tvmaze__V1__ListChangesResponse *all = list_(0, NULL);
  const Tvmaze__V1__Episode *c2002 = find_op_(all, EPISODE_E, 2002, CREATED)->episode;
  assert_non_null(c2002);
  assert_string_not_equal(c2002->airtime, "21:30");
  const Tvmaze__V1__Episode *c2005 = find_op_(all, EPISODE_E, 2005, CREATED)->episode;
  assert_non_null(c2005);
  assert_string_not_equal(c2005->airdate, "2030-01-02");
  const Tvmaze__V1__Episode *c1003 = find_op_(all, EPISODE_E, 1003, CREATED)->episode;
  assert_non_null(c1003);
  assert_int_equal(c1003->id, 1003);
  assert_int_equal(c1003->show_id, 501);
  assert_null(find_op_(all, EPISODE_E, 1003, REMOVED)->episode);
  free_(all);

  /* the same feed again: no record, the version stays */
  long long v1 = version_();
  itest_run_sync(3, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_int_equal(run->episodes_removed, 0);
  itest_run_free(&run);
  assert_int_equal(version_(), v1);
  Tvmaze__V1__ListChangesResponse *again = list_(v1, NULL);
  assert_int_equal(again->n_changes, 0);
  assert_int_equal(again->next_after_version, v1);
  assert_int_equal(again->current_version, v1);
  free_(again);
  assert_int_equal(itest_q("SELECT count(*) FROM change_pending"), 0);

  /* filters: show_ids (the show and its episodes), entity */
  int32_t ids[] = {601};
  struct store_changes_query q = {
      .after_version = v0, .limit = 1000, .show_ids = ids, .n_show_ids = 1, .entity = 0};
  Tvmaze__V1__ListChangesResponse *f = NULL;
  int64_t fl = 0;
  assert_int_equal(store_changes_list(g_s, NULL, &q, &f, &fl), STORE_OK);
  assert_int_equal(f->n_changes, 2); /* show 601 and episode 2005 */
  free_(f);
  q.entity = EPISODE_E;
  assert_int_equal(store_changes_list(g_s, NULL, &q, &f, &fl), STORE_OK);
  assert_int_equal(f->n_changes, 1);
  assert_int_equal(f->changes[0]->id, 2005);
  free_(f);
  q.n_show_ids = 0;
  q.entity = SHOW_E;
  q.limit = 2;
  assert_int_equal(store_changes_list(g_s, NULL, &q, &f, &fl), STORE_OK);
  assert_int_equal(f->n_changes, 2); /* a page: the first two show records, by version */
  size_t k = 0;
  for (size_t i = 0; i < r->n_changes && k < 2; i++) {
    if ((int)r->changes[i]->entity == SHOW_E) {
      assert_int_equal(f->changes[k]->version, r->changes[i]->version);
      assert_int_equal(f->changes[k]->id, r->changes[i]->id);
      k++;
    }
  }
  assert_int_equal(k, 2);
  assert_int_equal(f->next_after_version, f->changes[1]->version);
  free_(f);
  free_(r);
}

/* A renamed distributor or country changes the Show of its shows. */
static void test_distributor_rename(void **state) {
  (void)state;
  first_run_();
  long long v0 = version_();
  itest_x(
      "BEGIN; UPDATE distributors SET name = 'NBC Universal' WHERE kind = 1 AND "
      "tvmaze_id = 1; UPDATE countries SET timezone = 'America/Chicago' WHERE code = 'US'; "
      "SELECT changes_commit(); COMMIT");
  Tvmaze__V1__ListChangesResponse *r = list_(v0, NULL);
  /* 601 (NBC, US) once for both; 603 (CBS, US) by its country */
  assert_int_equal(r->n_changes, 2);
  expect_(r, SHOW_E, 601, UPDATED, 601, "distributor");
  expect_(r, SHOW_E, 603, UPDATED, 603, "distributor");
  assert_string_equal(find_(r, SHOW_E, 601)->show->distributor->name, "NBC Universal");
  assert_string_equal(find_(r, SHOW_E, 603)->show->distributor->country->timezone,
                      "America/Chicago");
  free_(r);
  /* a column that is no proto field: no change, no version */
  long long v1 = version_();
  itest_x(
      "BEGIN; UPDATE episodes SET updated_at = now(); UPDATE distributors SET "
      "official_site = 'https://x.example/'; SELECT changes_commit(); COMMIT");
  assert_int_equal(version_(), v1);
}

/* Inserted episodes get their CREATED records from the insert (migration
 * 012); touched again in the same transaction, the record takes the row
 * at commit (updated) or goes (deleted): one record per episode, or none. */
static void test_inserted_then_touched(void **state) {
  (void)state;
  first_run_();
  long long v0 = version_();
  itest_x(
      "BEGIN; INSERT INTO episodes (id, show_id, name, season, number, type, airdate, airtime, "
      "airstamp, runtime) SELECT 9000 + k, 501, 'first', 1, k, 'regular', current_date, "
      "'20:00', now(), 30 FROM generate_series(1, 3) AS k; "
      "UPDATE episodes SET name = 'second' WHERE id = 9001; "
      "DELETE FROM episodes WHERE id = 9002; SELECT changes_commit(); COMMIT");
  Tvmaze__V1__ListChangesResponse *r = list_(v0, NULL);
  ordered_(r);
  assert_int_equal(r->n_changes, 2);
  expect_(r, EPISODE_E, 9001, CREATED, 501, "");
  expect_(r, EPISODE_E, 9003, CREATED, 501, "");
  assert_string_equal(find_(r, EPISODE_E, 9001)->episode->name, "second");
  assert_string_equal(find_(r, EPISODE_E, 9003)->episode->name, "first");
  assert_int_equal(r->current_version, version_());
  assert_true(r->next_after_version <= r->current_version);
  free_(r);
  assert_int_equal(itest_q("SELECT count(*) FROM change_pending"), 0);
  /* the next transaction starts over: an update is an update; its
   * changed_at is the commit's time, not the transaction's start (now(),
   * which the row's updated_at gets) */
  long long v1 = version_();
  itest_x(
      "BEGIN; UPDATE episodes SET name = 'third', updated_at = now() WHERE id = 9003; "
      "SELECT pg_sleep(1.2); SELECT changes_commit(); COMMIT");
  r = list_(v1, NULL);
  assert_int_equal(r->n_changes, 1);
  expect_(r, EPISODE_E, 9003, UPDATED, 501, "name");
  free_(r);
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT (extract(epoch FROM c.changed_at - e.updated_at) * 1000)::bigint FROM changes c "
           "JOIN episodes e ON e.id = c.id WHERE c.entity = 2 AND c.version > %lld",
           v1);
  assert_true(itest_q(sql) >= 1200);
}

/* A day that fails (malformed body) makes the run PARTIAL: nothing is
 * removed, not from it nor from the days written. */
static void test_partial_run_removes_nothing(void **state) {
  (void)state;
  Tvmaze__V1__IngestRun *run = NULL;
  itest_run_sync(3, &run);
  itest_run_free(&run);
  long long v0 = version_();
  itest_fake_control("{\"set\": \"feed\"}");
  itest_fake_control(
      "{\"faults\": [{\"match\": \"web?date=2030-01-02\", \"times\": -1, "
      "\"body\": \"[{\\\"id\\\": 1003, \\\"name\\\": \"}]}");
  itest_run_sync(3, &run);
  assert_int_equal(run->status, STORE_RUN_PARTIAL);
  assert_int_equal(run->day_results[1]->status, STORE_DAY_FAILED);
  assert_int_equal(run->episodes_removed, 0);
  itest_run_free(&run);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE id IN (1003, 2005)"), 2);
  Tvmaze__V1__ListChangesResponse *r = list_(v0, NULL);
  for (size_t i = 0; i < r->n_changes; i++) {
    assert_int_not_equal(r->changes[i]->op, REMOVED);
  }
  /* days 1 and 3 were written: their updates are there */
  expect_(r, EPISODE_E, 2002, UPDATED, 602, "airtime,airstamp");
  expect_(r, EPISODE_E, 2006, CREATED, 604, "");
  free_(r);
}

/* Days skipped by the body hash were not parsed: their episodes stay. */
static void test_skipped_day_removes_nothing(void **state) {
  (void)state;
  Tvmaze__V1__IngestRun *run = NULL;
  itest_run_sync(3, &run);
  itest_run_free(&run);
  long long v0 = version_();
  /* day 1's web schedule lists nothing any more; days 2 and 3 unchanged */
  itest_fake_control(
      "{\"faults\": [{\"match\": \"web?date=2030-01-01\", \"times\": -1, \"body\": \"[]\"}]}");
  itest_run_sync(3, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_false(run->day_results[0]->skipped);
  assert_true(run->day_results[1]->skipped);
  assert_true(run->day_results[2]->skipped);
  assert_int_equal(run->episodes_removed, 2);
  itest_run_free(&run);
  Tvmaze__V1__ListChangesResponse *r = list_(v0, NULL);
  assert_int_equal(r->n_changes, 2);
  expect_(r, EPISODE_E, 1001, REMOVED, 501, "");
  expect_(r, EPISODE_E, 1002, REMOVED, 502, "");
  free_(r);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes"), 6);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE airdate > '2030-01-01'"), 4);
}

/* ------------------------------------------------------------------ */
/* Versions of the Shows replies                                      */
/* ------------------------------------------------------------------ */

static void test_reply_versions(void **state) {
  (void)state;
  Tvmaze__V1__IngestRun *run = NULL;
  itest_run_sync(3, &run);
  itest_run_free(&run);
  itest_fake_control("{\"set\": \"feed\"}");
  itest_run_sync(3, &run);
  itest_run_free(&run);
  Tvmaze__V1__ListChangesResponse *r = list_(0, NULL);
  int64_t cur = r->current_version;
  free_(r);
  assert_true(cur > 0);
  struct worker_ctx w = {.store = g_s};
  char msg[256];
  Tvmaze__V1__ListShowsRequest ls = TVMAZE__V1__LIST_SHOWS_REQUEST__INIT;
  ls.date_from = S("2030-01-01");
  ls.date_to = S("2030-01-03");
  Tvmaze__V1__ListShowsResponse *shows = NULL;
  assert_int_equal(QS(query_list_shows(&w, &ls, &qs_r, msg, sizeof msg), &w, shows), RPC_OK);
  assert_true(shows->n_shows > 0);
  assert_int_equal(shows->version, cur);
  free_(shows);
  Tvmaze__V1__ListEpisodesRequest le = TVMAZE__V1__LIST_EPISODES_REQUEST__INIT;
  le.date_from = S("2030-01-01");
  le.date_to = S("2030-01-03");
  Tvmaze__V1__ListEpisodesResponse *eps = NULL;
  assert_int_equal(QS(query_list_episodes(&w, &le, &qs_r, msg, sizeof msg), &w, eps), RPC_OK);
  assert_true(eps->n_episodes > 0);
  assert_int_equal(eps->version, cur);
  free_(eps);
  /* an empty page carries the version too */
  le.date_from = S("2031-01-01");
  le.date_to = S("2031-01-03");
  assert_int_equal(QS(query_list_episodes(&w, &le, &qs_r, msg, sizeof msg), &w, eps), RPC_OK);
  assert_int_equal(eps->n_episodes, 0);
  assert_int_equal(eps->version, cur);
  free_(eps);
  Tvmaze__V1__GetShowRequest gs = TVMAZE__V1__GET_SHOW_REQUEST__INIT;
  gs.id = 603;
  Tvmaze__V1__GetShowResponse *got = NULL;
  assert_int_equal(QS(query_get_show(&w, &gs, &qs_r, msg, sizeof msg), &w, got), RPC_OK);
  assert_int_equal(got->version, cur);
  free_(got);
  /* the snapshot transaction of GetShow ends also when it is NOT_FOUND */
  gs.id = 999999;
  assert_int_equal(QS(query_get_show(&w, &gs, &qs_r, msg, sizeof msg), &w, got), RPC_NOT_FOUND);
  assert_int_equal(PQtransactionStatus(store_conn(g_s)), PQTRANS_IDLE);
}

/* ------------------------------------------------------------------ */
/* Retention                                                          */
/* ------------------------------------------------------------------ */

static void test_retention_floor(void **state) {
  (void)state;
  Tvmaze__V1__IngestRun *run = NULL;
  itest_run_sync(3, &run);
  itest_run_free(&run);
  itest_fake_control("{\"set\": \"feed\"}");
  itest_run_sync(3, &run);
  itest_run_free(&run);
  long long mid = itest_q(
      "SELECT max(version) FROM changes WHERE op = 1 AND entity = 2 "
      "AND id < 2006"); /* the first run's last record */
  itest_x(
      "UPDATE changes SET changed_at = now() - interval '31 days' WHERE version <= "
      "(SELECT max(version) FROM changes WHERE op = 1 AND entity = 2 AND id < 2006)");
  int64_t floor = 0;
  assert_int_equal(store_changes_prune(g_s, 30, &floor), STORE_OK);
  assert_int_equal(floor, mid);
  assert_int_equal(itest_q("SELECT count(*) FROM changes"), 7);
  int64_t fl = 0;
  Tvmaze__V1__ListChangesResponse *r = list_(0, &fl);
  assert_int_equal(fl, mid);
  assert_int_equal(r->n_changes, 7);
  free_(r);
  /* again: nothing older, the floor stays */
  assert_int_equal(store_changes_prune(g_s, 30, &floor), STORE_OK);
  assert_int_equal(floor, 0);
  assert_int_equal(itest_q("SELECT version FROM changes_floor"), mid);
  /* another session holding the prune's lock: this one skips */
  PGconn *other = PQconnectdb(itest_db_url);
  PQclear(PQexec(other, "BEGIN; SELECT pg_advisory_xact_lock(1953918307)"));
  itest_x("UPDATE changes SET changed_at = now() - interval '40 days'");
  assert_int_equal(store_changes_prune(g_s, 30, &floor), STORE_OK);
  assert_int_equal(floor, 0);
  assert_int_equal(itest_q("SELECT count(*) FROM changes"), 7);
  PQclear(PQexec(other, "ROLLBACK"));
  PQfinish(other);
}

/* ------------------------------------------------------------------ */
/* Over gRPC                                                          */
/* ------------------------------------------------------------------ */

static void sleep_ms_(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

struct grpc_env {
  pid_t server;
  rpc_channel *ch;
  ProtobufCService *changes, *health;
};

static void grpc_start_(struct grpc_env *g) {
  int port = testenv_free_port();
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
  const char *server = testenv_build_path("server/tvmaze-server");
  g->server = fork();
  g_server_pid = g->server;
  if (g->server == 0) {
    setenv("DATABASE_URL", itest_db_url, 1);
    unsetenv("REDIS_URL");
    setenv("TVMAZE_INGEST_AT", "off", 1);
    setenv("TVMAZE_METRICS_ADDR", "off", 1);
    setenv("TVMAZE_API_URL", "http://127.0.0.1:9", 1);
    setenv("LOG_LEVEL", "error", 1);
    execl(server, server, "--grpc-addr", addr, (char *)NULL);
    _exit(127);
  }
  rpc_init();
  g->ch = rpc_channel_create(addr, 0);
  rpc_channel_add_metadata(g->ch, "x-api-key", testenv_api_key(itest_db_url, "changes"));
  g->changes = rpc_client_service_create(g->ch, &tvmaze__v1__changes__descriptor);
  g->health = rpc_client_service_create(g->ch, &grpc__health__v1__health__descriptor);
  int st = -1;
  for (int i = 0; i < 600 && st != 1; i++) {
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(2000);
    grpc__health__v1__health__check(
        g->health, &req, (Grpc__Health__V1__HealthCheckResponse_Closure)rpc_client_keep_reply,
        &call);
    st = call.code == RPC_OK ? (int)((Grpc__Health__V1__HealthCheckResponse *)call.reply)->status
                             : -1;
    rpc_client_ctx_release(&call);
    if (st != 1) {
      sleep_ms_(100);
    }
  }
  assert_int_equal(st, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
}

static void grpc_stop_(struct grpc_env *g) {
  rpc_client_service_destroy(g->changes);
  rpc_client_service_destroy(g->health);
  rpc_channel_destroy(g->ch);
  rpc_cleanup();
  int status = 0;
  kill(g->server, SIGTERM);
  waitpid(g->server, &status, 0);
  g_server_pid = 0;
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ListChanges over the wire; the reply stays in call (release it). */
static rpc_code call_list_(struct grpc_env *g, const Tvmaze__V1__ListChangesRequest *req,
                           struct rpc_client_ctx *call) {
  tvmaze__v1__changes__list_changes(
      g->changes, req, (Tvmaze__V1__ListChangesResponse_Closure)rpc_client_keep_reply, call);
  return call->code;
}

/* req answers code with a message starting with field. */
static void bad_(struct grpc_env *g, const Tvmaze__V1__ListChangesRequest *req, rpc_code code,
                 const char *field) {
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(10000);
  assert_int_equal(call_list_(g, req, &call), code);
  if (strncmp(call.message, field, strlen(field)) != 0) {
    fail_msg("message \"%s\" does not name %s", call.message, field);
  }
  rpc_client_ctx_release(&call);
}

static void test_grpc_list_changes(void **state) {
  (void)state;
  first_run_();
  struct grpc_env g;
  grpc_start_(&g);
  long long cur = version_();

  /* a page, then the next from its cursor */
  Tvmaze__V1__ListChangesRequest req = TVMAZE__V1__LIST_CHANGES_REQUEST__INIT;
  Google__Protobuf__Int32Value lim = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  lim.value = 10;
  req.limit = &lim;
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(10000);
  assert_int_equal(call_list_(&g, &req, &call), RPC_OK);
  const Tvmaze__V1__ListChangesResponse *r = (const Tvmaze__V1__ListChangesResponse *)call.reply;
  assert_int_equal(r->n_changes, 10);
  assert_int_equal(r->current_version, cur);
  req.after_version = r->next_after_version;
  rpc_client_ctx_release(&call);
  struct rpc_client_ctx call2 = RPC_CLIENT_CTX_INIT(10000);
  assert_int_equal(call_list_(&g, &req, &call2), RPC_OK);
  r = (const Tvmaze__V1__ListChangesResponse *)call2.reply;
  assert_int_equal(r->n_changes, 3);
  assert_int_equal(r->next_after_version, cur);
  rpc_client_ctx_release(&call2);

  /* bad input: code and the field named */
  Tvmaze__V1__ListChangesRequest b = TVMAZE__V1__LIST_CHANGES_REQUEST__INIT;
  b.after_version = -1;
  bad_(&g, &b, RPC_INVALID_ARGUMENT, "after_version");
  b.after_version = cur + 1;
  bad_(&g, &b, RPC_INVALID_ARGUMENT, "after_version");
  b.after_version = 0;
  lim.value = 0;
  b.limit = &lim;
  bad_(&g, &b, RPC_INVALID_ARGUMENT, "limit");
  lim.value = 1001;
  bad_(&g, &b, RPC_INVALID_ARGUMENT, "limit");
  b.limit = NULL;
  int32_t many[101];
  for (int i = 0; i < 101; i++) {
    many[i] = i + 1;
  }
  b.show_ids = many;
  b.n_show_ids = 101;
  bad_(&g, &b, RPC_INVALID_ARGUMENT, "show_ids");
  many[0] = 0;
  b.n_show_ids = 1;
  bad_(&g, &b, RPC_INVALID_ARGUMENT, "show_ids");
  b.n_show_ids = 0;
  b.entity = (Tvmaze__V1__ChangeEntity)7;
  bad_(&g, &b, RPC_INVALID_ARGUMENT, "entity");
  b.entity = TVMAZE__V1__CHANGE_ENTITY__CHANGE_ENTITY_UNSPECIFIED;

  /* below the floor: FAILED_PRECONDITION, saying to list again */
  itest_x("UPDATE changes SET changed_at = now() - interval '31 days' WHERE entity = 1");
  int64_t floor = 0;
  assert_int_equal(store_changes_prune(g_s, 30, &floor), STORE_OK);
  assert_true(floor > 0);
  b.after_version = floor - 1;
  struct rpc_client_ctx call3 = RPC_CLIENT_CTX_INIT(10000);
  assert_int_equal(call_list_(&g, &b, &call3), RPC_FAILED_PRECONDITION);
  assert_non_null(strstr(call3.message, "TVMAZE_CHANGES_RETENTION_DAYS"));
  assert_non_null(strstr(call3.message, "list again"));
  rpc_client_ctx_release(&call3);
  b.after_version = floor;
  struct rpc_client_ctx call4 = RPC_CLIENT_CTX_INIT(10000);
  assert_int_equal(call_list_(&g, &b, &call4), RPC_OK);
  rpc_client_ctx_release(&call4);

  grpc_stop_(&g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_feed_run_records, setup_, teardown_),
      cmocka_unit_test_setup_teardown(test_distributor_rename, setup_, teardown_),
      cmocka_unit_test_setup_teardown(test_inserted_then_touched, setup_, teardown_),
      cmocka_unit_test_setup_teardown(test_partial_run_removes_nothing, setup_, teardown_),
      cmocka_unit_test_setup_teardown(test_skipped_day_removes_nothing, setup_, teardown_),
      cmocka_unit_test_setup_teardown(test_reply_versions, setup_, teardown_),
      cmocka_unit_test_setup_teardown(test_retention_floor, setup_, teardown_),
      cmocka_unit_test_setup_teardown(test_grpc_list_changes, setup_, teardown_),
  };
  return cmocka_run_group_tests(tests, itest_fake_group_setup, itest_fake_group_teardown);
}
