/*
 * test_rpc_packed: rpc/rpc_packed.c (rpc_packed_check, the top-level check
 * of packed replies) without a network: real encodings pass, with unknown
 * fields too; every cut of an encoding is judged as protobuf-c's unpack
 * judges it; wrong wire types, groups, field number 0, overlong varints and
 * huge lengths fail with a message naming the byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "rpc.h"
#include "tvmaze/v1/shows.pb-c.h"

static int check_(const ProtobufCMessageDescriptor *d, const uint8_t *b, size_t n, char *err) {
  return rpc_packed_check(d, b, n, err, 160);
}

/* A ListShowsResponse with two shows and a pagination, packed into buf
 * (at least 512 bytes); returns its length. */
static size_t list_shows_(uint8_t *buf) {
  Tvmaze__V1__Show s[2] = {TVMAZE__V1__SHOW__INIT, TVMAZE__V1__SHOW__INIT};
  Tvmaze__V1__Show *ps[2] = {&s[0], &s[1]};
  s[0].id = 101;
  s[0].name = (char *)"Alpha Drama";
  s[1].id = 102;
  s[1].name = (char *)"Beta";
  Tvmaze__V1__Pagination pg = TVMAZE__V1__PAGINATION__INIT;
  pg.page = 1;
  pg.per_page = 20;
  pg.total = 2;
  pg.total_pages = 1;
  Tvmaze__V1__ListShowsResponse r = TVMAZE__V1__LIST_SHOWS_RESPONSE__INIT;
  r.n_shows = 2;
  r.shows = ps;
  r.pagination = &pg;
  assert_true(protobuf_c_message_get_packed_size(&r.base) <= 512);
  return protobuf_c_message_pack(&r.base, buf);
}

static void real_encodings_pass(void **state) {
  (void)state;
  uint8_t buf[600];
  char err[160];
  size_t n = list_shows_(buf);
  assert_int_equal(check_(&tvmaze__v1__list_shows_response__descriptor, buf, n, err), 0);
  assert_int_equal(check_(&tvmaze__v1__list_shows_response__descriptor, buf, 0, err), 0);
  /* unknown fields of every wire type: 99 varint, 98 64-bit, 97 32-bit, 96 bytes */
  const uint8_t unknown[] = {0x98, 0x06, 0x7f, 0x91, 0x06, 1, 2, 3,    4,    5, 6,   7,
                             8,    0x8d, 0x06, 1,    2,    3, 4, 0x82, 0x06, 2, 'h', 'i'};
  memcpy(buf + n, unknown, sizeof unknown);
  assert_int_equal(
      check_(&tvmaze__v1__list_shows_response__descriptor, buf, n + sizeof unknown, err), 0);
  ProtobufCMessage *m = protobuf_c_message_unpack(&tvmaze__v1__list_shows_response__descriptor,
                                                  NULL, n + sizeof unknown, buf);
  assert_non_null(m);
  assert_int_equal(m->n_unknown_fields, 4);
  protobuf_c_message_free_unpacked(m, NULL);
}

/* A cut at a field boundary is a valid (shorter) message, a cut inside a
 * field is not: at the top level the check and unpack agree on every cut. */
static void every_cut_judged_like_unpack(void **state) {
  (void)state;
  uint8_t buf[600];
  char err[160];
  size_t n = list_shows_(buf);
  int failed = 0;
  for (size_t k = 0; k <= n; k++) {
    ProtobufCMessage *m =
        protobuf_c_message_unpack(&tvmaze__v1__list_shows_response__descriptor, NULL, k, buf);
    int ok = check_(&tvmaze__v1__list_shows_response__descriptor, buf, k, err) == 0;
    assert_int_equal(ok, m != NULL);
    failed += !ok;
    if (m != NULL) {
      protobuf_c_message_free_unpacked(m, NULL);
    }
  }
  assert_true(failed > (int)n / 2); /* most cuts land inside the two shows */
  check_(&tvmaze__v1__list_shows_response__descriptor, buf, n - 1, err);
  assert_non_null(strstr(err, "past the end"));
}

static void wire_types_of_known_fields(void **state) {
  (void)state;
  char err[160];
  /* ListShowsResponse.shows (1, a message) as a varint */
  const uint8_t shows_varint[] = {0x08, 0x01};
  assert_int_equal(check_(&tvmaze__v1__list_shows_response__descriptor, shows_varint, 2, err), -1);
  assert_string_equal(err, "byte 0: field shows has wire type 0, not 2");
  /* Pagination.page (1, int32) as bytes: not repeated, so not packed */
  const uint8_t page_bytes[] = {0x0a, 0x01, 0x01};
  assert_int_equal(check_(&tvmaze__v1__pagination__descriptor, page_bytes, 3, err), -1);
  /* FileDescriptorProto.public_dependency (10, repeated int32): unpacked
   * and packed are both fine */
  const uint8_t deps[] = {0x50, 0x01, 0x50, 0x02, 0x52, 0x02, 0x03, 0x04};
  assert_int_equal(
      check_(&google__protobuf__file_descriptor_proto__descriptor, deps, sizeof deps, err), 0);
  Google__Protobuf__FileDescriptorProto *f =
      google__protobuf__file_descriptor_proto__unpack(NULL, sizeof deps, deps);
  assert_non_null(f);
  assert_int_equal(f->n_public_dependency, 4);
  google__protobuf__file_descriptor_proto__free_unpacked(f, NULL);
}

static void malformed_framing_fails(void **state) {
  (void)state;
  char err[160];
  const ProtobufCMessageDescriptor *d = &tvmaze__v1__pagination__descriptor;
  const uint8_t field0[] = {0x00, 0x01};
  assert_int_equal(check_(d, field0, sizeof field0, err), -1);
  assert_string_equal(err, "byte 0: field number 0 out of range");
  const uint8_t group[] = {0x08, 0x01, 0x0b, 0x0c}; /* page=1, then a group of field 1 */
  assert_int_equal(check_(d, group, sizeof group, err), -1);
  assert_non_null(strstr(err, "byte 2:"));
  const uint8_t long_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  assert_int_equal(check_(d, long_varint, sizeof long_varint, err), -1);
  assert_string_equal(err, "byte 0: field 1: bad varint");
  const uint8_t huge_len[] = {0x2a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  assert_int_equal(check_(d, huge_len, sizeof huge_len, err), -1);
  assert_non_null(strstr(err, "past the end"));
  const uint8_t cut_key[] = {0x08, 0x01, 0x80};
  assert_int_equal(check_(d, cut_key, sizeof cut_key, err), -1);
  assert_string_equal(err, "byte 2: bad field key");
  const uint8_t cut_fixed[] = {0x29, 1, 2, 3}; /* field 5 as 64-bit with 3 bytes */
  assert_int_equal(check_(d, cut_fixed, sizeof cut_fixed, err), -1);
  assert_string_equal(err, "byte 0: field 5: 5 bytes past the end");
}

/* rpc_packed_find_nul: a NUL inside a string, at the top level or nested,
 * is found and named; strings without one, bytes fields and cut encodings
 * are not flagged (issue 19 finding 6). */
static void nul_in_strings_found(void **state) {
  (void)state;
  char field[128] = "";
  Tvmaze__V1__ListShowsRequest r = TVMAZE__V1__LIST_SHOWS_REQUEST__INIT;
  r.q = (char *)"ab";
  uint8_t buf[256];
  size_t n = protobuf_c_message_pack(&r.base, buf);
  assert_int_equal(
      rpc_packed_find_nul(&tvmaze__v1__list_shows_request__descriptor, buf, n, field, sizeof field),
      0);
  uint8_t *q = memchr(buf, 'a', n); /* "ab" -> "a\0" */
  assert_non_null(q);
  q[1] = 0;
  assert_int_equal(
      rpc_packed_find_nul(&tvmaze__v1__list_shows_request__descriptor, buf, n, field, sizeof field),
      1);
  assert_string_equal(field, "q");
  assert_int_equal(rpc_packed_find_nul(&tvmaze__v1__list_shows_request__descriptor, buf, n - 2,
                                       field, sizeof field),
                   0); /* cut: unpack's to judge */
  /* nested: a show's name inside a ListShowsResponse */
  uint8_t big[512];
  n = list_shows_(big);
  uint8_t *a = memchr(big, 'A', n);
  assert_non_null(a);
  a[2] = 0;
  assert_int_equal(rpc_packed_find_nul(&tvmaze__v1__list_shows_response__descriptor, big, n, field,
                                       sizeof field),
                   1);
  assert_string_equal(field, "shows.name");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(real_encodings_pass),        cmocka_unit_test(every_cut_judged_like_unpack),
      cmocka_unit_test(wire_types_of_known_fields), cmocka_unit_test(malformed_framing_fails),
      cmocka_unit_test(nul_in_strings_found),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
