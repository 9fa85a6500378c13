/*
 * ratelimit: fixed-window request counters, shared by every replica of
 * the gateway and the server in Redis (REDIS_URL) or, without Redis or
 * while it fails, counted in process. A request usually spends a count
 * from a block this process claimed earlier (ratelimit.c: block sizes and
 * the error bound), so only a claim is a Redis round trip. The one
 * implementation of the per-IP and per-key limits: the gateway counts REST
 * requests with it (pipeline.c), the server counts gRPC calls of API keys
 * with it (server/auth/auth_gate.c), in the same keys, so a key's budget
 * is spent by both together. One handle per process. Across a Redis
 * failure the in-process count goes on in the same window and is added to
 * Redis on recovery (ratelimit.c): one process never passes more than the
 * limit per window.
 *
 *   | key                         | value        | TTL        |
 *   |-----------------------------|--------------|------------|
 *   | rl:ip:<addr>:<t/window>     | request count| window     |
 *   | rl:key:<name>:<t/window>    | request count| window     |
 *
 * Thread safety: ratelimit_hit is thread-safe.
 */
#ifndef TVMAZE_COMMON_RATELIMIT_H
#define TVMAZE_COMMON_RATELIMIT_H

#include <stddef.h>

/* Where a hit was counted. */
enum ratelimit_backend {
  RATELIMIT_LOCAL_ONLY, /* no Redis configured: in process */
  RATELIMIT_REDIS,      /* in Redis (a block claimed from it) */
  RATELIMIT_FALLBACK    /* Redis configured but failing: in process */
};

/* The outcome of one hit, for the RateLimit-* headers. */
struct ratelimit_rate {
  long limit;
  long remaining;
  long reset_s; /* seconds until the window ends */
  int exceeded;
  enum ratelimit_backend backend;
};

struct ratelimit;

/* redis_url NULL or "": in-process counters only. NULL with err set when
 * the URL does not parse (common/redis_url.h). Does not connect yet. */
struct ratelimit *ratelimit_create(const char *redis_url, char *err, size_t errlen);
/* Closes the pooled connections and frees rl (NULL: no-op); no hit may be
 * running. */
void ratelimit_destroy(struct ratelimit *rl);

/* Counts one request against `scope:id` with `limit` per `window_s` and
 * returns 1 with out set. With Redis the count is spent from a block
 * claimed earlier by this process; when a new block must be claimed (one
 * Redis round trip, 200 ms timeout) and may_block == 0 it returns 0, out
 * untouched and nothing counted: call again from a worker. */
int ratelimit_hit(struct ratelimit *rl, const char *scope, const char *id, long limit,
                  long window_s, int may_block, struct ratelimit_rate *out);

/* Requests per minute for a key tier (60, 1000, 10000). Pure. */
long ratelimit_tier_limit(int tier);

#endif
