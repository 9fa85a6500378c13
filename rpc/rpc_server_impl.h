/*
 * rpc_server_impl: the server half's own structures and the calls between
 * its files. Private to rpc/rpc_server.c, rpc_worker.c, rpc_call.c and
 * rpc_builtin.c (nothing else includes it; tests go through rpc.h and
 * rpc_internal.h).
 *
 *   rpc_server.c   process start/stop, server lifecycle, the method table,
 *                  drain
 *   rpc_worker.c   worker threads: their queues, pending requests, batches
 *   rpc_call.c     unary calls: unpack, handler, reply (message or packed),
 *                  final batch, accessors
 *   rpc_builtin.c  what the binding answers itself: Health/Check and the
 *                  reflection streams
 *   rpc_stream.c   server-streaming calls: request, open, the bounded send
 *                  queue, finish, cancellation, the drain's sweep
 *   rpc_bytes.c    packed bytes shared by many streams (rpc_bytes)
 *   rpc_health_watch.c  Health/Watch on rpc_stream.c, polled by the worker
 *
 * Threads: a worker thread is the only one that touches the unary calls,
 * reflection streams and requests of its queue (no locks); a server stream
 * (struct rpc_stream) is also sent to from any thread, under its own lock,
 * and its batches are counted in the worker's atomic ext_inflight. struct
 * rpc_server is written before the workers start and read-only after,
 * except the atomics, arm_lock and streams_lock.
 *
 * Tags (the void * of every queue event) all start with struct rpc_tag_:
 *   RPC_TAG_REQ    a pending request (struct rpc_req_)
 *   RPC_TAG_FINISH a unary call's final batch (struct rpc_call; frees it)
 *   RPC_TAG_REFL   a reflection stream's next step (struct rpc_refl_)
 *   RPC_TAG_STREAM a server stream's batch (rpc_stream.c; counted in
 *                  ext_inflight, not inflight)
 */
#ifndef TVMAZE_RPC_SERVER_IMPL_H
#define TVMAZE_RPC_SERVER_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>

#include "rpc_internal.h"

#define RPC_REQUESTS_PER_METHOD 16 /* registered requests kept pending per method and worker */
#define RPC_MAX_SPARE_CALLS 64     /* freed calls a worker keeps for reuse */

extern const char rpc_health_service_[]; /* "grpc.health.v1.Health" */
extern const char rpc_reflection_v1_[];  /* "grpc.reflection.v1.ServerReflection" */
extern const char rpc_reflection_v1a_[]; /* "grpc.reflection.v1alpha.ServerReflection" */

enum rpc_tag_kind { RPC_TAG_REQ, RPC_TAG_FINISH, RPC_TAG_REFL, RPC_TAG_STREAM };
struct rpc_tag_ {
  enum rpc_tag_kind kind;
};

enum rpc_method_kind { RPC_M_USER, RPC_M_HEALTH, RPC_M_REFLECTION, RPC_M_STREAM };

/* A server-streaming method registered with rpc_server_add_stream_method
 * (or the binding's own Health/Watch). */
struct rpc_stream_reg_ {
  const ProtobufCServiceDescriptor *svc;
  unsigned index; /* method index in svc */
  rpc_stream_open_fn open;
  void *user;
  int observed; /* 1: the observer hears of it (0 for Health/Watch) */
};

/* One registered method (the method table, rpc_server.c). */
struct rpc_method_ {
  char *path;                  /* "/tvmaze.v1.Shows/ListShows" (owned) */
  enum rpc_method_kind kind;   /* who answers it */
  ProtobufCService *service;   /* RPC_M_USER: the implementation */
  unsigned index;              /* RPC_M_USER: method index in service */
  struct rpc_stream_reg_ *reg; /* RPC_M_STREAM: its registration */
  void *handle;                /* grpc_server_register_method result */
};

struct rpc_worker_ {
  struct rpc_server *srv;
  int index;
  pthread_t thread;
  int thread_started;
  grpc_completion_queue *cq; /* this worker's queue; only it calls next() */
  void *data;                /* worker_init result */
  /* Operations started on cq whose event has not come back yet (pending
   * requests and call batches). Touched only by the worker thread. */
  long inflight;
  /* Held around "shutting down? else request a call": the drain takes it
   * once after setting shutting_down, so no request can reach the server
   * after grpc_server_shutdown_and_notify/grpc_server_destroy. */
  pthread_mutex_t arm_lock;
  int arm_lock_init;
  struct rpc_call *spare; /* freed calls kept for reuse (worker thread only) */
  int n_spare;
  /* Server-stream batches started on cq (from any thread) whose event has
   * not come back yet; the queue shuts down only when this is 0 too. */
  atomic_long ext_inflight;
  struct rpc_health_watcher_ *watchers; /* Health/Watch streams (worker thread only) */
  gpr_timespec next_poll;               /* their next health poll (monotonic) */
};

/* A pending request: registered method (m != NULL) or catch-all. Owned by
 * the server (freed at destroy); armed again after each accepted call. */
struct rpc_req_ {
  struct rpc_tag_ tag; /* RPC_TAG_REQ */
  struct rpc_worker_ *w;
  struct rpc_method_ *m;
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array md;
  grpc_byte_buffer *payload;
  grpc_call_details details; /* catch-all only */
};

/* A unary call, from acceptance to its final batch (worker thread only). */
struct rpc_call {
  struct rpc_tag_ tag; /* RPC_TAG_FINISH */
  struct rpc_worker_ *w;
  struct rpc_method_ *m; /* NULL: unknown method */
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array md;
  rpc_code code;         /* status sent when there is no reply */
  char *message;         /* its message (owned) */
  int64_t retry_s;       /* > 0: the status carries RetryInfo (rpc_call_set_retry_delay) */
  int replied;           /* closure or rpc_call_reply_packed called */
  grpc_byte_buffer *out; /* reply bytes, until the final batch completes */
  int cancelled;         /* RECV_CLOSE_ON_SERVER */
  char *peer;            /* gpr_malloc'd, lazily */
  char **strs;           /* metadata values handed out (owned) */
  size_t n_strs;
  char *path;          /* catch-all: the unknown method's path (owned) */
  int64_t start_ns;    /* observed calls: monotonic time of acceptance */
  void *observer_slot; /* observed calls: the observer's (rpc_call_report.slot) */
  struct rpc_call *next_spare;
  struct rpc_stream *stream; /* a server stream's call: its stream */
};

struct rpc_server {
  struct rpc_server_config cfg; /* copy; addr points to addr below */
  char *addr;
  grpc_server *server;
  int port;
  ProtobufCService **services;
  size_t n_services;
  struct rpc_method_ *methods;
  size_t n_methods;
  struct rpc_worker_ *workers;
  int n_workers;
  struct rpc_reflection *refl;
  struct rpc_tls_watch_ *tls; /* TLS files' fetcher state (rpc_tls.c), NULL: plaintext */
  atomic_int shutting_down;   /* set once drain begins: no re-arming */
  atomic_int server_gone;     /* grpc_server_destroy done: idle workers close their queue */
  atomic_int stop_requested;
  int started;
  int drained;
  struct rpc_req_ **reqs; /* every request object, RPC_REQUESTS_PER_METHOD * n_methods + 1
                             per worker, in worker order; freed at destroy */
  size_t n_reqs;
  struct rpc_stream_reg_ *stream_regs; /* rpc_server_add_stream_method */
  size_t n_stream_regs;
  struct rpc_stream_reg_ health_watch; /* /grpc.health.v1.Health/Watch */
  pthread_mutex_t streams_lock;        /* guards streams (and each stream's list links) */
  struct rpc_stream *streams;          /* server streams not over yet (the drain's sweep) */
};

struct rpc_refl_;
struct rpc_health_watcher_;

/* ---- rpc_worker.c ---- */

/* The worker thread (arg: its struct rpc_worker_): worker_init, arm its
 * requests, serve its queue until the drain lets it close, worker_fini. */
void *rpc_worker_main_(void *arg);

/* ---- rpc_call.c ---- */

/* Handles one accepted unary call: m NULL is an unknown method (path, from
 * gRPC's allocator, names it and is freed here). Takes over call and md;
 * payload stays the caller's. Ends with the call's final batch started (or
 * the call freed). */
void rpc_call_accept_(struct rpc_worker_ *w, struct rpc_method_ *m, grpc_call *call,
                      grpc_metadata_array *md, gpr_timespec deadline, grpc_byte_buffer *payload,
                      char *path);

/* Frees a call whose final batch completed (or never started); keeps up to
 * RPC_MAX_SPARE_CALLS for reuse by its worker. */
void rpc_call_free_(struct rpc_call *c);

/* Frees what a call holds (grpc_call, metadata, strings), not the struct. */
void rpc_call_clear_(struct rpc_call *c);

/* Monotonic clock in ns (the observer's durations). */
int64_t rpc_mono_ns_(void);

/* The grpc-status-details-bin trailer of a failed status: the
 * google.rpc.Status {code, message, details} of rpc_details_from_status
 * (BadRequest, RetryInfo), when there is a detail. Returns 1 with *md set
 * (its key and value slices are the caller's to unref), else 0.
 * rpc_status.c. */
int rpc_status_details_(rpc_code code, const char *message, int64_t retry_s, grpc_metadata *md);

/* Frees the worker's spare calls (when its thread ends). */
void rpc_call_spares_free_(struct rpc_worker_ *w);

/* ---- rpc_reply.c ---- */

/* Replies msg packed (the closure handlers get); NULL keeps the status set
 * (UNKNOWN if none). Later replies are ignored. */
void rpc_call_reply_message_(struct rpc_call *c, const ProtobufCMessage *msg);

/* Replies the bytes of slice s (reference taken over). Later replies are
 * ignored (the reference is dropped). */
void rpc_call_reply_slice_(struct rpc_call *c, grpc_slice s);

/* ---- rpc_io.c ---- */

/* grpc_call_start_batch on a call of worker w, counted in w->inflight when
 * it starts. Returns gRPC's result. */
grpc_call_error rpc_batch_start_(struct rpc_worker_ *w, grpc_call *call, const grpc_op *ops,
                                 size_t n, void *tag);

/* A byte buffer's bytes as one slice (caller unrefs). */
grpc_slice rpc_slice_read_all_(grpc_byte_buffer *bb);

/* ---- rpc_builtin.c ---- */

/* Answers Health/Check (request in) on call c: the health callback's state,
 * NOT_FOUND for a service that is not served. Replies before returning. */
void rpc_health_check_(struct rpc_call *c, const ProtobufCMessage *in);

/* Starts a reflection stream on an accepted call (takes call and md over). */
void rpc_refl_start_(struct rpc_worker_ *w, grpc_call *call, grpc_metadata_array *md);

/* Runs a stream's next step when its batch completed (success: gRPC's). */
void rpc_refl_step_(struct rpc_refl_ *s, int success);

/* Whether the server serves service `name` (Health). */
int rpc_served_(const struct rpc_server *srv, const char *name);

/* ---- rpc_stream.c ---- */

/* Handles an accepted call of a server-streaming method m: reads its
 * request, runs the open callback, then serves the stream (takes call and
 * md over). Worker thread of w. */
void rpc_stream_accept_(struct rpc_worker_ *w, struct rpc_method_ *m, grpc_call *call,
                        grpc_metadata_array *md, gpr_timespec deadline);

/* A server stream's batch completed (tag: an RPC_TAG_STREAM tag). */
void rpc_stream_event_(void *tag, int success);

/* The drain's sweep: ends every open server stream with UNAVAILABLE at
 * once (call after shutting_down is set). Any thread. */
void rpc_streams_cancel_all_(struct rpc_server *srv);

/* ---- rpc_health_watch.c ---- */

/* The open callback of /grpc.health.v1.Health/Watch (user: the server). */
void rpc_health_watch_open_(rpc_call *call, const ProtobufCMessage *request, void *user);

/* Polls the health callback for the worker's watchers when a second has
 * passed since the last poll and pushes changes. Worker thread of w. */
void rpc_health_watch_tick_(struct rpc_worker_ *w);

#endif
