/*
 * store_keys: API keys in PostgreSQL (table api_keys, 001_schema.sql and
 * 013_api_key_scope.sql).
 *
 *   | column     | meaning                                            |
 *   |------------|----------------------------------------------------|
 *   | name       | unique, [A-Za-z0-9_.-]{1,64}                        |
 *   | tier       | 1 free (60/min), 2 basic (1000/min), 3 premium (10000/min) |
 *   | scope      | 'read' (every method but StartIngest, CheckApiKey) or 'ingest' (all) |
 *   | key_hash   | sha256 of the key's bytes (store_key_digest; PostgreSQL's sha256() gives the
 * same) | | revoked_at | set by revoke; revoked keys never authenticate      |
 *
 * An UPDATE or DELETE on the table NOTIFYs channel `api_keys` (trigger of
 * 011), which the server's key cache listens to (server/auth/key_cache.h).
 * The key itself is stored nowhere: it is generated, hashed by the INSERT and
 * returned to the caller once. Same thread rules as db.h (one store per
 * thread). Tests: tests/integration/test_grpc_auth.sh, test_gateway_http.sh.
 */
#ifndef TVMAZE_STORE_KEYS_H
#define TVMAZE_STORE_KEYS_H

#include <stddef.h>

#include "db.h"

#define STORE_KEY_LEN 44 /* "tvm_" + 40 hex digits */
#define STORE_KEY_DIGEST_LEN 32

enum store_key_scope { STORE_KEY_SCOPE_READ = 1, STORE_KEY_SCOPE_INGEST = 2 };

/* A live key's record. */
struct store_key_record {
  char name[72];
  int tier;                   /* 1..3 */
  enum store_key_scope scope; /* read or ingest */
};

/* "read" / "ingest" -> the scope, 0 for anything else; and back ("?" for
 * values out of range). Pure. */
int store_key_scope_parse(const char *s);
const char *store_key_scope_name(int scope);

/* SHA-256 of key[0..len) into out (the key_hash column). Thread-safe. */
void store_key_digest(const char *key, size_t len, unsigned char out[STORE_KEY_DIGEST_LEN]);

/* Creates key `name` with tier 1..3 and scope and writes the new secret
 * (NUL-terminated) to key_out. STORE_CONFLICT if the name exists,
 * STORE_INVALID for a bad name, tier or scope. */
enum store_status store_key_create(struct store *s, const char *name, int tier,
                                   enum store_key_scope scope, char key_out[STORE_KEY_LEN + 1]);

/* Looks up the live key whose digest is `digest`: STORE_OK with *out set,
 * STORE_NOT_FOUND when unknown or revoked. */
enum store_status store_key_lookup(struct store *s,
                                   const unsigned char digest[STORE_KEY_DIGEST_LEN],
                                   struct store_key_record *out);

/* Marks key `name` revoked (which NOTIFYs api_keys); STORE_NOT_FOUND if no
 * live key has that name. */
enum store_status store_key_revoke(struct store *s, const char *name);

/* LISTEN api_keys on s (a store of its own, used for nothing else):
 * STORE_OK, or the failure (the database away). */
enum store_status store_keys_listen(struct store *s);

/* After store_keys_listen: reads what s's socket holds without blocking and
 * returns 1 when an api_keys notification came (a key was revoked or
 * deleted), 0 when none, -1 when the connection is broken (notifications
 * may have been missed: close s and listen on a new one). */
int store_keys_changed(struct store *s);

/* Calls fn for every key, by name. created/revoked are timestamps as text
 * (revoked NULL when live). */
enum store_status store_key_list(struct store *s,
                                 void (*fn)(const char *name, int tier, const char *scope,
                                            const char *created, const char *revoked, void *user),
                                 void *user);

#endif
