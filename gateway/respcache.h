/*
 * respcache: the gateway's in-process response cache ("microcache") for
 * the read routes (gw_route.cache: Shows and Analytics GETs). A 200 reply's
 * JSON body and ETag are kept under the request target exactly as received
 * (path + query), with its gzip form when it has one (gzip.h), and the
 * data version it was filled at, and served only
 * while the follower (follow.h) knows that same version, for at most
 * TVMAZE_RESPONSE_CACHE_TTL seconds (the caller bypasses the cache while
 * the follower is down), so a hot listing
 * skips the gRPC call, the protobuf decode and the JSON encode. Auth, rate
 * limits, headers, logs and metrics still run for every request
 * (pipeline.c): only the body is reused. One handle per gateway, owned by
 * the daemon; details (stale-while-refresh, bounds) in respcache.c.
 *
 * Thread safety: every function but create/destroy is thread-safe. Bodies
 * are immutable and refcounted: a reference may outlive its entry (and
 * the reply that sends it may outlive a replacement).
 */
#ifndef TVMAZE_GATEWAY_RESPCACHE_H
#define TVMAZE_GATEWAY_RESPCACHE_H

#include <stddef.h>
#include <stdint.h>

struct gw_respcache;
/* A cached reply body: immutable, refcounted. */
struct gw_cached_body;

/* A cache with a TTL in seconds (0: disabled; get misses, put drops) and
 * the time a refresher may hold an expired key (the upstream deadline). */
struct gw_respcache *gw_respcache_create(long ttl_s, long refresh_s);
/* Drops every entry's reference and frees rc (NULL: no-op). References
 * held elsewhere stay valid. */
void gw_respcache_destroy(struct gw_respcache *rc);
/* 1 when a TTL > 0 was configured. */
int gw_respcache_enabled(const struct gw_respcache *rc);

/* On a live entry for key (the raw request target) filled at version, or
 * an expired one that another request is refreshing (*refresh = -1, for at
 * most another TTL; same version, so the same data): an entry of another
 * version is a plain miss.
 * copies its ETag (NUL-terminated, < 24 bytes) and returns a new reference
 * to its body (drop it with gw_cached_body_release): the gzip form when
 * want_gzip and the entry has one (*gzipped = 1), else the plain form.
 * Else NULL; *refresh = 1 when the caller has become the refresher of the
 * expired entry (it should fetch and put), 0 for a plain miss. */
struct gw_cached_body *gw_respcache_get(struct gw_respcache *rc, const char *key, int64_t version,
                                        int want_gzip, char etag[24], int *refresh, int *gzipped);
/* Stores a copy of body/etag under key, filled at version (the follower's
 * version read BEFORE the upstream call: a change that commits during the
 * call makes the entry unservable, never stale), for the TTL, replacing whatever held
 * its slot; silently skipped when disabled, too big or over the memory
 * budget. gz/gz_len/gz_etag: the body's gzip form beside it (gz NULL:
 * none, e.g. a small body), so a warm hit costs no compression; both
 * count against the budget. content_type: the body's type when it is not
 * JSON (a raw reply such as text/calendar; NULL or "": JSON), at most
 * GW_RESPCACHE_TYPE_MAX - 1 bytes. Arguments are copied. */
#define GW_RESPCACHE_TYPE_MAX 80
void gw_respcache_put(struct gw_respcache *rc, const char *key, int64_t version, const char *body,
                      size_t len, const char *etag, const char *gz, size_t gz_len,
                      const char *gz_etag, const char *content_type);

/* Drops a reference (NULL: no-op). Thread-safe. */
void gw_cached_body_release(struct gw_cached_body *b);
/* The content type put with b ("" for JSON; valid while the reference is held). */
const char *gw_cached_body_type(const struct gw_cached_body *b);
/* The bytes of b (valid while the reference is held). */
char *gw_cached_body_data(struct gw_cached_body *b, size_t *len);

#endif
