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

#include "clock.h"
#include "hash.h"
#include "log.h"
#include "xalloc.h"

struct cache {
  char *host;        /* owned */
  int port;          /* TCP port */
  char *password;    /* owned, NULL: no AUTH */
  int db;            /* SELECT db when > 0 */
  redisContext *ctx; /* NULL while disconnected */
  int64_t retry_at;  /* monotonic ms before which no reconnect is tried */
};

static atomic_uint_fast64_t g_hits, g_local_hits, g_misses, g_errors;
static atomic_int g_down; /* 1 after a failure was logged, until a success */

/* ------------------------------------------------------------------ */
/* Local layer                                                        */
/* ------------------------------------------------------------------ */

/* One slot of the direct-mapped table; key and value in one allocation. */
struct local_entry {
  uint64_t hash;
  char *mem; /* key bytes, then value bytes; NULL: empty slot */
  size_t keylen, vallen;
  int64_t expires_ms;
};

/* One mutex: a hit holds it for a hash compare and one copy of the value
 * (~24 KB for a ListShows page, a few microseconds). */
static struct {
  pthread_mutex_t mu;
  struct local_entry *slots; /* CACHE_LOCAL_SLOTS, NULL while off */
  size_t bytes, max_bytes;
} g_local = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void local_drop_(struct local_entry *e) {
  if (e->mem != NULL) {
    g_local.bytes -= e->keylen + e->vallen;
    free(e->mem);
    e->mem = NULL;
  }
}

void cache_local_configure(size_t max_bytes) {
  pthread_mutex_lock(&g_local.mu);
  if (g_local.slots != NULL) {
    for (size_t i = 0; i < CACHE_LOCAL_SLOTS; i++) {
      local_drop_(&g_local.slots[i]);
    }
    free(g_local.slots);
    g_local.slots = NULL;
  }
  g_local.max_bytes = max_bytes;
  if (max_bytes > 0) {
    g_local.slots = xcalloc(CACHE_LOCAL_SLOTS, sizeof *g_local.slots);
  }
  pthread_mutex_unlock(&g_local.mu);
}

/* 1 and a malloc'd copy in *val on a live entry for key. */
static int local_get_(const void *key, size_t keylen, char **val, size_t *len) {
  uint64_t h = hash_fnv1a64(key, keylen);
  int hit = 0;
  pthread_mutex_lock(&g_local.mu);
  if (g_local.slots != NULL) {
    struct local_entry *e = &g_local.slots[h % CACHE_LOCAL_SLOTS];
    if (e->mem != NULL && e->hash == h && e->keylen == keylen && memcmp(e->mem, key, keylen) == 0) {
      if (e->expires_ms > clock_mono_ms()) {
        *val = xmalloc(e->vallen + 1);
        memcpy(*val, e->mem + keylen, e->vallen);
        (*val)[e->vallen] = '\0';
        *len = e->vallen;
        hit = 1;
      } else {
        local_drop_(e);
      }
    }
  }
  pthread_mutex_unlock(&g_local.mu);
  return hit;
}

/* Stores a copy, replacing the slot's entry. When the table would exceed
 * its size, entries are dropped going round from the slot after this one
 * (their keys hash anywhere, so this approximates random eviction). */
static void local_put_(const void *key, size_t keylen, const void *val, size_t len,
                       int ttl_seconds) {
  uint64_t h = hash_fnv1a64(key, keylen);
  size_t need = keylen + len;
  int ttl = ttl_seconds < CACHE_LOCAL_TTL_SECONDS ? ttl_seconds : CACHE_LOCAL_TTL_SECONDS;
  pthread_mutex_lock(&g_local.mu);
  if (g_local.slots != NULL && need <= g_local.max_bytes / 16 && ttl > 0) {
    size_t slot = h % CACHE_LOCAL_SLOTS;
    local_drop_(&g_local.slots[slot]);
    for (size_t i = 1; i < CACHE_LOCAL_SLOTS && g_local.bytes + need > g_local.max_bytes; i++) {
      local_drop_(&g_local.slots[(slot + i) % CACHE_LOCAL_SLOTS]);
    }
    struct local_entry *e = &g_local.slots[slot];
    e->mem = xmalloc(need ? need : 1);
    memcpy(e->mem, key, keylen);
    memcpy(e->mem + keylen, val, len);
    e->hash = h;
    e->keylen = keylen;
    e->vallen = len;
    e->expires_ms = clock_mono_ms() + (int64_t)ttl * 1000;
    g_local.bytes += need;
  }
  pthread_mutex_unlock(&g_local.mu);
}

/* ------------------------------------------------------------------ */
/* Redis                                                              */
/* ------------------------------------------------------------------ */

struct cache *cache_open(const char *url) {
  const char *p = url;
  if (url == NULL || strncmp(p, "redis://", 8) != 0) {
    return NULL;
  }
  p += 8;
  struct cache *c = xcalloc(1, sizeof *c);
  c->port = 6379;
  const char *at = strchr(p, '@');
  if (at != NULL) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *pw = colon ? colon + 1 : p;
    if (at > pw) {
      c->password = xstrndup(pw, (size_t)(at - pw));
    }
    p = at + 1;
  }
  size_t hostlen = strcspn(p, ":/");
  c->host = xstrndup(p, hostlen);
  p += hostlen;
  if (*p == ':') {
    c->port = (int)strtol(p + 1, (char **)&p, 10);
  }
  if (*p == '/') {
    c->db = (int)strtol(p + 1, NULL, 10);
  }
  if (c->host[0] == '\0' || c->port <= 0 || c->port > 65535) {
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
  free(c->host);
  free(c->password);
  free(c);
}

static void failed_(struct cache *c, const char *what) {
  atomic_fetch_add(&g_errors, 1);
  const char *err = c->ctx != NULL && c->ctx->err ? c->ctx->errstr : what;
  if (atomic_exchange(&g_down, 1) == 0) {
    LOG_EVENT(LOG_WARN, "cache_unavailable", LF_STR("host", c->host), LF_INT("port", c->port),
              LF_STR("error", err), LF_STR("effect", "serving from PostgreSQL"));
  }
  if (c->ctx != NULL) {
    redisFree(c->ctx);
    c->ctx = NULL;
  }
  c->retry_at = clock_mono_ms() + CACHE_RETRY_MS;
}

static void succeeded_(struct cache *c) {
  if (atomic_exchange(&g_down, 0) == 1) {
    LOG_EVENT(LOG_INFO, "cache_recovered", LF_STR("host", c->host), LF_INT("port", c->port));
  }
}

/* Runs a command on a live connection; NULL after a failure (handle down). */
static redisReply *command_(struct cache *c, int argc, const char **argv, const size_t *lens) {
  if (c->ctx == NULL) {
    if (clock_mono_ms() < c->retry_at) {
      atomic_fetch_add(&g_errors, 1);
      return NULL;
    }
    struct timeval tv = {0, CACHE_TIMEOUT_MS * 1000};
    c->ctx = redisConnectWithTimeout(c->host, c->port, tv);
    if (c->ctx == NULL || c->ctx->err) {
      failed_(c, "connect failed");
      return NULL;
    }
    redisSetTimeout(c->ctx, tv);
    if (c->password != NULL || c->db > 0) {
      redisReply *r = NULL;
      if (c->password != NULL) {
        r = redisCommand(c->ctx, "AUTH %s", c->password);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
          freeReplyObject(r);
          failed_(c, "AUTH failed");
          return NULL;
        }
        freeReplyObject(r);
      }
      if (c->db > 0) {
        r = redisCommand(c->ctx, "SELECT %d", c->db);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
          freeReplyObject(r);
          failed_(c, "SELECT failed");
          return NULL;
        }
        freeReplyObject(r);
      }
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

enum cache_result cache_get(struct cache *c, const void *key, size_t keylen, char **val,
                            size_t *len) {
  if (local_get_(key, keylen, val, len)) {
    atomic_fetch_add(&g_hits, 1);
    atomic_fetch_add(&g_local_hits, 1);
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

void cache_put(struct cache *c, const void *key, size_t keylen, const void *val, size_t len,
               int ttl_seconds) {
  local_put_(key, keylen, val, len, ttl_seconds);
  char ttl[16];
  snprintf(ttl, sizeof ttl, "%d", ttl_seconds);
  const char *argv[5] = {"SET", key, val, "EX", ttl};
  size_t lens[5] = {3, keylen, len, 2, strlen(ttl)};
  freeReplyObject(command_(c, 5, argv, lens));
}

void cache_stats_get(struct cache_stats *out) {
  out->hits = atomic_load(&g_hits);
  out->local_hits = atomic_load(&g_local_hits);
  out->misses = atomic_load(&g_misses);
  out->errors = atomic_load(&g_errors);
  pthread_mutex_lock(&g_local.mu);
  out->local_bytes = g_local.bytes;
  pthread_mutex_unlock(&g_local.mu);
}
