/*
 * show_airing: GetShow's next_episode and previous_episode (API.md), from
 * the show's stored episodes, and how long such a reply stays true.
 *
 *   next_episode      the episode with the earliest airstamp after now
 *                     (ties: the lowest id)
 *   previous_episode  the one with the latest airstamp at or before now
 *                     (ties: the highest id)
 *
 * Episodes without an airstamp are neither. Both are deep copies, allocated
 * like the rest of the reply (the arena, or the heap when there is none), so
 * the reply packs, and frees, as any other.
 * Tests: tests/unit/test_show_airing.c; tests/integration/test_query_shows.c
 * (through query_get_show, with the cache).
 */
#ifndef TVMAZE_SERVER_SHOW_AIRING_H
#define TVMAZE_SERVER_SHOW_AIRING_H

#include <stdint.h>

#include "tvmaze/v1/shows.pb-c.h"

struct arena;

/* Sets r->next_episode and r->previous_episode from r->show's episodes as
 * seen at now_s (Unix seconds); a or NULL as above. */
void show_airing_set(Tvmaze__V1__GetShowResponse *r, struct arena *a, int64_t now_s);

/* How many seconds r stays true after now_s, at most max_s and at least 1:
 * until its next episode airs (then both move). */
int show_airing_ttl(const Tvmaze__V1__GetShowResponse *r, int64_t now_s, int max_s);

#endif
