/*
 * store_analytics: SQL of the five reports. See store_analytics.h.
 */
#include "store_analytics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "store_read.h"

/* $1 from, $2 to, $3 limit. */
static const char SQL_SHOW_STATS[] =
    "WITH ep AS ("
    "  SELECT e.show_id, count(*) AS n, avg(e.rating) AS avg_rating FROM episodes e"
    "  WHERE e.airdate BETWEEN $1::date AND $2::date GROUP BY e.show_id"
    ") SELECT s.id, s.name, ep.n, round(ep.avg_rating, 2), s.rating"
    " FROM ep JOIN shows s ON s.id = ep.show_id"
    " ORDER BY ep.n DESC, s.id LIMIT $3::int";

/* $1 limit per genre, $2 genre or NULL. rank() shares ranks on ties;
 * row_number() caps the rows per genre at the limit. */
static const char SQL_TOP_BY_GENRE[] =
    "WITH ranked AS ("
    "  SELECT g.name AS genre, s.id, s.name, s.rating,"
    "    rank() OVER (PARTITION BY g.id ORDER BY s.rating DESC) AS rnk,"
    "    row_number() OVER (PARTITION BY g.id ORDER BY s.rating DESC, s.id) AS rn"
    "  FROM genres g JOIN show_genres sg ON sg.genre_id = g.id"
    "  JOIN shows s ON s.id = sg.show_id"
    "  WHERE s.rating IS NOT NULL AND ($2::text IS NULL OR lower(g.name) = lower($2::text))"
    ") SELECT genre, rnk, id, name, rating FROM ranked WHERE rn <= $1::int"
    " ORDER BY genre, rnk, id";

/* $1 limit. */
static const char SQL_NETWORK_PERF[] =
    "WITH per AS ("
    "  SELECT s.distributor_id, count(*) AS shows, avg(s.rating) AS avg_rating,"
    "    count(*) FILTER (WHERE s.status = 'Running') AS running,"
    "    count(*) FILTER (WHERE s.status = 'Ended') AS ended"
    "  FROM shows s WHERE s.distributor_id IS NOT NULL GROUP BY s.distributor_id"
    ") SELECT d.tvmaze_id, d.kind, d.name, c.code, c.name, c.timezone, per.shows,"
    "  round(per.avg_rating, 2), per.running, per.ended"
    " FROM per JOIN distributors d ON d.id = per.distributor_id"
    " LEFT JOIN countries c ON c.code = d.country_code"
    " ORDER BY per.shows DESC, per.avg_rating DESC NULLS LAST, d.id LIMIT $1::int";

/* $1 from, $2 to. */
static const char SQL_MONTHLY[] =
    "WITH ep AS ("
    "  SELECT date_trunc('month', e.airdate)::date AS month, e.show_id, e.runtime"
    "  FROM episodes e WHERE e.airdate BETWEEN $1::date AND $2::date"
    ") SELECT to_char(month, 'YYYY-MM'), count(*), count(DISTINCT show_id),"
    "  round(avg(runtime), 2) FROM ep GROUP BY month ORDER BY month";

static const char SQL_COUNTRIES[] =
    "WITH sd AS ("
    "  SELECT s.id AS show_id, d.id AS dist_id, d.country_code"
    "  FROM shows s JOIN distributors d ON d.id = s.distributor_id"
    "), ep AS ("
    "  SELECT show_id, count(*) AS n FROM episodes GROUP BY show_id"
    ") SELECT c.code, c.name, c.timezone, count(*) AS shows,"
    "  coalesce(sum(ep.n), 0), count(DISTINCT sd.dist_id)"
    " FROM sd LEFT JOIN ep ON ep.show_id = sd.show_id"
    " LEFT JOIN countries c ON c.code = sd.country_code"
    " GROUP BY c.code, c.name, c.timezone"
    " ORDER BY count(*) DESC, c.code NULLS LAST";

static Tvmaze__V1__Country *country_(struct arena *a, const PGresult *r, int row, int c) {
  if (PQgetisnull(r, row, c)) {
    return NULL;
  }
  Tvmaze__V1__Country *co = arena_alloc(a, sizeof *co);
  tvmaze__v1__country__init(co);
  co->code = store_read_str(a, r, row, c);
  co->name = store_read_str(a, r, row, c + 1);
  co->timezone = store_read_str(a, r, row, c + 2);
  return co;
}

enum store_status store_an_show_stats(struct store *s, struct arena *a, int32_t from, int32_t to,
                                      int32_t limit,
                                      Tvmaze__V1__ShowsWithEpisodeStatsResponse **out) {
  char f[11], t[11], l[16];
  date_format(from, f);
  date_format(to, t);
  snprintf(l, sizeof l, "%d", (int)limit);
  const char *v[3] = {f, t, l};
  enum store_status st = STORE_OK;
  *out = NULL;
  PGresult *r = store_exec(s, "an_show_stats", SQL_SHOW_STATS, 3, v, &st);
  if (r == NULL) {
    return st;
  }
  Tvmaze__V1__ShowsWithEpisodeStatsResponse *reply = arena_alloc(a, sizeof *reply);
  tvmaze__v1__shows_with_episode_stats_response__init(reply);
  int n = PQntuples(r);
  reply->shows = n > 0 ? arena_calloc(a, (size_t)n, sizeof *reply->shows) : NULL;
  for (int i = 0; i < n; i++) {
    Tvmaze__V1__ShowEpisodeStats *x = arena_alloc(a, sizeof *x);
    tvmaze__v1__show_episode_stats__init(x);
    x->show_id = (int32_t)store_read_int(r, i, 0);
    x->show_name = store_read_str(a, r, i, 1);
    x->episode_count = (int32_t)store_read_int(r, i, 2);
    x->average_episode_rating = store_read_double_value(a, r, i, 3);
    x->show_rating = store_read_double_value(a, r, i, 4);
    reply->shows[reply->n_shows++] = x;
  }
  PQclear(r);
  *out = reply;
  return STORE_OK;
}

enum store_status store_an_top_by_genre(struct store *s, struct arena *a, const char *genre,
                                        int32_t limit, Tvmaze__V1__TopRatedByGenreResponse **out) {
  char l[16];
  snprintf(l, sizeof l, "%d", (int)limit);
  const char *v[2] = {l, genre};
  enum store_status st = STORE_OK;
  *out = NULL;
  PGresult *r = store_exec(s, "an_top_by_genre", SQL_TOP_BY_GENRE, 2, v, &st);
  if (r == NULL) {
    return st;
  }
  Tvmaze__V1__TopRatedByGenreResponse *reply = arena_alloc(a, sizeof *reply);
  tvmaze__v1__top_rated_by_genre_response__init(reply);
  int n = PQntuples(r);
  /* Rows are grouped by genre; at most n genres. */
  reply->genres = n > 0 ? arena_calloc(a, (size_t)n, sizeof *reply->genres) : NULL;
  for (int i = 0; i < n;) {
    const char *name = PQgetvalue(r, i, 0);
    int j = i;
    while (j < n && strcmp(PQgetvalue(r, j, 0), name) == 0) {
      j++;
    }
    Tvmaze__V1__GenreRanking *g = arena_alloc(a, sizeof *g);
    tvmaze__v1__genre_ranking__init(g);
    g->genre = arena_strdup(a, name);
    g->shows = arena_calloc(a, (size_t)(j - i), sizeof *g->shows);
    for (int k = i; k < j; k++) {
      Tvmaze__V1__RankedShow *rs = arena_alloc(a, sizeof *rs);
      tvmaze__v1__ranked_show__init(rs);
      rs->rank = (int32_t)store_read_int(r, k, 1);
      rs->show_id = (int32_t)store_read_int(r, k, 2);
      rs->show_name = store_read_str(a, r, k, 3);
      rs->rating = store_read_double_value(a, r, k, 4);
      g->shows[g->n_shows++] = rs;
    }
    reply->genres[reply->n_genres++] = g;
    i = j;
  }
  PQclear(r);
  *out = reply;
  return STORE_OK;
}

enum store_status store_an_network_perf(struct store *s, struct arena *a, int32_t limit,
                                        Tvmaze__V1__NetworkPerformanceResponse **out) {
  char l[16];
  snprintf(l, sizeof l, "%d", (int)limit);
  const char *v[1] = {l};
  enum store_status st = STORE_OK;
  *out = NULL;
  PGresult *r = store_exec(s, "an_network_perf", SQL_NETWORK_PERF, 1, v, &st);
  if (r == NULL) {
    return st;
  }
  Tvmaze__V1__NetworkPerformanceResponse *reply = arena_alloc(a, sizeof *reply);
  tvmaze__v1__network_performance_response__init(reply);
  int n = PQntuples(r);
  reply->distributors = n > 0 ? arena_calloc(a, (size_t)n, sizeof *reply->distributors) : NULL;
  for (int i = 0; i < n; i++) {
    Tvmaze__V1__DistributorStats *x = arena_alloc(a, sizeof *x);
    tvmaze__v1__distributor_stats__init(x);
    Tvmaze__V1__Distributor *d = arena_alloc(a, sizeof *d);
    tvmaze__v1__distributor__init(d);
    d->id = (int32_t)store_read_int(r, i, 0);
    d->kind = store_read_int(r, i, 1) == 2
                  ? TVMAZE__V1__DISTRIBUTOR_KIND__DISTRIBUTOR_KIND_WEB_CHANNEL
                  : TVMAZE__V1__DISTRIBUTOR_KIND__DISTRIBUTOR_KIND_NETWORK;
    d->name = store_read_str(a, r, i, 2);
    d->country = country_(a, r, i, 3);
    x->distributor = d;
    x->show_count = (int32_t)store_read_int(r, i, 6);
    x->average_rating = store_read_double_value(a, r, i, 7);
    x->running_count = (int32_t)store_read_int(r, i, 8);
    x->ended_count = (int32_t)store_read_int(r, i, 9);
    reply->distributors[reply->n_distributors++] = x;
  }
  PQclear(r);
  *out = reply;
  return STORE_OK;
}

enum store_status store_an_monthly(struct store *s, struct arena *a, int32_t from, int32_t to,
                                   Tvmaze__V1__MonthlyTrendsResponse **out) {
  char f[11], t[11];
  date_format(from, f);
  date_format(to, t);
  const char *v[2] = {f, t};
  enum store_status st = STORE_OK;
  *out = NULL;
  PGresult *r = store_exec(s, "an_monthly", SQL_MONTHLY, 2, v, &st);
  if (r == NULL) {
    return st;
  }
  Tvmaze__V1__MonthlyTrendsResponse *reply = arena_alloc(a, sizeof *reply);
  tvmaze__v1__monthly_trends_response__init(reply);
  int n = PQntuples(r);
  reply->months = n > 0 ? arena_calloc(a, (size_t)n, sizeof *reply->months) : NULL;
  for (int i = 0; i < n; i++) {
    Tvmaze__V1__MonthStats *x = arena_alloc(a, sizeof *x);
    tvmaze__v1__month_stats__init(x);
    x->month = store_read_str(a, r, i, 0);
    x->episode_count = (int32_t)store_read_int(r, i, 1);
    x->show_count = (int32_t)store_read_int(r, i, 2);
    x->average_runtime = store_read_double_value(a, r, i, 3);
    reply->months[reply->n_months++] = x;
  }
  PQclear(r);
  *out = reply;
  return STORE_OK;
}

enum store_status store_an_countries(struct store *s, struct arena *a,
                                     Tvmaze__V1__CountryDistributionResponse **out) {
  enum store_status st = STORE_OK;
  *out = NULL;
  PGresult *r = store_exec(s, "an_countries", SQL_COUNTRIES, 0, NULL, &st);
  if (r == NULL) {
    return st;
  }
  Tvmaze__V1__CountryDistributionResponse *reply = arena_alloc(a, sizeof *reply);
  tvmaze__v1__country_distribution_response__init(reply);
  int n = PQntuples(r);
  reply->countries = n > 0 ? arena_calloc(a, (size_t)n, sizeof *reply->countries) : NULL;
  for (int i = 0; i < n; i++) {
    Tvmaze__V1__CountryStats *x = arena_alloc(a, sizeof *x);
    tvmaze__v1__country_stats__init(x);
    x->country = country_(a, r, i, 0);
    x->show_count = (int32_t)store_read_int(r, i, 3);
    x->episode_count = (int32_t)store_read_int(r, i, 4);
    x->distributor_count = (int32_t)store_read_int(r, i, 5);
    reply->countries[reply->n_countries++] = x;
  }
  PQclear(r);
  *out = reply;
  return STORE_OK;
}
