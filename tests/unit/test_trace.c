/*
 * trace (gateway/trace.c): an incoming X-Request-Id kept only when valid,
 * a traceparent's trace id kept with a new span, the request id used as
 * the trace id when it is 32 hex digits, and generated ids well-formed and
 * distinct across many identities and two threads sharing a generator.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trace.h"

static int hex_(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return 1;
}

/* 00-<32 hex>-<16 hex>-01 */
static void assert_traceparent_(const char *tp) {
  assert_int_equal(strlen(tp), 55);
  assert_memory_equal(tp, "00-", 3);
  assert_true(hex_(tp + 3, 32));
  assert_int_equal(tp[35], '-');
  assert_true(hex_(tp + 36, 16));
  assert_string_equal(tp + 52, "-01");
}

static void test_incoming(void **state) {
  (void)state;
  struct gw_idgen g;
  gw_idgen_init(&g);
  struct gw_trace t;
  gw_trace_init(&g, &t, "req-1.a:B_c", NULL);
  assert_string_equal(t.request_id, "req-1.a:B_c");
  assert_int_equal(t.deadline_ms, 0);
  assert_traceparent_(t.traceparent);
  /* invalid ids are replaced by 32 hex digits, which then name the trace */
  const char *bad[] = {"", "has space", "semi;colon", NULL};
  for (int i = 0; i < 3; i++) {
    gw_trace_init(&g, &t, bad[i], NULL);
    assert_int_equal(strlen(t.request_id), 32);
    assert_true(hex_(t.request_id, 32));
    assert_memory_equal(t.traceparent + 3, t.request_id, 32);
  }
  char longid[130];
  memset(longid, 'a', 129);
  longid[129] = '\0';
  gw_trace_init(&g, &t, longid, NULL);
  assert_int_equal(strlen(t.request_id), 32);
  /* a well-formed traceparent keeps its trace id, with a span of our own */
  const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  gw_trace_init(&g, &t, "x", tp);
  assert_traceparent_(t.traceparent);
  assert_memory_equal(t.traceparent + 3, tp + 3, 32);
  assert_memory_not_equal(t.traceparent + 36, tp + 36, 16);
  /* a malformed one is ignored */
  gw_trace_init(&g, &t, "x", "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01");
  assert_traceparent_(t.traceparent);
  assert_memory_not_equal(t.traceparent + 3, "0af7651916cd43dd8448eb211c80319c", 32);
}

#define PER_THREAD 20000

struct run {
  struct gw_idgen *g;
  char (*ids)[33];
};

static void *gen_(void *arg) {
  struct run *r = arg;
  for (int i = 0; i < PER_THREAD; i++) {
    struct gw_trace t;
    gw_trace_new(r->g, &t);
    memcpy(r->ids[i], t.request_id, 33);
  }
  return NULL;
}

static int cmp_(const void *a, const void *b) {
  return memcmp(a, b, 33);
}

/* Two threads sharing one generator never hand out the same id. */
static void test_unique(void **state) {
  (void)state;
  struct gw_idgen g;
  gw_idgen_init(&g);
  char(*ids)[33] = malloc(2 * PER_THREAD * sizeof *ids);
  struct run a = {&g, ids}, b = {&g, ids + PER_THREAD};
  pthread_t ta, tb;
  assert_int_equal(pthread_create(&ta, NULL, gen_, &a), 0);
  assert_int_equal(pthread_create(&tb, NULL, gen_, &b), 0);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  qsort(ids, 2 * PER_THREAD, sizeof *ids, cmp_);
  for (int i = 0; i < 2 * PER_THREAD; i++) {
    assert_int_equal(strlen(ids[i]), 32);
    assert_true(hex_(ids[i], 32));
    if (i > 0)
      assert_true(memcmp(ids[i - 1], ids[i], 33) != 0);
  }
  free(ids);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_incoming),
      cmocka_unit_test(test_unique),
  };
  return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
