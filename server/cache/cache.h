/*
 * cache: the Redis read-through cache of serialized replies (hiredis,
 * RESP2). One handle per worker thread; not thread-safe. Counters are
 * process-wide and thread-safe.
 *
 * Keys and values (built by the services, stored verbatim, binary-safe):
 *
 *   key                                                      value          TTL
 *   tvmaze:q1:<method>:<generation>:<today>:<packed request>  packed reply   24 h
 *
 * Redis is optional and its failure is never the client's problem: connect
 * and command timeouts are short (CACHE_TIMEOUT_MS); after a failure the
 * handle stays down for CACHE_RETRY_MS before one reconnect attempt, so a
 * dead Redis costs nothing. The first failure after a healthy period logs
 * one "cache_unavailable" line process-wide, the first success after that
 * one "cache_recovered" line.
 */
#ifndef TVMAZE_CACHE_H
#define TVMAZE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define CACHE_TIMEOUT_MS 200
#define CACHE_RETRY_MS 1000
#define CACHE_TTL_SECONDS (24 * 3600)

struct cache;

enum cache_result { CACHE_HIT = 0, CACHE_MISS, CACHE_DOWN };

/* A handle for url ("redis://[:password@]host[:port][/db]"). Does not
 * connect yet. Returns NULL if the URL cannot be parsed. url is copied. */
struct cache *cache_open(const char *url);
/* Closes and frees. Accepts NULL. */
void cache_close(struct cache *c);

/* Looks key up. CACHE_HIT: *val (malloc'd, caller frees) and *len set.
 * CACHE_MISS: not there. CACHE_DOWN: Redis unreachable or too slow (counted
 * as an error, not a miss); the caller serves from the database. */
enum cache_result cache_get(struct cache *c, const void *key, size_t keylen, char **val,
                            size_t *len);

/* Stores val under key with a TTL in seconds. Failures are absorbed
 * (counted, logged once). */
void cache_put(struct cache *c, const void *key, size_t keylen, const void *val, size_t len,
               int ttl_seconds);

/* Process-wide counters since start (for /metrics). */
struct cache_stats {
  uint64_t hits;
  uint64_t misses;
  uint64_t errors; /* Redis calls that failed or timed out */
};
void cache_stats_get(struct cache_stats *out);

#endif
