/*
 * Unit tests of server/ingest/ingest_parse.c against the fake TVMaze
 * fixtures (tests/fake_tvmaze/fixtures/base) and hand-made edge cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingest_parse.h"
#include "testenv.h"

static char *slurp_(const char *rel, size_t *n) {
  FILE *f = fopen(testenv_source_path(rel), "rb");
  assert_non_null(f);
  char *buf = malloc(1 << 20);
  assert_non_null(buf);
  *n = fread(buf, 1, (1 << 20) - 1, f);
  buf[*n] = '\0';
  fclose(f);
  return buf;
}

static void parse_file_(struct ingest_batch *b, const char *rel) {
  size_t n;
  char *s = slurp_(rel, &n);
  char err[256];
  assert_int_equal(ingest_parse_schedule(b, s, n, err, sizeof err), INGEST_PARSE_OK);
  free(s);
}

static const struct ingest_show *show_(const struct ingest_batch *b, int id) {
  for (size_t i = 0; i < b->n_shows; i++) {
    if (b->shows[i].id == id) {
      return &b->shows[i];
    }
  }
  fail_msg("show %d missing", id);
  abort(); /* fail_msg does not return; tells the compiler so */
}

static const struct ingest_episode *episode_(const struct ingest_batch *b, int id) {
  for (size_t i = 0; i < b->n_episodes; i++) {
    if (b->episodes[i].id == id) {
      return &b->episodes[i];
    }
  }
  fail_msg("episode %d missing", id);
  abort(); /* fail_msg does not return; tells the compiler so */
}

static void test_fixture_day(void **state) {
  (void)state;
  struct ingest_batch b;
  ingest_batch_init(&b);
  parse_file_(&b, "tests/fake_tvmaze/fixtures/base/web-2030-01-01.json");
  parse_file_(&b, "tests/fake_tvmaze/fixtures/base/US-2030-01-01.json");
  assert_int_equal(b.items_seen, 4);
  assert_int_equal(b.n_episodes, 4);
  assert_int_equal(b.n_shows, 4);
  /* web channel 1 (Netflix, global) and network 1 (NBC, US): two rows */
  assert_int_equal(b.n_distributors, 3);
  int netflix = 0, nbc = 0;
  for (size_t i = 0; i < b.n_distributors; i++) {
    const struct ingest_distributor *d = &b.distributors[i];
    if (d->kind == 2 && d->tvmaze_id == 1) {
      netflix = 1;
      assert_string_equal(d->name, "Netflix");
      assert_null(d->country_code);
    }
    if (d->kind == 1 && d->tvmaze_id == 1) {
      nbc = 1;
      assert_string_equal(d->country_code, "US");
    }
  }
  assert_true(netflix && nbc);
  assert_int_equal(b.n_countries, 2); /* GB, US */

  const struct ingest_show *st = show_(&b, 501);
  assert_int_equal(st->dist_kind, 2);
  assert_int_equal(st->dist_id, 1);
  assert_string_equal(st->summary,
                      "Stranger Things & friends' adventure. Second line "
                      "\xf0\x9f\x91\xbe \"quoted\" \xc3\xa9t\xc3\xa9");
  assert_int_equal(st->n_genres, 2);      /* "Drama" listed twice */
  assert_string_equal(st->runtime, "50"); /* averageRuntime when runtime is null */
  assert_null(st->rating);
  assert_string_equal(st->tvmaze_updated, "1893456501");

  const struct ingest_show *lost = show_(&b, 602);
  assert_int_equal(lost->dist_kind, 0);
  assert_null(lost->summary); /* "" -> NULL */
  assert_null(lost->image_url);

  const struct ingest_episode *e = episode_(&b, 1001);
  assert_null(e->number);
  assert_string_equal(e->season, "5");
  assert_string_equal(e->airtime, "");
  assert_string_equal(e->airstamp, "2030-01-01T08:00:00+00:00");
  assert_string_equal(e->summary, "A special.");
  assert_null(e->rating);
  assert_null(e->image_url);
  assert_string_equal(e->type, "significant_special");
  e = episode_(&b, 1002);
  assert_string_equal(e->rating, "9.1");
  assert_non_null(e->image_url);
  e = episode_(&b, 2002);
  assert_null(e->name);
  assert_null(e->season);
  assert_int_equal(e->show_id, 602);
  ingest_batch_release(&b);
}

static void test_bad_documents(void **state) {
  (void)state;
  struct ingest_batch b;
  ingest_batch_init(&b);
  char err[256];
  assert_int_equal(ingest_parse_schedule(&b, "[{\"id\": 1,", 10, err, sizeof err),
                   INGEST_PARSE_BAD_JSON);
  assert_non_null(strstr(err, "malformed JSON"));
  assert_int_equal(ingest_parse_schedule(&b, "{}", 2, err, sizeof err), INGEST_PARSE_BAD_SHAPE);
  assert_int_equal(ingest_parse_schedule(&b, "[\"\xff\"]", 5, err, sizeof err),
                   INGEST_PARSE_BAD_JSON);
  assert_int_equal(ingest_parse_schedule(&b, "[]", 2, err, sizeof err), INGEST_PARSE_OK);
  assert_int_equal(b.n_episodes, 0);
  ingest_batch_release(&b);
}

static void test_junk_values(void **state) {
  (void)state;
  const char *doc =
      "[{\"id\": 7, \"name\": 5, \"season\": \"x\", \"number\": 2.0, \"airdate\": \"2030-02-30\","
      " \"airtime\": \"25:00\", \"airstamp\": \"yesterday\", \"runtime\": -5,"
      " \"rating\": {\"average\": 11}, \"image\": {\"medium\": null}, \"summary\": 3,"
      " \"show\": {\"id\": 9, \"name\": \"S\", \"genres\": [1, \"\", \"G\"], \"network\":"
      " {\"id\": 4, \"name\": \"N\", \"country\": {\"code\": \"usa\", \"name\": \"X\"}},"
      " \"rating\": null, \"updated\": \"soon\"}},"
      " {\"id\": 8, \"show\": {\"id\": 0, \"name\": \"zero\"}},"
      " {\"id\": -1, \"show\": {\"id\": 9, \"name\": \"S\"}}, 42,"
      " {\"id\": 10, \"airstamp\": \"2030-01-01T10:00Z\", \"airtime\": \"09:05\","
      "  \"_embedded\": {\"show\": {\"id\": 11, \"name\": \"W\", \"webChannel\": {\"id\": 4,"
      "  \"name\": \"WC\", \"country\": null}}}}]";
  struct ingest_batch b;
  ingest_batch_init(&b);
  char err[256];
  assert_int_equal(ingest_parse_schedule(&b, doc, strlen(doc), err, sizeof err), INGEST_PARSE_OK);
  assert_int_equal(b.items_seen, 5);
  assert_int_equal(b.items_skipped, 3);
  assert_int_equal(b.n_episodes, 2);
  const struct ingest_episode *e = episode_(&b, 7);
  assert_null(e->name);
  assert_null(e->season);
  assert_string_equal(e->number, "2");
  assert_null(e->airdate);
  assert_null(e->airtime);
  assert_null(e->airstamp);
  assert_null(e->runtime);
  assert_null(e->rating);
  assert_null(e->image_url);
  assert_null(e->summary);
  const struct ingest_show *s = show_(&b, 9);
  assert_int_equal(s->n_genres, 1);
  assert_string_equal(s->genres[0], "G");
  assert_int_equal(s->dist_kind, 1);
  assert_null(s->tvmaze_updated);
  assert_int_equal(b.n_countries, 0); /* "usa" is not a code */
  assert_null(b.distributors[0].country_code);
  e = episode_(&b, 10);
  assert_string_equal(e->airstamp, "2030-01-01T10:00Z");
  assert_string_equal(e->airtime, "09:05");
  s = show_(&b, 11);
  assert_int_equal(s->dist_kind, 2);
  assert_int_equal(b.n_distributors, 2); /* network 4 and web channel 4 */
  ingest_batch_release(&b);
}

static void test_dedup(void **state) {
  (void)state;
  const char *d1 = "[{\"id\": 1, \"name\": \"old\", \"show\": {\"id\": 2, \"name\": \"A\"}}]";
  const char *d2 =
      "[{\"id\": 1, \"name\": \"new\", \"_embedded\": {\"show\": {\"id\": 2,"
      " \"name\": \"B\"}}}]";
  struct ingest_batch b;
  ingest_batch_init(&b);
  char err[64];
  assert_int_equal(ingest_parse_schedule(&b, d1, strlen(d1), err, sizeof err), INGEST_PARSE_OK);
  assert_int_equal(ingest_parse_schedule(&b, d2, strlen(d2), err, sizeof err), INGEST_PARSE_OK);
  assert_int_equal(b.n_episodes, 1);
  assert_int_equal(b.n_shows, 1);
  assert_string_equal(b.episodes[0].name, "new");
  assert_string_equal(b.shows[0].name, "A"); /* a show is normalized once per day */
  ingest_batch_release(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixture_day),
      cmocka_unit_test(test_bad_documents),
      cmocka_unit_test(test_junk_values),
      cmocka_unit_test(test_dedup),
  };
  return cmocka_run_group_tests_name("ingest_parse", tests, NULL, NULL);
}
