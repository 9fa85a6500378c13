/*
 * u64map: see u64map.h.
 */
#include "u64map.h"

#include <stdlib.h>

#include "xalloc.h"

static size_t slot_(const struct u64map *m, uint64_t key) {
  uint64_t h = key * 0x9E3779B97F4A7C15ull; /* Fibonacci hashing */
  size_t i = (size_t)(h >> 20) & (m->cap - 1);
  while (m->keys[i] != 0 && m->keys[i] != key) {
    i = (i + 1) & (m->cap - 1);
  }
  return i;
}

uint64_t u64map_get(const struct u64map *m, uint64_t key) {
  if (m->cap == 0) {
    return 0;
  }
  size_t i = slot_(m, key);
  return m->keys[i] == key ? m->vals[i] : 0;
}

void u64map_put(struct u64map *m, uint64_t key, uint64_t val) {
  if (2 * (m->n + 1) > m->cap) {
    struct u64map old = *m;
    m->cap = old.cap ? 2 * old.cap : 64;
    m->n = 0;
    m->keys = xcalloc(m->cap, sizeof *m->keys);
    m->vals = xcalloc(m->cap, sizeof *m->vals);
    for (size_t i = 0; i < old.cap; i++) {
      if (old.keys[i] != 0) {
        u64map_put(m, old.keys[i], old.vals[i]);
      }
    }
    u64map_release(&old);
  }
  size_t i = slot_(m, key);
  if (m->keys[i] == 0) {
    m->keys[i] = key;
    m->n++;
  }
  m->vals[i] = val;
}

void u64map_release(struct u64map *m) {
  free(m->keys);
  free(m->vals);
  *m = (struct u64map){0};
}
