/*
 * hash: the non-cryptographic hashes of the code base: FNV-1a (table slots,
 * response ETags) and a word-at-a-time fold for change detection over long
 * strings (the ingest's row hashes). Not for anything an attacker must not
 * steer: SHA-256 (OpenSSL) is used where that matters.
 */
#ifndef TVMAZE_COMMON_HASH_H
#define TVMAZE_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

#define HASH_FOLD64_K 0x9E3779B97F4A7C15ULL

/* One 64-bit word folded into h: (h ^ w) * K, then the high half xored
 * into the low. For a fixed h this is a bijection of w, so two inputs that
 * differ in one word never collide. */
static inline uint64_t hash_fold64_word(uint64_t h, uint64_t w) {
  h = (h ^ w) * HASH_FOLD64_K;
  return h ^ (h >> 32);
}

/* p[0..n) folded into h eight bytes per step (native byte order: for
 * in-process use only), the last step with n: about five times faster than
 * FNV-1a byte by byte on long strings. */
static inline uint64_t hash_fold64(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  size_t left = n;
  for (; left >= 8; b += 8, left -= 8) {
    uint64_t w;
    memcpy(&w, b, 8);
    h = hash_fold64_word(h, w);
  }
  uint64_t w = 0;
  memcpy(&w, b, left);
  return hash_fold64_word(hash_fold64_word(h, w), (uint64_t)n);
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
