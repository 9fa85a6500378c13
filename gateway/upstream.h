/*
 * upstream: the gateway's client side of the binding. One channel to
 * TVMAZE_GRPC_TARGET and one ProtobufCService per service descriptor (the
 * routes' services, Auth and Health), created with the handle and
 * read-only after, so calls from any worker thread share them. Every call
 * is a CLIENT span, child of the request's (rpc.system, rpc.service,
 * rpc.method, rpc.grpc.status_code; recorded when sampled), and carries
 * x-request-id and that span's traceparent as metadata, so the server's
 * span is its child, and the configured deadline, cut short by the
 * request's own deadline (time queued for a worker counts). Every call
 * carries a key (the server checks every tvmaze.v1 call): as x-api-key the
 * caller's key on behalf of an API-key caller (trace->on_behalf), else the
 * gateway's own TVMAZE_API_KEY (HTTP Basic callers, the gateway's own calls,
 * Auth/CheckApiKey); and the gateway's key as x-tvmaze-relay-key, which
 * tells the server that the gateway limits these calls itself (per IP, per
 * key), so the server checks key and scope but does not count them again
 * (server/auth/auth_gate.h). One handle per gateway, owned by the daemon.
 *
 * Thread safety: every function but create/destroy is thread-safe. Calls
 * block (one gRPC call): make them on an upstream worker (workers.h) or a
 * thread of one's own (runstats.h), never on an MHD thread.
 */
#ifndef TVMAZE_GATEWAY_UPSTREAM_H
#define TVMAZE_GATEWAY_UPSTREAM_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "rpc.h"
#include "trace.h"

struct gw_upstream;

/* The channel (it connects lazily; TLS with tls non-NULL, see
 * rpc_channel_create_tls) and the client services. target and api_key
 * (NULL: calls carry no key of the gateway's) are copied, tls's files read
 * here; tracer is borrowed and must outlive the handle. NULL with a message
 * in err when the TLS files fail their check. */
struct gw_upstream *gw_upstream_create(const char *target, const struct rpc_tls_files *tls,
                                       const char *api_key, long timeout_ms,
                                       struct otel_tracer *tracer, char *err, size_t errlen);
/* Frees the services and the channel (NULL: no-op); no call may be in
 * flight. */
void gw_upstream_destroy(struct gw_upstream *up);

/* Calls method `index` of the service of desc with req; ctx is filled (the
 * caller releases it with rpc_client_ctx_release). Blocks up to the
 * configured timeout, less when trace->deadline_ms comes first; past it,
 * DEADLINE_EXCEEDED without a call. A service the handle does not hold is
 * UNAVAILABLE. */
void gw_upstream_call(struct gw_upstream *up, const ProtobufCServiceDescriptor *desc,
                      unsigned index, const ProtobufCMessage *req, const struct gw_trace *trace,
                      struct rpc_client_ctx *ctx);
/* The same with a deadline of at most timeout_ms. */
void gw_upstream_call_within(struct gw_upstream *up, const ProtobufCServiceDescriptor *desc,
                             unsigned index, const ProtobufCMessage *req,
                             const struct gw_trace *trace, long timeout_ms,
                             struct rpc_client_ctx *ctx);

/* Opens a server-streaming call of method_path ("/tvmaze.v1.Changes/
 * WatchChanges") with req, carrying trace's metadata and no deadline;
 * replies unpack with reply_desc (static). Never NULL (a call that cannot
 * start reports its status from rpc_client_stream_next); the caller reads
 * it from one thread and closes it with rpc_client_stream_close. */
rpc_client_stream *gw_upstream_stream_open(struct gw_upstream *up, const char *method_path,
                                           const ProtobufCMessage *req,
                                           const ProtobufCMessageDescriptor *reply_desc,
                                           const struct gw_trace *trace);

/* The tracer the handle was created with. */
struct otel_tracer *gw_upstream_tracer(struct gw_upstream *up);

/* Ends the channel's reconnect backoff (rpc_channel_reset_backoff): a
 * lost connection is retried now. Thread-safe. */
void gw_upstream_reconnect(struct gw_upstream *up);

/* Health/Check on the server (2 s at most): RPC_OK and *serving set, or
 * the failure code; msg gets the server's message. */
rpc_code gw_upstream_health(struct gw_upstream *up, const struct gw_trace *trace, int *serving,
                            char *msg, size_t msglen);

#endif
