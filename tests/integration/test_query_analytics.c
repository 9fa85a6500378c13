/*
 * The five Analytics reports (query.c over store_analytics.c) against
 * tests/fixtures/query_fixture.sql; expected values computed by hand from
 * the fixture rows (see the comments).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "query.h"
#include "query_support.h"

#define S(lit) ((char *)(uintptr_t)(lit))

static struct worker_ctx g_w;

static int setup_(void **state) {
  (void)state;
  g_w.store = store_open(qs_fixture_db("tvmaze_test_query_analytics"));
  return 0;
}

static int teardown_(void **state) {
  (void)state;
  store_close(g_w.store);
  return 0;
}

static void show_stats(void **state) {
  (void)state;
  Tvmaze__V1__ShowsWithEpisodeStatsRequest r = TVMAZE__V1__SHOWS_WITH_EPISODE_STATS_REQUEST__INIT;
  r.date_from = S("2030-03-01");
  r.date_to = S("2030-03-31");
  Tvmaze__V1__ShowsWithEpisodeStatsResponse *out = NULL;
  char msg[256];
  assert_int_equal(QS(query_show_stats(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  /* 104: 3 eps avg (8+9+10)/3=9; 101: 2 avg 8.5; 102: 2 avg 7 (one NULL); 103: 1 avg 6 */
  assert_int_equal(out->n_shows, 4);
  int32_t ids[] = {104, 101, 102, 103}, counts[] = {3, 2, 2, 1};
  double avgs[] = {9.0, 8.5, 7.0, 6.0};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(out->shows[i]->show_id, ids[i]);
    assert_int_equal(out->shows[i]->episode_count, counts[i]);
    assert_true(out->shows[i]->average_episode_rating->value == avgs[i]);
  }
  assert_string_equal(out->shows[0]->show_name, "Delta Docs");
  assert_true(out->shows[1]->show_rating->value == 8.5);
  assert_null(out->shows[3]->show_rating);
  protobuf_c_message_free_unpacked(&out->base, NULL);
  Google__Protobuf__Int32Value lim = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  lim.value = 1;
  r.limit = &lim;
  assert_int_equal(QS(query_show_stats(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  assert_int_equal(out->n_shows, 1);
  protobuf_c_message_free_unpacked(&out->base, NULL);
  lim.value = 1001;
  assert_int_equal(QS(query_show_stats(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out),
                   RPC_INVALID_ARGUMENT);
  assert_string_equal(msg, "limit: must be 1..1000");
}

static void top_by_genre(void **state) {
  (void)state;
  Tvmaze__V1__TopRatedByGenreRequest r = TVMAZE__V1__TOP_RATED_BY_GENRE_REQUEST__INIT;
  Tvmaze__V1__TopRatedByGenreResponse *out = NULL;
  char msg[256];
  assert_int_equal(QS(query_top_by_genre(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  /* Comedy: 102 (7.0), 105 (6.0); Crime: 101 (8.5); Drama: 104 (9), 101 (8.5), 105 (6);
   * 103 has no rating, 106 no genre */
  assert_int_equal(out->n_genres, 3);
  assert_string_equal(out->genres[0]->genre, "Comedy");
  assert_int_equal(out->genres[0]->n_shows, 2);
  assert_int_equal(out->genres[0]->shows[0]->show_id, 102);
  assert_int_equal(out->genres[0]->shows[1]->rank, 2);
  assert_string_equal(out->genres[1]->genre, "Crime");
  assert_int_equal(out->genres[1]->n_shows, 1);
  assert_string_equal(out->genres[2]->genre, "Drama");
  assert_int_equal(out->genres[2]->n_shows, 3);
  assert_int_equal(out->genres[2]->shows[0]->show_id, 104);
  assert_int_equal(out->genres[2]->shows[0]->rank, 1);
  assert_int_equal(out->genres[2]->shows[1]->show_id, 101);
  assert_int_equal(out->genres[2]->shows[2]->show_id, 105);
  assert_int_equal(out->genres[2]->shows[2]->rank, 3);
  assert_true(out->genres[2]->shows[2]->rating->value == 6.0);
  protobuf_c_message_free_unpacked(&out->base, NULL);
  Google__Protobuf__Int32Value lim = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  lim.value = 2;
  r.limit = &lim;
  r.genre = S("drama");
  assert_int_equal(QS(query_top_by_genre(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  assert_int_equal(out->n_genres, 1);
  assert_int_equal(out->genres[0]->n_shows, 2);
  assert_int_equal(out->genres[0]->shows[1]->show_id, 101);
  protobuf_c_message_free_unpacked(&out->base, NULL);
  lim.value = 0;
  assert_int_equal(QS(query_top_by_genre(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out),
                   RPC_INVALID_ARGUMENT);
}

static void network_perf(void **state) {
  (void)state;
  Tvmaze__V1__NetworkPerformanceRequest r = TVMAZE__V1__NETWORK_PERFORMANCE_REQUEST__INIT;
  Tvmaze__V1__NetworkPerformanceResponse *out = NULL;
  char msg[256];
  assert_int_equal(QS(query_network_perf(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  /* NBC: 101, 102, 106 -> 3, avg (8.5+7+5)/3 = 6.83, running 2, ended 1;
   * BBC One: 103, 105 -> 2, avg 6.0 (103 unrated), 1/1; Netflix: 104 -> 1, 9.0, 1/0 */
  assert_int_equal(out->n_distributors, 3);
  Tvmaze__V1__DistributorStats *nbc = out->distributors[0];
  assert_string_equal(nbc->distributor->name, "NBC");
  assert_string_equal(nbc->distributor->country->code, "US");
  assert_int_equal(nbc->show_count, 3);
  assert_true(nbc->average_rating->value == 6.83);
  assert_int_equal(nbc->running_count, 2);
  assert_int_equal(nbc->ended_count, 1);
  Tvmaze__V1__DistributorStats *bbc = out->distributors[1];
  assert_string_equal(bbc->distributor->name, "BBC One");
  assert_int_equal(bbc->show_count, 2);
  assert_true(bbc->average_rating->value == 6.0);
  assert_int_equal(bbc->running_count, 1);
  assert_int_equal(bbc->ended_count, 1);
  Tvmaze__V1__DistributorStats *nf = out->distributors[2];
  assert_string_equal(nf->distributor->name, "Netflix");
  assert_null(nf->distributor->country);
  assert_int_equal(nf->distributor->kind,
                   TVMAZE__V1__DISTRIBUTOR_KIND__DISTRIBUTOR_KIND_WEB_CHANNEL);
  assert_true(nf->average_rating->value == 9.0);
  protobuf_c_message_free_unpacked(&out->base, NULL);
}

static void monthly(void **state) {
  (void)state;
  Tvmaze__V1__MonthlyTrendsRequest r = TVMAZE__V1__MONTHLY_TRENDS_REQUEST__INIT;
  r.date_from = S("2030-02-01");
  r.date_to = S("2030-04-30");
  Tvmaze__V1__MonthlyTrendsResponse *out = NULL;
  char msg[256];
  assert_int_equal(QS(query_monthly(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  /* Feb: 1041 (40 min); Mar: 8 eps of 4 shows, (60+60+30+30+45+50*3)/8 = 46.875 -> 46.88;
   * Apr: 1003 (60) */
  assert_int_equal(out->n_months, 3);
  assert_string_equal(out->months[0]->month, "2030-02");
  assert_int_equal(out->months[0]->episode_count, 1);
  assert_true(out->months[0]->average_runtime->value == 40.0);
  assert_string_equal(out->months[1]->month, "2030-03");
  assert_int_equal(out->months[1]->episode_count, 8);
  assert_int_equal(out->months[1]->show_count, 4);
  assert_true(out->months[1]->average_runtime->value == 46.88);
  assert_string_equal(out->months[2]->month, "2030-04");
  assert_int_equal(out->months[2]->show_count, 1);
  protobuf_c_message_free_unpacked(&out->base, NULL);
  r.date_from = S("2030-05-01");
  assert_int_equal(QS(query_monthly(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out),
                   RPC_INVALID_ARGUMENT);
  assert_string_equal(msg, "date_from: must not be after date_to");
  /* issue 19 finding 5: past API.md's range -> INVALID_ARGUMENT, not INTERNAL */
  r.date_from = S("9999-12-31");
  r.date_to = NULL;
  assert_int_equal(QS(query_monthly(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out),
                   RPC_INVALID_ARGUMENT);
  assert_string_equal(msg, "date_from: must be a date YYYY-MM-DD in 1900-01-01..2199-12-31");
  r.date_from = S("2199-12-01"); /* the default date_to stops at 2199-12-31 */
  assert_int_equal(QS(query_monthly(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  protobuf_c_message_free_unpacked(&out->base, NULL);
}

static void show_stats_dates(void **state) {
  (void)state;
  Tvmaze__V1__ShowsWithEpisodeStatsRequest r = TVMAZE__V1__SHOWS_WITH_EPISODE_STATS_REQUEST__INIT;
  Tvmaze__V1__ShowsWithEpisodeStatsResponse *out = NULL;
  char msg[256];
  r.date_from = S("9999-12-31");
  assert_int_equal(QS(query_show_stats(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out),
                   RPC_INVALID_ARGUMENT);
  assert_int_equal(strncmp(msg, "date_from:", 10), 0);
  r.date_from = S("2030-03-01");
  r.date_to = S("2200-01-01");
  assert_int_equal(QS(query_show_stats(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out),
                   RPC_INVALID_ARGUMENT);
  assert_int_equal(strncmp(msg, "date_to:", 8), 0);
  assert_null(out);
}

static void countries(void **state) {
  (void)state;
  Tvmaze__V1__CountryDistributionRequest r = TVMAZE__V1__COUNTRY_DISTRIBUTION_REQUEST__INIT;
  Tvmaze__V1__CountryDistributionResponse *out = NULL;
  char msg[256];
  assert_int_equal(QS(query_countries(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  /* US: 101, 102, 106 -> 3 shows, 3+2+4 = 9 episodes, 1 distributor;
   * GB: 103, 105 -> 2 shows, 2 episodes, 1; global: 104 -> 1 show, 3 episodes, 1 */
  assert_int_equal(out->n_countries, 3);
  assert_string_equal(out->countries[0]->country->code, "US");
  assert_string_equal(out->countries[0]->country->name, "United States");
  assert_int_equal(out->countries[0]->show_count, 3);
  assert_int_equal(out->countries[0]->episode_count, 9);
  assert_int_equal(out->countries[0]->distributor_count, 1);
  assert_string_equal(out->countries[1]->country->code, "GB");
  assert_int_equal(out->countries[1]->show_count, 2);
  assert_int_equal(out->countries[1]->episode_count, 2);
  assert_null(out->countries[2]->country);
  assert_int_equal(out->countries[2]->show_count, 1);
  assert_int_equal(out->countries[2]->episode_count, 3);
  assert_int_equal(out->countries[2]->distributor_count, 1);
  protobuf_c_message_free_unpacked(&out->base, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(show_stats),   cmocka_unit_test(top_by_genre),
      cmocka_unit_test(network_perf), cmocka_unit_test(monthly),
      cmocka_unit_test(countries),    cmocka_unit_test(show_stats_dates),
  };
  return cmocka_run_group_tests(tests, setup_, teardown_);
}
