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
  RPC_UNAUTHENTICATED = 16,
  /* Not a gRPC status: rpc_client_stream_next timed out, the stream is open. */
  RPC_STREAM_PENDING = -1
} rpc_code;

/* "OK", "INVALID_ARGUMENT", ...; "UNKNOWN" for numbers out of range. */
const char *rpc_code_name(rpc_code code);

/* The standard google.rpc details of a failed status (googleapis'
 * google/rpc/error_details.proto, in proto/google/rpc/). The server sends
 * them in the grpc-status-details-bin trailer, a google.rpc.Status {code,
 * message, details: [Any...]}, whenever there is one; the client decodes
 * them into rpc_client_ctx.details. What a status carries follows from the
 * status alone, so every handler gets them by setting it:
 *   google.rpc.BadRequest  INVALID_ARGUMENT whose message names the fields,
 *                          "<field>: <description>", several joined by "; "
 *                          ("per_page: must be 1..100; rating: must be
 *                          0..10"): one field violation each (a "; " not
 *                          followed by "<field>: " stays in the description);
 *   google.rpc.RetryInfo   a retry delay set (rpc_call_set_retry_delay).
 * Tests: tests/unit/test_rpc_details.c. */
#define RPC_MAX_DETAILS 4
struct rpc_details {
  size_t n;                                 /* items used */
  ProtobufCMessage *items[RPC_MAX_DETAILS]; /* Google__Rpc__BadRequest, Google__Rpc__RetryInfo
                                               (heap, owned; rpc_details_clear frees) */
};

/* The details of status (code, message) with retry delay retry_s (<= 0:
 * none) into *out (overwritten, not freed first). Thread-safe. */
void rpc_details_from_status(rpc_code code, const char *message, int64_t retry_s,
                             struct rpc_details *out);

/* Frees d's items and empties it. Accepts NULL. */
void rpc_details_clear(struct rpc_details *d);

/* The first item of d of message type `type` (e.g.
 * &google__rpc__bad_request__descriptor), or NULL; d may be NULL. */
const ProtobufCMessage *rpc_details_find(const struct rpc_details *d,
                                         const ProtobufCMessageDescriptor *type);

/* The RetryInfo delay in d in seconds, 0 when there is none. */
int64_t rpc_details_retry_seconds(const struct rpc_details *d);

/* Process-wide start/stop of gRPC. rpc_init blocks SIGINT/SIGTERM/SIGPIPE in
 * the calling thread (call it from main before creating threads) so that
 * gRPC's own threads inherit the mask; rpc_server_run_until_signal waits for
 * them. rpc_cleanup after every server, channel and service is destroyed. */
void rpc_init(void);
void rpc_cleanup(void);

/* Sends gRPC core's own messages (TLS handshake failures, transport errors;
 * errors only unless GRPC_VERBOSITY says otherwise) through common/log as
 * events "grpc_core" {msg, file, line} instead of plain text on stderr. For
 * the daemons, after log_init; the CLI keeps gRPC's stderr lines. */
void rpc_log_to_events(void);

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
  void *worker_data;    /* that worker's worker_init result */
  int streaming;        /* 1: a server-streaming method (STARTED when its request
                           arrives, FINISHED when the stream is over) */
  const rpc_call *call; /* STARTED: the call (rpc_call_metadata); NULL at FINISHED */
  void **slot;          /* the call's one pointer for the observer: NULL at the
                           first STARTED, what it stored there at FINISHED (e.g.
                           a span); the binding never reads it */
};

/* Called on the call's worker thread, inline on the unary path: keep it to a
 * few relaxed atomic adds (no locks, no allocation, no I/O) unless the
 * process chose otherwise (tracing: server/trace/). A unary call's STARTED
 * and FINISHED run on the same thread, around its handler; a stream's
 * FINISHED may run on another worker. */
typedef void (*rpc_call_observer)(const struct rpc_call_report *report, void *user);

/* ---- TLS (gRPC core's SSL credentials; rpc_tls.c) ----------------------
 *
 * PEM files for one end of a connection. Server: cert + key (required) make
 * it accept TLS only; ca (optional) is the client CA: every client must
 * present a certificate that it signed (mTLS). Client: ca (required) is the
 * CA the server's certificate must chain to (the target's host name must
 * match it); cert + key (both or neither) are the client certificate
 * presented to an mTLS server. Each *_name labels its file in messages
 * (the setting that named it, e.g. "TVMAZE_GRPC_TLS_CERT"); NULL:
 * "certificate", "private key", "CA". */
struct rpc_tls_files {
  const char *cert;
  const char *key;
  const char *ca;
  const char *cert_name;
  const char *key_name;
  const char *ca_name;
};

/* Reads and checks the files of tls as the server (server = 1) or a client
 * (0) would use them: each readable and holding PEM of its kind (a
 * certificate chain, a private key, CA certificates), the certificate
 * inside its validity period, the key the certificate's key. Returns 0, or
 * -1 with a message naming the setting and the file in err (errlen bytes):
 * "TVMAZE_GRPC_TLS_KEY (/etc/tls/tls.key): the private key does not match
 * the certificate of TVMAZE_GRPC_TLS_CERT (/etc/tls/tls.crt)". No gRPC
 * call; thread-safe. Tests: tests/integration/test_grpc_tls.sh. */
int rpc_tls_files_check(const struct rpc_tls_files *tls, int server, char *err, size_t errlen);

/* What a TLS server reports when it looked at its files again (a new
 * connection after one of them changed: inode, size, mtime or ctime):
 * error NULL when the new files are in use, else why they are not (the
 * previous ones stay in use; the same files are not tried again until one
 * changes). Called on a gRPC thread, with the server's TLS lock held: keep
 * it quick (a log line). */
typedef void (*rpc_tls_reload_fn)(const char *error, void *user);

struct rpc_server_config {
  const char *addr; /* "0.0.0.0:50051"; port 0 picks a free port */
  /* NULL: plaintext. Else TLS only (copied; see struct rpc_tls_files), with
   * the files re-read for new connections when they change on disk, so a
   * renewed certificate is used without a restart; connections already
   * open keep theirs. */
  const struct rpc_tls_files *tls;
  rpc_tls_reload_fn tls_reloaded; /* NULL: reloads go unreported */
  int workers;                    /* worker threads, each with its own queue; <= 0: 2 */
  size_t max_message_bytes;       /* request and reply limit; 0: 4 MiB */
  int grace_ms;                   /* drain period on shutdown; <= 0: 10000 */
  /* Per-worker state (e.g. a database connection): worker_init runs on the
   * worker thread before it accepts calls; its result is rpc_call_worker_data
   * for every call on that worker; worker_fini runs on the same thread when it
   * stops. Either may be NULL. */
  void *(*worker_init)(int worker_index, void *user);
  void (*worker_fini)(void *worker_data, void *user);
  rpc_health_fn health;      /* NULL: always SERVING */
  rpc_call_observer observe; /* NULL: none (see struct rpc_call_report) */
  /* Runs before every call of a registered service -- unary, and server
   * streams registered with rpc_server_add_stream_method -- on the call's
   * worker thread, after the observer's STARTED and before the request is
   * unpacked (not for Health, reflection or unknown methods, which stay
   * open). Returns 0 to let the call through; non-zero after
   * rpc_call_set_status(call, ...) to end the call with that status (the
   * handler never runs). The one place a process checks every call (the
   * server: API keys, server/auth/). NULL: every call goes through. */
  int (*gate)(rpc_call *call, const ProtobufCServiceDescriptor *service, unsigned method_index,
              void *worker_data, void *user);
  void *user; /* passed to worker_init/fini, health, observe and tls_reloaded */
  /* Descriptor set (FileDescriptorSet bytes, with imports) for reflection;
   * NULL disables reflection. Must outlive the server. */
  const uint8_t *descriptor_set;
  size_t descriptor_set_len;
};

/* Creates a server bound to cfg->addr. Returns NULL and writes a message to
 * err (errlen bytes) on failure (bad address, port in use, TLS files that
 * fail rpc_tls_files_check). cfg is copied. */
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

/* Makes a failed status carry a google.rpc.RetryInfo of `seconds` in its
 * details (struct rpc_details), for RESOURCE_EXHAUSTED and UNAVAILABLE when
 * the retry delay is known. seconds <= 0: none. Worker thread of the call
 * only; unary calls and refused streams. */
void rpc_call_set_retry_delay(rpc_call *call, int64_t seconds);

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

/* Every value of request metadata `key` (lower-case), in order: returns how
 * many there are, and fills values[i] / lens[i] (the value's bytes, which
 * may hold a NUL; values are NUL-terminated after lens[i] bytes) for the
 * first max of them. The strings live until the handler returns. */
size_t rpc_call_metadata_all(const rpc_call *call, const char *key, const char **values,
                             size_t *lens, size_t max);

/* Milliseconds left before the client's deadline; INT64_MAX when none. */
int64_t rpc_call_deadline_remaining_ms(const rpc_call *call);

/* The per-worker data from worker_init, and the worker's index. */
void *rpc_call_worker_data(const rpc_call *call);
int rpc_call_worker_index(const rpc_call *call);

/* "/tvmaze.v1.Shows/ListShows" */
const char *rpc_call_method(const rpc_call *call);

/* The client's address ("ipv4:127.0.0.1:5555"); lives until the handler returns. */
const char *rpc_call_peer(const rpc_call *call);

/* ---- server-streaming methods ---------------------------------------- */

typedef struct rpc_stream rpc_stream;

/* Opens a server stream: runs on the worker thread that accepted the call,
 * with the unpacked request (freed when open returns) and the call (every
 * rpc_call_* accessor above works; the call's strings live until the stream
 * ends). open either accepts with rpc_call_stream_accept (and keeps the
 * stream it returns) or refuses with rpc_call_set_status (the stream then
 * ends at once with that status); returning with neither ends it with
 * INTERNAL. open RETURNS either way: an accepted stream holds no worker
 * thread while it waits. */
typedef void (*rpc_stream_open_fn)(rpc_call *call, const ProtobufCMessage *request, void *user);

/* Registers method method_index of svc as server-streaming (protoc-c keeps
 * no streaming flag, so this is explicit): request read once, then replies
 * pushed with rpc_stream_send. Works with or without rpc_server_add_service
 * for the same service: with it, the service's handler slot for this method
 * is ignored (may be NULL); the other methods stay unary. svc and user must
 * outlive the server. Only before rpc_server_start. Returns 0, or -1 if
 * started, method_index is out of range or the method is already
 * registered as a stream. */
int rpc_server_add_stream_method(rpc_server *srv, const ProtobufCServiceDescriptor *svc,
                                 unsigned method_index, rpc_stream_open_fn open, void *user);

/* What the stream's owner hears (struct rpc_stream_config.on_event):
 *   RPC_STREAM_CLOSED  once, when the stream is over for the binding: the
 *                      client cancelled or went away, the deadline passed,
 *                      it was finished (and drained), the queue overflowed,
 *                      or the server drains. Sends return the end code after.
 *   RPC_STREAM_ROOM    the queue fell below half its capacity after having
 *                      been above: a paused producer (a catch-up) may go on.
 *                      A producer notes its count of ROOM events, reads
 *                      rpc_stream_room, and when that is 0 waits for a ROOM
 *                      after the noted one (a full queue is above half, so
 *                      one comes, or CLOSED).
 * Called on a binding thread (the call's worker), without any lock of the
 * binding held: keep it quick -- no blocking, no I/O; e.g. signal a condvar
 * or set a flag. It may call rpc_stream_send/finish/unref. */
enum rpc_stream_event { RPC_STREAM_CLOSED, RPC_STREAM_ROOM };
typedef void (*rpc_stream_event_fn)(rpc_stream *s, enum rpc_stream_event ev, void *user);

struct rpc_stream_config {
  rpc_stream_event_fn on_event; /* NULL: none */
  void *user;                   /* passed to on_event */
  size_t max_queued;            /* messages waiting to be sent; 0: 256 */
  size_t max_queued_bytes;      /* their bytes; 0: 4 MiB (one message always fits) */
};

/* Accepts the stream of call, inside open only (worker thread). Returns the
 * stream with one reference for the caller (drop it with rpc_stream_unref
 * once done with it; the binding holds its own until the stream is over).
 * cfg may be NULL (defaults) and is copied. Returns NULL when called twice
 * or outside a stream's open. When the drain began while open ran, the
 * stream returned is already over: sends return UNAVAILABLE and CLOSED
 * follows. */
rpc_stream *rpc_call_stream_accept(rpc_call *call, const struct rpc_stream_config *cfg);

/* References (any thread). unref accepts NULL. */
rpc_stream *rpc_stream_ref(rpc_stream *s);
void rpc_stream_unref(rpc_stream *s);

/* Sends msg (a message of the method's output type) on s, from any thread:
 * packed before this returns (msg stays the caller's), sent in order, one
 * message on the wire at a time, the rest in the stream's bounded queue.
 * Returns RPC_OK (queued or sent); RPC_INVALID_ARGUMENT for a message of
 * another type (nothing sent, the stream goes on); on a stream that is over,
 * the code it ended with (OK, CANCELLED, DEADLINE_EXCEEDED, UNAVAILABLE,
 * RESOURCE_EXHAUSTED, ...; a client's cancel within 250 ms of the call's
 * deadline counts as DEADLINE_EXCEEDED: the client's timer fires first). When the queue is full the
 * binding ends the stream at once with RESOURCE_EXHAUSTED "stream reader too slow: N messages
 * queued" (queued messages dropped) and returns RPC_RESOURCE_EXHAUSTED; a message over
 * max_message_bytes ends it the same way ("message of N bytes exceeds the limit of M"). */
rpc_code rpc_stream_send(rpc_stream *s, const ProtobufCMessage *msg);

/* Bytes packed once and sent to many streams (a change to every watcher):
 * rpc_bytes_pack packs msg (NULL only for a NULL msg); references are
 * thread-safe; unref accepts NULL. */
typedef struct rpc_bytes rpc_bytes;
rpc_bytes *rpc_bytes_pack(const ProtobufCMessage *msg);
rpc_bytes *rpc_bytes_ref(rpc_bytes *b);
void rpc_bytes_unref(rpc_bytes *b);
size_t rpc_bytes_len(const rpc_bytes *b);

/* rpc_stream_send with bytes from rpc_bytes_pack (no packing, no copy: the
 * stream takes its own reference; b stays the caller's). Same results. */
rpc_code rpc_stream_send_bytes(rpc_stream *s, rpc_bytes *b);

/* Messages waiting in s's queue (not counting the one on the wire), and
 * how many more fit before the queue is full (0 once the stream is over).
 * Any thread; a snapshot. */
size_t rpc_stream_queued(const rpc_stream *s);
size_t rpc_stream_room(const rpc_stream *s);

/* 1 while the stream is open, 0 once it is over. Any thread. */
int rpc_stream_is_open(const rpc_stream *s);

/* Ends s with code and a printf-formatted message, from any thread, after
 * the queued messages are sent (RPC_OK ends normally). Later sends return
 * code; a second finish, or one on a stream that is over, does nothing. */
void rpc_stream_finish(rpc_stream *s, rpc_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ===================================================================== */
/* Client half                                                           */
/* ===================================================================== */

typedef struct rpc_channel rpc_channel;

/* An insecure HTTP/2 channel to target ("127.0.0.1:50051", "dns:host:port").
 * Connects lazily; never NULL for a syntactically possible target. Thread-safe:
 * one channel may carry calls from many threads at once. A lost connection
 * is retried after 100 ms, then at most every 500 ms (+-20 % jitter, and
 * the dns: resolver asked again at most every 500 ms); an attempt is given
 * up after 1 s (rpc_client.c). */
rpc_channel *rpc_channel_create(const char *target, size_t max_message_bytes);

/* A TLS channel (tls NULL: rpc_channel_create): the server's certificate
 * must chain to tls->ca and match the target's host; tls->cert/key, when
 * set, are presented as the client certificate. The files are checked
 * here, then re-read every 10 s by gRPC's file watcher: renewed files are
 * used for the channel's next new connection. Returns NULL with a message
 * in err (errlen bytes) when they fail rpc_tls_files_check as a client's. */
rpc_channel *rpc_channel_create_tls(const char *target, size_t max_message_bytes,
                                    const struct rpc_tls_files *tls, char *err, size_t errlen);
void rpc_channel_destroy(rpc_channel *ch);

/* Ends ch's reconnect backoff: a channel waiting to retry its connection
 * tries at once (grpc_channel_reset_connect_backoff). The gateway's health
 * probe calls it after a failed probe, so each probe is also a connect
 * attempt. Thread-safe. */
void rpc_channel_reset_backoff(rpc_channel *ch);

/* Adds metadata that every call on ch sends, before the call's own (e.g.
 * the CLI's x-api-key). key (lower-case) and value are copied. Only before
 * the first call (not thread-safe). Returns 0, or -1 when ch holds 4
 * entries already. */
int rpc_channel_add_metadata(rpc_channel *ch, const char *key, const char *value);

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
  rpc_code code;              /* RPC_OK or the call's status */
  char message[512];          /* status message ("" on OK) */
  ProtobufCMessage *reply;    /* set by rpc_client_keep_reply */
  struct rpc_details details; /* the status's google.rpc details (trailer), n = 0 for none */
};

#define RPC_CLIENT_CTX_INIT(ms) \
  { .timeout_ms = (ms), .code = RPC_UNKNOWN }

/* A closure for the stubs that keeps the reply in ctx->reply (the binding
 * otherwise frees the reply when the closure returns). */
void rpc_client_keep_reply(const ProtobufCMessage *reply, void *closure_data);

/* Frees ctx->reply (if kept) and ctx->details, and clears the out fields. */
void rpc_client_ctx_release(struct rpc_client_ctx *ctx);

/* ---- client streaming read (server-streaming methods) ---------------- */

typedef struct rpc_client_stream rpc_client_stream;

/* Starts a server-streaming call of method_path ("/tvmaze.v1.Changes/
 * WatchChanges") on ch with request (packed before this returns); replies
 * unpack with reply_desc. ctx (may be NULL) gives the timeout (<= 0: none;
 * the deadline of the whole stream) and metadata, copied; its out fields are
 * not used. request, reply_desc and path need not outlive the call except
 * reply_desc (used by every next). Never NULL;
 * a call that cannot start reports its status from rpc_client_stream_next.
 * One completion queue per stream; one thread reads a stream at a time. */
rpc_client_stream *rpc_client_stream_open(rpc_channel *ch, const char *method_path,
                                          const ProtobufCMessage *request,
                                          const ProtobufCMessageDescriptor *reply_desc,
                                          const struct rpc_client_ctx *ctx);

/* The next reply of s, waiting up to timeout_ms (< 0: until one comes).
 * Returns RPC_OK and the reply in *reply (free it with
 * protobuf_c_message_free_unpacked); RPC_STREAM_PENDING when timeout_ms
 * passed with nothing (the stream is still open: call again); or the
 * stream's end status (RPC_OK at a normal end too, with *reply NULL) with
 * its message in msg (msglen bytes; msg may be NULL). After the end it
 * returns the same status again. */
rpc_code rpc_client_stream_next(rpc_client_stream *s, ProtobufCMessage **reply, int timeout_ms,
                                char *msg, size_t msglen);

/* Cancels s (thread-safe, e.g. from a signal-handling thread): a pending or
 * later rpc_client_stream_next returns CANCELLED. */
void rpc_client_stream_cancel(rpc_client_stream *s);

/* Cancels s if still open and frees it. Accepts NULL. */
void rpc_client_stream_close(rpc_client_stream *s);

#endif
