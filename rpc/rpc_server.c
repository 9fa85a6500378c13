/*
 * rpc_server: the server half's lifecycle (see rpc.h): process start/stop,
 * creating the grpc_server and its queues, the method table, starting the
 * workers, and the drain. Calls are handled in rpc_call.c, the worker loop
 * is rpc_worker.c, Health and reflection are rpc_builtin.c; their shared
 * structures are in rpc_server_impl.h.
 *
 * Method table (rpc_server_start): every method of every added service
 * ("/tvmaze.v1.Shows/ListShows", payload read with the request; a method
 * registered with rpc_server_add_stream_method is a stream instead, with no
 * payload), then the stream methods of services not added, then
 * /grpc.health.v1.Health/Check and /Watch (a stream), then, with a
 * descriptor set, the two ServerReflectionInfo streams (no payload: bidi). Each gets
 * RPC_REQUESTS_PER_METHOD request objects per worker, plus one catch-all
 * per worker.
 *
 * Drain (drain_): set shutting_down (no more re-arming; a per-worker lock
 * makes it a barrier against a request in progress),
 * end every open server stream with UNAVAILABLE (rpc_streams_cancel_all_:
 * a stream would otherwise hold the shutdown for the whole grace period),
 * grpc_server_shutdown_and_notify, wait up to grace_ms,
 * grpc_server_cancel_all_calls if time runs out (pending requests come back
 * with success=0 and are not re-armed), grpc_server_destroy, then let the
 * workers go: each shuts its own queue down once nothing it started is
 * still out (rpc_worker.c), leaves on GRPC_QUEUE_SHUTDOWN, runs worker_fini
 * and is joined here.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "grpc/health/v1/health.pb-c.h"
#include "rpc_server_impl.h"
#include "rpc_tls_impl.h"
#include "xalloc.h"

#define DEFAULT_MAX_MESSAGE (4u * 1024u * 1024u)
#define DEFAULT_GRACE_MS 10000
#define DEFAULT_WORKERS 2

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
/* Lifecycle                                                          */
/* ------------------------------------------------------------------ */

rpc_server *rpc_server_create(const struct rpc_server_config *cfg, char *err, size_t errlen) {
  struct rpc_server *srv = xcalloc(1, sizeof *srv);
  srv->cfg = *cfg;
  srv->addr = xstrdup(cfg->addr ? cfg->addr : "0.0.0.0:50051");
  srv->cfg.addr = srv->addr;
  pthread_mutex_init(&srv->streams_lock, NULL);
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
  grpc_server_credentials *creds = NULL;
  if (cfg->tls != NULL) {
    srv->tls = rpc_tls_watch_create_(cfg->tls, cfg->tls_reloaded, cfg->user, &creds, err, errlen);
    if (srv->tls == NULL) {
      rpc_server_destroy(srv);
      return NULL;
    }
  } else {
    creds = grpc_insecure_server_credentials_create();
  }
  srv->cfg.tls = NULL; /* the watch holds its own copy */
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

int rpc_server_add_stream_method(rpc_server *srv, const ProtobufCServiceDescriptor *svc,
                                 unsigned method_index, rpc_stream_open_fn open, void *user) {
  if (srv->started || svc == NULL || open == NULL || method_index >= svc->n_methods) {
    return -1;
  }
  for (size_t i = 0; i < srv->n_stream_regs; i++) {
    if (strcmp(srv->stream_regs[i].svc->name, svc->name) == 0 &&
        srv->stream_regs[i].index == method_index) {
      return -1;
    }
  }
  srv->stream_regs =
      xrealloc(srv->stream_regs, (srv->n_stream_regs + 1) * sizeof *srv->stream_regs);
  srv->stream_regs[srv->n_stream_regs++] = (struct rpc_stream_reg_){
      .svc = svc, .index = method_index, .open = open, .user = user, .observed = 1};
  return 0;
}

/* The stream registration of method index of the service named name, or NULL. */
static struct rpc_stream_reg_ *stream_reg_(struct rpc_server *srv, const char *name,
                                           unsigned index) {
  for (size_t i = 0; i < srv->n_stream_regs; i++) {
    if (strcmp(srv->stream_regs[i].svc->name, name) == 0 && srv->stream_regs[i].index == index) {
      return &srv->stream_regs[i];
    }
  }
  return NULL;
}

int rpc_server_port(const rpc_server *srv) {
  return srv->port;
}

static void add_method_(struct rpc_server *srv, char *path, enum rpc_method_kind kind,
                        ProtobufCService *svc, unsigned index, struct rpc_stream_reg_ *reg) {
  srv->methods = xrealloc(srv->methods, (srv->n_methods + 1) * sizeof *srv->methods);
  struct rpc_method_ *m = &srv->methods[srv->n_methods++];
  m->path = path;
  m->kind = kind;
  m->service = svc;
  m->index = index;
  m->reg = reg;
  /* streams read their request themselves (RECV_MESSAGE) */
  m->handle = grpc_server_register_method(srv->server, path, NULL,
                                          kind == RPC_M_REFLECTION || kind == RPC_M_STREAM
                                              ? GRPC_SRM_PAYLOAD_NONE
                                              : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
                                          0);
}

/* Whether a service named name was added with rpc_server_add_service. */
static int added_(const struct rpc_server *srv, const char *name) {
  for (size_t i = 0; i < srv->n_services; i++) {
    if (strcmp(srv->services[i]->descriptor->name, name) == 0) {
      return 1;
    }
  }
  return 0;
}

int rpc_server_start(rpc_server *srv, char *err, size_t errlen) {
  if (srv->started) {
    snprintf(err, errlen, "server already started");
    return -1;
  }
  const char **names = xcalloc(srv->n_services + srv->n_stream_regs + 3, sizeof *names);
  size_t n_names = 0;
  /* the sizes of methods are final here: pointers into it (stream regs
   * point the other way) stay valid */
  for (size_t i = 0; i < srv->n_services; i++) {
    const ProtobufCServiceDescriptor *d = srv->services[i]->descriptor;
    names[n_names++] = d->name;
    for (unsigned k = 0; k < d->n_methods; k++) {
      struct rpc_stream_reg_ *reg = stream_reg_(srv, d->name, k);
      add_method_(srv, xasprintf("/%s/%s", d->name, d->methods[k].name),
                  reg != NULL ? RPC_M_STREAM : RPC_M_USER, srv->services[i], k, reg);
    }
  }
  for (size_t i = 0; i < srv->n_stream_regs; i++) {
    struct rpc_stream_reg_ *reg = &srv->stream_regs[i];
    if (added_(srv, reg->svc->name)) {
      continue;
    }
    int named = 0;
    for (size_t k = 0; k < n_names; k++) {
      named = named || strcmp(names[k], reg->svc->name) == 0;
    }
    if (!named) {
      names[n_names++] = reg->svc->name;
    }
    add_method_(srv, xasprintf("/%s/%s", reg->svc->name, reg->svc->methods[reg->index].name),
                RPC_M_STREAM, NULL, reg->index, reg);
  }
  add_method_(srv, xasprintf("/%s/Check", rpc_health_service_), RPC_M_HEALTH, NULL, 0, NULL);
  srv->health_watch = (struct rpc_stream_reg_){.svc = &grpc__health__v1__health__descriptor,
                                               .index = 1,
                                               .open = rpc_health_watch_open_,
                                               .user = srv,
                                               .observed = 0};
  add_method_(srv, xasprintf("/%s/Watch", rpc_health_service_), RPC_M_STREAM, NULL, 1,
              &srv->health_watch);
  names[n_names++] = rpc_health_service_;
  if (srv->cfg.descriptor_set != NULL) {
    names[n_names++] = rpc_reflection_v1_;
    names[n_names++] = rpc_reflection_v1a_;
    srv->refl =
        rpc_reflection_create(srv->cfg.descriptor_set, srv->cfg.descriptor_set_len, names, n_names);
    if (srv->refl == NULL) {
      free(names);
      snprintf(err, errlen, "the reflection descriptor set does not parse");
      return -1;
    }
    add_method_(srv, xasprintf("/%s/ServerReflectionInfo", rpc_reflection_v1_), RPC_M_REFLECTION,
                NULL, 0, NULL);
    add_method_(srv, xasprintf("/%s/ServerReflectionInfo", rpc_reflection_v1a_), RPC_M_REFLECTION,
                NULL, 0, NULL);
  }
  free(names);
  grpc_server_start(srv->server);
  srv->started = 1;

  size_t per = srv->n_methods * RPC_REQUESTS_PER_METHOD + 1;
  srv->n_reqs = per * (size_t)srv->n_workers;
  srv->reqs = xcalloc(srv->n_reqs, sizeof *srv->reqs);
  for (int w = 0; w < srv->n_workers; w++) {
    for (size_t i = 0; i < per; i++) {
      struct rpc_req_ *r = xcalloc(1, sizeof *r);
      r->tag.kind = RPC_TAG_REQ;
      r->w = &srv->workers[w];
      r->m = i + 1 < per ? &srv->methods[i / RPC_REQUESTS_PER_METHOD] : NULL;
      srv->reqs[(size_t)w * per + i] = r;
    }
  }
  for (int i = 0; i < srv->n_workers; i++) {
    if (pthread_create(&srv->workers[i].thread, NULL, rpc_worker_main_, &srv->workers[i]) != 0) {
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
      rpc_streams_cancel_all_(srv);
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
  /* Running workers shut their own queue down once idle (rpc_worker_main_). */
  atomic_store(&srv->server_gone, 1);
  for (int i = 0; i < srv->n_workers; i++) {
    struct rpc_worker_ *w = &srv->workers[i];
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
  free(srv->stream_regs);
  pthread_mutex_destroy(&srv->streams_lock);
  free(srv->workers);
  rpc_reflection_destroy(srv->refl);
  rpc_tls_watch_destroy_(srv->tls); /* after grpc_server_destroy: no fetch after this */
  free(srv->addr);
  free(srv);
}
