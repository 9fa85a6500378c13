/*
 * idgen: a generator of random ids (request ids, trace and span ids) that
 * must be unique and hard to collide, not secret: splitmix64 over a state
 * seeded once from getrandom. A generator is shared by the threads of its
 * owner: each use takes one atomic step of the shared state and draws its
 * ids from a private stream seeded by it (a getrandom syscall per id cost
 * ~2 % of the gateway's warm path). Tests: tests/unit/test_trace.c,
 * tests/unit/test_otel.c.
 */
#ifndef TVMAZE_COMMON_IDGEN_H
#define TVMAZE_COMMON_IDGEN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* A generator, embedded in its owner (no destroy). Thread-safe after
 * idgen_init. */
struct idgen {
  _Atomic uint64_t state; /* splitmix64 state; atomic (no lock) */
};

/* One user's private stream (not shared between threads). */
struct idstream {
  uint64_t s;
};

/* Seeds g from getrandom (the clock if that fails). */
void idgen_init(struct idgen *g);

/* A private stream seeded by one atomic step of g. */
struct idstream idgen_stream(struct idgen *g);

/* The stream's next 64 random bits. */
uint64_t idstream_next(struct idstream *st);

/* Fills out[0..n) with random bytes. */
void idstream_bytes(struct idstream *st, uint8_t *out, size_t n);

/* Writes 2 * nbytes random lowercase hex digits and a NUL to out. */
void idstream_hex(struct idstream *st, char *out, size_t nbytes);

#endif
