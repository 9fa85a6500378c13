/*
 * store_keys: API key statements (see store_keys.h). The server hashes a
 * presented key itself (OpenSSL SHA-256) and looks the digest up, so the
 * secret never reaches PostgreSQL on the serving path; creation hashes with
 * PostgreSQL's sha256(), which gives the same bytes.
 */
#include "store_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base64.h"
#include "sha256.h"

int store_key_scope_parse(const char *s) {
  if (strcmp(s, "read") == 0)
    return STORE_KEY_SCOPE_READ;
  if (strcmp(s, "ingest") == 0)
    return STORE_KEY_SCOPE_INGEST;
  return 0;
}

const char *store_key_scope_name(int scope) {
  return scope == STORE_KEY_SCOPE_READ ? "read" : scope == STORE_KEY_SCOPE_INGEST ? "ingest" : "?";
}

void store_key_digest(const char *key, size_t len, unsigned char out[STORE_KEY_DIGEST_LEN]) {
  sha256(key, len, out);
}

enum store_status store_key_create(struct store *s, const char *name, int tier,
                                   enum store_key_scope scope, char key_out[STORE_KEY_LEN + 1]) {
  if (tier < 1 || tier > 3 || !name || !name[0] || strlen(name) > 64 ||
      (scope != STORE_KEY_SCOPE_READ && scope != STORE_KEY_SCOPE_INGEST))
    return STORE_INVALID;
  unsigned char rnd[20];
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
    return STORE_ERROR;
  memcpy(key_out, "tvm_", 4);
  base16_encode(rnd, sizeof rnd, key_out + 4);
  char tier_s[4];
  snprintf(tier_s, sizeof tier_s, "%d", tier);
  const char *params[4] = {name, tier_s, key_out, store_key_scope_name(scope)};
  enum store_status st;
  PGresult *res = store_exec(s, "key_create",
                             "INSERT INTO api_keys (name, tier, key_hash, scope) "
                             "VALUES ($1, $2::smallint, sha256(convert_to($3, 'UTF8')), $4)",
                             4, params, &st);
  PQclear(res);
  return st;
}

enum store_status store_key_lookup(struct store *s,
                                   const unsigned char digest[STORE_KEY_DIGEST_LEN],
                                   struct store_key_record *out) {
  const char *params[1] = {(const char *)digest};
  const int lengths[1] = {STORE_KEY_DIGEST_LEN};
  const int formats[1] = {1};
  enum store_status st;
  PGresult *res = store_exec_params(s, "key_lookup",
                                    "SELECT name, tier, scope FROM api_keys "
                                    "WHERE key_hash = $1::bytea AND revoked_at IS NULL",
                                    1, params, lengths, formats, 0, &st);
  if (st == STORE_OK) {
    if (PQntuples(res) == 0) {
      st = STORE_NOT_FOUND;
    } else {
      snprintf(out->name, sizeof out->name, "%s", PQgetvalue(res, 0, 0));
      out->tier = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
      out->scope = (enum store_key_scope)store_key_scope_parse(PQgetvalue(res, 0, 2));
    }
  }
  PQclear(res);
  return st;
}

enum store_status store_key_revoke(struct store *s, const char *name) {
  const char *params[1] = {name};
  enum store_status st;
  PGresult *res = store_exec(s, "key_revoke",
                             "UPDATE api_keys SET revoked_at = now() "
                             "WHERE name = $1 AND revoked_at IS NULL",
                             1, params, &st);
  if (st == STORE_OK && strcmp(PQcmdTuples(res), "0") == 0)
    st = STORE_NOT_FOUND;
  PQclear(res);
  return st;
}

enum store_status store_key_list(struct store *s,
                                 void (*fn)(const char *name, int tier, const char *scope,
                                            const char *created, const char *revoked, void *user),
                                 void *user) {
  enum store_status st;
  PGresult *res = store_exec(s, "key_list",
                             "SELECT name, tier, scope, to_char(created_at AT TIME ZONE 'UTC', "
                             "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), to_char(revoked_at AT TIME ZONE "
                             "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM api_keys ORDER BY name",
                             0, NULL, &st);
  if (st == STORE_OK)
    for (int i = 0; i < PQntuples(res); i++)
      fn(PQgetvalue(res, i, 0), (int)strtol(PQgetvalue(res, i, 1), NULL, 10), PQgetvalue(res, i, 2),
         PQgetvalue(res, i, 3), PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4), user);
  PQclear(res);
  return st;
}

enum store_status store_keys_listen(struct store *s) {
  return store_command(s, "LISTEN api_keys");
}

int store_keys_changed(struct store *s) {
  PGconn *c = store_connected(s) ? store_conn(s) : NULL;
  if (c == NULL || PQconsumeInput(c) != 1 || PQstatus(c) != CONNECTION_OK)
    return -1;
  int changed = 0;
  PGnotify *n;
  while ((n = PQnotifies(c)) != NULL) {
    changed |= strcmp(n->relname, "api_keys") == 0;
    PQfreemem(n);
  }
  return changed;
}
