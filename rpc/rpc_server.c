/*
 * rpc_server: the server half of the binding (see rpc.h), plus
 * grpc.health.v1.Health/Check and server reflection.
 *
 * Threads and queues: each worker thread owns one completion queue and is
 * the only thread that touches the calls accepted on it, so calls need no
 * locks. Per worker, REQUESTS_PER_METHOD registered-call requests are kept
 * outstanding for every method, plus one catch-all grpc_server_request_call
 * that answers UNIMPLEMENTED for unknown methods at once. A request is
 * re-armed before its call is handled, and no longer once shutdown begins.
 *
 * Tags (the void * of every queue event) all start with struct tag_:
 *   TAG_REQ    a pending request (registered method or catch-all)
 *   TAG_FINISH a unary call's final batch (frees the call)
 *   TAG_STREAM a reflection stream's next step
 *
 * Unary call: unpack with the method's input descriptor, run the handler
 * with the struct rpc_call as closure_data; the closure packs the reply and
 * starts one batch {SEND_INITIAL_METADATA, SEND_MESSAGE?, SEND_STATUS,
 * RECV_CLOSE_ON_SERVER}.
 *
 * Shutdown (drain_): set shutting_down (no more re-arming; a per-worker
 * lock makes it a barrier against a request in progress),
 * grpc_server_shutdown_and_notify, wait up to grace_ms,
 * grpc_server_cancel_all_calls if time runs out (pending requests come back
 * with success=0 and are not re-armed), grpc_server_destroy, then let the
 * workers go: each worker counts what it started on its queue (requests,
 * batches) and shuts its own queue down only when that count is 0, so a call
 * accepted before the drain but still queued, or a handler that outlives the
 * grace period, starts its batch on a live queue (a cancelled call's batch
 * completes with success=0: the late reply is dropped). Shutting the queues
 * down from drain_ while calls were still queued made grpc_call_start_batch
 * abort (call.cc: assertion failed: grpc_cq_begin_op). Workers leave their
 * loop on GRPC_QUEUE_SHUTDOWN, run worker_fini and are joined.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "grpc/health/v1/health.pb-c.h"
#include "rpc_internal.h"
#include "xalloc.h"

#define REQUESTS_PER_METHOD 16
#define DEFAULT_MAX_MESSAGE (4u * 1024u * 1024u)
#define DEFAULT_GRACE_MS 10000
#define DEFAULT_WORKERS 2

static const char HEALTH_SERVICE[] = "grpc.health.v1.Health";
static const char REFLECTION_V1[] = "grpc.reflection.v1.ServerReflection";
static const char REFLECTION_V1ALPHA[] = "grpc.reflection.v1alpha.ServerReflection";

enum tag_kind { TAG_REQ, TAG_FINISH, TAG_STREAM };
struct tag_ {
  enum tag_kind kind;
};

enum method_kind { M_USER, M_HEALTH, M_REFLECTION };
struct method_ {
  char *path;                /* "/tvmaze.v1.Shows/ListShows" (owned) */
  enum method_kind kind;     /* who answers it */
  ProtobufCService *service; /* M_USER: the implementation */
  unsigned index;            /* M_USER: method index in service */
  void *handle;              /* grpc_server_register_method result */
};

struct worker_ {
  struct rpc_server *srv;
  int index;
  pthread_t thread;
  int thread_started;
  grpc_completion_queue *cq; /* this worker's queue; only it calls next() */
  void *data;                /* worker_init result */
  /* Operations started on cq whose event has not come back yet (pending
   * requests and call batches). Touched only by the worker thread. */
  long inflight;
  /* Held around "shutting down? else request a call": drain_ takes it once
   * after setting shutting_down, so no request can reach the server after
   * grpc_server_shutdown_and_notify/grpc_server_destroy. */
  pthread_mutex_t arm_lock;
  int arm_lock_init;
  struct rpc_call *spare; /* freed calls kept for reuse (worker thread only) */
  int n_spare;
};

/* A pending request: registered method (m != NULL) or catch-all. Owned by
 * its worker; re-armed after each accepted call. */
struct req_ {
  struct tag_ tag;
  struct worker_ *w;
  struct method_ *m;
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array md;
  grpc_byte_buffer *payload;
  grpc_call_details details; /* catch-all only */
};

struct rpc_call {
  struct tag_ tag; /* TAG_FINISH */
  struct worker_ *w;
  struct method_ *m; /* NULL: unknown method */
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array md;
  rpc_code code;         /* status for a NULL reply */
  char *message;         /* its message (owned) */
  int replied;           /* closure called */
  grpc_byte_buffer *out; /* reply bytes, until the final batch completes */
  int cancelled;         /* RECV_CLOSE_ON_SERVER */
  char *peer;            /* gpr_malloc'd, lazily */
  char **strs;           /* metadata values handed out (owned) */
  size_t n_strs;
  char *path; /* catch-all: the unknown method's path (owned) */
  struct rpc_call *next_spare;
};

#define MAX_SPARE_CALLS 64

enum stream_state { ST_READING, ST_FINISHING };
struct stream_ {
  struct tag_ tag; /* TAG_STREAM */
  struct worker_ *w;
  grpc_call *call;
  grpc_metadata_array md;
  grpc_byte_buffer *recv;
  grpc_byte_buffer *send;
  enum stream_state state;
  int cancelled;
};

struct rpc_server {
  struct rpc_server_config cfg; /* copy; addr points to addr below */
  char *addr;
  grpc_server *server;
  int port;
  ProtobufCService **services;
  size_t n_services;
  struct method_ *methods;
  size_t n_methods;
  struct worker_ *workers;
  int n_workers;
  struct rpc_reflection *refl;
  atomic_int shutting_down; /* set once drain begins: no re-arming */
  atomic_int server_gone;   /* grpc_server_destroy done: idle workers close their queue */
  atomic_int stop_requested;
  int started;
  int drained;
  struct req_ **reqs; /* every request object, freed at destroy */
  size_t n_reqs;
};

/* ------------------------------------------------------------------ */
/* Process                                                            */
/* ------------------------------------------------------------------ */

/* Debian builds abseil without NDEBUG, so every absl::Mutex lock in gRPC
 * core runs abseil's debug deadlock detector (a lock graph kept in a global
 * table; ~5% of the server's user-space instructions per trivial call under
 * callgrind). Release builds of abseil have it off; turn it off the same way
 * (absl::SetMutexDeadlockDetectionMode(kIgnore)), looked up by its mangled
 * name so this file stays C. Absent symbol (another abseil build): no-op. */
static void absl_deadlock_detection_off_(void) {
  static const char *const names[] = {
      "_ZN4absl7debian329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE",
      "_ZN4absl12lts_2022062329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE",
      "_ZN4absl29SetMutexDeadlockDetectionModeENS_15OnDeadlockCycleE",
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    void *sym = dlsym(RTLD_DEFAULT, names[i]);
    if (sym != NULL) {
      void (*set_mode)(int); /* enum class OnDeadlockCycle : int; kIgnore = 0 */
      memcpy(&set_mode, &sym, sizeof set_mode);
      set_mode(0);
      return;
    }
  }
}

void rpc_init(void) {
  absl_deadlock_detection_off_();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  grpc_init();
}

void rpc_cleanup(void) {
  grpc_shutdown();
}

/* ------------------------------------------------------------------ */
/* Unpacking                                                          */
/* ------------------------------------------------------------------ */

rpc_code rpc_unpack_request(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                            size_t max, ProtobufCMessage **out) {
  *out = NULL;
  if (max != 0 && len > max) {
    return RPC_RESOURCE_EXHAUSTED;
  }
  ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, len, data);
  if (msg == NULL) {
    return RPC_INVALID_ARGUMENT;
  }
  *out = msg;
  return RPC_OK;
}

/* Copies a byte buffer into one slice (caller unrefs). */
static grpc_slice read_all_(grpc_byte_buffer *bb) {
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, bb)) {
    return grpc_empty_slice();
  }
  grpc_slice s = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  return s;
}

/* msg packed into one slice; n: its packed size (computed by the caller:
 * protobuf-c sizes every nested message again while packing, so a second
 * top-level pass is not free for a 24 KB reply). */
static grpc_byte_buffer *pack_(const ProtobufCMessage *msg, size_t n) {
  grpc_slice s = grpc_slice_malloc(n);
  protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
  grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
  grpc_slice_unref(s);
  return bb;
}

/* ------------------------------------------------------------------ */
/* Requests                                                           */
/* ------------------------------------------------------------------ */

static void arm_(struct req_ *r) {
  struct rpc_server *srv = r->w->srv;
  pthread_mutex_lock(&r->w->arm_lock);
  if (atomic_load(&srv->shutting_down)) {
    pthread_mutex_unlock(&r->w->arm_lock);
    return;
  }
  grpc_metadata_array_init(&r->md);
  r->call = NULL;
  r->payload = NULL;
  grpc_call_error e;
  if (r->m != NULL) {
    e = grpc_server_request_registered_call(srv->server, r->m->handle, &r->call, &r->deadline,
                                            &r->md, r->m->kind == M_REFLECTION ? NULL : &r->payload,
                                            r->w->cq, r->w->cq, r);
  } else {
    grpc_call_details_init(&r->details);
    e = grpc_server_request_call(srv->server, &r->call, &r->details, &r->md, r->w->cq, r->w->cq, r);
  }
  if (e == GRPC_CALL_OK) {
    r->w->inflight++; /* its event always comes back (success=0 on shutdown) */
  } else {
    grpc_metadata_array_destroy(&r->md);
    if (r->m == NULL) {
      grpc_call_details_destroy(&r->details);
    }
  }
  pthread_mutex_unlock(&r->w->arm_lock);
}

/* Starts a batch on a call of worker w; counts it as in flight. */
static grpc_call_error start_batch_(struct worker_ *w, grpc_call *call, const grpc_op *ops,
                                    size_t n, void *tag) {
  grpc_call_error e = grpc_call_start_batch(call, ops, n, tag, NULL);
  if (e == GRPC_CALL_OK) {
    w->inflight++;
  }
  return e;
}

/* ------------------------------------------------------------------ */
/* Unary calls                                                        */
/* ------------------------------------------------------------------ */

static void call_free_(struct rpc_call *c) {
  if (c->out != NULL) {
    grpc_byte_buffer_destroy(c->out);
  }
  if (c->call != NULL) {
    grpc_call_unref(c->call);
  }
  grpc_metadata_array_destroy(&c->md);
  free(c->message);
  if (c->peer != NULL) {
    gpr_free(c->peer);
  }
  for (size_t i = 0; i < c->n_strs; i++) {
    free(c->strs[i]);
  }
  free(c->strs);
  free(c->path);
  struct worker_ *w = c->w;
  if (w->n_spare < MAX_SPARE_CALLS) {
    c->next_spare = w->spare;
    w->spare = c;
    w->n_spare++;
  } else {
    free(c);
  }
}

/* A zeroed call object (from the worker's spares when it has one). */
static struct rpc_call *call_new_(struct worker_ *w) {
  struct rpc_call *c = w->spare;
  if (c != NULL) {
    w->spare = c->next_spare;
    w->n_spare--;
    memset(c, 0, sizeof *c);
  } else {
    c = xcalloc(1, sizeof *c);
  }
  return c;
}

/* Starts the final batch; the call is freed when it completes. */
static void send_final_(struct rpc_call *c) {
  grpc_op ops[4];
  memset(ops, 0, sizeof ops);
  size_t n = 0;
  ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
  n++;
  if (c->out != NULL) {
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = c->out;
    n++;
  }
  grpc_slice details = grpc_slice_from_copied_string(c->message ? c->message : "");
  ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[n].data.send_status_from_server.status = (grpc_status_code)c->code;
  ops[n].data.send_status_from_server.status_details = &details;
  n++;
  ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  ops[n].data.recv_close_on_server.cancelled = &c->cancelled;
  n++;
  grpc_call_error e = start_batch_(c->w, c->call, ops, n, &c->tag);
  grpc_slice_unref(details);
  if (e != GRPC_CALL_OK) {
    call_free_(c);
  }
}

static void set_status_(struct rpc_call *c, rpc_code code, const char *msg) {
  c->code = code;
  free(c->message);
  c->message = xstrdup(msg);
}

void rpc_call_set_status(rpc_call *call, rpc_code code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char buf[1024];
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  set_status_(call, code, buf);
}

/* The closure handlers call: packs the reply (or keeps the status set). */
static void reply_closure_(const ProtobufCMessage *msg, void *closure_data) {
  struct rpc_call *c = closure_data;
  if (c->replied) {
    return; /* a second call of the closure is ignored */
  }
  c->replied = 1;
  if (msg == NULL) {
    if (c->code == RPC_OK) {
      set_status_(c, RPC_UNKNOWN, "handler returned no reply");
    }
    return;
  }
  size_t n = protobuf_c_message_get_packed_size(msg);
  if (n > c->w->srv->cfg.max_message_bytes) {
    rpc_call_set_status(c, RPC_RESOURCE_EXHAUSTED, "reply of %zu bytes exceeds the limit of %zu", n,
                        c->w->srv->cfg.max_message_bytes);
    return;
  }
  c->out = pack_(msg, n);
  c->code = RPC_OK;
  free(c->message);
  c->message = NULL;
}

static int registered_(const struct rpc_server *srv, const char *name) {
  for (size_t i = 0; i < srv->n_services; i++) {
    if (strcmp(srv->services[i]->descriptor->name, name) == 0) {
      return 1;
    }
  }
  return strcmp(name, HEALTH_SERVICE) == 0 ||
         (srv->refl != NULL &&
          (strcmp(name, REFLECTION_V1) == 0 || strcmp(name, REFLECTION_V1ALPHA) == 0));
}

static void health_check_(struct rpc_call *c, const ProtobufCMessage *in) {
  const Grpc__Health__V1__HealthCheckRequest *req =
      (const Grpc__Health__V1__HealthCheckRequest *)in;
  struct rpc_server *srv = c->w->srv;
  const char *name = req->service ? req->service : "";
  if (name[0] != '\0' && !registered_(srv, name)) {
    rpc_call_set_status(c, RPC_NOT_FOUND, "unknown service %s", name);
    reply_closure_(NULL, c);
    return;
  }
  rpc_health_status st = RPC_HEALTH_SERVING;
  if (srv->cfg.health != NULL) {
    st = srv->cfg.health(name, c->w->data, srv->cfg.user);
  }
  if ((unsigned)st <= RPC_HEALTH_SERVICE_UNKNOWN) {
    /* HealthCheckResponse{status: st} is field 1 as a varint: prepacked,
     * sent from static storage (no packing, no copy). */
    static const uint8_t packed[4][2] = {{0x08, 0}, {0x08, 1}, {0x08, 2}, {0x08, 3}};
    grpc_slice sl = grpc_slice_from_static_buffer(packed[st], st == 0 ? 0 : 2);
    c->replied = 1;
    c->out = grpc_raw_byte_buffer_create(&sl, 1);
    c->code = RPC_OK;
    return;
  }
  Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
  resp.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)st;
  reply_closure_(&resp.base, c);
}

typedef void (*generic_handler_)(ProtobufCService *svc, const ProtobufCMessage *in,
                                 ProtobufCClosure closure, void *closure_data);

static void handle_unary_(struct rpc_call *c, grpc_byte_buffer *payload) {
  struct method_ *m = c->m;
  const ProtobufCMessageDescriptor *in_desc =
      m->kind == M_HEALTH ? &grpc__health__v1__health_check_request__descriptor
                          : m->service->descriptor->methods[m->index].input;
  if (payload == NULL) {
    set_status_(c, RPC_INTERNAL, "no request message");
    send_final_(c);
    return;
  }
  /* The usual received buffer is one uncompressed slice: unpack from it in
   * place; otherwise copy it into one slice. */
  grpc_slice bytes;
  if (payload->type == GRPC_BB_RAW && payload->data.raw.compression == GRPC_COMPRESS_NONE &&
      payload->data.raw.slice_buffer.count <= 1) {
    bytes = payload->data.raw.slice_buffer.count == 1
                ? grpc_slice_ref(payload->data.raw.slice_buffer.slices[0])
                : grpc_empty_slice();
  } else {
    bytes = read_all_(payload);
  }
  ProtobufCMessage *in = NULL;
  rpc_code rc = rpc_unpack_request(in_desc, GRPC_SLICE_START_PTR(bytes), GRPC_SLICE_LENGTH(bytes),
                                   c->w->srv->cfg.max_message_bytes, &in);
  grpc_slice_unref(bytes);
  if (rc != RPC_OK) {
    set_status_(c, rc,
                rc == RPC_RESOURCE_EXHAUSTED ? "request exceeds the message size limit"
                                             : "request does not parse as the method's input");
    send_final_(c);
    return;
  }
  if (m->kind == M_HEALTH) {
    health_check_(c, in);
  } else {
    ProtobufCService *svc = m->service;
    generic_handler_ h = NULL;
    if (svc->invoke == protobuf_c_service_invoke_internal) {
      memcpy(&h, (const char *)(svc + 1) + m->index * sizeof(generic_handler_), sizeof h);
    }
    if (svc->invoke == protobuf_c_service_invoke_internal && h == NULL) {
      rpc_call_set_status(c, RPC_UNIMPLEMENTED, "%s is not implemented", m->path);
      c->replied = 1;
    } else {
      svc->invoke(svc, m->index, in, reply_closure_, c);
      if (!c->replied) {
        set_status_(c, RPC_INTERNAL, "handler returned without replying");
      }
    }
  }
  protobuf_c_message_free_unpacked(in, NULL);
  send_final_(c);
}

/* ------------------------------------------------------------------ */
/* Reflection streams                                                 */
/* ------------------------------------------------------------------ */

static void stream_free_(struct stream_ *s) {
  if (s->recv != NULL) {
    grpc_byte_buffer_destroy(s->recv);
  }
  if (s->send != NULL) {
    grpc_byte_buffer_destroy(s->send);
  }
  grpc_call_unref(s->call);
  grpc_metadata_array_destroy(&s->md);
  free(s);
}

static void stream_finish_(struct stream_ *s) {
  grpc_op ops[2];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[0].data.send_status_from_server.status = GRPC_STATUS_OK;
  ops[1].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  ops[1].data.recv_close_on_server.cancelled = &s->cancelled;
  s->state = ST_FINISHING;
  if (start_batch_(s->w, s->call, ops, 2, &s->tag) != GRPC_CALL_OK) {
    stream_free_(s);
  }
}

static void stream_start_(struct worker_ *w, grpc_call *call, grpc_metadata_array *md) {
  struct stream_ *s = xcalloc(1, sizeof *s);
  s->tag.kind = TAG_STREAM;
  s->w = w;
  s->call = call;
  s->md = *md;
  s->state = ST_READING;
  grpc_op ops[2];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[1].op = GRPC_OP_RECV_MESSAGE;
  ops[1].data.recv_message.recv_message = &s->recv;
  if (start_batch_(w, call, ops, 2, &s->tag) != GRPC_CALL_OK) {
    stream_free_(s);
  }
}

static void stream_step_(struct stream_ *s, int success) {
  if (s->state == ST_FINISHING) {
    stream_free_(s);
    return;
  }
  if (s->send != NULL) {
    grpc_byte_buffer_destroy(s->send);
    s->send = NULL;
  }
  if (!success || s->recv == NULL) {
    stream_finish_(s);
    return;
  }
  grpc_slice bytes = read_all_(s->recv);
  grpc_byte_buffer_destroy(s->recv);
  s->recv = NULL;
  uint8_t *out = NULL;
  size_t out_len = 0;
  int rc = rpc_reflection_answer(s->w->srv->refl, GRPC_SLICE_START_PTR(bytes),
                                 GRPC_SLICE_LENGTH(bytes), &out, &out_len);
  grpc_slice_unref(bytes);
  if (rc != 0) {
    stream_finish_(s);
    return;
  }
  grpc_slice sl = grpc_slice_new(out, out_len, free);
  s->send = grpc_raw_byte_buffer_create(&sl, 1);
  grpc_slice_unref(sl);
  grpc_op ops[2];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_MESSAGE;
  ops[0].data.send_message.send_message = s->send;
  ops[1].op = GRPC_OP_RECV_MESSAGE;
  ops[1].data.recv_message.recv_message = &s->recv;
  if (start_batch_(s->w, s->call, ops, 2, &s->tag) != GRPC_CALL_OK) {
    stream_finish_(s);
  }
}

/* ------------------------------------------------------------------ */
/* Workers                                                            */
/* ------------------------------------------------------------------ */

static void on_request_(struct req_ *r, int success) {
  struct worker_ *w = r->w;
  if (!success) {
    /* Shutdown: the request was cancelled. */
    grpc_metadata_array_destroy(&r->md);
    if (r->m == NULL) {
      grpc_call_details_destroy(&r->details);
    }
    return;
  }
  grpc_call *call = r->call;
  grpc_metadata_array md = r->md;
  grpc_byte_buffer *payload = r->payload;
  gpr_timespec deadline = r->m != NULL ? r->deadline : r->details.deadline;
  struct method_ *m = r->m;
  char *path = NULL;
  if (m == NULL) {
    path = grpc_slice_to_c_string(r->details.method);
    grpc_call_details_destroy(&r->details);
  }
  arm_(r); /* before handling: keep accepting */

  if (m != NULL && m->kind == M_REFLECTION) {
    stream_start_(w, call, &md);
    return;
  }
  struct rpc_call *c = call_new_(w);
  c->tag.kind = TAG_FINISH;
  c->w = w;
  c->m = m;
  c->call = call;
  c->md = md;
  c->deadline = deadline;
  if (m == NULL) {
    c->path = xstrdup(path);
    rpc_call_set_status(c, RPC_UNIMPLEMENTED, "unknown method %s", path);
    gpr_free(path);
    send_final_(c);
    return;
  }
  handle_unary_(c, payload);
  if (payload != NULL) {
    grpc_byte_buffer_destroy(payload);
  }
}

static void *worker_main_(void *arg) {
  struct worker_ *w = arg;
  struct rpc_server *srv = w->srv;
  if (srv->cfg.worker_init != NULL) {
    w->data = srv->cfg.worker_init(w->index, srv->cfg.user);
  }
  size_t per = srv->n_methods * REQUESTS_PER_METHOD + 1;
  struct req_ **mine = srv->reqs + (size_t)w->index * per;
  for (size_t i = 0; i < per; i++) {
    arm_(mine[i]);
  }
  /* The worker, not drain_, shuts its queue down: only once the server is
   * destroyed and nothing it started on the queue is still out (pending
   * requests, call batches). Until then, calls accepted before the drain
   * (still queued, or whose handler outlived the grace period and was
   * cancelled) are handled and their batches started on a live queue: a
   * cancelled call's batch just completes with success=0 and the call is
   * freed, so a late reply is dropped. With nothing in flight no event can
   * wake next(), hence the short poll then (never during normal serving,
   * where requests are always pending). */
  int closing = 0;
  for (;;) {
    gpr_timespec until =
        w->inflight == 0 && !closing
            ? gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(20, GPR_TIMESPAN))
            : gpr_inf_future(GPR_CLOCK_MONOTONIC);
    grpc_event ev = grpc_completion_queue_next(w->cq, until, NULL);
    if (ev.type == GRPC_QUEUE_SHUTDOWN) {
      break;
    }
    if (ev.type == GRPC_OP_COMPLETE) {
      w->inflight--;
      const struct tag_ *t = ev.tag; /* every tag object starts with struct tag_ */
      switch (t->kind) {
      case TAG_REQ:
        on_request_(ev.tag, ev.success);
        break;
      case TAG_FINISH:
        call_free_(ev.tag);
        break;
      case TAG_STREAM:
        stream_step_(ev.tag, ev.success);
        break;
      }
    }
    if (!closing && w->inflight == 0 && atomic_load(&srv->server_gone)) {
      grpc_completion_queue_shutdown(w->cq);
      closing = 1;
    }
  }
  while (w->spare != NULL) {
    struct rpc_call *c = w->spare;
    w->spare = c->next_spare;
    free(c);
  }
  w->n_spare = 0;
  if (srv->cfg.worker_fini != NULL) {
    srv->cfg.worker_fini(w->data, srv->cfg.user);
  }
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                          */
/* ------------------------------------------------------------------ */

rpc_server *rpc_server_create(const struct rpc_server_config *cfg, char *err, size_t errlen) {
  struct rpc_server *srv = xcalloc(1, sizeof *srv);
  srv->cfg = *cfg;
  srv->addr = xstrdup(cfg->addr ? cfg->addr : "0.0.0.0:50051");
  srv->cfg.addr = srv->addr;
  if (srv->cfg.workers <= 0) {
    srv->cfg.workers = DEFAULT_WORKERS;
  }
  if (srv->cfg.max_message_bytes == 0) {
    srv->cfg.max_message_bytes = DEFAULT_MAX_MESSAGE;
  }
  if (srv->cfg.max_message_bytes > (size_t)INT32_MAX) {
    srv->cfg.max_message_bytes = (size_t)INT32_MAX;
  }
  if (srv->cfg.grace_ms <= 0) {
    srv->cfg.grace_ms = DEFAULT_GRACE_MS;
  }
  grpc_arg args[3];
  memset(args, 0, sizeof args);
  args[0].type = GRPC_ARG_INTEGER;
  args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
  args[0].value.integer = (int)srv->cfg.max_message_bytes;
  args[1].type = GRPC_ARG_INTEGER;
  args[1].key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
  args[1].value.integer = (int)srv->cfg.max_message_bytes;
  /* A port in use is an error, not a silently shared SO_REUSEPORT socket. */
  args[2].type = GRPC_ARG_INTEGER;
  args[2].key = (char *)GRPC_ARG_ALLOW_REUSEPORT;
  args[2].value.integer = 0;
  grpc_channel_args ca = {.num_args = 3, .args = args};
  srv->server = grpc_server_create(&ca, NULL);
  srv->n_workers = srv->cfg.workers;
  srv->workers = xcalloc((size_t)srv->n_workers, sizeof *srv->workers);
  for (int i = 0; i < srv->n_workers; i++) {
    srv->workers[i].srv = srv;
    srv->workers[i].index = i;
    pthread_mutex_init(&srv->workers[i].arm_lock, NULL);
    srv->workers[i].arm_lock_init = 1;
    srv->workers[i].cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(srv->server, srv->workers[i].cq, NULL);
  }
  grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
  srv->port = grpc_server_add_http2_port(srv->server, srv->addr, creds);
  grpc_server_credentials_release(creds);
  if (srv->port <= 0) {
    snprintf(err, errlen, "cannot listen on %s (bad address or port in use)", srv->addr);
    rpc_server_destroy(srv);
    return NULL;
  }
  return srv;
}

int rpc_server_add_service(rpc_server *srv, ProtobufCService *service) {
  if (srv->started) {
    return -1;
  }
  for (size_t i = 0; i < srv->n_services; i++) {
    if (strcmp(srv->services[i]->descriptor->name, service->descriptor->name) == 0) {
      return -1;
    }
  }
  srv->services = xrealloc(srv->services, (srv->n_services + 1) * sizeof *srv->services);
  srv->services[srv->n_services++] = service;
  return 0;
}

int rpc_server_port(const rpc_server *srv) {
  return srv->port;
}

static void add_method_(struct rpc_server *srv, char *path, enum method_kind kind,
                        ProtobufCService *svc, unsigned index) {
  srv->methods = xrealloc(srv->methods, (srv->n_methods + 1) * sizeof *srv->methods);
  struct method_ *m = &srv->methods[srv->n_methods++];
  m->path = path;
  m->kind = kind;
  m->service = svc;
  m->index = index;
  m->handle = grpc_server_register_method(
      srv->server, path, NULL,
      kind == M_REFLECTION ? GRPC_SRM_PAYLOAD_NONE : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
}

int rpc_server_start(rpc_server *srv, char *err, size_t errlen) {
  if (srv->started) {
    snprintf(err, errlen, "server already started");
    return -1;
  }
  const char **names = xcalloc(srv->n_services + 3, sizeof *names);
  size_t n_names = 0;
  for (size_t i = 0; i < srv->n_services; i++) {
    const ProtobufCServiceDescriptor *d = srv->services[i]->descriptor;
    names[n_names++] = d->name;
    for (unsigned k = 0; k < d->n_methods; k++) {
      add_method_(srv, xasprintf("/%s/%s", d->name, d->methods[k].name), M_USER, srv->services[i],
                  k);
    }
  }
  add_method_(srv, xasprintf("/%s/Check", HEALTH_SERVICE), M_HEALTH, NULL, 0);
  names[n_names++] = HEALTH_SERVICE;
  if (srv->cfg.descriptor_set != NULL) {
    names[n_names++] = REFLECTION_V1;
    names[n_names++] = REFLECTION_V1ALPHA;
    srv->refl =
        rpc_reflection_create(srv->cfg.descriptor_set, srv->cfg.descriptor_set_len, names, n_names);
    if (srv->refl == NULL) {
      free(names);
      snprintf(err, errlen, "the reflection descriptor set does not parse");
      return -1;
    }
    add_method_(srv, xasprintf("/%s/ServerReflectionInfo", REFLECTION_V1), M_REFLECTION, NULL, 0);
    add_method_(srv, xasprintf("/%s/ServerReflectionInfo", REFLECTION_V1ALPHA), M_REFLECTION, NULL,
                0);
  }
  free(names);
  grpc_server_start(srv->server);
  srv->started = 1;

  size_t per = srv->n_methods * REQUESTS_PER_METHOD + 1;
  srv->n_reqs = per * (size_t)srv->n_workers;
  srv->reqs = xcalloc(srv->n_reqs, sizeof *srv->reqs);
  for (int w = 0; w < srv->n_workers; w++) {
    for (size_t i = 0; i < per; i++) {
      struct req_ *r = xcalloc(1, sizeof *r);
      r->tag.kind = TAG_REQ;
      r->w = &srv->workers[w];
      r->m = i + 1 < per ? &srv->methods[i / REQUESTS_PER_METHOD] : NULL;
      srv->reqs[(size_t)w * per + i] = r;
    }
  }
  for (int i = 0; i < srv->n_workers; i++) {
    if (pthread_create(&srv->workers[i].thread, NULL, worker_main_, &srv->workers[i]) != 0) {
      snprintf(err, errlen, "cannot start worker thread %d", i);
      return -1;
    }
    srv->workers[i].thread_started = 1;
  }
  return 0;
}

static void drain_(struct rpc_server *srv) {
  if (srv->drained) {
    return;
  }
  srv->drained = 1;
  atomic_store(&srv->shutting_down, 1);
  /* Barrier: a worker that saw shutting_down == 0 in arm_ has finished its
   * request before the server is shut down. */
  for (int i = 0; i < srv->n_workers; i++) {
    if (srv->workers[i].arm_lock_init) {
      pthread_mutex_lock(&srv->workers[i].arm_lock);
      pthread_mutex_unlock(&srv->workers[i].arm_lock);
    }
  }
  if (srv->server != NULL) {
    if (srv->started) {
      grpc_completion_queue *scq = grpc_completion_queue_create_for_pluck(NULL);
      int tag = 0;
      grpc_server_shutdown_and_notify(srv->server, scq, &tag);
      gpr_timespec grace = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                                        gpr_time_from_millis(srv->cfg.grace_ms, GPR_TIMESPAN));
      grpc_event ev = grpc_completion_queue_pluck(scq, &tag, grace, NULL);
      if (ev.type == GRPC_QUEUE_TIMEOUT) {
        grpc_server_cancel_all_calls(srv->server);
        grpc_completion_queue_pluck(scq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
      }
      grpc_completion_queue_shutdown(scq);
      grpc_completion_queue_destroy(scq);
    }
    grpc_server_destroy(srv->server);
    srv->server = NULL;
  }
  /* Running workers shut their own queue down once idle (worker_main_). */
  atomic_store(&srv->server_gone, 1);
  for (int i = 0; i < srv->n_workers; i++) {
    struct worker_ *w = &srv->workers[i];
    if (w->thread_started) {
      pthread_join(w->thread, NULL);
    } else if (w->cq != NULL) {
      grpc_completion_queue_shutdown(w->cq);
      while (grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
             GRPC_QUEUE_SHUTDOWN) {
      }
    }
    if (w->cq != NULL) {
      grpc_completion_queue_destroy(w->cq);
      w->cq = NULL;
    }
    if (w->arm_lock_init) {
      pthread_mutex_destroy(&w->arm_lock);
      w->arm_lock_init = 0;
    }
  }
}

int rpc_server_run_until_signal(rpc_server *srv) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  while (!atomic_load(&srv->stop_requested)) {
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
    int s = sigtimedwait(&set, NULL, &ts);
    if (s > 0) {
      sig = s;
      break;
    }
  }
  drain_(srv);
  return sig;
}

void rpc_server_request_stop(rpc_server *srv) {
  atomic_store(&srv->stop_requested, 1);
}

void rpc_server_destroy(rpc_server *srv) {
  if (srv == NULL) {
    return;
  }
  drain_(srv);
  for (size_t i = 0; i < srv->n_reqs; i++) {
    free(srv->reqs[i]);
  }
  free(srv->reqs);
  for (size_t i = 0; i < srv->n_methods; i++) {
    free(srv->methods[i].path);
  }
  free(srv->methods);
  free(srv->services);
  free(srv->workers);
  rpc_reflection_destroy(srv->refl);
  free(srv->addr);
  free(srv);
}

/* ------------------------------------------------------------------ */
/* Call accessors                                                     */
/* ------------------------------------------------------------------ */

const char *rpc_call_metadata(const rpc_call *call_in, const char *key) {
  struct rpc_call *c = (struct rpc_call *)call_in; /* caches the copy */
  for (size_t i = 0; i < c->md.count; i++) {
    if (grpc_slice_str_cmp(c->md.metadata[i].key, key) == 0) {
      char *v = grpc_slice_to_c_string(c->md.metadata[i].value);
      char *copy = xstrdup(v);
      gpr_free(v);
      c->strs = xrealloc(c->strs, (c->n_strs + 1) * sizeof *c->strs);
      c->strs[c->n_strs++] = copy;
      return copy;
    }
  }
  return NULL;
}

int64_t rpc_call_deadline_remaining_ms(const rpc_call *c) {
  gpr_timespec d = gpr_convert_clock_type(c->deadline, GPR_CLOCK_REALTIME);
  if (gpr_time_cmp(d, gpr_inf_future(GPR_CLOCK_REALTIME)) >= 0) {
    return INT64_MAX;
  }
  gpr_timespec left = gpr_time_sub(d, gpr_now(GPR_CLOCK_REALTIME));
  int64_t ms = (int64_t)left.tv_sec * 1000 + left.tv_nsec / 1000000;
  return ms < 0 ? 0 : ms;
}

void *rpc_call_worker_data(const rpc_call *c) {
  return c->w->data;
}

int rpc_call_worker_index(const rpc_call *c) {
  return c->w->index;
}

const char *rpc_call_method(const rpc_call *c) {
  return c->m != NULL ? c->m->path : c->path;
}

const char *rpc_call_peer(const rpc_call *call_in) {
  struct rpc_call *c = (struct rpc_call *)call_in;
  if (c->peer == NULL) {
    c->peer = grpc_call_get_peer(c->call);
  }
  return c->peer;
}
