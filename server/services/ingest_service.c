/*
 * ingest_service: tvmaze.v1.Ingest.
 *
 *   StartIngest     validates start_date (YYYY-MM-DD, default today UTC) and
 *                   days (1..365, default cfg->ingest_days), asks the
 *                   process's ingest runner (server_ctx.ingest) to begin a
 *                   run, answers with the run at once (started = false when
 *                   a run was already going on any replica)
 *   GetIngestRun    the run with its day results; NOT_FOUND
 *   ListIngestRuns  newest first; page >= 1 (default 1), per_page 1..100
 *                   (default 20); day results omitted (GetIngestRun has them)
 *   CountIngestRuns runs per status (statuses with none omitted); the
 *                   gateway's /metrics series tvmaze_ingest_runs{status}
 *
 * Reads use the worker's store; the runner thread owns its own session.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "ingest_runner.h"
#include "log.h"
#include "services.h"
#include "store_ingest.h"
#include "tvmaze/v1/ingest.pb-c.h"
#include "xalloc.h"

struct ingest_service_ {
  Tvmaze__V1__Ingest_Service base; /* first: the binding sees a ProtobufCService */
  struct server_ctx *ctx;
};

/* A protobuf IngestRun over store run r; strings point into r, timestamps
 * and days into *mem (free with run_msg_free_). */
struct run_msg_ {
  Tvmaze__V1__IngestRun msg;
  Google__Protobuf__Timestamp started, finished;
  Tvmaze__V1__DayResult *days;
  Tvmaze__V1__DayResult **day_ptrs;
};

static void ts_(Google__Protobuf__Timestamp *t, double epoch) {
  google__protobuf__timestamp__init(t);
  t->seconds = (int64_t)floor(epoch);
  t->nanos = (int32_t)((epoch - floor(epoch)) * 1e9);
}

static void run_msg_init_(struct run_msg_ *m, struct store_ingest_run *r) {
  memset(m, 0, sizeof *m);
  tvmaze__v1__ingest_run__init(&m->msg);
  m->msg.id = r->id;
  m->msg.status = (Tvmaze__V1__RunStatus)r->status;
  m->msg.start_date = r->start_date;
  m->msg.days = r->days;
  m->msg.days_done = r->days_done;
  m->msg.requests = r->requests;
  m->msg.retries = r->retries;
  m->msg.episodes_seen = r->episodes_seen;
  m->msg.shows_created = r->shows_created;
  m->msg.shows_updated = r->shows_updated;
  m->msg.shows_unchanged = r->shows_unchanged;
  m->msg.episodes_created = r->episodes_created;
  m->msg.episodes_updated = r->episodes_updated;
  m->msg.episodes_unchanged = r->episodes_unchanged;
  m->msg.error = r->error != NULL ? r->error : (char *)"";
  ts_(&m->started, r->started_at);
  m->msg.started_at = &m->started;
  if (r->finished_at >= 0) {
    ts_(&m->finished, r->finished_at);
    m->msg.finished_at = &m->finished;
  }
  if (r->n_day_results > 0) {
    m->days = xcalloc(r->n_day_results, sizeof *m->days);
    m->day_ptrs = xcalloc(r->n_day_results, sizeof *m->day_ptrs);
    for (size_t i = 0; i < r->n_day_results; i++) {
      tvmaze__v1__day_result__init(&m->days[i]);
      m->days[i].date = r->day_results[i].date;
      m->days[i].status = (Tvmaze__V1__DayStatus)r->day_results[i].status;
      m->days[i].error = r->day_results[i].error ? r->day_results[i].error : (char *)"";
      m->day_ptrs[i] = &m->days[i];
    }
    m->msg.n_day_results = r->n_day_results;
    m->msg.day_results = m->day_ptrs;
  }
}

static void run_msg_free_(struct run_msg_ *m) {
  free(m->days);
  free(m->day_ptrs);
}

static struct store *store_(rpc_call *call) {
  struct worker_ctx *w = rpc_call_worker_data(call);
  return w != NULL ? w->store : NULL;
}

static void start_ingest_(Tvmaze__V1__Ingest_Service *base,
                          const Tvmaze__V1__StartIngestRequest *req,
                          Tvmaze__V1__StartIngestResponse_Closure done, void *cd) {
  rpc_call *call = cd;
  struct ingest_service_ *svc = (struct ingest_service_ *)base;
  int32_t start = date_today_utc();
  if (req->start_date != NULL && req->start_date[0] != '\0' &&
      date_parse(req->start_date, &start) != 0) {
    rpc_call_set_status(call, RPC_INVALID_ARGUMENT, "start_date: must be a date YYYY-MM-DD");
    done(NULL, cd);
    return;
  }
  int days = svc->ctx->cfg->ingest_days > 0 ? svc->ctx->cfg->ingest_days : 90;
  if (req->days != NULL) {
    if (req->days->value < 1 || req->days->value > 365) {
      rpc_call_set_status(call, RPC_INVALID_ARGUMENT, "days: must be between 1 and 365");
      done(NULL, cd);
      return;
    }
    days = req->days->value;
  }
  if (svc->ctx->ingest == NULL) {
    rpc_call_set_status(call, RPC_FAILED_PRECONDITION, "ingestion is not enabled in this process");
    done(NULL, cd);
    return;
  }
  long long id = 0;
  int started = 0;
  enum store_status st = ingest_runner_start(svc->ctx->ingest, start, days, &id, &started);
  if (st == STORE_CONFLICT) {
    rpc_call_set_status(call, RPC_ABORTED, "another replica is starting a run; retry");
    done(NULL, cd);
    return;
  }
  if (st != STORE_OK) {
    service_fail_store(call, st, "ingest run", NULL);
    done(NULL, cd);
    return;
  }
  struct store_ingest_run r = {0};
  st = store_ingest_run_get(store_(call), id, &r);
  if (st != STORE_OK) {
    service_fail_store(call, st, "ingest run", store_(call));
    done(NULL, cd);
    return;
  }
  struct run_msg_ m;
  run_msg_init_(&m, &r);
  Tvmaze__V1__StartIngestResponse resp = TVMAZE__V1__START_INGEST_RESPONSE__INIT;
  resp.run = &m.msg;
  resp.started = started != 0;
  LOG_EVENT(LOG_INFO, "ingest_start_requested", LF_INT("run", id), LF_BOOL("started", started),
            LF_STR("start_date", r.start_date), LF_INT("days", days));
  done(&resp, cd);
  run_msg_free_(&m);
  store_ingest_run_release(&r);
}

static void get_ingest_run_(Tvmaze__V1__Ingest_Service *base,
                            const Tvmaze__V1__GetIngestRunRequest *req,
                            Tvmaze__V1__GetIngestRunResponse_Closure done, void *cd) {
  (void)base;
  rpc_call *call = cd;
  if (req->id <= 0) {
    rpc_call_set_status(call, RPC_INVALID_ARGUMENT, "id: must be a positive run id");
    done(NULL, cd);
    return;
  }
  struct store_ingest_run r = {0};
  enum store_status st = store_ingest_run_get(store_(call), req->id, &r);
  if (st == STORE_NOT_FOUND) {
    rpc_call_set_status(call, RPC_NOT_FOUND, "ingest run %lld not found", (long long)req->id);
    done(NULL, cd);
    return;
  }
  if (st != STORE_OK) {
    service_fail_store(call, st, "ingest run", store_(call));
    done(NULL, cd);
    return;
  }
  struct run_msg_ m;
  run_msg_init_(&m, &r);
  Tvmaze__V1__GetIngestRunResponse resp = TVMAZE__V1__GET_INGEST_RUN_RESPONSE__INIT;
  resp.run = &m.msg;
  done(&resp, cd);
  run_msg_free_(&m);
  store_ingest_run_release(&r);
}

static void list_ingest_runs_(Tvmaze__V1__Ingest_Service *base,
                              const Tvmaze__V1__ListIngestRunsRequest *req,
                              Tvmaze__V1__ListIngestRunsResponse_Closure done, void *cd) {
  (void)base;
  rpc_call *call = cd;
  int32_t page, per_page;
  char msg[128];
  if (service_page_args(req->page, req->per_page, &page, &per_page, msg, sizeof msg) != 0) {
    rpc_call_set_status(call, RPC_INVALID_ARGUMENT, "%s", msg);
    done(NULL, cd);
    return;
  }
  struct store_ingest_run *runs = NULL;
  size_t n = 0;
  long long total = 0;
  enum store_status st = store_ingest_run_list(store_(call), (long long)(page - 1) * per_page,
                                               per_page, &runs, &n, &total);
  if (st != STORE_OK) {
    service_fail_store(call, st, "ingest runs", store_(call));
    done(NULL, cd);
    return;
  }
  struct run_msg_ *msgs = xcalloc(n + 1, sizeof *msgs);
  Tvmaze__V1__IngestRun **ptrs = xcalloc(n + 1, sizeof *ptrs);
  for (size_t i = 0; i < n; i++) {
    run_msg_init_(&msgs[i], &runs[i]);
    ptrs[i] = &msgs[i].msg;
  }
  Tvmaze__V1__Pagination pg = TVMAZE__V1__PAGINATION__INIT;
  pg.page = page;
  pg.per_page = per_page;
  pg.total = (int32_t)total;
  pg.total_pages = (int32_t)((total + per_page - 1) / per_page);
  Tvmaze__V1__ListIngestRunsResponse resp = TVMAZE__V1__LIST_INGEST_RUNS_RESPONSE__INIT;
  resp.n_runs = n;
  resp.runs = ptrs;
  resp.pagination = &pg;
  done(&resp, cd);
  for (size_t i = 0; i < n; i++) {
    run_msg_free_(&msgs[i]);
  }
  free(msgs);
  free(ptrs);
  store_ingest_runs_free(runs, n);
}

static void count_ingest_runs_(Tvmaze__V1__Ingest_Service *base,
                               const Tvmaze__V1__CountIngestRunsRequest *req,
                               Tvmaze__V1__CountIngestRunsResponse_Closure done, void *cd) {
  (void)base;
  (void)req;
  rpc_call *call = cd;
  long long counts[5];
  enum store_status st = store_ingest_run_counts(store_(call), counts);
  if (st != STORE_OK) {
    service_fail_store(call, st, "ingest run counts", store_(call));
    done(NULL, cd);
    return;
  }
  Tvmaze__V1__IngestRunCount items[4];
  Tvmaze__V1__IngestRunCount *ptrs[4];
  size_t n = 0;
  for (int k = 1; k <= 4; k++) {
    if (counts[k] > 0) {
      tvmaze__v1__ingest_run_count__init(&items[n]);
      items[n].status = (Tvmaze__V1__RunStatus)k;
      items[n].runs = counts[k];
      ptrs[n] = &items[n];
      n++;
    }
  }
  Tvmaze__V1__CountIngestRunsResponse resp = TVMAZE__V1__COUNT_INGEST_RUNS_RESPONSE__INIT;
  resp.n_counts = n;
  resp.counts = ptrs;
  done(&resp, cd);
}

static void destroy_(Tvmaze__V1__Ingest_Service *svc) {
  free(svc);
}

ProtobufCService *ingest_service_create(struct server_ctx *ctx) {
  struct ingest_service_ *svc = xcalloc(1, sizeof *svc);
  tvmaze__v1__ingest__init(&svc->base, destroy_);
  svc->base.start_ingest = start_ingest_;
  svc->base.get_ingest_run = get_ingest_run_;
  svc->base.list_ingest_runs = list_ingest_runs_;
  svc->base.count_ingest_runs = count_ingest_runs_;
  svc->ctx = ctx;
  return &svc->base.base;
}
