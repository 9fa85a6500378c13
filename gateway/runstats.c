/*
 * runstats: ingest-run counts asked of the server by a thread of its own
 * (one GROUP BY over ingest_runs per period). See runstats.h.
 * Thread safety: one mutex guards the counts; the call runs without it.
 * Tests: tests/integration/test_gateway_http.sh ("ingest runs metric").
 */
#include "runstats.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "strbuf.h"
#include "trace.h"
#include "tvmaze/v1/ingest.pb-c.h"
#include "ticker.h"
#include "upstream.h"
#include "xalloc.h"

#define RUNSTATS_TIMEOUT_MS 2000

static const char *const status_names_[5] = {NULL, "RUNNING", "SUCCEEDED", "PARTIAL", "FAILED"};

struct gw_runstats {
  struct gw_upstream *up; /* borrowed */
  long period_s;          /* read-only */
  struct ticker *ticker;  /* the counting thread */
  pthread_mutex_t lock;   /* guards the fields below */
  long long counts[5];    /* runs per RunStatus number, from the last success */
  int ok;                 /* the last call succeeded */
};

/* One CountIngestRuns call; updates the counts (or ok = 0). */
static void refresh_(void *arg) {
  struct gw_runstats *rs = arg;
  Tvmaze__V1__CountIngestRunsRequest req = TVMAZE__V1__COUNT_INGEST_RUNS_REQUEST__INIT;
  const ProtobufCMethodDescriptor *m = protobuf_c_service_descriptor_get_method_by_name(
      &tvmaze__v1__ingest__descriptor, "CountIngestRuns");
  struct gw_trace trace;
  gw_trace_new(gw_upstream_tracer(rs->up), &trace);
  struct rpc_client_ctx ctx;
  gw_upstream_call_within(rs->up, &tvmaze__v1__ingest__descriptor,
                          (unsigned)(m - tvmaze__v1__ingest__descriptor.methods), &req.base, &trace,
                          RUNSTATS_TIMEOUT_MS, &ctx);
  long long c[5] = {0};
  int ok = ctx.code == RPC_OK && ctx.reply;
  if (ok) {
    const Tvmaze__V1__CountIngestRunsResponse *r =
        (const Tvmaze__V1__CountIngestRunsResponse *)ctx.reply;
    for (size_t i = 0; i < r->n_counts; i++)
      if (r->counts[i]->status >= 1 && r->counts[i]->status <= 4)
        c[r->counts[i]->status] = r->counts[i]->runs;
  } else {
    LOG_EVENT(LOG_DEBUG, "ingest_run_counts_failed", LF_STR("code", rpc_code_name(ctx.code)),
              LF_STR("message", ctx.message));
  }
  rpc_client_ctx_release(&ctx);
  pthread_mutex_lock(&rs->lock);
  if (ok)
    memcpy(rs->counts, c, sizeof c);
  rs->ok = ok;
  pthread_mutex_unlock(&rs->lock);
}

struct gw_runstats *gw_runstats_start(struct gw_upstream *up, long period_s, char *err,
                                      size_t errlen) {
  struct gw_runstats *rs = xcalloc(1, sizeof *rs);
  rs->up = up;
  rs->period_s = period_s;
  pthread_mutex_init(&rs->lock, NULL);
  rs->ticker = ticker_start(period_s * 1000, refresh_, rs, "ingest-run counter", err, errlen);
  if (rs->ticker == NULL) {
    pthread_mutex_destroy(&rs->lock);
    free(rs);
    return NULL;
  }
  return rs;
}

void gw_runstats_stop(struct gw_runstats *rs) {
  if (!rs)
    return;
  ticker_stop(rs->ticker);
  pthread_mutex_destroy(&rs->lock);
  free(rs);
}

void gw_runstats_render(struct gw_runstats *rs, struct strbuf *out) {
  pthread_mutex_lock(&rs->lock);
  int up = rs->ok;
  long long c[5];
  memcpy(c, rs->counts, sizeof c);
  pthread_mutex_unlock(&rs->lock);
  if (up) {
    strbuf_append(out,
                  "# HELP tvmaze_ingest_runs Ingest runs by status (from tvmaze-server).\n"
                  "# TYPE tvmaze_ingest_runs gauge\n");
    for (int k = 1; k <= 4; k++)
      strbuf_appendf(out, "tvmaze_ingest_runs{status=\"%s\"} %lld\n", status_names_[k], c[k]);
  }
  strbuf_appendf(out,
                 "# HELP tvmaze_gateway_ingest_runs_up 1 when the last ingest-run count from "
                 "tvmaze-server succeeded.\n# TYPE tvmaze_gateway_ingest_runs_up gauge\n"
                 "tvmaze_gateway_ingest_runs_up %d\n",
                 up);
}
