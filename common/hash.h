/*
 * hash: FNV-1a, the one non-cryptographic hash of the code base (table
 * slots, response ETags, change detection). Not for anything an attacker
 * must not steer: SHA-256 (OpenSSL) is used where that matters.
 */
#ifndef TVMAZE_COMMON_HASH_H
#define TVMAZE_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A64_OFFSET 14695981039346656037ULL
#define HASH_FNV1A64_PRIME 1099511628211ULL

/* One byte folded into a running 64-bit hash (start: HASH_FNV1A64_OFFSET). */
static inline uint64_t hash_fnv1a64_step(uint64_t h, unsigned char c) {
  return (h ^ c) * HASH_FNV1A64_PRIME;
}

/* 64-bit FNV-1a of p[0..n). */
static inline uint64_t hash_fnv1a64(const void *p, size_t n) {
  const unsigned char *b = p;
  uint64_t h = HASH_FNV1A64_OFFSET;
  for (size_t i = 0; i < n; i++) {
    h = hash_fnv1a64_step(h, b[i]);
  }
  return h;
}

/* 32-bit FNV-1a of a NUL-terminated string (small table slots). */
static inline uint32_t hash_fnv1a32_str(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) {
    h = (h ^ (unsigned char)*s) * 16777619u;
  }
  return h;
}

#endif
