/*
 * auth_gate: keys, scopes and limits on every tvmaze.v1 call. See
 * auth_gate.h.
 */
#include "auth_gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_key.h"
#include "key_cache.h"
#include "ratelimit.h"
#include "services.h"
#include "store_keys.h"
#include "xalloc.h"

#define LOOKUP_LIMIT 300
#define LOOKUP_WINDOW_S 60

struct auth_gate {
  struct key_cache *keys; /* thread-safe */
  struct ratelimit *rl;   /* thread-safe */
};

struct auth_gate *auth_gate_create(const char *database_url, const char *redis_url, char *err,
                                   size_t errlen) {
  struct ratelimit *rl = ratelimit_create(redis_url, err, errlen);
  if (rl == NULL)
    return NULL;
  struct auth_gate *g = xcalloc(1, sizeof *g);
  g->rl = rl;
  g->keys = key_cache_create(database_url);
  return g;
}

void auth_gate_destroy(struct auth_gate *g) {
  if (g == NULL)
    return;
  key_cache_destroy(g->keys);
  ratelimit_destroy(g->rl);
  free(g);
}

/* The methods that need scope ingest. */
static const struct {
  const char *service, *method;
} ingest_methods_[] = {{"tvmaze.v1.Ingest", "StartIngest"}, {"tvmaze.v1.Auth", "CheckApiKey"}};

static int needs_ingest_(const ProtobufCServiceDescriptor *svc, unsigned index) {
  for (size_t i = 0; i < sizeof ingest_methods_ / sizeof ingest_methods_[0]; i++)
    if (strcmp(svc->name, ingest_methods_[i].service) == 0 &&
        strcmp(svc->methods[index].name, ingest_methods_[i].method) == 0)
      return 1;
  return 0;
}

/* The client's address without its port ("ipv4:127.0.0.1:5555" ->
 * "127.0.0.1"), into out. */
static void peer_ip_(const rpc_call *call, char *out, size_t outlen) {
  const char *p = rpc_call_peer(call);
  if (p == NULL)
    p = "unknown";
  const char *colon = strchr(p, ':');
  if (colon != NULL && (strncmp(p, "ipv4:", 5) == 0 || strncmp(p, "ipv6:", 5) == 0))
    p = colon + 1;
  size_t n = strlen(p);
  const char *port = strrchr(p, ':');
  if (port != NULL && strchr(p, ']') == NULL && strchr(p, ':') == port)
    n = (size_t)(port - p); /* ipv4 host:port */
  else if (p[0] == '[' && strchr(p, ']') != NULL)
    n = (size_t)(strchr(p, ']') - p + 1); /* [v6]:port */
  snprintf(out, outlen, "%.*s", (int)n, p);
}

/* Resolves key[0..len) to its live record: 0 with *rec set, or -1 with the
 * call's status set. limit_lookups: a cache miss spends one of the client's
 * lookups first. what names the header in messages. */
static int resolve_(struct auth_gate *g, rpc_call *call, struct store *store, const char *key,
                    size_t len, int limit_lookups, const char *what, struct store_key_record *rec) {
  if (key_cache_memo_get(g->keys, key, len, rec))
    return 0;
  unsigned char digest[STORE_KEY_DIGEST_LEN];
  store_key_digest(key, len, digest);
  if (key_cache_get(g->keys, digest, key, len, rec))
    return 0;
  if (limit_lookups) {
    char ip[80];
    peer_ip_(call, ip, sizeof ip);
    struct ratelimit_rate rate;
    ratelimit_hit(g->rl, "keylookup", ip, LOOKUP_LIMIT, LOOKUP_WINDOW_S, 1, &rate);
    if (rate.exceeded) {
      rpc_call_set_status(call, RPC_RESOURCE_EXHAUSTED,
                          "too many API key lookups from this client (%d a minute); retry in %ld s",
                          LOOKUP_LIMIT, rate.reset_s);
      rpc_call_set_retry_delay(call, rate.reset_s > 0 ? rate.reset_s : 1);
      return -1;
    }
  }
  uint64_t epoch = key_cache_epoch(g->keys);
  enum store_status st = store_key_lookup(store, digest, rec);
  if (st == STORE_NOT_FOUND) {
    rpc_call_set_status(call, RPC_UNAUTHENTICATED, "%s unknown or revoked", what);
    return -1;
  }
  if (st != STORE_OK) {
    service_fail_store(call, st, "API key", store);
    return -1;
  }
  key_cache_put(g->keys, digest, key, len, rec, epoch);
  return 0;
}

int auth_gate_check(struct auth_gate *g, rpc_call *call, const ProtobufCServiceDescriptor *svc,
                    unsigned index, struct store *store) {
  const char *key = NULL, *why = NULL, *relay_key = NULL;
  size_t len = 0, relay_len = 0;
  int relayed = 0;
  struct store_key_record rec;
  switch (api_key_relay_from_call(call, &key, &len, &why)) {
  case API_KEY_MISSING:
    break;
  case API_KEY_MALFORMED:
    rpc_call_set_status(call, RPC_UNAUTHENTICATED, "%s", why);
    return -1;
  case API_KEY_OK:
    if (resolve_(g, call, store, key, len, 1, API_KEY_RELAY_HEADER ":", &rec) != 0)
      return -1;
    if (rec.scope != STORE_KEY_SCOPE_INGEST) {
      rpc_call_set_status(call, RPC_PERMISSION_DENIED,
                          API_KEY_RELAY_HEADER ": key %s has scope %s; relaying needs scope ingest",
                          rec.name, store_key_scope_name(rec.scope));
      return -1;
    }
    relayed = 1;
    relay_key = key;
    relay_len = len;
    break;
  }
  switch (api_key_from_call(call, &key, &len, &why)) {
  case API_KEY_MISSING:
    rpc_call_set_status(call, RPC_UNAUTHENTICATED,
                        "API key required: send \"authorization: Bearer <key>\" or "
                        "\"x-api-key: <key>\"");
    return -1;
  case API_KEY_MALFORMED:
    rpc_call_set_status(call, RPC_UNAUTHENTICATED, "%s", why);
    return -1;
  case API_KEY_OK:
    break;
  }
  /* The gateway acting for an HTTP Basic caller sends its own key as both:
   * the relay key's record is the caller's (both keys are the caller's own
   * input, so comparing them leaks nothing). */
  int same = relayed && len == relay_len && memcmp(key, relay_key, len) == 0;
  if (!same && resolve_(g, call, store, key, len, !relayed, "API key", &rec) != 0)
    return -1;
  if (needs_ingest_(svc, index) && rec.scope != STORE_KEY_SCOPE_INGEST) {
    rpc_call_set_status(call, RPC_PERMISSION_DENIED,
                        "%s/%s needs a key with scope ingest; key %s has scope %s", svc->name,
                        svc->methods[index].name, rec.name, store_key_scope_name(rec.scope));
    return -1;
  }
  if (!relayed) {
    struct ratelimit_rate rate;
    ratelimit_hit(g->rl, "key", rec.name, ratelimit_tier_limit(rec.tier), 60, 1, &rate);
    if (rate.exceeded) {
      rpc_call_set_status(call, RPC_RESOURCE_EXHAUSTED,
                          "rate limit exceeded for key %s (%ld a minute); retry in %ld s", rec.name,
                          rate.limit, rate.reset_s);
      rpc_call_set_retry_delay(call, rate.reset_s > 0 ? rate.reset_s : 1);
      return -1;
    }
  }
  return 0;
}
