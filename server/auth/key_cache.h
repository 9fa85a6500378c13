/*
 * key_cache: the server's in-process cache of API-key records, keyed by the
 * key's SHA-256 digest (never the key), shared by every worker.
 *
 *   | entries     | 1024 slots (common/bcache.h, sets of 4), live keys only |
 *   | expiry      | KEY_CACHE_TTL_MS (60 s) after the lookup that filled it  |
 *   | invalidation| a thread LISTENs on channel api_keys (a revoke or delete |
 *   |             | NOTIFYs it: 013_api_key_scope.sql) and clears the cache  |
 *   |             | as the notification arrives, so a revoked key stops      |
 *   |             | working here well within 1 s of its commit               |
 *   | no listener | while its connection is down (or not yet up) the cache   |
 *   |             | answers nothing and keeps nothing: every call looks up   |
 *   |             | (a notification may have been missed)                    |
 *
 * A lookup that raced a clear must not put a stale record back: take
 * key_cache_epoch before the database lookup and pass it to put, which
 * drops the record when a clear came in between.
 *
 * Each thread also remembers the last key it got or put (its bytes, in
 * thread-local memory: key_cache_memo_get), for at most 1 s and only while
 * no clear has come since: the calls of one client on one worker skip the
 * digest and the lock.
 *
 * Thread safety: every function but create/destroy is thread-safe.
 * Tests: tests/integration/test_grpc_auth.sh (revocation across replicas).
 */
#ifndef TVMAZE_SERVER_KEY_CACHE_H
#define TVMAZE_SERVER_KEY_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "store_keys.h"

#define KEY_CACHE_TTL_MS 60000

struct key_cache;

/* Starts the listener thread on its own connection to database_url (it
 * connects, and reconnects every second, by itself). Never NULL. */
struct key_cache *key_cache_create(const char *database_url);
/* Stops the thread and frees kc (NULL: no-op); no lookup may be running. */
void key_cache_destroy(struct key_cache *kc);

/* 1 with *out set when key[0..len) is the key this thread last got or put
 * on kc, no clear came since and the memo is under 1 s old; else 0. No
 * lock, no digest. */
int key_cache_memo_get(struct key_cache *kc, const char *key, size_t len,
                       struct store_key_record *out);
/* 1 with *out set when digest's record is cached and live, else 0; a hit
 * becomes this thread's memo of key[0..len) (the key digest is of). */
int key_cache_get(struct key_cache *kc, const unsigned char digest[STORE_KEY_DIGEST_LEN],
                  const char *key, size_t len, struct store_key_record *out);

/* The clear count, to pass to put. */
uint64_t key_cache_epoch(struct key_cache *kc);

/* Caches rec for digest (of key[0..len)) unless a clear came after epoch
 * was read or the listener is down; when cached it is also this thread's
 * memo. rec is copied. */
void key_cache_put(struct key_cache *kc, const unsigned char digest[STORE_KEY_DIGEST_LEN],
                   const char *key, size_t len, const struct store_key_record *rec, uint64_t epoch);

#endif
