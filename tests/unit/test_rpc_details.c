/*
 * test_rpc_details: rpc/rpc_details.c without a network: the details a
 * status carries (BadRequest with one violation per named field, RetryInfo
 * from the retry delay), the google.rpc.Status packed for the trailer
 * decoded back by protoc-c's own google.rpc.Status and by
 * rpc_details_unpack_, which skips unknown detail types.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "rpc.h"
#include "rpc_internal.h"

static const Google__Rpc__BadRequest *bad_request_(const struct rpc_details *d) {
  return (const Google__Rpc__BadRequest *)rpc_details_find(d,
                                                           &google__rpc__bad_request__descriptor);
}

static void assert_violation_(const Google__Rpc__BadRequest *br, size_t i, const char *field,
                              const char *desc) {
  assert_true(i < br->n_field_violations);
  assert_string_equal(br->field_violations[i]->field, field);
  assert_string_equal(br->field_violations[i]->description, desc);
}

static void one_field(void **state) {
  (void)state;
  struct rpc_details d;
  rpc_details_from_status(RPC_INVALID_ARGUMENT, "per_page: must be 1..100", 0, &d);
  assert_int_equal(d.n, 1);
  const Google__Rpc__BadRequest *br = bad_request_(&d);
  assert_non_null(br);
  assert_int_equal(br->n_field_violations, 1);
  assert_violation_(br, 0, "per_page", "must be 1..100");
  assert_int_equal(rpc_details_retry_seconds(&d), 0);
  rpc_details_clear(&d);
  assert_int_equal(d.n, 0);
}

static void several_fields(void **state) {
  (void)state;
  struct rpc_details d;
  rpc_details_from_status(RPC_INVALID_ARGUMENT,
                          "date_from: must be a date; rating: must be 0..10; "
                          "filter.name: bad; show_ids[2]: must be positive",
                          0, &d);
  const Google__Rpc__BadRequest *br = bad_request_(&d);
  assert_non_null(br);
  assert_int_equal(br->n_field_violations, 4);
  assert_violation_(br, 0, "date_from", "must be a date");
  assert_violation_(br, 1, "rating", "must be 0..10");
  assert_violation_(br, 2, "filter.name", "bad");
  assert_violation_(br, 3, "show_ids[2]", "must be positive");
  rpc_details_clear(&d);

  rpc_details_from_status(RPC_INVALID_ARGUMENT, "q: a; b c; rating: x", 0, &d);
  br = bad_request_(&d);
  assert_int_equal(br->n_field_violations, 2);
  assert_violation_(br, 0, "q", "a; b c"); /* "; b c" is no field: stays in the description */
  assert_violation_(br, 1, "rating", "x");
  rpc_details_clear(&d);
}

static void no_field_no_bad_request(void **state) {
  (void)state;
  struct rpc_details d;
  rpc_details_from_status(RPC_INVALID_ARGUMENT, "request does not parse", 0, &d);
  assert_int_equal(d.n, 0);
  rpc_details_from_status(RPC_INVALID_ARGUMENT, "", 0, &d);
  assert_int_equal(d.n, 0);
  rpc_details_from_status(RPC_INVALID_ARGUMENT, NULL, 0, &d);
  assert_int_equal(d.n, 0);
  /* a field-like message of another code is no BadRequest */
  rpc_details_from_status(RPC_NOT_FOUND, "id: no such show", 0, &d);
  assert_int_equal(d.n, 0);
  rpc_details_from_status(RPC_OK, "per_page: x", 5, &d);
  assert_int_equal(d.n, 0);
}

static void retry_info(void **state) {
  (void)state;
  struct rpc_details d;
  rpc_details_from_status(RPC_RESOURCE_EXHAUSTED, "rate limit exceeded for key k", 42, &d);
  assert_int_equal(d.n, 1);
  assert_null(bad_request_(&d));
  assert_int_equal(rpc_details_retry_seconds(&d), 42);
  rpc_details_clear(&d);
}

static void trailer_round_trip(void **state) {
  (void)state;
  struct rpc_details d;
  const char *msg = "per_page: must be 1..100; rating: must be 0..10";
  rpc_details_from_status(RPC_INVALID_ARGUMENT, msg, 7, &d);
  assert_int_equal(d.n, 2);
  size_t len = 0;
  uint8_t *bytes = rpc_details_pack_(RPC_INVALID_ARGUMENT, msg, &d, &len);
  rpc_details_clear(&d);

  /* protoc-c's own google.rpc.Status reads it */
  Google__Rpc__Status *st = google__rpc__status__unpack(NULL, len, bytes);
  assert_non_null(st);
  assert_int_equal(st->code, RPC_INVALID_ARGUMENT);
  assert_string_equal(st->message, msg);
  assert_int_equal(st->n_details, 2);
  assert_string_equal(st->details[0]->type_url, "type.googleapis.com/google.rpc.BadRequest");
  assert_string_equal(st->details[1]->type_url, "type.googleapis.com/google.rpc.RetryInfo");
  google__rpc__status__free_unpacked(st, NULL);

  struct rpc_details back;
  assert_int_equal(rpc_details_unpack_(bytes, len, &back), 0);
  assert_int_equal(back.n, 2);
  const Google__Rpc__BadRequest *br = bad_request_(&back);
  assert_non_null(br);
  assert_violation_(br, 0, "per_page", "must be 1..100");
  assert_violation_(br, 1, "rating", "must be 0..10");
  assert_int_equal(rpc_details_retry_seconds(&back), 7);
  rpc_details_clear(&back);
  free(bytes);

  /* not a Status */
  static const uint8_t junk[] = {0xff, 0xff, 0xff};
  assert_int_equal(rpc_details_unpack_(junk, sizeof junk, &back), -1);
  assert_int_equal(back.n, 0);
}

static void unknown_types_skipped(void **state) {
  (void)state;
  Google__Protobuf__Any any[2] = {GOOGLE__PROTOBUF__ANY__INIT, GOOGLE__PROTOBUF__ANY__INIT};
  Google__Protobuf__Any *pa[2] = {&any[0], &any[1]};
  any[0].type_url = (char *)"type.googleapis.com/google.rpc.DebugInfo";
  Google__Rpc__RetryInfo ri = GOOGLE__RPC__RETRY_INFO__INIT;
  Google__Protobuf__Duration dur = GOOGLE__PROTOBUF__DURATION__INIT;
  dur.seconds = 3;
  ri.retry_delay = &dur;
  uint8_t rib[32];
  any[1].type_url = (char *)"type.googleapis.com/google.rpc.RetryInfo";
  any[1].value.len = google__rpc__retry_info__pack(&ri, rib);
  any[1].value.data = rib;
  Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
  st.code = RPC_UNAVAILABLE;
  st.n_details = 2;
  st.details = pa;
  uint8_t buf[128];
  size_t n = google__rpc__status__pack(&st, buf);
  struct rpc_details d;
  assert_int_equal(rpc_details_unpack_(buf, n, &d), 0);
  assert_int_equal(d.n, 1);
  assert_int_equal(rpc_details_retry_seconds(&d), 3);
  rpc_details_clear(&d);
  rpc_details_clear(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(one_field),
      cmocka_unit_test(several_fields),
      cmocka_unit_test(no_field_no_bad_request),
      cmocka_unit_test(retry_info),
      cmocka_unit_test(trailer_round_trip),
      cmocka_unit_test(unknown_types_skipped),
  };
  return cmocka_run_group_tests_name("rpc_details", tests, NULL, NULL);
}
