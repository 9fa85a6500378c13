/*
 * ratelimit: fixed-window request counters. With REDIS_URL the counter is
 * the Redis key `rl:<scope>:<id>:<window number>`, shared by every replica.
 * A gateway does not send one Redis command per request: it claims a block
 * of counts with one INCRBY (Lua, with the expiry set atomically) and hands
 * them out locally, so the per-request path is a table lookup and the MHD
 * threads never wait for Redis; only a claim is a round trip (done on an
 * upstream worker, daemon.c). When Redis is unset or failing, an in-process
 * table takes over (per replica) and Redis is retried at most once a
 * second. Client IP resolution with trusted proxies lives here too.
 *
 *   | key                         | value        | TTL        |
 *   |-----------------------------|--------------|------------|
 *   | rl:ip:<addr>:<t/window>     | request count| window     |
 *   | rl:key:<name>:<t/window>    | request count| window     |
 *
 * Blocks: size = limit / 100, at least 1, at most 100 (BLOCK_DIV, BLOCK_MAX),
 * so limits up to 199 stay exact (every request claims 1: the tests' limit 5
 * shared by two gateways). A claim answering n holds counts n-size+1..n;
 * request k of the block is count n-size+k: remaining = limit - count,
 * exceeded when count > limit. Once a block reaches the limit the key is
 * over it for the rest of the window, so further requests are refused
 * locally without Redis. Error bound: counts claimed but not used when the
 * window ends (or the slot is evicted) are lost, at most size-1 (1 % of the
 * limit) per gateway and key per window, erring towards refusing early;
 * RateLimit-Remaining does not see other replicas' use until the next claim.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "gateway.h"
#include "hash.h"
#include "xalloc.h"

#define POOL_MAX 16
#define LOCAL_SLOTS 8192
#define LOCAL_PROBE 8
#define MAX_PROXIES 32
#define BLOCK_DIV 100
#define BLOCK_MAX 100

static const char incr_script_[] =
    "local n = redis.call('INCRBY', KEYS[1], ARGV[2]) "
    "if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end "
    "return n";

/* Redis connection settings and a pool of idle connections. */
static char redis_host_[256];
static int redis_port_;
static char redis_pass_[256];
static int redis_db_;
static int redis_enabled_;
static pthread_mutex_t pool_lock_ = PTHREAD_MUTEX_INITIALIZER; /* guards pool_, retry_at_ */
static redisContext *pool_[POOL_MAX];
static int npool_;
static time_t retry_at_; /* no Redis connects before this */

/* In-process counters: the fallback's counts (count) and the blocks
 * claimed from Redis (next..end); both tables use the same slots. */
struct local_slot {
  char key[160]; /* the Redis key rl:scope:id:window ("" = free) */
  long window;   /* window number (older windows are evicted first) */
  long count;    /* fallback: requests so far; blocks: next count to hand out */
  long end;      /* blocks: last count of the claimed block (count > end: none left) */
  int claiming;  /* blocks: a worker is claiming the next block from Redis */
};
static pthread_mutex_t local_lock_ = PTHREAD_MUTEX_INITIALIZER; /* guards local_, blocks_ */
static pthread_cond_t claimed_ = PTHREAD_COND_INITIALIZER;      /* a claim ended (local_lock_) */
static struct local_slot *local_;
static struct local_slot *blocks_;

/* Trusted proxies: address + prefix length (read-only after init). */
struct proxy {
  int family;
  unsigned char addr[16];
  int bits;
};
static struct proxy proxies_[MAX_PROXIES];
static int nproxies_;

static int parse_redis_url_(const char *url) {
  const char *p = url;
  if (strncmp(p, "redis://", 8) != 0)
    return -1;
  p += 8;
  const char *at = strrchr(p, '@');
  if (at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *pw = colon ? colon + 1 : p;
    snprintf(redis_pass_, sizeof redis_pass_, "%.*s", (int)(at - pw), pw);
    p = at + 1;
  }
  const char *slash = strchr(p, '/');
  const char *colon = strrchr(p, ':');
  if (slash && colon && colon > slash)
    colon = NULL;
  size_t hl = colon ? (size_t)(colon - p) : slash ? (size_t)(slash - p) : strlen(p);
  snprintf(redis_host_, sizeof redis_host_, "%.*s", (int)hl, p);
  char *end = NULL;
  redis_port_ = colon ? (int)strtol(colon + 1, &end, 10) : 6379;
  if (colon && (end == colon + 1 || (*end && *end != '/')))
    return -1;
  redis_db_ = slash ? (int)strtol(slash + 1, &end, 10) : 0;
  if (slash && (end == slash + 1 || *end))
    return -1;
  if (!redis_host_[0])
    snprintf(redis_host_, sizeof redis_host_, "127.0.0.1");
  return redis_port_ > 0 ? 0 : -1;
}

static int parse_proxy_(const char *s, size_t n, struct proxy *out) {
  char buf[64];
  if (n == 0 || n >= sizeof buf)
    return -1;
  memcpy(buf, s, n);
  buf[n] = '\0';
  char *slash = strchr(buf, '/');
  if (slash)
    *slash = '\0';
  if (inet_pton(AF_INET, buf, out->addr) == 1) {
    out->family = AF_INET;
    out->bits = 32;
  } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
    out->family = AF_INET6;
    out->bits = 128;
  } else {
    return -1;
  }
  if (slash) {
    char *end;
    long b = strtol(slash + 1, &end, 10);
    if (*end || b < 0 || b > out->bits)
      return -1;
    out->bits = (int)b;
  }
  return 0;
}

void gw_ratelimit_init(const struct gw_config *cfg) {
  local_ = xcalloc(LOCAL_SLOTS, sizeof *local_);
  blocks_ = xcalloc(LOCAL_SLOTS, sizeof *blocks_);
  redis_enabled_ = cfg->redis_url && cfg->redis_url[0] && parse_redis_url_(cfg->redis_url) == 0;
  nproxies_ = 0;
  const char *p = cfg->trusted_proxies;
  while (p && *p && nproxies_ < MAX_PROXIES) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    while (n && *p == ' ') {
      p++;
      n--;
    }
    if (parse_proxy_(p, n, &proxies_[nproxies_]) == 0)
      nproxies_++;
    p = e ? e + 1 : p + n;
  }
}

void gw_ratelimit_shutdown(void) {
  pthread_mutex_lock(&pool_lock_);
  for (int i = 0; i < npool_; i++)
    redisFree(pool_[i]);
  npool_ = 0;
  pthread_mutex_unlock(&pool_lock_);
  free(local_);
  local_ = NULL;
  free(blocks_);
  blocks_ = NULL;
}

int gw_proxy_list_valid(const char *list) {
  const char *p = list;
  while (p && *p) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    while (n && *p == ' ') {
      p++;
      n--;
    }
    struct proxy tmp;
    if (parse_proxy_(p, n, &tmp) != 0)
      return 0;
    p = e ? e + 1 : p + n;
  }
  return 1;
}

static redisContext *redis_get_(void) {
  pthread_mutex_lock(&pool_lock_);
  if (npool_ > 0) {
    redisContext *c = pool_[--npool_];
    pthread_mutex_unlock(&pool_lock_);
    return c;
  }
  time_t now = time(NULL);
  if (now < retry_at_) {
    pthread_mutex_unlock(&pool_lock_);
    return NULL;
  }
  pthread_mutex_unlock(&pool_lock_);
  struct timeval tv = {0, 200000};
  redisContext *c = redisConnectWithTimeout(redis_host_, redis_port_, tv);
  if (c && !c->err)
    redisSetTimeout(c, tv);
  if (c && !c->err && redis_pass_[0]) {
    redisReply *r = redisCommand(c, "AUTH %s", redis_pass_);
    if (!r || r->type == REDIS_REPLY_ERROR)
      c->err = REDIS_ERR_OTHER;
    if (r)
      freeReplyObject(r);
  }
  if (c && !c->err && redis_db_) {
    redisReply *r = redisCommand(c, "SELECT %d", redis_db_);
    if (r)
      freeReplyObject(r);
  }
  if (!c || c->err) {
    if (c)
      redisFree(c);
    pthread_mutex_lock(&pool_lock_);
    retry_at_ = now + 1;
    pthread_mutex_unlock(&pool_lock_);
    return NULL;
  }
  return c;
}

static void redis_put_(redisContext *c, int broken) {
  if (broken) {
    redisFree(c);
    pthread_mutex_lock(&pool_lock_);
    retry_at_ = time(NULL) + 1;
    pthread_mutex_unlock(&pool_lock_);
    return;
  }
  pthread_mutex_lock(&pool_lock_);
  if (npool_ < POOL_MAX) {
    pool_[npool_++] = c;
    c = NULL;
  }
  pthread_mutex_unlock(&pool_lock_);
  if (c)
    redisFree(c);
}

/* 1 while Redis is in its retry back-off (a claim would fail at once). */
static int redis_backoff_(void) {
  pthread_mutex_lock(&pool_lock_);
  int off = npool_ == 0 && time(NULL) < retry_at_;
  pthread_mutex_unlock(&pool_lock_);
  return off;
}

/* Adds n to the Redis count for key: the new count, or -1 when Redis is
 * unavailable. Blocks up to the 200 ms socket timeout. */
static long redis_incrby_(const char *key, long ttl, long n_add) {
  redisContext *c = redis_get_();
  if (!c)
    return -1;
  redisReply *r = redisCommand(c, "EVAL %s 1 %s %ld %ld", incr_script_, key, ttl, n_add);
  long n = -1;
  if (r && r->type == REDIS_REPLY_INTEGER)
    n = (long)r->integer;
  if (r)
    freeReplyObject(r);
  redis_put_(c, n < 0);
  return n;
}

/* The slot of table for key in window: the existing one, else a free or
 * the oldest of LOCAL_PROBE slots, emptied and claimed for key (count 0,
 * end 0). Caller holds local_lock_. */
static struct local_slot *slot_find_(struct local_slot *table, const char *key, long window) {
  uint32_t h = hash_fnv1a32_str(key);
  struct local_slot *victim = NULL;
  for (int i = 0; i < LOCAL_PROBE; i++) {
    struct local_slot *s = &table[(h + (uint32_t)i) % LOCAL_SLOTS];
    if (s->key[0] && strcmp(s->key, key) == 0)
      return s;
    if (!victim || !s->key[0] || s->window < victim->window)
      victim = s;
  }
  snprintf(victim->key, sizeof victim->key, "%s", key);
  victim->window = window;
  victim->count = 0;
  victim->end = 0;
  victim->claiming = 0;
  return victim;
}

static long local_incr_(const char *key, long window) {
  pthread_mutex_lock(&local_lock_);
  long n = ++slot_find_(local_, key, window)->count;
  pthread_mutex_unlock(&local_lock_);
  return n;
}

/* A count from key's claimed block: > 0, or 0 when a claim is needed. A key
 * whose block reached the limit stays over it (counts beyond end, no claim).
 * Caller holds local_lock_. */
static long block_take_(struct local_slot *s, long limit) {
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
static long redis_count_(const char *key, long window, long window_s, long limit, int may_block) {
  long n = 0;
  pthread_mutex_lock(&local_lock_);
  for (;;) {
    struct local_slot *s = slot_find_(blocks_, key, window);
    if ((n = block_take_(s, limit)) > 0 || !may_block)
      break;
    if (s->claiming) {
      pthread_cond_wait(&claimed_, &local_lock_);
      continue; /* the slot may have been refilled, or evicted */
    }
    s->claiming = 1;
    pthread_mutex_unlock(&local_lock_);
    long size = block_size_(limit);
    long end = redis_incrby_(key, window_s, size);
    pthread_mutex_lock(&local_lock_);
    s = slot_find_(blocks_, key, window);
    s->claiming = 0;
    pthread_cond_broadcast(&claimed_);
    if (end < 0) {
      n = -1;
      break;
    }
    s->count = end - size + 1;
    s->end = end;
    n = s->count++;
    break;
  }
  pthread_mutex_unlock(&local_lock_);
  if (n == 0 && redis_backoff_())
    n = -1; /* Redis known down: count in process now instead of queueing a claim */
  return n;
}

int gw_ratelimit_hit(const char *scope, const char *id, long limit, long window_s, int may_block,
                     struct gw_rate *out) {
  time_t now = time(NULL);
  long window = (long)now / window_s;
  char key[200];
  snprintf(key, sizeof key, "rl:%s:%.120s:%ld", scope, id, window);
  long n = -1;
  if (redis_enabled_) {
    n = redis_count_(key, window, window_s, limit, may_block);
    if (n == 0)
      return 0;
    gw_metrics_ratelimit_backend(n > 0);
  }
  if (n < 0)
    n = local_incr_(key, window);
  out->limit = limit;
  out->remaining = n >= limit ? 0 : limit - n;
  out->reset_s = (window + 1) * window_s - (long)now;
  out->exceeded = n > limit;
  return 1;
}

long gw_tier_limit(int tier) {
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

static int trusted_(const char *ip) {
  unsigned char a[16];
  int fam;
  if (inet_pton(AF_INET, ip, a) == 1)
    fam = AF_INET;
  else if (inet_pton(AF_INET6, ip, a) == 1)
    fam = AF_INET6;
  else
    return 0;
  for (int i = 0; i < nproxies_; i++) {
    const struct proxy *p = &proxies_[i];
    if (p->family != fam)
      continue;
    int bits = p->bits, k = 0, match = 1;
    for (; bits >= 8; bits -= 8, k++)
      if (a[k] != p->addr[k])
        match = 0;
    if (match && bits > 0) {
      unsigned char mask = (unsigned char)(0xff << (8 - bits));
      match = (a[k] & mask) == (p->addr[k] & mask);
    }
    if (match)
      return 1;
  }
  return 0;
}

void gw_client_ip(const char *peer, const char *xff, char *out, size_t outlen) {
  snprintf(out, outlen, "%s", peer);
  if (!xff || !trusted_(peer))
    return;
  /* walk X-Forwarded-For from the right, skipping trusted hops */
  size_t n = strlen(xff);
  while (n > 0) {
    size_t end = n;
    while (n > 0 && xff[n - 1] != ',')
      n--;
    size_t start = n;
    while (start < end && xff[start] == ' ')
      start++;
    size_t e = end;
    while (e > start && xff[e - 1] == ' ')
      e--;
    char hop[64];
    if (e - start == 0 || e - start >= sizeof hop)
      return;
    memcpy(hop, xff + start, e - start);
    hop[e - start] = '\0';
    unsigned char tmp[16];
    if (inet_pton(AF_INET, hop, tmp) != 1 && inet_pton(AF_INET6, hop, tmp) != 1)
      return;
    snprintf(out, outlen, "%s", hop);
    if (!trusted_(hop))
      return;
    if (n > 0)
      n--; /* skip the comma */
  }
}
