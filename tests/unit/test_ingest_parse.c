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

#include "batch_cmp.h"
#include "ingest_arena.h"
#include "ingest_parse.h"
#include "json_span.h"
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

static void parse_file_(struct row_batch *b, const char *rel) {
  size_t n;
  char *s = slurp_(rel, &n);
  char err[256];
  assert_int_equal(ingest_parse_schedule(b, NULL, s, n, err, sizeof err), INGEST_PARSE_OK);
  free(s);
}

static const struct row_show *show_(const struct row_batch *b, int id) {
  for (size_t i = 0; i < b->n_shows; i++) {
    if (b->shows[i].id == id) {
      return &b->shows[i];
    }
  }
  fail_msg("show %d missing", id);
  abort(); /* fail_msg does not return; tells the compiler so */
}

static const struct row_episode *episode_(const struct row_batch *b, int id) {
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
  struct row_batch b;
  row_batch_init(&b);
  parse_file_(&b, "tests/fake_tvmaze/fixtures/base/web-2030-01-01.json");
  parse_file_(&b, "tests/fake_tvmaze/fixtures/base/US-2030-01-01.json");
  assert_int_equal(b.items_seen, 4);
  assert_int_equal(b.n_episodes, 4);
  assert_int_equal(b.n_shows, 4);
  /* web channel 1 (Netflix, global) and network 1 (NBC, US): two rows */
  assert_int_equal(b.n_distributors, 3);
  int netflix = 0, nbc = 0;
  for (size_t i = 0; i < b.n_distributors; i++) {
    const struct row_distributor *d = &b.distributors[i];
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

  const struct row_show *st = show_(&b, 501);
  assert_int_equal(st->dist_kind, 2);
  assert_int_equal(st->dist_id, 1);
  assert_string_equal(st->summary,
                      "Stranger Things & friends' adventure.\nSecond line "
                      "\xf0\x9f\x91\xbe \"quoted\" \xc3\xa9t\xc3\xa9");
  assert_int_equal(st->n_genres, 2); /* "Drama" listed twice */
  assert_string_equal(st->genres[0], "Drama");
  assert_string_equal(st->genres[1], "Horror");
  assert_null(st->runtime); /* TVMaze's runtime is null: no stand-in */
  assert_string_equal(st->average_runtime, "50");
  const struct row_show *dw = show_(&b, 502);
  assert_string_equal(dw->runtime, "45");
  assert_null(dw->average_runtime);
  assert_null(st->rating);
  assert_string_equal(st->tvmaze_updated, "1893456501");

  const struct row_show *lost = show_(&b, 602);
  assert_int_equal(lost->dist_kind, 0);
  assert_null(lost->summary); /* "" -> NULL */
  assert_null(lost->image_url);

  const struct row_episode *e = episode_(&b, 1001);
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
  row_batch_release(&b);
}

static void test_bad_documents(void **state) {
  (void)state;
  struct row_batch b;
  row_batch_init(&b);
  char err[256];
  assert_int_equal(ingest_parse_schedule(&b, NULL, "[{\"id\": 1,", 10, err, sizeof err),
                   INGEST_PARSE_BAD_JSON);
  assert_non_null(strstr(err, "malformed JSON"));
  assert_int_equal(ingest_parse_schedule(&b, NULL, "{}", 2, err, sizeof err),
                   INGEST_PARSE_BAD_SHAPE);
  assert_int_equal(ingest_parse_schedule(&b, NULL, "[\"\xff\"]", 5, err, sizeof err),
                   INGEST_PARSE_BAD_JSON);
  assert_int_equal(ingest_parse_schedule(&b, NULL, "[]", 2, err, sizeof err), INGEST_PARSE_OK);
  assert_int_equal(b.n_episodes, 0);
  row_batch_release(&b);
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
  struct row_batch b;
  row_batch_init(&b);
  char err[256];
  assert_int_equal(ingest_parse_schedule(&b, NULL, doc, strlen(doc), err, sizeof err),
                   INGEST_PARSE_OK);
  assert_int_equal(b.items_seen, 5);
  assert_int_equal(b.items_skipped, 3);
  assert_int_equal(b.n_episodes, 2);
  const struct row_episode *e = episode_(&b, 7);
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
  const struct row_show *s = show_(&b, 9);
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
  row_batch_release(&b);
}

static void test_dedup(void **state) {
  (void)state;
  const char *d1 = "[{\"id\": 1, \"name\": \"old\", \"show\": {\"id\": 2, \"name\": \"A\"}}]";
  const char *d2 =
      "[{\"id\": 1, \"name\": \"new\", \"_embedded\": {\"show\": {\"id\": 2,"
      " \"name\": \"B\"}}}]";
  struct row_batch b;
  row_batch_init(&b);
  char err[64];
  assert_int_equal(ingest_parse_schedule(&b, NULL, d1, strlen(d1), err, sizeof err),
                   INGEST_PARSE_OK);
  assert_int_equal(ingest_parse_schedule(&b, NULL, d2, strlen(d2), err, sizeof err),
                   INGEST_PARSE_OK);
  assert_int_equal(b.n_episodes, 1);
  assert_int_equal(b.n_shows, 1);
  assert_string_equal(b.episodes[0].name, "new");
  assert_string_equal(b.shows[0].name, "A"); /* a show is normalized once per day */
  row_batch_release(&b);
}

/* ---- json_span ---- */

static const char *span_(const char *s) {
  return json_span_value(s, s + strlen(s));
}

static void test_json_span(void **state) {
  (void)state;
  const char *s = "\"a\\\"b\\\\\" rest";
  assert_ptr_equal(span_(s), s + 8);
  s = "{\"k\": [1, {\"x\": \"]}\"}], \"m\": null} ,";
  assert_ptr_equal(span_(s), s + strlen(s) - 2);
  s = "-12.5e3, 1";
  assert_ptr_equal(span_(s), s + 7);
  s = "true]";
  assert_ptr_equal(span_(s), s + 4);
  assert_null(span_("{\"a\": [1, 2}")); /* mismatched */
  assert_null(span_("{\"a\": \"x}"));   /* unterminated string */
  assert_null(span_("\"\\"));           /* escape at the end */
  assert_null(span_("[[[1]]"));         /* unterminated container */
  assert_null(span_(""));
  assert_null(span_(" 1")); /* whitespace is the caller's */
  assert_null(span_(","));
  char deep[2 * JSON_SPAN_MAX_DEPTH + 8];
  size_t k = 0;
  for (int i = 0; i < JSON_SPAN_MAX_DEPTH + 1; i++) {
    deep[k++] = '[';
  }
  for (int i = 0; i < JSON_SPAN_MAX_DEPTH + 1; i++) {
    deep[k++] = ']';
  }
  assert_null(json_span_value(deep, deep + k));                            /* one too deep */
  assert_ptr_equal(json_span_value(deep + 1, deep + k - 1), deep + k - 1); /* at the limit */

  struct json_span_member m[2] = {{.key = "show", .key_len = 4}, {.key = "id", .key_len = 2}};
  s = "{ \"id\" : 1 , \"show\":{\"id\":2}, \"id\": 3 } tail";
  assert_ptr_equal(json_span_object(s, s + strlen(s), m, 2), s + strlen(s) - 5);
  assert_int_equal(m[0].count, 1);
  assert_int_equal(m[1].count, 2);
  assert_int_equal(m[0].value_end - m[0].value, 8);
  assert_memory_equal(m[1].value, "3", 1); /* the last one */
  assert_false(m[0].escaped_keys);
  s = "{\"sh\\u006fw\": 1}";
  assert_non_null(json_span_object(s, s + strlen(s), m, 2));
  assert_int_equal(m[0].count, 0);
  assert_true(m[0].escaped_keys);
  s = "{}";
  assert_ptr_equal(json_span_object(s, s + 2, m, 2), s + 2);
  static const char *const bad[] = {"{\"a\" 1}", "{\"a\": 1,}", "[1]", "{\"a\": 1", "{1: 2}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_null(json_span_object(bad[i], bad[i] + strlen(bad[i]), m, 2));
  }
}

/* The items json_span_array_next yields for s: their texts and show
 * objects' texts, "|"-separated ("-" for no show), and the final result. */
static void items_are_(const char *s, const char *want, int want_r) {
  struct json_span_array a;
  struct json_span_item it;
  char got[512] = "";
  size_t k = 0;
  int r;
  json_span_array_begin(&a, s, strlen(s));
  while ((r = json_span_array_next(&a, &it)) > 0) {
    k +=
        (size_t)snprintf(got + k, sizeof got - k, "%s%.*s=%.*s", k ? "|" : "", (int)(it.end - it.p),
                         it.p, it.show ? (int)(it.show_end - it.show) : 1, it.show ? it.show : "-");
  }
  if (strcmp(got, want) != 0 || r != want_r) {
    fail_msg("%s: got %s (%d), want %s (%d)", s, got, r, want, want_r);
  }
  assert_int_equal(json_span_array_next(&a, &it), r); /* stays at its end */
}

static void test_json_span_items(void **state) {
  (void)state;
  items_are_(" [ ] ", "", 0);
  items_are_("[1, \"a\" ,null]\n", "1=-|\"a\"=-|null=-", 0);
  items_are_("[{\"show\": {\"id\": 1}}]", "{\"show\": {\"id\": 1}}={\"id\": 1}", 0);
  items_are_("[{\"_embedded\": {\"show\": {}}, \"show\": 2}]",
             "{\"_embedded\": {\"show\": {}}, \"show\": 2}={}", 0);
  items_are_("[{\"show\": {}, \"show\": {}}]", "{\"show\": {}, \"show\": {}}=-", 0);
  items_are_("[{\"s\\u0068ow\": {}, \"show\": {}}]", "{\"s\\u0068ow\": {}, \"show\": {}}=-", 0);
  items_are_("[{\"_embedded\": {\"show\": {}, \"show\": {}}}]",
             "{\"_embedded\": {\"show\": {}, \"show\": {}}}=-", 0);
  items_are_("[1] x", "1=-", -1);
  items_are_("[1,]", "1=-", -1);
  items_are_("[1 2]", "1=-", -1);
  items_are_("[", "", -1);
  items_are_("{}", "", -1);
  items_are_("", "", -1);
  items_are_("[[1}]", "", -1);
}

/* ---- the show memo ---- */

/* Parses doc with jansson's whole-document parse (ingest_parse_schedule_whole),
 * then through json_span without a memo, then twice with m (the second
 * time its shows are in m): same status, error and rows each time. */
static void same_rows_(struct ingest_show_memo *m, const char *doc, size_t n) {
  struct row_batch p, q;
  char perr[256] = "", merr[256] = "", why[512];
  row_batch_init(&p);
  enum ingest_parse_status ps = ingest_parse_schedule_whole(&p, doc, n, perr, sizeof perr);
  for (int round = 0; round < 3; round++) {
    row_batch_init(&q);
    enum ingest_parse_status ms =
        ingest_parse_schedule(&q, round == 0 ? NULL : m, doc, n, merr, sizeof merr);
    if (ms != ps || (ps != INGEST_PARSE_OK && strcmp(perr, merr) != 0)) {
      fail_msg("round %d of %.*s: status %d (%s) vs %d (%s)", round, (int)n, doc, ps, perr, ms,
               merr);
    }
    if (ingest_batch_diff(&p, &q, why, sizeof why) != 0) {
      fail_msg("round %d of %.*s: %s", round, (int)n, doc, why);
    }
    row_batch_release(&q);
  }
  row_batch_release(&p);
}

static void test_memo_fixtures(void **state) {
  (void)state;
  static const char *const sets[] = {"base", "changed", "base"};
  static const char *const docs[] = {"web-2030-01-01", "US-2030-01-01",  "web-2030-01-02",
                                     "US-2030-01-02",  "web-2030-01-03", "US-2030-01-03"};
  struct ingest_show_memo *m = ingest_show_memo_create((size_t)64 << 20);
  for (size_t s = 0; s < sizeof sets / sizeof *sets; s++) {
    /* a day's documents into one batch, as the runner does */
    for (size_t d = 0; d < sizeof docs / sizeof *docs; d += 2) {
      struct row_batch p, q;
      row_batch_init(&p);
      row_batch_init(&q);
      for (size_t k = d; k < d + 2; k++) {
        char rel[128], err[256], why[512];
        snprintf(rel, sizeof rel, "tests/fake_tvmaze/fixtures/%s/%s.json", sets[s], docs[k]);
        size_t n;
        char *doc = slurp_(rel, &n);
        assert_int_equal(ingest_parse_schedule_whole(&p, doc, n, err, sizeof err), INGEST_PARSE_OK);
        assert_int_equal(ingest_parse_schedule(&q, m, doc, n, err, sizeof err), INGEST_PARSE_OK);
        if (ingest_batch_diff(&p, &q, why, sizeof why) != 0) {
          fail_msg("%s: %s", rel, why);
        }
        same_rows_(m, doc, n);
        free(doc);
      }
      row_batch_release(&p);
      row_batch_release(&q);
    }
  }
  struct ingest_show_memo_stats st = ingest_show_memo_stats(m);
  assert_true(st.shows > 0);
  assert_true(st.hits > st.shows); /* the memo was used, not only filled */
  ingest_show_memo_destroy(m);
}

static void test_memo_edge_cases(void **state) {
  (void)state;
#define S_                                                                        \
  "{\"id\": 2, \"name\": \"A \\\"}]\", \"network\": {\"id\": 5, \"name\": \"N\"," \
  " \"country\": {\"code\": \"US\", \"name\": \"U\"}, \"officialSite\": \"a\"}}"
#define T_                                                                 \
  "{\"id\": 3, \"name\": \"B\", \"network\": {\"id\": 5, \"name\": \"N\"," \
  " \"country\": {\"code\": \"US\", \"name\": \"V\"}, \"officialSite\": \"b\"}}"
/* a show new to the memo, id n (a literal) */
#define U_(n)                                                                                     \
  "{\"id\": " #n ", \"name\": \"U" #n "\", \"genres\": [\"Drama\"], \"webChannel\": {\"id\": " #n \
  ", \"name\": \"W\", \"country\": null}, \"summary\": \"<p>s &amp; t</p>\"}"
  static const char *const docs[] = {
      "[{\"id\": 1, \"show\": " S_ "}, {\"id\": 4, \"show\": " T_ "}]",
      "[{\"id\": 4, \"show\": " T_ "}, {\"id\": 1, \"show\": " S_ "}]", /* last distributor wins */
      " \n[ {\"id\" : 1 ,\"_embedded\" :{ \"show\": " S_ " } } ]\t",
      "[{\"id\": 1, \"sh\\u006fw\": " S_ "}]",             /* escaped key */
      "[{\"id\": 1, \"show\": " S_ ", \"show\": " T_ "}]", /* repeated key */
      "[{\"id\": 1, \"show\": null, \"_embedded\": {\"show\": " S_ "}}]",
      "[{\"id\": 1, \"show\": 7, \"_embedded\": {\"show\": " T_ "}}]",
      "[{\"id\": 1, \"show\": " T_ ", \"_embedded\": {\"show\": " S_ "}}]", /* show first */
      "[{\"id\": 1, \"_embedded\": {\"show\": " S_ "}, \"_embedded\": {\"show\": " T_ "}}]",
      "[{\"id\": 1, \"_embedded\": {\"show\": " S_ ", \"show\": " T_ "}}]",
      "[{\"id\": 0, \"show\": " S_ "}, {\"id\": -3, \"show\": " T_ "}]", /* items skipped */
      "[{\"id\": 6, \"show\": {\"id\": 2, \"name\": \"changed\"}}, {\"id\": 1, \"show\": " S_ "}]",
      "[{\"id\": 7, \"show\": {\"id\": 8}}, {\"id\": 7, \"show\": {\"id\": 8}}]", /* no name */
      "[42, \"x\", null, [1, {\"show\": " S_ "}], {\"id\": 1, \"show\": " S_ "}]",
      "[]",
      " [ ] ",
      "[{\"id\": 1, \"show\": " S_ "}] x", /* trailing garbage */
      "[{\"id\": 1, \"show\": " S_ ",}]",  /* trailing comma */
      "[{\"id\": 1, \"show\": " S_ "}, {\"id\": 1 \"x\": 2}]",
      "[{\"id\": 1, \"show\": " S_ "} {\"id\": 2}]",
      "[{\"id\": 1, \"show\": " S_ "},]",
      "[{\"id\": 1, \"name\": \"\xff\", \"show\": " S_ "}]", /* bad UTF-8 outside the show */
      "[{\"id\": 1, \"show\": " S_ "}",                      /* unterminated array */
      "[{\"id\": 1, \"show\": {\"id\": 2, \"name\": \"A\"",  /* truncated show */
      "{\"id\": 1, \"show\": " S_ "}",                       /* not an array */
      "\"x\"",
      "",
      "[",
      "[{\"id\": 1, \"show\": " S_ "}, 01]",
      "[{\"id\": 1, \"show\": " S_ "}, tru]",
      "[{\"id\": 99999999999, \"show\": " S_ "}]",
      /* a show repeated within one document, new to the memo */
      "[{\"id\": 21, \"show\": " U_(21) "}, {\"id\": 22, \"show\": " U_(21) "}]",
      "[{\"id\": 23, \"show\": " U_(22) "}, {\"id\": 24, \"_embedded\": {\"show\": " U_(
          22) "}}, {\"id\": 25, \"show\": " U_(22) "}]",
      /* the first item is skipped (its show is recorded all the same) */
      "[{\"id\": 0, \"show\": " U_(23) "}, {\"id\": 26, \"show\": " U_(23) "}]",
      "[{\"show\": " U_(24) "}, 5, {\"id\": 27, \"show\": " U_(24) "}]",
      /* repeated, then the document fails: no row (its show may be recorded) */
      "[{\"id\": 28, \"show\": " U_(25) "}, {\"id\": 29, \"show\": " U_(25) "}] x",
      "[{\"id\": 30, \"show\": " U_(25) "}, {\"id\": 31, \"show\": " U_(25) "}]",
      /* the same id with other bytes in between: the first one is kept */
      "[{\"id\": 32, \"show\": " U_(26) "}, {\"id\": 33, \"show\": {\"id\": 26, "
      "\"name\": \"other\"}}, {\"id\": 34, \"show\": " U_(26) "}]",
  };
#undef U_
#undef S_
#undef T_
  struct ingest_show_memo *m = ingest_show_memo_create((size_t)64 << 20);
  /* and one that has no room for any show: every item is parsed in full */
  struct ingest_show_memo *full = ingest_show_memo_create(0);
  for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
    same_rows_(m, docs[i], strlen(docs[i]));
    same_rows_(full, docs[i], strlen(docs[i]));
  }
  assert_int_equal(ingest_show_memo_stats(full).shows, 0);
  ingest_show_memo_destroy(full);
  /* nested deeper than json_span allows: the whole-document parse decides */
  char deep[600];
  size_t k = (size_t)snprintf(deep, sizeof deep,
                              "[{\"id\": 1, \"show\": {\"id\": 2, \"name\": \"D\", \"x\": ");
  for (int i = 0; i < 200; i++) {
    deep[k++] = '[';
  }
  for (int i = 0; i < 200; i++) {
    deep[k++] = ']';
  }
  k += (size_t)snprintf(deep + k, sizeof deep - k, "}}]");
  same_rows_(m, deep, k);
  assert_true(ingest_show_memo_stats(m).hits > 0);
  ingest_show_memo_destroy(m);

  /* 12 show objects of one length and the same first and last 64 bytes
   * (one hash, more than the 8 compared per hash), each in two items: the
   * repeats past that bound are parsed in full, with the same rows */
  char same[8192];
  size_t len = (size_t)snprintf(same, sizeof same, "[");
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 12; i++) {
      len += (size_t)snprintf(same + len, sizeof same - len,
                              "%s{\"id\": %d, \"show\": {\"id\": 40, \"name\": \"H\", "
                              "\"pad\": \"%064d%c%064d\"}}",
                              round + i > 0 ? ", " : "", 100 + 12 * round + i, 0, 'a' + i, 0);
    }
  }
  len += (size_t)snprintf(same + len, sizeof same - len, "]");
  m = ingest_show_memo_create((size_t)64 << 20);
  same_rows_(m, same, len);
  ingest_show_memo_destroy(m);

  /* a memo that is full records nothing more and changes no row */
  m = ingest_show_memo_create(0);
  same_rows_(m, docs[0], strlen(docs[0]));
  assert_int_equal(ingest_show_memo_stats(m).shows, 0);
  ingest_show_memo_destroy(m);
}

/* A long document is parsed one item at a time: jansson's arena holds
 * about one item, not the document (16 MB of 400 items of 40 KB here). */
static void test_one_item_at_a_time(void **state) {
  (void)state;
  enum { ITEMS = 400, TEXT = 40000 };
  size_t cap = (size_t)ITEMS * (TEXT + 200) + 16, n = 0;
  char *doc = malloc(cap);
  assert_non_null(doc);
  doc[n++] = '[';
  for (int i = 0; i < ITEMS; i++) {
    n += (size_t)snprintf(doc + n, cap - n,
                          "%s{\"id\": %d, \"show\": {\"id\": %d, \"name\": \"S\"}, \"summary\": \"",
                          i > 0 ? "," : "", 1000 + i, 1 + i % 7);
    memset(doc + n, 'x', TEXT);
    n += TEXT;
    doc[n++] = '"';
    doc[n++] = '}';
  }
  doc[n++] = ']';
  struct row_batch b;
  row_batch_init(&b);
  char err[256];
  assert_int_equal(ingest_parse_schedule(&b, NULL, doc, n, err, sizeof err), INGEST_PARSE_OK);
  assert_int_equal(b.n_episodes, ITEMS);
  assert_int_equal(b.n_shows, 7);
  assert_true(ingest_arena_peak() <= (size_t)2 << 20);
  row_batch_release(&b);
  free(doc);
}

/* An item jansson refuses after items it took: the batch keeps the rows
 * of the earlier document only. */
static void test_failure_adds_nothing(void **state) {
  (void)state;
  const char *d1 = "[{\"id\": 1, \"name\": \"a\", \"show\": {\"id\": 2, \"name\": \"A\"}}]";
  const char *d2 =
      "[{\"id\": 3, \"show\": {\"id\": 4, \"name\": \"B\"}},"
      " {\"id\": 5, \"name\": \"\xff\", \"show\": {\"id\": 4, \"name\": \"B\"}}]";
  struct row_batch b;
  row_batch_init(&b);
  char err[256];
  assert_int_equal(ingest_parse_schedule(&b, NULL, d1, strlen(d1), err, sizeof err),
                   INGEST_PARSE_OK);
  assert_int_equal(ingest_parse_schedule(&b, NULL, d2, strlen(d2), err, sizeof err),
                   INGEST_PARSE_BAD_JSON);
  assert_non_null(strstr(err, "invalid UTF-8"));
  assert_int_equal(b.n_episodes, 1);
  assert_int_equal(b.n_shows, 1);
  assert_int_equal(b.items_seen, 1);
  assert_int_equal(b.episodes[0].id, 1);
  row_batch_release(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixture_day),        cmocka_unit_test(test_bad_documents),
      cmocka_unit_test(test_junk_values),        cmocka_unit_test(test_dedup),
      cmocka_unit_test(test_json_span),          cmocka_unit_test(test_json_span_items),
      cmocka_unit_test(test_memo_fixtures),      cmocka_unit_test(test_memo_edge_cases),
      cmocka_unit_test(test_one_item_at_a_time), cmocka_unit_test(test_failure_adds_nothing),
  };
  return cmocka_run_group_tests_name("ingest_parse", tests, NULL, NULL);
}
