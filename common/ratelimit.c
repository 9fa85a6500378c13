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
 * Claims ahead: blocks of AHEAD_MIN or more are claimed again when half
 * spent, by the request that crosses the half (it waits for the round
 * trip; the others spend the rest of the block meanwhile instead of
 * waiting for a claim: a premium key at 30,000 calls/s claims 300 times a
 * second). The block claimed ahead is spent when the current one ends, so
 * up to 2 x size - 1 counts (2 % of the limit) may go unused in a window.
 *
 * Redis failing and coming back (issue 19: limit 20 let 50 through in one
 * window: 10 in Redis, 20 on a fallback that started from 0, 20 more in a
 * Redis that came back empty): the fallback counts on in the same window
 * entry, from the highest count this process knew (its last block), and
 * remembers how many it handed out ("unsynced"). The next claim adds those
 * to Redis with the block, and never lets the Redis count end below what
 * this process knows plus the block (the script's floor: a Redis restarted
 * empty is topped up, a Redis that kept its count is not counted twice).
 * So one gateway passes at most the limit per window whatever Redis does.
 * Unsynced counts make the next request claim as soon as Redis is out of
 * its back-off, even with counts left in the block or the window refused
 * already, so the other replicas see them. With several
 * replicas each counts on its own during the outage (each from what it
 * knew), so together they may pass up to replicas x the rest of the limit
 * until Redis is back; once back, every replica's unsynced counts are added
 * and the floors keep the highest known count.
 *
 * Local table (common/bcache.h, LOCAL_SLOTS in sets of LOCAL_WAYS): one
 * entry per window key (the Redis key), each expiring when its window ends
 * (wall-clock ms: windows are wall-clock, as in Redis), the soonest to
 * expire evicted first (an evicted entry's unsynced counts are lost).
 * Hot path (issue 15: the server counts every call of an own key): the
 * window key is written without snprintf (key_), and each thread remembers
 * the counter of the last window key it counted (memo_), so a worker that
 * serves the same key again finds its counter without hashing and probing
 * the table. The memo is checked and used under local_lock like the table,
 * and any counter freed (replaced, expired, evicted, cleared) bumps the
 * handle's generation, which makes every memo of it stale: a memo never
 * points at a freed counter.
 * Tests: tests/integration/test_gateway_limits.sh, test_ratelimit_redis_fault.sh (Redis
 * killed and restarted within a window), test_grpc_auth.sh (shared with gRPC).
 */
#include "ratelimit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
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
#define AHEAD_MIN 4 /* smaller blocks are claimed when spent, not ahead */
#define KEY_MAX 200 /* a window key's buffer, with its NUL */
#define ID_MAX 120  /* bytes of the id in a window key (longer ids are cut) */

/* KEYS[1] the window key; ARGV: TTL (s), the counts to add, the floor.
 * Returns the new count, at least the floor (SET clears the TTL: set again). */
static const char incr_script_[] =
    "local n = redis.call('INCRBY', KEYS[1], ARGV[2]) "
    "local floor = tonumber(ARGV[3]) "
    "if n < floor then redis.call('SET', KEYS[1], floor) n = floor end "
    "if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end "
    "return n";

/* A window's local count (the table's value, key = the Redis key). */
struct counter {
  long count;    /* next count to hand out; count - 1 is the highest count of the
                    window this process knows (0: none yet) */
  long end;      /* last count of the block claimed from Redis (count > end: none left) */
  long unsynced; /* counts the fallback handed out, not yet added to Redis */
  long next_end; /* a block claimed ahead (its last count), spent when this one ends; 0: none */
  int claiming;  /* a worker is claiming the next block from Redis */
};

struct ratelimit {
  struct redis_url url;      /* read-only */
  int redis_enabled;         /* read-only */
  pthread_mutex_t pool_lock; /* guards pool, npool, retry_at */
  redisContext *pool[POOL_MAX];
  int npool;
  time_t retry_at;            /* no Redis connects before this */
  pthread_mutex_t local_lock; /* guards counts and its counters */
  pthread_cond_t claimed;     /* a claim ended (local_lock) */
  struct bcache *counts;      /* one counter per window key */
  uint64_t gen; /* counters freed so far (local_lock): memos of an older gen are stale */
  uint64_t id;  /* read-only: unique per handle created (the memo's owner) */
};

/* The counter of the last window key this thread counted (see the top of
 * the file); used under its handle's local_lock. */
struct memo_ {
  uint64_t id;  /* the handle's (0: empty) */
  uint64_t gen; /* the handle's gen when filled */
  struct counter *counter;
  size_t len;
  char key[KEY_MAX];
};
static _Thread_local struct memo_ memo_;
static _Atomic uint64_t next_id_ = 1;

static void counter_free_(void *value, void *cls) {
  struct ratelimit *rl = cls;
  rl->gen++; /* under local_lock, or in destroy */
  free(value);
}

static struct bcache *table_(struct ratelimit *rl) {
  struct bcache_config cfg = {
      .slots = LOCAL_SLOTS, .ways = LOCAL_WAYS, .free_value = counter_free_, .cls = rl};
  return bcache_create(&cfg);
}

struct ratelimit *ratelimit_create(const char *redis_url, char *err, size_t errlen) {
  struct ratelimit *rl = xcalloc(1, sizeof *rl);
  rl->id = atomic_fetch_add(&next_id_, 1);
  pthread_mutex_init(&rl->pool_lock, NULL);
  pthread_mutex_init(&rl->local_lock, NULL);
  pthread_cond_init(&rl->claimed, NULL);
  rl->counts = table_(rl);
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
  bcache_destroy(rl->counts);
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

/* Adds n_add to the Redis count for key, raising it to floor when lower:
 * the new count, or -1 when Redis is unavailable. Blocks up to the 200 ms
 * socket timeout. */
static long redis_incrby_(struct ratelimit *rl, const char *key, long ttl, long n_add, long floor) {
  redisContext *c = redis_get_(rl);
  if (!c)
    return -1;
  redisReply *r = redisCommand(c, "EVAL %s 1 %s %ld %ld %ld", incr_script_, key, ttl, n_add, floor);
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

/* "rl:<scope>:<id>:<window>" into out[KEY_MAX], the id cut at ID_MAX bytes
 * and the whole at KEY_MAX - 1 (as snprintf "rl:%s:%.120s:%ld" would):
 * its length. */
static size_t key_(char out[KEY_MAX], const char *scope, const char *id, long window) {
  char num[24];
  size_t nn = 0;
  unsigned long w = window < 0 ? 0UL - (unsigned long)window : (unsigned long)window;
  do {
    num[sizeof num - 1 - nn++] = (char)('0' + w % 10);
    w /= 10;
  } while (w > 0);
  if (window < 0)
    num[sizeof num - 1 - nn++] = '-';
  size_t idn = strnlen(id, ID_MAX);
  const struct {
    const char *p;
    size_t n;
  } parts[] = {{"rl:", 3}, {scope, strlen(scope)},     {":", 1}, {id, idn},
               {":", 1},   {num + sizeof num - nn, nn}};
  size_t len = 0;
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    size_t n = parts[i].n < KEY_MAX - 1 - len ? parts[i].n : KEY_MAX - 1 - len;
    memcpy(out + len, parts[i].p, n);
    len += n;
  }
  out[len] = '\0';
  return len;
}

/* key's counter in rl's table, created (zero) when absent: this thread's
 * memo when it still holds key's counter, else the table's. Valid until
 * the next counter_ on rl; caller holds local_lock. */
static struct counter *counter_(struct ratelimit *rl, const char *key, int64_t expires_ms,
                                int64_t now_ms) {
  size_t n = strlen(key);
  if (memo_.id == rl->id && memo_.gen == rl->gen && memo_.len == n &&
      memcmp(memo_.key, key, n) == 0)
    return memo_.counter;
  struct counter *c = bcache_get(rl->counts, key, n, now_ms);
  if (!c) {
    c = xcalloc(1, sizeof *c);
    bcache_put(rl->counts, key, n, c, 0, expires_ms, now_ms);
  }
  /* after the get and put: the gen of any counter they freed */
  memo_.id = rl->id;
  memo_.gen = rl->gen;
  memo_.counter = c;
  memo_.len = n;
  memcpy(memo_.key, key, n);
  return c;
}

/* A count from key's claimed block: > 0, or 0 when a claim is needed. A key
 * whose block reached the limit stays over it (counts beyond end, no claim). */
static long block_take_(struct counter *s, long limit, long size) {
  if (s->count > s->end && s->end < limit && s->next_end > 0) {
    /* the block claimed ahead takes over (never a count handed out before) */
    long first = s->next_end - size + 1;
    s->count = first > s->count ? first : s->count;
    s->end = s->next_end;
    s->next_end = 0;
  }
  if (s->count > 0 && (s->count <= s->end || s->end >= limit))
    return s->count++;
  return 0;
}

/* The highest count of the window this process knows. */
static long known_(const struct counter *s) {
  return s->count > 0 ? s->count - 1 : 0;
}

/* The in-process count (no Redis, or Redis failing): the next after the
 * highest known, and one more for the next claim to add to Redis. */
static long local_take_(struct counter *s) {
  long n = known_(s) + 1;
  s->count = n + 1;
  if (s->end < n)
    s->end = n; /* no block left: the next Redis count needs a claim */
  s->unsynced++;
  return n;
}

static long block_size_(long limit) {
  long b = limit / BLOCK_DIV;
  return b < 1 ? 1 : b > BLOCK_MAX ? BLOCK_MAX : b;
}

/* 1 when s's block is half spent and the next may be claimed ahead: blocks
 * of at least AHEAD_MIN counts, under the limit, nothing unsynced, no claim
 * going on or done ahead already. Caller holds local_lock. */
static int ahead_due_(const struct counter *s, long limit, long size) {
  return size >= AHEAD_MIN && s->end < limit && s->unsynced == 0 && !s->claiming &&
         s->next_end == 0 && s->end - s->count < size / 2;
}

/* Claims key's next block while the current one still has counts, so that
 * the requests of the other workers keep spending it instead of waiting
 * for the round trip; this request pays it. A failed claim is dropped (the
 * next claim, when the block ends, deals with Redis being down). Called and
 * returns with local_lock held. */
static void claim_ahead_(struct ratelimit *rl, const char *key, int64_t expires_ms, int64_t now_ms,
                         long window_s, long size) {
  struct counter *s = counter_(rl, key, expires_ms, now_ms);
  s->claiming = 1;
  long floor = s->end + size; /* a Redis restarted empty: at least what this process holds */
  pthread_mutex_unlock(&rl->local_lock);
  long end = redis_incrby_(rl, key, window_s, size, floor);
  pthread_mutex_lock(&rl->local_lock);
  s = counter_(rl, key, expires_ms, now_ms); /* evicted meanwhile: a fresh one */
  s->claiming = 0;
  pthread_cond_broadcast(&rl->claimed);
  if (end > s->end)
    s->next_end = end;
}

/* The count of this request for key with Redis: from the local block, else
 * (may_block) from a new claim, which also adds the fallback's unsynced
 * counts; from the fallback (local_take_, *fallback set) when Redis failed
 * or is known down; 0 when a claim is needed and may_block == 0. One claim
 * per key at a time: requests arriving meanwhile wait for it (on their
 * worker) and spend the new block, so concurrent requests do not claim
 * (and waste) a block each. */
static long redis_count_(struct ratelimit *rl, const char *key, int64_t expires_ms, int64_t now_ms,
                         long window_s, long limit, int may_block, int *fallback) {
  long n = 0, size = block_size_(limit);
  pthread_mutex_lock(&rl->local_lock);
  struct counter *s = counter_(rl, key, expires_ms, now_ms);
  for (;;) {
    /* the fallback's counts go to Redis at the first chance, even when the
     * block has counts left or the window is refused already: the other
     * replicas must see them */
    int sync = s->unsynced > 0 && !redis_backoff_(rl); /* the hot path takes no pool lock */
    if (!sync && (n = block_take_(s, limit, size)) > 0) {
      if (may_block && ahead_due_(s, limit, size))
        claim_ahead_(rl, key, expires_ms, now_ms, window_s, size);
      break;
    }
    if (!may_block) {
      if (redis_backoff_(rl)) { /* known down: count in process instead of a claim */
        n = local_take_(s);
        *fallback = 1;
      }
      break;
    }
    if (s->claiming) {
      pthread_cond_wait(&rl->claimed, &rl->local_lock);
      s = counter_(rl, key, expires_ms, now_ms); /* refilled, or evicted */
      continue;
    }
    s->claiming = 1;
    long pushed = s->unsynced, floor = known_(s) + size;
    pthread_mutex_unlock(&rl->local_lock);
    long end = redis_incrby_(rl, key, window_s, size + pushed, floor);
    pthread_mutex_lock(&rl->local_lock);
    s = counter_(rl, key, expires_ms, now_ms);
    s->claiming = 0;
    pthread_cond_broadcast(&rl->claimed);
    if (end < 0) {
      n = local_take_(s);
      *fallback = 1;
      break;
    }
    s->unsynced = s->unsynced > pushed ? s->unsynced - pushed : 0;
    /* the fallback may have counted meanwhile: never hand out a count twice */
    long first = end - size + 1;
    s->count = first > known_(s) ? first : known_(s) + 1;
    s->end = end;
    n = s->count++;
    break;
  }
  pthread_mutex_unlock(&rl->local_lock);
  return n;
}

int ratelimit_hit(struct ratelimit *rl, const char *scope, const char *id, long limit,
                  long window_s, int may_block, struct ratelimit_rate *out) {
  time_t now = time(NULL);
  long window = (long)now / window_s;
  int64_t now_ms = (int64_t)now * 1000, expires_ms = (int64_t)(window + 1) * window_s * 1000;
  char key[KEY_MAX];
  key_(key, scope, id, window);
  long n;
  enum ratelimit_backend backend = RATELIMIT_LOCAL_ONLY;
  if (rl->redis_enabled) {
    int fallback = 0;
    n = redis_count_(rl, key, expires_ms, now_ms, window_s, limit, may_block, &fallback);
    if (n == 0)
      return 0;
    backend = fallback ? RATELIMIT_FALLBACK : RATELIMIT_REDIS;
  } else {
    pthread_mutex_lock(&rl->local_lock);
    n = local_take_(counter_(rl, key, expires_ms, now_ms));
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
