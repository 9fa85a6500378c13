/*
 * u64map: a map from nonzero 64-bit keys to 64-bit values, open addressing
 * with linear probing (load at most 1/2). A zeroed struct is an empty map.
 * Keys are never removed (store 0 as a value for "forgotten"). Iterate with
 * keys[i] != 0 for i < cap. Not thread-safe.
 */
#ifndef TVMAZE_U64MAP_H
#define TVMAZE_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64map {
  uint64_t *keys; /* 0: empty slot */
  uint64_t *vals;
  size_t cap; /* 0 or a power of two */
  size_t n;   /* used slots */
};

/* The value of key (nonzero), 0 if absent. */
uint64_t u64map_get(const struct u64map *m, uint64_t key);
/* Sets key (nonzero) to val. */
void u64map_put(struct u64map *m, uint64_t key, uint64_t val);
/* Frees the map; it is empty and reusable after. */
void u64map_release(struct u64map *m);

#endif
