/*
 * redis_url (common/redis_url.c) and redis_conn (common/redis_conn.c):
 * URLs that parse (defaults, user and password, percent escapes, IPv6,
 * database), URLs refused with the right status and a message, and a
 * connect to a closed port failing with a message and nothing left open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "redis_conn.h"
#include "redis_url.h"

static void test_defaults(void **state) {
  (void)state;
  struct redis_url u;
  char err[128] = "";
  assert_int_equal(redis_url_parse("redis://127.0.0.1", &u, err, sizeof err), REDIS_URL_OK);
  assert_string_equal(u.host, "127.0.0.1");
  assert_int_equal(u.port, 6379);
  assert_int_equal(u.db, 0);
  assert_string_equal(u.user, "");
  assert_string_equal(u.password, "");
  assert_int_equal(redis_url_parse("redis://cache.internal:6380/", &u, err, sizeof err),
                   REDIS_URL_OK);
  assert_string_equal(u.host, "cache.internal");
  assert_int_equal(u.port, 6380);
  assert_int_equal(u.db, 0);
}

static void test_full(void **state) {
  (void)state;
  struct redis_url u;
  assert_int_equal(redis_url_parse("redis://alice:s3cret@redis.example:6390/7", &u, NULL, 0),
                   REDIS_URL_OK);
  assert_string_equal(u.user, "alice");
  assert_string_equal(u.password, "s3cret");
  assert_string_equal(u.host, "redis.example");
  assert_int_equal(u.port, 6390);
  assert_int_equal(u.db, 7);
  /* ":pass" and "pass" alone: a password without a user (redis-cli -u) */
  assert_int_equal(redis_url_parse("redis://:pw@h", &u, NULL, 0), REDIS_URL_OK);
  assert_string_equal(u.user, "");
  assert_string_equal(u.password, "pw");
  assert_int_equal(redis_url_parse("redis://pw@h/2", &u, NULL, 0), REDIS_URL_OK);
  assert_string_equal(u.user, "");
  assert_string_equal(u.password, "pw");
  assert_int_equal(u.db, 2);
  /* percent escapes; an '@' left raw in the password still works (last '@') */
  assert_int_equal(redis_url_parse("redis://u%3Ax:p%40ss%2F@h", &u, NULL, 0), REDIS_URL_OK);
  assert_string_equal(u.user, "u:x");
  assert_string_equal(u.password, "p@ss/");
  assert_int_equal(redis_url_parse("redis://:a@b@h:1", &u, NULL, 0), REDIS_URL_OK);
  assert_string_equal(u.password, "a@b");
  assert_string_equal(u.host, "h");
  assert_int_equal(u.port, 1);
  /* IPv6 */
  assert_int_equal(redis_url_parse("redis://[::1]:6400/3", &u, NULL, 0), REDIS_URL_OK);
  assert_string_equal(u.host, "::1");
  assert_int_equal(u.port, 6400);
  assert_int_equal(u.db, 3);
  assert_int_equal(redis_url_parse("redis://[fe80::1]", &u, NULL, 0), REDIS_URL_OK);
  assert_int_equal(u.port, 6379);
  assert_int_equal(redis_url_parse("redis://h:65535/2147483647", &u, NULL, 0), REDIS_URL_OK);
  assert_int_equal(u.port, 65535);
  assert_int_equal(u.db, 2147483647);
}

/* Each bad URL: its status, and a message that is not empty. */
static void test_bad(void **state) {
  (void)state;
  static const struct {
    const char *url;
    enum redis_url_status want;
  } cases[] = {
      {NULL, REDIS_URL_EMPTY},
      {"", REDIS_URL_EMPTY},
      {"127.0.0.1:6379", REDIS_URL_SCHEME},
      {"rediss://h", REDIS_URL_SCHEME},
      {"unix:///tmp/redis.sock", REDIS_URL_SCHEME},
      {"REDIS://h", REDIS_URL_SCHEME},
      {"redis://", REDIS_URL_HOST},
      {"redis://:6379", REDIS_URL_HOST},
      {"redis://:pw@", REDIS_URL_HOST},
      {"redis:///0", REDIS_URL_HOST},
      {"redis://[::1", REDIS_URL_HOST},
      {"redis://[]:1", REDIS_URL_HOST},
      {"redis://[::1]x", REDIS_URL_HOST},
      {"redis://h]:1", REDIS_URL_HOST},
      {"redis://h%41", REDIS_URL_HOST},
      {"redis://h:", REDIS_URL_PORT},
      {"redis://h:0", REDIS_URL_PORT},
      {"redis://h:65536", REDIS_URL_PORT},
      {"redis://h:-1", REDIS_URL_PORT},
      {"redis://h:+1", REDIS_URL_PORT},
      {"redis://h:63 79", REDIS_URL_PORT},
      {"redis://h:6379x", REDIS_URL_PORT},
      {"redis://h:99999999999", REDIS_URL_PORT},
      {"redis://h/x", REDIS_URL_DB},
      {"redis://h/-1", REDIS_URL_DB},
      {"redis://h/1/2", REDIS_URL_DB},
      {"redis://h/2147483648", REDIS_URL_DB},
      {"redis://h/?x", REDIS_URL_TRAILING},
      {"redis://h:1?db=2", REDIS_URL_TRAILING},
      {"redis://:p%4@h", REDIS_URL_USERINFO},
      {"redis://:p%zz@h", REDIS_URL_USERINFO},
      {"redis://:p%00@h", REDIS_URL_USERINFO},
      {"redis://u%g0:p@h", REDIS_URL_USERINFO},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct redis_url u;
    char err[160] = "";
    enum redis_url_status st = redis_url_parse(cases[i].url, &u, err, sizeof err);
    if (st != cases[i].want)
      fail_msg("%s: status %d, want %d (%s)", cases[i].url ? cases[i].url : "(null)", (int)st,
               (int)cases[i].want, err);
    assert_true(err[0] != '\0');
  }
}

static void test_too_long(void **state) {
  (void)state;
  struct redis_url u;
  char url[1024], err[160];
  char big[400];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  snprintf(url, sizeof url, "redis://%s", big);
  assert_int_equal(redis_url_parse(url, &u, err, sizeof err), REDIS_URL_HOST);
  snprintf(url, sizeof url, "redis://:%s@h", big);
  assert_int_equal(redis_url_parse(url, &u, err, sizeof err), REDIS_URL_USERINFO);
  snprintf(url, sizeof url, "redis://%.200s:p@h", big);
  assert_int_equal(redis_url_parse(url, &u, err, sizeof err), REDIS_URL_USERINFO);
  /* a tiny error buffer is cut, never overrun */
  char tiny[4] = "xxx";
  assert_int_equal(redis_url_parse("nope", &u, tiny, sizeof tiny), REDIS_URL_SCHEME);
  assert_int_equal(strlen(tiny), 3);
}

/* Nothing listens on port 1: NULL and a message naming the connect. */
static void test_connect_refused(void **state) {
  (void)state;
  struct redis_url u;
  char err[256] = "";
  assert_int_equal(redis_url_parse("redis://:pw@127.0.0.1:1/3", &u, NULL, 0), REDIS_URL_OK);
  assert_null(redis_conn_open(&u, 200, err, sizeof err));
  assert_non_null(strstr(err, "connect failed"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_full),
      cmocka_unit_test(test_bad),
      cmocka_unit_test(test_too_long),
      cmocka_unit_test(test_connect_refused),
  };
  return cmocka_run_group_tests_name("redis_url", tests, NULL, NULL);
}
