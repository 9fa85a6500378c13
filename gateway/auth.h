/*
 * auth: credentials on /api/v1. HTTP Basic is compared in constant time
 * against API_USERNAME/API_PASSWORD; API keys (Authorization: Bearer or
 * X-API-Key) are checked by the server (Auth/CheckApiKey: the keys live
 * hashed in PostgreSQL) and the answer (known or refused; never a server
 * failure) is cached for TVMAZE_AUTH_CACHE_TTL seconds in a bounded cache
 * (common/bcache.h: 256 direct-mapped slots, one mutex). A cached answer or
 * Basic never blocks; a key missing from the cache needs the server, which
 * the pipeline asks on an upstream worker (may_block). One handle per
 * gateway, owned by the daemon.
 *
 * Thread safety: gw_auth_check is thread-safe.
 */
#ifndef TVMAZE_GATEWAY_AUTH_H
#define TVMAZE_GATEWAY_AUTH_H

#include "rpc.h"
#include "trace.h"

struct gw_upstream;
struct gw_metrics;

enum gw_auth_result {
  GW_AUTH_OK,
  GW_AUTH_MISSING,
  GW_AUTH_DENIED,
  GW_AUTH_UPSTREAM,
  GW_AUTH_WOULD_BLOCK /* an API key not in the cache and may_block == 0 */
};

struct gw_identity {
  char name[72];   /* key name, or "basic:<user>" */
  int tier;        /* 1 free, 2 basic, 3 premium; 0 for Basic (no per-key limit) */
  const char *key; /* an API key caller's key (into the header given), passed on to the
                      server; NULL for Basic */
};

struct gw_auth;

/* username NULL or "": Basic disabled. cache_ttl_s 0: no cache. The
 * strings are copied; up and m are borrowed and must outlive the handle. */
struct gw_auth *gw_auth_create(const char *username, const char *password, long cache_ttl_s,
                               struct gw_upstream *up, struct gw_metrics *m);
/* Frees a (NULL: no-op); no check may be running. */
void gw_auth_destroy(struct gw_auth *a);

/* Checks an Authorization header value and an X-API-Key value (either may be
 * NULL); *who is filled on OK. On UPSTREAM, *code is the server's failure.
 * An API key missing from the cache needs the server (Auth/CheckApiKey,
 * blocking): with may_block == 0 that is WOULD_BLOCK (nothing counted;
 * call again from a worker). */
enum gw_auth_result gw_auth_check(struct gw_auth *a, const char *authorization, const char *api_key,
                                  const struct gw_trace *trace, int may_block,
                                  struct gw_identity *who, rpc_code *code);

#endif
