/*
 * test_e2e_query: the real tvmaze-server binary, started on a free port
 * against a fresh database holding tests/fixtures/query_fixture.sql (and the
 * test Redis), called through the protoc-c stubs over the binding's client
 * half: one end-to-end case per Shows and Analytics RPC (expected values
 * computed by hand from the fixture, as in test_query_*.c), status codes
 * (NOT_FOUND, INVALID_ARGUMENT naming the field), and PostgreSQL stopped
 * under the running server: Health NOT_SERVING and calls UNAVAILABLE, then
 * SERVING and correct answers again after it is started, with no server
 * restart. The independent-client half is test_e2e_bufcurl.sh.
 * Needs TVMAZE_TEST_DATABASE_URL, TVMAZE_TEST_REDIS_URL,
 * TVMAZE_TEST_SERVICES_DIR (scripts/test.sh).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "grpc/health/v1/health.pb-c.h"
#include "query_support.h"
#include "rpc.h"
#include "tvmaze/v1/analytics.pb-c.h"
#include "tvmaze/v1/shows.pb-c.h"

#define S(lit) ((char *)(uintptr_t)(lit))
#define CALL_MS 10000

static pid_t g_server = -1;
static rpc_channel *g_ch;
static ProtobufCService *g_shows, *g_analytics, *g_health;

static void sleep_ms_(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Health/Check("") status, or -code when the call itself failed. */
static int health_(void) {
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(2000);
  grpc__health__v1__health__check(
      g_health, &req, (Grpc__Health__V1__HealthCheckResponse_Closure)rpc_client_keep_reply, &call);
  int st = call.code == RPC_OK ? (int)((Grpc__Health__V1__HealthCheckResponse *)call.reply)->status
                               : -(int)call.code;
  rpc_client_ctx_release(&call);
  return st;
}

/* Polls Health until it answers `want` (bounded number of attempts, no
 * timing assertion: a slow machine just polls longer). */
static void wait_health_(int want) {
  int st = -1;
  for (int i = 0; i < 600 && (st = health_()) != want; i++) {
    sleep_ms_(100);
  }
  assert_int_equal(st, want);
}

static int setup_(void **state) {
  (void)state;
  const char *url = qs_fixture_db("tvmaze_test_e2e_query");
  int port = testenv_free_port();
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
  const char *server = testenv_build_path("server/tvmaze-server");
  g_server = fork();
  if (g_server == 0) {
    setenv("DATABASE_URL", url, 1);
    setenv("REDIS_URL", testenv_redis_url(), 1);
    setenv("TVMAZE_INGEST_AT", "off", 1);
    setenv("TVMAZE_API_URL", "http://127.0.0.1:9", 1);
    execl(server, server, "--grpc-addr", addr, (char *)NULL);
    _exit(127);
  }
  rpc_init();
  g_ch = rpc_channel_create(addr, 0);
  rpc_channel_add_metadata(g_ch, "x-api-key", testenv_api_key(url, "e2e-query"));
  g_shows = rpc_client_service_create(g_ch, &tvmaze__v1__shows__descriptor);
  g_analytics = rpc_client_service_create(g_ch, &tvmaze__v1__analytics__descriptor);
  g_health = rpc_client_service_create(g_ch, &grpc__health__v1__health__descriptor);
  wait_health_(GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
  return 0;
}

static int teardown_(void **state) {
  (void)state;
  rpc_client_service_destroy(g_shows);
  rpc_client_service_destroy(g_analytics);
  rpc_client_service_destroy(g_health);
  rpc_channel_destroy(g_ch);
  rpc_cleanup();
  int status = 0;
  if (g_server > 0) {
    kill(g_server, SIGTERM);
    waitpid(g_server, &status, 0);
  }
  /* Drained and exited 0 on SIGTERM. */
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* ================================================================ Shows */

static rpc_code list_shows_(const char *from, const char *to,
                            Google__Protobuf__Int32Value *per_page, struct rpc_client_ctx *call) {
  Tvmaze__V1__ListShowsRequest req = TVMAZE__V1__LIST_SHOWS_REQUEST__INIT;
  req.date_from = S(from);
  req.date_to = S(to);
  req.per_page = per_page;
  tvmaze__v1__shows__list_shows(g_shows, &req,
                                (Tvmaze__V1__ListShowsResponse_Closure)rpc_client_keep_reply, call);
  return call->code;
}

static void list_shows(void **state) {
  (void)state;
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(CALL_MS);
  assert_int_equal(list_shows_("2030-03-01", "2030-03-31", NULL, &call), RPC_OK);
  const Tvmaze__V1__ListShowsResponse *r = (const Tvmaze__V1__ListShowsResponse *)call.reply;
  /* By first airstamp in the window: 102 (03-01), 101 (03-02), 103 (03-05), 104 (03-15). */
  static const int ids[] = {102, 101, 103, 104};
  static const size_t eps[] = {2, 2, 1, 3};
  assert_int_equal(r->n_shows, 4);
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(r->shows[i]->id, ids[i]);
    assert_int_equal(r->shows[i]->n_episodes, eps[i]);
  }
  assert_string_equal(r->shows[1]->name, "Alpha Drama");
  assert_true(r->shows[1]->rating->value == 8.5);
  assert_string_equal(r->shows[1]->distributor->name, "NBC");
  assert_string_equal(r->shows[1]->distributor->country->code, "US");
  assert_null(r->shows[3]->distributor->country); /* Netflix: global web channel */
  assert_non_null(r->pagination);
  assert_int_equal(r->pagination->page, 1);
  assert_int_equal(r->pagination->per_page, 20);
  assert_int_equal(r->pagination->total, 4);
  assert_int_equal(r->pagination->total_pages, 1);
  rpc_client_ctx_release(&call);

  Google__Protobuf__Int32Value pp = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  pp.value = 0;
  struct rpc_client_ctx bad = RPC_CLIENT_CTX_INIT(CALL_MS);
  assert_int_equal(list_shows_("2030-03-01", "2030-03-31", &pp, &bad), RPC_INVALID_ARGUMENT);
  assert_string_equal(bad.message, "per_page: must be 1..100");
  rpc_client_ctx_release(&bad);
  struct rpc_client_ctx bad_date = RPC_CLIENT_CTX_INIT(CALL_MS);
  assert_int_equal(list_shows_("2030-02-30", "", NULL, &bad_date), RPC_INVALID_ARGUMENT);
  assert_non_null(strstr(bad_date.message, "date_from"));
  rpc_client_ctx_release(&bad_date);
}

static void get_show(void **state) {
  (void)state;
  Tvmaze__V1__GetShowRequest req = TVMAZE__V1__GET_SHOW_REQUEST__INIT;
  req.id = 101;
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(CALL_MS);
  tvmaze__v1__shows__get_show(g_shows, &req,
                              (Tvmaze__V1__GetShowResponse_Closure)rpc_client_keep_reply, &call);
  assert_int_equal(call.code, RPC_OK);
  const Tvmaze__V1__Show *s = ((const Tvmaze__V1__GetShowResponse *)call.reply)->show;
  assert_non_null(s);
  assert_int_equal(s->id, 101);
  assert_string_equal(s->name, "Alpha Drama");
  assert_int_equal(s->n_genres, 2);
  assert_int_equal(s->n_episodes, 3); /* all stored episodes, not only a window */
  assert_int_equal(s->episodes[0]->id, 1001);
  assert_int_equal(s->episodes[2]->id, 1003);
  rpc_client_ctx_release(&call);

  req.id = 999;
  struct rpc_client_ctx nf = RPC_CLIENT_CTX_INIT(CALL_MS);
  tvmaze__v1__shows__get_show(g_shows, &req,
                              (Tvmaze__V1__GetShowResponse_Closure)rpc_client_keep_reply, &nf);
  assert_int_equal(nf.code, RPC_NOT_FOUND);
  assert_string_equal(nf.message, "show 999 not found");
  rpc_client_ctx_release(&nf);
}

static void list_episodes(void **state) {
  (void)state;
  Tvmaze__V1__ListEpisodesRequest req = TVMAZE__V1__LIST_EPISODES_REQUEST__INIT;
  Google__Protobuf__Int32Value page = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  Google__Protobuf__Int32Value per_page = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  req.date_from = S("2030-03-01");
  req.date_to = S("2030-03-31");
  page.value = 2;
  per_page.value = 5;
  req.page = &page;
  req.per_page = &per_page;
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(CALL_MS);
  tvmaze__v1__shows__list_episodes(
      g_shows, &req, (Tvmaze__V1__ListEpisodesResponse_Closure)rpc_client_keep_reply, &call);
  assert_int_equal(call.code, RPC_OK);
  const Tvmaze__V1__ListEpisodesResponse *r = (const Tvmaze__V1__ListEpisodesResponse *)call.reply;
  /* 8 episodes in March; page 2 of 5 per page holds the last 3. */
  assert_int_equal(r->pagination->total, 8);
  assert_int_equal(r->pagination->total_pages, 2);
  assert_int_equal(r->n_episodes, 3);
  for (size_t i = 0; i < r->n_episodes; i++) {
    assert_true(strcmp(r->episodes[i]->airdate, "2030-03-09") >= 0);
    assert_true(strcmp(r->episodes[i]->airdate, "2030-03-31") <= 0);
  }
  rpc_client_ctx_release(&call);
}

/* ================================================================ Analytics */

static void show_stats(void **state) {
  (void)state;
  Tvmaze__V1__ShowsWithEpisodeStatsRequest req = TVMAZE__V1__SHOWS_WITH_EPISODE_STATS_REQUEST__INIT;
  req.date_from = S("2030-03-01");
  req.date_to = S("2030-03-31");
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(CALL_MS);
  tvmaze__v1__analytics__shows_with_episode_stats(
      g_analytics, &req, (Tvmaze__V1__ShowsWithEpisodeStatsResponse_Closure)rpc_client_keep_reply,
      &call);
  assert_int_equal(call.code, RPC_OK);
  const Tvmaze__V1__ShowsWithEpisodeStatsResponse *r =
      (const Tvmaze__V1__ShowsWithEpisodeStatsResponse *)call.reply;
  /* 104: 3 eps avg 9; 101: 2 avg 8.5; 102: 2 avg 7; 103: 1 avg 6 */
  assert_int_equal(r->n_shows, 4);
  assert_int_equal(r->shows[0]->show_id, 104);
  assert_int_equal(r->shows[0]->episode_count, 3);
  assert_true(r->shows[0]->average_episode_rating->value == 9.0);
  assert_int_equal(r->shows[1]->show_id, 101);
  assert_true(r->shows[1]->average_episode_rating->value == 8.5);
  assert_null(r->shows[3]->show_rating);
  rpc_client_ctx_release(&call);
}

static void top_rated(void **state) {
  (void)state;
  Tvmaze__V1__TopRatedByGenreRequest req = TVMAZE__V1__TOP_RATED_BY_GENRE_REQUEST__INIT;
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(CALL_MS);
  tvmaze__v1__analytics__top_rated_by_genre(
      g_analytics, &req, (Tvmaze__V1__TopRatedByGenreResponse_Closure)rpc_client_keep_reply, &call);
  assert_int_equal(call.code, RPC_OK);
  const Tvmaze__V1__TopRatedByGenreResponse *r =
      (const Tvmaze__V1__TopRatedByGenreResponse *)call.reply;
  /* Comedy: 102, 105; Crime: 101; Drama: 104, 101, 105 */
  assert_int_equal(r->n_genres, 3);
  assert_string_equal(r->genres[0]->genre, "Comedy");
  assert_int_equal(r->genres[0]->n_shows, 2);
  assert_string_equal(r->genres[2]->genre, "Drama");
  assert_int_equal(r->genres[2]->n_shows, 3);
  assert_int_equal(r->genres[2]->shows[0]->show_id, 104);
  assert_int_equal(r->genres[2]->shows[2]->rank, 3);
  rpc_client_ctx_release(&call);

  Google__Protobuf__Int32Value lim = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  lim.value = 101;
  req.limit = &lim;
  struct rpc_client_ctx bad = RPC_CLIENT_CTX_INIT(CALL_MS);
  tvmaze__v1__analytics__top_rated_by_genre(
      g_analytics, &req, (Tvmaze__V1__TopRatedByGenreResponse_Closure)rpc_client_keep_reply, &bad);
  assert_int_equal(bad.code, RPC_INVALID_ARGUMENT);
  assert_non_null(strstr(bad.message, "limit"));
  rpc_client_ctx_release(&bad);
}

static void network_perf(void **state) {
  (void)state;
  Tvmaze__V1__NetworkPerformanceRequest req = TVMAZE__V1__NETWORK_PERFORMANCE_REQUEST__INIT;
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(CALL_MS);
  tvmaze__v1__analytics__network_performance(
      g_analytics, &req, (Tvmaze__V1__NetworkPerformanceResponse_Closure)rpc_client_keep_reply,
      &call);
  assert_int_equal(call.code, RPC_OK);
  const Tvmaze__V1__NetworkPerformanceResponse *r =
      (const Tvmaze__V1__NetworkPerformanceResponse *)call.reply;
  /* NBC: 3 shows, avg (8.5+7+5)/3 = 6.83, running 2, ended 1 */
  assert_int_equal(r->n_distributors, 3);
  assert_string_equal(r->distributors[0]->distributor->name, "NBC");
  assert_int_equal(r->distributors[0]->show_count, 3);
  assert_true(r->distributors[0]->average_rating->value == 6.83);
  assert_int_equal(r->distributors[0]->running_count, 2);
  assert_int_equal(r->distributors[0]->ended_count, 1);
  rpc_client_ctx_release(&call);
}

static void monthly(void **state) {
  (void)state;
  Tvmaze__V1__MonthlyTrendsRequest req = TVMAZE__V1__MONTHLY_TRENDS_REQUEST__INIT;
  req.date_from = S("2030-02-01");
  req.date_to = S("2030-04-30");
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(CALL_MS);
  tvmaze__v1__analytics__monthly_trends(
      g_analytics, &req, (Tvmaze__V1__MonthlyTrendsResponse_Closure)rpc_client_keep_reply, &call);
  assert_int_equal(call.code, RPC_OK);
  const Tvmaze__V1__MonthlyTrendsResponse *r =
      (const Tvmaze__V1__MonthlyTrendsResponse *)call.reply;
  /* Feb: 1 ep (40 min); Mar: 8 eps of 4 shows, avg runtime 46.88; Apr: 1 show */
  assert_int_equal(r->n_months, 3);
  assert_string_equal(r->months[1]->month, "2030-03");
  assert_int_equal(r->months[1]->episode_count, 8);
  assert_int_equal(r->months[1]->show_count, 4);
  assert_true(r->months[1]->average_runtime->value == 46.88);
  rpc_client_ctx_release(&call);
}

static void countries(void **state) {
  (void)state;
  Tvmaze__V1__CountryDistributionRequest req = TVMAZE__V1__COUNTRY_DISTRIBUTION_REQUEST__INIT;
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(CALL_MS);
  tvmaze__v1__analytics__country_distribution(
      g_analytics, &req, (Tvmaze__V1__CountryDistributionResponse_Closure)rpc_client_keep_reply,
      &call);
  assert_int_equal(call.code, RPC_OK);
  const Tvmaze__V1__CountryDistributionResponse *r =
      (const Tvmaze__V1__CountryDistributionResponse *)call.reply;
  /* US 3 shows/9 eps/1; GB 2/2/1; global 1/3/1 */
  assert_int_equal(r->n_countries, 3);
  assert_string_equal(r->countries[0]->country->code, "US");
  assert_int_equal(r->countries[0]->show_count, 3);
  assert_int_equal(r->countries[0]->episode_count, 9);
  assert_string_equal(r->countries[1]->country->code, "GB");
  assert_int_equal(r->countries[1]->show_count, 2);
  assert_null(r->countries[2]->country);
  assert_int_equal(r->countries[2]->episode_count, 3);
  rpc_client_ctx_release(&call);
}

/* ================================================================ PostgreSQL down */

static void postgres_down_and_back(void **state) {
  (void)state;
  testenv_services("pg-stop");
  /* Health: NOT_SERVING once the workers' connections notice (polled). */
  wait_health_(GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING);
  /* A request never asked before (not in the cache): UNAVAILABLE. */
  struct rpc_client_ctx down = RPC_CLIENT_CTX_INIT(CALL_MS);
  rpc_code code = list_shows_("2030-03-02", "2030-03-30", NULL, &down);
  rpc_client_ctx_release(&down);
  testenv_services("pg-start");
  assert_int_equal(code, RPC_UNAVAILABLE);
  /* Back without restarting the server. */
  wait_health_(GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
  struct rpc_client_ctx up = RPC_CLIENT_CTX_INIT(CALL_MS);
  for (int i = 0; i < 100 && list_shows_("2030-03-02", "2030-03-30", NULL, &up) != RPC_OK; i++) {
    rpc_client_ctx_release(&up); /* the other worker may still be reconnecting */
    up = (struct rpc_client_ctx)RPC_CLIENT_CTX_INIT(CALL_MS);
    sleep_ms_(100);
  }
  assert_int_equal(up.code, RPC_OK);
  /* 03-02..03-30: 101, 103, 104 (102 airs only on 03-01). */
  assert_int_equal(((Tvmaze__V1__ListShowsResponse *)up.reply)->pagination->total, 3);
  rpc_client_ctx_release(&up);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(list_shows),
      cmocka_unit_test(get_show),
      cmocka_unit_test(list_episodes),
      cmocka_unit_test(show_stats),
      cmocka_unit_test(top_rated),
      cmocka_unit_test(network_perf),
      cmocka_unit_test(monthly),
      cmocka_unit_test(countries),
      cmocka_unit_test(postgres_down_and_back),
  };
  return cmocka_run_group_tests_name("e2e_query", tests, setup_, teardown_);
}
