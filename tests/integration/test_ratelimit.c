/*
 * ratelimit (common/ratelimit.c) against a real Redis, with blocks big
 * enough to be claimed ahead (limit 1,000: blocks of 10): four threads
 * hitting one key pass exactly the limit in a window, every count handed
 * out once, and the Redis counter holds what was claimed (the limit, plus
 * at most the two blocks claimed beyond it). Then the in-process table
 * alone (no Redis) for the same exactness.
 * Redis failing and recovering: test_ratelimit_redis_fault.sh.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "ratelimit.h"
#include "redis_conn.h"
#include "redis_url.h"
#include "testenv.h"

#define LIMIT 1000
#define THREADS 4
#define HITS 300             /* per thread: 1,200 in all, 200 over the limit */
#define WINDOW_S 1000000000L /* one window for the whole test */

struct run {
  struct ratelimit *rl;
  const char *id;
  int passed, refused;
  long seen[HITS]; /* the counts this thread was given (limit - remaining) */
  int nseen;
};

static void *hammer_(void *arg) {
  struct run *r = arg;
  for (int i = 0; i < HITS; i++) {
    struct ratelimit_rate rate;
    assert_int_equal(ratelimit_hit(r->rl, "test", r->id, LIMIT, WINDOW_S, 1, &rate), 1);
    if (rate.exceeded) {
      r->refused++;
    } else {
      r->passed++;
      r->seen[r->nseen++] = LIMIT - rate.remaining;
    }
  }
  return NULL;
}

static int cmp_(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return x < y ? -1 : x > y;
}

/* Runs THREADS threads on one key of rl; asserts exactly LIMIT passed, each
 * count 1..LIMIT given once (a count of LIMIT shows as remaining 0). */
static void exact_(struct ratelimit *rl, const char *id) {
  struct run runs[THREADS];
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) {
    memset(&runs[i], 0, sizeof runs[i]);
    runs[i].rl = rl;
    runs[i].id = id;
    assert_int_equal(pthread_create(&t[i], NULL, hammer_, &runs[i]), 0);
  }
  static long all[THREADS * HITS];
  int n = 0, passed = 0, refused = 0;
  for (int i = 0; i < THREADS; i++) {
    pthread_join(t[i], NULL);
    passed += runs[i].passed;
    refused += runs[i].refused;
    memcpy(all + n, runs[i].seen, (size_t)runs[i].nseen * sizeof *all);
    n += runs[i].nseen;
  }
  assert_int_equal(passed, LIMIT);
  assert_int_equal(refused, THREADS * HITS - LIMIT);
  qsort(all, (size_t)n, sizeof *all, cmp_);
  for (int i = 0; i < n; i++) {
    assert_int_equal(all[i], i + 1); /* 1..LIMIT, none twice, none skipped */
  }
}

static void test_redis_blocks_exact(void **state) {
  (void)state;
  char err[256] = "", id[64];
  snprintf(id, sizeof id, "blocks-%ld-%d", (long)time(NULL), (int)getpid());
  struct ratelimit *rl = ratelimit_create(testenv_redis_url(), err, sizeof err);
  assert_non_null(rl);
  exact_(rl, id);
  ratelimit_destroy(rl);

  /* the counter in Redis: what this process claimed */
  struct redis_url u;
  assert_int_equal(redis_url_parse(testenv_redis_url(), &u, err, sizeof err), REDIS_URL_OK);
  redisContext *c =
      redis_conn_open(&u, 2000, err, sizeof err); /* AUTH and SELECT as the code does */
  assert_non_null(c);
  redisReply *r = redisCommand(c, "GET rl:test:%s:%ld", id, (long)time(NULL) / WINDOW_S);
  assert_non_null(r);
  assert_int_equal(r->type, REDIS_REPLY_STRING);
  long claimed = strtol(r->str, NULL, 10);
  assert_true(claimed >= LIMIT);
  assert_true(claimed <= LIMIT + 2 * (LIMIT / 100));
  freeReplyObject(r);
  redisFree(c);
}

static void test_local_exact(void **state) {
  (void)state;
  char err[64];
  struct ratelimit *rl = ratelimit_create(NULL, err, sizeof err);
  assert_non_null(rl);
  exact_(rl, "local");
  ratelimit_destroy(rl);
}

#define FLOOD_KEYS 20000 /* over the table's 8,192 slots: evicts most entries */
#define FLOOD_HITS 3

static void *flood_(void *arg) {
  struct ratelimit *rl = arg;
  char id[32];
  for (int i = 0; i < FLOOD_KEYS; i++) {
    snprintf(id, sizeof id, "flood-%d", i);
    for (int k = 0; k < FLOOD_HITS; k++) {
      struct ratelimit_rate rate;
      assert_int_equal(ratelimit_hit(rl, "test", id, LIMIT, WINDOW_S, 1, &rate), 1);
      assert_int_equal(LIMIT - rate.remaining, k + 1);
    }
  }
  return NULL;
}

static void test_memo_after_eviction(void **state) {
  (void)state;
  char err[64];
  struct ratelimit *rl = ratelimit_create(NULL, err, sizeof err);
  assert_non_null(rl);
  struct ratelimit_rate rate;
  assert_int_equal(ratelimit_hit(rl, "test", "memo", LIMIT, WINDOW_S, 1, &rate), 1);
  assert_int_equal(LIMIT - rate.remaining, 1); /* this thread's memo: memo's counter */
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, flood_, rl), 0);
  pthread_join(t, NULL);
  /* its own counter (2) or, evicted, a fresh one (1); never a flood key's (4) */
  assert_int_equal(ratelimit_hit(rl, "test", "memo", LIMIT, WINDOW_S, 1, &rate), 1);
  long count = LIMIT - rate.remaining;
  assert_true(count == 1 || count == 2);
  /* another key, then back: the memo follows the last key counted */
  assert_int_equal(ratelimit_hit(rl, "test", "other", LIMIT, WINDOW_S, 1, &rate), 1);
  assert_int_equal(LIMIT - rate.remaining, 1);
  assert_int_equal(ratelimit_hit(rl, "test", "memo", LIMIT, WINDOW_S, 1, &rate), 1);
  assert_int_equal(LIMIT - rate.remaining, count + 1);
  ratelimit_destroy(rl);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_redis_blocks_exact),
      cmocka_unit_test(test_local_exact),
      cmocka_unit_test(test_memo_after_eviction),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
