/*
 * store_keys: API key statements (see store_keys.h). Hashing is done by
 * PostgreSQL's sha256() so the secret never needs a C crypto library.
 */
#include "store_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base64.h"

enum store_status store_key_create(struct store *s, const char *name, int tier,
                                   char key_out[STORE_KEY_LEN + 1]) {
  if (tier < 1 || tier > 3 || !name || !name[0] || strlen(name) > 64)
    return STORE_INVALID;
  unsigned char rnd[20];
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
    return STORE_ERROR;
  memcpy(key_out, "tvm_", 4);
  base16_encode(rnd, sizeof rnd, key_out + 4);
  char tier_s[4];
  snprintf(tier_s, sizeof tier_s, "%d", tier);
  const char *params[3] = {name, tier_s, key_out};
  enum store_status st;
  PGresult *res = store_exec(s, "key_create",
                             "INSERT INTO api_keys (name, tier, key_hash) "
                             "VALUES ($1, $2::smallint, sha256(convert_to($3, 'UTF8')))",
                             3, params, &st);
  PQclear(res);
  return st;
}

enum store_status store_key_check(struct store *s, const char *key, char *name, size_t namelen,
                                  int *tier) {
  const char *params[1] = {key};
  enum store_status st;
  PGresult *res =
      store_exec(s, "key_check",
                 "SELECT name, tier FROM api_keys "
                 "WHERE key_hash = sha256(convert_to($1, 'UTF8')) AND revoked_at IS NULL",
                 1, params, &st);
  if (st == STORE_OK) {
    if (PQntuples(res) == 0) {
      st = STORE_NOT_FOUND;
    } else {
      snprintf(name, namelen, "%s", PQgetvalue(res, 0, 0));
      *tier = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
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
                                 void (*fn)(const char *name, int tier, const char *created,
                                            const char *revoked, void *user),
                                 void *user) {
  enum store_status st;
  PGresult *res = store_exec(s, "key_list",
                             "SELECT name, tier, to_char(created_at AT TIME ZONE 'UTC', "
                             "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), to_char(revoked_at AT TIME ZONE "
                             "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM api_keys ORDER BY name",
                             0, NULL, &st);
  if (st == STORE_OK)
    for (int i = 0; i < PQntuples(res); i++)
      fn(PQgetvalue(res, i, 0), (int)strtol(PQgetvalue(res, i, 1), NULL, 10), PQgetvalue(res, i, 2),
         PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3), user);
  PQclear(res);
  return st;
}
