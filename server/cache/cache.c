/*
 * cache: Redis read-through cache over hiredis. See cache.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "bcache.h"
#include "clock.h"
#include "log.h"
#include "otel_current.h"
#include "redis_conn.h"
#include "redis_url.h"
#include "xalloc.h"

struct cache {
  struct redis_url url; /* host, port, AUTH, SELECT */
  redisContext *ctx;    /* NULL while disconnected */
  int64_t retry_at;     /* monotonic ms before which no reconnect is tried */
};

/* Process-wide state (the handles are per worker thread): counters and the
 * down flag are atomics (no lock); the local layer below has its mutex. */
static atomic_uint_fast64_t g_hits, g_local_hits, g_misses, g_errors;
static atomic_int g_down; /* 1 after a failure was logged, until a success */

/* ------------------------------------------------------------------ */
/* Local layer                                                        */
/* ------------------------------------------------------------------ */

/* A local copy of a value (the bcache's value; key copied by the bcache). */
struct local_value {
  size_t len;
  char data[];
};

static void local_value_free_(void *value, void *cls) {
  (void)cls;
  free(value);
}

/* Process-wide (every handle shares it). One mutex: a hit holds it for a
 * hash compare and one copy of the value (~24 KB for a ListShows page, a
 * few microseconds). Direct-mapped (bcache, 1 way), cost = key + value
 * bytes, over the budget entries are evicted going round from the slot
 * after the new one's. */
static struct {
  pthread_mutex_t mu;
  struct bcache *table; /* NULL while off; guarded by mu */
  size_t max_bytes;     /* guarded by mu */
} g_local = {.mu = PTHREAD_MUTEX_INITIALIZER};

void cache_local_configure(size_t max_bytes) {
  pthread_mutex_lock(&g_local.mu);
  bcache_destroy(g_local.table);
  g_local.table = NULL;
  g_local.max_bytes = max_bytes;
  if (max_bytes > 0) {
    struct bcache_config cfg = {.slots = CACHE_LOCAL_SLOTS,
                                .ways = 1,
                                .max_cost = max_bytes,
                                .full = BCACHE_FULL_EVICT,
                                .free_value = local_value_free_};
    g_local.table = bcache_create(&cfg);
  }
  pthread_mutex_unlock(&g_local.mu);
}

/* 1 and a malloc'd copy in *val on a live entry for key. */
static int local_get_(const void *key, size_t keylen, char **val, size_t *len) {
  int hit = 0;
  pthread_mutex_lock(&g_local.mu);
  if (g_local.table != NULL) {
    const struct local_value *v = bcache_get(g_local.table, key, keylen, clock_mono_ms());
    if (v != NULL) {
      *val = xmalloc(v->len + 1);
      memcpy(*val, v->data, v->len);
      (*val)[v->len] = '\0';
      *len = v->len;
      hit = 1;
    }
  }
  pthread_mutex_unlock(&g_local.mu);
  return hit;
}

/* Stores a copy, replacing the slot's entry; entries over 1/16 of the
 * budget stay in Redis only. */
static void local_put_(const void *key, size_t keylen, const void *val, size_t len,
                       int ttl_seconds) {
  int ttl = ttl_seconds < CACHE_LOCAL_TTL_SECONDS ? ttl_seconds : CACHE_LOCAL_TTL_SECONDS;
  pthread_mutex_lock(&g_local.mu);
  if (g_local.table != NULL && keylen + len <= g_local.max_bytes / 16 && ttl > 0) {
    struct local_value *v = xmalloc(sizeof *v + (len ? len : 1));
    v->len = len;
    memcpy(v->data, val, len);
    int64_t now = clock_mono_ms();
    bcache_put(g_local.table, key, keylen, v, keylen + len, now + (int64_t)ttl * 1000, now);
  }
  pthread_mutex_unlock(&g_local.mu);
}

/* ------------------------------------------------------------------ */
/* Redis                                                              */
/* ------------------------------------------------------------------ */

struct cache *cache_open(const char *url) {
  struct cache *c = xcalloc(1, sizeof *c);
  char err[160];
  if (redis_url_parse(url, &c->url, err, sizeof err) != REDIS_URL_OK) {
    cache_close(c);
    return NULL;
  }
  return c;
}

void cache_close(struct cache *c) {
  if (c == NULL) {
    return;
  }
  if (c->ctx != NULL) {
    redisFree(c->ctx);
  }
  free(c);
}

static void failed_(struct cache *c, const char *what) {
  atomic_fetch_add(&g_errors, 1);
  const char *err = c->ctx != NULL && c->ctx->err ? c->ctx->errstr : what;
  if (atomic_exchange(&g_down, 1) == 0) {
    LOG_EVENT(LOG_WARN, "cache_unavailable", LF_STR("host", c->url.host),
              LF_INT("port", c->url.port), LF_STR("error", err),
              LF_STR("effect", "serving from PostgreSQL"));
  }
  if (c->ctx != NULL) {
    redisFree(c->ctx);
    c->ctx = NULL;
  }
  c->retry_at = clock_mono_ms() + CACHE_RETRY_MS;
}

static void succeeded_(struct cache *c) {
  if (atomic_exchange(&g_down, 0) == 1) {
    LOG_EVENT(LOG_INFO, "cache_recovered", LF_STR("host", c->url.host),
              LF_INT("port", c->url.port));
  }
}

/* Runs a command on a live connection; NULL after a failure (handle down). */
static redisReply *command_(struct cache *c, int argc, const char **argv, const size_t *lens) {
  if (c->ctx == NULL) {
    if (clock_mono_ms() < c->retry_at) {
      atomic_fetch_add(&g_errors, 1);
      return NULL;
    }
    char err[256];
    c->ctx = redis_conn_open(&c->url, CACHE_TIMEOUT_MS, err, sizeof err);
    if (c->ctx == NULL) {
      failed_(c, err);
      return NULL;
    }
  }
  redisReply *r = redisCommandArgv(c->ctx, argc, argv, lens);
  if (r == NULL || r->type == REDIS_REPLY_ERROR) {
    freeReplyObject(r);
    failed_(c, "command failed");
    return NULL;
  }
  succeeded_(c);
  return r;
}

/* cache_get without its span; *local = 1 when the local layer answered. */
static enum cache_result get_(struct cache *c, const void *key, size_t keylen, char **val,
                              size_t *len, int *local) {
  if (local_get_(key, keylen, val, len)) {
    atomic_fetch_add(&g_hits, 1);
    atomic_fetch_add(&g_local_hits, 1);
    *local = 1;
    return CACHE_HIT;
  }
  const char *argv[2] = {"GET", key};
  size_t lens[2] = {3, keylen};
  redisReply *r = command_(c, 2, argv, lens);
  if (r == NULL) {
    return CACHE_DOWN;
  }
  enum cache_result res = CACHE_MISS;
  if (r->type == REDIS_REPLY_STRING) {
    *val = xmalloc(r->len + 1);
    memcpy(*val, r->str, r->len);
    (*val)[r->len] = '\0';
    *len = r->len;
    res = CACHE_HIT;
    atomic_fetch_add(&g_hits, 1);
    local_put_(key, keylen, r->str, r->len, CACHE_LOCAL_TTL_SECONDS);
  } else {
    atomic_fetch_add(&g_misses, 1);
  }
  freeReplyObject(r);
  return res;
}

/* The spans (otel_current.h: only under a recorded current span): "cache.get"
 * with tvmaze.cache.result hit|miss|down and tvmaze.cache.layer local|redis,
 * "cache.set"; db.system redis. Never the key or the value. */
static const char *const result_names_[] = {"hit", "miss", "down"};

enum cache_result cache_get(struct cache *c, const void *key, size_t keylen, char **val,
                            size_t *len) {
  int local = 0;
  if (!otel_current_active()) {
    return get_(c, key, keylen, val, len, &local);
  }
  struct otel_span *span = otel_current_start("cache.get", OTEL_SPAN_CLIENT);
  enum cache_result res = get_(c, key, keylen, val, len, &local);
  otel_span_attr_str(span, "db.system", "redis");
  otel_span_attr_str(span, "tvmaze.cache.result", result_names_[res]);
  otel_span_attr_str(span, "tvmaze.cache.layer", local ? "local" : "redis");
  if (res == CACHE_DOWN) {
    otel_span_set_status(span, OTEL_STATUS_ERROR, "redis unavailable");
  }
  otel_current_end(span);
  return res;
}

void cache_put(struct cache *c, const void *key, size_t keylen, const void *val, size_t len,
               int ttl_seconds) {
  struct otel_span *span = otel_current_start("cache.set", OTEL_SPAN_CLIENT);
  otel_span_attr_str(span, "db.system", "redis");
  local_put_(key, keylen, val, len, ttl_seconds);
  char ttl[16];
  snprintf(ttl, sizeof ttl, "%d", ttl_seconds);
  const char *argv[5] = {"SET", key, val, "EX", ttl};
  size_t lens[5] = {3, keylen, len, 2, strlen(ttl)};
  freeReplyObject(command_(c, 5, argv, lens));
  otel_current_end(span);
}

void cache_stats_get(struct cache_stats *out) {
  out->hits = atomic_load(&g_hits);
  out->local_hits = atomic_load(&g_local_hits);
  out->misses = atomic_load(&g_misses);
  out->errors = atomic_load(&g_errors);
  pthread_mutex_lock(&g_local.mu);
  out->local_bytes = g_local.table != NULL ? bcache_cost(g_local.table) : 0;
  pthread_mutex_unlock(&g_local.mu);
}
