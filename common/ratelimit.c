/*
 * ratelimit: fixed-window request counters (keys in ratelimit.h). A
 * process does not send one Redis command per request: it claims a block
 * of counts with one INCRBY (Lua, with the expiry set atomically) and hands
 * them out locally, so the per-request path is a table lookup and the MHD
 * threads never wait for Redis; only a claim is a round trip (done on an
 * upstream worker in the gateway, on the call's worker in the server). When Redis is unset or
 * failing, an in-process table takes over (per replica) and Redis is retried at most once a second.
 *
 * Blocks: size = limit / 100, at least 1, at most 100 (BLOCK_DIV, BLOCK_MAX),
 * so limits up to 199 stay exact (every request claims 1: the tests' limit 5
 * shared by two gateways). A claim answering n holds counts n-size+1..n;
 * request k of the block is count n-size+k: remaining = limit - count,
 * exceeded when count > limit. Once a block reaches the limit the key is
 * over it for the rest of the window, so further requests are refused
 * locally without Redis. Error bound: counts claimed but not used when the
 * window ends (or the entry is evicted) are lost, at most size-1 (1 % of the
 * limit) per gateway and key per window, erring towards refusing early;
 * RateLimit-Remaining does not see other replicas' use until the next claim.
 *
 * Local tables (common/bcache.h, LOCAL_SLOTS in sets of LOCAL_WAYS): the
 * fallback's counts and the blocks claimed from Redis, keyed by the Redis
 * key, each entry expiring when its window ends (wall-clock ms: windows
 * are wall-clock, as in Redis), the soonest to expire evicted first.
 * Tests: tests/integration/test_gateway_limits.sh, test_grpc_auth.sh (shared with gRPC).
 */
#include "ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "bcache.h"
#include "redis_conn.h"
#include "redis_url.h"
#include "xalloc.h"

#define POOL_MAX 16
#define LOCAL_SLOTS 8192
#define LOCAL_WAYS 8
#define BLOCK_DIV 100
#define BLOCK_MAX 100
#define REDIS_TIMEOUT_MS 200

static const char incr_script_[] =
    "local n = redis.call('INCRBY', KEYS[1], ARGV[2]) "
    "if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end "
    "return n";

/* A local count (the tables' value, key = the Redis key). */
struct counter {
  long count;   /* fallback: requests so far; blocks: next count to hand out */
  long end;     /* blocks: last count of the claimed block (count > end: none left) */
  int claiming; /* blocks: a worker is claiming the next block from Redis */
};

struct ratelimit {
  struct redis_url url;      /* read-only */
  int redis_enabled;         /* read-only */
  pthread_mutex_t pool_lock; /* guards pool, npool, retry_at */
  redisContext *pool[POOL_MAX];
  int npool;
  time_t retry_at;            /* no Redis connects before this */
  pthread_mutex_t local_lock; /* guards local, blocks and their counters */
  pthread_cond_t claimed;     /* a claim ended (local_lock) */
  struct bcache *local;       /* the fallback's counts */
  struct bcache *blocks;      /* the blocks claimed from Redis */
};

static void counter_free_(void *value, void *cls) {
  (void)cls;
  free(value);
}

static struct bcache *table_(void) {
  struct bcache_config cfg = {
      .slots = LOCAL_SLOTS, .ways = LOCAL_WAYS, .free_value = counter_free_};
  return bcache_create(&cfg);
}

struct ratelimit *ratelimit_create(const char *redis_url, char *err, size_t errlen) {
  struct ratelimit *rl = xcalloc(1, sizeof *rl);
  pthread_mutex_init(&rl->pool_lock, NULL);
  pthread_mutex_init(&rl->local_lock, NULL);
  pthread_cond_init(&rl->claimed, NULL);
  rl->local = table_();
  rl->blocks = table_();
  if (redis_url && redis_url[0]) {
    if (redis_url_parse(redis_url, &rl->url, err, errlen) != REDIS_URL_OK) {
      ratelimit_destroy(rl);
      return NULL;
    }
    rl->redis_enabled = 1;
  }
  return rl;
}

void ratelimit_destroy(struct ratelimit *rl) {
  if (!rl)
    return;
  for (int i = 0; i < rl->npool; i++)
    redisFree(rl->pool[i]);
  bcache_destroy(rl->local);
  bcache_destroy(rl->blocks);
  pthread_cond_destroy(&rl->claimed);
  pthread_mutex_destroy(&rl->local_lock);
  pthread_mutex_destroy(&rl->pool_lock);
  free(rl);
}

/* ------------------------------------------------------------------ */
/* Redis connections                                                  */
/* ------------------------------------------------------------------ */

/* A pooled or new connection, or NULL (down, or in its back-off). */
static redisContext *redis_get_(struct ratelimit *rl) {
  pthread_mutex_lock(&rl->pool_lock);
  if (rl->npool > 0) {
    redisContext *c = rl->pool[--rl->npool];
    pthread_mutex_unlock(&rl->pool_lock);
    return c;
  }
  time_t now = time(NULL);
  if (now < rl->retry_at) {
    pthread_mutex_unlock(&rl->pool_lock);
    return NULL;
  }
  pthread_mutex_unlock(&rl->pool_lock);
  char err[256];
  redisContext *c = redis_conn_open(&rl->url, REDIS_TIMEOUT_MS, err, sizeof err);
  if (!c) {
    pthread_mutex_lock(&rl->pool_lock);
    rl->retry_at = now + 1;
    pthread_mutex_unlock(&rl->pool_lock);
  }
  return c;
}

static void redis_put_(struct ratelimit *rl, redisContext *c, int broken) {
  pthread_mutex_lock(&rl->pool_lock);
  if (broken) {
    rl->retry_at = time(NULL) + 1;
  } else if (rl->npool < POOL_MAX) {
    rl->pool[rl->npool++] = c;
    c = NULL;
  }
  pthread_mutex_unlock(&rl->pool_lock);
  if (c)
    redisFree(c);
}

/* 1 while Redis is in its retry back-off (a claim would fail at once). */
static int redis_backoff_(struct ratelimit *rl) {
  pthread_mutex_lock(&rl->pool_lock);
  int off = rl->npool == 0 && time(NULL) < rl->retry_at;
  pthread_mutex_unlock(&rl->pool_lock);
  return off;
}

/* Adds n to the Redis count for key: the new count, or -1 when Redis is
 * unavailable. Blocks up to the 200 ms socket timeout. */
static long redis_incrby_(struct ratelimit *rl, const char *key, long ttl, long n_add) {
  redisContext *c = redis_get_(rl);
  if (!c)
    return -1;
  redisReply *r = redisCommand(c, "EVAL %s 1 %s %ld %ld", incr_script_, key, ttl, n_add);
  long n = -1;
  if (r && r->type == REDIS_REPLY_INTEGER)
    n = (long)r->integer;
  if (r)
    freeReplyObject(r);
  redis_put_(rl, c, n < 0);
  return n;
}

/* ------------------------------------------------------------------ */
/* Counting                                                           */
/* ------------------------------------------------------------------ */

/* key's counter in table, created (zero) when absent. Valid until the next
 * counter_ on table; caller holds local_lock. */
static struct counter *counter_(struct bcache *table, const char *key, int64_t expires_ms,
                                int64_t now_ms) {
  size_t n = strlen(key);
  struct counter *c = bcache_get(table, key, n, now_ms);
  if (!c) {
    c = xcalloc(1, sizeof *c);
    bcache_put(table, key, n, c, 0, expires_ms, now_ms);
  }
  return c;
}

/* A count from key's claimed block: > 0, or 0 when a claim is needed. A key
 * whose block reached the limit stays over it (counts beyond end, no claim). */
static long block_take_(struct counter *s, long limit) {
  if (s->count > 0 && (s->count <= s->end || s->end >= limit))
    return s->count++;
  return 0;
}

static long block_size_(long limit) {
  long b = limit / BLOCK_DIV;
  return b < 1 ? 1 : b > BLOCK_MAX ? BLOCK_MAX : b;
}

/* The count of this request for key with Redis: from the local block, else
 * (may_block) from a new claim; -1 when Redis failed (use the fallback), 0
 * when a claim is needed and may_block == 0. One claim per key at a time:
 * requests arriving meanwhile wait for it (on their worker) and spend the
 * new block, so concurrent requests do not claim (and waste) a block each. */
static long redis_count_(struct ratelimit *rl, const char *key, int64_t expires_ms, int64_t now_ms,
                         long window_s, long limit, int may_block) {
  long n = 0;
  pthread_mutex_lock(&rl->local_lock);
  for (;;) {
    struct counter *s = counter_(rl->blocks, key, expires_ms, now_ms);
    if ((n = block_take_(s, limit)) > 0 || !may_block)
      break;
    if (s->claiming) {
      pthread_cond_wait(&rl->claimed, &rl->local_lock);
      continue; /* the entry may have been refilled, or evicted */
    }
    s->claiming = 1;
    pthread_mutex_unlock(&rl->local_lock);
    long size = block_size_(limit);
    long end = redis_incrby_(rl, key, window_s, size);
    pthread_mutex_lock(&rl->local_lock);
    s = counter_(rl->blocks, key, expires_ms, now_ms);
    s->claiming = 0;
    pthread_cond_broadcast(&rl->claimed);
    if (end < 0) {
      n = -1;
      break;
    }
    s->count = end - size + 1;
    s->end = end;
    n = s->count++;
    break;
  }
  pthread_mutex_unlock(&rl->local_lock);
  if (n == 0 && redis_backoff_(rl))
    n = -1; /* Redis known down: count in process now instead of queueing a claim */
  return n;
}

int ratelimit_hit(struct ratelimit *rl, const char *scope, const char *id, long limit,
                  long window_s, int may_block, struct ratelimit_rate *out) {
  time_t now = time(NULL);
  long window = (long)now / window_s;
  int64_t now_ms = (int64_t)now * 1000, expires_ms = (int64_t)(window + 1) * window_s * 1000;
  char key[200];
  snprintf(key, sizeof key, "rl:%s:%.120s:%ld", scope, id, window);
  long n = -1;
  enum ratelimit_backend backend = RATELIMIT_LOCAL_ONLY;
  if (rl->redis_enabled) {
    n = redis_count_(rl, key, expires_ms, now_ms, window_s, limit, may_block);
    if (n == 0)
      return 0;
    backend = n > 0 ? RATELIMIT_REDIS : RATELIMIT_FALLBACK;
  }
  if (n < 0) {
    pthread_mutex_lock(&rl->local_lock);
    n = ++counter_(rl->local, key, expires_ms, now_ms)->count;
    pthread_mutex_unlock(&rl->local_lock);
  }
  out->limit = limit;
  out->remaining = n >= limit ? 0 : limit - n;
  out->reset_s = (window + 1) * window_s - (long)now;
  out->exceeded = n > limit;
  out->backend = backend;
  return 1;
}

long ratelimit_tier_limit(int tier) {
  switch (tier) {
  case 1:
    return 60;
  case 2:
    return 1000;
  case 3:
    return 10000;
  default:
    return 60;
  }
}
