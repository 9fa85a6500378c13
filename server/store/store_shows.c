/*
 * store_shows: read SQL of tvmaze.v1.Shows. See store_shows.h for the
 * statements per call and the ordering.
 *
 * The filtered statements (shows_page, episodes_page) exist once per
 * combination of set filters (a 6-bit mask: country, distributor, rating,
 * genre, q, show_ids), each a constant text assembled here from constant fragments and
 * prepared under its own name (shows_page_05, ...). No `$n IS NULL OR ...`:
 * every statement gets a plan for exactly its filters, and PostgreSQL's
 * generic plan (used from the 6th execution, no planning per request) stays
 * right. User text only ever travels as a parameter.
 *
 * Parameters: $1 date_from  $2 date_to (dates, inclusive)  $3 per_page
 *   $4 offset, then one per set filter in mask order: country code,
 *   distributor name, min rating, genre name, ILIKE pattern of q (escaped),
 *   show ids (an int[] literal); last, with a tz (mask bit 0x40, not a
 *   filter but the window's kind), the zone name: the window is then on
 *   airstamp (TZ_WINDOW) and episodes carry the local columns
 *   (STORE_MAP_EPISODE_LOCAL_COLS).
 * Each statement answers exactly one row when the page is empty (total only,
 * the other columns NULL), so the total comes with the page in one round
 * trip even past the last page.
 */
#include "store_shows.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "pg_encode.h"
#include "store_map.h"
#include "store_read.h"
#include "strbuf.h"

#define MAX_SQL 4096

/* With a time zone, the window [FROM, TO] (SQL date expressions) holds the
 * episodes whose airstamp falls on one of those local dates in zone TZ (a
 * text expression): the UTC range [FROM 00:00 local, TO + 1 00:00 local),
 * computed once per statement, so the airstamp indexes (migration 016)
 * serve it as a plain range. */
#define TZ_WINDOW(FROM, TO, TZ)                                                          \
  "e.airstamp >= (" FROM "::date::timestamp AT TIME ZONE " TZ ") AND e.airstamp < ((" TO \
  "::date + 1)::timestamp AT TIME ZONE " TZ ")"

static const char SQL_SHOWS_EPISODES[] =
    "SELECT " STORE_MAP_EPISODE_COLS
    " FROM episodes e"
    " WHERE e.show_id = ANY($1::int[]) AND e.airdate BETWEEN $2::date AND $3::date"
    " ORDER BY e.show_id, e.airstamp NULLS LAST, e.id";

/* SQL_SHOWS_EPISODES by local dates in zone $4, with the local columns. */
static const char SQL_SHOWS_EPISODES_TZ[] =
    "SELECT " STORE_MAP_EPISODE_COLS ", " STORE_MAP_EPISODE_LOCAL_COLS("$4::text")
    " FROM episodes e"
    " WHERE e.show_id = ANY($1::int[]) AND " TZ_WINDOW("$2", "$3", "$4::text")
    " ORDER BY e.show_id, e.airstamp, e.id";

static const char SQL_SHOW_BY_ID[] =
    "SELECT (SELECT generation FROM data_generation), " STORE_MAP_SHOW_COLS
    " FROM shows s LEFT JOIN distributors d ON d.id = s.distributor_id"
    " LEFT JOIN countries c ON c.code = d.country_code WHERE s.id = $1::int";

static const char SQL_CALENDAR_SHOWS[] =
    "SELECT " STORE_MAP_SHOW_COLS
    " FROM shows s LEFT JOIN distributors d ON d.id = s.distributor_id"
    " LEFT JOIN countries c ON c.code = d.country_code WHERE s.id = ANY($1::int[])";

static const char SQL_SHOW_ALL_EPISODES[] = "SELECT " STORE_MAP_EPISODE_COLS
                                            " FROM episodes e WHERE e.show_id = $1::int"
                                            " ORDER BY e.airstamp NULLS LAST, e.id";

enum {
  F_COUNTRY = 1,
  F_DISTRIBUTOR = 2,
  F_RATING = 4,
  F_GENRE = 8,
  F_Q = 16,
  F_SHOW_IDS = 32,
  F_TZ = 64, /* not a filter: the window's kind (local dates in a zone) */
};

static unsigned filter_mask_(const struct shows_filter *f) {
  return (f->country ? F_COUNTRY : 0u) | (f->distributor ? F_DISTRIBUTOR : 0u) |
         (f->has_rating ? F_RATING : 0u) | (f->genre ? F_GENRE : 0u) | (f->q ? F_Q : 0u) |
         (f->n_show_ids > 0 ? F_SHOW_IDS : 0u) | (f->tz ? F_TZ : 0u);
}

/* The number of the tz parameter: the last one, after every set filter. */
static int tz_param_(unsigned mask) {
  int n = 5;
  for (unsigned bit = 1; bit < F_TZ; bit <<= 1) {
    n += (mask & bit) ? 1 : 0;
  }
  return n;
}

/* Filters other than country: those test the show, through f. */
#define SHOW_FILTERS (F_DISTRIBUTOR | F_RATING | F_GENRE | F_Q | F_SHOW_IDS)

/* "f AS MATERIALIZED (ids of the shows passing the filters), " or nothing.
 * Materialized: a narrow id set (index-only scans where it can) that the
 * window scan probes through a hash, whatever the generic estimates say.
 * Country is not here: episodes carry it (migration 004). */
static void filter_cte_(struct strbuf *b, unsigned mask) {
  if ((mask & SHOW_FILTERS) == 0) {
    return;
  }
  int n = (mask & F_COUNTRY) ? 6 : 5;
  strbuf_append(b, "f AS MATERIALIZED (SELECT s.id FROM shows s");
  if (mask & F_DISTRIBUTOR) {
    strbuf_append(b, " JOIN distributors d ON d.id = s.distributor_id");
  }
  strbuf_append(b, " WHERE true");
  if (mask & F_DISTRIBUTOR) {
    strbuf_appendf(b, " AND lower(d.name) = lower($%d::text)", n++);
  }
  if (mask & F_RATING) {
    strbuf_appendf(b, " AND s.rating >= $%d::numeric", n++);
  }
  if (mask & F_GENRE) {
    strbuf_appendf(b,
                   " AND s.id IN (SELECT sg.show_id FROM show_genres sg"
                   " JOIN genres g ON g.id = sg.genre_id WHERE lower(g.name) = lower($%d::text))",
                   n++);
  }
  if (mask & F_Q) {
    strbuf_appendf(b, " AND s.name ILIKE $%d::text", n++);
  }
  if (mask & F_SHOW_IDS) {
    strbuf_appendf(b, " AND s.id = ANY ($%d::int[])", n++);
  }
  strbuf_append(b, "), ");
}

/* The episodes of the window passing the filters: with a country, only that
 * country's range of episodes_country_window_idx (004) is read. */
static void window_where_(struct strbuf *b, unsigned mask) {
  if (mask & F_TZ) {
    int t = tz_param_(mask);
    strbuf_appendf(b, " WHERE " TZ_WINDOW("$1", "$2", "$%d::text"), t, t);
  } else {
    strbuf_append(b, " WHERE e.airdate BETWEEN $1::date AND $2::date");
  }
  if (mask & F_COUNTRY) {
    strbuf_append(b, " AND e.country_code = $5::text");
  }
  if (mask & SHOW_FILTERS) {
    strbuf_append(b, " AND e.show_id IN (SELECT id FROM f)");
  }
}

/* ListShows page: the window aggregate (first airstamp per show, over the
 * covering index of 002, or 004's with a country) restricted to f, its count, and the page joined
 * to the wide rows for the page's shows only. */
static void shows_page_sql_(struct strbuf *b, unsigned mask) {
  strbuf_append(b, "WITH ");
  filter_cte_(b, mask);
  strbuf_append(b,
                "m AS MATERIALIZED ("
                "SELECT e.show_id, min(e.airstamp) AS first_air FROM episodes e");
  window_where_(b, mask);
  strbuf_append(b,
                " GROUP BY e.show_id"
                "), p AS ("
                "SELECT show_id, first_air FROM m ORDER BY first_air NULLS LAST, show_id"
                " LIMIT $3::int OFFSET $4::bigint"
                ") SELECT t.total, (SELECT generation FROM data_generation), " STORE_MAP_SHOW_COLS
                " FROM (SELECT count(*) AS total FROM m) t"
                " LEFT JOIN (p JOIN shows s ON s.id = p.show_id"
                " LEFT JOIN distributors d ON d.id = s.distributor_id"
                " LEFT JOIN countries c ON c.code = d.country_code) ON true"
                " ORDER BY p.first_air NULLS LAST, p.show_id");
}

/* ListEpisodes page: ids and airstamps of the window's episodes (index-only),
 * count, page joined to the episode rows. */
static void episodes_page_sql_(struct strbuf *b, unsigned mask) {
  strbuf_append(b, "WITH ");
  filter_cte_(b, mask);
  strbuf_append(b,
                "m AS MATERIALIZED ("
                "SELECT e.id, e.airstamp FROM episodes e");
  window_where_(b, mask);
  strbuf_append(
      b,
      "), p AS ("
      "SELECT id, airstamp FROM m ORDER BY airstamp NULLS LAST, id"
      " LIMIT $3::int OFFSET $4::bigint"
      ") SELECT t.total, (SELECT generation FROM data_generation), " STORE_MAP_EPISODE_COLS);
  if (mask & F_TZ) {
    int t = tz_param_(mask);
    strbuf_appendf(b, ", " STORE_MAP_EPISODE_LOCAL_COLS("$%d::text"), t, t);
  }
  strbuf_append(b,
                " FROM (SELECT count(*) AS total FROM m) t"
                " LEFT JOIN (p JOIN episodes e ON e.id = p.id) ON true"
                " ORDER BY p.airstamp NULLS LAST, p.id");
}

char *store_shows_sql(const char *name, const struct shows_filter *f) {
  struct strbuf b;
  strbuf_init(&b);
  if (strcmp(name, "shows_page") == 0) {
    shows_page_sql_(&b, filter_mask_(f));
  } else if (strcmp(name, "episodes_page") == 0) {
    episodes_page_sql_(&b, filter_mask_(f));
  } else if (strcmp(name, "shows_episodes") == 0) {
    strbuf_append(&b, f->tz ? SQL_SHOWS_EPISODES_TZ : SQL_SHOWS_EPISODES);
  } else {
    strbuf_release(&b);
    return NULL;
  }
  return strbuf_detach(&b, NULL);
}

/* ------------------------------------------------------------------ */
/* Pagination                                                         */
/* ------------------------------------------------------------------ */

static Tvmaze__V1__Pagination *pagination_(struct arena *a, const struct shows_filter *f,
                                           int64_t total) {
  Tvmaze__V1__Pagination *p = arena_alloc(a, sizeof *p);
  tvmaze__v1__pagination__init(p);
  p->page = f->page;
  p->per_page = f->per_page;
  p->total = total > INT32_MAX ? INT32_MAX : (int32_t)total;
  p->total_pages = (int32_t)((total + f->per_page - 1) / f->per_page);
  return p;
}

/* ------------------------------------------------------------------ */
/* Parameters                                                         */
/* ------------------------------------------------------------------ */

struct filter_params {
  char from[11], to[11], rating[32], limit[16], offset[24];
  char *pattern;       /* heap, or NULL */
  struct pg_array ids; /* show_ids' literal */
  const char *values[11];
  int n;         /* parameters used */
  unsigned mask; /* filter_mask_ */
  char sql[MAX_SQL];
  char name[32];
};

/* ILIKE pattern matching q literally: backslash escapes \, % and _. */
static char *like_pattern_(const char *q) {
  struct strbuf b;
  strbuf_init(&b);
  strbuf_append_char(&b, '%');
  for (const char *p = q; *p; p++) {
    if (*p == '\\' || *p == '%' || *p == '_') {
      strbuf_append_char(&b, '\\');
    }
    strbuf_append_char(&b, *p);
  }
  strbuf_append_char(&b, '%');
  return strbuf_detach(&b, NULL);
}

static void filter_params_init_(struct filter_params *fp, const struct shows_filter *f) {
  memset(fp, 0, sizeof *fp);
  date_format(f->date_from, fp->from);
  date_format(f->date_to, fp->to);
  snprintf(fp->rating, sizeof fp->rating, "%.3f", f->min_rating);
  snprintf(fp->limit, sizeof fp->limit, "%d", (int)f->per_page);
  snprintf(fp->offset, sizeof fp->offset, "%" PRId64,
           ((int64_t)f->page - 1) * (int64_t)f->per_page);
  fp->pattern = f->q != NULL ? like_pattern_(f->q) : NULL;
  pg_array_init(&fp->ids);
  for (size_t i = 0; i < f->n_show_ids; i++) {
    pg_array_add_int(&fp->ids, f->show_ids[i]);
  }
  fp->values[0] = fp->from;
  fp->values[1] = fp->to;
  fp->values[2] = fp->limit;
  fp->values[3] = fp->offset;
  fp->n = 4;
  const char *opt[6] = {
      f->country, f->distributor, f->has_rating ? fp->rating : NULL,
      f->genre,   fp->pattern,    f->n_show_ids > 0 ? pg_array_end(&fp->ids) : NULL};
  for (int i = 0; i < 6; i++) {
    if (opt[i] != NULL) {
      fp->values[fp->n++] = opt[i];
    }
  }
  if (f->tz != NULL) { /* last: tz_param_ */
    fp->values[fp->n++] = f->tz;
  }
  fp->mask = filter_mask_(f);
}

static void filter_params_release_(struct filter_params *fp) {
  free(fp->pattern);
  fp->pattern = NULL;
  pg_arrays_release(&fp->ids, 1);
}

/* The statement text and name for this filter combination (fixed storage:
 * no allocation per request). */
static void filter_sql_(struct filter_params *fp, int episodes) {
  struct strbuf b;
  strbuf_init_fixed(&b, fp->sql, sizeof fp->sql);
  if (episodes) {
    episodes_page_sql_(&b, fp->mask);
  } else {
    shows_page_sql_(&b, fp->mask);
  }
  if (b.truncated) { /* MAX_SQL too small: a programming error */
    fprintf(stderr, "store_shows: statement longer than MAX_SQL\n");
    abort();
  }
  snprintf(fp->name, sizeof fp->name, "%s_%02x", episodes ? "episodes_page" : "shows_page",
           fp->mask);
}

/* ------------------------------------------------------------------ */
/* Calls                                                              */
/* ------------------------------------------------------------------ */

/* The calls of two statements read in one snapshot, so the version of the
 * first statement is the version of both (API.md: a reply's version is
 * the version of the data it reflects). */
static enum store_status snapshot_begin_(struct store *s) {
  return store_command(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

/* Ends the snapshot: COMMIT after success (its failure is st), ROLLBACK
 * after a failure (st kept). */
static enum store_status snapshot_end_(struct store *s, enum store_status st) {
  PGconn *c = store_conn(s);
  if (c == NULL || PQtransactionStatus(c) == PQTRANS_IDLE) {
    return st;
  }
  if (st == STORE_OK || st == STORE_NOT_FOUND) {
    enum store_status cst = store_command(s, "COMMIT");
    return cst != STORE_OK ? cst : st;
  }
  (void)store_command(s, "ROLLBACK");
  return st;
}

enum store_status store_shows_list(struct store *s, struct arena *a, const struct shows_filter *f,
                                   Tvmaze__V1__ListShowsResponse **out) {
  *out = NULL;
  enum store_status st = STORE_OK;
  struct filter_params fp;
  filter_params_init_(&fp, f);
  PGresult *page = NULL, *eps = NULL;
  Tvmaze__V1__ListShowsResponse *reply = NULL;
  struct strbuf ids;
  strbuf_init(&ids);

  filter_sql_(&fp, 0);
  st = snapshot_begin_(s);
  if (st != STORE_OK) {
    goto out;
  }
  page = store_exec(s, fp.name, fp.sql, fp.n, fp.values, &st);
  if (page == NULL) {
    goto out;
  }
  reply = arena_alloc(a, sizeof *reply);
  tvmaze__v1__list_shows_response__init(reply);
  int rows = PQntuples(page);
  int64_t total = rows > 0 ? store_read_int(page, 0, 0) : 0;
  reply->pagination = pagination_(a, f, total);
  reply->version = rows > 0 ? store_read_int(page, 0, 1) : 0;
  if (rows == 0 || PQgetisnull(page, 0, 2)) {
    goto out;
  }
  reply->shows = arena_calloc(a, (size_t)rows, sizeof *reply->shows);
  strbuf_append_char(&ids, '{');
  for (int i = 0; i < rows; i++) {
    reply->shows[reply->n_shows++] = store_map_show(a, page, i, 2);
    strbuf_appendf(&ids, "%s%d", i ? "," : "", (int)reply->shows[i]->id);
  }
  strbuf_append_char(&ids, '}');

  const char *ev[4] = {ids.data, fp.from, fp.to, f->tz};
  eps = f->tz ? store_exec(s, "shows_episodes_tz", SQL_SHOWS_EPISODES_TZ, 4, ev, &st)
              : store_exec(s, "shows_episodes", SQL_SHOWS_EPISODES, 3, ev, &st);
  if (eps == NULL) {
    goto out;
  }
  /* Rows come grouped by show: count per show, then fill. */
  int n = PQntuples(eps);
  for (int i = 0; i < n;) {
    int32_t sid = (int32_t)store_read_int(eps, i, 1);
    int j = i;
    while (j < n && store_read_int(eps, j, 1) == sid) {
      j++;
    }
    for (size_t k = 0; k < reply->n_shows; k++) {
      Tvmaze__V1__Show *sh = reply->shows[k];
      if (sh->id == sid) {
        sh->episodes = arena_calloc(a, (size_t)(j - i), sizeof *sh->episodes);
        for (int r = i; r < j; r++) {
          Tvmaze__V1__Episode *e = store_map_episode(a, eps, r, 0);
          if (f->tz) {
            store_map_episode_local(a, eps, r, STORE_MAP_EPISODE_NCOLS, e);
          }
          sh->episodes[sh->n_episodes++] = e;
        }
        break;
      }
    }
    i = j;
  }

out:
  st = snapshot_end_(s, st);
  if (st != STORE_OK && reply != NULL) {
    if (a == NULL) {
      protobuf_c_message_free_unpacked(&reply->base, NULL);
    }
    reply = NULL;
  }
  *out = reply;
  PQclear(page);
  PQclear(eps);
  strbuf_release(&ids);
  filter_params_release_(&fp);
  return st;
}

enum store_status store_show_get(struct store *s, struct arena *a, int32_t id,
                                 Tvmaze__V1__Show **out, int64_t *version) {
  *out = NULL;
  *version = 0;
  enum store_status st = STORE_OK;
  char idtext[16];
  snprintf(idtext, sizeof idtext, "%d", (int)id);
  const char *v[1] = {idtext};
  Tvmaze__V1__Show *show = NULL;
  PGresult *eps = NULL, *r = NULL;
  st = snapshot_begin_(s);
  if (st != STORE_OK) {
    goto out;
  }
  r = store_exec(s, "show_by_id", SQL_SHOW_BY_ID, 1, v, &st);
  if (r == NULL) {
    goto out;
  }
  if (PQntuples(r) == 0) {
    st = STORE_NOT_FOUND;
    goto out;
  }
  *version = store_read_int(r, 0, 0);
  show = store_map_show(a, r, 0, 1);
  eps = store_exec(s, "show_all_episodes", SQL_SHOW_ALL_EPISODES, 1, v, &st);
  if (eps == NULL) {
    goto out;
  }
  int n = PQntuples(eps);
  if (n > 0) {
    show->episodes = arena_calloc(a, (size_t)n, sizeof *show->episodes);
    for (int i = 0; i < n; i++) {
      show->episodes[show->n_episodes++] = store_map_episode(a, eps, i, 0);
    }
  }
out:
  st = snapshot_end_(s, st);
  if (st != STORE_OK && show != NULL) {
    if (a == NULL) {
      protobuf_c_message_free_unpacked(&show->base, NULL);
    }
    show = NULL;
  }
  *out = show;
  PQclear(r);
  PQclear(eps);
  return st;
}

enum store_status store_episodes_list(struct store *s, struct arena *a,
                                      const struct shows_filter *f,
                                      Tvmaze__V1__ListEpisodesResponse **out) {
  *out = NULL;
  enum store_status st = STORE_OK;
  struct filter_params fp;
  filter_params_init_(&fp, f);
  filter_sql_(&fp, 1);
  PGresult *r = store_exec(s, fp.name, fp.sql, fp.n, fp.values, &st);
  filter_params_release_(&fp);
  if (r == NULL) {
    return st;
  }
  Tvmaze__V1__ListEpisodesResponse *reply = arena_alloc(a, sizeof *reply);
  tvmaze__v1__list_episodes_response__init(reply);
  int rows = PQntuples(r);
  reply->pagination = pagination_(a, f, rows > 0 ? store_read_int(r, 0, 0) : 0);
  reply->version = rows > 0 ? store_read_int(r, 0, 1) : 0;
  if (rows > 0 && !PQgetisnull(r, 0, 2)) {
    reply->episodes = arena_calloc(a, (size_t)rows, sizeof *reply->episodes);
    for (int i = 0; i < rows; i++) {
      Tvmaze__V1__Episode *e = store_map_episode(a, r, i, 2);
      if (f->tz) {
        store_map_episode_local(a, r, i, 2 + STORE_MAP_EPISODE_NCOLS, e);
      }
      reply->episodes[reply->n_episodes++] = e;
    }
  }
  PQclear(r);
  *out = reply;
  return STORE_OK;
}

enum store_status store_calendar_read(struct store *s, struct arena *a,
                                      const struct shows_filter *f, int32_t max,
                                      Tvmaze__V1__ListEpisodesResponse **eps,
                                      Tvmaze__V1__ListShowsResponse **shows) {
  *eps = NULL;
  *shows = NULL;
  struct shows_filter one = *f; /* every episode: one page of at most max */
  one.page = 1;
  one.per_page = max;
  Tvmaze__V1__ListEpisodesResponse *e = NULL;
  Tvmaze__V1__ListShowsResponse *sh = NULL;
  PGresult *r = NULL;
  struct pg_array ids;
  pg_array_init(&ids);
  enum store_status st = snapshot_begin_(s);
  if (st != STORE_OK) {
    goto out;
  }
  st = store_episodes_list(s, a, &one, &e);
  if (st != STORE_OK || e->pagination->total > max || e->n_episodes == 0) {
    goto out; /* over max: the caller refuses the request, no show is read */
  }
  for (size_t i = 0; i < e->n_episodes; i++) {
    pg_array_add_int(&ids, e->episodes[i]->show_id);
  }
  const char *v[1] = {pg_array_end(&ids)};
  r = store_exec(s, "calendar_shows", SQL_CALENDAR_SHOWS, 1, v, &st);
  if (r == NULL) {
    goto out;
  }
  sh = arena_alloc(a, sizeof *sh);
  tvmaze__v1__list_shows_response__init(sh);
  int rows = PQntuples(r);
  if (rows > 0) {
    sh->shows = arena_calloc(a, (size_t)rows, sizeof *sh->shows);
    for (int i = 0; i < rows; i++) {
      sh->shows[sh->n_shows++] = store_map_show(a, r, i, 0);
    }
  }
out:
  st = snapshot_end_(s, st);
  PQclear(r);
  pg_arrays_release(&ids, 1);
  if (st != STORE_OK) {
    if (a == NULL) {
      if (e != NULL) {
        protobuf_c_message_free_unpacked(&e->base, NULL);
      }
      if (sh != NULL) {
        protobuf_c_message_free_unpacked(&sh->base, NULL);
      }
    }
    return st;
  }
  if (sh == NULL) { /* no episode, or over max: no shows */
    sh = arena_alloc(a, sizeof *sh);
    tvmaze__v1__list_shows_response__init(sh);
  }
  *eps = e;
  *shows = sh;
  return STORE_OK;
}
