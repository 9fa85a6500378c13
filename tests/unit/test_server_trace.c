/*
 * server_trace (server/trace/server_trace.c): which gRPC codes make a
 * SERVER span an error, and that the observer does nothing (no slot
 * written, no current span) without an exporting tracer. The spans on the
 * wire: tests/integration/test_server_otel.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "otel_current.h"
#include "server_trace.h"
#include "tvmaze/v1/shows.pb-c.h"

static void test_is_error(void **state) {
  (void)state;
  const rpc_code errors[] = {RPC_UNKNOWN,  RPC_DEADLINE_EXCEEDED, RPC_UNIMPLEMENTED,
                             RPC_INTERNAL, RPC_UNAVAILABLE,       RPC_DATA_LOSS};
  const rpc_code fine[] = {RPC_OK,
                           RPC_CANCELLED,
                           RPC_INVALID_ARGUMENT,
                           RPC_NOT_FOUND,
                           RPC_ALREADY_EXISTS,
                           RPC_PERMISSION_DENIED,
                           RPC_RESOURCE_EXHAUSTED,
                           RPC_FAILED_PRECONDITION,
                           RPC_ABORTED,
                           RPC_OUT_OF_RANGE,
                           RPC_UNAUTHENTICATED};
  for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
    assert_true(server_trace_is_error(errors[i]));
  for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++)
    assert_false(server_trace_is_error(fine[i]));
}

/* Tracing off (no tracer, or one without an endpoint): the slot is left
 * alone and no span becomes current; the call is never read. */
static void test_off(void **state) {
  (void)state;
  struct otel_config c;
  memset(&c, 0, sizeof c);
  char err[256];
  assert_int_equal(otel_sampler_parse("always_on", NULL, &c.sampler, err, sizeof err), 0);
  struct otel_tracer *t = otel_tracer_create(&c, err, sizeof err);
  assert_non_null(t);
  int marker = 0;
  void *slot = &marker;
  struct rpc_call_report r = {.event = RPC_CALL_STARTED,
                              .service = &tvmaze__v1__shows__descriptor,
                              .method_index = 0,
                              .call = NULL, /* read only when exporting */
                              .slot = &slot};
  server_trace_observe(&r, NULL);
  server_trace_observe(&r, t);
  assert_ptr_equal(slot, &marker);
  assert_false(otel_current_active());
  r.event = RPC_CALL_FINISHED;
  server_trace_observe(&r, t);
  assert_ptr_equal(slot, &marker);
  otel_tracer_destroy(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_is_error),
      cmocka_unit_test(test_off),
  };
  return cmocka_run_group_tests_name("server_trace", tests, NULL, NULL);
}
