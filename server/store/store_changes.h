/*
 * store_changes: the reads and the retention of the change log (migration
 * 010; API.md "Changes and versions"). The records are written by the
 * triggers and changes_commit() of the migration, in the writer's
 * transactions (store_ingest.h); this module only reads and prunes.
 *
 *   call                 statements
 *   store_changes_list   one: the page of records after a version (the
 *                        primary key, or changes_show_idx with show_ids),
 *                        with the data version and the floor read in the
 *                        same snapshot; one prepared variant per filter set
 *                        (show_ids, entity), no `$n IS NULL OR ..`
 *   store_changes_prune  SELECT changes_prune(days): one replica at a time
 *
 * Each record's entity after the change is decoded by store_map.h's one
 * mapping (the Shows reads' columns over jsonb_populate_record of the
 * stored image). Replies are built in arena a (NULL: the heap, free with
 * protobuf_c_message_free_unpacked(msg, NULL)). One owner thread per store.
 * Tests: tests/integration/test_changes.c.
 */
#ifndef TVMAZE_STORE_CHANGES_H
#define TVMAZE_STORE_CHANGES_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "tvmaze/v1/changes.pb-c.h"

#define STORE_CHANGES_MAX_SHOW_IDS 100
#define STORE_CHANGES_MAX_LIMIT 1000

/* A validated read (the service checks the ranges). */
struct store_changes_query {
  int64_t after_version;   /* records with a greater version */
  int32_t limit;           /* 1..STORE_CHANGES_MAX_LIMIT */
  const int32_t *show_ids; /* borrowed; n_show_ids 0: every show */
  size_t n_show_ids;       /* 0..STORE_CHANGES_MAX_SHOW_IDS */
  int entity;              /* tvmaze.v1.ChangeEntity; 0: both */
};

/* The records of q, oldest first, as a new reply in a: changes,
 * current_version (the data version) and next_after_version (the last
 * record's version, else q->after_version); *floor gets the highest pruned
 * version (0: none), read in the same snapshot. The caller decides what an
 * after_version outside [floor, current_version] means (the reply is built
 * anyway). On failure *out is NULL and the last error is set. */
enum store_status store_changes_list(struct store *s, struct arena *a,
                                     const struct store_changes_query *q,
                                     Tvmaze__V1__ListChangesResponse **out, int64_t *floor);

/* Deletes the records older than keep_days (>= 1) days and raises the
 * floor (changes_prune, migration 010). *pruned gets the new floor's
 * version, 0 when nothing was deleted or another replica is pruning. */
enum store_status store_changes_prune(struct store *s, int keep_days, int64_t *pruned);

#endif
