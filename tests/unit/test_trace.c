/*
 * trace (gateway/trace.c): an incoming X-Request-Id kept only when valid
 * (else the trace id's hex), a traceparent's trace id kept with a span of
 * our own and its sampled flag honoured (parent-based), a malformed one
 * ignored, no span recorded without an endpoint, background identities
 * never sampled, and generated ids well-formed and distinct across many
 * identities and two threads sharing a tracer.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "otel_config.h"
#include "otel_tracer.h"
#include "trace.h"

static int hex_(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return 1;
}

/* A tracer with no endpoint and the given sampler. */
static struct otel_tracer *tracer_(const char *sampler, const char *arg) {
  struct otel_config c;
  memset(&c, 0, sizeof c);
  snprintf(c.service_name, sizeof c.service_name, "test");
  char err[256];
  assert_int_equal(otel_sampler_parse(sampler, arg, &c.sampler, err, sizeof err), 0);
  struct otel_tracer *t = otel_tracer_create(&c, err, sizeof err);
  assert_non_null(t);
  return t;
}

static void test_incoming(void **state) {
  (void)state;
  struct otel_tracer *tr = tracer_("parentbased_always_on", NULL);
  struct gw_trace t;
  gw_trace_init(tr, &t, "req-1.a:B_c", NULL, 0);
  assert_string_equal(t.request_id, "req-1.a:B_c");
  assert_int_equal(t.deadline_ms, 0);
  assert_null(t.span); /* sampled, but no endpoint: nothing recorded */
  assert_int_equal(t.ctx.flags, OTEL_FLAG_SAMPLED);
  /* invalid ids are replaced by the trace id's 32 hex digits */
  const char *bad[] = {"", "has space", "semi;colon", NULL};
  for (int i = 0; i < 4; i++) {
    gw_trace_init(tr, &t, bad[i], NULL, 0);
    assert_int_equal(strlen(t.request_id), 32);
    assert_true(hex_(t.request_id, 32));
    char tid[33], sid[17];
    gw_trace_ids(&t, tid, sid);
    assert_string_equal(t.request_id, tid);
    assert_int_equal(strlen(sid), 16);
  }
  char longid[130];
  memset(longid, 'a', 129);
  longid[129] = '\0';
  gw_trace_init(tr, &t, longid, NULL, 0);
  assert_int_equal(strlen(t.request_id), 32);
  /* a well-formed traceparent keeps its trace id, with a span of our own */
  const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  gw_trace_init(tr, &t, "x", tp, 0);
  char tid[33], sid[17];
  gw_trace_ids(&t, tid, sid);
  assert_string_equal(tid, "0af7651916cd43dd8448eb211c80319c");
  assert_string_not_equal(sid, "b7ad6b7169203331");
  assert_int_equal(t.ctx.flags, OTEL_FLAG_SAMPLED);
  /* its sampled flag 0 is honoured by the parent-based sampler */
  gw_trace_init(tr, &t, "x", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", 0);
  gw_trace_ids(&t, tid, sid);
  assert_string_equal(tid, "0af7651916cd43dd8448eb211c80319c");
  assert_int_equal(t.ctx.flags, 0);
  /* a malformed one is ignored: a new trace */
  gw_trace_init(tr, &t, "x", "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", 0);
  gw_trace_ids(&t, tid, sid);
  assert_string_not_equal(tid, "0af7651916cd43dd8448eb211c80319c");
  /* the gateway's own calls start no sampled trace */
  gw_trace_new(tr, &t);
  assert_int_equal(t.ctx.flags, 0);
  assert_null(t.span);
  gw_trace_ids(&t, tid, sid);
  assert_string_equal(t.request_id, tid);
  otel_tracer_destroy(tr);
}

#define PER_THREAD 20000

struct run {
  struct otel_tracer *tr;
  char (*ids)[33];
};

static void *gen_(void *arg) {
  struct run *r = arg;
  for (int i = 0; i < PER_THREAD; i++) {
    struct gw_trace t;
    gw_trace_new(r->tr, &t);
    memcpy(r->ids[i], t.request_id, 33);
  }
  return NULL;
}

static int cmp_(const void *a, const void *b) {
  return memcmp(a, b, 33);
}

/* Two threads sharing one tracer never hand out the same id. */
static void test_unique(void **state) {
  (void)state;
  struct otel_tracer *tr = tracer_(NULL, NULL);
  char(*ids)[33] = malloc(2 * PER_THREAD * sizeof *ids);
  struct run a = {tr, ids}, b = {tr, ids + PER_THREAD};
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
  otel_tracer_destroy(tr);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_incoming),
      cmocka_unit_test(test_unique),
  };
  return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
