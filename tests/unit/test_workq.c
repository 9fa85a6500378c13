/*
 * Unit tests of common/workq.c: FIFO order, the bound (a pusher blocks
 * while the queue is full), close/drain (queued items still come out after
 * close, then the end; pushes fail), and the executor threaded and inline
 * (same calls, same order).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "workq.h"

static void *item_(uintptr_t i) {
  return (void *)i;
}

static void test_fifo_and_drain(void **state) {
  (void)state;
  struct workq *q = workq_create(3);
  void *it = NULL;
  for (uintptr_t i = 1; i <= 3; i++) {
    assert_int_equal(workq_push(q, item_(i)), 0);
  }
  assert_int_equal(workq_pop(q, &it), 1);
  assert_ptr_equal(it, item_(1));
  assert_int_equal(workq_push(q, item_(4)), 0); /* wraps around the ring */
  workq_close(q);
  workq_close(q); /* idempotent */
  assert_int_equal(workq_push(q, item_(5)), -1);
  for (uintptr_t i = 2; i <= 4; i++) {
    assert_int_equal(workq_pop(q, &it), 1);
    assert_ptr_equal(it, item_(i));
  }
  assert_int_equal(workq_pop(q, &it), 0);
  assert_int_equal(workq_pop(q, &it), 0);
  workq_destroy(q);
  workq_destroy(NULL);
}

struct pusher_ {
  struct workq *q;
  atomic_int pushed;
  int rc;
};

static void *pusher_main_(void *p) {
  struct pusher_ *x = p;
  for (uintptr_t i = 1; i <= 4; i++) {
    x->rc = workq_push(x->q, item_(i));
    if (x->rc != 0) {
      break;
    }
    atomic_fetch_add(&x->pushed, 1);
  }
  return NULL;
}

static void sleep_ms_(long ms) {
  struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000L};
  nanosleep(&ts, NULL);
}

/* Starts a thread pushing 1..4 into x->q (capacity cap) and waits until it
 * has pushed cap items and blocks on the next: the queue is full. */
static pthread_t pusher_start_(struct pusher_ *x, size_t cap) {
  x->q = workq_create(cap);
  atomic_init(&x->pushed, 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, pusher_main_, x), 0);
  for (int i = 0; i < 200 && (size_t)atomic_load(&x->pushed) < cap; i++) {
    sleep_ms_(5);
  }
  sleep_ms_(50);
  assert_int_equal(atomic_load(&x->pushed), cap); /* the next push waits */
  return t;
}

static void test_bound_blocks(void **state) {
  (void)state;
  struct pusher_ x;
  pthread_t t = pusher_start_(&x, 2);
  void *it = NULL;
  for (uintptr_t i = 1; i <= 4; i++) {
    assert_int_equal(workq_pop(x.q, &it), 1);
    assert_ptr_equal(it, item_(i));
  }
  pthread_join(t, NULL);
  assert_int_equal(x.rc, 0);
  workq_destroy(x.q);
}

static void test_close_wakes_pusher(void **state) {
  (void)state;
  struct pusher_ x;
  pthread_t t = pusher_start_(&x, 1);
  workq_close(x.q); /* the blocked second push fails */
  pthread_join(t, NULL);
  assert_int_equal(x.rc, -1);
  assert_int_equal(atomic_load(&x.pushed), 1);
  void *it = NULL;
  assert_int_equal(workq_pop(x.q, &it), 1); /* drained */
  assert_ptr_equal(it, item_(1));
  assert_int_equal(workq_pop(x.q, &it), 0);
  workq_destroy(x.q);
}

struct log_ {
  uintptr_t seen[64];
  size_t n;
  pthread_t caller;
  int on_caller; /* calls made on the submitting thread */
};

static void record_(void *item, void *arg) {
  struct log_ *l = arg;
  l->seen[l->n++] = (uintptr_t)item;
  l->on_caller += pthread_equal(pthread_self(), l->caller) != 0;
  if ((uintptr_t)item % 8 == 0) {
    sleep_ms_(2); /* let the queue fill */
  }
}

static void run_exec_(int threaded) {
  struct log_ l = {.caller = pthread_self()};
  struct workq_exec *e = workq_exec_start(2, threaded, record_, &l);
  assert_int_equal(workq_exec_threaded(e), threaded);
  for (uintptr_t i = 1; i <= 40; i++) {
    workq_exec_submit(e, item_(i));
  }
  workq_exec_finish(e);
  assert_int_equal(l.n, 40);
  for (size_t i = 0; i < l.n; i++) {
    assert_int_equal(l.seen[i], i + 1);
  }
  assert_int_equal(l.on_caller, threaded ? 0 : 40);
}

static void test_exec(void **state) {
  (void)state;
  run_exec_(1);
  run_exec_(0);
  workq_exec_finish(NULL);
  struct log_ l = {.caller = pthread_self()};
  workq_exec_finish(workq_exec_start(4, 1, record_, &l)); /* nothing submitted */
  assert_int_equal(l.n, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fifo_and_drain),
      cmocka_unit_test(test_bound_blocks),
      cmocka_unit_test(test_close_wakes_pusher),
      cmocka_unit_test(test_exec),
  };
  return cmocka_run_group_tests_name("workq", tests, NULL, NULL);
}
