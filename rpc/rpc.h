/*
 * rpc: the gRPC binding for protobuf-c services -- the only module that
 * includes gRPC C core headers. Everything above it (server services, the
 * gateway, the CLI) speaks protobuf-c's ProtobufCService.
 *
 * Server half: rpc_server_add_service() registers a protoc-c service
 * implementation (e.g. Tvmaze__V1__Shows_Service). Each method becomes a
 * registered method "/tvmaze.v1.Shows/ListShows"; a request is unpacked with
 * the method's input descriptor and the handler runs on the worker thread that
 * accepted the call, with an `rpc_call *` as closure_data. A handler replies
 * in one of three ways, exactly once, before it returns (handlers are
 * synchronous):
 *
 *   static void list_shows(Tvmaze__V1__Shows_Service *svc,
 *                          const Tvmaze__V1__ListShowsRequest *req,
 *                          Tvmaze__V1__ListShowsResponse_Closure done, void *cd) {
 *     rpc_call *call = cd;
 *     if (bad) {                                   // 1. a status
 *       rpc_call_set_status(call, RPC_INVALID_ARGUMENT, "per_page: ...");
 *       done(NULL, cd);
 *     } else if (cached) {                         // 2. bytes already packed
 *       rpc_call_reply_packed(call, bytes, len, free);  // sent as they are
 *     } else {                                     // 3. a message
 *       Tvmaze__V1__ListShowsResponse reply = ...;
 *       done(&reply, cd);                          // packed before done() returns
 *     }
 *   }
 *
 * A message reply is packed inside the closure, so it may live on the
 * handler's stack. A packed reply is a message's encoding the handler already
 * holds (a cache hit): the binding checks its top level against the method's
 * output type and sends it without unpacking or packing it (without copying
 * it either when the handler hands it over with a release function). A NULL
 * reply sends the status set with rpc_call_set_status (UNKNOWN if none was
 * set); replies after the first are ignored; a handler that returns without
 * replying gets INTERNAL. A NULL handler slot answers UNIMPLEMENTED. Unknown
 * methods answer UNIMPLEMENTED at once. Requests or replies over
 * max_message_bytes answer RESOURCE_EXHAUSTED; request bytes that do not
 * unpack answer INVALID_ARGUMENT.
 *
 * The binding also serves grpc.health.v1.Health/Check (through the health
 * callback) and server reflection (grpc.reflection.v1 and v1alpha) from an
 * embedded descriptor set.
 *
 * Client half: rpc_client_service_create() returns a ProtobufCService whose
 * invoke makes a unary gRPC call, so protoc-c's generated stubs are the gRPC
 * client stubs. Pass a `struct rpc_client_ctx *` as the stubs' closure_data:
 *
 *   struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(5000);
 *   tvmaze__v1__shows__list_shows(svc, &req, rpc_client_keep_reply, &ctx);
 *   if (ctx.code != RPC_OK) fprintf(stderr, "%s: %s\n", rpc_code_name(ctx.code), ctx.message);
 *   else use((Tvmaze__V1__ListShowsResponse *)ctx.reply);
 *   rpc_client_ctx_release(&ctx);   // frees the kept reply
 *
 * Lifetime: rpc_init() once before anything else, rpc_cleanup() last.
 */
#ifndef TVMAZE_RPC_H
#define TVMAZE_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* gRPC status codes (same numbers as grpc_status_code). */
typedef enum {
  RPC_OK = 0,
  RPC_CANCELLED = 1,
  RPC_UNKNOWN = 2,
  RPC_INVALID_ARGUMENT = 3,
  RPC_DEADLINE_EXCEEDED = 4,
  RPC_NOT_FOUND = 5,
  RPC_ALREADY_EXISTS = 6,
  RPC_PERMISSION_DENIED = 7,
  RPC_RESOURCE_EXHAUSTED = 8,
  RPC_FAILED_PRECONDITION = 9,
  RPC_ABORTED = 10,
  RPC_OUT_OF_RANGE = 11,
  RPC_UNIMPLEMENTED = 12,
  RPC_INTERNAL = 13,
  RPC_UNAVAILABLE = 14,
  RPC_DATA_LOSS = 15,
  RPC_UNAUTHENTICATED = 16
} rpc_code;

/* "OK", "INVALID_ARGUMENT", ...; "UNKNOWN" for numbers out of range. */
const char *rpc_code_name(rpc_code code);

/* Process-wide start/stop of gRPC. rpc_init blocks SIGINT/SIGTERM/SIGPIPE in
 * the calling thread (call it from main before creating threads) so that
 * gRPC's own threads inherit the mask; rpc_server_run_until_signal waits for
 * them. rpc_cleanup after every server, channel and service is destroyed. */
void rpc_init(void);
void rpc_cleanup(void);

/* ===================================================================== */
/* Server half                                                           */
/* ===================================================================== */

typedef struct rpc_server rpc_server;
typedef struct rpc_call rpc_call;

/* Health states (grpc.health.v1.HealthCheckResponse.ServingStatus). */
typedef enum {
  RPC_HEALTH_UNKNOWN = 0,
  RPC_HEALTH_SERVING = 1,
  RPC_HEALTH_NOT_SERVING = 2,
  RPC_HEALTH_SERVICE_UNKNOWN = 3
} rpc_health_status;

/* Answers Health/Check for `service` ("" = the whole server). Called on a
 * worker thread; worker_data is that worker's data (see worker_init).
 * The binding answers SERVICE_UNKNOWN itself for names not registered. */
typedef rpc_health_status (*rpc_health_fn)(const char *service, void *worker_data, void *user);

/* What the observer hears of a unary call of a registered service (not
 * Health/Check, reflection or unknown methods): once when the worker accepts
 * it (RPC_CALL_STARTED) and once when its status is decided and the final
 * batch starts (RPC_CALL_FINISHED, with code and duration). */
enum rpc_call_event { RPC_CALL_STARTED, RPC_CALL_FINISHED };
struct rpc_call_report {
  enum rpc_call_event event;
  const ProtobufCServiceDescriptor *service; /* the registered service's descriptor */
  unsigned method_index;                     /* index in service->methods */
  rpc_code code;                             /* FINISHED: the status sent */
  int64_t duration_ns;                       /* FINISHED: acceptance to status */
  int worker_index;
  void *worker_data; /* that worker's worker_init result */
};

/* Called on the call's worker thread, inline on the unary path: keep it to a
 * few relaxed atomic adds (no locks, no allocation, no I/O). */
typedef void (*rpc_call_observer)(const struct rpc_call_report *report, void *user);

struct rpc_server_config {
  const char *addr;         /* "0.0.0.0:50051"; port 0 picks a free port */
  int workers;              /* worker threads, each with its own queue; <= 0: 2 */
  size_t max_message_bytes; /* request and reply limit; 0: 4 MiB */
  int grace_ms;             /* drain period on shutdown; <= 0: 10000 */
  /* Per-worker state (e.g. a database connection): worker_init runs on the
   * worker thread before it accepts calls; its result is rpc_call_worker_data
   * for every call on that worker; worker_fini runs on the same thread when it
   * stops. Either may be NULL. */
  void *(*worker_init)(int worker_index, void *user);
  void (*worker_fini)(void *worker_data, void *user);
  rpc_health_fn health;      /* NULL: always SERVING */
  rpc_call_observer observe; /* NULL: none (see struct rpc_call_report) */
  void *user;                /* passed to worker_init/fini, health and observe */
  /* Descriptor set (FileDescriptorSet bytes, with imports) for reflection;
   * NULL disables reflection. Must outlive the server. */
  const uint8_t *descriptor_set;
  size_t descriptor_set_len;
};

/* Creates a server bound to cfg->addr. Returns NULL and writes a message to
 * err (errlen bytes) on failure (bad address, port in use). cfg is copied. */
rpc_server *rpc_server_create(const struct rpc_server_config *cfg, char *err, size_t errlen);

/* Registers a protoc-c service implementation (not owned; must outlive the
 * server). Only before rpc_server_start. Returns 0, -1 if started or the
 * service name is already registered. */
int rpc_server_add_service(rpc_server *srv, ProtobufCService *service);

/* The port actually bound (useful with port 0). */
int rpc_server_port(const rpc_server *srv);

/* Starts the worker threads. Returns 0 or -1 (message in err). */
int rpc_server_start(rpc_server *srv, char *err, size_t errlen);

/* Blocks until SIGINT or SIGTERM arrives (or rpc_server_request_stop is
 * called), then drains: stops accepting, lets in-flight calls finish within
 * grace_ms, cancels what remains, joins the workers. Returns the signal number
 * (0 if stopped by request). */
int rpc_server_run_until_signal(rpc_server *srv);

/* Asks rpc_server_run_until_signal to return and drain (thread-safe; for tests
 * and for fatal conditions elsewhere in the process). */
void rpc_server_request_stop(rpc_server *srv);

/* Drains (if started and not yet drained) and frees. Accepts NULL. */
void rpc_server_destroy(rpc_server *srv);

/* --- inside a handler (the rpc_call is the handler's closure_data) --- */

/* Sets the status sent when the handler calls its closure with NULL. The
 * message is printf-formatted and should name the offending field. Worker
 * thread of the call only. */
void rpc_call_set_status(rpc_call *call, rpc_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Replies with an already packed message: len bytes at bytes, an encoding
 * of the method's output type (e.g. a cached reply), sent as they are. Use it
 * instead of the closure, once.
 *   release NULL: the bytes are copied before this returns; they stay the
 *     caller's.
 *   release non-NULL: the binding takes the bytes over, sends them without a
 *     copy and calls release(bytes) exactly once when gRPC is done with them:
 *     on any thread (it must be thread-safe, e.g. free), possibly after the
 *     handler returned; on every failure below, before this returns.
 * The bytes' top level is checked (rpc_packed_check) before anything is sent.
 * Returns RPC_OK when they will be sent; otherwise the status the call now
 * ends with, and nothing is sent: INTERNAL "no packed reply" (bytes NULL),
 * INTERNAL "packed reply is not a <type>: <what>" (bytes that do not frame as
 * the output type), RESOURCE_EXHAUSTED (len over max_message_bytes). After a
 * first reply (closure or packed) it sends nothing, returns
 * FAILED_PRECONDITION and leaves the call's status as it was. Worker thread
 * of the call only. Tests: tests/integration/test_rpc.c (packed replies). */
rpc_code rpc_call_reply_packed(rpc_call *call, void *bytes, size_t len, void (*release)(void *));

/* Checks without unpacking that data[0..len) frames as a message of type
 * desc at its top level: every field key valid (number 1..2^29-1, no groups),
 * every value inside the bytes, and each field desc knows in a wire type that
 * fits its type (repeated scalars packed or not). Nested messages and UTF-8
 * are not checked; unknown field numbers pass. So every encoding
 * protobuf_c_message_pack writes passes, and truncated or shifted bytes
 * fail (protobuf-c's unpack is laxer: bools in any wire type, field numbers
 * up to 2^32-1). Returns 0, or -1 with the first problem in err (errlen bytes,
 * "byte 17: field 1: 40 bytes past the end"). No allocation; thread-safe.
 * Tests: tests/unit/test_rpc_packed.c. */
int rpc_packed_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                     char *err, size_t errlen);

/* Finds a string field holding a NUL byte in data[0..len), an encoding of a
 * desc message, nested messages included (up to 32 levels deep). protobuf-c
 * unpacks such a string as a C string cut at the NUL, so the server checks
 * every request with this before unpacking's cut can hide it (rpc_call.c:
 * INVALID_ARGUMENT "<field>: must not contain a NUL character"). Returns 1
 * and the field's proto path ("q", "filter.name") in field (fieldlen bytes),
 * or 0 when there is none or the bytes do not frame (unpack judges those).
 * No allocation; thread-safe. Tests: tests/unit/test_rpc_packed.c. */
int rpc_packed_find_nul(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                        char *field, size_t fieldlen);

/* Value of request metadata `key` (lower-case, e.g. "x-request-id"), or NULL.
 * The string lives until the handler returns. Binary (-bin) keys not
 * supported. */
const char *rpc_call_metadata(const rpc_call *call, const char *key);

/* Milliseconds left before the client's deadline; INT64_MAX when none. */
int64_t rpc_call_deadline_remaining_ms(const rpc_call *call);

/* The per-worker data from worker_init, and the worker's index. */
void *rpc_call_worker_data(const rpc_call *call);
int rpc_call_worker_index(const rpc_call *call);

/* "/tvmaze.v1.Shows/ListShows" */
const char *rpc_call_method(const rpc_call *call);

/* The client's address ("ipv4:127.0.0.1:5555"); lives until the handler returns. */
const char *rpc_call_peer(const rpc_call *call);

/* ===================================================================== */
/* Client half                                                           */
/* ===================================================================== */

typedef struct rpc_channel rpc_channel;

/* An insecure HTTP/2 channel to target ("127.0.0.1:50051", "dns:host:port").
 * Connects lazily; never NULL for a syntactically possible target. Thread-safe:
 * one channel may carry calls from many threads at once. */
rpc_channel *rpc_channel_create(const char *target, size_t max_message_bytes);
void rpc_channel_destroy(rpc_channel *ch);

/* A ProtobufCService for `desc` whose invoke runs a unary call on ch. The
 * protoc-c stubs of that service then make gRPC calls. Destroy with
 * rpc_client_service_destroy (the channel must outlive it). Thread-safe. */
ProtobufCService *rpc_client_service_create(rpc_channel *ch,
                                            const ProtobufCServiceDescriptor *desc);
void rpc_client_service_destroy(ProtobufCService *service);

/* Request metadata entry. */
struct rpc_metadata {
  const char *key; /* lower-case */
  const char *value;
};

/* Per-call context: pass as the stub's closure_data. */
struct rpc_client_ctx {
  /* in */
  int64_t timeout_ms;                  /* deadline from now; <= 0: none */
  const struct rpc_metadata *metadata; /* optional, n_metadata entries */
  size_t n_metadata;
  /* out */
  rpc_code code;           /* RPC_OK or the call's status */
  char message[512];       /* status message ("" on OK) */
  ProtobufCMessage *reply; /* set by rpc_client_keep_reply */
};

#define RPC_CLIENT_CTX_INIT(ms) \
  { .timeout_ms = (ms), .code = RPC_UNKNOWN }

/* A closure for the stubs that keeps the reply in ctx->reply (the binding
 * otherwise frees the reply when the closure returns). */
void rpc_client_keep_reply(const ProtobufCMessage *reply, void *closure_data);

/* Frees ctx->reply (if kept) and clears the out fields. */
void rpc_client_ctx_release(struct rpc_client_ctx *ctx);

#endif
