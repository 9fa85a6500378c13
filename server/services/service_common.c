/*
 * service_common: what the service implementations share: the one mapping
 * from store status to gRPC status, the page/per_page rule, service
 * destruction. See services.h.
 */
#include <stdio.h>

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

int service_page_args(const Google__Protobuf__Int32Value *page,
                      const Google__Protobuf__Int32Value *per_page, int32_t *page_out,
                      int32_t *per_page_out, char *msg, size_t msglen) {
  *page_out = 1;
  *per_page_out = 20;
  if (page != NULL) {
    if (page->value < 1) {
      snprintf(msg, msglen, "page: must be at least 1");
      return -1;
    }
    *page_out = page->value;
  }
  if (per_page != NULL) {
    if (per_page->value < 1 || per_page->value > 100) {
      snprintf(msg, msglen, "per_page: must be 1..100");
      return -1;
    }
    *per_page_out = per_page->value;
  }
  return 0;
}

int service_show_ids_arg(const int32_t *ids, size_t n, char *msg, size_t msglen) {
  if (n > SERVICE_MAX_SHOW_IDS) {
    snprintf(msg, msglen, "show_ids: at most %d ids, got %zu", SERVICE_MAX_SHOW_IDS, n);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    if (ids[i] <= 0) {
      snprintf(msg, msglen, "show_ids: must be positive TVMaze show ids, got %d", (int)ids[i]);
      return -1;
    }
  }
  return 0;
}
