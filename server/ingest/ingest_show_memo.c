/*
 * ingest_show_memo: see ingest_show_memo.h. A chained hash table of
 * entries (digest, rows) in the memo's arena; the table doubles when it
 * holds more entries than slots.
 */
#include "ingest_show_memo.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "sha256.h"
#include "xalloc.h"

_Static_assert(sizeof(((struct ingest_show_key *)0)->digest) == SHA256_LEN, "key digest size");

struct entry_ {
  struct entry_ *next;
  uint64_t hash;
  size_t len;
  unsigned char digest[SHA256_LEN]; /* of the show object's JSON text */
  struct ingest_show_rows rows;
};

struct ingest_show_memo {
  struct arena a; /* entries and their rows' strings */
  struct entry_ **slots;
  size_t n_slots; /* a power of two */
  size_t max_bytes;
  struct ingest_show_memo_stats stats;
};

struct ingest_show_memo *ingest_show_memo_create(size_t max_bytes) {
  struct ingest_show_memo *m = xcalloc(1, sizeof *m);
  arena_init(&m->a, (size_t)256 << 10);
  m->n_slots = 1024;
  m->slots = xcalloc(m->n_slots, sizeof *m->slots);
  m->max_bytes = max_bytes;
  m->stats.bytes = m->n_slots * sizeof *m->slots;
  return m;
}

void ingest_show_memo_destroy(struct ingest_show_memo *m) {
  if (m == NULL) {
    return;
  }
  arena_release(&m->a);
  free(m->slots);
  free(m);
}

struct ingest_show_memo_stats ingest_show_memo_stats(const struct ingest_show_memo *m) {
  struct ingest_show_memo_stats none = {0};
  return m != NULL ? m->stats : none;
}

struct ingest_show_key ingest_show_key_of(const char *p, size_t len) {
  uint64_t h = HASH_FNV1A64_OFFSET;
  for (size_t i = 0; i < sizeof len; i++) {
    h = hash_fnv1a64_step(h, (unsigned char)(len >> (8 * i)));
  }
  size_t head = len < 128 ? len : 64;
  for (size_t i = 0; i < head; i++) {
    h = hash_fnv1a64_step(h, (unsigned char)p[i]);
  }
  for (size_t i = len - 64 > head ? len - 64 : head; i < len; i++) {
    h = hash_fnv1a64_step(h, (unsigned char)p[i]);
  }
  return (struct ingest_show_key){.p = p, .len = len, .hash = h};
}

/* k's SHA-256, computed on first use. */
static const unsigned char *digest_(struct ingest_show_key *k) {
  if (!k->has_digest) {
    sha256(k->p, k->len, k->digest);
    k->has_digest = 1;
  }
  return k->digest;
}

const struct ingest_show_rows *ingest_show_memo_find(const struct ingest_show_memo *m,
                                                     struct ingest_show_key *k) {
  if (m == NULL) {
    return NULL;
  }
  for (struct entry_ *e = m->slots[k->hash & (m->n_slots - 1)]; e != NULL; e = e->next) {
    if (e->hash == k->hash && e->len == k->len &&
        memcmp(e->digest, digest_(k), sizeof e->digest) == 0) {
      return &e->rows;
    }
  }
  return NULL;
}

/* The normalized strings of a show object are at most about three times
 * its bytes (U+FFFD for a bad byte). */
struct arena *ingest_show_memo_room(struct ingest_show_memo *m, const struct ingest_show_key *k) {
  if (m == NULL || m->stats.bytes + sizeof(struct entry_) + 3 * k->len + 1024 > m->max_bytes) {
    return NULL;
  }
  return &m->a;
}

static void grow_(struct ingest_show_memo *m) {
  size_t n = m->n_slots * 2;
  struct entry_ **slots = xcalloc(n, sizeof *slots);
  for (size_t i = 0; i < m->n_slots; i++) {
    for (struct entry_ *e = m->slots[i], *next; e != NULL; e = next) {
      next = e->next;
      e->next = slots[e->hash & (n - 1)];
      slots[e->hash & (n - 1)] = e;
    }
  }
  free(m->slots);
  m->slots = slots;
  m->n_slots = n;
}

const struct ingest_show_rows *ingest_show_memo_add(struct ingest_show_memo *m,
                                                    struct ingest_show_key *k,
                                                    const struct ingest_show_rows *rows) {
  struct entry_ **slot = &m->slots[k->hash & (m->n_slots - 1)];
  size_t chain = 0;
  for (struct entry_ *e = *slot; e != NULL; e = e->next) {
    chain++;
  }
  if (chain >= INGEST_SHOW_MEMO_CHAIN) {
    return NULL;
  }
  struct entry_ *e = arena_alloc(&m->a, sizeof *e);
  *e = (struct entry_){.next = *slot, .hash = k->hash, .len = k->len, .rows = *rows};
  memcpy(e->digest, digest_(k), sizeof e->digest);
  *slot = e;
  m->stats.shows++;
  if (m->stats.shows > m->n_slots) {
    grow_(m);
  }
  m->stats.bytes = arena_held(&m->a) + m->n_slots * sizeof *m->slots;
  return &e->rows;
}

void ingest_show_memo_count_hits(struct ingest_show_memo *m, size_t n) {
  if (m != NULL) {
    m->stats.hits += n;
  }
}
