/*
 * health: the server's health as /up reports it, refreshed in the
 * background. A thread of its own makes one grpc.health.v1 Health/Check
 * call (2 s deadline) every interval and keeps the answer; /up reads it
 * without blocking. So /up costs no gRPC call and no upstream worker
 * however often it is asked (a wrk flood on /up made 83 % of replies 503
 * and starved the API when each /up was a call), and the server sees at
 * most one probe per interval from each gateway process.
 *
 *   | last probe                        | /up                              |
 *   |-----------------------------------|----------------------------------|
 *   | SERVING, within the stale limit   | 200 {"status":"ok",...}          |
 *   | NOT_SERVING or a gRPC error       | 503 with the status and message  |
 *   | none yet, or older than the limit | 503 "UNKNOWN" (probe stuck)      |
 *
 * The stale limit is 2 intervals + the probe's 2 s deadline. After a
 * failed probe the next one first ends the channel's reconnect backoff
 * (gw_upstream_reconnect), so while the server is away each probe is also
 * a connect attempt, besides the channel's own retries (at most 500 ms
 * apart, rpc.h): REST calls are back within 1 s of the server
 * (test_gateway_reconnect.sh).
 * Thread safety: one mutex guards the state; the call runs without it.
 * Tests: tests/integration/test_gateway_hostile.sh (/up flood: probe count),
 * test_gateway_http.sh and test_gateway_pgdown.sh (503 and back).
 */
#ifndef TVMAZE_GATEWAY_HEALTH_H
#define TVMAZE_GATEWAY_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "rpc.h"

struct gw_upstream;
struct gw_metrics;
struct gw_health;

/* The last probe's outcome, as copied out by gw_health_get. */
struct gw_health_state {
  int known;     /* a probe answered within the stale limit */
  rpc_code code; /* the call's status (RPC_OK: the server answered) */
  int serving;   /* the server said SERVING */
  char msg[256]; /* the call's message, "" when none */
};

/* Starts the probe thread (first probe at once). up and m are borrowed and
 * must outlive the handle. interval_ms > 0. Returns NULL with err set
 * (errlen bytes) if the thread cannot start. */
struct gw_health *gw_health_start(struct gw_upstream *up, struct gw_metrics *m, long interval_ms,
                                  char *err, size_t errlen);

/* Stops the thread (waits for a probe in flight, at most its deadline).
 * Accepts NULL. */
void gw_health_stop(struct gw_health *h);

/* Copies the current state into *out. Never blocks on the network;
 * thread-safe. */
void gw_health_get(struct gw_health *h, struct gw_health_state *out);

#endif
