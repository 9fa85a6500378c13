/*
 * Unit tests for pbjson/ (pbjson.c, pbjson_write.c, pbjson_read.c): writing replies as proto3 JSON,
 * setting request fields from query text, and parsing JSON bodies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"
#include "pbjson.h"
#include "strbuf.h"
#include "tvmaze/v1/changes.pb-c.h"
#include "tvmaze/v1/ingest.pb-c.h"
#include "tvmaze/v1/shows.pb-c.h"

static char *to_json(const ProtobufCMessage *m) {
  struct strbuf b;
  strbuf_init(&b);
  pbjson_write(&b, m);
  return strbuf_detach(&b, NULL);
}

static void test_write_defaults_omitted(void **state) {
  (void)state;
  Tvmaze__V1__Show show = TVMAZE__V1__SHOW__INIT;
  char *j = to_json(&show.base);
  assert_string_equal(j, "{}");
  free(j);
}

static void test_write_show(void **state) {
  (void)state;
  Tvmaze__V1__Show show = TVMAZE__V1__SHOW__INIT;
  Tvmaze__V1__Distributor dist = TVMAZE__V1__DISTRIBUTOR__INIT;
  Google__Protobuf__DoubleValue rating = GOOGLE__PROTOBUF__DOUBLE_VALUE__INIT;
  Google__Protobuf__Int32Value runtime = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  char g1[] = "Drama", g2[] = "Crime \"noir\"", nm[] = "Caf\xc3\xa9 <b>", nf[] = "Netflix";
  char *genres[] = {g1, g2};
  show.id = 42;
  show.name = nm;
  show.rating = &rating;
  rating.value = 8.3;
  show.runtime = &runtime; /* present with 0: written as 0 */
  show.n_genres = 2;
  show.genres = genres;
  dist.kind = TVMAZE__V1__DISTRIBUTOR_KIND__DISTRIBUTOR_KIND_WEB_CHANNEL;
  dist.name = nf;
  show.distributor = &dist;
  ts.seconds = 1750035600; /* 2025-06-16T01:00:00Z */
  ts.nanos = 500000000;
  show.updated_at = &ts;
  char *j = to_json(&show.base);
  assert_string_equal(j,
                      "{\"id\":42,\"name\":\"Caf\xc3\xa9 <b>\",\"runtime\":0,\"rating\":8.3,"
                      "\"genres\":[\"Drama\",\"Crime \\\"noir\\\"\"],"
                      "\"distributor\":{\"kind\":\"DISTRIBUTOR_KIND_WEB_CHANNEL\",\"name\":"
                      "\"Netflix\"},\"updated_at\":\"2025-06-16T01:00:00.500Z\"}");
  free(j);
}

static void test_write_int64_as_string(void **state) {
  (void)state;
  Tvmaze__V1__IngestRun run = TVMAZE__V1__INGEST_RUN__INIT;
  run.id = 9007199254740993LL;
  run.status = TVMAZE__V1__RUN_STATUS__RUN_STATUS_RUNNING;
  run.requests = -1;
  char *j = to_json(&run.base);
  assert_string_equal(
      j, "{\"id\":\"9007199254740993\",\"status\":\"RUN_STATUS_RUNNING\",\"requests\":\"-1\"}");
  free(j);
}

static void test_set_field_types(void **state) {
  (void)state;
  Tvmaze__V1__ListShowsRequest *req = (Tvmaze__V1__ListShowsRequest *)pbjson_message_new(
      &tvmaze__v1__list_shows_request__descriptor);
  struct pbjson_error err;
  assert_int_equal(pbjson_set_field(&req->base, "date_from", "2025-06-16", &err), PBJSON_OK);
  assert_int_equal(pbjson_set_field(&req->base, "rating", "7.5", &err), PBJSON_OK);
  assert_int_equal(pbjson_set_field(&req->base, "perPage", "20", &err), PBJSON_OK);
  assert_int_equal(pbjson_set_field(&req->base, "q", "x'; DROP TABLE shows;--", &err), PBJSON_OK);
  assert_int_equal(pbjson_set_field(&req->base, "q", "again", &err), PBJSON_OK); /* replaces */
  assert_string_equal(req->date_from, "2025-06-16");
  assert_non_null(req->rating);
  assert_true(req->rating->value == 7.5);
  assert_non_null(req->per_page);
  assert_int_equal(req->per_page->value, 20);
  assert_null(req->page);
  assert_string_equal(req->q, "again");

  assert_int_equal(pbjson_set_field(&req->base, "rating", "abc", &err), PBJSON_BAD_VALUE);
  assert_string_equal(err.field, "rating");
  assert_non_null(strstr(err.message, "rating"));
  assert_int_equal(pbjson_set_field(&req->base, "page", "99999999999", &err), PBJSON_BAD_VALUE);
  assert_string_equal(err.field, "page");
  assert_int_equal(pbjson_set_field(&req->base, "page", " 1", &err), PBJSON_BAD_VALUE);
  assert_int_equal(pbjson_set_field(&req->base, "page", "1x", &err), PBJSON_BAD_VALUE);
  assert_int_equal(pbjson_set_field(&req->base, "rating", "inf", &err), PBJSON_BAD_VALUE);
  assert_int_equal(pbjson_set_field(&req->base, "q", "\xff\xfe", &err), PBJSON_BAD_VALUE);
  assert_int_equal(pbjson_set_field(&req->base, "nope", "1", &err), PBJSON_UNKNOWN_FIELD);
  assert_string_equal(err.field, "nope");
  assert_true(req->rating->value == 7.5); /* unchanged by failures */
  protobuf_c_message_free_unpacked(&req->base, NULL);
}

/* Repeated numbers: "1,2" and repeating the parameter both append. */
static void test_set_list(void **state) {
  (void)state;
  ProtobufCMessage *m = pbjson_message_new(&tvmaze__v1__list_changes_request__descriptor);
  Tvmaze__V1__ListChangesRequest *req = (Tvmaze__V1__ListChangesRequest *)m;
  struct pbjson_error err;
  assert_int_equal(pbjson_set_field(m, "show_ids", "1,2", &err), PBJSON_OK);
  assert_int_equal(pbjson_set_field(m, "show_ids", "3", &err), PBJSON_OK);
  assert_int_equal(req->n_show_ids, 3);
  assert_int_equal(req->show_ids[0], 1);
  assert_int_equal(req->show_ids[1], 2);
  assert_int_equal(req->show_ids[2], 3);
  /* a bad element appends nothing and names the field */
  assert_int_equal(pbjson_set_field(m, "show_ids", "4,x,5", &err), PBJSON_BAD_VALUE);
  assert_string_equal(err.field, "show_ids");
  assert_int_equal(pbjson_set_field(m, "show_ids", "4,,5", &err), PBJSON_BAD_VALUE);
  assert_non_null(strstr(err.message, "empty element"));
  assert_int_equal(pbjson_set_field(m, "show_ids", "6,", &err), PBJSON_BAD_VALUE);
  assert_int_equal(req->n_show_ids, 3);
  assert_int_equal(pbjson_set_field(m, "entity", "EPISODE", &err), PBJSON_OK);
  assert_int_equal(req->entity, TVMAZE__V1__CHANGE_ENTITY__CHANGE_ENTITY_EPISODE);
  protobuf_c_message_free_unpacked(m, NULL);
}

static void test_set_enum_and_int64(void **state) {
  (void)state;
  ProtobufCMessage *m = pbjson_message_new(&tvmaze__v1__ingest_run__descriptor);
  Tvmaze__V1__IngestRun *run = (Tvmaze__V1__IngestRun *)m;
  struct pbjson_error err;
  assert_int_equal(pbjson_set_field(m, "status", "RUN_STATUS_FAILED", &err), PBJSON_OK);
  assert_int_equal(run->status, TVMAZE__V1__RUN_STATUS__RUN_STATUS_FAILED);
  assert_int_equal(pbjson_set_field(m, "status", "2", &err), PBJSON_OK);
  assert_int_equal(run->status, TVMAZE__V1__RUN_STATUS__RUN_STATUS_SUCCEEDED);
  assert_int_equal(pbjson_set_field(m, "status", "BOGUS", &err), PBJSON_BAD_VALUE);
  assert_string_equal(err.field, "status");
  assert_non_null(strstr(err.message, "RUNNING, SUCCEEDED, PARTIAL, FAILED"));
  /* API.md writes enum values without the type's prefix: both are accepted */
  assert_int_equal(pbjson_set_field(m, "status", "PARTIAL", &err), PBJSON_OK);
  assert_int_equal(run->status, TVMAZE__V1__RUN_STATUS__RUN_STATUS_PARTIAL);
  assert_int_equal(pbjson_set_field(m, "status", "RUN_STATUS_", &err), PBJSON_BAD_VALUE);
  assert_int_equal(pbjson_set_field(m, "id", "9223372036854775807", &err), PBJSON_OK);
  assert_true(run->id == INT64_MAX);
  assert_int_equal(pbjson_set_field(m, "id", "9223372036854775808", &err), PBJSON_BAD_VALUE);
  assert_int_equal(pbjson_set_field(m, "started_at", "2025-06-16T03:00:00+02:00", &err), PBJSON_OK);
  assert_non_null(run->started_at);
  assert_true(run->started_at->seconds == 1750035600);
  assert_int_equal(pbjson_set_field(m, "started_at", "yesterday", &err), PBJSON_BAD_VALUE);
  assert_int_equal(pbjson_set_field(m, "day_results.date", "x", &err), PBJSON_UNKNOWN_FIELD);
  protobuf_c_message_free_unpacked(m, NULL);
}

static void test_parse_body(void **state) {
  (void)state;
  ProtobufCMessage *m = pbjson_message_new(&tvmaze__v1__start_ingest_request__descriptor);
  Tvmaze__V1__StartIngestRequest *req = (Tvmaze__V1__StartIngestRequest *)m;
  struct pbjson_error err;
  const char *body = "{\"start_date\":\"2025-06-16\",\"days\":14}";
  assert_int_equal(pbjson_parse(m, body, strlen(body), &err), PBJSON_OK);
  assert_string_equal(req->start_date, "2025-06-16");
  assert_non_null(req->days);
  assert_int_equal(req->days->value, 14);
  const char *camel = "{\"startDate\":\"2025-06-17\",\"days\":\"7\"}";
  assert_int_equal(pbjson_parse(m, camel, strlen(camel), &err), PBJSON_OK);
  assert_string_equal(req->start_date, "2025-06-17");
  assert_int_equal(req->days->value, 7);
  const char *nul = "{\"days\":null}";
  assert_int_equal(pbjson_parse(m, nul, strlen(nul), &err), PBJSON_OK);
  protobuf_c_message_free_unpacked(m, NULL);
}

static void test_parse_errors(void **state) {
  (void)state;
  const char *bad[] = {"{",
                       "[1]",
                       "{\"days\":\"abc\"}",
                       "{\"days\":1.5}",
                       "{\"start_date\":5}",
                       "{\"other\":1}",
                       "{\"days\":1,\"days\":2}",
                       "",
                       "\"x\""};
  const enum pbjson_status want[] = {PBJSON_BAD_JSON,  PBJSON_BAD_JSON,  PBJSON_BAD_VALUE,
                                     PBJSON_BAD_VALUE, PBJSON_BAD_VALUE, PBJSON_UNKNOWN_FIELD,
                                     PBJSON_BAD_JSON,  PBJSON_BAD_JSON,  PBJSON_BAD_JSON};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ProtobufCMessage *m = pbjson_message_new(&tvmaze__v1__start_ingest_request__descriptor);
    struct pbjson_error err;
    assert_int_equal(pbjson_parse(m, bad[i], strlen(bad[i]), &err), want[i]);
    assert_true(err.message[0] != '\0');
    protobuf_c_message_free_unpacked(m, NULL);
  }
  ProtobufCMessage *m = pbjson_message_new(&tvmaze__v1__start_ingest_request__descriptor);
  struct pbjson_error err;
  const char *b = "{\"days\":\"abc\"}";
  pbjson_parse(m, b, strlen(b), &err);
  assert_string_equal(err.field, "days");
  protobuf_c_message_free_unpacked(m, NULL);
}

static void test_roundtrip_nested(void **state) {
  (void)state;
  const char *in =
      "{\"id\":\"5\",\"status\":\"RUN_STATUS_PARTIAL\",\"day_results\":[{\"date\":"
      "\"2025-06-16\",\"status\":\"DAY_STATUS_FAILED\",\"error\":\"boom\"}],"
      "\"started_at\":\"2025-06-16T01:00:00Z\"}";
  ProtobufCMessage *m = pbjson_message_new(&tvmaze__v1__ingest_run__descriptor);
  struct pbjson_error err;
  assert_int_equal(pbjson_parse(m, in, strlen(in), &err), PBJSON_OK);
  char *out = to_json(m);
  assert_string_equal(out, in);
  free(out);
  protobuf_c_message_free_unpacked(m, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_write_defaults_omitted),
      cmocka_unit_test(test_write_show),
      cmocka_unit_test(test_write_int64_as_string),
      cmocka_unit_test(test_set_field_types),
      cmocka_unit_test(test_set_enum_and_int64),
      cmocka_unit_test(test_set_list),
      cmocka_unit_test(test_parse_body),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_roundtrip_nested),
  };
  return cmocka_run_group_tests_name("pbjson", tests, NULL, NULL);
}
