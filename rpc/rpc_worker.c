/*
 * rpc_worker: the server half's worker threads (see rpc_server_impl.h).
 *
 * Each worker owns one completion queue and is the only thread that touches
 * the calls accepted on it, so calls need no locks. Per worker,
 * RPC_REQUESTS_PER_METHOD registered-call requests are kept outstanding for
 * every method, plus one catch-all grpc_server_request_call that answers
 * UNIMPLEMENTED for unknown methods at once (without it such calls, and
 * buf curl's first reflection probe, hang). A request is armed again before
 * its call is handled, and no longer once shutdown begins.
 *
 * Each worker counts what it started on its queue (pending requests, call
 * batches: `inflight`) and shuts its own queue down only once the server is
 * destroyed and that count is 0, so a call accepted before the drain but
 * still queued, or a handler that outlives the grace period, starts its
 * batch on a live queue (a cancelled call's batch completes with
 * success=0: the late reply is dropped). Shutting the queues down from the
 * drain while calls were still queued made grpc_call_start_batch abort
 * (call.cc: assertion failed: grpc_cq_begin_op). Server-stream batches,
 * which any thread may start (rpc_stream.c), are counted apart in the
 * atomic ext_inflight, so the unary path keeps its plain counter. While
 * Health/Watch streams exist the worker also wakes once a second to poll
 * the health callback (rpc_health_watch.c).
 */
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "rpc_server_impl.h"

/* Requests a call for r on its worker's queue unless shutdown began. */
static void arm_(struct rpc_req_ *r) {
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
    e = grpc_server_request_registered_call(
        srv->server, r->m->handle, &r->call, &r->deadline, &r->md,
        r->m->kind == RPC_M_REFLECTION || r->m->kind == RPC_M_STREAM ? NULL : &r->payload, r->w->cq,
        r->w->cq, r);
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

/* A request came back: a new call (success) or shutdown (success=0). */
static void on_request_(struct rpc_req_ *r, int success) {
  struct rpc_worker_ *w = r->w;
  if (!success) {
    /* Shutdown: the request was cancelled; not armed again. */
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
  struct rpc_method_ *m = r->m;
  char *path = NULL;
  if (m == NULL) {
    path = grpc_slice_to_c_string(r->details.method);
    grpc_call_details_destroy(&r->details);
  }
  arm_(r); /* before handling: keep accepting */

  if (m != NULL && m->kind == RPC_M_REFLECTION) {
    rpc_refl_start_(w, call, &md);
    return;
  }
  if (m != NULL && m->kind == RPC_M_STREAM) {
    rpc_stream_accept_(w, m, call, &md, deadline);
    return;
  }
  rpc_call_accept_(w, m, call, &md, deadline, payload, path);
  if (payload != NULL) {
    grpc_byte_buffer_destroy(payload);
  }
}

void *rpc_worker_main_(void *arg) {
  struct rpc_worker_ *w = arg;
  struct rpc_server *srv = w->srv;
  if (srv->cfg.worker_init != NULL) {
    w->data = srv->cfg.worker_init(w->index, srv->cfg.user);
  }
  size_t per = srv->n_methods * RPC_REQUESTS_PER_METHOD + 1;
  struct rpc_req_ **mine = srv->reqs + (size_t)w->index * per;
  for (size_t i = 0; i < per; i++) {
    arm_(mine[i]);
  }
  /* The worker, not the drain, shuts its queue down (see the top of the
   * file). With nothing in flight no event can wake next(), hence the short
   * poll then (never during normal serving, where requests are always
   * pending). */
  int closing = 0;
  for (;;) {
    int idle = w->inflight == 0 && atomic_load(&w->ext_inflight) == 0;
    gpr_timespec until = idle && !closing ? gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                                         gpr_time_from_millis(20, GPR_TIMESPAN))
                                          : gpr_inf_future(GPR_CLOCK_MONOTONIC);
    if (w->watchers != NULL && gpr_time_cmp(w->next_poll, until) < 0) {
      until = w->next_poll; /* Health/Watch: poll the health callback */
    }
    grpc_event ev = grpc_completion_queue_next(w->cq, until, NULL);
    if (ev.type == GRPC_QUEUE_SHUTDOWN) {
      break;
    }
    if (ev.type == GRPC_OP_COMPLETE) {
      const struct rpc_tag_ *t = ev.tag; /* every tag object starts with struct rpc_tag_ */
      switch (t->kind) {
      case RPC_TAG_REQ:
        w->inflight--;
        on_request_(ev.tag, ev.success);
        break;
      case RPC_TAG_FINISH:
        w->inflight--;
        rpc_call_free_(ev.tag);
        break;
      case RPC_TAG_REFL:
        w->inflight--;
        rpc_refl_step_(ev.tag, ev.success);
        break;
      case RPC_TAG_STREAM:
        /* counted down after the step, so a batch it starts is counted first */
        rpc_stream_event_(ev.tag, ev.success);
        atomic_fetch_sub(&w->ext_inflight, 1);
        break;
      }
    }
    if (w->watchers != NULL) {
      rpc_health_watch_tick_(w);
    }
    if (!closing && w->inflight == 0 && atomic_load(&w->ext_inflight) == 0 &&
        atomic_load(&srv->server_gone)) {
      grpc_completion_queue_shutdown(w->cq);
      closing = 1;
    }
  }
  rpc_call_spares_free_(w);
  if (srv->cfg.worker_fini != NULL) {
    srv->cfg.worker_fini(w->data, srv->cfg.user);
  }
  return NULL;
}
