/*
 * respcache (gateway/respcache.c): an entry is a hit only for a lookup at
 * the data version it was filled at; another version is a plain miss (no
 * stale body, no refresher), and a put at the new version replaces it;
 * references outlive a replacement; a disabled cache stores nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "respcache.h"

static void test_version(void **state) {
  (void)state;
  struct gw_respcache *rc = gw_respcache_create(3600, 10);
  char etag[24];
  int refresh = 7, gz = 7;
  assert_null(gw_respcache_get(rc, "/a", 5, 0, etag, &refresh, &gz));
  assert_int_equal(refresh, 0);
  gw_respcache_put(rc, "/a", 5, "old", 3, "\"e1\"", NULL, 0, NULL, NULL);
  struct gw_cached_body *b = gw_respcache_get(rc, "/a", 5, 0, etag, &refresh, &gz);
  assert_non_null(b);
  assert_int_equal(refresh, 0);
  assert_string_equal(etag, "\"e1\"");
  size_t len;
  assert_memory_equal(gw_cached_body_data(b, &len), "old", 3);
  /* the follower moved on: the old body is no hit, nor a stale one */
  assert_null(gw_respcache_get(rc, "/a", 6, 0, etag, &refresh, &gz));
  assert_int_equal(refresh, 0);
  assert_null(gw_respcache_get(rc, "/a", 4, 0, etag, &refresh, &gz));
  gw_respcache_put(rc, "/a", 6, "new!", 4, "\"e2\"", NULL, 0, NULL, NULL);
  struct gw_cached_body *b2 = gw_respcache_get(rc, "/a", 6, 0, etag, &refresh, &gz);
  assert_non_null(b2);
  assert_memory_equal(gw_cached_body_data(b2, &len), "new!", 4);
  assert_int_equal(len, 4);
  assert_string_equal(etag, "\"e2\"");
  assert_null(gw_respcache_get(rc, "/a", 5, 0, etag, &refresh, &gz));
  /* the old reference is still valid after its replacement */
  assert_memory_equal(gw_cached_body_data(b, &len), "old", 3);
  gw_cached_body_release(b);
  gw_cached_body_release(b2);
  gw_respcache_destroy(rc);
}

/* The gzip form beside the plain one: a lookup that wants gzip gets it,
 * with its own ETag; one that does not, the plain form; an entry without
 * a gzip form answers plain to both. */
static void test_gzip_form(void **state) {
  (void)state;
  struct gw_respcache *rc = gw_respcache_create(3600, 10);
  char etag[24];
  int refresh, gz = 7;
  size_t len;
  gw_respcache_put(rc, "/big", 1, "plain", 5, "\"p\"", "GZ", 2, "\"p-gz\"",
                   "text/calendar; charset=utf-8");
  struct gw_cached_body *b = gw_respcache_get(rc, "/big", 1, 1, etag, &refresh, &gz);
  assert_non_null(b);
  assert_int_equal(gz, 1);
  assert_string_equal(gw_cached_body_type(b), "text/calendar; charset=utf-8");
  assert_string_equal(etag, "\"p-gz\"");
  assert_memory_equal(gw_cached_body_data(b, &len), "GZ", 2);
  assert_int_equal(len, 2);
  gw_cached_body_release(b);
  b = gw_respcache_get(rc, "/big", 1, 0, etag, &refresh, &gz);
  assert_int_equal(gz, 0);
  assert_string_equal(etag, "\"p\"");
  assert_memory_equal(gw_cached_body_data(b, &len), "plain", 5);
  assert_string_equal(gw_cached_body_type(b), "text/calendar; charset=utf-8");
  gw_cached_body_release(b);
  gw_respcache_put(rc, "/small", 1, "s", 1, "\"s\"", NULL, 0, NULL, NULL);
  b = gw_respcache_get(rc, "/small", 1, 1, etag, &refresh, &gz);
  assert_int_equal(gz, 0);
  assert_string_equal(etag, "\"s\"");
  assert_string_equal(gw_cached_body_type(b), ""); /* JSON */
  gw_cached_body_release(b);
  gw_respcache_destroy(rc);
}

static void test_disabled(void **state) {
  (void)state;
  struct gw_respcache *rc = gw_respcache_create(0, 10);
  char etag[24];
  int refresh, gz;
  assert_false(gw_respcache_enabled(rc));
  gw_respcache_put(rc, "/a", 1, "x", 1, "\"e\"", NULL, 0, NULL, NULL);
  assert_null(gw_respcache_get(rc, "/a", 1, 0, etag, &refresh, &gz));
  gw_respcache_destroy(rc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version),
      cmocka_unit_test(test_gzip_form),
      cmocka_unit_test(test_disabled),
  };
  return cmocka_run_group_tests_name("respcache", tests, NULL, NULL);
}
