/*
 * u32set: see u32set.h.
 */
#include "u32set.h"

#include <stdlib.h>

#include "xalloc.h"

static size_t slot_(const struct u32set *s, uint32_t key) {
  uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull; /* Fibonacci hashing */
  size_t i = (size_t)(h >> 20) & (s->cap - 1);
  while (s->keys[i] != 0 && s->keys[i] != key) {
    i = (i + 1) & (s->cap - 1);
  }
  return i;
}

int u32set_has(const struct u32set *s, uint32_t key) {
  return s->cap != 0 && s->keys[slot_(s, key)] == key;
}

void u32set_add(struct u32set *s, uint32_t key) {
  if (2 * (s->n + 1) > s->cap) {
    struct u32set old = *s;
    s->cap = old.cap ? 2 * old.cap : 64;
    s->n = 0;
    s->keys = xcalloc(s->cap, sizeof *s->keys);
    for (size_t i = 0; i < old.cap; i++) {
      if (old.keys[i] != 0) {
        s->keys[slot_(s, old.keys[i])] = old.keys[i];
        s->n++;
      }
    }
    u32set_release(&old);
  }
  size_t i = slot_(s, key);
  if (s->keys[i] == 0) {
    s->keys[i] = key;
    s->n++;
  }
}

void u32set_release(struct u32set *s) {
  free(s->keys);
  *s = (struct u32set){0};
}
