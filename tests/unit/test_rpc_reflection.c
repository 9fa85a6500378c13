/*
 * test_rpc_reflection: rpc/rpc_reflection.c (answers to ServerReflection
 * requests from the embedded descriptor set) and rpc_unpack_request
 * (rpc/rpc_call.c), without a network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "rpc_internal.h"
#include "tvmaze/v1/auth.pb-c.h"

extern const unsigned char tvmaze_descriptor_set[];
extern const unsigned long tvmaze_descriptor_set_len;

static struct rpc_reflection *refl;

static int setup_(void **state) {
  (void)state;
  const char *names[] = {"tvmaze.v1.Shows", "grpc.health.v1.Health"};
  refl = rpc_reflection_create(tvmaze_descriptor_set, tvmaze_descriptor_set_len, names, 2);
  return refl == NULL ? -1 : 0;
}

static int teardown_(void **state) {
  (void)state;
  rpc_reflection_destroy(refl);
  return 0;
}

static Grpc__Reflection__V1__ServerReflectionResponse *ask_(
    Grpc__Reflection__V1__ServerReflectionRequest *req) {
  size_t n = protobuf_c_message_get_packed_size(&req->base);
  uint8_t *buf = malloc(n ? n : 1);
  protobuf_c_message_pack(&req->base, buf);
  uint8_t *out = NULL;
  size_t out_len = 0;
  assert_int_equal(rpc_reflection_answer(refl, buf, n, &out, &out_len), 0);
  free(buf);
  Grpc__Reflection__V1__ServerReflectionResponse *resp =
      grpc__reflection__v1__server_reflection_response__unpack(NULL, out_len, out);
  free(out);
  assert_non_null(resp);
  assert_non_null(resp->original_request);
  return resp;
}

/* Names of the files in a file_descriptor_response, comma-joined. */
static void file_names_(const Grpc__Reflection__V1__ServerReflectionResponse *resp, char *buf,
                        size_t len) {
  assert_int_equal(
      resp->message_response_case,
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE);
  buf[0] = '\0';
  const Grpc__Reflection__V1__FileDescriptorResponse *f = resp->file_descriptor_response;
  for (size_t i = 0; i < f->n_file_descriptor_proto; i++) {
    Google__Protobuf__FileDescriptorProto *fd = google__protobuf__file_descriptor_proto__unpack(
        NULL, f->file_descriptor_proto[i].len, f->file_descriptor_proto[i].data);
    assert_non_null(fd);
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s,", fd->name);
    google__protobuf__file_descriptor_proto__free_unpacked(fd, NULL);
  }
}

static void test_list_services(void **state) {
  (void)state;
  Grpc__Reflection__V1__ServerReflectionRequest req =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
  req.message_request_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES;
  req.list_services = (char *)"";
  Grpc__Reflection__V1__ServerReflectionResponse *resp = ask_(&req);
  assert_int_equal(
      resp->message_response_case,
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE);
  assert_int_equal(resp->list_services_response->n_service, 2);
  assert_string_equal(resp->list_services_response->service[0]->name, "tvmaze.v1.Shows");
  assert_string_equal(resp->list_services_response->service[1]->name, "grpc.health.v1.Health");
  grpc__reflection__v1__server_reflection_response__free_unpacked(resp, NULL);
}

static void test_file_by_filename_with_dependencies(void **state) {
  (void)state;
  Grpc__Reflection__V1__ServerReflectionRequest req =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
  req.message_request_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME;
  req.file_by_filename = (char *)"tvmaze/v1/shows.proto";
  Grpc__Reflection__V1__ServerReflectionResponse *resp = ask_(&req);
  char names[1024];
  file_names_(resp, names, sizeof names);
  assert_true(strncmp(names, "tvmaze/v1/shows.proto,", 22) == 0); /* the file first */
  assert_non_null(strstr(names, "google/protobuf/wrappers.proto,"));
  assert_non_null(strstr(names, "tvmaze/v1/common.proto,"));
  grpc__reflection__v1__server_reflection_response__free_unpacked(resp, NULL);
}

static void test_file_containing_symbol(void **state) {
  (void)state;
  const char *symbols[] = {"tvmaze.v1.Shows",
                           "tvmaze.v1.Shows.ListShows",
                           "tvmaze.v1.ListShowsRequest",
                           ".tvmaze.v1.GetShowRequest",
                           "grpc.health.v1.Health",
                           "grpc.reflection.v1alpha.ServerReflection",
                           "grpc.reflection.v1.ServerReflection"};
  const char *files[] = {"tvmaze/v1/shows.proto,",
                         "tvmaze/v1/shows.proto,",
                         "tvmaze/v1/shows.proto,",
                         "tvmaze/v1/shows.proto,",
                         "grpc/health/v1/health.proto,",
                         "grpc/reflection/v1alpha/reflection.proto,",
                         "grpc/reflection/v1/reflection.proto,"};
  for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
    Grpc__Reflection__V1__ServerReflectionRequest req =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
    req.message_request_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL;
    req.file_containing_symbol = (char *)symbols[i];
    Grpc__Reflection__V1__ServerReflectionResponse *resp = ask_(&req);
    char names[1024];
    file_names_(resp, names, sizeof names);
    assert_true(strncmp(names, files[i], strlen(files[i])) == 0);
    grpc__reflection__v1__server_reflection_response__free_unpacked(resp, NULL);
  }
}

static void test_unknown_is_error_response(void **state) {
  (void)state;
  Grpc__Reflection__V1__ServerReflectionRequest req =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
  req.message_request_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL;
  req.file_containing_symbol = (char *)"no.such.Thing";
  Grpc__Reflection__V1__ServerReflectionResponse *resp = ask_(&req);
  assert_int_equal(
      resp->message_response_case,
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE);
  assert_int_equal(resp->error_response->error_code, RPC_NOT_FOUND);
  assert_non_null(strstr(resp->error_response->error_message, "no.such.Thing"));
  grpc__reflection__v1__server_reflection_response__free_unpacked(resp, NULL);

  req.message_request_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME;
  req.file_by_filename = (char *)"nope.proto";
  resp = ask_(&req);
  assert_int_equal(resp->error_response->error_code, RPC_NOT_FOUND);
  grpc__reflection__v1__server_reflection_response__free_unpacked(resp, NULL);
}

static void test_garbage_reflection_request(void **state) {
  (void)state;
  const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
  uint8_t *out = NULL;
  size_t out_len = 0;
  assert_int_equal(rpc_reflection_answer(refl, junk, sizeof junk, &out, &out_len), -1);
  assert_null(out);
}

static void test_unpack_request(void **state) {
  (void)state;
  const uint8_t ok[] = {0x0a, 0x03, 'a', 'b', 'c'};
  const uint8_t bad[] = {0x08, 0x05}; /* field 1 as varint: CheckApiKeyRequest.key is a string */
  const uint8_t truncated[] = {0x0a, 0x09, 'a'};
  ProtobufCMessage *m = NULL;
  assert_int_equal(
      rpc_unpack_request(&tvmaze__v1__check_api_key_request__descriptor, ok, sizeof ok, 100, &m),
      RPC_OK);
  assert_string_equal(((Tvmaze__V1__CheckApiKeyRequest *)m)->key, "abc");
  protobuf_c_message_free_unpacked(m, NULL);
  assert_int_equal(
      rpc_unpack_request(&tvmaze__v1__check_api_key_request__descriptor, bad, sizeof bad, 100, &m),
      RPC_INVALID_ARGUMENT);
  assert_null(m);
  assert_int_equal(rpc_unpack_request(&tvmaze__v1__check_api_key_request__descriptor, truncated,
                                      sizeof truncated, 100, &m),
                   RPC_INVALID_ARGUMENT);
  assert_int_equal(
      rpc_unpack_request(&tvmaze__v1__check_api_key_request__descriptor, ok, sizeof ok, 4, &m),
      RPC_RESOURCE_EXHAUSTED);
  assert_null(m);
  assert_int_equal(rpc_unpack_request(&tvmaze__v1__check_api_key_request__descriptor, ok, 0, 0, &m),
                   RPC_OK); /* empty = all defaults */
  protobuf_c_message_free_unpacked(m, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_list_services),
      cmocka_unit_test(test_file_by_filename_with_dependencies),
      cmocka_unit_test(test_file_containing_symbol),
      cmocka_unit_test(test_unknown_is_error_response),
      cmocka_unit_test(test_garbage_reflection_request),
      cmocka_unit_test(test_unpack_request),
  };
  return cmocka_run_group_tests(tests, setup_, teardown_);
}
