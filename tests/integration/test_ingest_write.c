/*
 * Integration tests of the day write on the store API (server/store:
 * store_ingest_write_day, the run memo, COPY and upsert) against a fresh
 * PostgreSQL database per test: the run memo's skips and forgetting, COPY
 * and upsert writing the same values, the COPY-conflict retry, the
 * preload's window, a connection lost mid-COPY. Days are parsed from
 * inline JSON; no fake server. Shared helpers in
 * tests/support/ingest_env.h; the plan alone is unit-tested in
 * tests/unit/test_day_plan.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "db.h"
#include "ingest_env.h"
#include "ingest_parse.h"
#include "log.h"
#include "store_ingest.h"

static int setup_(void **state) {
  (void)state;
  itest_fresh_db("tvmaze_test_ingest_write");
  return 0;
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
  struct store *s = itest_begin(1, &id);
  struct store_ingest_memo *memo = store_ingest_memo_create();
  struct store_ingest_counts c;
  /* counts the statements sent to shows (a statement trigger fires also when
   * no row is inserted or updated) */
  itest_x("CREATE TABLE test_show_statements (n int)");
  itest_x(
      "CREATE FUNCTION test_show_statement() RETURNS trigger LANGUAGE plpgsql AS "
      "$$ BEGIN INSERT INTO test_show_statements VALUES (1); RETURN NULL; END $$");
  itest_x(
      "CREATE TRIGGER test_show_statement AFTER INSERT ON shows FOR EACH STATEMENT "
      "EXECUTE FUNCTION test_show_statement()");
#define DOC_(ep, show)                                                        \
  "[{\"id\": " ep                                                             \
  ", \"name\": \"e\", \"airdate\": \"2030-01-01\", \"show\": {\"id\": 7001, " \
  "\"name\": \"" show                                                         \
  "\", \"genres\": [\"Drama\"], \"network\": {\"id\": 9, \"name\": \"N\", "   \
  "\"country\": {\"code\": \"US\", \"name\": \"United States\"}}}}]"
  assert_int_equal(memo_day_(s, id, memo, DOC_("9001", "A"), 0, &c), STORE_OK);
  assert_int_equal(c.shows_created, 1);
  assert_int_equal(itest_q("SELECT count(*) FROM test_show_statements"), 1);
  /* identical show: left out, no shows statement at all */
  assert_int_equal(memo_day_(s, id, memo, DOC_("9002", "A"), 0, &c), STORE_OK);
  assert_int_equal(c.shows_unchanged, 1);
  assert_int_equal(c.episodes_created, 1);
  assert_int_equal(itest_q("SELECT count(*) FROM test_show_statements"), 1);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE id = 9002 AND country_code = 'US'"),
                   1);
  /* show renamed B on a day that fails: rolled back, not recorded */
  assert_int_not_equal(memo_day_(s, id, memo, DOC_("9003", "B"), 1, &c), STORE_OK);
  char *name = itest_qs("SELECT name FROM shows WHERE id = 7001");
  assert_string_equal(name, "A");
  free(name);
  /* B again on a good day: written */
  assert_int_equal(memo_day_(s, id, memo, DOC_("9003", "B"), 0, &c), STORE_OK);
  assert_int_equal(c.shows_updated, 1);
  name = itest_qs("SELECT name FROM shows WHERE id = 7001");
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
           "(SELECT id, name, type, language, status, runtime, average_runtime, premiered, ended, "
           "official_site, rating, weight, summary, image_url, distributor_id, tvmaze_updated, "
           "(SELECT array_agg(g.name || ':' || sg.position ORDER BY sg.position) "
           "FROM show_genres sg JOIN genres g "
           "ON g.id = sg.genre_id WHERE sg.show_id = shows.id) AS genres FROM shows) x) "
           "|| E'\\n' || (SELECT string_agg(row_to_json(y)::text, E'\\n' ORDER BY y.id) FROM "
           "(SELECT id, show_id, name, season, number, type, airdate, airtime, airstamp, runtime, "
           "rating, summary, image_url, country_code FROM episodes WHERE %s) y)",
           where);
  return itest_qs(sql);
}

/* New rows are COPYed, stored ones upserted (store_ingest.c): both paths
 * write the same values, also for strings with every byte the COPY text
 * format escapes, and the COPYed episodes' country_code is the one the
 * upsert's join (and the triggers of migration 004) would give. */
/* From now on every row offered to table (by INSERT, upsert or COPY, also
 * in a transaction rolled back: nextval is not) counts in the sequence
 * test_rows_offered, shared by every table counted. */
static void count_rows_offered_(const char *table) {
  itest_x("CREATE SEQUENCE IF NOT EXISTS test_rows_offered");
  itest_x(
      "CREATE OR REPLACE FUNCTION test_row_offered() RETURNS trigger LANGUAGE plpgsql AS "
      "$$ BEGIN PERFORM nextval('test_rows_offered'); RETURN NEW; END $$");
  char sql[256];
  snprintf(sql, sizeof sql,
           "CREATE TRIGGER test_row_offered BEFORE INSERT ON %s FOR EACH ROW "
           "EXECUTE FUNCTION test_row_offered()",
           table);
  itest_x(sql);
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
  struct store *s = itest_begin(1, &id);
  struct store_ingest_counts c;
  /* JSON escapes: \\ backslash, \t tab, \n newline, \r carriage return; a
   * name that is COPY's NULL marker (\N) and its end marker (\.) as text */
#define SHOW_A_                                                                                 \
  "{\"id\": 8101, \"name\": \"Tab\\there\\\\N\", \"type\": \"Scripted\\r\\n\", "                \
  "\"language\": \"\\\\.\", \"status\": \"Running\", \"runtime\": 30, \"averageRuntime\": 31, " \
  "\"premiered\": \"2029-02-03\", \"ended\": null, \"officialSite\": \"http://a/\\\\b\", "      \
  "\"rating\": {\"average\": 7.25}, \"weight\": 88, \"summary\": \"<p>Caf\\u00e9 &amp; "        \
  "\\u6f22\\u5b57 \\ud83d\\ude00</p>\", \"updated\": 1700000000, "                              \
  "\"image\": {\"medium\": \"http://i/\\\\\\t\"}, \"genres\": [\"Drama\", \"Tab\\tGenre\", "    \
  "\"Drama\"], "                                                                                \
  "\"network\": {\"id\": 31, \"name\": \"Net\\\\work\", \"country\": {\"code\": \"GB\", "       \
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
  char *name = itest_qs("SELECT name FROM episodes WHERE id = 9101");
  assert_string_equal(name, "a\\b\tc\nd\re");
  free(name);
  name = itest_qs("SELECT name || '|' || type || '|' || language FROM shows WHERE id = 8101");
  assert_string_equal(name, "Tab\there\\N|Scripted\r\n|\\.");
  free(name);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE id = 9102 AND name = ''"), 1);
  /* a genre listed twice is one pair (the parser drops the repeat), each
   * at its place in TVMaze's list */
  assert_int_equal(itest_q("SELECT count(*) FROM show_genres WHERE show_id = 8101"), 2);
  name = itest_qs(
      "SELECT string_agg(g.name, '|' ORDER BY sg.position) FROM show_genres sg "
      "JOIN genres g ON g.id = sg.genre_id WHERE sg.show_id = 8101");
  assert_string_equal(name, "Drama|Tab\tGenre");
  free(name);
  assert_int_equal(itest_q("SELECT count(*) FROM shows WHERE id = 8101 AND runtime = 30 AND "
                           "average_runtime = 31"),
                   1);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE airtime = ''"), 3);
  assert_int_equal(itest_q("SELECT count(*) FROM shows WHERE id = 8102 AND tvmaze_updated = "
                           "to_timestamp(1)"),
                   1);
  assert_int_equal(itest_q("SELECT count(*) FROM shows WHERE id = 8101 AND tvmaze_updated = "
                           "to_timestamp(1700000000)"),
                   1);
  /* country_code: as the join finds it (GB; NULL for the global channel and
   * for the show without a distributor) */
  const char *country_ok =
      "SELECT count(*) FROM episodes e JOIN shows s ON s.id = e.show_id "
      "LEFT JOIN distributors d ON d.id = s.distributor_id "
      "WHERE e.country_code IS NOT DISTINCT FROM d.country_code";
  assert_int_equal(itest_q(country_ok), 3);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE country_code = 'GB'"), 1);

  /* every written column spoiled, then the same rows again plus a new
   * episode: the stored ones take the upsert (their UPDATE), the new one
   * the COPY, in one day */
  itest_x(
      "UPDATE shows SET name = 'junk', type = NULL, language = NULL, status = NULL, "
      "runtime = NULL, average_runtime = NULL, premiered = NULL, ended = NULL, "
      "official_site = NULL, rating = NULL, weight = NULL, summary = NULL, image_url = NULL, "
      "distributor_id = NULL, tvmaze_updated = NULL");
  itest_x(
      "UPDATE episodes SET name = 'junk', season = NULL, number = NULL, type = NULL, "
      "airdate = airdate + 1, airtime = NULL, airstamp = NULL, runtime = NULL, rating = NULL, "
      "summary = NULL, image_url = NULL");
  /* the genres of 8101 swapped, those of others gone */
  itest_x("UPDATE show_genres SET position = 1 - position WHERE show_id = 8101");
  itest_x("DELETE FROM show_genres WHERE show_id <> 8101");
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
  assert_int_equal(itest_q("SELECT last_value FROM test_rows_offered"), 7);
  char *upserted = dump_rows_("id <> 9104");
  assert_non_null(upserted);
  assert_string_equal(upserted, copied);
  assert_int_equal(itest_q(country_ok), 4);
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
  struct store *s = itest_begin(1, &id);
  struct store_ingest_counts c;
  itest_x("CREATE SEQUENCE test_show_inserts"); /* nextval is not rolled back */
  itest_x(
      "CREATE FUNCTION test_sneak() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "PERFORM nextval('test_show_inserts'); "
      "INSERT INTO episodes (id, show_id, name) VALUES (9301, NEW.id, 'sneaked'); "
      "RETURN NULL; END $$");
  itest_x(
      "CREATE TRIGGER test_sneak AFTER INSERT ON shows FOR EACH ROW "
      "EXECUTE FUNCTION test_sneak()");
  const char *doc =
      "[{\"id\": 9301, \"name\": \"e\", \"airdate\": \"2030-01-01\", "
      "\"show\": {\"id\": 8301, \"name\": \"S\"}}]";
  assert_int_equal(memo_day_(s, id, NULL, doc, 0, &c), STORE_OK);
  /* two attempts; the second one's upsert updated the row its own show
   * insert added */
  assert_int_equal(itest_q("SELECT last_value FROM test_show_inserts"), 2);
  assert_int_equal(c.shows_created, 1);
  assert_int_equal(c.episodes_created, 0);
  assert_int_equal(c.episodes_updated, 1);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes"), 1);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE id = 9301 AND name = 'e'"), 1);
  assert_int_equal(itest_q("SELECT days_done FROM ingest_runs WHERE id = "
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
  struct store *s = itest_begin(1, &id);
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
  assert_int_equal(itest_q("SELECT last_value FROM test_rows_offered"), 3);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE airdate = '2030-01-01'"), 2);
  /* and the memo learned them: the same day again is one upsert */
  assert_int_equal(memo_day_(s, id, memo, moved, 0, &c), STORE_OK);
  assert_int_equal(c.episodes_unchanged, 2);
  assert_int_equal(itest_q("SELECT last_value FROM test_rows_offered"), 5);
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
  struct store *s = itest_begin(1, &id);
  struct store_ingest_counts c;
  itest_x(
      "CREATE FUNCTION test_die() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "IF NEW.id = 9502 THEN PERFORM pg_terminate_backend(pg_backend_pid()); "
      "PERFORM pg_sleep(5); END IF; RETURN NEW; END $$");
  itest_x(
      "CREATE TRIGGER test_die BEFORE INSERT ON episodes FOR EACH ROW "
      "EXECUTE FUNCTION test_die()");
  const char *doc =
      "[{\"id\": 9501, \"name\": \"a\", \"airdate\": \"2030-01-01\", "
      "\"show\": {\"id\": 8501, \"name\": \"S\"}}, "
      "{\"id\": 9502, \"name\": \"b\", \"airdate\": \"2030-01-01\", "
      "\"show\": {\"id\": 8501, \"name\": \"S\"}}]";
  assert_int_equal(memo_day_(s, id, NULL, doc, 0, &c), STORE_UNAVAILABLE);
  assert_int_equal(itest_q("SELECT count(*) FROM shows"), 0);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes"), 0);
  itest_x("DROP TRIGGER test_die ON episodes");
  usleep(600 * 1000); /* past the store's reconnect spacing (500 ms) */
  assert_int_equal(memo_day_(s, id, NULL, doc, 0, &c), STORE_OK);
  assert_int_equal(c.episodes_created, 2);
  store_close(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_run_memo, setup_),
      cmocka_unit_test_setup(test_copy_and_upsert_agree, setup_),
      cmocka_unit_test_setup(test_copy_and_upsert_agree_preloaded, setup_),
      cmocka_unit_test_setup(test_copy_conflict_retried, setup_),
      cmocka_unit_test_setup(test_preload_window, setup_),
      cmocka_unit_test_setup(test_copy_connection_lost, setup_),
  };
  return cmocka_run_group_tests_name("ingest_write", tests, itest_group_setup, NULL);
}
