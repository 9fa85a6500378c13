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
  int refresh = 7;
  assert_null(gw_respcache_get(rc, "/a", 5, etag, &refresh));
  assert_int_equal(refresh, 0);
  gw_respcache_put(rc, "/a", 5, "old", 3, "\"e1\"");
  struct gw_cached_body *b = gw_respcache_get(rc, "/a", 5, etag, &refresh);
  assert_non_null(b);
  assert_int_equal(refresh, 0);
  assert_string_equal(etag, "\"e1\"");
  size_t len;
  assert_memory_equal(gw_cached_body_data(b, &len), "old", 3);
  /* the follower moved on: the old body is no hit, nor a stale one */
  assert_null(gw_respcache_get(rc, "/a", 6, etag, &refresh));
  assert_int_equal(refresh, 0);
  assert_null(gw_respcache_get(rc, "/a", 4, etag, &refresh));
  gw_respcache_put(rc, "/a", 6, "new!", 4, "\"e2\"");
  struct gw_cached_body *b2 = gw_respcache_get(rc, "/a", 6, etag, &refresh);
  assert_non_null(b2);
  assert_memory_equal(gw_cached_body_data(b2, &len), "new!", 4);
  assert_int_equal(len, 4);
  assert_string_equal(etag, "\"e2\"");
  assert_null(gw_respcache_get(rc, "/a", 5, etag, &refresh));
  /* the old reference is still valid after its replacement */
  assert_memory_equal(gw_cached_body_data(b, &len), "old", 3);
  gw_cached_body_release(b);
  gw_cached_body_release(b2);
  gw_respcache_destroy(rc);
}

static void test_disabled(void **state) {
  (void)state;
  struct gw_respcache *rc = gw_respcache_create(0, 10);
  char etag[24];
  int refresh;
  assert_false(gw_respcache_enabled(rc));
  gw_respcache_put(rc, "/a", 1, "x", 1, "\"e\"");
  assert_null(gw_respcache_get(rc, "/a", 1, etag, &refresh));
  gw_respcache_destroy(rc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version),
      cmocka_unit_test(test_disabled),
  };
  return cmocka_run_group_tests_name("respcache", tests, NULL, NULL);
}
