/*
 * Shows service logic (server/services/query.c over store_shows.c) against
 * a real PostgreSQL holding tests/fixtures/query_fixture.sql: every filter
 * alone and combined, window defaults, pagination edges, ordering, every
 * validation error, GetShow NOT_FOUND and its next/previous episode. Expected values come from the
 * fixture.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "date.h"
#include "query.h"
#include "query_support.h"

/* protoc-c string fields are char *; literals are const. */
#define S(lit) ((char *)(uintptr_t)(lit))

static struct worker_ctx g_w;
static const char *g_url;

static int setup_(void **state) {
  (void)state;
  g_url = qs_fixture_db("tvmaze_test_query_shows");
  g_w.store = store_open(g_url);
  g_w.cache = NULL;
  return 0;
}

static int teardown_(void **state) {
  (void)state;
  store_close(g_w.store);
  return 0;
}

static Tvmaze__V1__ListShowsRequest march_(void) {
  Tvmaze__V1__ListShowsRequest r = TVMAZE__V1__LIST_SHOWS_REQUEST__INIT;
  r.date_from = S("2030-03-01");
  r.date_to = S("2030-03-31");
  return r;
}

/* Runs ListShows, asserts OK and the ids in order; returns the total. */
static int32_t expect_shows_(const Tvmaze__V1__ListShowsRequest *req, const int32_t *ids,
                             size_t n) {
  Tvmaze__V1__ListShowsResponse *out = NULL;
  char msg[256] = "";
  rpc_code code = QS(query_list_shows(&g_w, req, &qs_r, msg, sizeof msg), &g_w, out);
  if (code != RPC_OK) {
    fail_msg("ListShows: %s: %s", rpc_code_name(code), msg);
  }
  assert_int_equal(out->n_shows, n);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(out->shows[i]->id, ids[i]);
  }
  int32_t total = out->pagination->total;
  protobuf_c_message_free_unpacked(&out->base, NULL);
  return total;
}

static void list_shows_window_and_content(void **state) {
  (void)state;
  Tvmaze__V1__ListShowsRequest req = march_();
  Tvmaze__V1__ListShowsResponse *out = NULL;
  char msg[256];
  assert_int_equal(QS(query_list_shows(&g_w, &req, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  /* first airstamp in window: 102 (03-01 20:00), 101, 103, 104 */
  assert_int_equal(out->n_shows, 4);
  assert_int_equal(out->shows[0]->id, 102);
  assert_int_equal(out->shows[1]->id, 101);
  assert_int_equal(out->shows[2]->id, 103);
  assert_int_equal(out->shows[3]->id, 104);
  assert_int_equal(out->pagination->total, 4);
  assert_int_equal(out->pagination->page, 1);
  assert_int_equal(out->pagination->per_page, 20);
  assert_int_equal(out->pagination->total_pages, 1);
  Tvmaze__V1__Show *a = out->shows[1];
  assert_string_equal(a->name, "Alpha Drama");
  assert_non_null(a->rating);
  assert_true(a->rating->value == 8.5);
  assert_int_equal(a->n_genres, 2);
  assert_string_equal(a->genres[0], "Crime");
  assert_string_equal(a->genres[1], "Drama");
  assert_non_null(a->distributor);
  assert_string_equal(a->distributor->name, "NBC");
  assert_int_equal(a->distributor->kind, TVMAZE__V1__DISTRIBUTOR_KIND__DISTRIBUTOR_KIND_NETWORK);
  assert_string_equal(a->distributor->country->code, "US");
  assert_string_equal(a->distributor->country->timezone, "America/New_York");
  assert_string_equal(a->premiered, "2020-01-01");
  assert_string_equal(a->ended, "");
  /* only the episodes inside the window (1003 airs in April) */
  assert_int_equal(a->n_episodes, 2);
  assert_int_equal(a->episodes[0]->id, 1001);
  assert_int_equal(a->episodes[1]->id, 1002);
  assert_string_equal(a->episodes[0]->airdate, "2030-03-02");
  assert_int_equal(a->episodes[0]->airstamp->seconds, 1898730000); /* 2030-03-03T01:00Z */
  /* web channel without country; special without number */
  Tvmaze__V1__Show *d = out->shows[3];
  assert_int_equal(d->distributor->kind,
                   TVMAZE__V1__DISTRIBUTOR_KIND__DISTRIBUTOR_KIND_WEB_CHANNEL);
  assert_null(d->distributor->country);
  assert_int_equal(d->n_episodes, 3);
  assert_null(out->shows[2]->rating);
  assert_null(out->shows[2]->episodes[0]->number);
  assert_non_null(out->shows[2]->episodes[0]->season);
  protobuf_c_message_free_unpacked(&out->base, NULL);
}

static void list_shows_each_filter(void **state) {
  (void)state;
  Tvmaze__V1__ListShowsRequest r = march_();
  r.country = S("US");
  assert_int_equal(expect_shows_(&r, (int32_t[]){102, 101}, 2), 2);
  r.country = S("gb");
  assert_int_equal(expect_shows_(&r, (int32_t[]){103}, 1), 1);

  r = march_();
  r.distributor = S("netflix");
  assert_int_equal(expect_shows_(&r, (int32_t[]){104}, 1), 1);

  r = march_();
  Google__Protobuf__DoubleValue rating = GOOGLE__PROTOBUF__DOUBLE_VALUE__INIT;
  rating.value = 8.0;
  r.rating = &rating;
  assert_int_equal(expect_shows_(&r, (int32_t[]){101, 104}, 2), 2);

  r = march_();
  r.genre = S("DRAMA");
  assert_int_equal(expect_shows_(&r, (int32_t[]){101, 103, 104}, 3), 3);

  r = march_();
  r.q = S("alpha");
  assert_int_equal(expect_shows_(&r, (int32_t[]){101}, 1), 1);
  r.q = S("100%"); /* % literal */
  assert_int_equal(expect_shows_(&r, (int32_t[]){102}, 1), 1);
  r.q = S("%");
  assert_int_equal(expect_shows_(&r, (int32_t[]){102}, 1), 1);
  r.q = S("_"); /* only Gamma_Show has an underscore */
  assert_int_equal(expect_shows_(&r, (int32_t[]){103}, 1), 1);
  r.q = S("a_d"); /* would match "Alpha Drama" if _ were a wildcard */
  assert_int_equal(expect_shows_(&r, NULL, 0), 0);
}

static void list_shows_combined_filters(void **state) {
  (void)state;
  Tvmaze__V1__ListShowsRequest r = march_();
  r.country = S("US");
  r.genre = S("drama");
  assert_int_equal(expect_shows_(&r, (int32_t[]){101}, 1), 1);
  Google__Protobuf__DoubleValue rating = GOOGLE__PROTOBUF__DOUBLE_VALUE__INIT;
  rating.value = 7.5;
  r = march_();
  r.country = S("US");
  r.rating = &rating;
  r.q = S("ALP");
  r.distributor = S("NBC");
  assert_int_equal(expect_shows_(&r, (int32_t[]){101}, 1), 1);
  r.distributor = S("BBC One");
  assert_int_equal(expect_shows_(&r, NULL, 0), 0);
}

static void list_shows_default_window(void **state) {
  (void)state;
  /* today .. today+90: show 106 only (2030 shows lie beyond) */
  Tvmaze__V1__ListShowsRequest r = TVMAZE__V1__LIST_SHOWS_REQUEST__INIT;
  Tvmaze__V1__ListShowsResponse *out = NULL;
  char msg[256];
  assert_int_equal(QS(query_list_shows(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  assert_int_equal(out->n_shows, 1);
  assert_int_equal(out->shows[0]->id, 106);
  /* today and today+90 are in, yesterday and today+91 out */
  assert_int_equal(out->shows[0]->n_episodes, 2);
  assert_int_equal(out->shows[0]->episodes[0]->id, 1051);
  assert_int_equal(out->shows[0]->episodes[1]->id, 1052);
  protobuf_c_message_free_unpacked(&out->base, NULL);
  /* date_from alone: date_to = date_from + 90 */
  char from[11];
  date_format(date_today_utc() + 1, from);
  r.date_from = from;
  assert_int_equal(QS(query_list_shows(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  assert_int_equal(out->shows[0]->n_episodes, 2); /* today+90, today+91 */
  assert_int_equal(out->shows[0]->episodes[1]->id, 1053);
  protobuf_c_message_free_unpacked(&out->base, NULL);
}

static void list_shows_pagination(void **state) {
  (void)state;
  Tvmaze__V1__ListShowsRequest r = march_();
  Google__Protobuf__Int32Value page = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  Google__Protobuf__Int32Value per = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  per.value = 3;
  r.per_page = &per;
  r.page = &page;
  page.value = 1;
  assert_int_equal(expect_shows_(&r, (int32_t[]){102, 101, 103}, 3), 4);
  page.value = 2; /* last page */
  Tvmaze__V1__ListShowsResponse *out = NULL;
  char msg[256];
  assert_int_equal(QS(query_list_shows(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  assert_int_equal(out->n_shows, 1);
  assert_int_equal(out->shows[0]->id, 104);
  assert_int_equal(out->shows[0]->n_episodes, 3);
  assert_int_equal(out->pagination->total_pages, 2);
  assert_int_equal(out->pagination->page, 2);
  protobuf_c_message_free_unpacked(&out->base, NULL);
  page.value = 3; /* past the end: empty page, right total */
  assert_int_equal(QS(query_list_shows(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  assert_int_equal(out->n_shows, 0);
  assert_int_equal(out->pagination->total, 4);
  assert_int_equal(out->pagination->total_pages, 2);
  protobuf_c_message_free_unpacked(&out->base, NULL);
  /* ordering stable across calls and page sizes */
  per.value = 1;
  for (int p = 1; p <= 4; p++) {
    page.value = p;
    int32_t want[] = {102, 101, 103, 104};
    assert_int_equal(expect_shows_(&r, &want[p - 1], 1), 4);
  }
}

static void list_episodes_order_filters_pages(void **state) {
  (void)state;
  Tvmaze__V1__ListEpisodesRequest r = TVMAZE__V1__LIST_EPISODES_REQUEST__INIT;
  r.date_from = S("2030-03-01");
  r.date_to = S("2030-03-31");
  Tvmaze__V1__ListEpisodesResponse *out = NULL;
  char msg[256];
  assert_int_equal(QS(query_list_episodes(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  int32_t want[] = {1011, 1012, 1001, 1021, 1002, 1031, 1032, 1033};
  assert_int_equal(out->n_episodes, 8);
  for (size_t i = 0; i < 8; i++) {
    assert_int_equal(out->episodes[i]->id, want[i]);
  }
  assert_int_equal(out->pagination->total, 8);
  assert_string_equal(out->episodes[0]->airtime, "15:00");
  assert_int_equal(out->episodes[0]->runtime->value, 30);
  assert_null(out->episodes[1]->rating);
  protobuf_c_message_free_unpacked(&out->base, NULL);

  r.country = S("US");
  r.q = S("beta");
  assert_int_equal(QS(query_list_episodes(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  assert_int_equal(out->n_episodes, 2);
  assert_int_equal(out->episodes[0]->id, 1011);
  protobuf_c_message_free_unpacked(&out->base, NULL);

  r.country = S("");
  r.q = S("");
  r.genre = S("drama");
  Google__Protobuf__Int32Value page = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  Google__Protobuf__Int32Value per = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  page.value = 2;
  per.value = 4;
  r.page = &page;
  r.per_page = &per;
  /* drama in March: 1001, 1021, 1002, 1031, 1032, 1033 -> page 2 of 4 = 1032, 1033 */
  assert_int_equal(QS(query_list_episodes(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  assert_int_equal(out->pagination->total, 6);
  assert_int_equal(out->n_episodes, 2);
  assert_int_equal(out->episodes[0]->id, 1032);
  assert_int_equal(out->episodes[1]->id, 1033);
  protobuf_c_message_free_unpacked(&out->base, NULL);
  page.value = 9;
  assert_int_equal(QS(query_list_episodes(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  assert_int_equal(out->n_episodes, 0);
  assert_int_equal(out->pagination->total, 6);
  protobuf_c_message_free_unpacked(&out->base, NULL);
}

static void get_show_and_not_found(void **state) {
  (void)state;
  Tvmaze__V1__GetShowRequest r = TVMAZE__V1__GET_SHOW_REQUEST__INIT;
  r.id = 101;
  Tvmaze__V1__GetShowResponse *out = NULL;
  char msg[256];
  assert_int_equal(QS(query_get_show(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  assert_int_equal(out->show->id, 101);
  assert_int_equal(out->show->n_episodes, 3); /* every stored episode */
  assert_int_equal(out->show->episodes[2]->id, 1003);
  assert_string_equal(out->show->summary, "About Alpha Drama");
  assert_int_equal(out->show->updated_at->seconds, 1735689600);
  protobuf_c_message_free_unpacked(&out->base, NULL);
  r.id = 999;
  assert_int_equal(QS(query_get_show(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_NOT_FOUND);
  assert_null(out);
  assert_string_equal(msg, "show 999 not found");
  r.id = 0;
  assert_int_equal(QS(query_get_show(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out),
                   RPC_INVALID_ARGUMENT);
  assert_non_null(strstr(msg, "id:"));
}

/* GetShow's next_episode / previous_episode, relative to now: episodes of
 * show 101 a day before, two and five days after now, and one without an
 * airstamp (neither); the fixture's own are in 2030, after these. */
static void get_show_next_and_previous(void **state) {
  (void)state;
  qs_exec(g_url,
          "INSERT INTO episodes (id, show_id, name, airdate, airstamp) VALUES"
          " (1901, 101, 'Yesterday', current_date - 1, now() - interval '1 day'),"
          " (1902, 101, 'Soon', current_date + 2, now() + interval '2 days'),"
          " (1903, 101, 'Later', current_date + 5, now() + interval '5 days'),"
          " (1904, 101, 'Undated', current_date + 1, NULL)");
  Tvmaze__V1__GetShowRequest r = TVMAZE__V1__GET_SHOW_REQUEST__INIT;
  r.id = 101;
  Tvmaze__V1__GetShowResponse *out = NULL;
  char msg[256];
  assert_int_equal(QS(query_get_show(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  assert_non_null(out->next_episode);
  assert_int_equal(out->next_episode->id, 1902);
  assert_string_equal(out->next_episode->name, "Soon");
  assert_non_null(out->next_episode->airstamp);
  assert_non_null(out->previous_episode);
  assert_int_equal(out->previous_episode->id, 1901);
  protobuf_c_message_free_unpacked(&out->base, NULL);
  /* nothing before now: no previous_episode */
  qs_exec(g_url, "DELETE FROM episodes WHERE id = 1901");
  assert_int_equal(QS(query_get_show(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  assert_null(out->previous_episode);
  assert_int_equal(out->next_episode->id, 1902);
  protobuf_c_message_free_unpacked(&out->base, NULL);
  qs_exec(g_url, "DELETE FROM episodes WHERE id IN (1902, 1903, 1904)");
}

/* Asserts INVALID_ARGUMENT whose message starts with field ":". */
static void expect_invalid_(const Tvmaze__V1__ListShowsRequest *r, const char *field) {
  Tvmaze__V1__ListShowsResponse *out = NULL;
  char msg[256] = "";
  rpc_code code = QS(query_list_shows(&g_w, r, &qs_r, msg, sizeof msg), &g_w, out);
  if (code != RPC_INVALID_ARGUMENT || strncmp(msg, field, strlen(field)) != 0 ||
      msg[strlen(field)] != ':') {
    fail_msg("want INVALID_ARGUMENT on %s, got %s: %s", field, rpc_code_name(code), msg);
  }
  assert_null(out);
  /* the same filter on ListEpisodes */
  Tvmaze__V1__ListEpisodesRequest e = TVMAZE__V1__LIST_EPISODES_REQUEST__INIT;
  e.date_from = r->date_from;
  e.date_to = r->date_to;
  e.country = r->country;
  e.distributor = r->distributor;
  e.rating = r->rating;
  e.genre = r->genre;
  e.q = r->q;
  e.page = r->page;
  e.per_page = r->per_page;
  Tvmaze__V1__ListEpisodesResponse *eout = NULL;
  assert_int_equal(QS(query_list_episodes(&g_w, &e, &qs_r, msg, sizeof msg), &g_w, eout),
                   RPC_INVALID_ARGUMENT);
  assert_null(eout);
  assert_int_equal(strncmp(msg, field, strlen(field)), 0);
}

static void validation_errors(void **state) {
  (void)state;
  Tvmaze__V1__ListShowsRequest r = march_();
  r.date_from = S("2030-02-30");
  expect_invalid_(&r, "date_from");
  r = march_();
  r.date_to = S("tomorrow");
  expect_invalid_(&r, "date_to");
  r = march_();
  r.date_from = S("2030-04-01");
  expect_invalid_(&r, "date_from"); /* after date_to */
  r = march_();
  r.date_to = S("2032-01-01");
  expect_invalid_(&r, "date_to"); /* window too long */
  /* issue 19 finding 5: API.md's range, checked before any arithmetic */
  r = march_();
  r.date_from = S("9999-12-31");
  r.date_to = NULL; /* the default date_to would be past year 9999 */
  expect_invalid_(&r, "date_from");
  r.date_from = S("1899-12-31");
  expect_invalid_(&r, "date_from");
  r.date_from = S("2200-01-01");
  expect_invalid_(&r, "date_from");
  r = march_();
  r.date_to = S("2200-01-01");
  r.date_from = S("2199-12-31");
  expect_invalid_(&r, "date_to");
  Google__Protobuf__Int32Value v = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  r = march_();
  r.per_page = &v;
  v.value = 0;
  expect_invalid_(&r, "per_page");
  v.value = 101;
  expect_invalid_(&r, "per_page");
  r = march_();
  r.page = &v;
  v.value = 0;
  expect_invalid_(&r, "page");
  v.value = -3;
  expect_invalid_(&r, "page");
  Google__Protobuf__DoubleValue d = GOOGLE__PROTOBUF__DOUBLE_VALUE__INIT;
  r = march_();
  r.rating = &d;
  d.value = 10.5;
  expect_invalid_(&r, "rating");
  d.value = -0.1;
  expect_invalid_(&r, "rating");
  r = march_();
  r.country = S("USA");
  expect_invalid_(&r, "country");
  r.country = S("U1");
  expect_invalid_(&r, "country");
  char q[202 * 2 + 1];
  for (int i = 0; i < 201; i++) { /* 201 two-byte characters */
    q[2 * i] = (char)0xC3;
    q[2 * i + 1] = (char)0xA9;
  }
  q[402] = '\0';
  r = march_();
  r.q = q;
  expect_invalid_(&r, "q");
  q[400] = '\0'; /* exactly 200 characters: fine */
  assert_int_equal(expect_shows_(&r, NULL, 0), 0);
  r.q = S("bad \xff utf8");
  expect_invalid_(&r, "q");
  r = march_();
  r.distributor = S("\xc3\x28");
  expect_invalid_(&r, "distributor");
  char longname[150];
  memset(longname, 'x', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  r = march_();
  r.genre = longname;
  expect_invalid_(&r, "genre");
}

/* The country filter reads episodes.country_code (migration 004), kept by
 * triggers: a new episode, a show moved to another distributor, a
 * distributor's country changed. */
static void country_follows_writes(void **state) {
  (void)state;
  Tvmaze__V1__ListShowsRequest r = march_();
  r.country = S("US");
  assert_int_equal(expect_shows_(&r, (int32_t[]){102, 101}, 2), 2);
  /* Gamma_Show (BBC One, GB) moves to NBC (US). */
  qs_exec(g_url,
          "UPDATE shows SET distributor_id = (SELECT id FROM distributors"
          " WHERE name = 'NBC') WHERE id = 103");
  assert_int_equal(expect_shows_(&r, (int32_t[]){102, 101, 103}, 3), 3);
  /* NBC becomes British. */
  qs_exec(g_url, "UPDATE distributors SET country_code = 'GB' WHERE name = 'NBC'");
  assert_int_equal(expect_shows_(&r, NULL, 0), 0);
  r.country = S("GB");
  assert_int_equal(expect_shows_(&r, (int32_t[]){102, 101, 103}, 3), 3);
  /* Netflix (no country) gets one; a new episode of its show. */
  qs_exec(g_url, "UPDATE distributors SET country_code = 'US' WHERE name = 'Netflix'");
  qs_exec(g_url,
          "INSERT INTO episodes (id, show_id, name, airdate, airstamp)"
          " VALUES (1999, 104, 'D new', '2030-03-20', '2030-03-20 12:00+00')");
  r.country = S("US");
  Tvmaze__V1__ListEpisodesRequest e = TVMAZE__V1__LIST_EPISODES_REQUEST__INIT;
  e.date_from = S("2030-03-01");
  e.date_to = S("2030-03-31");
  e.country = S("US");
  Tvmaze__V1__ListEpisodesResponse *out = NULL;
  char msg[256] = "";
  assert_int_equal(QS(query_list_episodes(&g_w, &e, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  int found = 0;
  for (size_t i = 0; i < out->n_episodes; i++) {
    assert_int_equal(out->episodes[i]->show_id, 104);
    found |= out->episodes[i]->id == 1999;
  }
  assert_true(found);
  protobuf_c_message_free_unpacked(&out->base, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(list_shows_window_and_content),
      cmocka_unit_test(list_shows_each_filter),
      cmocka_unit_test(list_shows_combined_filters),
      cmocka_unit_test(list_shows_default_window),
      cmocka_unit_test(list_shows_pagination),
      cmocka_unit_test(list_episodes_order_filters_pages),
      cmocka_unit_test(get_show_and_not_found),
      cmocka_unit_test(get_show_next_and_previous),
      cmocka_unit_test(validation_errors),
      cmocka_unit_test(country_follows_writes), /* last: changes the fixture */
  };
  return cmocka_run_group_tests(tests, setup_, teardown_);
}
