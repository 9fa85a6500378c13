/*
 * rpc_status: names of gRPC status codes, and the grpc-status-details-bin
 * trailer of a failed status (its google.rpc.Status: rpc_details.c). See
 * rpc.h.
 */
#include <stdlib.h>

#include "rpc.h"
#include "rpc_internal.h"
#include "rpc_server_impl.h"

static const char *const names_[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

const char *rpc_code_name(rpc_code code) {
  if ((int)code < 0 || (int)code >= (int)(sizeof names_ / sizeof names_[0])) {
    return "UNKNOWN";
  }
  return names_[code];
}

int rpc_status_details_(rpc_code code, const char *message, int64_t retry_s, grpc_metadata *md) {
  struct rpc_details d;
  rpc_details_from_status(code, message, retry_s, &d);
  if (d.n == 0) {
    return 0;
  }
  size_t len = 0;
  uint8_t *bytes = rpc_details_pack_(code, message, &d, &len);
  rpc_details_clear(&d);
  md->key = grpc_slice_from_static_string("grpc-status-details-bin");
  md->value = grpc_slice_new(bytes, len, free);
  return 1;
}
