/*
 * Read-through cache and store recovery (query.c, cache.c, db.c) against
 * real PostgreSQL and Redis: a hit is served from Redis; a data generation
 * bump (what an ingest commit does) makes new data visible at once; Redis
 * stopped mid-test -> same answers from PostgreSQL, Redis back -> used
 * again; PostgreSQL stopped -> UNAVAILABLE, then recovery by itself.
 * Services are stopped/started with scripts/services.sh.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cache.h"
#include "query.h"
#include "query_support.h"

#define S(lit) ((char *)(uintptr_t)(lit))

static struct worker_ctx g_w;
static const char *g_url;

static int setup_(void **state) {
  (void)state;
  g_url = qs_fixture_db("tvmaze_test_query_cache");
  g_w.store = store_open(g_url);
  g_w.cache = cache_open(testenv_redis_url());
  assert_non_null(g_w.cache);
  return 0;
}

static int teardown_(void **state) {
  (void)state;
  store_close(g_w.store);
  cache_close(g_w.cache);
  return 0;
}

static void services_(const char *verb) {
  const char *dir = getenv("TVMAZE_TEST_SERVICES_DIR");
  if (dir == NULL || dir[0] == '\0') {
    fail_msg("TVMAZE_TEST_SERVICES_DIR is not set");
  }
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "bash '%s' %s '%s' >/dev/null 2>&1",
           testenv_source_path("scripts/services.sh"), verb, dir);
  assert_int_equal(system(cmd), 0);
}

static void sleep_ms_(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ListShows for March 2030 with q="alpha": returns show 101's name. */
static rpc_code alpha_name_(char *name, size_t n) {
  Tvmaze__V1__ListShowsRequest r = TVMAZE__V1__LIST_SHOWS_REQUEST__INIT;
  r.date_from = S("2030-03-01");
  r.date_to = S("2030-03-31");
  r.q = S("alpha");
  Tvmaze__V1__ListShowsResponse *out = NULL;
  char msg[256];
  rpc_code code = query_list_shows(&g_w, &r, &out, msg, sizeof msg);
  if (code == RPC_OK) {
    assert_int_equal(out->n_shows, 1);
    snprintf(name, n, "%s", out->shows[0]->name);
    protobuf_c_message_free_unpacked(&out->base, NULL);
  }
  return code;
}

static void hit_and_generation_bump(void **state) {
  (void)state;
  struct cache_stats a, b;
  char name[64];
  cache_stats_get(&a);
  assert_int_equal(alpha_name_(name, sizeof name), RPC_OK); /* miss, stored */
  assert_int_equal(alpha_name_(name, sizeof name), RPC_OK); /* hit */
  cache_stats_get(&b);
  assert_int_equal(b.misses - a.misses, 1);
  assert_int_equal(b.hits - a.hits, 1);
  assert_string_equal(name, "Alpha Drama");

  /* A change without a generation bump is not visible: proof the hit came from Redis. */
  qs_exec(g_url, "UPDATE shows SET name = 'Alpha Renamed' WHERE id = 101");
  assert_int_equal(alpha_name_(name, sizeof name), RPC_OK);
  assert_string_equal(name, "Alpha Drama");
  /* What an ingest commit does: the next read sees the new data. */
  qs_exec(g_url, "UPDATE data_generation SET generation = generation + 1");
  assert_int_equal(alpha_name_(name, sizeof name), RPC_OK);
  assert_string_equal(name, "Alpha Renamed");
  cache_stats_get(&a);
  assert_int_equal(a.misses - b.misses, 1);
}

static void redis_down_then_back(void **state) {
  (void)state;
  char name[64];
  struct cache_stats a, b;
  services_("redis-stop");
  qs_exec(g_url,
          "UPDATE shows SET name = 'Alpha Third' WHERE id = 101;"
          "UPDATE data_generation SET generation = generation + 1");
  for (int i = 0; i < 3; i++) { /* no client-visible error, fresh data */
    assert_int_equal(alpha_name_(name, sizeof name), RPC_OK);
    assert_string_equal(name, "Alpha Third");
  }
  cache_stats_get(&a);
  assert_true(a.errors > 0);
  services_("redis-start");
  /* The handle retries after CACHE_RETRY_MS: poll until Redis serves a hit. */
  int used = 0;
  for (int i = 0; i < 100 && !used; i++) {
    cache_stats_get(&a);
    assert_int_equal(alpha_name_(name, sizeof name), RPC_OK);
    assert_string_equal(name, "Alpha Third");
    cache_stats_get(&b);
    used = b.hits > a.hits;
    if (!used) {
      sleep_ms_(100);
    }
  }
  assert_true(used);
}

static void postgres_restart(void **state) {
  (void)state;
  char name[64];
  services_("pg-stop");
  assert_int_equal(alpha_name_(name, sizeof name), RPC_UNAVAILABLE);
  Tvmaze__V1__GetShowRequest g = TVMAZE__V1__GET_SHOW_REQUEST__INIT;
  g.id = 101;
  Tvmaze__V1__GetShowResponse *out = NULL;
  char msg[256];
  assert_int_equal(query_get_show(&g_w, &g, &out, msg, sizeof msg), RPC_UNAVAILABLE);
  assert_string_equal(msg, "database unavailable; retry later");
  services_("pg-start");
  /* Reconnect attempts are spaced (db.c): poll until the store is back. */
  rpc_code code = RPC_UNAVAILABLE;
  for (int i = 0; i < 100 && code == RPC_UNAVAILABLE; i++) {
    code = alpha_name_(name, sizeof name);
    if (code == RPC_UNAVAILABLE) {
      sleep_ms_(100);
    }
  }
  assert_int_equal(code, RPC_OK);
  assert_int_equal(query_get_show(&g_w, &g, &out, msg, sizeof msg), RPC_OK);
  assert_int_equal(out->show->id, 101);
  protobuf_c_message_free_unpacked(&out->base, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(hit_and_generation_bump),
      cmocka_unit_test(redis_down_then_back),
      cmocka_unit_test(postgres_restart),
  };
  return cmocka_run_group_tests(tests, setup_, teardown_);
}
