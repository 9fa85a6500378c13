/*
 * redis_url: the one parser of Redis URLs (REDIS_URL of the server's reply
 * cache and of the gateway's rate limits). Pure: no hiredis, no network, no
 * state, thread-safe. Connecting is common/redis_conn.h (a library of its
 * own, so programs without Redis do not link hiredis).
 *
 *   redis://[[user]:password@]host[:port][/db]
 *
 *   | part     | rule                                                      |
 *   |----------|-----------------------------------------------------------|
 *   | scheme   | "redis://" exactly (no TLS "rediss://", no "unix://")     |
 *   | userinfo | up to the last '@'; "user:pass", ":pass" or "pass" (as    |
 *   |          | redis-cli -u reads it); percent-decoded; user < 128 bytes, |
 *   |          | password < 256                                            |
 *   | host     | required: a name, IPv4 or "[IPv6]"; < 256 bytes; no '%'   |
 *   | port     | 1..65535, digits only; default 6379                       |
 *   | db       | 0..2147483647, digits only; "/" alone or absent: 0        |
 *   | rest     | nothing may follow ("?" options are refused)              |
 *
 * Tests: tests/unit/test_redis_url.c.
 */
#ifndef TVMAZE_COMMON_REDIS_URL_H
#define TVMAZE_COMMON_REDIS_URL_H

#include <stddef.h>

#define REDIS_URL_DEFAULT_PORT 6379

struct redis_url {
  char host[256];     /* without brackets for IPv6 */
  int port;           /* 1..65535 */
  char user[128];     /* "" : no user (AUTH password alone) */
  char password[256]; /* "" : no AUTH */
  int db;             /* SELECT db when > 0 */
};

enum redis_url_status {
  REDIS_URL_OK = 0,
  REDIS_URL_EMPTY,    /* NULL or "" */
  REDIS_URL_SCHEME,   /* not redis:// */
  REDIS_URL_USERINFO, /* bad percent escape, NUL, or too long */
  REDIS_URL_HOST,     /* missing, too long, bad brackets */
  REDIS_URL_PORT,     /* not 1..65535 */
  REDIS_URL_DB,       /* not a database number */
  REDIS_URL_TRAILING  /* something after the URL ("?...") */
};

/* Parses url into *out. REDIS_URL_OK, or another status with err set to a
 * message naming the part (err may be NULL) and *out unspecified. Does not
 * keep url. Thread-safe. */
enum redis_url_status redis_url_parse(const char *url, struct redis_url *out, char *err,
                                      size_t errlen);

#endif
