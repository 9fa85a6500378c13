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
 * Replies are built by the store (store_runs.h) in the worker's arena, as
 * the Shows and Analytics replies are; each handler calls its helper (which
 * returns -1 with the call's status set), then ends in one place:
 * done(reply or NULL), release_ (the arena reset, or the heap reply freed).
 * Reads use the worker's store; the runner thread owns its own session.
 */
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "ingest_runner.h"
#include "log.h"
#include "query.h"
#include "services.h"
#include "store_ingest.h"
#include "tvmaze/v1/ingest.pb-c.h"
#include "xalloc.h"

struct ingest_service_ {
  Tvmaze__V1__Ingest_Service base; /* first: the binding sees a ProtobufCService */
  struct server_ctx *ctx;
};

static struct worker_ctx *worker_(rpc_call *call) {
  return rpc_call_worker_data(call);
}

static struct store *store_(rpc_call *call) {
  struct worker_ctx *w = worker_(call);
  return w != NULL ? w->store : NULL;
}

static struct arena *arena_(rpc_call *call) {
  struct worker_ctx *w = worker_(call);
  return w != NULL ? w->arena : NULL;
}

/* Frees what the store built for the reply (m: its heap-built message, may
 * be NULL): the worker's arena is reset (query.h). */
static void release_(rpc_call *call, ProtobufCMessage *m) {
  struct worker_ctx *w = worker_(call);
  if (w != NULL) {
    struct query_reply r = {.kind = m != NULL ? QUERY_REPLY_MESSAGE : QUERY_REPLY_NONE,
                            .message = m};
    query_reply_release(w, &r);
  } else if (m != NULL) {
    protobuf_c_message_free_unpacked(m, NULL);
  }
}

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

/* Reads run id into *run (built by the store in the call's arena); -1 with
 * the status set (NOT_FOUND naming the id). */
static int reply_run_(rpc_call *call, long long id, Tvmaze__V1__IngestRun **run) {
  enum store_status st = store_ingest_run_get(store_(call), arena_(call), id, run);
  if (st == STORE_NOT_FOUND) {
    rpc_call_set_status(call, RPC_NOT_FOUND, "ingest run %lld not found", id);
    return -1;
  }
  if (st != STORE_OK) {
    return fail_store_(call, st, "ingest run", store_(call));
  }
  return 0;
}

/* StartIngest: validates, asks the runner, reads the run into rep. */
static int start_(rpc_call *call, struct server_ctx *ctx, const Tvmaze__V1__StartIngestRequest *req,
                  Tvmaze__V1__IngestRun **run, int *started) {
  int32_t start = date_today_utc();
  char msg[256] = ""; /* every bad field, one violation each (service_bad_field) */
  int bad = 0;
  if (req->start_date != NULL && req->start_date[0] != '\0' &&
      date_parse_api(req->start_date, &start) != 0) {
    bad = service_bad_field(msg, sizeof msg,
                            "start_date: must be a date YYYY-MM-DD in " DATE_API_RANGE);
  }
  int days = ctx->cfg->ingest_days > 0 ? ctx->cfg->ingest_days : 90;
  if (req->days != NULL) {
    if (req->days->value < 1 || req->days->value > 365) {
      bad = service_bad_field(msg, sizeof msg, "days: must be between 1 and 365");
    } else {
      days = req->days->value;
    }
  }
  if (bad != 0) {
    return fail_(call, RPC_INVALID_ARGUMENT, msg);
  }
  /* start and days are each in range, so the sum cannot overflow */
  if (start > DATE_API_MAX - (days - 1)) {
    return fail_(call, RPC_INVALID_ARGUMENT,
                 "days: start_date + days must end by 2199-12-31 (" DATE_API_RANGE ")");
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
  if (reply_run_(call, id, run) != 0) {
    return -1;
  }
  LOG_EVENT(LOG_INFO, "ingest_start_requested", LF_INT("run", id), LF_BOOL("started", *started),
            LF_STR("start_date", (*run)->start_date), LF_INT("days", days));
  return 0;
}

static void start_ingest_(Tvmaze__V1__Ingest_Service *base,
                          const Tvmaze__V1__StartIngestRequest *req,
                          Tvmaze__V1__StartIngestResponse_Closure done, void *cd) {
  struct ingest_service_ *svc = (struct ingest_service_ *)base;
  Tvmaze__V1__IngestRun *run = NULL;
  int started = 0;
  Tvmaze__V1__StartIngestResponse resp = TVMAZE__V1__START_INGEST_RESPONSE__INIT;
  int ok = start_(cd, svc->ctx, req, &run, &started) == 0;
  resp.run = run;
  resp.started = started != 0;
  done(ok ? &resp : NULL, cd);
  release_(cd, run != NULL ? &run->base : NULL);
}

/* GetIngestRun: the run with its day results into *run. */
static int get_(rpc_call *call, const Tvmaze__V1__GetIngestRunRequest *req,
                Tvmaze__V1__IngestRun **run) {
  if (req->id <= 0) {
    return fail_(call, RPC_INVALID_ARGUMENT, "id: must be a positive run id");
  }
  return reply_run_(call, req->id, run);
}

static void get_ingest_run_(Tvmaze__V1__Ingest_Service *base,
                            const Tvmaze__V1__GetIngestRunRequest *req,
                            Tvmaze__V1__GetIngestRunResponse_Closure done, void *cd) {
  (void)base;
  Tvmaze__V1__IngestRun *run = NULL;
  Tvmaze__V1__GetIngestRunResponse resp = TVMAZE__V1__GET_INGEST_RUN_RESPONSE__INIT;
  int ok = get_(cd, req, &run) == 0;
  resp.run = run;
  done(ok ? &resp : NULL, cd);
  release_(cd, run != NULL ? &run->base : NULL);
}

/* ListIngestRuns: one page of runs, built by the store, into *out. */
static int list_(rpc_call *call, const Tvmaze__V1__ListIngestRunsRequest *req,
                 Tvmaze__V1__ListIngestRunsResponse **out) {
  int32_t page, per_page;
  char msg[128] = "";
  if (service_page_args(req->page, req->per_page, &page, &per_page, msg, sizeof msg) != 0) {
    return fail_(call, RPC_INVALID_ARGUMENT, msg);
  }
  enum store_status st = store_ingest_run_list(store_(call), arena_(call), page, per_page, out);
  if (st != STORE_OK) {
    return fail_store_(call, st, "ingest runs", store_(call));
  }
  return 0;
}

static void list_ingest_runs_(Tvmaze__V1__Ingest_Service *base,
                              const Tvmaze__V1__ListIngestRunsRequest *req,
                              Tvmaze__V1__ListIngestRunsResponse_Closure done, void *cd) {
  (void)base;
  Tvmaze__V1__ListIngestRunsResponse *resp = NULL;
  int ok = list_(cd, req, &resp) == 0;
  done(ok ? resp : NULL, cd);
  release_(cd, resp != NULL ? &resp->base : NULL);
}

static void count_ingest_runs_(Tvmaze__V1__Ingest_Service *base,
                               const Tvmaze__V1__CountIngestRunsRequest *req,
                               Tvmaze__V1__CountIngestRunsResponse_Closure done, void *cd) {
  (void)base;
  (void)req;
  rpc_call *call = cd;
  Tvmaze__V1__CountIngestRunsResponse *resp = NULL;
  enum store_status st = store_ingest_run_counts(store_(call), arena_(call), &resp);
  if (st != STORE_OK) {
    service_fail_store(call, st, "ingest run counts", store_(call));
  }
  done(resp, cd);
  release_(cd, resp != NULL ? &resp->base : NULL);
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
