/*
 * Read-through cache and store recovery (query.c, cache.c, db.c) against
 * real PostgreSQL and Redis: a hit is served from the local layer or
 * Redis, a Redis hit fills the local layer, which stays within its size; a
 * data generation
 * bump committed by another connection with the ingest's SQL (generation + 1
 * and pg_notify in the change's transaction) makes new data visible at once
 * (the worker learns it from the notification, store_generation); a bump
 * while the worker's connection is gone is caught by the re-read after the
 * reconnect; replies come back packed (the cached bytes, exactly) and a
 * damaged entry is computed again; Redis stopped mid-test -> same answers from PostgreSQL, Redis
 * back -> used again; PostgreSQL stopped -> UNAVAILABLE, then recovery by
 * itself, seeing a bump made before the worker reconnected; GetCalendar
 * the same bytes uncached, on a miss and on a hit, and its refusals
 * (an unknown tz, over the event cap) never cached.
 * Services are stopped/started with scripts/services.sh.
 */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "arena.h"
#include "cache.h"
#include "date.h"
#include "query.h"
#include "query_support.h"
#include "store_ingest.h"

#define S(lit) ((char *)(uintptr_t)(lit))

/* What the ingest runs in each changing day's transaction (after its writes). */
#define INGEST_BUMP store_changes_commit_sql

#define LOCAL_BYTES (16u << 20) /* the server's default */

static struct worker_ctx g_w;

static uint64_t redis_hits_(const struct cache_stats *s) {
  return s->hits - s->local_hits;
}
static const char *g_url;

static int setup_(void **state) {
  (void)state;
  g_url = qs_fixture_db("tvmaze_test_query_cache");
  g_w.store = store_open(g_url);
  g_w.cache = cache_open(testenv_redis_url());
  assert_non_null(g_w.cache);
  cache_local_configure(LOCAL_BYTES);
  return 0;
}

static int teardown_(void **state) {
  (void)state;
  store_close(g_w.store);
  cache_close(g_w.cache);
  cache_local_configure(0);
  return 0;
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
  rpc_code code = QS(query_list_shows(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out);
  if (code == RPC_OK) {
    assert_int_equal(out->n_shows, 1);
    snprintf(name, n, "%s", out->shows[0]->name);
    protobuf_c_message_free_unpacked(&out->base, NULL);
  }
  return code;
}

/* Commits `change` + the ingest's bump in one transaction on another
 * connection, without waiting for the notification. */
static void commit_with_bump_(const char *change) {
  char sql[1024];
  snprintf(sql, sizeof sql, "%s; %s", change, INGEST_BUMP);
  qs_exec(g_url, sql);
}

/* Commits `change` + the ingest's bump in one transaction on another
 * connection, then waits (event, no deadline assertion) until the worker's
 * socket holds the notification: PostgreSQL delivers it asynchronously
 * right after the commit (docs/query.md "Cache": the residual window). */
static void ingest_commit_(const char *change) {
  commit_with_bump_(change);
  struct pollfd p = {.fd = PQsocket(store_conn(g_w.store)), .events = POLLIN};
  assert_int_equal(poll(&p, 1, 60000), 1);
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
  assert_int_equal(b.local_hits - a.local_hits, 1); /* the miss stored it locally too */
  assert_string_equal(name, "Alpha Drama");

  /* A change without the ingest's changes_commit does not move the version
   * and is not visible: proof the hit came from the cache. */
  qs_exec(g_url, "UPDATE shows SET name = 'Alpha Hidden' WHERE id = 101");
  assert_int_equal(alpha_name_(name, sizeof name), RPC_OK);
  assert_string_equal(name, "Alpha Drama");
  /* An ingest commit in another connection: the next read misses and sees it. */
  ingest_commit_("UPDATE shows SET name = 'Alpha Renamed' WHERE id = 101");
  assert_int_equal(alpha_name_(name, sizeof name), RPC_OK);
  assert_string_equal(name, "Alpha Renamed");
  cache_stats_get(&a);
  assert_int_equal(a.misses - b.misses, 1);
  /* ... and the new reply is cached under the new generation. */
  assert_int_equal(alpha_name_(name, sizeof name), RPC_OK);
  cache_stats_get(&b);
  assert_int_equal(b.hits - a.hits, 1);
  assert_int_equal(b.misses - a.misses, 0);
}

/* A cached GetShow reply lives only until its next_episode airs: an
 * episode 2 s from now is next; the reply is a hit until then, and after it
 * the reply is computed again (no version moved) with it as previous. */
static void get_show_until_next_airs(void **state) {
  (void)state;
  ingest_commit_(
      "INSERT INTO episodes (id, show_id, name, airdate, airstamp) VALUES"
      " (1950, 102, 'Imminent', current_date, now() + interval '2 seconds')");
  Tvmaze__V1__GetShowRequest g = TVMAZE__V1__GET_SHOW_REQUEST__INIT;
  g.id = 102;
  Tvmaze__V1__GetShowResponse *out = NULL;
  char msg[256];
  struct cache_stats a, b;
  cache_stats_get(&a);
  assert_int_equal(QS(query_get_show(&g_w, &g, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  assert_int_equal(out->next_episode->id, 1950);
  protobuf_c_message_free_unpacked(&out->base, NULL);
  assert_int_equal(QS(query_get_show(&g_w, &g, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  assert_int_equal(out->next_episode->id, 1950);
  protobuf_c_message_free_unpacked(&out->base, NULL);
  cache_stats_get(&b);
  assert_int_equal(b.misses - a.misses, 1);
  assert_int_equal(b.hits - a.hits, 1);
  sleep_ms_(3500);
  assert_int_equal(QS(query_get_show(&g_w, &g, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  assert_non_null(out->previous_episode);
  assert_int_equal(out->previous_episode->id, 1950);
  assert_true(out->next_episode == NULL || out->next_episode->id != 1950);
  protobuf_c_message_free_unpacked(&out->base, NULL);
  cache_stats_get(&a);
  assert_int_equal(a.misses - b.misses, 1);
}

/* Packed replies (what the gRPC services send as they are): with the cache
 * up, the miss (computed, cached, handed on as the bytes it packed for the
 * cache) and the hit (the cached bytes) are PACKED and are exactly the
 * bytes of the reply computed without the cache (a MESSAGE). */
static void packed_hit_is_the_bytes(void **state) {
  (void)state;
  Tvmaze__V1__ListShowsRequest r = TVMAZE__V1__LIST_SHOWS_REQUEST__INIT;
  r.date_from = S("2030-03-01");
  r.date_to = S("2030-03-31");
  r.country = S("US");
  uint8_t *packed[3] = {NULL, NULL, NULL};
  size_t len[3] = {0, 0, 0};
  struct cache_stats a, b;
  cache_stats_get(&a);
  for (int i = 0; i < 3; i++) { /* no cache, then miss and hit */
    struct cache *c = g_w.cache;
    if (i == 0) {
      g_w.cache = NULL;
    }
    struct query_reply out;
    char msg[256];
    assert_int_equal(query_list_shows(&g_w, &r, &out, msg, sizeof msg), RPC_OK);
    g_w.cache = c;
    assert_ptr_equal(out.type, &tvmaze__v1__list_shows_response__descriptor);
    if (i == 0) {
      assert_int_equal(out.kind, QUERY_REPLY_MESSAGE);
      assert_true(((Tvmaze__V1__ListShowsResponse *)out.message)->n_shows > 0);
      len[0] = protobuf_c_message_get_packed_size(out.message);
      packed[0] = malloc(len[0]);
      assert_int_equal(protobuf_c_message_pack(out.message, packed[0]), len[0]);
    } else {
      assert_int_equal(out.kind, QUERY_REPLY_PACKED);
      assert_null(out.message);
      len[i] = out.packed_len;
      packed[i] = out.packed; /* taken */
      out.packed = NULL;
    }
    query_reply_release(&g_w, &out);
    assert_int_equal(out.kind, QUERY_REPLY_NONE);
  }
  cache_stats_get(&b);
  assert_int_equal(b.misses - a.misses, 1);
  assert_int_equal(b.hits - a.hits, 1);
  assert_true(len[0] > 100);
  for (int i = 1; i < 3; i++) {
    assert_int_equal(len[i], len[0]);
    assert_memory_equal(packed[i], packed[0], len[0]);
  }
  for (int i = 0; i < 3; i++) {
    free(packed[i]);
  }
}

/* The number of non-overlapping occurrences of needle in data[0..len). */
static size_t count_in_(const uint8_t *data, size_t len, const char *needle) {
  size_t n = 0, k = strlen(needle);
  for (size_t i = 0; i + k <= len;) {
    if (memcmp(data + i, needle, k) == 0) {
      n++;
      i += k;
    } else {
      i++;
    }
  }
  return n;
}

/* GetCalendar through the read-through cache, heap-built (no arena): no
 * cache, then a miss and a hit answer the same bytes; the document holds one
 * VEVENT per episode of ListEpisodes' total for the same filters; an
 * unknown tz is refused naming it, a known one answers; over the event cap (5001 episodes inserted
 * on a day of their own, then deleted) it is INVALID_ARGUMENT naming date_to, never cached. */
static void calendar_through_cache(void **state) {
  (void)state;
  Tvmaze__V1__GetCalendarRequest r = TVMAZE__V1__GET_CALENDAR_REQUEST__INIT;
  r.date_from = S("2030-03-01");
  r.date_to = S("2030-03-31");
  Tvmaze__V1__ListEpisodesRequest le = TVMAZE__V1__LIST_EPISODES_REQUEST__INIT;
  le.date_from = r.date_from;
  le.date_to = r.date_to;
  Tvmaze__V1__ListEpisodesResponse *eps = NULL;
  char msg[256];
  assert_int_equal(QS(query_list_episodes(&g_w, &le, &qs_r, msg, sizeof msg), &g_w, eps), RPC_OK);
  int32_t total = eps->pagination->total;
  assert_true(total > 0);
  protobuf_c_message_free_unpacked(&eps->base, NULL);
  uint8_t *packed[3] = {NULL, NULL, NULL};
  size_t len[3] = {0, 0, 0};
  struct cache_stats a, b;
  cache_stats_get(&a);
  for (int i = 0; i < 3; i++) { /* no cache, then miss and hit */
    struct cache *c = g_w.cache;
    if (i == 0) {
      g_w.cache = NULL;
    }
    struct query_reply out;
    assert_int_equal(query_get_calendar(&g_w, &r, &out, msg, sizeof msg), RPC_OK);
    g_w.cache = c;
    assert_ptr_equal(out.type, &tvmaze__v1__get_calendar_response__descriptor);
    Tvmaze__V1__GetCalendarResponse *cal = qs_take(&g_w, &out);
    assert_non_null(cal);
    assert_string_equal(cal->content_type, "text/calendar; charset=utf-8");
    len[i] = protobuf_c_message_get_packed_size(&cal->base);
    packed[i] = malloc(len[i]);
    protobuf_c_message_pack(&cal->base, packed[i]);
    assert_int_equal(count_in_(cal->data.data, cal->data.len, "\r\nBEGIN:VEVENT\r\n"), total);
    assert_int_equal(count_in_(cal->data.data, cal->data.len, "\r\nEND:VEVENT\r\n"), total);
    assert_memory_equal(cal->data.data, "BEGIN:VCALENDAR\r\n", 17);
    protobuf_c_message_free_unpacked(&cal->base, NULL);
    query_reply_release(&g_w, &out);
  }
  cache_stats_get(&b);
  assert_int_equal(b.misses - a.misses, 1);
  assert_int_equal(b.hits - a.hits, 1);
  for (int i = 1; i < 3; i++) {
    assert_int_equal(len[i], len[0]);
    assert_memory_equal(packed[i], packed[0], len[0]);
  }
  for (int i = 0; i < 3; i++) {
    free(packed[i]);
  }

  struct query_reply out;
  r.tz = S("Mars/Olympus");
  assert_int_equal(query_get_calendar(&g_w, &r, &out, msg, sizeof msg), RPC_INVALID_ARGUMENT);
  assert_non_null(strstr(msg, "tz: "));
  query_reply_release(&g_w, &out);
  r.tz = S("Europe/Berlin");
  assert_int_equal(query_get_calendar(&g_w, &r, &out, msg, sizeof msg), RPC_OK);
  query_reply_release(&g_w, &out);
  r.tz = S("");

  qs_exec(g_url,
          "INSERT INTO episodes (id, show_id, name, season, number, type, airdate, airtime,"
          " airstamp, runtime) SELECT 500000 + g, 101, 'Bulk', 1, g, 'regular',"
          " '2041-01-01', '20:00', '2041-01-02 01:00+00', 30"
          " FROM generate_series(1, 5001) g");
  r.date_from = S("2041-01-01");
  r.date_to = S("2041-01-01");
  for (int i = 0; i < 2; i++) { /* refused, and not cached: refused again */
    assert_int_equal(query_get_calendar(&g_w, &r, &out, msg, sizeof msg), RPC_INVALID_ARGUMENT);
    assert_int_equal(out.kind, QUERY_REPLY_NONE);
    assert_non_null(strstr(msg, "date_to: the calendar would hold 5001 events, at most 5000"));
    query_reply_release(&g_w, &out);
  }
  qs_exec(g_url, "DELETE FROM episodes WHERE id > 500000");
}

/* A damaged cache entry (cut short, as a torn write would leave it) is not
 * handed on: the read computes the reply again, answers it and overwrites
 * the entry, which the next read hits. The key is built as query.c does. */
static void damaged_entry_is_a_miss(void **state) {
  (void)state;
  Tvmaze__V1__GetShowRequest g = TVMAZE__V1__GET_SHOW_REQUEST__INIT;
  g.id = 102;
  Tvmaze__V1__GetShowResponse *out = NULL;
  char msg[256];
  assert_int_equal(QS(query_get_show(&g_w, &g, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  size_t good_len = protobuf_c_message_get_packed_size(&out->base);
  uint8_t *good = malloc(good_len);
  protobuf_c_message_pack(&out->base, good);
  protobuf_c_message_free_unpacked(&out->base, NULL);

  int64_t gen = 0;
  assert_int_equal(store_generation(g_w.store, &gen), STORE_OK);
  char today[11];
  date_format(date_today_utc(), today);
  uint8_t rq[64];
  size_t rq_len = protobuf_c_message_pack(&g.base, rq);
  char key[256];
  int n = snprintf(key, sizeof key, "tvmaze:q1:GetShow:%lld:%s:", (long long)gen, today);
  assert_true(n > 0 && (size_t)n + rq_len < sizeof key);
  memcpy(key + n, rq, rq_len);
  size_t key_len = (size_t)n + rq_len;
  cache_put(g_w.cache, key, key_len, good, good_len / 2, 60); /* cut short */

  struct cache_stats a, b;
  cache_stats_get(&a);
  struct query_reply r;
  assert_int_equal(query_get_show(&g_w, &g, &r, msg, sizeof msg), RPC_OK);
  assert_int_equal(r.kind, QUERY_REPLY_PACKED);
  assert_int_equal(r.packed_len, good_len);
  assert_memory_equal(r.packed, good, good_len);
  query_reply_release(&g_w, &r);
  assert_int_equal(query_get_show(&g_w, &g, &r, msg, sizeof msg), RPC_OK); /* repaired */
  assert_int_equal(r.kind, QUERY_REPLY_PACKED);
  assert_memory_equal(r.packed, good, good_len);
  query_reply_release(&g_w, &r);
  cache_stats_get(&b);
  assert_int_equal(b.hits - a.hits, 2); /* the damaged one, then the repaired one */
  free(good);
}

/* With the local layer emptied, a hit comes from Redis and fills it; the
 * next one is local. */
static void redis_hit_fills_local(void **state) {
  (void)state;
  char name[64];
  struct cache_stats a, b;
  assert_int_equal(alpha_name_(name, sizeof name), RPC_OK); /* in Redis now */
  cache_local_configure(LOCAL_BYTES);                       /* empties the local layer */
  cache_stats_get(&a);
  assert_int_equal(a.local_bytes, 0);
  assert_int_equal(alpha_name_(name, sizeof name), RPC_OK);
  cache_stats_get(&b);
  assert_int_equal(redis_hits_(&b) - redis_hits_(&a), 1);
  assert_int_equal(b.local_hits - a.local_hits, 0);
  assert_true(b.local_bytes > 0);
  assert_int_equal(alpha_name_(name, sizeof name), RPC_OK);
  cache_stats_get(&a);
  assert_int_equal(a.local_hits - b.local_hits, 1);
  assert_int_equal(redis_hits_(&a) - redis_hits_(&b), 0);
}

/* The local layer holds at most its configured bytes, keeps the newest
 * entries it can, and leaves entries over 1/16 of its size to Redis. */
static void local_layer_is_bounded(void **state) {
  (void)state;
  const size_t cap = 256u << 10;
  cache_local_configure(cap);
  static char val[20u << 10];
  char key[64], *got = NULL;
  size_t len = 0;
  struct cache_stats a, b;
  for (int i = 0; i < 200; i++) {
    memset(val, 'a' + i % 26, 8u << 10);
    int n = snprintf(key, sizeof key, "tvmaze:test:bounded:%d", i);
    cache_put(g_w.cache, key, (size_t)n, val, 8u << 10, 60);
    cache_stats_get(&a);
    assert_true(a.local_bytes <= cap);
  }
  assert_true(a.local_bytes > cap / 2); /* it does hold entries */
  int n = snprintf(key, sizeof key, "tvmaze:test:bounded:%d", 199);
  assert_int_equal(cache_get(g_w.cache, key, (size_t)n, &got, &len), CACHE_HIT);
  cache_stats_get(&b);
  assert_int_equal(b.local_hits - a.local_hits, 1);
  assert_int_equal(len, 8u << 10);
  assert_int_equal(got[0], 'a' + 199 % 26);
  free(got);
  /* 20 KiB > cap / 16: stored in Redis only. */
  memset(val, 'z', sizeof val);
  n = snprintf(key, sizeof key, "tvmaze:test:bounded:big");
  cache_put(g_w.cache, key, (size_t)n, val, sizeof val, 60);
  assert_int_equal(cache_get(g_w.cache, key, (size_t)n, &got, &len), CACHE_HIT);
  cache_stats_get(&a);
  assert_int_equal(a.local_hits - b.local_hits, 0);
  assert_int_equal(redis_hits_(&a) - redis_hits_(&b), 1);
  assert_int_equal(len, sizeof val);
  free(got);
  cache_local_configure(LOCAL_BYTES);
}

/* Replies built in the worker's arena (what the gRPC workers do) pack to
 * the same bytes as heap-built ones, for every Shows read and a report;
 * query_reply_release resets the arena. Cache off: both are MESSAGEs from
 * the store. */
static void arena_replies_pack_identically(void **state) {
  (void)state;
  struct worker_ctx w = {.store = g_w.store};
  struct arena a;
  arena_init(&a, 4096); /* small chunks: replies span several */
  Tvmaze__V1__ListShowsRequest ls = TVMAZE__V1__LIST_SHOWS_REQUEST__INIT;
  ls.date_from = S("2030-03-01");
  ls.date_to = S("2030-03-31");
  Tvmaze__V1__GetShowRequest gs = TVMAZE__V1__GET_SHOW_REQUEST__INIT;
  gs.id = 101;
  Tvmaze__V1__ListEpisodesRequest le = TVMAZE__V1__LIST_EPISODES_REQUEST__INIT;
  le.date_from = S("2030-03-01");
  le.date_to = S("2030-03-31");
  Tvmaze__V1__NetworkPerformanceRequest np = TVMAZE__V1__NETWORK_PERFORMANCE_REQUEST__INIT;
  for (int call = 0; call < 4; call++) {
    uint8_t *packed[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    for (int i = 0; i < 2; i++) { /* heap, then arena */
      w.arena = i ? &a : NULL;
      struct query_reply out;
      char msg[256];
      rpc_code code = RPC_UNKNOWN;
      switch (call) {
      case 0:
        code = query_list_shows(&w, &ls, &out, msg, sizeof msg);
        break;
      case 1:
        code = query_get_show(&w, &gs, &out, msg, sizeof msg);
        break;
      case 2:
        code = query_list_episodes(&w, &le, &out, msg, sizeof msg);
        break;
      default:
        code = query_network_perf(&w, &np, &out, msg, sizeof msg);
        break;
      }
      assert_int_equal(code, RPC_OK);
      assert_int_equal(out.kind, QUERY_REPLY_MESSAGE);
      len[i] = protobuf_c_message_get_packed_size(out.message);
      packed[i] = malloc(len[i]);
      protobuf_c_message_pack(out.message, packed[i]);
      query_reply_release(&w, &out);
    }
    assert_true(len[0] > 20);
    assert_int_equal(len[0], len[1]);
    assert_memory_equal(packed[0], packed[1], len[0]);
    free(packed[0]);
    free(packed[1]);
  }
  /* An error path leaves nothing behind either. */
  gs.id = 999999;
  struct query_reply none;
  char msg[256];
  w.arena = &a;
  assert_int_equal(query_get_show(&w, &gs, &none, msg, sizeof msg), RPC_NOT_FOUND);
  assert_int_equal(none.kind, QUERY_REPLY_NONE);
  assert_null(none.message);
  assert_null(none.packed);
  query_reply_release(&w, &none);
  arena_release(&a);
}

/* The worker's backend is terminated, then a bump commits: its notification
 * is lost with the connection; the reconnect re-LISTENs and re-reads. */
static void bump_while_disconnected(void **state) {
  (void)state;
  char name[64], sql[128];
  assert_int_equal(alpha_name_(name, sizeof name), RPC_OK);
  assert_int_equal(alpha_name_(name, sizeof name), RPC_OK); /* hit */
  int pid = store_backend_pid(g_w.store);
  assert_true(pid > 0);
  snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d, 60000)", pid);
  qs_exec(g_url, sql); /* returns once the backend has exited */
  commit_with_bump_("UPDATE shows SET name = 'Alpha Fourth' WHERE id = 101; ");
  assert_int_equal(alpha_name_(name, sizeof name), RPC_OK);
  assert_string_equal(name, "Alpha Fourth");
  assert_int_not_equal(store_backend_pid(g_w.store), pid);
}

static void redis_down_then_back(void **state) {
  (void)state;
  char name[64];
  struct cache_stats a, b;
  assert_int_equal(alpha_name_(name, sizeof name), RPC_OK); /* cached, locally too */
  testenv_services("redis-stop");
  /* Unchanged data: the local copy still answers, Redis is not asked. */
  cache_stats_get(&a);
  assert_int_equal(alpha_name_(name, sizeof name), RPC_OK);
  cache_stats_get(&b);
  assert_int_equal(b.local_hits - a.local_hits, 1);
  assert_int_equal(b.errors - a.errors, 0);
  /* From here on only Redis is under test. */
  cache_local_configure(0);
  commit_with_bump_("UPDATE shows SET name = 'Alpha Third' WHERE id = 101; ");
  for (int i = 0; i < 3; i++) { /* no client-visible error, fresh data */
    assert_int_equal(alpha_name_(name, sizeof name), RPC_OK);
    assert_string_equal(name, "Alpha Third");
  }
  cache_stats_get(&a);
  assert_true(a.errors > 0);
  testenv_services("redis-start");
  /* The handle retries after CACHE_RETRY_MS: poll until Redis serves a hit. */
  int used = 0;
  for (int i = 0; i < 100 && !used; i++) {
    cache_stats_get(&a);
    assert_int_equal(alpha_name_(name, sizeof name), RPC_OK);
    assert_string_equal(name, "Alpha Third");
    cache_stats_get(&b);
    used = redis_hits_(&b) > redis_hits_(&a);
    if (!used) {
      sleep_ms_(100);
    }
  }
  assert_true(used);
  cache_local_configure(LOCAL_BYTES);
}

static void postgres_restart(void **state) {
  (void)state;
  char name[64];
  testenv_services("pg-stop");
  assert_int_equal(alpha_name_(name, sizeof name), RPC_UNAVAILABLE);
  Tvmaze__V1__GetShowRequest g = TVMAZE__V1__GET_SHOW_REQUEST__INIT;
  g.id = 101;
  Tvmaze__V1__GetShowResponse *out = NULL;
  char msg[256];
  assert_int_equal(QS(query_get_show(&g_w, &g, &qs_r, msg, sizeof msg), &g_w, out),
                   RPC_UNAVAILABLE);
  assert_string_equal(msg, "database unavailable; retry later");
  testenv_services("pg-start");
  /* A bump before the worker is back: nobody hears its notification. */
  commit_with_bump_("UPDATE shows SET name = 'Alpha Fifth' WHERE id = 101; ");
  /* Reconnect attempts are spaced (db.c): poll until the store is back. */
  rpc_code code = RPC_UNAVAILABLE;
  for (int i = 0; i < 100 && code == RPC_UNAVAILABLE; i++) {
    code = alpha_name_(name, sizeof name);
    if (code == RPC_UNAVAILABLE) {
      sleep_ms_(100);
    }
  }
  assert_int_equal(code, RPC_OK);
  assert_string_equal(name, "Alpha Fifth");
  assert_int_equal(QS(query_get_show(&g_w, &g, &qs_r, msg, sizeof msg), &g_w, out), RPC_OK);
  assert_int_equal(out->show->id, 101);
  protobuf_c_message_free_unpacked(&out->base, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(hit_and_generation_bump),  cmocka_unit_test(arena_replies_pack_identically),
      cmocka_unit_test(redis_hit_fills_local),    cmocka_unit_test(local_layer_is_bounded),
      cmocka_unit_test(bump_while_disconnected),  cmocka_unit_test(packed_hit_is_the_bytes),
      cmocka_unit_test(damaged_entry_is_a_miss),  cmocka_unit_test(redis_down_then_back),
      cmocka_unit_test(get_show_until_next_airs), cmocka_unit_test(calendar_through_cache),
      cmocka_unit_test(postgres_restart),
  };
  return cmocka_run_group_tests(tests, setup_, teardown_);
}
