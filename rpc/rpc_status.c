/*
 * rpc_status: names of gRPC status codes. See rpc.h.
 */
#include "rpc.h"

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
