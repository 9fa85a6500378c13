/*
 * auth: HTTP Basic and API keys, with the server's answers cached. See
 * auth.h. Tests: tests/integration/test_gateway_http.sh ("auth").
 */
#include "auth.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "bcache.h"
#include "clock.h"
#include "metrics.h"
#include "tvmaze/v1/auth.pb-c.h"
#include "upstream.h"
#include "xalloc.h"

#define CACHE_SLOTS 256
#define MAX_KEY_LEN 200

/* A cached answer (the bcache's value, key = the API key). */
struct answer {
  int valid; /* 1 known key, 0 refused */
  struct gw_identity who;
};

struct gw_auth {
  char *user; /* Basic credentials (NULL: Basic disabled); read-only */
  char *pass;
  long ttl_s;             /* read-only */
  struct gw_upstream *up; /* borrowed */
  struct gw_metrics *m;   /* borrowed */
  pthread_mutex_t lock;   /* guards cache */
  struct bcache *cache;   /* NULL when ttl_s == 0 */
};

static void answer_free_(void *value, void *cls) {
  (void)cls;
  free(value);
}

struct gw_auth *gw_auth_create(const char *username, const char *password, long cache_ttl_s,
                               struct gw_upstream *up, struct gw_metrics *m) {
  struct gw_auth *a = xcalloc(1, sizeof *a);
  a->user = username && username[0] ? xstrdup(username) : NULL;
  a->pass = xstrdup(password ? password : "");
  a->ttl_s = cache_ttl_s;
  a->up = up;
  a->m = m;
  pthread_mutex_init(&a->lock, NULL);
  if (cache_ttl_s > 0) {
    struct bcache_config cfg = {.slots = CACHE_SLOTS, .ways = 1, .free_value = answer_free_};
    a->cache = bcache_create(&cfg);
  }
  return a;
}

void gw_auth_destroy(struct gw_auth *a) {
  if (!a)
    return;
  bcache_destroy(a->cache);
  pthread_mutex_destroy(&a->lock);
  free(a->user);
  free(a->pass);
  free(a);
}

/* Constant-time equality of two strings (time depends on lengths only). */
static int ct_equal_(const char *x, const char *y) {
  size_t lx = strlen(x), ly = strlen(y);
  size_t n = lx > ly ? lx : ly;
  unsigned diff = lx != ly;
  for (size_t i = 0; i < n; i++) {
    unsigned char cx = i < lx ? (unsigned char)x[i] : 0;
    unsigned char cy = i < ly ? (unsigned char)y[i] : 0;
    diff |= (unsigned)(cx ^ cy);
  }
  return diff == 0;
}

static enum gw_auth_result check_basic_(const struct gw_auth *a, const char *b64,
                                        struct gw_identity *who) {
  char dec[512];
  long n = base64_decode(b64, (uint8_t *)dec, sizeof dec - 1);
  /* A NUL inside the credentials is never valid (it would cut the compare). */
  if (!a->user || n < 0 || memchr(dec, '\0', (size_t)n) != NULL)
    return GW_AUTH_DENIED;
  dec[n] = '\0';
  char *colon = strchr(dec, ':');
  if (!colon)
    return GW_AUTH_DENIED;
  *colon = '\0';
  int ok = ct_equal_(dec, a->user);
  ok &= ct_equal_(colon + 1, a->pass);
  if (!ok)
    return GW_AUTH_DENIED;
  snprintf(who->name, sizeof who->name, "basic:%.60s", dec);
  who->tier = 0;
  return GW_AUTH_OK;
}

/* 1 and *valid, *who set when key's answer is cached and live. */
static int cache_get_(struct gw_auth *a, const char *key, int64_t now, int *valid,
                      struct gw_identity *who) {
  int hit = 0;
  pthread_mutex_lock(&a->lock);
  const struct answer *ans = bcache_get(a->cache, key, strlen(key), now);
  if (ans) {
    *valid = ans->valid;
    *who = ans->who;
    hit = 1;
  }
  pthread_mutex_unlock(&a->lock);
  return hit;
}

static void cache_put_(struct gw_auth *a, const char *key, int64_t now, int valid,
                       const struct gw_identity *who) {
  struct answer *ans = xmalloc(sizeof *ans);
  ans->valid = valid;
  ans->who = *who;
  pthread_mutex_lock(&a->lock);
  bcache_put(a->cache, key, strlen(key), ans, 0, now + (int64_t)a->ttl_s * 1000, now);
  pthread_mutex_unlock(&a->lock);
}

static enum gw_auth_result check_key_(struct gw_auth *a, const char *key,
                                      const struct gw_trace *trace, int may_block,
                                      struct gw_identity *who, rpc_code *code) {
  if (!key[0] || strlen(key) > MAX_KEY_LEN)
    return GW_AUTH_DENIED;
  int64_t now = clock_mono_ms();
  int valid;
  if (a->cache && cache_get_(a, key, now, &valid, who)) {
    gw_metrics_auth_cache(a->m, 1);
    return valid ? GW_AUTH_OK : GW_AUTH_DENIED;
  }
  if (!may_block)
    return GW_AUTH_WOULD_BLOCK;
  if (a->cache)
    gw_metrics_auth_cache(a->m, 0);
  Tvmaze__V1__CheckApiKeyRequest req = TVMAZE__V1__CHECK_API_KEY_REQUEST__INIT;
  char keybuf[MAX_KEY_LEN + 1];
  snprintf(keybuf, sizeof keybuf, "%s", key);
  req.key = keybuf;
  struct rpc_client_ctx ctx;
  gw_upstream_call(a->up, &tvmaze__v1__auth__descriptor, 0, &req.base, trace, &ctx);
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
    gw_metrics_upstream_error(a->m, *code);
    res = GW_AUTH_UPSTREAM;
  }
  rpc_client_ctx_release(&ctx);
  if (a->cache && res != GW_AUTH_UPSTREAM)
    cache_put_(a, key, now, res == GW_AUTH_OK, who);
  return res;
}

enum gw_auth_result gw_auth_check(struct gw_auth *a, const char *authorization, const char *api_key,
                                  const struct gw_trace *trace, int may_block,
                                  struct gw_identity *who, rpc_code *code) {
  memset(who, 0, sizeof *who);
  *code = RPC_OK;
  if (authorization && authorization[0]) {
    if (strncasecmp(authorization, "Basic ", 6) == 0)
      return check_basic_(a, authorization + 6, who);
    const char *key = strncasecmp(authorization, "Bearer ", 7) == 0 ? authorization + 7 : NULL;
    if (!key)
      return GW_AUTH_DENIED;
    enum gw_auth_result res = check_key_(a, key, trace, may_block, who, code);
    who->key = res == GW_AUTH_OK ? key : NULL;
    return res;
  }
  if (api_key) {
    enum gw_auth_result res = check_key_(a, api_key, trace, may_block, who, code);
    who->key = res == GW_AUTH_OK ? api_key : NULL;
    return res;
  }
  return GW_AUTH_MISSING;
}
