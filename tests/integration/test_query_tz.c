/*
 * Time-zone windows of ListShows / ListEpisodes (API.md "Time zones";
 * query.c, store_shows.c, store_tz.c) against a real PostgreSQL holding
 * tests/fixtures/query_fixture.sql plus, added here, an episode every 97
 * minutes through March and early April 2031 (across America/Los_Angeles'
 * DST start, 2031-03-09, and Pacific/Auckland's DST end, 2031-04-06),
 * episodes exactly at and one second before local midnights, and episodes
 * without an airstamp.
 *
 * Expectations are computed here from the stored airstamps with the C
 * library's own zone data (localtime_r under TZ=zone), not by PostgreSQL
 * and not as lists written down: the episodes whose local date lies in the
 * window, in airstamp order, with their local date and time; the shows of
 * those episodes by first airstamp. Also: the country filter with a zone,
 * case-insensitive names, no local fields without a zone, the cache keyed
 * on tz, and every bad tz (INVALID_ARGUMENT naming tz).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cache.h"
#include "date.h"
#include "query.h"
#include "query_support.h"

#define S(lit) ((char *)(uintptr_t)(lit))

#define MAX_EPS 2048

static struct worker_ctx g_w;
static const char *g_url;

/* Every stored episode with an airstamp. */
struct ep {
  int32_t id, show_id;
  int64_t stamp;   /* epoch seconds */
  char country[3]; /* episodes.country_code, "" when NULL */
};
static struct ep g_eps[MAX_EPS];
static size_t g_n_eps;

static const char EXTRA_SQL[] =
    /* an episode every 97 minutes, shows 101..104 in turn (US, US, GB, web) */
    "INSERT INTO episodes (id, show_id, name, season, number, type, airdate, airtime, airstamp,"
    " runtime)"
    " SELECT 5000 + g, 101 + g % 4, 'tz ' || g, 9, g, 'regular',"
    " (t AT TIME ZONE 'America/New_York')::date,"
    " to_char(t AT TIME ZONE 'America/New_York', 'HH24:MI'), t, 30"
    " FROM generate_series(0, 599) g,"
    " LATERAL (SELECT TIMESTAMPTZ '2031-03-05 00:17:00+00' + g * INTERVAL '97 minutes' AS t) x;"
    /* at and one second before local midnights of the windows below */
    "INSERT INTO episodes (id, show_id, name, type, airdate, airstamp) VALUES"
    " (6001, 101, 'LA 03-09 00:00 PST', 'regular', '2031-03-09', '2031-03-09 08:00:00+00'),"
    " (6002, 101, 'LA 03-08 23:59:59', 'regular', '2031-03-08', '2031-03-09 07:59:59+00'),"
    " (6003, 102, 'LA 03-11 00:00 PDT', 'regular', '2031-03-11', '2031-03-11 07:00:00+00'),"
    " (6004, 102, 'LA 03-10 23:59:59', 'regular', '2031-03-10', '2031-03-11 06:59:59+00'),"
    " (6005, 103, 'AKL 04-05 00:00 NZDT', 'regular', '2031-04-05', '2031-04-04 11:00:00+00'),"
    " (6006, 103, 'AKL 04-04 23:59:59', 'regular', '2031-04-04', '2031-04-04 10:59:59+00'),"
    " (6007, 104, 'AKL 04-07 00:00 NZST', 'regular', '2031-04-07', '2031-04-06 12:00:00+00'),"
    " (6008, 104, 'AKL 04-06 23:59:59', 'regular', '2031-04-06', '2031-04-06 11:59:59+00'),"
    " (6009, 101, 'TYO 03-15 00:00', 'regular', '2031-03-15', '2031-03-14 15:00:00+00');"
    /* no airstamp: in every airdate window below, in no tz window */
    "INSERT INTO episodes (id, show_id, name, type, airdate, airstamp) VALUES"
    " (6101, 101, 'no stamp', 'regular', '2031-03-09', NULL),"
    " (6102, 103, 'no stamp', 'regular', '2031-04-05', NULL),"
    " (6103, 104, 'no stamp', 'regular', '2031-03-15', NULL);";

static void load_episodes_(void) {
  PGconn *c = PQconnectdb(g_url);
  PGresult *r = PQexec(c,
                       "SELECT id, show_id, extract(epoch FROM airstamp)::bigint,"
                       " coalesce(country_code, '') FROM episodes WHERE airstamp IS NOT NULL"
                       " ORDER BY airstamp, id");
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  g_n_eps = (size_t)PQntuples(r);
  assert_true(g_n_eps > 600 && g_n_eps <= MAX_EPS);
  for (size_t i = 0; i < g_n_eps; i++) {
    g_eps[i].id = (int32_t)strtol(PQgetvalue(r, (int)i, 0), NULL, 10);
    g_eps[i].show_id = (int32_t)strtol(PQgetvalue(r, (int)i, 1), NULL, 10);
    g_eps[i].stamp = strtoll(PQgetvalue(r, (int)i, 2), NULL, 10);
    snprintf(g_eps[i].country, sizeof g_eps[i].country, "%s", PQgetvalue(r, (int)i, 3));
  }
  PQclear(r);
  PQfinish(c);
}

static int setup_(void **state) {
  (void)state;
  g_url = qs_fixture_db("tvmaze_test_query_tz");
  qs_exec(g_url, EXTRA_SQL);
  load_episodes_();
  g_w.store = store_open(g_url);
  g_w.cache = NULL;
  return 0;
}

static int teardown_(void **state) {
  (void)state;
  store_close(g_w.store);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Expectations from the airstamps                                    */
/* ------------------------------------------------------------------ */

/* The local date and time of stamp in zone (the C library's zone data). */
static void local_(const char *zone, int64_t stamp, char date[11], char hhmm[6]) {
  setenv("TZ", zone, 1);
  tzset();
  time_t t = (time_t)stamp;
  struct tm tm;
  assert_non_null(localtime_r(&t, &tm));
  snprintf(date, 11, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  snprintf(hhmm, 6, "%02d:%02d", tm.tm_hour, tm.tm_min);
}

struct want {
  size_t n;
  size_t idx[MAX_EPS]; /* into g_eps, in airstamp order */
  char date[MAX_EPS][11];
  char time[MAX_EPS][6];
};

/* The episodes whose local date in zone lies in [from, to] (YYYY-MM-DD
 * compares as text), of country cc when not NULL. */
static void want_(const char *zone, const char *from, const char *to, const char *cc,
                  struct want *w) {
  w->n = 0;
  for (size_t i = 0; i < g_n_eps; i++) {
    char d[11], t[6];
    local_(zone, g_eps[i].stamp, d, t);
    if (strcmp(d, from) >= 0 && strcmp(d, to) <= 0 &&
        (cc == NULL || strcmp(g_eps[i].country, cc) == 0)) {
      w->idx[w->n] = i;
      memcpy(w->date[w->n], d, sizeof d);
      memcpy(w->time[w->n], t, sizeof t);
      w->n++;
    }
  }
}

/* ------------------------------------------------------------------ */
/* Calls                                                              */
/* ------------------------------------------------------------------ */

static Tvmaze__V1__ListEpisodesResponse *episodes_(const char *zone, const char *from,
                                                   const char *to, const char *cc, int32_t page) {
  Tvmaze__V1__ListEpisodesRequest r = TVMAZE__V1__LIST_EPISODES_REQUEST__INIT;
  Google__Protobuf__Int32Value pg = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  Google__Protobuf__Int32Value per = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  pg.value = page;
  per.value = 100;
  r.page = &pg;
  r.per_page = &per;
  r.date_from = S(from);
  r.date_to = S(to);
  r.tz = S(zone);
  r.country = S(cc != NULL ? cc : "");
  Tvmaze__V1__ListEpisodesResponse *out = NULL;
  char msg[256] = "";
  rpc_code code = QS(query_list_episodes(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out);
  if (code != RPC_OK) {
    fail_msg("ListEpisodes tz=%s: %s: %s", zone, rpc_code_name(code), msg);
  }
  return out;
}

/* ListEpisodes (every page) against want_: ids in order, local fields. */
static void check_episodes_(const char *zone, const char *from, const char *to, const char *cc) {
  static struct want w;
  want_(zone, from, to, cc, &w);
  assert_true(w.n > 0);
  size_t got = 0;
  for (int32_t page = 1;; page++) {
    Tvmaze__V1__ListEpisodesResponse *out = episodes_(zone, from, to, cc, page);
    assert_int_equal(out->pagination->total, w.n);
    for (size_t i = 0; i < out->n_episodes; i++, got++) {
      const Tvmaze__V1__Episode *e = out->episodes[i];
      assert_true(got < w.n);
      if (e->id != g_eps[w.idx[got]].id) {
        fail_msg("%s %s..%s: episode %zu is %d, want %d", zone, from, to, got, (int)e->id,
                 (int)g_eps[w.idx[got]].id);
      }
      assert_int_equal(e->airstamp->seconds, g_eps[w.idx[got]].stamp);
      assert_string_equal(e->local_airdate, w.date[got]);
      assert_string_equal(e->local_airtime, w.time[got]);
    }
    size_t n = out->n_episodes;
    protobuf_c_message_free_unpacked(&out->base, NULL);
    if (n < 100) {
      break;
    }
  }
  assert_int_equal(got, w.n);
}

/* ListShows against want_: the shows of the window's episodes by first
 * airstamp (then id), each with exactly its episodes of the window. */
static void check_shows_(const char *zone, const char *from, const char *to) {
  static struct want w;
  want_(zone, from, to, NULL, &w);
  /* each show's first airstamp in the window; then by it, then by id */
  int32_t order[8];
  int64_t first[8];
  size_t n_shows = 0;
  for (size_t i = 0; i < w.n; i++) { /* airstamp order: first sight = first airstamp */
    int32_t sid = g_eps[w.idx[i]].show_id;
    size_t k = 0;
    while (k < n_shows && order[k] != sid) {
      k++;
    }
    if (k == n_shows) {
      assert_true(n_shows < 8);
      order[n_shows] = sid;
      first[n_shows++] = g_eps[w.idx[i]].stamp;
    }
  }
  for (size_t a = 1; a < n_shows; a++) { /* insertion sort on (first, id) */
    for (size_t b = a; b > 0 && (first[b] < first[b - 1] ||
                                 (first[b] == first[b - 1] && order[b] < order[b - 1]));
         b--) {
      int64_t tf = first[b];
      int32_t tid = order[b];
      first[b] = first[b - 1];
      order[b] = order[b - 1];
      first[b - 1] = tf;
      order[b - 1] = tid;
    }
  }
  Tvmaze__V1__ListShowsRequest r = TVMAZE__V1__LIST_SHOWS_REQUEST__INIT;
  r.date_from = S(from);
  r.date_to = S(to);
  r.tz = S(zone);
  Tvmaze__V1__ListShowsResponse *out = NULL;
  char msg[256] = "";
  rpc_code code = QS(query_list_shows(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out);
  if (code != RPC_OK) {
    fail_msg("ListShows tz=%s: %s: %s", zone, rpc_code_name(code), msg);
  }
  assert_int_equal(out->n_shows, n_shows);
  assert_int_equal(out->pagination->total, n_shows);
  for (size_t k = 0; k < n_shows; k++) {
    const Tvmaze__V1__Show *s = out->shows[k];
    assert_int_equal(s->id, order[k]);
    size_t j = 0;
    for (size_t i = 0; i < w.n; i++) {
      if (g_eps[w.idx[i]].show_id != s->id) {
        continue;
      }
      assert_true(j < s->n_episodes);
      assert_int_equal(s->episodes[j]->id, g_eps[w.idx[i]].id);
      assert_string_equal(s->episodes[j]->local_airdate, w.date[i]);
      assert_string_equal(s->episodes[j]->local_airtime, w.time[i]);
      j++;
    }
    assert_int_equal(s->n_episodes, j);
  }
  protobuf_c_message_free_unpacked(&out->base, NULL);
}

/* The zone moves the window: the set differs from the one by UTC date, so
 * the checks above could not pass on airdate or UTC alone. */
static void assert_zone_matters_(const char *zone, const char *from, const char *to) {
  static struct want wz, wu;
  want_(zone, from, to, NULL, &wz);
  want_("UTC", from, to, NULL, &wu);
  int same = wz.n == wu.n;
  for (size_t i = 0; same && i < wz.n; i++) {
    same = wz.idx[i] == wu.idx[i];
  }
  assert_false(same);
}

/* ------------------------------------------------------------------ */
/* Tests                                                              */
/* ------------------------------------------------------------------ */

static int has_id_(const struct want *w, int32_t id) {
  for (size_t i = 0; i < w->n; i++) {
    if (g_eps[w->idx[i]].id == id) {
      return 1;
    }
  }
  return 0;
}

/* America/Los_Angeles springs forward on 2031-03-09 (PST -8 -> PDT -7). */
static void los_angeles_dst_start(void **state) {
  (void)state;
  static struct want w;
  want_("America/Los_Angeles", "2031-03-09", "2031-03-10", NULL, &w);
  /* both ends: local midnight in, one second before out (-8 at the start,
   * -7 at the end) */
  assert_true(has_id_(&w, 6001) && !has_id_(&w, 6002));
  assert_true(has_id_(&w, 6004) && !has_id_(&w, 6003));
  assert_zone_matters_("America/Los_Angeles", "2031-03-09", "2031-03-10");
  check_episodes_("America/Los_Angeles", "2031-03-09", "2031-03-10", NULL);
  check_shows_("America/Los_Angeles", "2031-03-09", "2031-03-10");
  check_episodes_("America/Los_Angeles", "2031-03-01", "2031-03-31", NULL);
}

/* Pacific/Auckland falls back on 2031-04-06 (NZDT +13 -> NZST +12), across
 * the date line from UTC. */
static void auckland_dst_end(void **state) {
  (void)state;
  static struct want w;
  want_("Pacific/Auckland", "2031-04-05", "2031-04-06", NULL, &w);
  assert_true(has_id_(&w, 6005) && !has_id_(&w, 6006));
  assert_true(has_id_(&w, 6008) && !has_id_(&w, 6007));
  assert_zone_matters_("Pacific/Auckland", "2031-04-05", "2031-04-06");
  check_episodes_("Pacific/Auckland", "2031-04-05", "2031-04-06", NULL);
  check_shows_("Pacific/Auckland", "2031-04-05", "2031-04-06");
  check_episodes_("Pacific/Auckland", "2031-03-06", "2031-04-10", NULL);
}

/* Asia/Tokyo (+9, no DST): one day, and with the country filter. */
static void tokyo_day_and_country(void **state) {
  (void)state;
  static struct want w;
  want_("Asia/Tokyo", "2031-03-15", "2031-03-15", NULL, &w);
  assert_true(has_id_(&w, 6009));
  assert_zone_matters_("Asia/Tokyo", "2031-03-15", "2031-03-15");
  check_episodes_("Asia/Tokyo", "2031-03-15", "2031-03-15", NULL);
  check_shows_("Asia/Tokyo", "2031-03-15", "2031-03-15");
  check_episodes_("Asia/Tokyo", "2031-03-10", "2031-03-20", "US");
  check_episodes_("Pacific/Auckland", "2031-03-10", "2031-03-20", "GB");
}

/* Episodes without an airstamp are in the airdate window and out of every
 * tz window; without tz no local fields; "" is no tz; names match
 * case-insensitively. */
static void no_airstamp_and_plain_windows(void **state) {
  (void)state;
  const int32_t nostamp[] = {6101, 6102, 6103};
  const char *days[] = {"2031-03-09", "2031-04-05", "2031-03-15"};
  for (size_t k = 0; k < 3; k++) {
    Tvmaze__V1__ListEpisodesResponse *plain = episodes_("", days[k], days[k], NULL, 1);
    Tvmaze__V1__ListEpisodesResponse *zoned = episodes_("Asia/Tokyo", days[k], days[k], NULL, 1);
    int in_plain = 0, in_zoned = 0;
    for (size_t i = 0; i < plain->n_episodes; i++) {
      in_plain |= plain->episodes[i]->id == nostamp[k];
      assert_string_equal(plain->episodes[i]->local_airdate, "");
      assert_string_equal(plain->episodes[i]->local_airtime, "");
    }
    for (size_t i = 0; i < zoned->n_episodes; i++) {
      in_zoned |= zoned->episodes[i]->id == nostamp[k];
      assert_non_null(zoned->episodes[i]->airstamp);
    }
    assert_true(in_plain);
    assert_false(in_zoned);
    protobuf_c_message_free_unpacked(&plain->base, NULL);
    protobuf_c_message_free_unpacked(&zoned->base, NULL);
  }
  /* lower case: the same reply as PostgreSQL's spelling */
  Tvmaze__V1__ListEpisodesResponse *a =
      episodes_("asia/tokyo", "2031-03-15", "2031-03-15", NULL, 1);
  Tvmaze__V1__ListEpisodesResponse *b =
      episodes_("Asia/Tokyo", "2031-03-15", "2031-03-15", NULL, 1);
  assert_int_equal(a->n_episodes, b->n_episodes);
  for (size_t i = 0; i < a->n_episodes; i++) {
    assert_int_equal(a->episodes[i]->id, b->episodes[i]->id);
    assert_string_equal(a->episodes[i]->local_airtime, b->episodes[i]->local_airtime);
  }
  protobuf_c_message_free_unpacked(&a->base, NULL);
  protobuf_c_message_free_unpacked(&b->base, NULL);
}

/* Asserts INVALID_ARGUMENT on both listings, msg naming each of fields
 * (one "field:" violation each, service_bad_field's "; " joins). */
static void expect_invalid_(const char *tz, const char *date_to, const char *const *fields,
                            size_t nfields) {
  Tvmaze__V1__ListShowsRequest r = TVMAZE__V1__LIST_SHOWS_REQUEST__INIT;
  r.date_from = S("2031-03-01");
  r.date_to = S(date_to);
  r.tz = S(tz);
  Tvmaze__V1__ListShowsResponse *out = NULL;
  char msg[512] = "";
  rpc_code code = QS(query_list_shows(&g_w, &r, &qs_r, msg, sizeof msg), &g_w, out);
  assert_int_equal(code, RPC_INVALID_ARGUMENT);
  assert_null(out);
  Tvmaze__V1__ListEpisodesRequest e = TVMAZE__V1__LIST_EPISODES_REQUEST__INIT;
  e.date_from = r.date_from;
  e.date_to = r.date_to;
  e.tz = r.tz;
  Tvmaze__V1__ListEpisodesResponse *eout = NULL;
  char emsg[512] = "";
  assert_int_equal(QS(query_list_episodes(&g_w, &e, &qs_r, emsg, sizeof emsg), &g_w, eout),
                   RPC_INVALID_ARGUMENT);
  assert_null(eout);
  assert_string_equal(msg, emsg);
  for (size_t i = 0; i < nfields; i++) {
    char want[32];
    snprintf(want, sizeof want, "%s:", fields[i]);
    const char *at = strstr(msg, want);
    if (at == NULL || !(at == msg || (at >= msg + 2 && at[-2] == ';' && at[-1] == ' '))) {
      fail_msg("tz \"%.40s\": no violation of %s in \"%s\"", tz, fields[i], msg);
    }
  }
}

static void bad_tz(void **state) {
  (void)state;
  char long_tz[201];
  memset(long_tz, 'A', 200);
  long_tz[200] = '\0';
  const char *tz_only[] = {"tz"};
  const char *bad[] = {
      long_tz,        "../../etc/passwd",   "UTC+25",  "Mars/Olympus_Mons", "Europe/Berlin/",
      "posixrules\n", "Europe/Berlin'; --", "\xff\xfe"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    expect_invalid_(bad[i], "2031-03-31", tz_only, 1);
  }
  /* a bad tz beside a bad window: each named */
  const char *both[] = {"date_to", "tz"};
  expect_invalid_("UTC+25", "2032-03-01", both, 2);
  /* the window limit applies with a zone as without */
  expect_invalid_("Asia/Tokyo", "2032-03-01", both, 1);
}

/* The read-through cache keys on tz: the same window in two zones, each
 * twice (second from the cache), each its own answer. */
static void cache_keys_on_tz(void **state) {
  (void)state;
  g_w.cache = cache_open(testenv_redis_url());
  assert_non_null(g_w.cache);
  const char *zones[] = {"Pacific/Auckland", "America/Los_Angeles", ""};
  int32_t first[3][2];
  for (int round = 0; round < 2; round++) {
    for (size_t z = 0; z < 3; z++) {
      Tvmaze__V1__ListEpisodesResponse *out =
          episodes_(zones[z], "2031-03-09", "2031-03-09", NULL, 1);
      assert_true(out->n_episodes > 0);
      first[z][round] = out->episodes[0]->id;
      assert_string_equal(out->episodes[0]->local_airdate, z < 2 ? "2031-03-09" : "");
      protobuf_c_message_free_unpacked(&out->base, NULL);
    }
  }
  for (size_t z = 0; z < 3; z++) {
    assert_int_equal(first[z][0], first[z][1]);
  }
  assert_int_not_equal(first[0][0], first[1][0]);
  struct cache_stats st;
  cache_stats_get(&st);
  assert_true(st.hits >= 3);
  cache_close(g_w.cache);
  g_w.cache = NULL;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(los_angeles_dst_start),
      cmocka_unit_test(auckland_dst_end),
      cmocka_unit_test(tokyo_day_and_country),
      cmocka_unit_test(no_airstamp_and_plain_windows),
      cmocka_unit_test(bad_tz),
      cmocka_unit_test(cache_keys_on_tz),
  };
  return cmocka_run_group_tests(tests, setup_, teardown_);
}
