/*
 * auth_service: tvmaze.v1.Auth. CheckApiKey answers the key's name and tier,
 * or UNAUTHENTICATED when the key is unknown or revoked (the gateway caches
 * the answer briefly); UNAVAILABLE while the database is away. Not an
 * oracle: like every tvmaze.v1 call it passes the gate first
 * (server/auth/auth_gate.h), which asks the caller's own key with scope
 * ingest (the gateway's TVMAZE_API_KEY) and counts the call against that
 * key's limit.
 */
#include <stdlib.h>
#include <string.h>

#include "api_key.h"
#include "services.h"
#include "store_keys.h"
#include "tvmaze/v1/auth.pb-c.h"
#include "xalloc.h"

static void check_api_key_(Tvmaze__V1__Auth_Service *svc, const Tvmaze__V1__CheckApiKeyRequest *req,
                           Tvmaze__V1__CheckApiKeyResponse_Closure done, void *cd) {
  (void)svc;
  rpc_call *call = cd;
  struct worker_ctx *w = rpc_call_worker_data(call);
  if (!req->key || !api_key_plausible(req->key, strlen(req->key))) {
    rpc_call_set_status(call, RPC_UNAUTHENTICATED, "key: unknown or revoked");
    done(NULL, cd);
    return;
  }
  unsigned char digest[STORE_KEY_DIGEST_LEN];
  store_key_digest(req->key, strlen(req->key), digest);
  struct store_key_record rec;
  enum store_status st = store_key_lookup(w->store, digest, &rec);
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
  reply.name = rec.name;
  reply.tier = (Tvmaze__V1__KeyTier)rec.tier;
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
