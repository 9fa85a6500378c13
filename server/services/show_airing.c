/*
 * show_airing: next and previous episode of a GetShow reply. See
 * show_airing.h.
 */
#include "show_airing.h"

#include <stdlib.h>

#include "arena.h"
#include "xalloc.h"

static void *pb_alloc_(void *data, size_t n) {
  return arena_alloc(data, n);
}

static void pb_free_(void *data, void *p) {
  (void)data;
  (void)p; /* freed with the arena */
}

/* A deep copy of e, allocated in a (or on the heap when a is NULL). */
static Tvmaze__V1__Episode *copy_(const Tvmaze__V1__Episode *e, struct arena *a) {
  size_t n = tvmaze__v1__episode__get_packed_size(e);
  uint8_t *buf = xmalloc(n ? n : 1);
  tvmaze__v1__episode__pack(e, buf);
  ProtobufCAllocator pa = {pb_alloc_, pb_free_, a};
  Tvmaze__V1__Episode *c = tvmaze__v1__episode__unpack(a != NULL ? &pa : NULL, n, buf);
  free(buf);
  if (c == NULL)
    abort(); /* our own bytes, just packed: out of memory */
  return c;
}

/* -1, 0, 1 as (airstamp, id) of x is before, equal to, after y's. */
static int order_(const Tvmaze__V1__Episode *x, const Tvmaze__V1__Episode *y) {
  const Google__Protobuf__Timestamp *a = x->airstamp, *b = y->airstamp;
  if (a->seconds != b->seconds)
    return a->seconds < b->seconds ? -1 : 1;
  if (a->nanos != b->nanos)
    return a->nanos < b->nanos ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

void show_airing_set(Tvmaze__V1__GetShowResponse *r, struct arena *a, int64_t now_s) {
  const Tvmaze__V1__Episode *next = NULL, *prev = NULL;
  r->next_episode = r->previous_episode = NULL;
  if (r->show == NULL)
    return;
  for (size_t i = 0; i < r->show->n_episodes; i++) {
    const Tvmaze__V1__Episode *e = r->show->episodes[i];
    if (e->airstamp == NULL)
      continue;
    if (e->airstamp->seconds > now_s) {
      if (next == NULL || order_(e, next) < 0)
        next = e;
    } else if (prev == NULL || order_(e, prev) > 0) {
      prev = e;
    }
  }
  if (next != NULL)
    r->next_episode = copy_(next, a);
  if (prev != NULL)
    r->previous_episode = copy_(prev, a);
}

int show_airing_ttl(const Tvmaze__V1__GetShowResponse *r, int64_t now_s, int max_s) {
  if (r->next_episode == NULL || r->next_episode->airstamp == NULL)
    return max_s;
  int64_t left = r->next_episode->airstamp->seconds - now_s;
  return left >= max_s ? max_s : left < 1 ? 1 : (int)left;
}
