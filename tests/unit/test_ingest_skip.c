/*
 * Unit tests of server/ingest/ingest_skip.c: the body hash (SHA-256 over
 * the normalizer version line and the body, a known value), a day's hashes
 * named by its sources, and the unchanged rule (every source matches, the
 * stored sources are exactly the day's, other dates ignored).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingest_parse.h"
#include "ingest_skip.h"

static void hex_(const unsigned char *h, char out[2 * STORE_INGEST_HASH_LEN + 1]) {
  for (int i = 0; i < STORE_INGEST_HASH_LEN; i++) {
    snprintf(out + 2 * i, 3, "%02x", h[i]);
  }
}

static void test_hash_body(void **state) {
  (void)state;
  unsigned char h[STORE_INGEST_HASH_LEN], g[STORE_INGEST_HASH_LEN];
  char hex[2 * STORE_INGEST_HASH_LEN + 1];
  assert_int_equal(ingest_skip_hash_body("[]", 2, h), 1);
  hex_(h, hex);
  /* printf 'tvmaze-ingest normalize 2\n[]' | sha256sum */
  assert_int_equal(INGEST_NORMALIZE_VERSION, 2);
  assert_string_equal(hex, "1c1330b3885dfca0a88b91787dad7ae8bfa4fc1c4153188f9f36c694275e938e");
  assert_int_equal(ingest_skip_hash_body("[ ]", 3, g), 1);
  assert_memory_not_equal(h, g, STORE_INGEST_HASH_LEN);
}

static void test_hash_day(void **state) {
  (void)state;
  const char *docs[] = {"[]", "[1]"};
  const size_t lens[] = {2, 3};
  const char *sources[] = {"web", "US"};
  const char *labels[] = {"web", "network US"};
  struct ingest_fetched_day d = {.date = "2030-01-01",
                                 .n_docs = 2,
                                 .docs = docs,
                                 .doc_len = lens,
                                 .sources = sources,
                                 .labels = labels};
  struct store_ingest_source_hash *h = NULL;
  size_t n = 0;
  ingest_skip_hash_day(&d, &h, &n);
  assert_int_equal(n, 2);
  assert_string_equal(h[0].source, "web");
  assert_string_equal(h[1].source, "US");
  unsigned char want[STORE_INGEST_HASH_LEN];
  assert_int_equal(ingest_skip_hash_body("[1]", 3, want), 1);
  assert_memory_equal(h[1].hash, want, STORE_INGEST_HASH_LEN);
  free(h);
}

static struct store_ingest_stored_hash stored_(const char *date, const char *source,
                                               unsigned char fill, long long eps) {
  struct store_ingest_stored_hash r = {.day_episodes = eps, .day_shows = eps / 2};
  snprintf(r.date, sizeof r.date, "%s", date);
  snprintf(r.h.source, sizeof r.h.source, "%s", source);
  memset(r.h.hash, fill, sizeof r.h.hash);
  return r;
}

static void test_unchanged(void **state) {
  (void)state;
  struct store_ingest_source_hash day[2] = {{.source = "web"}, {.source = "US"}};
  memset(day[0].hash, 1, sizeof day[0].hash);
  memset(day[1].hash, 2, sizeof day[1].hash);
  struct store_ingest_stored_hash st[4] = {
      stored_("2030-01-01", "web", 1, 10), stored_("2030-01-01", "US", 2, 10),
      stored_("2030-01-02", "web", 9, 4), stored_("2030-01-02", "US", 9, 4)};
  long long eps = -1, shows = -1;
  assert_true(ingest_skip_unchanged(st, 4, "2030-01-01", day, 2, &eps, &shows));
  assert_int_equal(eps, 10);
  assert_int_equal(shows, 5);
  eps = shows = -1;
  assert_false(ingest_skip_unchanged(st, 4, "2030-01-02", day, 2, &eps, &shows)); /* hashes */
  assert_int_equal(eps, -1);
  assert_false(ingest_skip_unchanged(st, 4, "2030-01-03", day, 2, &eps, &shows)); /* none */
  assert_false(ingest_skip_unchanged(st, 1, "2030-01-01", day, 2, &eps, &shows)); /* fewer */
  assert_false(ingest_skip_unchanged(st, 2, "2030-01-01", day, 1, &eps, &shows)); /* more */
  assert_false(ingest_skip_unchanged(st, 2, "2030-01-01", day, 0, &eps, &shows)); /* no hash */
  struct store_ingest_stored_hash other[2] = {stored_("2030-01-01", "web", 1, 10),
                                              stored_("2030-01-01", "GB", 2, 10)};
  assert_false(ingest_skip_unchanged(other, 2, "2030-01-01", day, 2, &eps, &shows)); /* source */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hash_body),
      cmocka_unit_test(test_hash_day),
      cmocka_unit_test(test_unchanged),
  };
  return cmocka_run_group_tests_name("ingest_skip", tests, NULL, NULL);
}
