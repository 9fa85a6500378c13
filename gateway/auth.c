/*
 * auth: credentials on /api/v1. HTTP Basic is compared in constant time
 * against API_USERNAME/API_PASSWORD; API keys (Authorization: Bearer or
 * X-API-Key) are checked by the server (Auth/CheckApiKey: the keys live
 * hashed in PostgreSQL) and the answer is cached here for auth_cache_ttl_s
 * seconds in a small direct-mapped table guarded by one mutex. A cached
 * answer (or Basic) never blocks; a key missing from the cache needs the
 * server, which the daemon does on an upstream worker (may_block).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base64.h"
#include "gateway.h"
#include "hash.h"
#include "tvmaze/v1/auth.pb-c.h"

#define CACHE_SLOTS 256
#define MAX_KEY_LEN 200

struct cache_slot {
  char key[MAX_KEY_LEN + 1]; /* the API key ("" = empty slot) */
  int valid;                 /* 1 known key, 0 refused */
  struct gw_identity who;
  time_t expires;
};

static const char *user_; /* Basic credentials (NULL: Basic disabled) */
static const char *pass_;
static long ttl_s_;
static pthread_mutex_t lock_ = PTHREAD_MUTEX_INITIALIZER; /* guards cache_ */
static struct cache_slot cache_[CACHE_SLOTS];

void gw_auth_init(const struct gw_config *cfg) {
  user_ = cfg->api_username && cfg->api_username[0] ? cfg->api_username : NULL;
  pass_ = cfg->api_password ? cfg->api_password : "";
  ttl_s_ = cfg->auth_cache_ttl_s;
}

void gw_auth_shutdown(void) {
  pthread_mutex_lock(&lock_);
  memset(cache_, 0, sizeof cache_);
  pthread_mutex_unlock(&lock_);
}

int gw_ct_equal(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  size_t n = la > lb ? la : lb;
  unsigned diff = la != lb;
  for (size_t i = 0; i < n; i++) {
    unsigned char ca = i < la ? (unsigned char)a[i] : 0;
    unsigned char cb = i < lb ? (unsigned char)b[i] : 0;
    diff |= (unsigned)(ca ^ cb);
  }
  return diff == 0;
}

static enum gw_auth_result check_basic_(const char *b64, struct gw_identity *who) {
  char dec[512];
  long n = base64_decode(b64, (uint8_t *)dec, sizeof dec - 1);
  /* A NUL inside the credentials is never valid (it would cut the compare). */
  if (!user_ || n < 0 || memchr(dec, '\0', (size_t)n) != NULL)
    return GW_AUTH_DENIED;
  dec[n] = '\0';
  char *colon = strchr(dec, ':');
  if (!colon)
    return GW_AUTH_DENIED;
  *colon = '\0';
  int ok = gw_ct_equal(dec, user_);
  ok &= gw_ct_equal(colon + 1, pass_);
  if (!ok)
    return GW_AUTH_DENIED;
  snprintf(who->name, sizeof who->name, "basic:%.60s", dec);
  who->tier = 0;
  return GW_AUTH_OK;
}

static unsigned slot_of_(const char *key) {
  return hash_fnv1a32_str(key) % CACHE_SLOTS;
}

static enum gw_auth_result check_key_(const char *key, const struct gw_trace *trace, int may_block,
                                      struct gw_identity *who, rpc_code *code) {
  if (!key[0] || strlen(key) > MAX_KEY_LEN)
    return GW_AUTH_DENIED;
  unsigned slot = slot_of_(key);
  time_t now = time(NULL);
  if (ttl_s_ > 0) {
    pthread_mutex_lock(&lock_);
    struct cache_slot *c = &cache_[slot];
    if (c->expires > now && strcmp(c->key, key) == 0) {
      int valid = c->valid;
      *who = c->who;
      pthread_mutex_unlock(&lock_);
      gw_metrics_auth_cache(1);
      return valid ? GW_AUTH_OK : GW_AUTH_DENIED;
    }
    pthread_mutex_unlock(&lock_);
  }
  if (!may_block)
    return GW_AUTH_WOULD_BLOCK;
  if (ttl_s_ > 0)
    gw_metrics_auth_cache(0);
  Tvmaze__V1__CheckApiKeyRequest req = TVMAZE__V1__CHECK_API_KEY_REQUEST__INIT;
  char keybuf[MAX_KEY_LEN + 1];
  snprintf(keybuf, sizeof keybuf, "%s", key);
  req.key = keybuf;
  struct rpc_client_ctx ctx;
  gw_upstream_call(gw_upstream_service(&tvmaze__v1__auth__descriptor), 0, &req.base, trace, &ctx);
  enum gw_auth_result res;
  if (ctx.code == RPC_OK && ctx.reply) {
    const Tvmaze__V1__CheckApiKeyResponse *r = (const Tvmaze__V1__CheckApiKeyResponse *)ctx.reply;
    snprintf(who->name, sizeof who->name, "%s", r->name);
    who->tier = (int)r->tier;
    res = GW_AUTH_OK;
  } else if (ctx.code == RPC_UNAUTHENTICATED || ctx.code == RPC_PERMISSION_DENIED ||
             ctx.code == RPC_INVALID_ARGUMENT) {
    res = GW_AUTH_DENIED;
  } else {
    *code = ctx.code == RPC_OK ? RPC_INTERNAL : ctx.code;
    gw_metrics_upstream_error(*code);
    res = GW_AUTH_UPSTREAM;
  }
  rpc_client_ctx_release(&ctx);
  if (ttl_s_ > 0 && res != GW_AUTH_UPSTREAM) {
    pthread_mutex_lock(&lock_);
    struct cache_slot *c = &cache_[slot];
    snprintf(c->key, sizeof c->key, "%s", key);
    c->valid = res == GW_AUTH_OK;
    c->who = *who;
    c->expires = now + ttl_s_;
    pthread_mutex_unlock(&lock_);
  }
  return res;
}

enum gw_auth_result gw_auth_check(const char *authorization, const char *api_key,
                                  const struct gw_trace *trace, int may_block,
                                  struct gw_identity *who, rpc_code *code) {
  memset(who, 0, sizeof *who);
  *code = RPC_OK;
  if (authorization && authorization[0]) {
    if (strncasecmp(authorization, "Basic ", 6) == 0)
      return check_basic_(authorization + 6, who);
    if (strncasecmp(authorization, "Bearer ", 7) == 0)
      return check_key_(authorization + 7, trace, may_block, who, code);
    return GW_AUTH_DENIED;
  }
  if (api_key)
    return check_key_(api_key, trace, may_block, who, code);
  return GW_AUTH_MISSING;
}
