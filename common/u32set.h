/*
 * u32set: a set of nonzero 32-bit keys, open addressing with linear
 * probing (load at most 1/2): 8 bytes or less per key, a quarter of what
 * the same keys take in a u64map. A zeroed struct is an empty set. Keys
 * are never removed. Not thread-safe.
 */
#ifndef TVMAZE_U32SET_H
#define TVMAZE_U32SET_H

#include <stddef.h>
#include <stdint.h>

struct u32set {
  uint32_t *keys; /* 0: empty slot */
  size_t cap;     /* 0 or a power of two */
  size_t n;       /* keys held */
};

/* Whether key (nonzero) is in s. */
int u32set_has(const struct u32set *s, uint32_t key);
/* Adds key (nonzero). */
void u32set_add(struct u32set *s, uint32_t key);
/* Frees the set; it is empty and reusable after. */
void u32set_release(struct u32set *s);

#endif
