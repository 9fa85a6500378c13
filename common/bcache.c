/*
 * bcache: bounded, set-associative key -> value cache with expiry and a
 * cost budget. See bcache.h. Not thread-safe (the owner locks).
 * Tests: tests/unit/test_bcache.c.
 */
#include "bcache.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "xalloc.h"

struct slot {
  unsigned char *key; /* owned copy; NULL: empty slot */
  size_t keylen;
  uint64_t hash;   /* FNV-1a 64 of the key */
  int64_t expires; /* live while now < expires */
  size_t cost;
  void *value; /* owned (free_value) */
};

struct bcache {
  struct bcache_config cfg;
  size_t nsets;       /* cfg.slots / cfg.ways */
  struct slot *slots; /* cfg.slots, set s at [s * ways, (s + 1) * ways) */
  size_t cost;        /* sum of the held entries' costs */
  size_t count;       /* held entries */
};

struct bcache *bcache_create(const struct bcache_config *cfg) {
  if (cfg->slots == 0 || cfg->ways == 0 || cfg->slots % cfg->ways != 0) {
    fprintf(stderr, "bcache_create: bad geometry (%zu slots, %u ways)\n", cfg->slots, cfg->ways);
    abort();
  }
  struct bcache *c = xcalloc(1, sizeof *c);
  c->cfg = *cfg;
  c->nsets = cfg->slots / cfg->ways;
  c->slots = xcalloc(cfg->slots, sizeof *c->slots);
  return c;
}

/* Empties s (frees its key and value). */
static void drop_(struct bcache *c, struct slot *s) {
  if (!s->key)
    return;
  c->cost -= s->cost;
  c->count--;
  free(s->key);
  void *value = s->value;
  memset(s, 0, sizeof *s);
  if (c->cfg.free_value)
    c->cfg.free_value(value, c->cfg.cls);
}

void bcache_clear(struct bcache *c) {
  for (size_t i = 0; i < c->cfg.slots; i++)
    drop_(c, &c->slots[i]);
  assert(c->count == 0 && c->cost == 0);
}

void bcache_destroy(struct bcache *c) {
  if (!c)
    return;
  bcache_clear(c);
  free(c->slots);
  free(c);
}

static struct slot *set_of_(struct bcache *c, uint64_t h) {
  return &c->slots[(h % c->nsets) * c->cfg.ways];
}

static int same_(const struct slot *s, uint64_t h, const void *key, size_t keylen) {
  return s->key && s->hash == h && s->keylen == keylen && memcmp(s->key, key, keylen) == 0;
}

/* key's slot in its set, or NULL. */
static struct slot *find_(struct bcache *c, uint64_t h, const void *key, size_t keylen) {
  struct slot *set = set_of_(c, h);
  for (unsigned i = 0; i < c->cfg.ways; i++)
    if (same_(&set[i], h, key, keylen))
      return &set[i];
  return NULL;
}

void *bcache_get(struct bcache *c, const void *key, size_t keylen, int64_t now) {
  uint64_t h = hash_fnv1a64(key, keylen);
  struct slot *s = find_(c, h, key, keylen);
  if (!s)
    return NULL;
  if (now >= s->expires) {
    drop_(c, s);
    return NULL;
  }
  return s->value;
}

/* The slot a new entry for (h, key) takes: its own, else an empty, else an
 * expired one, else the one expiring first. */
static struct slot *victim_(struct bcache *c, uint64_t h, const void *key, size_t keylen,
                            int64_t now) {
  struct slot *own = find_(c, h, key, keylen);
  if (own)
    return own;
  struct slot *set = set_of_(c, h), *v = set; /* ways >= 1 (bcache_create) */
  for (unsigned i = 0; i < c->cfg.ways; i++) {
    struct slot *s = &set[i];
    if (!s->key)
      return s;
    int s_dead = now >= s->expires;
    int v_dead = now >= v->expires;
    if ((s_dead && !v_dead) || (s_dead == v_dead && s->expires < v->expires))
      v = s;
  }
  return v;
}

int bcache_put(struct bcache *c, const void *key, size_t keylen, void *value, size_t cost,
               int64_t expires, int64_t now) {
  size_t max = c->cfg.max_cost;
  if (max > 0 && cost > max) { /* never fits: only key's old entry goes */
    bcache_remove(c, key, keylen);
    if (c->cfg.free_value)
      c->cfg.free_value(value, c->cfg.cls);
    return -1;
  }
  uint64_t h = hash_fnv1a64(key, keylen);
  struct slot *s = victim_(c, h, key, keylen, now);
  drop_(c, s);
  if (max > 0 && c->cost + cost > max) {
    if (c->cfg.full == BCACHE_FULL_EVICT) {
      /* going round from the slot after this one: their keys hash
       * anywhere, so this approximates random eviction */
      size_t at = (size_t)(s - c->slots);
      for (size_t i = 1; i < c->cfg.slots && c->cost + cost > max; i++)
        drop_(c, &c->slots[(at + i) % c->cfg.slots]);
    }
    if (c->cost + cost > max) {
      if (c->cfg.free_value)
        c->cfg.free_value(value, c->cfg.cls);
      return -1;
    }
  }
  s->key = xmalloc(keylen ? keylen : 1);
  memcpy(s->key, key, keylen);
  s->keylen = keylen;
  s->hash = h;
  s->expires = expires;
  s->cost = cost;
  s->value = value;
  c->cost += cost;
  c->count++;
  return 0;
}

void bcache_remove(struct bcache *c, const void *key, size_t keylen) {
  struct slot *s = find_(c, hash_fnv1a64(key, keylen), key, keylen);
  if (s)
    drop_(c, s);
}

size_t bcache_cost(const struct bcache *c) {
  return c->cost;
}

size_t bcache_count(const struct bcache *c) {
  return c->count;
}
