/*
 * follow: one WatchChanges stream per gateway, the version it teaches, and
 * reconnection. See follow.h.
 *
 * Up means: the stream is open and the version is at least the current
 * version a ListChanges probe reported just before the stream was opened
 * (the stream's catch-up delivers what committed meanwhile). So after a
 * reconnect the cache serves nothing until the changes missed while down
 * have arrived: a cached body filled at version V is served only while the
 * follower knows V, never while a newer change is on its way.
 *
 * Why ListChanges for the start: it is the Changes service's own answer
 * ("current_version" from the same snapshot as the log), it validates the
 * resume version in the same call (FAILED_PRECONDITION when the log was
 * pruned past it), and it reads one index range. A Shows reply (ListEpisodes
 * on a window with no episodes, 1900-01-01) is the fallback when the log no
 * longer reaches version 0: its `version` is the data version of its snapshot.
 *
 * Threads: the follower's own thread does every call and every listener
 * callback; stop (the daemon's thread) sets stopping under lock and
 * cancels the stream (rpc_client_stream_cancel is thread-safe).
 */
#include "follow.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "strbuf.h"
#include "trace.h"
#include "tvmaze/v1/shows.pb-c.h"
#include "upstream.h"
#include "xalloc.h"

#define PROBE_TIMEOUT_MS 5000
#define POLL_MS 1000
#define DEAD_AFTER_MS 45000 /* three heartbeat periods without a message */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define WATCH_PATH "/tvmaze.v1.Changes/WatchChanges"

struct gw_follow {
  struct gw_upstream *up;      /* borrowed; read-only */
  struct gw_follow_listener l; /* read-only */
  pthread_t thread;
  int running;                  /* thread started (start/stop only) */
  pthread_mutex_t lock;         /* guards stopping, stream */
  pthread_cond_t wake;          /* stop (CLOCK_MONOTONIC waits) */
  int stopping;                 /* lock */
  rpc_client_stream *stream;    /* lock: the open stream, for stop's cancel */
  _Atomic int64_t version;      /* the last version known; -1: none */
  _Atomic int is_up;            /* 1 while the stream is open and caught up */
  _Atomic unsigned long reconn; /* streams that ended (reconnects) */
};

int gw_follow_version(const struct gw_follow *f, int64_t *version) {
  int up = atomic_load(&f->is_up);
  *version = atomic_load(&f->version);
  return up;
}

void gw_follow_render(const struct gw_follow *f, struct strbuf *out) {
  int64_t v;
  int up = gw_follow_version(f, &v);
  strbuf_appendf(out,
                 "# HELP tvmaze_gateway_follower_up 1 while the WatchChanges stream is open and "
                 "caught up (the response cache is used), 0 while it is down (bypassed)\n"
                 "# TYPE tvmaze_gateway_follower_up gauge\n"
                 "tvmaze_gateway_follower_up %d\n"
                 "# HELP tvmaze_gateway_follower_version The data version the gateway knows\n"
                 "# TYPE tvmaze_gateway_follower_version gauge\n"
                 "tvmaze_gateway_follower_version %lld\n"
                 "# HELP tvmaze_gateway_follower_reconnects_total WatchChanges streams that ended\n"
                 "# TYPE tvmaze_gateway_follower_reconnects_total counter\n"
                 "tvmaze_gateway_follower_reconnects_total %lu\n",
                 up, (long long)v, atomic_load(&f->reconn));
}

/* 1 when stop was asked. */
static int stopping_(struct gw_follow *f) {
  pthread_mutex_lock(&f->lock);
  int s = f->stopping;
  pthread_mutex_unlock(&f->lock);
  return s;
}

/* Waits ms or until stop; returns 1 when stopping. */
static int sleep_(struct gw_follow *f, long ms) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&f->lock);
  while (!f->stopping && pthread_cond_timedwait(&f->wake, &f->lock, &until) != ETIMEDOUT) {
  }
  int s = f->stopping;
  pthread_mutex_unlock(&f->lock);
  return s;
}

/* ListChanges(after_version=after, limit=1): RPC_OK and *current, or the
 * call's code. */
static rpc_code probe_(struct gw_follow *f, int64_t after, int64_t *current) {
  Tvmaze__V1__ListChangesRequest req = TVMAZE__V1__LIST_CHANGES_REQUEST__INIT;
  Google__Protobuf__Int32Value limit = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  limit.value = 1;
  req.limit = &limit;
  req.after_version = after;
  const ProtobufCMethodDescriptor *m = protobuf_c_service_descriptor_get_method_by_name(
      &tvmaze__v1__changes__descriptor, "ListChanges");
  struct gw_trace trace;
  gw_trace_new(gw_upstream_tracer(f->up), &trace);
  struct rpc_client_ctx ctx;
  gw_upstream_call_within(f->up, &tvmaze__v1__changes__descriptor,
                          (unsigned)(m - tvmaze__v1__changes__descriptor.methods), &req.base,
                          &trace, PROBE_TIMEOUT_MS, &ctx);
  rpc_code code = ctx.code;
  if (code == RPC_OK && ctx.reply)
    *current = ((const Tvmaze__V1__ListChangesResponse *)ctx.reply)->current_version;
  else if (code == RPC_OK)
    code = RPC_INTERNAL;
  rpc_client_ctx_release(&ctx);
  return code;
}

/* The version of a ListEpisodes reply on a window without episodes. */
static rpc_code shows_version_(struct gw_follow *f, int64_t *version) {
  Tvmaze__V1__ListEpisodesRequest req = TVMAZE__V1__LIST_EPISODES_REQUEST__INIT;
  Google__Protobuf__Int32Value per_page = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  per_page.value = 1;
  req.per_page = &per_page;
  req.date_from = (char *)"1900-01-01";
  req.date_to = (char *)"1900-01-01";
  const ProtobufCMethodDescriptor *m = protobuf_c_service_descriptor_get_method_by_name(
      &tvmaze__v1__shows__descriptor, "ListEpisodes");
  struct gw_trace trace;
  gw_trace_new(gw_upstream_tracer(f->up), &trace);
  struct rpc_client_ctx ctx;
  gw_upstream_call_within(f->up, &tvmaze__v1__shows__descriptor,
                          (unsigned)(m - tvmaze__v1__shows__descriptor.methods), &req.base, &trace,
                          PROBE_TIMEOUT_MS, &ctx);
  rpc_code code = ctx.code;
  if (code == RPC_OK && ctx.reply)
    *version = ((const Tvmaze__V1__ListEpisodesResponse *)ctx.reply)->version;
  else if (code == RPC_OK)
    code = RPC_INTERNAL;
  rpc_client_ctx_release(&ctx);
  return code;
}

/* Reads one stream from after_version *v until it ends (or stop); *v
 * follows the changes (the resume point), the known version follows the
 * changes and the heartbeats. up is set once the known version reaches
 * target. Returns the stream's end code (RPC_CANCELLED on stop or a dead
 * stream). */
static rpc_code read_stream_(struct gw_follow *f, int64_t *v, int64_t target) {
  Tvmaze__V1__WatchChangesRequest req = TVMAZE__V1__WATCH_CHANGES_REQUEST__INIT;
  req.after_version = *v;
  struct gw_trace trace;
  gw_trace_new(gw_upstream_tracer(f->up), &trace);
  rpc_client_stream *s = gw_upstream_stream_open(
      f->up, WATCH_PATH, &req.base, &tvmaze__v1__watch_changes_response__descriptor, &trace);
  pthread_mutex_lock(&f->lock);
  int stop = f->stopping;
  if (!stop)
    f->stream = s;
  pthread_mutex_unlock(&f->lock);
  rpc_code end = RPC_CANCELLED;
  long idle_ms = 0;
  int64_t known =
      *v; /* a heartbeat may say more than the last change; never skip a change for it */
  char msg[256] = "";
  while (!stop) {
    ProtobufCMessage *m = NULL;
    rpc_code rc = rpc_client_stream_next(s, &m, POLL_MS, msg, sizeof msg);
    if (rc == RPC_STREAM_PENDING) {
      idle_ms += POLL_MS;
      if (idle_ms >= DEAD_AFTER_MS) {
        LOG_EVENT(LOG_WARN, "follower_stream_silent", LF_INT("version", *v));
        break;
      }
    } else if (rc == RPC_OK && m) {
      idle_ms = 0;
      const Tvmaze__V1__WatchChangesResponse *r = (const Tvmaze__V1__WatchChangesResponse *)m;
      if (r->message_case == TVMAZE__V1__WATCH_CHANGES_RESPONSE__MESSAGE_CHANGE && r->change &&
          r->change->version > *v) {
        *v = r->change->version;
        if (*v > known)
          known = *v;
        atomic_store(&f->version, known);
        if (f->l.on_change)
          f->l.on_change(f->l.user, r->change);
      } else if (r->message_case == TVMAZE__V1__WATCH_CHANGES_RESPONSE__MESSAGE_HEARTBEAT &&
                 r->heartbeat && r->heartbeat->current_version > known) {
        /* unfiltered: a heartbeat comes when every change was sent */
        known = r->heartbeat->current_version;
        atomic_store(&f->version, known);
      }
      protobuf_c_message_free_unpacked(m, NULL);
    } else {
      end = rc;
      break;
    }
    if (!atomic_load(&f->is_up) && known >= target) {
      atomic_store(&f->is_up, 1);
      LOG_EVENT(LOG_INFO, "follower_up", LF_INT("version", known));
    }
    stop = stopping_(f);
  }
  if (atomic_exchange(&f->is_up, 0))
    LOG_EVENT(LOG_WARN, "follower_down", LF_INT("version", *v), LF_STR("code", rpc_code_name(end)),
              LF_STR("message", msg));
  pthread_mutex_lock(&f->lock);
  f->stream = NULL;
  pthread_mutex_unlock(&f->lock);
  rpc_client_stream_close(s);
  return end;
}

static void *follow_main_(void *arg) {
  struct gw_follow *f = arg;
  int64_t v = -1;
  int have = 0; /* v is a version the stream may resume from */
  long backoff = BACKOFF_MIN_MS;
  while (!stopping_(f)) {
    int64_t current = 0;
    rpc_code rc = probe_(f, have ? v : 0, &current);
    if (rc == RPC_FAILED_PRECONDITION && have) {
      have = 0; /* the log was pruned past v: start again from now */
      continue;
    }
    if (rc == RPC_FAILED_PRECONDITION)
      rc = shows_version_(f, &current);
    if (rc != RPC_OK) {
      if (sleep_(f, backoff))
        break;
      backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
      continue;
    }
    if (!have) {
      v = current;
      have = 1;
    }
    atomic_store(&f->version, v);
    if (f->l.on_base)
      f->l.on_base(f->l.user, v);
    int64_t before = v;
    rpc_code end = read_stream_(f, &v, current);
    if (stopping_(f))
      break;
    atomic_fetch_add(&f->reconn, 1);
    if (end == RPC_FAILED_PRECONDITION)
      have = 0;
    if (v > before)
      backoff = BACKOFF_MIN_MS; /* it delivered: a drain or a cut, come back at once */
    if (sleep_(f, backoff))
      break;
    backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
  }
  return NULL;
}

struct gw_follow *gw_follow_start(struct gw_upstream *up, const struct gw_follow_listener *listener,
                                  char *err, size_t errlen) {
  struct gw_follow *f = xcalloc(1, sizeof *f);
  f->up = up;
  if (listener)
    f->l = *listener;
  atomic_init(&f->version, -1);
  atomic_init(&f->is_up, 0);
  atomic_init(&f->reconn, 0);
  pthread_mutex_init(&f->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&f->wake, &ca);
  pthread_condattr_destroy(&ca);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  int rc = pthread_create(&f->thread, &attr, follow_main_, f);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    snprintf(err, errlen, "cannot start the change follower thread");
    gw_follow_stop(f);
    return NULL;
  }
  f->running = 1;
  return f;
}

void gw_follow_stop(struct gw_follow *f) {
  if (!f)
    return;
  pthread_mutex_lock(&f->lock);
  f->stopping = 1;
  if (f->stream)
    rpc_client_stream_cancel(f->stream);
  pthread_cond_broadcast(&f->wake);
  pthread_mutex_unlock(&f->lock);
  if (f->running)
    pthread_join(f->thread, NULL);
  pthread_cond_destroy(&f->wake);
  pthread_mutex_destroy(&f->lock);
  free(f);
}
