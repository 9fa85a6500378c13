/*
 * test_ticker: common/ticker.c -- the function runs at once and again after
 * each interval, on the ticker's thread, and never after ticker_stop; a
 * stop wakes a long wait at once (else ctest's timeout fails the test).
 * Waits are for events (a count reached), never for a time.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ticker.h"

struct counter {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  int calls;
  pthread_t last_thread;
};

static void count_(void *arg) {
  struct counter *c = arg;
  pthread_mutex_lock(&c->lock);
  c->calls++;
  c->last_thread = pthread_self();
  pthread_cond_broadcast(&c->changed);
  pthread_mutex_unlock(&c->lock);
}

static void wait_calls_(struct counter *c, int n) {
  pthread_mutex_lock(&c->lock);
  while (c->calls < n) {
    pthread_cond_wait(&c->changed, &c->lock);
  }
  pthread_mutex_unlock(&c->lock);
}

static void test_repeats_until_stopped(void **state) {
  (void)state;
  struct counter c = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
  char err[128];
  struct ticker *t = ticker_start(5, count_, &c, "test", err, sizeof err);
  assert_non_null(t);
  wait_calls_(&c, 3);
  ticker_stop(t);
  pthread_mutex_lock(&c.lock);
  int after_stop = c.calls;
  assert_false(pthread_equal(c.last_thread, pthread_self()));
  pthread_mutex_unlock(&c.lock);
  assert_true(after_stop >= 3);
  /* The thread is joined: nothing can call count_ any more. */
  pthread_mutex_lock(&c.lock);
  assert_int_equal(c.calls, after_stop);
  pthread_mutex_unlock(&c.lock);
}

static void test_first_call_at_once_and_stop_wakes(void **state) {
  (void)state;
  struct counter c = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
  char err[128];
  /* An hour's interval: the first call must still come at once, and the
   * stop must not wait for the hour. */
  struct ticker *t = ticker_start(3600L * 1000, count_, &c, "test", err, sizeof err);
  assert_non_null(t);
  wait_calls_(&c, 1);
  ticker_stop(t);
  assert_int_equal(c.calls, 1);
}

static void test_stop_null(void **state) {
  (void)state;
  ticker_stop(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_repeats_until_stopped),
      cmocka_unit_test(test_first_call_at_once_and_stop_wakes),
      cmocka_unit_test(test_stop_null),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
