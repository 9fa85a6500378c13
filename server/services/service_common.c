/*
 * service_common: what the service implementations share: the one mapping
 * from store status to gRPC status, the page/per_page rule, service
 * destruction. See services.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "services.h"

void service_destroy(ProtobufCService *service) {
  if (service != NULL && service->destroy != NULL) {
    service->destroy(service);
  }
}

rpc_code service_store_status(enum store_status st, const char *method, const char *what,
                              const struct store *store, char *msg, size_t msglen) {
  switch (st) {
  case STORE_UNAVAILABLE:
    snprintf(msg, msglen, "database unavailable; retry later");
    return RPC_UNAVAILABLE;
  case STORE_NOT_FOUND:
    snprintf(msg, msglen, "%s not found", what);
    return RPC_NOT_FOUND;
  default:
    LOG_EVENT(LOG_ERROR, "store_error", LF_STR("method", method), LF_STR("what", what),
              LF_STR("status", store_status_name(st)),
              LF_STR("error", store ? store_last_error(store) : NULL));
    snprintf(msg, msglen, "internal error while reading %s", what);
    return RPC_INTERNAL;
  }
}

void service_fail_store(rpc_call *call, enum store_status st, const char *what,
                        const struct store *store) {
  char msg[256];
  rpc_code code = service_store_status(st, rpc_call_method(call), what, store, msg, sizeof msg);
  rpc_call_set_status(call, code, "%s", msg);
}

int service_bad_field(char *msg, size_t msglen, const char *fmt, ...) {
  size_t n = strnlen(msg, msglen);
  if (n > 0 && n + 2 < msglen) {
    snprintf(msg + n, msglen - n, "; ");
    n += 2;
  }
  if (n + 1 < msglen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, msglen - n, fmt, ap);
    va_end(ap);
  }
  return -1;
}

int service_page_args(const Google__Protobuf__Int32Value *page,
                      const Google__Protobuf__Int32Value *per_page, int32_t *page_out,
                      int32_t *per_page_out, char *msg, size_t msglen) {
  int rc = 0;
  *page_out = 1;
  *per_page_out = 20;
  if (page != NULL) {
    if (page->value < 1) {
      rc = service_bad_field(msg, msglen, "page: must be at least 1");
    } else {
      *page_out = page->value;
    }
  }
  if (per_page != NULL) {
    if (per_page->value < 1 || per_page->value > 100) {
      rc = service_bad_field(msg, msglen, "per_page: must be 1..100");
    } else {
      *per_page_out = per_page->value;
    }
  }
  return rc;
}

int service_show_ids_arg(const int32_t *ids, size_t n, char *msg, size_t msglen) {
  if (n > SERVICE_MAX_SHOW_IDS) {
    return service_bad_field(msg, msglen, "show_ids: at most %d ids, got %zu", SERVICE_MAX_SHOW_IDS,
                             n);
  }
  for (size_t i = 0; i < n; i++) {
    if (ids[i] <= 0) {
      return service_bad_field(msg, msglen, "show_ids: must be positive TVMaze show ids, got %d",
                               (int)ids[i]);
    }
  }
  return 0;
}
