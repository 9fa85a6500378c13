/*
 * store_changes: the change log's read and prune; see store_changes.h.
 *
 * The read is one statement: a header row h (data version, floor) LEFT
 * JOINed to the page, so an empty page still answers one row, and both
 * come from the statement's snapshot. Columns: h.cur, h.floor, version,
 * entity, op, id, show_id, changed_at (seconds, nanoseconds), fields (JSON
 * array), then store_map.h's show columns and episode columns over the
 * record's typed after-images (migration 011; genres in the order of the
 * record's genre_ids, which migration 014 writes in TVMaze's); a CREATED episode whose
 * image is NULL is the episodes row itself (migration 012: it has not
 * changed since), read in the same snapshot.
 */
#include "store_changes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "json_strs.h"
#include "pg_encode.h"
#include "store_map.h"
#include "store_read.h"

#define HEAD_NCOLS 10 /* up to the show columns */

/* The page statement with filter text WHERE_ ("" or " AND x..."). */
#define CHANGES_SQL_(WHERE_)                                                                       \
  "WITH h AS (SELECT g.generation AS cur, f.version AS floor FROM data_generation g"               \
  " CROSS JOIN changes_floor f)"                                                                   \
  " SELECT h.cur, h.floor, ch.version, ch.entity, ch.op, ch.id, ch.show_id,"                       \
  " extract(epoch FROM date_trunc('second', ch.changed_at))::bigint,"                              \
  " (extract(microseconds FROM ch.changed_at)::bigint % 1000000) * 1000,"                          \
  " array_to_json(ch.fields), " STORE_MAP_SHOW_COLS_OVER(                                          \
      "unnest(ch.genre_ids) WITH ORDINALITY AS sg(genre_id, ord)", "true",                         \
      "sg.ord") ", " STORE_MAP_EPISODE_COLS                                                        \
                " FROM h LEFT JOIN LATERAL (SELECT * FROM changes x"                               \
                " WHERE x.version > $1::bigint" WHERE_                                             \
                " ORDER BY x.version LIMIT $2::int) ch ON true"                                    \
                " LEFT JOIN LATERAL (SELECT (ch.show_row).*) s ON ch.entity = 1"                   \
                " LEFT JOIN LATERAL (SELECT (ch.distributor_row).*) d ON ch.entity = 1"            \
                " LEFT JOIN LATERAL (SELECT (ch.country_row).*) c ON ch.entity = 1"                \
                " LEFT JOIN LATERAL (SELECT (x.r).* FROM (SELECT coalesce(ch.episode_row, (SELECT" \
                " change_episode_of(le) FROM episodes le WHERE ch.entity = 2 AND le.id = ch.id)) " \
                "AS r"                                                                             \
                " OFFSET 0) x) e ON ch.entity = 2 AND ch.op <> 3"                                  \
                " ORDER BY ch.version"

/* Indexed by (show_ids set) | (entity set) << 1. */
static const char *const SQL_LIST[4] = {
    CHANGES_SQL_(""),
    CHANGES_SQL_(" AND x.show_id = ANY ($3::int[])"),
    CHANGES_SQL_(" AND x.entity = $3::smallint"),
    CHANGES_SQL_(" AND x.show_id = ANY ($3::int[]) AND x.entity = $4::smallint"),
};
static const char *const SQL_LIST_NAME[4] = {"changes_list_0", "changes_list_1", "changes_list_2",
                                             "changes_list_3"};

/* Record `row` of the page as a new Change in a. */
static Tvmaze__V1__Change *change_from_row_(struct arena *a, const PGresult *r, int row) {
  Tvmaze__V1__Change *c = arena_alloc(a, sizeof *c);
  tvmaze__v1__change__init(c);
  c->version = store_read_int(r, row, 2);
  c->entity = (Tvmaze__V1__ChangeEntity)store_read_int(r, row, 3);
  c->op = (Tvmaze__V1__ChangeOp)store_read_int(r, row, 4);
  c->id = (int32_t)store_read_int(r, row, 5);
  c->show_id = (int32_t)store_read_int(r, row, 6);
  Google__Protobuf__Timestamp *t = arena_alloc(a, sizeof *t);
  google__protobuf__timestamp__init(t);
  t->seconds = store_read_int(r, row, 7);
  t->nanos = (int32_t)store_read_int(r, row, 8);
  c->changed_at = t;
  char **v = NULL;
  size_t n = 0;
  if (!PQgetisnull(r, row, 9) && json_strs_decode(a, PQgetvalue(r, row, 9), &v, &n) == 0 && n > 0) {
    c->fields = v;
    c->n_fields = n;
  }
  if (c->entity == TVMAZE__V1__CHANGE_ENTITY__CHANGE_ENTITY_SHOW &&
      !PQgetisnull(r, row, HEAD_NCOLS)) {
    c->show = store_map_show(a, r, row, HEAD_NCOLS);
  } else if (c->entity == TVMAZE__V1__CHANGE_ENTITY__CHANGE_ENTITY_EPISODE &&
             !PQgetisnull(r, row, HEAD_NCOLS + STORE_MAP_SHOW_NCOLS)) {
    c->episode = store_map_episode(a, r, row, HEAD_NCOLS + STORE_MAP_SHOW_NCOLS);
  }
  return c;
}

enum store_status store_changes_list(struct store *s, struct arena *a,
                                     const struct store_changes_query *q,
                                     Tvmaze__V1__ListChangesResponse **out, int64_t *floor) {
  *out = NULL;
  *floor = 0;
  char after[24], limit[16], entity[8];
  snprintf(after, sizeof after, "%" PRId64, q->after_version);
  snprintf(limit, sizeof limit, "%d", (int)q->limit);
  snprintf(entity, sizeof entity, "%d", q->entity);
  struct pg_array ids;
  pg_array_init(&ids);
  for (size_t i = 0; i < q->n_show_ids; i++) {
    pg_array_add_int(&ids, q->show_ids[i]);
  }
  int variant = (q->n_show_ids > 0 ? 1 : 0) | (q->entity != 0 ? 2 : 0);
  const char *v[4] = {after, limit, NULL, NULL};
  int n = 2;
  if (q->n_show_ids > 0) {
    v[n++] = pg_array_end(&ids);
  }
  if (q->entity != 0) {
    v[n++] = entity;
  }
  enum store_status st;
  PGresult *r = store_exec(s, SQL_LIST_NAME[variant], SQL_LIST[variant], n, v, &st);
  pg_arrays_release(&ids, 1);
  if (r == NULL) {
    return st;
  }
  Tvmaze__V1__ListChangesResponse *reply = arena_alloc(a, sizeof *reply);
  tvmaze__v1__list_changes_response__init(reply);
  int rows = PQntuples(r);
  reply->next_after_version = q->after_version;
  if (rows > 0) {
    reply->current_version = store_read_int(r, 0, 0);
    *floor = store_read_int(r, 0, 1);
  }
  if (rows > 0 && !PQgetisnull(r, 0, 2)) {
    reply->changes = arena_calloc(a, (size_t)rows, sizeof *reply->changes);
    for (int i = 0; i < rows; i++) {
      reply->changes[reply->n_changes++] = change_from_row_(a, r, i);
    }
    reply->next_after_version = reply->changes[reply->n_changes - 1]->version;
  }
  PQclear(r);
  *out = reply;
  return STORE_OK;
}

enum store_status store_changes_prune(struct store *s, int keep_days, int64_t *pruned) {
  *pruned = 0;
  char days[16];
  snprintf(days, sizeof days, "%d", keep_days);
  const char *v[1] = {days};
  enum store_status st;
  PGresult *r = store_exec(s, "changes_prune", "SELECT changes_prune($1::int)", 1, v, &st);
  if (r == NULL) {
    return st;
  }
  if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
    *pruned = store_read_int(r, 0, 0);
  }
  PQclear(r);
  return STORE_OK;
}
