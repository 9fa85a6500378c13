/*
 * service_common: helpers shared by the service implementations.
 */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "services.h"

void service_destroy(ProtobufCService *service) {
  if (service != NULL && service->destroy != NULL) {
    service->destroy(service);
  }
}

void service_fail_store(rpc_call *call, enum store_status st, const char *what,
                        const struct store *store) {
  switch (st) {
  case STORE_UNAVAILABLE:
    rpc_call_set_status(call, RPC_UNAVAILABLE, "database unavailable; retry later");
    break;
  case STORE_NOT_FOUND:
    rpc_call_set_status(call, RPC_NOT_FOUND, "%s not found", what);
    break;
  default:
    LOG_EVENT(LOG_ERROR, "store_error", LF_STR("method", rpc_call_method(call)),
              LF_STR("what", what), LF_STR("status", store_status_name(st)),
              LF_STR("error", store ? store_last_error(store) : NULL));
    rpc_call_set_status(call, RPC_INTERNAL, "internal error while reading %s", what);
    break;
  }
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
