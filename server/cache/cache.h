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
 * A process-wide local layer sits in front of Redis (cache_local_configure):
 * a bounded in-memory table (common/bcache.h: direct-mapped, evicting to
 * stay within its bytes) shared by every handle, filled by cache_put and
 * by Redis hits. A local hit costs no Redis round trip. Its entries are
 * keyed exactly like Redis's, so a generation bump makes them unreachable
 * just as it does in Redis; they then age out by replacement or TTL.
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
#define CACHE_LOCAL_TTL_SECONDS 600 /* local copies live at most this long */
#define CACHE_LOCAL_SLOTS 2048      /* direct-mapped by key hash */

struct cache;

enum cache_result { CACHE_HIT = 0, CACHE_MISS, CACHE_DOWN };

/* A handle for url (redis://[[user]:password@]host[:port][/db], parsed by
 * common/redis_url.h; connected, AUTH and SELECT by common/redis_conn.h).
 * Does not connect yet. Returns NULL if the URL does not parse. url is not
 * kept. */
struct cache *cache_open(const char *url);
/* Closes and frees. Accepts NULL. */
void cache_close(struct cache *c);

/* Sizes the process-wide local layer: at most max_bytes of keys + values
 * (0 = off, the state before the first call); an entry larger than 1/16 of
 * that stays in Redis only. Frees what was stored. Call while no handle is
 * in use (at start, before the workers; at exit). */
void cache_local_configure(size_t max_bytes);

/* Looks key up, in the local layer first, then in Redis. CACHE_HIT: *val (malloc'd, caller frees)
 * and *len set. CACHE_MISS: not there. CACHE_DOWN: Redis unreachable or too slow (counted as an
 * error, not a miss); the caller serves from the database. */
enum cache_result cache_get(struct cache *c, const void *key, size_t keylen, char **val,
                            size_t *len);

/* Stores val under key with a TTL in seconds, locally and in Redis. Failures are absorbed
 * (counted, logged once). */
void cache_put(struct cache *c, const void *key, size_t keylen, const void *val, size_t len,
               int ttl_seconds);

/* Process-wide counters since start (for /metrics). */
struct cache_stats {
  uint64_t hits;       /* local + Redis */
  uint64_t local_hits; /* of which served by the local layer */
  uint64_t misses;
  uint64_t errors;      /* Redis calls that failed or timed out */
  uint64_t local_bytes; /* held by the local layer now (keys + values) */
};
void cache_stats_get(struct cache_stats *out);

#endif
