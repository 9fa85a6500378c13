/*
 * fuzz_rpc_unpack: libFuzzer target for the binding's request unpacking
 * (rpc_unpack_request in rpc/rpc_call.c), its check of packed replies
 * (rpc_packed_check in rpc/rpc_packed.c) and its reflection request
 * handling (rpc_reflection_answer). The first input byte picks the
 * descriptor (every method's input and output type, plus health, or
 * reflection); the rest are the bytes as they would arrive off the wire or
 * out of the cache. Holds: whatever unpacks, packed again, passes
 * rpc_packed_check (see rpc/rpc_packed.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "rpc_internal.h"
#include "tvmaze/v1/analytics.pb-c.h"
#include "tvmaze/v1/auth.pb-c.h"
#include "tvmaze/v1/ingest.pb-c.h"
#include "tvmaze/v1/shows.pb-c.h"

extern const unsigned char tvmaze_descriptor_set[];
extern const unsigned long tvmaze_descriptor_set_len;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCServiceDescriptor *const services_[] = {
    &tvmaze__v1__shows__descriptor, &tvmaze__v1__analytics__descriptor,
    &tvmaze__v1__ingest__descriptor, &tvmaze__v1__auth__descriptor};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct rpc_reflection *refl;
  if (refl == NULL) {
    const char *names[] = {"tvmaze.v1.Shows", "grpc.health.v1.Health"};
    refl = rpc_reflection_create(tvmaze_descriptor_set, tvmaze_descriptor_set_len, names, 2);
    if (refl == NULL) {
      abort();
    }
  }
  if (size == 0) {
    return 0;
  }
  const ProtobufCMessageDescriptor *descs[64];
  size_t n = 0;
  for (size_t i = 0; i < sizeof services_ / sizeof services_[0]; i++) {
    for (unsigned k = 0; k < services_[i]->n_methods && n < 62; k++) {
      descs[n++] = services_[i]->methods[k].input;
      descs[n++] = services_[i]->methods[k].output;
    }
  }
  descs[n++] = &grpc__health__v1__health_check_request__descriptor;
  size_t pick = data[0] % (n + 1);
  if (pick == n) {
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (rpc_reflection_answer(refl, data + 1, size - 1, &out, &out_len) == 0) {
      free(out);
    }
    return 0;
  }
  ProtobufCMessage *msg = NULL;
  rpc_code rc = rpc_unpack_request(descs[pick], data + 1, size - 1, 4096, &msg);
  if (rc == RPC_OK) {
    /* Repack what was accepted: must not crash either, and what protobuf-c
     * packs must pass as a packed reply -- unless it kept an unknown field
     * whose number no valid encoding has (it reads 32-bit ones). */
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);
    protobuf_c_message_pack(msg, buf);
    int odd = 0;
    for (size_t i = 0; i < msg->n_unknown_fields; i++) {
      odd |= msg->unknown_fields[i].tag == 0 || msg->unknown_fields[i].tag > 0x1fffffff;
    }
    char err[160];
    if (!odd && rpc_packed_check(descs[pick], buf, len, err, sizeof err) != 0) {
      abort();
    }
    free(buf);
    protobuf_c_message_free_unpacked(msg, NULL);
  } else if (msg != NULL) {
    abort();
  }
  return 0;
}
