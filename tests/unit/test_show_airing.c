/*
 * show_airing: next and previous episode of a GetShow reply, relative to a
 * given now, with and without an arena, and how long the reply stays true.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "arena.h"
#include "show_airing.h"

#define NOW 1800000000

/* A heap-built reply (free with protobuf_c_message_free_unpacked): a show
 * whose episode i has id ids[i] and airstamp NOW + at[i] seconds, or none
 * when at[i] == NONE. */
#define NONE INT32_MIN
static Tvmaze__V1__GetShowResponse *reply_(const int *ids, const int *at, size_t n) {
  Tvmaze__V1__GetShowResponse *r = calloc(1, sizeof *r);
  tvmaze__v1__get_show_response__init(r);
  r->show = calloc(1, sizeof *r->show);
  tvmaze__v1__show__init(r->show);
  r->show->id = 1;
  r->show->n_episodes = n;
  r->show->episodes = calloc(n ? n : 1, sizeof *r->show->episodes);
  for (size_t i = 0; i < n; i++) {
    Tvmaze__V1__Episode *e = calloc(1, sizeof *e);
    tvmaze__v1__episode__init(e);
    e->id = ids[i];
    e->show_id = 1;
    if (at[i] != NONE) {
      e->airstamp = calloc(1, sizeof *e->airstamp);
      google__protobuf__timestamp__init(e->airstamp);
      e->airstamp->seconds = NOW + at[i];
    }
    r->show->episodes[i] = e;
  }
  return r;
}

static void free_(Tvmaze__V1__GetShowResponse *r) {
  protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_before_and_after_now(void **state) {
  (void)state;
  const int ids[] = {10, 11, 12, 13, 14, 15};
  const int at[] = {-7200, 3600, NONE, -60, 86400, 0};
  Tvmaze__V1__GetShowResponse *r = reply_(ids, at, 6);
  show_airing_set(r, NULL, NOW);
  assert_non_null(r->next_episode);
  assert_int_equal(r->next_episode->id, 11); /* the earliest after now */
  assert_non_null(r->previous_episode);
  assert_int_equal(r->previous_episode->id, 15); /* at now counts as aired */
  /* deep copies: the reply packs and frees as any other */
  assert_ptr_not_equal(r->next_episode, r->show->episodes[1]);
  assert_ptr_not_equal(r->next_episode->airstamp, r->show->episodes[1]->airstamp);
  assert_int_equal(show_airing_ttl(r, NOW, 86400), 3600);
  assert_int_equal(show_airing_ttl(r, NOW, 600), 600);
  assert_int_equal(show_airing_ttl(r, NOW + 3600, 600), 1); /* never 0: at least 1 s */
  free_(r);
}

static void test_ties_and_none(void **state) {
  (void)state;
  const int ids[] = {30, 20, 40, 10};
  const int at[] = {100, 100, -5, -5};
  Tvmaze__V1__GetShowResponse *r = reply_(ids, at, 4);
  show_airing_set(r, NULL, NOW);
  assert_int_equal(r->next_episode->id, 20);     /* same airstamp: lowest id */
  assert_int_equal(r->previous_episode->id, 40); /* same airstamp: highest id */
  free_(r);

  const int ids2[] = {1, 2};
  const int at2[] = {NONE, -10};
  r = reply_(ids2, at2, 2);
  show_airing_set(r, NULL, NOW);
  assert_null(r->next_episode); /* nothing after now */
  assert_int_equal(r->previous_episode->id, 2);
  assert_int_equal(show_airing_ttl(r, NOW, 86400), 86400);
  free_(r);

  r = reply_(NULL, NULL, 0);
  show_airing_set(r, NULL, NOW);
  assert_null(r->next_episode);
  assert_null(r->previous_episode);
  free_(r);
}

static void test_arena_copies(void **state) {
  (void)state;
  const int ids[] = {5, 6};
  const int at[] = {-1, 1};
  Tvmaze__V1__GetShowResponse *r = reply_(ids, at, 2);
  struct arena a;
  arena_init(&a, 4096);
  show_airing_set(r, &a, NOW);
  assert_int_equal(r->next_episode->id, 6);
  assert_int_equal(r->next_episode->airstamp->seconds, NOW + 1);
  assert_int_equal(r->previous_episode->id, 5);
  /* the copies live in the arena: detach them before the heap free */
  r->next_episode = r->previous_episode = NULL;
  free_(r);
  arena_release(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_before_and_after_now),
      cmocka_unit_test(test_ties_and_none),
      cmocka_unit_test(test_arena_copies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
