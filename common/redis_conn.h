/*
 * redis_conn: connects to a parsed Redis URL (redis_url.h) with hiredis:
 * TCP connect with a timeout, the same timeout on every later command,
 * then AUTH ([user] password) and SELECT db when the URL asks for them.
 * Shared by the server's reply cache (server/cache/cache.c) and the
 * gateway's rate limits (gateway/ratelimit.c). Its own library
 * (tvmaze_redis) so that only programs that use Redis link hiredis.
 * Stateless; thread-safe (each call makes its own connection).
 */
#ifndef TVMAZE_COMMON_REDIS_CONN_H
#define TVMAZE_COMMON_REDIS_CONN_H

#include <stddef.h>

#include "redis_url.h"

struct redisContext;

/* A connected, authenticated context on the URL's database, its connect
 * and command timeouts timeout_ms; the caller frees it with redisFree.
 * NULL on failure with err set ("connect failed: ...", "AUTH failed: ...",
 * "SELECT failed: ...") and nothing left open. Blocks at most about three
 * timeouts (connect, AUTH, SELECT). u is not kept. */
struct redisContext *redis_conn_open(const struct redis_url *u, long timeout_ms, char *err,
                                     size_t errlen);

#endif
