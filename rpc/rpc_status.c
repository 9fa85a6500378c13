/*
 * rpc_status: names of gRPC status codes, and the google.rpc.Status details
 * trailer (hand-encoded: the few fields it needs). See rpc.h.
 */
#include <string.h>

#include "rpc.h"
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

/* Appends varint v at buf[*n] (cap bytes in all); returns 0, -1 if full. */
static int put_varint_(uint8_t *buf, size_t cap, size_t *n, uint64_t v) {
  do {
    if (*n >= cap) {
      return -1;
    }
    buf[(*n)++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v != 0);
  return 0;
}

/* Appends length-delimited field `field` holding data[0..len). */
static int put_bytes_(uint8_t *buf, size_t cap, size_t *n, unsigned field, const void *data,
                      size_t len) {
  if (put_varint_(buf, cap, n, (uint64_t)field << 3 | 2) != 0 ||
      put_varint_(buf, cap, n, len) != 0 || cap - *n < len) {
    return -1;
  }
  memcpy(buf + *n, data, len);
  *n += len;
  return 0;
}

int rpc_status_details_(rpc_code code, const char *message, int64_t retry_s, grpc_metadata *md) {
  if (code == RPC_OK || retry_s <= 0) {
    return 0;
  }
  static const char type_url[] = "type.googleapis.com/google.rpc.RetryInfo";
  uint8_t duration[16], retry[24], any[96], status[1280];
  size_t nd = 0, nr = 0, na = 0, ns = 0;
  size_t mlen = message != NULL ? strnlen(message, 1024) : 0;
  if (put_varint_(duration, sizeof duration, &nd, 1 << 3) != 0 ||
      put_varint_(duration, sizeof duration, &nd, (uint64_t)retry_s) != 0 ||
      put_bytes_(retry, sizeof retry, &nr, 1, duration, nd) != 0 ||
      put_bytes_(any, sizeof any, &na, 1, type_url, sizeof type_url - 1) != 0 ||
      put_bytes_(any, sizeof any, &na, 2, retry, nr) != 0 ||
      put_varint_(status, sizeof status, &ns, 1 << 3) != 0 ||
      put_varint_(status, sizeof status, &ns, (uint64_t)code) != 0 ||
      (mlen > 0 && put_bytes_(status, sizeof status, &ns, 2, message, mlen) != 0) ||
      put_bytes_(status, sizeof status, &ns, 3, any, na) != 0) {
    return 0;
  }
  md->key = grpc_slice_from_static_string("grpc-status-details-bin");
  md->value = grpc_slice_from_copied_buffer((const char *)status, ns);
  return 1;
}
