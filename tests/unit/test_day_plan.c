/*
 * day_plan (server/store/day_plan.c) with the run memo and the day's keys
 * (run_memo.c), without PostgreSQL: new rows go to COPY, rows the memo or
 * the day's keys know as stored to upsert, rows unchanged since the memo
 * recorded them are skipped (and forgotten after a failed day); a show of
 * many episodes and of two days, genres shared by shows, odd country
 * codes; distributor and genre row ids known or not; the COPY-conflict
 * retry (upserts only). Batches are built by hand (struct row_batch over
 * static rows: never released).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "day_plan.h"
#include "run_memo.h"
#include "store_ingest.h"

/* Writable copies of literals (rows hold char *), in a pool that lives as
 * long as the test. */
static char *S_(const char *lit) {
  static char pool[4096];
  static size_t used;
  size_t n = strlen(lit) + 1;
  assert_true(used + n <= sizeof pool);
  char *p = memcpy(pool + used, lit, n);
  used += n;
  return p;
}

static char *genres_ab_[2];
static char *genres_a_[1];

/* A day: countries US, GB; distributors network 1 (US), web 2 (none);
 * shows 10 (network 1, Drama+Comedy), 11 (web 2, Drama), 12 (none, no
 * genres); episodes 100, 101 of show 10, 102 of 11, 103 of 12. */
struct day_ {
  struct row_batch b;
  struct row_country c[2];
  struct row_distributor d[2];
  struct row_show s[3];
  struct row_episode e[4];
};

static void day_init_(struct day_ *t) {
  memset(t, 0, sizeof *t);
  genres_ab_[0] = genres_a_[0] = S_("Drama");
  genres_ab_[1] = S_("Comedy");
  t->c[0] =
      (struct row_country){.code = S_("US"), .name = S_("United States"), .timezone = S_("NY")};
  t->c[1] = (struct row_country){.code = S_("GB"), .name = S_("United Kingdom"), .timezone = NULL};
  t->d[0] = (struct row_distributor){
      .kind = 1, .tvmaze_id = 1, .name = S_("NBC"), .country_code = S_("US")};
  t->d[1] = (struct row_distributor){.kind = 2, .tvmaze_id = 2, .name = S_("Netflix")};
  t->s[0] = (struct row_show){.id = 10,
                              .name = S_("Ten"),
                              .tvmaze_updated = S_("1700000000"),
                              .dist_kind = 1,
                              .dist_id = 1,
                              .genres = genres_ab_,
                              .n_genres = 2};
  t->s[1] = (struct row_show){.id = 11,
                              .name = S_("Eleven"),
                              .dist_kind = 2,
                              .dist_id = 2,
                              .genres = genres_a_,
                              .n_genres = 1};
  t->s[2] = (struct row_show){.id = 12, .name = S_("Twelve"), .tvmaze_updated = S_("5")};
  t->e[0] = (struct row_episode){.id = 100, .show_id = 10, .name = S_("a")};
  t->e[1] = (struct row_episode){.id = 101, .show_id = 10, .name = S_("b")};
  t->e[2] = (struct row_episode){.id = 102, .show_id = 11, .name = S_("c")};
  t->e[3] = (struct row_episode){.id = 103, .show_id = 12, .name = S_("d")};
  t->b.countries = t->c;
  t->b.n_countries = 2;
  t->b.distributors = t->d;
  t->b.n_distributors = 2;
  t->b.shows = t->s;
  t->b.n_shows = 3;
  t->b.episodes = t->e;
  t->b.n_episodes = 4;
}

/* What the day's INSERT .. RETURNING statements tell about new rows. */
static void returned_ids_(struct day_keys *x) {
  u64map_put(&x->t, run_key_dist_row(1, 1), 501);
  u64map_put(&x->t, run_key_dist_row(2, 2), 502);
  genre_ids_add(&x->genres, "Drama", 7);
  genre_ids_add(&x->genres, "Comedy", 8);
}

/* A run memo preloaded with every row of the day as stored. */
static struct store_ingest_memo *preloaded_all_(void) {
  struct store_ingest_memo *m = store_ingest_memo_create();
  m->preloaded = 1;
  for (int id = 10; id <= 12; id++) {
    run_memo_put(m, RUN_TAG_STORED_SHOW, id, 0, 0, NULL);
  }
  for (int id = 100; id <= 103; id++) {
    run_memo_put(m, RUN_TAG_STORED_EP, id, 0, 0, NULL);
  }
  run_memo_put(m, RUN_TAG_DIST_ROW, 501, 1, 1, NULL);
  run_memo_put(m, RUN_TAG_DIST_ROW, 502, 2, 2, NULL);
  run_memo_put(m, RUN_TAG_GENRE_ROW, 7, 0, 0, "Drama");
  run_memo_put(m, RUN_TAG_GENRE_ROW, 8, 0, 0, "Comedy");
  return m;
}

/* Plans t with memo and, when ids, the ids the day's INSERTs return. */
static void plan_(struct day_plan *p, struct day_keys *x, const struct day_ *t,
                  const struct store_ingest_memo *memo, int ids, int upserts_only) {
  day_plan_init(p, &t->b, memo);
  day_keys_init(x, &t->b, memo);
  if (ids) {
    returned_ids_(x);
  }
  day_plan_route(p, &t->b, x, upserts_only);
}

static void done_(struct day_plan *p, struct day_keys *x) {
  day_keys_release(x);
  day_plan_release(p);
}

/* Each test's day, plan, keys and memo (setup_ / teardown_). */
struct fx_ {
  struct day_ t;
  struct day_plan p;
  struct day_keys x;
  struct store_ingest_memo *m; /* NULL unless the test makes one */
};

static int setup_(void **state) {
  struct fx_ *f = calloc(1, sizeof *f);
  day_init_(&f->t);
  *state = f;
  return 0;
}

static int teardown_(void **state) {
  struct fx_ *f = *state;
  done_(&f->p, &f->x); /* also after the test's own done_: both accept released ones */
  store_ingest_memo_destroy(f->m);
  free(f);
  return 0;
}

static void test_new_rows_copy(void **state) {
  struct fx_ *f = *state;
  plan_(&f->p, &f->x, &f->t, NULL, 1, 0);
  for (size_t i = 0; i < 2; i++) {
    assert_int_equal(f->p.country_op[i], DAY_UPSERT);
    assert_int_equal(f->p.dist_op[i], DAY_UPSERT);
  }
  assert_int_equal(f->p.n_countries_sent, 2);
  assert_int_equal(f->p.n_dists_sent, 2);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(f->p.show_op[i], DAY_COPY);
    assert_int_equal(f->p.show_stored[i], 0);
  }
  assert_int_equal(f->p.show_dist_row[0], 501);
  assert_int_equal(f->p.show_dist_row[1], 502);
  assert_int_equal(f->p.show_dist_row[2], 0); /* no distributor: NULL */
  /* genre pairs COPYed with the returned ids */
  assert_int_equal(f->p.sg_op[0], DAY_COPY);
  assert_int_equal(f->p.sg_genre_id[f->p.sg_off[0]], 7);
  assert_int_equal(f->p.sg_genre_id[f->p.sg_off[0] + 1], 8);
  assert_int_equal(f->p.sg_op[1], DAY_COPY);
  assert_int_equal(f->p.sg_genre_id[f->p.sg_off[1]], 7);
  assert_int_equal(f->p.sg_op[2], DAY_SKIP); /* no genres: no pairs */
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(f->p.episode_op[i], DAY_COPY);
  }
  /* country_code from the batch's distributor row (index + 1), NULL without */
  assert_int_equal(f->p.episode_dist[0], 1);
  assert_int_equal(f->p.episode_dist[1], 1);
  assert_int_equal(f->p.episode_dist[2], 2);
  assert_int_equal(f->p.episode_dist[3], 0);
  assert_int_equal(f->p.n_shows_copy, 3);
  assert_int_equal(f->p.n_shows_upsert, 0);
  assert_int_equal(f->p.n_episodes_copy, 4);
  assert_int_equal(f->p.n_episodes_upsert, 0);
  done_(&f->p, &f->x);
}

static void test_stored_rows_upsert(void **state) {
  struct fx_ *f = *state;
  f->m = preloaded_all_();
  /* a new episode of a stored show joins the day */
  struct row_episode e[5];
  memcpy(e, f->t.e, sizeof f->t.e);
  e[4] = (struct row_episode){.id = 104, .show_id = 10, .name = S_("new")};
  f->t.b.episodes = e;
  f->t.b.n_episodes = 5;
  plan_(&f->p, &f->x, &f->t, f->m, 0, 0);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(f->p.show_op[i], DAY_UPSERT);
    assert_int_equal(f->p.show_stored[i], 1); /* stored pairs compared */
  }
  assert_int_equal(f->p.sg_op[0], DAY_UPSERT);
  assert_int_equal(f->p.sg_op[1], DAY_UPSERT);
  assert_int_equal(f->p.sg_op[2], DAY_SKIP);
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(f->p.episode_op[i], DAY_UPSERT);
  }
  assert_int_equal(f->p.episode_op[4], DAY_COPY);
  assert_int_equal(f->p.episode_dist[4], 1);
  assert_int_equal(f->p.n_episodes_upsert, 4);
  assert_int_equal(f->p.n_episodes_copy, 1);
  done_(&f->p, &f->x);

  /* without a preloaded memo the day's probe tells the same */
  struct day_keys y;
  day_plan_init(&f->p, &f->t.b, NULL);
  day_keys_init(&y, &f->t.b, NULL);
  assert_null(y.run);
  run_memo_put_row(&y.t, &y.genres, RUN_TAG_STORED_SHOW, 11, 0, 0, NULL);
  run_memo_put_row(&y.t, &y.genres, RUN_TAG_STORED_EP, 102, 0, 0, NULL);
  run_memo_put_row(&y.t, &y.genres, RUN_TAG_DIST_ROW, 502, 2, 2, NULL);
  run_memo_put_row(&y.t, &y.genres, RUN_TAG_GENRE_ROW, 0, 0, 0, "Bad"); /* id 0: ignored */
  day_plan_route(&f->p, &f->t.b, &y, 0);
  assert_int_equal(f->p.show_op[0], DAY_UPSERT); /* network 1's row id unknown */
  assert_int_equal(f->p.show_op[1], DAY_UPSERT); /* stored */
  assert_int_equal(f->p.show_op[2], DAY_COPY);
  assert_int_equal(f->p.episode_op[0], DAY_UPSERT);
  assert_int_equal(f->p.episode_op[2], DAY_UPSERT);
  assert_int_equal(f->p.episode_op[3], DAY_COPY);
  assert_int_equal(f->p.episode_op[4], DAY_UPSERT);
  assert_int_equal(y.genres.n, 0);
  done_(&f->p, &y);
}

static void test_unchanged_skipped(void **state) {
  struct fx_ *f = *state;
  f->m = store_ingest_memo_create();
  plan_(&f->p, &f->x, &f->t, f->m, 1, 0);
  assert_int_equal(f->p.n_shows_kept, 3);
  run_memo_learn(f->m, &f->t.b, &f->x, 1); /* not preloaded: learns no ids */
  assert_false(u32set_has(&f->m->stored_shows, 10));
  run_memo_record(f->m, &f->t.b, f->p.country_h, f->p.dist_h, f->p.show_h, 1);
  done_(&f->p, &f->x);

  /* the same day again: every country, distributor and show skipped; the
   * episodes are still written (the upserts leave unchanged ones alone) */
  plan_(&f->p, &f->x, &f->t, f->m, 1, 0);
  for (size_t i = 0; i < 2; i++) {
    assert_int_equal(f->p.country_op[i], DAY_SKIP);
    assert_int_equal(f->p.dist_op[i], DAY_SKIP);
  }
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(f->p.show_op[i], DAY_SKIP);
    assert_int_equal(f->p.sg_op[i], DAY_SKIP);
  }
  assert_int_equal(f->p.n_countries_sent + f->p.n_dists_sent + f->p.n_shows_kept, 0);
  assert_int_equal(f->p.n_shows_copy + f->p.n_shows_upsert, 0);
  assert_int_equal(f->p.n_episodes_copy + f->p.n_episodes_upsert, 4);
  done_(&f->p, &f->x);

  /* a changed show (and genre list, distributor) is kept; the others not */
  f->t.s[0].name = S_("Ten (renamed)");
  f->t.s[1].n_genres = 0;
  f->t.d[1].name = S_("Netflix (renamed)");
  plan_(&f->p, &f->x, &f->t, f->m, 1, 0);
  assert_int_equal(f->p.show_op[0], DAY_COPY); /* not stored, as far as the keys know */
  assert_int_equal(f->p.show_op[1], DAY_COPY);
  assert_int_equal(f->p.show_op[2], DAY_SKIP);
  assert_int_equal(f->p.dist_op[0], DAY_SKIP);
  assert_int_equal(f->p.dist_op[1], DAY_UPSERT);
  /* that day fails: its rows are forgotten, the next day sends all again */
  run_memo_record(f->m, &f->t.b, f->p.country_h, f->p.dist_h, f->p.show_h, 0);
  done_(&f->p, &f->x);
  plan_(&f->p, &f->x, &f->t, f->m, 1, 0);
  assert_int_equal(f->p.n_countries_sent, 2);
  assert_int_equal(f->p.n_dists_sent, 2);
  assert_int_equal(f->p.n_shows_kept, 3);
  done_(&f->p, &f->x);
}

static void test_duplicates(void **state) {
  struct fx_ *f = *state;
  f->m = store_ingest_memo_create();
  f->m->preloaded = 1; /* learns what each day stores */
  /* one show row for its two episodes; Drama shared by shows 10 and 11 */
  plan_(&f->p, &f->x, &f->t, f->m, 1, 0);
  assert_int_equal(f->p.n_shows_copy, 3);
  assert_int_equal(f->p.n_episodes_copy, 4);
  assert_int_equal(f->p.sg_genre_id[f->p.sg_off[0]], f->p.sg_genre_id[f->p.sg_off[1]]);
  assert_int_equal(f->p.sg_off[1], 2); /* show 10's two genres first */
  assert_int_equal(f->p.sg_off[2], 3);
  run_memo_learn(f->m, &f->t.b, &f->x, 1);
  run_memo_record(f->m, &f->t.b, f->p.country_h, f->p.dist_h, f->p.show_h, 1);
  done_(&f->p, &f->x);
  assert_true(u32set_has(&f->m->stored_shows, 10));
  assert_true(u32set_has(&f->m->stored_episodes, 103));
  assert_int_equal(u64map_get(&f->m->t, run_key_dist_row(2, 2)), 502);
  assert_int_equal(genre_ids_find(&f->m->genres, "Comedy"), 8);

  /* the next day lists show 10 again (identical: skipped) with a new
   * episode, and show 12 changed (stored now: upserted); its country code
   * "USA" is never memoized, so the country is sent again */
  struct day_ u;
  day_init_(&u);
  u.s[2].name = S_("Twelve (changed)");
  u.c[0].code = S_("USA");
  u.e[1] = (struct row_episode){.id = 105, .show_id = 10, .name = S_("next")};
  plan_(&f->p, &f->x, &u, f->m, 0, 0);
  assert_int_equal(f->p.show_op[0], DAY_SKIP);
  assert_int_equal(f->p.show_op[1], DAY_SKIP);
  assert_int_equal(f->p.show_op[2], DAY_UPSERT);
  assert_int_equal(f->p.show_stored[2], 1);
  assert_int_equal(f->p.country_op[0], DAY_UPSERT);
  assert_int_equal(f->p.country_op[1], DAY_SKIP);
  assert_int_equal(f->p.episode_op[0], DAY_UPSERT); /* stored by the first day */
  assert_int_equal(f->p.episode_op[1], DAY_COPY);   /* new, its show skipped */
  assert_int_equal(f->p.episode_dist[1], 1);        /* the distributor's row id is known */
  done_(&f->p, &f->x);
}

static void test_distributor_and_genre_ids(void **state) {
  struct fx_ *f = *state;
  /* before the distributors' INSERT returned: no row id, no COPY of the
   * shows (and their episodes) that have one */
  day_plan_init(&f->p, &f->t.b, NULL);
  day_keys_init(&f->x, &f->t.b, NULL);
  day_plan_route(&f->p, &f->t.b, &f->x, 0);
  assert_int_equal(f->p.show_op[0], DAY_UPSERT);
  assert_int_equal(f->p.show_op[1], DAY_UPSERT);
  assert_int_equal(f->p.show_op[2], DAY_COPY);
  assert_int_equal(f->p.sg_op[0], DAY_UPSERT);
  assert_int_equal(f->p.episode_op[0], DAY_UPSERT);
  assert_int_equal(f->p.episode_op[2], DAY_UPSERT);
  assert_int_equal(f->p.episode_op[3], DAY_COPY);
  /* distributor ids now known, one genre not: the show is COPYed, its
   * pairs go through the insert (which joins genres by name) */
  u64map_put(&f->x.t, run_key_dist_row(1, 1), 501);
  u64map_put(&f->x.t, run_key_dist_row(2, 2), 502);
  genre_ids_add(&f->x.genres, "Drama", 7);
  day_plan_route(&f->p, &f->t.b, &f->x, 0);
  assert_int_equal(f->p.show_op[0], DAY_COPY);
  assert_int_equal(f->p.sg_op[0], DAY_UPSERT); /* Comedy unknown */
  assert_int_equal(f->p.show_op[1], DAY_COPY);
  assert_int_equal(f->p.sg_op[1], DAY_COPY);
  assert_int_equal(f->p.episode_op[0], DAY_COPY);
  done_(&f->p, &f->x);

  /* a tvmaze_updated the COPY cannot express as to_timestamp() would: the
   * upsert; an episode whose show or distributor row is not in the batch:
   * the upsert (its join finds the country) */
  f->t.s[0].tvmaze_updated = S_("-1");
  f->t.b.n_distributors = 1; /* web channel 2 not in the batch */
  f->t.e[3].show_id = 99;    /* show not in the batch */
  plan_(&f->p, &f->x, &f->t, NULL, 1, 0);
  assert_int_equal(f->p.show_op[0], DAY_UPSERT);
  assert_int_equal(f->p.show_op[1], DAY_COPY); /* its row id is known */
  assert_int_equal(f->p.episode_op[0], DAY_COPY);
  assert_int_equal(f->p.episode_op[2], DAY_UPSERT);
  assert_int_equal(f->p.episode_op[3], DAY_UPSERT);
  done_(&f->p, &f->x);
}

static void test_upserts_only(void **state) {
  struct fx_ *f = *state;
  f->m = store_ingest_memo_create();
  plan_(&f->p, &f->x, &f->t, f->m, 1, 0);
  run_memo_record(f->m, &f->t.b, f->p.country_h, f->p.dist_h, f->p.show_h, 1);
  done_(&f->p, &f->x);
  f->t.s[1].name = S_("Eleven (changed)");
  /* the COPY failed on a key: the day is routed again, upserts only */
  plan_(&f->p, &f->x, &f->t, f->m, 1, 0);
  assert_int_equal(f->p.show_op[1], DAY_COPY);
  day_plan_route(&f->p, &f->t.b, &f->x, 1);
  assert_int_equal(f->p.show_op[0], DAY_SKIP); /* skipped stays skipped */
  assert_int_equal(f->p.show_op[1], DAY_UPSERT);
  assert_int_equal(f->p.sg_op[1], DAY_UPSERT);
  assert_int_equal(f->p.show_dist_row[1], 0);
  assert_int_equal(f->p.show_op[2], DAY_SKIP);
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(f->p.episode_op[i], DAY_UPSERT);
    assert_int_equal(f->p.episode_dist[i], 0);
  }
  assert_int_equal(f->p.n_shows_copy + f->p.n_episodes_copy, 0);
  assert_int_equal(f->p.n_shows_upsert, 1);
  assert_int_equal(f->p.n_episodes_upsert, 4);
  done_(&f->p, &f->x);
}

static void test_empty_batch(void **state) {
  (void)state;
  struct row_batch b;
  memset(&b, 0, sizeof b);
  struct day_plan p;
  struct day_keys x;
  day_plan_init(&p, &b, NULL);
  day_keys_init(&x, &b, NULL);
  day_plan_route(&p, &b, &x, 0);
  assert_int_equal(p.n_countries_sent + p.n_dists_sent + p.n_shows_kept + p.n_episodes_copy +
                       p.n_episodes_upsert,
                   0);
  done_(&p, &x);
  day_plan_release(&p); /* twice: a released plan is zeroed */
  day_keys_release(&x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_new_rows_copy, setup_, teardown_),
      cmocka_unit_test_setup_teardown(test_stored_rows_upsert, setup_, teardown_),
      cmocka_unit_test_setup_teardown(test_unchanged_skipped, setup_, teardown_),
      cmocka_unit_test_setup_teardown(test_duplicates, setup_, teardown_),
      cmocka_unit_test_setup_teardown(test_distributor_and_genre_ids, setup_, teardown_),
      cmocka_unit_test_setup_teardown(test_upserts_only, setup_, teardown_),
      cmocka_unit_test(test_empty_batch),
  };
  return cmocka_run_group_tests_name("day_plan", tests, NULL, NULL);
}
