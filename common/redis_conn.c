/*
 * redis_conn: connect + AUTH + SELECT over hiredis. See redis_conn.h.
 * Tests: tests/unit/test_redis_url.c (a refused connect);
 * tests/integration/test_query_cache.c and test_gateway_limits.sh (real Redis).
 */
#include "redis_conn.h"

#include <stdio.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

/* Runs one setup command; 0, or -1 with err set from the reply or context. */
static int setup_command_(redisContext *c, const char *what, int argc, const char **argv, char *err,
                          size_t errlen) {
  redisReply *r = redisCommandArgv(c, argc, argv, NULL);
  int ok = r && r->type != REDIS_REPLY_ERROR;
  if (!ok)
    snprintf(err, errlen, "%s failed: %s", what, r ? r->str : (c->err ? c->errstr : "no reply"));
  freeReplyObject(r);
  return ok ? 0 : -1;
}

struct redisContext *redis_conn_open(const struct redis_url *u, long timeout_ms, char *err,
                                     size_t errlen) {
  struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
  redisContext *c = redisConnectWithTimeout(u->host, u->port, tv);
  if (!c || c->err) {
    snprintf(err, errlen, "connect failed: %s", c ? c->errstr : "out of memory");
    goto fail;
  }
  if (redisSetTimeout(c, tv) != REDIS_OK) {
    snprintf(err, errlen, "connect failed: cannot set the timeout");
    goto fail;
  }
  if (u->password[0]) {
    const char *argv[3] = {"AUTH", NULL, NULL};
    int argc = 1;
    if (u->user[0])
      argv[argc++] = u->user;
    argv[argc++] = u->password;
    if (setup_command_(c, "AUTH", argc, argv, err, errlen) != 0)
      goto fail;
  }
  if (u->db > 0) {
    char db[16];
    snprintf(db, sizeof db, "%d", u->db);
    const char *argv[2] = {"SELECT", db};
    if (setup_command_(c, "SELECT", 2, argv, err, errlen) != 0)
      goto fail;
  }
  return c;

fail:
  redisFree(c);
  return NULL;
}
