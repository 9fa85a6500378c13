/*
 * clock: the one monotonic clock of the programs, for timeouts, backoff,
 * TTLs and durations (never for wall-clock timestamps: those are
 * CLOCK_REALTIME, taken where they are written). Thread-safe; no state.
 */
#ifndef TVMAZE_CLOCK_H
#define TVMAZE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds of CLOCK_MONOTONIC (an arbitrary origin, never going back). */
static inline int64_t clock_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Microseconds of CLOCK_MONOTONIC. */
static inline int64_t clock_mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
