/*
 * test_rpc_stream: server-streaming methods through the binding (rpc/rpc_stream.c,
 * rpc_bytes.c, rpc_health_watch.c) and the client half's streaming read
 * (rpc/rpc_client_stream.c): an in-process server with tvmaze.v1.Changes, ListChanges unary
 * (rpc_server_add_service) and WatchChanges a stream (rpc_server_add_stream_method), read with
 * rpc_client_stream_*.
 *
 * The test open decides by after_version (the request's first field):
 *   -1   refuses: INVALID_ARGUMENT "after_version: must not be negative"
 *   1    a thread sends show_ids[0] heartbeats (current_version 1..n, odd ones
 *        through rpc_bytes, even ones packed per send), then finishes OK
 *   2    holds: accepted, nothing sent (cancel, deadline and drain tests); its
 *        CLOSED event counts in hold_closed and records what a send returns
 *        then in hold_end_code
 *   3    floods: a thread sends 1 KiB changes until a send fails (a client that
 *        never reads), recording the largest queue seen and the failing code
 *   4    returns without accepting or refusing (INTERNAL)
 *   5    sends metadata "x-k" and the worker data back, and checks a send of
 *        the wrong type is refused, then finishes OK
 *   6    a catch-up: a thread sends show_ids[0] 1 KiB changes (version 1..n)
 *        into a queue of 16, only while there is room; when there is none it
 *        sets `catchup_full` and waits for the ROOM event; then finishes OK
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "grpc/health/v1/health.pb-c.h"
#include "rpc.h"
#include "tvmaze/v1/changes.pb-c.h"

#define WORKERS 2

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED_ 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED_ 1
#endif
#endif
#ifndef SANITIZED_
#define SANITIZED_ 0
#endif
#define WATCH_PATH "/tvmaze.v1.Changes/WatchChanges"
#define HEALTH_WATCH_PATH "/grpc.health.v1.Health/Watch"

static atomic_int opened, closed, rooms, started_obs, finished_obs, health_state;
static atomic_int hold_closed, hold_end_code, flood_code, flood_max_queued, flood_sent;
static atomic_int catchup_full;
static int worker_tokens[WORKERS];

static void sleep_ms_(int64_t ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int64_t now_ms_(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits (without a timed assertion: up to 60 s, for a noisy machine) until
 * *v reaches want. */
static void wait_for_(atomic_int *v, int want) {
  for (int i = 0; i < 60000 && atomic_load(v) < want; i++) {
    sleep_ms_(1);
  }
  assert_true(atomic_load(v) >= want);
}

static void *worker_init_(int index, void *user) {
  (void)user;
  worker_tokens[index] = 1000 + index;
  return &worker_tokens[index];
}

static rpc_health_status health_(const char *service, void *worker_data, void *user) {
  (void)service;
  (void)user;
  assert_non_null(worker_data);
  return (rpc_health_status)atomic_load(&health_state);
}

static void observe_(const struct rpc_call_report *r, void *user) {
  (void)user;
  if (r->streaming) {
    atomic_fetch_add(r->event == RPC_CALL_STARTED ? &started_obs : &finished_obs, 1);
  }
}

/* ------------------------------------------------------------------ */
/* The test service                                                   */
/* ------------------------------------------------------------------ */

static void on_event_(rpc_stream *s, enum rpc_stream_event ev, void *user) {
  if (ev == RPC_STREAM_ROOM) {
    atomic_fetch_add(&rooms, 1);
    return;
  }
  Tvmaze__V1__Heartbeat hb = TVMAZE__V1__HEARTBEAT__INIT;
  Tvmaze__V1__WatchChangesResponse r = TVMAZE__V1__WATCH_CHANGES_RESPONSE__INIT;
  r.message_case = TVMAZE__V1__WATCH_CHANGES_RESPONSE__MESSAGE_HEARTBEAT;
  r.heartbeat = &hb;
  rpc_code end = rpc_stream_send(s, &r.base);
  atomic_fetch_add(&closed, 1);
  if (user != NULL) { /* hold: the owner's reference is dropped here */
    atomic_store(&hold_end_code, (int)end);
    atomic_fetch_add(&hold_closed, 1);
    rpc_stream_unref(s);
  }
}

struct pusher_ {
  rpc_stream *s;
  int n;
};

static void heartbeat_(Tvmaze__V1__WatchChangesResponse *r, Tvmaze__V1__Heartbeat *hb, int64_t v) {
  tvmaze__v1__heartbeat__init(hb);
  tvmaze__v1__watch_changes_response__init(r);
  hb->current_version = v;
  r->message_case = TVMAZE__V1__WATCH_CHANGES_RESPONSE__MESSAGE_HEARTBEAT;
  r->heartbeat = hb;
}

static void *push_ordered_(void *arg) {
  struct pusher_ *p = arg;
  for (int i = 1; i <= p->n; i++) {
    Tvmaze__V1__WatchChangesResponse r;
    Tvmaze__V1__Heartbeat hb;
    heartbeat_(&r, &hb, i);
    while (rpc_stream_room(p->s) == 0 && rpc_stream_is_open(p->s)) {
      sleep_ms_(1); /* a catch-up sends only what fits */
    }
    rpc_code rc;
    if (i % 2 == 1) {
      rpc_bytes *b = rpc_bytes_pack(&r.base);
      rc = rpc_stream_send_bytes(p->s, b);
      rpc_bytes_unref(b);
    } else {
      rc = rpc_stream_send(p->s, &r.base);
    }
    if (rc != RPC_OK) {
      break;
    }
  }
  rpc_stream_finish(p->s, RPC_OK, "done");
  rpc_stream_unref(p->s);
  free(p);
  return NULL;
}

static void *push_flood_(void *arg) {
  struct pusher_ *p = arg;
  char big[1024];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  char *fields[1] = {big};
  Tvmaze__V1__Change ch = TVMAZE__V1__CHANGE__INIT;
  ch.n_fields = 1;
  ch.fields = fields;
  Tvmaze__V1__WatchChangesResponse r = TVMAZE__V1__WATCH_CHANGES_RESPONSE__INIT;
  r.message_case = TVMAZE__V1__WATCH_CHANGES_RESPONSE__MESSAGE_CHANGE;
  r.change = &ch;
  rpc_bytes *b = rpc_bytes_pack(&r.base);
  for (int i = 0; i < 1000000; i++) {
    ch.version = i;
    rpc_code rc = rpc_stream_send_bytes(p->s, b);
    int q = (int)rpc_stream_queued(p->s);
    if (q > atomic_load(&flood_max_queued)) {
      atomic_store(&flood_max_queued, q);
    }
    if (rc != RPC_OK) {
      atomic_store(&flood_code, (int)rc);
      break;
    }
    atomic_fetch_add(&flood_sent, 1);
  }
  rpc_bytes_unref(b);
  rpc_stream_unref(p->s);
  free(p);
  return NULL;
}

static void start_pusher_(rpc_stream *s, int n, void *(*fn)(void *)) {
  struct pusher_ *p = malloc(sizeof *p);
  assert_non_null(p);
  p->s = s;
  p->n = n;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, fn, p), 0);
  pthread_detach(t);
}

/* A catch-up (mode 6): waits for ROOM (or CLOSED) when the queue is full. */
struct catchup_ {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int room;   /* ROOM events so far */
  int closed; /* CLOSED came */
  rpc_stream *s;
  int n;
};

static void catchup_event_(rpc_stream *s, enum rpc_stream_event ev, void *user) {
  (void)s;
  struct catchup_ *c = user;
  pthread_mutex_lock(&c->lock);
  if (ev == RPC_STREAM_ROOM) {
    c->room++;
    atomic_fetch_add(&rooms, 1);
  } else {
    c->closed = 1;
  }
  pthread_cond_signal(&c->cond);
  pthread_mutex_unlock(&c->lock);
}

static void *push_catchup_(void *arg) {
  struct catchup_ *c = arg;
  char big[1024];
  memset(big, 'y', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  char *fields[1] = {big};
  Tvmaze__V1__Change ch = TVMAZE__V1__CHANGE__INIT;
  ch.n_fields = 1;
  ch.fields = fields;
  Tvmaze__V1__WatchChangesResponse r = TVMAZE__V1__WATCH_CHANGES_RESPONSE__INIT;
  r.message_case = TVMAZE__V1__WATCH_CHANGES_RESPONSE__MESSAGE_CHANGE;
  r.change = &ch;
  int ok = 1;
  for (int i = 1; i <= c->n && ok; i++) {
    /* the pattern a catch-up follows: note the ROOM count, look at the
     * room, and if there is none wait for a ROOM after that point */
    for (;;) {
      pthread_mutex_lock(&c->lock);
      int seen = c->room;
      ok = !c->closed;
      pthread_mutex_unlock(&c->lock);
      if (!ok || rpc_stream_room(c->s) > 0) {
        break;
      }
      atomic_store(&catchup_full, 1);
      pthread_mutex_lock(&c->lock);
      while (c->room == seen && !c->closed) {
        pthread_cond_wait(&c->cond, &c->lock);
      }
      pthread_mutex_unlock(&c->lock);
    }
    ch.version = i;
    ok = ok && rpc_stream_send(c->s, &r.base) == RPC_OK;
  }
  rpc_stream_finish(c->s, RPC_OK, "caught up");
  /* the CLOSED event may still come: wait for it before freeing c */
  pthread_mutex_lock(&c->lock);
  while (!c->closed) {
    pthread_cond_wait(&c->cond, &c->lock);
  }
  pthread_mutex_unlock(&c->lock);
  rpc_stream_unref(c->s);
  pthread_cond_destroy(&c->cond);
  pthread_mutex_destroy(&c->lock);
  free(c);
  return NULL;
}

static void watch_open_(rpc_call *call, const ProtobufCMessage *request, void *user) {
  (void)user;
  const Tvmaze__V1__WatchChangesRequest *req = (const Tvmaze__V1__WatchChangesRequest *)request;
  static int hold_marker;
  struct rpc_stream_config cfg = {.on_event = on_event_};
  rpc_stream *s = NULL;
  switch (req->after_version) {
  case -1:
    rpc_call_set_status(call, RPC_INVALID_ARGUMENT, "after_version: must not be negative");
    return;
  case 1:
    s = rpc_call_stream_accept(call, &cfg);
    assert_non_null(s);
    assert_null(rpc_call_stream_accept(call, &cfg)); /* once */
    atomic_fetch_add(&opened, 1);
    start_pusher_(s, req->n_show_ids > 0 ? req->show_ids[0] : 1, push_ordered_);
    return;
  case 2:
    cfg.user = &hold_marker;
    s = rpc_call_stream_accept(call, &cfg);
    assert_non_null(s);
    atomic_fetch_add(&opened, 1);
    return; /* the CLOSED event drops the reference */
  case 3:
    cfg.max_queued = 64;
    s = rpc_call_stream_accept(call, &cfg);
    assert_non_null(s);
    atomic_fetch_add(&opened, 1);
    start_pusher_(s, 0, push_flood_);
    return;
  case 4:
    return;
  case 5: {
    s = rpc_call_stream_accept(call, &cfg);
    assert_non_null(s);
    atomic_fetch_add(&opened, 1);
    const char *k = rpc_call_metadata(call, "x-k");
    int64_t v = (k != NULL ? (int64_t)strlen(k) : -1) * 10000 + *(int *)rpc_call_worker_data(call);
    Tvmaze__V1__WatchChangesResponse r;
    Tvmaze__V1__Heartbeat hb;
    heartbeat_(&r, &hb, v);
    assert_int_equal(rpc_stream_send(s, &hb.base), RPC_INVALID_ARGUMENT); /* wrong type */
    assert_int_equal(rpc_stream_send(s, &r.base), RPC_OK);
    rpc_stream_finish(s, RPC_OK, "bye");
    assert_int_equal(rpc_stream_send(s, &r.base), RPC_OK); /* the end code: OK */
    rpc_stream_unref(s);
    return;
  }
  case 6: {
    struct catchup_ *c = calloc(1, sizeof *c);
    assert_non_null(c);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    c->n = req->n_show_ids > 0 ? req->show_ids[0] : 1;
    struct rpc_stream_config ccfg = {.on_event = catchup_event_, .user = c, .max_queued = 16};
    c->s = rpc_call_stream_accept(call, &ccfg);
    assert_non_null(c->s);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, push_catchup_, c), 0);
    pthread_detach(t);
    return;
  }
  default:
    rpc_call_set_status(call, RPC_INVALID_ARGUMENT, "after_version: unknown test mode");
    return;
  }
}

static void list_changes_(Tvmaze__V1__Changes_Service *svc,
                          const Tvmaze__V1__ListChangesRequest *in,
                          Tvmaze__V1__ListChangesResponse_Closure done, void *cd) {
  (void)svc;
  Tvmaze__V1__ListChangesResponse r = TVMAZE__V1__LIST_CHANGES_RESPONSE__INIT;
  r.current_version = 42;
  r.next_after_version = in->after_version;
  done(&r, cd);
}

static Tvmaze__V1__Changes_Service changes_impl = {TVMAZE__V1__CHANGES__BASE_INIT, list_changes_,
                                                   NULL /* WatchChanges: a stream */};

/* ------------------------------------------------------------------ */
/* Fixtures                                                           */
/* ------------------------------------------------------------------ */

static rpc_server *srv;
static rpc_channel *chan;
static char target[64];

static rpc_server *make_server_(int grace_ms) {
  struct rpc_server_config cfg = {
      .addr = "127.0.0.1:0",
      .workers = WORKERS,
      .grace_ms = grace_ms,
      .worker_init = worker_init_,
      .health = health_,
      .observe = observe_,
  };
  char err[256];
  rpc_server *s = rpc_server_create(&cfg, err, sizeof err);
  assert_non_null(s);
  assert_int_equal(
      rpc_server_add_stream_method(s, &tvmaze__v1__changes__descriptor, 1, watch_open_, NULL), 0);
  assert_int_equal(
      rpc_server_add_stream_method(s, &tvmaze__v1__changes__descriptor, 1, watch_open_, NULL),
      -1); /* twice */
  assert_int_equal(
      rpc_server_add_stream_method(s, &tvmaze__v1__changes__descriptor, 9, watch_open_, NULL),
      -1); /* no such method */
  assert_int_equal(rpc_server_add_service(s, &changes_impl.base), 0);
  assert_int_equal(rpc_server_start(s, err, sizeof err), 0);
  return s;
}

static void *run_until_signal_(void *arg) {
  static int sig;
  sig = rpc_server_run_until_signal(arg);
  return &sig;
}

static void stop_server_(rpc_server *s) {
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, run_until_signal_, s), 0);
  rpc_server_request_stop(s);
  void *ret = NULL;
  pthread_join(t, &ret);
  assert_int_equal(*(int *)ret, 0);
  rpc_server_destroy(s);
}

static int setup_(void **state) {
  (void)state;
  atomic_store(&health_state, RPC_HEALTH_SERVING);
  srv = make_server_(10000);
  snprintf(target, sizeof target, "127.0.0.1:%d", rpc_server_port(srv));
  chan = rpc_channel_create(target, 0);
  return 0;
}

static int teardown_(void **state) {
  (void)state;
  rpc_channel_destroy(chan);
  stop_server_(srv);
  return 0;
}

static rpc_client_stream *watch_(rpc_channel *ch, int64_t mode, int n, int64_t timeout_ms) {
  Tvmaze__V1__WatchChangesRequest req = TVMAZE__V1__WATCH_CHANGES_REQUEST__INIT;
  req.after_version = mode;
  int32_t ids[1] = {n};
  req.n_show_ids = 1;
  req.show_ids = ids;
  struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(timeout_ms);
  return rpc_client_stream_open(ch, WATCH_PATH, &req.base,
                                &tvmaze__v1__watch_changes_response__descriptor, &ctx);
}

/* Reads s to its end; returns the end code, the count of replies in *n and
 * checks heartbeats come 1, 2, 3, ... */
static rpc_code drain_client_(rpc_client_stream *s, int *n, char *msg, size_t msglen) {
  *n = 0;
  for (;;) {
    ProtobufCMessage *m = NULL;
    rpc_code rc = rpc_client_stream_next(s, &m, -1, msg, msglen);
    if (m == NULL) {
      return rc;
    }
    Tvmaze__V1__WatchChangesResponse *r = (Tvmaze__V1__WatchChangesResponse *)m;
    if (r->message_case == TVMAZE__V1__WATCH_CHANGES_RESPONSE__MESSAGE_HEARTBEAT) {
      assert_int_equal(r->heartbeat->current_version, *n + 1);
    }
    (*n)++;
    protobuf_c_message_free_unpacked(m, NULL);
  }
}

/* ------------------------------------------------------------------ */
/* Tests                                                              */
/* ------------------------------------------------------------------ */

static void test_ordered_from_another_thread(void **state) {
  (void)state;
  rpc_client_stream *s = watch_(chan, 1, 2000, 0);
  int n = 0;
  char msg[256];
  assert_int_equal(drain_client_(s, &n, msg, sizeof msg), RPC_OK);
  assert_int_equal(n, 2000);
  assert_string_equal(msg, "done");
  /* after the end the same status again */
  ProtobufCMessage *m = NULL;
  assert_int_equal(rpc_client_stream_next(s, &m, 0, msg, sizeof msg), RPC_OK);
  assert_null(m);
  rpc_client_stream_close(s);
}

static void test_unary_method_of_the_same_service(void **state) {
  (void)state;
  ProtobufCService *svc = rpc_client_service_create(chan, &tvmaze__v1__changes__descriptor);
  Tvmaze__V1__ListChangesRequest req = TVMAZE__V1__LIST_CHANGES_REQUEST__INIT;
  req.after_version = 7;
  struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(5000);
  tvmaze__v1__changes__list_changes(
      svc, &req, (Tvmaze__V1__ListChangesResponse_Closure)rpc_client_keep_reply, &ctx);
  assert_int_equal(ctx.code, RPC_OK);
  Tvmaze__V1__ListChangesResponse *r = (Tvmaze__V1__ListChangesResponse *)ctx.reply;
  assert_int_equal(r->current_version, 42);
  assert_int_equal(r->next_after_version, 7);
  rpc_client_ctx_release(&ctx);
  rpc_client_service_destroy(svc);
}

static void test_open_refused(void **state) {
  (void)state;
  int n = 0;
  char msg[256];
  rpc_client_stream *s = watch_(chan, -1, 0, 5000);
  assert_int_equal(drain_client_(s, &n, msg, sizeof msg), RPC_INVALID_ARGUMENT);
  assert_int_equal(n, 0);
  assert_string_equal(msg, "after_version: must not be negative");
  rpc_client_stream_close(s);

  s = watch_(chan, 4, 0, 5000);
  assert_int_equal(drain_client_(s, &n, msg, sizeof msg), RPC_INTERNAL);
  assert_string_equal(msg, "stream open returned without accepting or refusing");
  rpc_client_stream_close(s);
}

static void test_metadata_and_types(void **state) {
  (void)state;
  Tvmaze__V1__WatchChangesRequest req = TVMAZE__V1__WATCH_CHANGES_REQUEST__INIT;
  req.after_version = 5;
  struct rpc_metadata md[1] = {{"x-k", "abc"}};
  struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(5000);
  ctx.metadata = md;
  ctx.n_metadata = 1;
  rpc_client_stream *s = rpc_client_stream_open(
      chan, WATCH_PATH, &req.base, &tvmaze__v1__watch_changes_response__descriptor, &ctx);
  ProtobufCMessage *m = NULL;
  char msg[256];
  assert_int_equal(rpc_client_stream_next(s, &m, -1, msg, sizeof msg), RPC_OK);
  assert_non_null(m);
  int64_t v = ((Tvmaze__V1__WatchChangesResponse *)m)->heartbeat->current_version;
  assert_int_equal(v / 10000, 3);
  assert_true(v % 10000 == 1000 || v % 10000 == 1001);
  protobuf_c_message_free_unpacked(m, NULL);
  assert_int_equal(rpc_client_stream_next(s, &m, -1, msg, sizeof msg), RPC_OK);
  assert_null(m);
  assert_string_equal(msg, "bye");
  rpc_client_stream_close(s);
}

static void test_cancel_fires_closed(void **state) {
  (void)state;
  int o = atomic_load(&opened), c = atomic_load(&hold_closed);
  rpc_client_stream *s = watch_(chan, 2, 0, 0);
  ProtobufCMessage *m = NULL;
  char msg[256];
  assert_int_equal(rpc_client_stream_next(s, &m, 50, msg, sizeof msg), RPC_STREAM_PENDING);
  wait_for_(&opened, o + 1);
  assert_int_equal(rpc_client_stream_next(s, &m, 0, msg, sizeof msg), RPC_STREAM_PENDING);
  rpc_client_stream_cancel(s);
  assert_int_equal(rpc_client_stream_next(s, &m, -1, msg, sizeof msg), RPC_CANCELLED);
  wait_for_(&hold_closed, c + 1);
  assert_int_equal(atomic_load(&hold_end_code), RPC_CANCELLED);
  rpc_client_stream_close(s);
}

static void test_deadline_ends_stream(void **state) {
  (void)state;
  int c = atomic_load(&hold_closed);
  rpc_client_stream *s = watch_(chan, 2, 0, 300);
  int n = 0;
  char msg[256];
  assert_int_equal(drain_client_(s, &n, msg, sizeof msg), RPC_DEADLINE_EXCEEDED);
  wait_for_(&hold_closed, c + 1);
  assert_int_equal(atomic_load(&hold_end_code), RPC_DEADLINE_EXCEEDED);
  rpc_client_stream_close(s);
}

static void test_slow_reader_resource_exhausted(void **state) {
  (void)state;
  atomic_store(&flood_code, 0);
  atomic_store(&flood_max_queued, 0);
  atomic_store(&flood_sent, 0);
  int c = atomic_load(&closed);
  rpc_client_stream *s = watch_(chan, 3, 0, 0);
  /* the client does not read: the server's queue fills and the stream ends */
  wait_for_(&flood_code, 1);
  assert_int_equal(atomic_load(&flood_code), RPC_RESOURCE_EXHAUSTED);
  assert_true(atomic_load(&flood_max_queued) <= 64);
  /* bounded: the queue plus what HTTP/2 flow control and the socket took */
  assert_true(atomic_load(&flood_sent) < 64 + 4096);
  wait_for_(&closed, c + 1);
  int n = 0;
  char msg[256];
  assert_int_equal(drain_client_(s, &n, msg, sizeof msg), RPC_RESOURCE_EXHAUSTED);
  assert_string_equal(msg, "stream reader too slow: 64 messages queued");
  rpc_client_stream_close(s);
}

static void test_catch_up_waits_for_room(void **state) {
  (void)state;
  atomic_store(&catchup_full, 0);
  int r0 = atomic_load(&rooms);
  rpc_client_stream *s = watch_(chan, 6, 1000, 0);
  /* not reading yet: flow control stalls the stream and its queue fills */
  wait_for_(&catchup_full, 1);
  char msg[256];
  int n = 0;
  for (;;) {
    ProtobufCMessage *m = NULL;
    rpc_code rc = rpc_client_stream_next(s, &m, -1, msg, sizeof msg);
    if (m == NULL) {
      assert_int_equal(rc, RPC_OK);
      break;
    }
    assert_int_equal(((Tvmaze__V1__WatchChangesResponse *)m)->change->version, n + 1);
    n++;
    protobuf_c_message_free_unpacked(m, NULL);
  }
  assert_int_equal(n, 1000);
  assert_string_equal(msg, "caught up");
  assert_true(atomic_load(&rooms) > r0); /* the producer went on after ROOM */
  rpc_client_stream_close(s);
}

static void test_health_watch(void **state) {
  (void)state;
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  req.service = (char *)"tvmaze.v1.Changes";
  rpc_client_stream *s =
      rpc_client_stream_open(chan, HEALTH_WATCH_PATH, &req.base,
                             &grpc__health__v1__health_check_response__descriptor, NULL);
  int want[3] = {RPC_HEALTH_SERVING, RPC_HEALTH_NOT_SERVING, RPC_HEALTH_SERVING};
  char msg[256];
  for (int i = 0; i < 3; i++) {
    ProtobufCMessage *m = NULL;
    assert_int_equal(rpc_client_stream_next(s, &m, -1, msg, sizeof msg), RPC_OK);
    assert_int_equal(((Grpc__Health__V1__HealthCheckResponse *)m)->status, want[i]);
    protobuf_c_message_free_unpacked(m, NULL);
    atomic_store(&health_state, want[(i + 1) % 3]);
  }
  rpc_client_stream_close(s);

  req.service = (char *)"no.such.Service";
  s = rpc_client_stream_open(chan, HEALTH_WATCH_PATH, &req.base,
                             &grpc__health__v1__health_check_response__descriptor, NULL);
  ProtobufCMessage *m = NULL;
  assert_int_equal(rpc_client_stream_next(s, &m, -1, msg, sizeof msg), RPC_OK);
  assert_int_equal(((Grpc__Health__V1__HealthCheckResponse *)m)->status,
                   RPC_HEALTH_SERVICE_UNKNOWN);
  protobuf_c_message_free_unpacked(m, NULL);
  /* and the stream stays open */
  assert_int_equal(rpc_client_stream_next(s, &m, 100, msg, sizeof msg), RPC_STREAM_PENDING);
  rpc_client_stream_close(s);
}

static long rss_kb_(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  assert_non_null(f);
  assert_int_equal(fscanf(f, "%ld %ld", &pages, &resident), 2);
  fclose(f);
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void open_close_(int n) {
  for (int i = 0; i < n; i++) {
    rpc_client_stream *s = watch_(chan, i % 3 == 0 ? 2 : 1, 1, 0);
    if (i % 3 == 1) {
      int k = 0;
      assert_int_equal(drain_client_(s, &k, NULL, 0), RPC_OK);
      assert_int_equal(k, 1);
    }
    rpc_client_stream_close(s); /* the others: cancelled at once */
  }
}

static void test_open_close_loop_no_leak(void **state) {
  (void)state;
  open_close_(1000); /* warm up: allocator and gRPC pools */
  long before = rss_kb_();
  open_close_(10000);
  long after = rss_kb_();
  printf("RSS over 10,000 stream opens and closes: %ld KiB -> %ld KiB\n", before, after);
#if !SANITIZED_
  /* the server is in this process: its streams are freed too (under ASan
   * its quarantine keeps freed memory resident; LeakSanitizer checks
   * instead, at exit) */
  assert_true(after - before < 16 * 1024);
#endif
  wait_for_(&finished_obs, atomic_load(&started_obs)); /* every stream over */
}

static void test_drain_200_streams(void **state) {
  (void)state;
  int grace_ms = 20000;
  rpc_server *s2 = make_server_(grace_ms);
  char t2[64];
  snprintf(t2, sizeof t2, "127.0.0.1:%d", rpc_server_port(s2));
  rpc_channel *ch2 = rpc_channel_create(t2, 0);
  int o = atomic_load(&opened), c = atomic_load(&hold_closed);
  static rpc_client_stream *ss[200];
  for (int i = 0; i < 200; i++) {
    ss[i] = watch_(ch2, 2, 0, 0);
  }
  wait_for_(&opened, o + 200);
  int64_t t0 = now_ms_();
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, run_until_signal_, s2), 0);
  rpc_server_request_stop(s2);
  void *ret = NULL;
  pthread_join(t, &ret);
  int64_t took = now_ms_() - t0;
  assert_int_equal(*(int *)ret, 0);
  assert_true(took < grace_ms); /* the streams did not hold the drain to the end */
  assert_true(atomic_load(&hold_closed) >= c + 200);
  assert_int_equal(atomic_load(&hold_end_code), RPC_UNAVAILABLE);
  for (int i = 0; i < 200; i++) {
    int n = 0;
    char msg[256];
    assert_int_equal(drain_client_(ss[i], &n, msg, sizeof msg), RPC_UNAVAILABLE);
    assert_string_equal(msg, "server is shutting down; resume from the last version received");
    rpc_client_stream_close(ss[i]);
  }
  rpc_server_destroy(s2);
  rpc_channel_destroy(ch2);
  printf("drain of 200 streams: %lld ms\n", (long long)took);
}

int main(void) {
  rpc_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ordered_from_another_thread),
      cmocka_unit_test(test_unary_method_of_the_same_service),
      cmocka_unit_test(test_open_refused),
      cmocka_unit_test(test_metadata_and_types),
      cmocka_unit_test(test_cancel_fires_closed),
      cmocka_unit_test(test_deadline_ends_stream),
      cmocka_unit_test(test_slow_reader_resource_exhausted),
      cmocka_unit_test(test_catch_up_waits_for_room),
      cmocka_unit_test(test_health_watch),
      cmocka_unit_test(test_open_close_loop_no_leak),
      cmocka_unit_test(test_drain_200_streams),
  };
  int rc = cmocka_run_group_tests(tests, setup_, teardown_);
  rpc_cleanup();
  return rc;
}
