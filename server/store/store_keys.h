/*
 * store_keys: API keys in PostgreSQL (table api_keys, 001_schema.sql).
 *
 *   | column     | meaning                                            |
 *   |------------|----------------------------------------------------|
 *   | name       | unique, [A-Za-z0-9_.-]{1,64}                        |
 *   | tier       | 1 free (60/min), 2 basic (1000/min), 3 premium (10000/min) |
 *   | key_hash   | sha256 of the key's UTF-8 bytes (PostgreSQL sha256()) |
 *   | revoked_at | set by revoke; revoked keys never authenticate      |
 *
 * The key itself is stored nowhere: it is generated, hashed by the INSERT and
 * returned to the caller once. Same thread rules as db.h (one store per
 * thread). Tests: tests/integration/test_gateway_http.sh (create, check,
 * revoke through the server).
 */
#ifndef TVMAZE_STORE_KEYS_H
#define TVMAZE_STORE_KEYS_H

#include <stddef.h>

#include "db.h"

#define STORE_KEY_LEN 44 /* "tvm_" + 40 hex digits */

/* Creates key `name` with tier 1..3 and writes the new secret (NUL-terminated)
 * to key_out. STORE_CONFLICT if the name exists, STORE_INVALID for a bad
 * name or tier. */
enum store_status store_key_create(struct store *s, const char *name, int tier,
                                   char key_out[STORE_KEY_LEN + 1]);

/* Looks up a key: STORE_OK with name/tier set, STORE_NOT_FOUND when unknown or
 * revoked. */
enum store_status store_key_check(struct store *s, const char *key, char *name, size_t namelen,
                                  int *tier);

/* Marks key `name` revoked; STORE_NOT_FOUND if no live key has that name. */
enum store_status store_key_revoke(struct store *s, const char *name);

/* Calls fn for every key, by name. created/revoked are timestamps as text
 * (revoked NULL when live). */
enum store_status store_key_list(struct store *s,
                                 void (*fn)(const char *name, int tier, const char *created,
                                            const char *revoked, void *user),
                                 void *user);

#endif
