/*
 * arena (common/arena.c): alignment, growth across chunks, large blocks,
 * zeroing, adopted blocks freed at reset (ASan's leak check in the sanitizer
 * stage would catch a miss), reuse of the kept chunk, the NULL arena = heap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "xalloc.h"

static void aligned_and_distinct(void **state) {
  (void)state;
  struct arena a;
  arena_init(&a, 4096);
  char *prev = NULL;
  for (size_t n = 0; n < 3000; n++) { /* many chunks' worth */
    char *p = arena_alloc(&a, n % 37 + 1);
    assert_int_equal((uintptr_t)p % 16, 0);
    memset(p, 0xab, n % 37 + 1); /* writable to its end (ASan checks) */
    assert_true(p != prev);
    prev = p;
  }
  arena_release(&a);
}

static void large_blocks_and_calloc(void **state) {
  (void)state;
  struct arena a;
  arena_init(&a, 4096);
  char *small = arena_alloc(&a, 10);
  unsigned char *big = arena_calloc(&a, 100000, 1); /* > chunk_size / 4: own block */
  for (size_t i = 0; i < 100000; i++) {
    assert_int_equal(big[i], 0);
  }
  big[99999] = 1;
  char *after = arena_alloc(&a, 10); /* still from the regular chunk */
  assert_int_equal(after - small, 16);
  int *z = arena_calloc(&a, 8, sizeof *z);
  for (int i = 0; i < 8; i++) {
    assert_int_equal(z[i], 0);
  }
  arena_release(&a);
}

static void strdup_adopt_reset(void **state) {
  (void)state;
  struct arena a;
  arena_init(&a, 4096);
  char *first = arena_alloc(&a, 1);
  assert_string_equal(arena_strdup(&a, "Doctor Who"), "Doctor Who");
  assert_string_equal(arena_strdup(&a, ""), "");
  for (int i = 0; i < 20; i++) {
    arena_adopt(&a, xmalloc(100)); /* freed by the reset, or LSan reports */
  }
  arena_adopt(&a, NULL); /* ignored */
  (void)arena_alloc(&a, 50000);
  arena_reset(&a);
  /* The kept chunk is reused from its start. */
  assert_ptr_equal(arena_alloc(&a, 1), first);
  arena_release(&a);
  /* Released arenas can be used again. */
  assert_non_null(arena_alloc(&a, 1));
  arena_release(&a);
}

static void null_arena_is_the_heap(void **state) {
  (void)state;
  char *s = arena_strdup(NULL, "x");
  int *z = arena_calloc(NULL, 4, sizeof *z);
  void *p = arena_alloc(NULL, 8);
  assert_string_equal(s, "x");
  assert_int_equal(z[3], 0);
  arena_adopt(NULL, p); /* no-op: still ours */
  free(s);
  free(z);
  free(p);
}

/* arena_held: the chunk memory held, large blocks included; a reset keeps
 * one regular chunk, a release none. */
static void held_bytes(void **state) {
  (void)state;
  struct arena a;
  arena_init(&a, 4096);
  assert_int_equal(arena_held(&a), 0);
  (void)arena_alloc(&a, 10);
  assert_int_equal(arena_held(&a), 4096);
  (void)arena_alloc(&a, 5000); /* large: a block of its own */
  assert_int_equal(arena_held(&a), 4096 + 5008);
  for (int i = 0; i < 300; i++) { /* 300 x 16 bytes: a second chunk */
    (void)arena_alloc(&a, 16);
  }
  assert_int_equal(arena_held(&a), 2 * 4096 + 5008);
  arena_reset(&a);
  assert_int_equal(arena_held(&a), 4096);
  arena_release(&a);
  assert_int_equal(arena_held(&a), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(aligned_and_distinct), cmocka_unit_test(large_blocks_and_calloc),
      cmocka_unit_test(strdup_adopt_reset),   cmocka_unit_test(null_arena_is_the_heap),
      cmocka_unit_test(held_bytes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
