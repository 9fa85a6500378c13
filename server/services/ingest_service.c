/*
 * ingest_service: tvmaze.v1.Ingest.
 *
 *   StartIngest     validates start_date (YYYY-MM-DD, default today UTC) and
 *                   days (1..365, default cfg->ingest_days), asks the
 *                   process's ingest runner (server_ctx.ingest) to begin a
 *                   run, answers with the run at once (started = false when
 *                   a run was already going on any replica)
 *   GetIngestRun    the run with its day results (date, status, error,
 *                   skipped: unchanged bodies, not parsed); NOT_FOUND
 *   ListIngestRuns  newest first; page >= 1 (default 1), per_page 1..100
 *                   (default 20); day results omitted (GetIngestRun has them)
 *   CountIngestRuns runs per status (statuses with none omitted); the
 *                   gateway's /metrics series tvmaze_ingest_runs{status}
 *
 * Each handler builds its reply in a helper that returns -1 with the call's
 * status set, then ends in one place: done(reply or NULL), reply_end_.
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
      m->days[i].skipped = r->day_results[i].skipped != 0;
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

/* A reply under construction: the store runs it points into and their
 * protobuf messages. Every handler ends in reply_end_: one epilogue. */
struct reply_ {
  struct store_ingest_run one; /* StartIngest, GetIngestRun */
  struct run_msg_ one_msg;
  struct store_ingest_run *runs; /* ListIngestRuns */
  struct run_msg_ *msgs;
  Tvmaze__V1__IngestRun **ptrs;
  size_t n;
};

/* Sets the call's status for a failure; returns -1 (for `return fail_()`). */
static int fail_(rpc_call *call, rpc_code code, const char *msg) {
  rpc_call_set_status(call, code, "%s", msg);
  return -1;
}

/* The store's failure st as the call's status (store: where the details
 * are, may be NULL); returns -1. */
static int fail_store_(rpc_call *call, enum store_status st, const char *what,
                       const struct store *store) {
  service_fail_store(call, st, what, store);
  return -1;
}

/* Reads run id into rep->one and its message; -1 with the status set
 * (NOT_FOUND naming the id). */
static int reply_run_(rpc_call *call, long long id, struct reply_ *rep) {
  enum store_status st = store_ingest_run_get(store_(call), id, &rep->one);
  if (st == STORE_NOT_FOUND) {
    rpc_call_set_status(call, RPC_NOT_FOUND, "ingest run %lld not found", id);
    return -1;
  }
  if (st != STORE_OK) {
    return fail_store_(call, st, "ingest run", store_(call));
  }
  run_msg_init_(&rep->one_msg, &rep->one);
  return 0;
}

/* Frees what the reply held (after done() packed it). Accepts a zeroed one. */
static void reply_end_(struct reply_ *rep) {
  run_msg_free_(&rep->one_msg);
  store_ingest_run_release(&rep->one);
  for (size_t i = 0; i < rep->n; i++) {
    run_msg_free_(&rep->msgs[i]);
  }
  free(rep->msgs);
  free(rep->ptrs);
  store_ingest_runs_free(rep->runs, rep->n);
}

/* StartIngest: validates, asks the runner, reads the run into rep. */
static int start_(rpc_call *call, struct server_ctx *ctx, const Tvmaze__V1__StartIngestRequest *req,
                  struct reply_ *rep, int *started) {
  int32_t start = date_today_utc();
  if (req->start_date != NULL && req->start_date[0] != '\0' &&
      date_parse(req->start_date, &start) != 0) {
    return fail_(call, RPC_INVALID_ARGUMENT, "start_date: must be a date YYYY-MM-DD");
  }
  int days = ctx->cfg->ingest_days > 0 ? ctx->cfg->ingest_days : 90;
  if (req->days != NULL) {
    if (req->days->value < 1 || req->days->value > 365) {
      return fail_(call, RPC_INVALID_ARGUMENT, "days: must be between 1 and 365");
    }
    days = req->days->value;
  }
  if (ctx->ingest == NULL) {
    return fail_(call, RPC_FAILED_PRECONDITION, "ingestion is not enabled in this process");
  }
  long long id = 0;
  enum store_status st = ingest_runner_start(ctx->ingest, start, days, &id, started);
  if (st == STORE_CONFLICT) {
    return fail_(call, RPC_ABORTED, "another replica is starting a run; retry");
  }
  if (st != STORE_OK) {
    return fail_store_(call, st, "ingest run", NULL);
  }
  if (reply_run_(call, id, rep) != 0) {
    return -1;
  }
  LOG_EVENT(LOG_INFO, "ingest_start_requested", LF_INT("run", id), LF_BOOL("started", *started),
            LF_STR("start_date", rep->one.start_date), LF_INT("days", days));
  return 0;
}

static void start_ingest_(Tvmaze__V1__Ingest_Service *base,
                          const Tvmaze__V1__StartIngestRequest *req,
                          Tvmaze__V1__StartIngestResponse_Closure done, void *cd) {
  struct ingest_service_ *svc = (struct ingest_service_ *)base;
  struct reply_ rep = {0};
  int started = 0;
  Tvmaze__V1__StartIngestResponse resp = TVMAZE__V1__START_INGEST_RESPONSE__INIT;
  int ok = start_(cd, svc->ctx, req, &rep, &started) == 0;
  resp.run = &rep.one_msg.msg;
  resp.started = started != 0;
  done(ok ? &resp : NULL, cd);
  reply_end_(&rep);
}

/* GetIngestRun: the run with its day results into rep. */
static int get_(rpc_call *call, const Tvmaze__V1__GetIngestRunRequest *req, struct reply_ *rep) {
  if (req->id <= 0) {
    return fail_(call, RPC_INVALID_ARGUMENT, "id: must be a positive run id");
  }
  return reply_run_(call, req->id, rep);
}

static void get_ingest_run_(Tvmaze__V1__Ingest_Service *base,
                            const Tvmaze__V1__GetIngestRunRequest *req,
                            Tvmaze__V1__GetIngestRunResponse_Closure done, void *cd) {
  (void)base;
  struct reply_ rep = {0};
  Tvmaze__V1__GetIngestRunResponse resp = TVMAZE__V1__GET_INGEST_RUN_RESPONSE__INIT;
  int ok = get_(cd, req, &rep) == 0;
  resp.run = &rep.one_msg.msg;
  done(ok ? &resp : NULL, cd);
  reply_end_(&rep);
}

/* ListIngestRuns: one page of runs into rep. */
static int list_(rpc_call *call, const Tvmaze__V1__ListIngestRunsRequest *req, struct reply_ *rep,
                 Tvmaze__V1__Pagination *pg) {
  int32_t page, per_page;
  char msg[128];
  if (service_page_args(req->page, req->per_page, &page, &per_page, msg, sizeof msg) != 0) {
    return fail_(call, RPC_INVALID_ARGUMENT, msg);
  }
  long long total = 0;
  enum store_status st = store_ingest_run_list(store_(call), (long long)(page - 1) * per_page,
                                               per_page, &rep->runs, &rep->n, &total);
  if (st != STORE_OK) {
    return fail_store_(call, st, "ingest runs", store_(call));
  }
  rep->msgs = xcalloc(rep->n + 1, sizeof *rep->msgs);
  rep->ptrs = xcalloc(rep->n + 1, sizeof *rep->ptrs);
  for (size_t i = 0; i < rep->n; i++) {
    run_msg_init_(&rep->msgs[i], &rep->runs[i]);
    rep->ptrs[i] = &rep->msgs[i].msg;
  }
  pg->page = page;
  pg->per_page = per_page;
  pg->total = (int32_t)total;
  pg->total_pages = (int32_t)((total + per_page - 1) / per_page);
  return 0;
}

static void list_ingest_runs_(Tvmaze__V1__Ingest_Service *base,
                              const Tvmaze__V1__ListIngestRunsRequest *req,
                              Tvmaze__V1__ListIngestRunsResponse_Closure done, void *cd) {
  (void)base;
  struct reply_ rep = {0};
  Tvmaze__V1__Pagination pg = TVMAZE__V1__PAGINATION__INIT;
  Tvmaze__V1__ListIngestRunsResponse resp = TVMAZE__V1__LIST_INGEST_RUNS_RESPONSE__INIT;
  int ok = list_(cd, req, &rep, &pg) == 0;
  resp.n_runs = rep.n;
  resp.runs = rep.ptrs;
  resp.pagination = &pg;
  done(ok ? &resp : NULL, cd);
  reply_end_(&rep);
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
