/*
 * rpc_health_watch: grpc.health.v1.Health/Watch, a server stream of the
 * binding itself (rpc_stream.c). The open sends the current status at once:
 * the health callback's answer for a served name ("" = the whole server),
 * SERVICE_UNKNOWN for any other name (the stream stays open, as the health
 * spec says: the set of services never changes here, so nothing follows).
 *
 * A watcher of a served name joins its worker's list; while the list is
 * not empty the worker wakes once a second (rpc_worker.c) and this file
 * calls the health callback once per distinct watched name, on that worker
 * with its worker_data (the callback may check the database), and sends
 * only changes. A watcher leaves the list on CLOSED, which fires on the
 * same worker (the stream's queue), so the list needs no lock.
 */
#include <stdlib.h>
#include <string.h>

#include <grpc/support/time.h>

#include "grpc/health/v1/health.pb-c.h"
#include "rpc_server_impl.h"
#include "xalloc.h"

#define POLL_MS 1000

struct rpc_health_watcher_ {
  struct rpc_worker_ *w;
  rpc_stream *s; /* the watcher's reference */
  char *service; /* owned */
  rpc_health_status last;
  int polled; /* this round */
  struct rpc_health_watcher_ *next;
};

static rpc_health_status ask_(struct rpc_worker_ *w, const char *name) {
  struct rpc_server *srv = w->srv;
  return srv->cfg.health != NULL ? srv->cfg.health(name, w->data, srv->cfg.user)
                                 : RPC_HEALTH_SERVING;
}

static void send_(rpc_stream *s, rpc_health_status st) {
  Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
  resp.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)st;
  rpc_stream_send(s, &resp.base);
}

static void on_event_(rpc_stream *s, enum rpc_stream_event ev, void *user) {
  struct rpc_health_watcher_ *hw = user;
  if (ev != RPC_STREAM_CLOSED) {
    return;
  }
  if (hw == NULL) { /* SERVICE_UNKNOWN: never listed */
    rpc_stream_unref(s);
    return;
  }
  struct rpc_health_watcher_ **p = &hw->w->watchers;
  while (*p != NULL && *p != hw) {
    p = &(*p)->next;
  }
  if (*p == hw) {
    *p = hw->next;
  }
  rpc_stream_unref(hw->s);
  free(hw->service);
  free(hw);
}

void rpc_health_watch_open_(rpc_call *call, const ProtobufCMessage *request, void *user) {
  struct rpc_server *srv = user;
  const Grpc__Health__V1__HealthCheckRequest *req =
      (const Grpc__Health__V1__HealthCheckRequest *)request;
  const char *name = req->service ? req->service : "";
  struct rpc_worker_ *w = call->w;
  if (name[0] != '\0' && !rpc_served_(srv, name)) {
    struct rpc_stream_config cfg = {.on_event = on_event_, .user = NULL, .max_queued = 4};
    rpc_stream *s = rpc_call_stream_accept(call, &cfg);
    if (s != NULL) {
      send_(s, RPC_HEALTH_SERVICE_UNKNOWN);
    }
    return;
  }
  struct rpc_health_watcher_ *hw = xcalloc(1, sizeof *hw);
  hw->w = w;
  hw->service = xstrdup(name);
  struct rpc_stream_config cfg = {.on_event = on_event_, .user = hw, .max_queued = 4};
  hw->s = rpc_call_stream_accept(call, &cfg);
  if (hw->s == NULL) {
    free(hw->service);
    free(hw);
    return;
  }
  hw->last = ask_(w, name);
  send_(hw->s, hw->last);
  if (w->watchers == NULL) {
    w->next_poll =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(POLL_MS, GPR_TIMESPAN));
  }
  hw->next = w->watchers;
  w->watchers = hw;
}

void rpc_health_watch_tick_(struct rpc_worker_ *w) {
  gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
  if (gpr_time_cmp(now, w->next_poll) < 0) {
    return;
  }
  w->next_poll = gpr_time_add(now, gpr_time_from_millis(POLL_MS, GPR_TIMESPAN));
  for (struct rpc_health_watcher_ *hw = w->watchers; hw != NULL; hw = hw->next) {
    hw->polled = 0;
  }
  /* one callback per distinct name; sends cannot close a stream on this
   * thread (CLOSED comes from the queue), so the list stays as it is */
  for (struct rpc_health_watcher_ *hw = w->watchers; hw != NULL; hw = hw->next) {
    if (hw->polled) {
      continue;
    }
    rpc_health_status st = ask_(w, hw->service);
    for (struct rpc_health_watcher_ *o = hw; o != NULL; o = o->next) {
      if (!o->polled && strcmp(o->service, hw->service) == 0) {
        o->polled = 1;
        if (o->last != st) {
          o->last = st;
          send_(o->s, st);
        }
      }
    }
  }
}
