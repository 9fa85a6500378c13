/*
 * server_trace: the SERVER span of each tvmaze.v1 call, hung on the
 * binding's observer (struct rpc_call_report in rpc/rpc.h), so that rpc/
 * knows nothing of OpenTelemetry:
 *
 *   event     what happens (only while the tracer exports)
 *   STARTED   the call's `traceparent` metadata is the remote parent
 *             (parent-based sampling; none or malformed: the sampler
 *             decides); a span "tvmaze.v1.Shows/ListShows" is started with
 *             rpc.system, rpc.service, rpc.method and kept in the call's
 *             slot; unary: it becomes the thread's current span
 *             (otel_current.h: SQL and cache spans hang under it) and its
 *             ids go into the thread's log lines (log_trace_set)
 *   FINISHED  rpc.grpc.status_code set, ERROR status for the server-error
 *             codes (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
 *             UNAVAILABLE, DATA_LOSS), the span ended; unary: the current
 *             span and the log ids cleared
 *
 * A stream's span lasts the stream's life and is not made current (its
 * FINISHED may come on another thread). With no endpoint set the observer
 * returns at once: no metadata lookup, no parsing, no allocation.
 * Tests: tests/integration/test_server_otel.sh.
 */
#ifndef TVMAZE_SERVER_TRACE_H
#define TVMAZE_SERVER_TRACE_H

#include "otel_tracer.h"
#include "rpc.h"

/* Handles one observer report with tracer t (NULL: nothing). Called on the
 * call's worker thread (rpc_call_observer's rules); thread-safe. */
void server_trace_observe(const struct rpc_call_report *r, struct otel_tracer *t);

/* 1 when code is a server error for a gRPC SERVER span (OpenTelemetry's
 * RPC semantic conventions). Pure. */
int server_trace_is_error(rpc_code code);

#endif
