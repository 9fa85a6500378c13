/*
 * ratelimit: fixed-window request counters, shared by every replica in
 * Redis (REDIS_URL) or, without Redis or while it fails, counted in
 * process. A request usually spends a count from a block this gateway
 * claimed earlier (ratelimit.c: block sizes and the error bound), so only
 * a claim is a Redis round trip. One handle per gateway, owned by the
 * daemon.
 *
 *   | key                         | value        | TTL        |
 *   |-----------------------------|--------------|------------|
 *   | rl:ip:<addr>:<t/window>     | request count| window     |
 *   | rl:key:<name>:<t/window>    | request count| window     |
 *
 * Thread safety: gw_ratelimit_hit is thread-safe.
 */
#ifndef TVMAZE_GATEWAY_RATELIMIT_H
#define TVMAZE_GATEWAY_RATELIMIT_H

#include <stddef.h>

struct gw_metrics;

/* The outcome of one hit, for the RateLimit-* headers. */
struct gw_rate {
  long limit;
  long remaining;
  long reset_s; /* seconds until the window ends */
  int exceeded;
};

struct gw_ratelimit;

/* redis_url NULL or "": in-process counters only. NULL with err set when
 * the URL does not parse (common/redis_url.h). m is borrowed and must
 * outlive the handle. Does not connect yet. */
struct gw_ratelimit *gw_ratelimit_create(const char *redis_url, struct gw_metrics *m, char *err,
                                         size_t errlen);
/* Closes the pooled connections and frees rl (NULL: no-op); no hit may be
 * running. */
void gw_ratelimit_destroy(struct gw_ratelimit *rl);

/* Counts one request against `scope:id` with `limit` per `window_s` and
 * returns 1 with out set. With Redis the count is spent from a block
 * claimed earlier by this gateway; when a new block must be claimed (one
 * Redis round trip, 200 ms timeout) and may_block == 0 it returns 0, out
 * untouched and nothing counted: call again from a worker. */
int gw_ratelimit_hit(struct gw_ratelimit *rl, const char *scope, const char *id, long limit,
                     long window_s, int may_block, struct gw_rate *out);

/* Requests per minute for a key tier (60, 1000, 10000). Pure. */
long gw_tier_limit(int tier);

#endif
