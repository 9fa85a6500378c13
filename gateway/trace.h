/*
 * trace: the identity a request carries upstream (x-request-id, W3C
 * traceparent) and its deadline, and the generator of the random ids.
 * Used by the request pipeline (one identity per HTTP request) and by the
 * gateway's own calls (runstats.c), so neither depends on the other.
 *
 * Ids must be unique and hard to collide, not secret: splitmix64 over a
 * state seeded once from getrandom. A generator is shared by the threads
 * of its owner (the pipeline's MHD threads): each identity takes one
 * atomic step of the shared state and draws its ids from a private stream
 * seeded by it (a getrandom syscall per id cost ~2 % of the warm path).
 */
#ifndef TVMAZE_GATEWAY_TRACE_H
#define TVMAZE_GATEWAY_TRACE_H

#include <stdatomic.h>
#include <stdint.h>

/* A generator of ids, embedded in its owner (no destroy). Thread-safe
 * after gw_idgen_init. */
struct gw_idgen {
  _Atomic uint64_t state; /* splitmix64 state; atomic (no lock) */
};

/* Seeds g from getrandom (the clock if that fails). */
void gw_idgen_init(struct gw_idgen *g);

/* Per-request trace identity passed as gRPC metadata, and the request's
 * deadline: time spent waiting for a worker counts against it. */
struct gw_trace {
  char request_id[129]; /* x-request-id */
  char traceparent[56]; /* W3C: 00-<32>-<16>-01 */
  int64_t deadline_ms;  /* clock_mono_ms() by which calls must end; 0: none */
};

/* Fills t for an incoming request: xrid kept when it is 1..128 of
 * [A-Za-z0-9._:-] (else 32 random hex digits); traceparent's trace id kept
 * when well-formed (else the request id when it is 32 hex digits, else
 * random) with a new span. Either header may be NULL. deadline_ms = 0. */
void gw_trace_init(struct gw_idgen *g, struct gw_trace *t, const char *xrid,
                   const char *traceparent);

/* A fresh identity (random request id, new trace) for calls the gateway
 * makes on its own. */
void gw_trace_new(struct gw_idgen *g, struct gw_trace *t);

#endif
