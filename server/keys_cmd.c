/*
 * keys_cmd: `tvmaze-server keys create --name N --tier free|basic|premium
 * [--scope read|ingest]` (prints the new key once; scope read by default),
 * `keys list` (name, tier, scope, created, state), `keys revoke NAME`. Exit status:
 * 0 done, 1 database failure or no such key, 2 usage error.
 */
#include "keys_cmd.h"

#include <stdio.h>
#include <string.h>

#include "store_keys.h"

static int tier_parse_(const char *s) {
  if (strcmp(s, "free") == 0 || strcmp(s, "1") == 0)
    return 1;
  if (strcmp(s, "basic") == 0 || strcmp(s, "2") == 0)
    return 2;
  if (strcmp(s, "premium") == 0 || strcmp(s, "3") == 0)
    return 3;
  return 0;
}

static const char *tier_name_(int t) {
  return t == 1 ? "free" : t == 2 ? "basic" : t == 3 ? "premium" : "?";
}

static void print_key_(const char *name, int tier, const char *scope, const char *created,
                       const char *revoked, void *user) {
  (void)user;
  printf("%-32s %-8s %-6s %s %s\n", name, tier_name_(tier), scope, created,
         revoked ? revoked : "active");
}

static int usage_(void) {
  fprintf(stderr,
          "usage: tvmaze-server keys create --name NAME --tier free|basic|premium "
          "[--scope read|ingest]\n"
          "       tvmaze-server keys list\n"
          "       tvmaze-server keys revoke NAME\n");
  return 2;
}

int keys_cmd_run(const char *database_url, int argc, char **argv) {
  if (argc < 1)
    return usage_();
  const char *sub = argv[0];
  const char *name = NULL, *tier_s = NULL, *scope_s = "read";
  if (strcmp(sub, "create") == 0) {
    for (int i = 1; i < argc; i++) {
      if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
        name = argv[++i];
      else if (strcmp(argv[i], "--tier") == 0 && i + 1 < argc)
        tier_s = argv[++i];
      else if (strcmp(argv[i], "--scope") == 0 && i + 1 < argc)
        scope_s = argv[++i];
      else
        return usage_();
    }
    if (!name || !tier_s || !tier_parse_(tier_s) || !store_key_scope_parse(scope_s))
      return usage_();
  } else if (strcmp(sub, "revoke") == 0) {
    if (argc != 2)
      return usage_();
    name = argv[1];
  } else if (strcmp(sub, "list") != 0 || argc != 1) {
    return usage_();
  }
  struct store *s = store_open(database_url);
  enum store_status st;
  int rc = 0;
  if (strcmp(sub, "create") == 0) {
    char key[STORE_KEY_LEN + 1];
    st = store_key_create(s, name, tier_parse_(tier_s),
                          (enum store_key_scope)store_key_scope_parse(scope_s), key);
    if (st == STORE_OK)
      printf("%s\n", key);
    else if (st == STORE_CONFLICT)
      fprintf(stderr, "tvmaze-server: a key named \"%s\" exists\n", name);
    else if (st == STORE_INVALID)
      fprintf(stderr, "tvmaze-server: invalid name (use [A-Za-z0-9_.-]{1,64})\n");
  } else if (strcmp(sub, "revoke") == 0) {
    st = store_key_revoke(s, name);
    if (st == STORE_OK)
      printf("revoked %s\n", name);
    else if (st == STORE_NOT_FOUND)
      fprintf(stderr, "tvmaze-server: no active key named \"%s\"\n", name);
  } else {
    st = store_key_list(s, print_key_, NULL);
  }
  if (st != STORE_OK) {
    if (st != STORE_CONFLICT && st != STORE_INVALID && st != STORE_NOT_FOUND)
      fprintf(stderr, "tvmaze-server: %s: %s\n", store_status_name(st), store_last_error(s));
    rc = 1;
  }
  store_close(s);
  return rc;
}
