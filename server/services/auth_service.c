/*
 * auth_service: tvmaze.v1.Auth. CheckApiKey answers the key's name and tier,
 * or UNAUTHENTICATED when the key is unknown or revoked (the gateway caches
 * the answer briefly); UNAVAILABLE while the database is away.
 */
#include <stdlib.h>
#include <string.h>

#include "services.h"
#include "store_keys.h"
#include "tvmaze/v1/auth.pb-c.h"
#include "xalloc.h"

/* Keys are printable ASCII; anything else cannot be a key. */
static int plausible_key_(const char *k) {
  size_t n = strlen(k);
  if (n == 0 || n > 200)
    return 0;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)k[i] < 0x21 || (unsigned char)k[i] > 0x7e)
      return 0;
  return 1;
}

static void check_api_key_(Tvmaze__V1__Auth_Service *svc, const Tvmaze__V1__CheckApiKeyRequest *req,
                           Tvmaze__V1__CheckApiKeyResponse_Closure done, void *cd) {
  (void)svc;
  rpc_call *call = cd;
  struct worker_ctx *w = rpc_call_worker_data(call);
  if (!req->key || !plausible_key_(req->key)) {
    rpc_call_set_status(call, RPC_UNAUTHENTICATED, "key: unknown or revoked");
    done(NULL, cd);
    return;
  }
  char name[72];
  int tier = 0;
  enum store_status st = store_key_check(w->store, req->key, name, sizeof name, &tier);
  if (st == STORE_NOT_FOUND) {
    rpc_call_set_status(call, RPC_UNAUTHENTICATED, "key: unknown or revoked");
    done(NULL, cd);
    return;
  }
  if (st != STORE_OK) {
    service_fail_store(call, st, "api key lookup", w->store);
    done(NULL, cd);
    return;
  }
  Tvmaze__V1__CheckApiKeyResponse reply = TVMAZE__V1__CHECK_API_KEY_RESPONSE__INIT;
  reply.name = name;
  reply.tier = (Tvmaze__V1__KeyTier)tier;
  done(&reply, cd);
}

static void destroy_(Tvmaze__V1__Auth_Service *svc) {
  free(svc);
}

ProtobufCService *auth_service_create(struct server_ctx *ctx) {
  (void)ctx;
  Tvmaze__V1__Auth_Service *svc = xcalloc(1, sizeof *svc);
  tvmaze__v1__auth__init(svc, destroy_);
  svc->check_api_key = check_api_key_;
  return &svc->base;
}
