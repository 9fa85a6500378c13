/*
 * bcache: the one bounded cache shape of the code base: a fixed number of
 * slots mapping byte-string keys to values, each entry with an expiry and
 * a cost, values owned by the cache and freed through a callback.
 *
 *   | capacity    | `slots` entries, in sets of `ways` slots; a key hashes   |
 *   |             | (FNV-1a 64) to one set and may sit in any of its slots   |
 *   |             | (ways 1: direct-mapped)                                  |
 *   | expiry      | per entry, in the caller's clock (any unit, the same for |
 *   |             | every call); an entry is live while now < expires; get   |
 *   |             | frees an expired entry it meets                          |
 *   | replacement | put takes the key's own slot, else an empty one of the   |
 *   |             | set, else an expired one, else the one expiring first    |
 *   | budget      | optional max_cost over the entries' costs (bytes, say):  |
 *   |             | REFUSE drops the new entry when the others leave no room;|
 *   |             | EVICT frees entries slot by slot after the new one's     |
 *   |             | until it fits                                            |
 *   | ownership   | keys are copied; a value passed to put belongs to the    |
 *   |             | cache from then on (stored, or freed at once when        |
 *   |             | refused) and is freed by free_value when replaced,       |
 *   |             | expired, removed, cleared or destroyed                   |
 *
 * Thread safety: none. Each owner guards its cache with its own lock and
 * holds it while it uses a value returned by get, because the users differ
 * in what they do under it (the gateway's response cache takes a reference
 * to a body, its rate limits count and wait on a condition variable, its
 * auth cache copies an identity, the server's local reply layer copies
 * bytes). A value pointer stays valid until the next put, remove, clear or
 * destroy on the same cache, or a get that meets it expired.
 *
 * Users: gateway/auth.c (API-key answers), gateway/ratelimit.c (counters
 * and claimed blocks), gateway/respcache.c (reply bodies),
 * server/cache/cache.c (the local reply layer).
 * Tests: tests/unit/test_bcache.c.
 */
#ifndef TVMAZE_COMMON_BCACHE_H
#define TVMAZE_COMMON_BCACHE_H

#include <stddef.h>
#include <stdint.h>

struct bcache;

enum bcache_full {
  BCACHE_FULL_REFUSE, /* over the budget: the new entry is not stored */
  BCACHE_FULL_EVICT   /* over the budget: other entries make room */
};

struct bcache_config {
  size_t slots;                               /* capacity (> 0), a multiple of ways */
  unsigned ways;                              /* slots per set (>= 1) */
  size_t max_cost;                            /* budget over costs; 0: none */
  enum bcache_full full;                      /* policy when over max_cost */
  void (*free_value)(void *value, void *cls); /* NULL: values are not freed */
  void *cls;                                  /* passed to free_value */
};

/* An empty cache (cfg is copied). Aborts on a zero slots or ways, or slots
 * not a multiple of ways (a programming error). */
struct bcache *bcache_create(const struct bcache_config *cfg);
/* Frees every entry, then the cache. Accepts NULL. */
void bcache_destroy(struct bcache *c);

/* The value of key's live entry, or NULL (absent, or expired: then freed). */
void *bcache_get(struct bcache *c, const void *key, size_t keylen, int64_t now);

/* Stores value under key until expires, replacing key's entry or the
 * set's victim (see the table). 0 when stored. -1 when refused by the
 * budget, value then freed at once: cost > max_cost (only key's old entry
 * is dropped), or REFUSE and the others leave no room once the victim's
 * slot is emptied. Either way key's old entry is gone. */
int bcache_put(struct bcache *c, const void *key, size_t keylen, void *value, size_t cost,
               int64_t expires, int64_t now);

/* Frees key's entry, if any. */
void bcache_remove(struct bcache *c, const void *key, size_t keylen);
/* Frees every entry. */
void bcache_clear(struct bcache *c);

/* The sum of the held entries' costs, and their number. */
size_t bcache_cost(const struct bcache *c);
size_t bcache_count(const struct bcache *c);

#endif
