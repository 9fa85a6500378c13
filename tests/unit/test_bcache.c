/*
 * bcache (common/bcache.c): capacity (direct-mapped and set-associative),
 * expiry, replacement (own slot, empty, expired, soonest to expire), the
 * cost budget (REFUSE and EVICT), and that every value is freed exactly
 * once through the callback (replaced, expired, removed, refused, cleared,
 * destroyed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bcache.h"

/* Values are ints tagged with a number; the callback counts frees. */
struct freed {
  int n;        /* frees so far */
  int last;     /* tag of the last freed value */
  int tags[64]; /* tags[t]: times the value tagged t was freed */
};

static void free_tagged_(void *value, void *cls) {
  struct freed *f = cls;
  int tag = *(int *)value;
  f->n++;
  f->last = tag;
  if (tag >= 0 && tag < 64)
    f->tags[tag]++;
  free(value);
}

static int *tag_(int t) {
  int *p = malloc(sizeof *p);
  *p = t;
  return p;
}

static struct bcache *make_(struct freed *f, size_t slots, unsigned ways, size_t max_cost,
                            enum bcache_full full) {
  memset(f, 0, sizeof *f);
  struct bcache_config cfg = {.slots = slots,
                              .ways = ways,
                              .max_cost = max_cost,
                              .full = full,
                              .free_value = free_tagged_,
                              .cls = f};
  return bcache_create(&cfg);
}

static int get_(struct bcache *c, const char *key, int64_t now) {
  int *v = bcache_get(c, key, strlen(key), now);
  return v ? *v : -1;
}

static int put_(struct bcache *c, const char *key, int tag, size_t cost, int64_t expires,
                int64_t now) {
  return bcache_put(c, key, strlen(key), tag_(tag), cost, expires, now);
}

static void test_get_put_replace(void **state) {
  (void)state;
  struct freed f;
  struct bcache *c = make_(&f, 64, 4, 0, BCACHE_FULL_REFUSE);
  assert_int_equal(get_(c, "a", 0), -1);
  assert_int_equal(put_(c, "a", 1, 10, 100, 0), 0);
  assert_int_equal(get_(c, "a", 0), 1);
  assert_int_equal(get_(c, "b", 0), -1);
  /* the same key replaces its value, which is freed */
  assert_int_equal(put_(c, "a", 2, 5, 100, 0), 0);
  assert_int_equal(get_(c, "a", 1), 2);
  assert_int_equal(f.n, 1);
  assert_int_equal(f.last, 1);
  assert_int_equal(bcache_count(c), 1);
  assert_int_equal(bcache_cost(c), 5);
  /* binary keys: a NUL inside and the empty key are keys like others */
  assert_int_equal(bcache_put(c, "x\0y", 3, tag_(3), 1, 100, 0), 0);
  assert_int_equal(bcache_put(c, "", 0, tag_(4), 1, 100, 0), 0);
  assert_int_equal(*(int *)bcache_get(c, "x\0y", 3, 0), 3);
  assert_null(bcache_get(c, "x\0z", 3, 0));
  assert_int_equal(*(int *)bcache_get(c, "", 0, 0), 4);
  bcache_remove(c, "a", 1);
  assert_int_equal(get_(c, "a", 0), -1);
  assert_int_equal(f.tags[2], 1);
  bcache_remove(c, "a", 1); /* absent: nothing */
  assert_int_equal(f.n, 2);
  bcache_destroy(c);
  assert_int_equal(f.n, 4);
  for (int t = 1; t <= 4; t++)
    assert_int_equal(f.tags[t], 1);
  bcache_destroy(NULL);
}

static void test_expiry(void **state) {
  (void)state;
  struct freed f;
  struct bcache *c = make_(&f, 8, 1, 0, BCACHE_FULL_REFUSE);
  put_(c, "k", 1, 1, 1000, 0);
  assert_int_equal(get_(c, "k", 999), 1);
  assert_int_equal(f.n, 0);
  /* live while now < expires: at expires it is gone, and freed by the get */
  assert_int_equal(get_(c, "k", 1000), -1);
  assert_int_equal(f.n, 1);
  assert_int_equal(bcache_count(c), 0);
  assert_int_equal(bcache_cost(c), 0);
  assert_int_equal(get_(c, "k", 0), -1);
  bcache_destroy(c);
  assert_int_equal(f.n, 1);
}

/* Direct-mapped: at most `slots` entries, a colliding key replaces. */
static void test_capacity_direct(void **state) {
  (void)state;
  struct freed f;
  struct bcache *c = make_(&f, 16, 1, 0, BCACHE_FULL_REFUSE);
  char key[16];
  for (int i = 0; i < 60; i++) {
    snprintf(key, sizeof key, "key%d", i);
    put_(c, key, i, 1, 100, 0);
    assert_true(bcache_count(c) <= 16);
  }
  assert_int_equal((int)bcache_count(c) + f.n, 60);
  assert_int_equal(get_(c, "key59", 0), 59); /* the newest is always held */
  bcache_destroy(c);
  assert_int_equal(f.n, 60);
  for (int i = 0; i < 60; i++)
    assert_int_equal(f.tags[i], 1);
}

/* One set of 4 ways: empty slots first, then expired, then the one that
 * expires first. */
static void test_replacement_order(void **state) {
  (void)state;
  struct freed f;
  struct bcache *c = make_(&f, 4, 4, 0, BCACHE_FULL_REFUSE);
  put_(c, "a", 1, 1, 500, 0);
  put_(c, "b", 2, 1, 100, 0);
  put_(c, "c", 3, 1, 300, 0);
  put_(c, "d", 4, 1, 400, 0);
  assert_int_equal(bcache_count(c), 4);
  assert_int_equal(f.n, 0);
  /* full, none expired: "b" expires first */
  put_(c, "e", 5, 1, 600, 10);
  assert_int_equal(f.last, 2);
  assert_int_equal(get_(c, "b", 10), -1);
  /* at 350 "c" (300) has expired: it goes before "d" (400) */
  put_(c, "f", 6, 1, 700, 350);
  assert_int_equal(f.last, 3);
  assert_int_equal(get_(c, "d", 350), 4);
  assert_int_equal(get_(c, "a", 350), 1);
  assert_int_equal(get_(c, "e", 350), 5);
  assert_int_equal(get_(c, "f", 350), 6);
  /* an emptied slot is taken before any victim */
  bcache_remove(c, "a", 1);
  int before = f.n;
  put_(c, "g", 7, 1, 50, 350); /* already expired when put: stored, not live */
  assert_int_equal(f.n, before);
  assert_int_equal(get_(c, "g", 350), -1);
  assert_int_equal(get_(c, "d", 350), 4);
  bcache_destroy(c);
  for (int t = 1; t <= 7; t++)
    assert_int_equal(f.tags[t], 1);
}

static void test_budget_refuse(void **state) {
  (void)state;
  struct freed f;
  struct bcache *c = make_(&f, 64, 1, 100, BCACHE_FULL_REFUSE);
  char key[16];
  int stored = 0;
  for (int i = 0; i < 20; i++) {
    snprintf(key, sizeof key, "k%d", i);
    stored += put_(c, key, i, 30, 100, 0) == 0;
    assert_true(bcache_cost(c) <= 100);
  }
  assert_int_equal(bcache_cost(c), 90); /* three fit; the rest refused (unless colliding) */
  assert_true(stored >= 3);
  /* too big for the whole budget: refused, freed at once */
  int before = f.n;
  assert_int_equal(put_(c, "huge", 40, 101, 100, 0), -1);
  assert_int_equal(f.n, before + 1);
  assert_int_equal(f.last, 40);
  assert_int_equal(get_(c, "huge", 0), -1);
  /* a refused put still drops the key's old entry */
  bcache_clear(c);
  assert_int_equal(bcache_cost(c), 0);
  put_(c, "x", 41, 60, 100, 0);
  put_(c, "y", 42, 30, 100, 0);
  if (get_(c, "y", 0) == 42) { /* "x" and "y" in different slots */
    assert_int_equal(put_(c, "y", 43, 50, 100, 0), -1);
    assert_int_equal(get_(c, "y", 0), -1);
    assert_int_equal(get_(c, "x", 0), 41);
  }
  bcache_destroy(c);
  for (int t = 0; t < 64; t++)
    assert_true(f.tags[t] <= 1);
}

static void test_budget_evict(void **state) {
  (void)state;
  struct freed f;
  struct bcache *c = make_(&f, 64, 1, 100, BCACHE_FULL_EVICT);
  char key[16];
  for (int i = 0; i < 40; i++) {
    snprintf(key, sizeof key, "k%d", i);
    assert_int_equal(put_(c, key, i, 30, 100, 0), 0); /* always stored: others make room */
    assert_true(bcache_cost(c) <= 100);
    assert_int_equal(get_(c, key, 0), i);
  }
  assert_true(bcache_cost(c) >= 30);
  assert_int_equal(put_(c, "huge", 50, 101, 100, 0), -1); /* over the whole budget */
  assert_int_equal(f.last, 50);
  size_t held = bcache_count(c);
  bcache_destroy(c);
  assert_int_equal((size_t)f.n, 41);
  assert_true(held >= 1);
  for (int t = 0; t < 64; t++)
    assert_true(f.tags[t] <= 1);
}

/* A NULL free callback: values are the caller's. */
static void test_no_free_callback(void **state) {
  (void)state;
  static int values[3] = {7, 8, 9};
  struct bcache_config cfg = {.slots = 2, .ways = 2};
  struct bcache *c = bcache_create(&cfg);
  bcache_put(c, "a", 1, &values[0], 0, 10, 0);
  bcache_put(c, "b", 1, &values[1], 0, 10, 0);
  bcache_put(c, "c", 1, &values[2], 0, 20, 0); /* evicts one, not freed */
  assert_int_equal(bcache_count(c), 2);
  assert_int_equal(*(int *)bcache_get(c, "c", 1, 0), 9);
  bcache_destroy(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_get_put_replace),  cmocka_unit_test(test_expiry),
      cmocka_unit_test(test_capacity_direct),  cmocka_unit_test(test_replacement_order),
      cmocka_unit_test(test_budget_refuse),    cmocka_unit_test(test_budget_evict),
      cmocka_unit_test(test_no_free_callback),
  };
  return cmocka_run_group_tests_name("bcache", tests, NULL, NULL);
}
