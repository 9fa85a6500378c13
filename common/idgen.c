/*
 * idgen: splitmix64 streams for ids. See idgen.h.
 */
#include "idgen.h"

#include <sys/random.h>
#include <time.h>

#define GOLDEN 0x9e3779b97f4a7c15ULL

static uint64_t mix_(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void idgen_init(struct idgen *g) {
  uint64_t seed;
  if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    seed = (uint64_t)t.tv_sec * 1000000007u ^ (uint64_t)t.tv_nsec ^ (uintptr_t)&t;
  }
  atomic_init(&g->state, seed);
}

struct idstream idgen_stream(struct idgen *g) {
  uint64_t s = atomic_fetch_add_explicit(&g->state, GOLDEN, memory_order_relaxed);
  return (struct idstream){mix_(s + GOLDEN)};
}

uint64_t idstream_next(struct idstream *st) {
  return mix_(st->s += GOLDEN);
}

void idstream_bytes(struct idstream *st, uint8_t *out, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (i % 8 == 0)
      v = idstream_next(st);
    out[i] = (uint8_t)(v >> (i % 8 * 8));
  }
}

void idstream_hex(struct idstream *st, char *out, size_t nbytes) {
  static const char hex[] = "0123456789abcdef";
  uint64_t v = 0;
  for (size_t i = 0; i < nbytes; i++) {
    if (i % 8 == 0)
      v = idstream_next(st);
    unsigned char c = (unsigned char)(v >> (i % 8 * 8));
    out[2 * i] = hex[c >> 4];
    out[2 * i + 1] = hex[c & 15];
  }
  out[2 * nbytes] = '\0';
}
