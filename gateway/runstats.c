/*
 * runstats: the ingest-run counts of /metrics. The gateway has no database;
 * a thread of its own asks the server (Ingest/CountIngestRuns: one GROUP BY
 * over ingest_runs) every RUNSTATS_PERIOD_S seconds with a 2 s deadline and
 * keeps the answer, so a scrape never waits for the server and a slow or
 * stopped server never holds /metrics or an upstream worker.
 *
 *   tvmaze_ingest_runs{status="RUNNING|SUCCEEDED|PARTIAL|FAILED"}  gauge, the
 *       server's counts at the last successful call (at most a period old);
 *       omitted until the first success and while the last call failed
 *   tvmaze_gateway_ingest_runs_up  gauge, 1 when the last call succeeded
 *
 * Thread safety: one mutex guards the counts; the call runs without it.
 * Tests: tests/integration/test_gateway_http.sh ("ingest runs metric").
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "strbuf.h"
#include "tvmaze/v1/ingest.pb-c.h"

#define RUNSTATS_TIMEOUT_MS 2000

static const char *const status_names_[5] = {NULL, "RUNNING", "SUCCEEDED", "PARTIAL", "FAILED"};

static pthread_mutex_t lock_ = PTHREAD_MUTEX_INITIALIZER; /* guards everything below */
static pthread_cond_t wake_ = PTHREAD_COND_INITIALIZER;   /* stop requested */
static long long counts_[5]; /* runs per RunStatus number, from the last success */
static int up_;              /* the last call succeeded */
static int stop_;
static int running_;
static long period_s_;
static pthread_t thread_;

/* One CountIngestRuns call; updates the counts (or up_ = 0). */
static void refresh_(void) {
  Tvmaze__V1__CountIngestRunsRequest req = TVMAZE__V1__COUNT_INGEST_RUNS_REQUEST__INIT;
  const ProtobufCMethodDescriptor *m = protobuf_c_service_descriptor_get_method_by_name(
      &tvmaze__v1__ingest__descriptor, "CountIngestRuns");
  struct gw_trace trace;
  gw_trace_new(&trace);
  struct rpc_client_ctx ctx;
  gw_upstream_call_within(gw_upstream_service(&tvmaze__v1__ingest__descriptor),
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
  pthread_mutex_lock(&lock_);
  if (ok)
    memcpy(counts_, c, sizeof c);
  up_ = ok;
  pthread_mutex_unlock(&lock_);
}

static void *main_(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock_);
  while (!stop_) {
    pthread_mutex_unlock(&lock_);
    refresh_();
    pthread_mutex_lock(&lock_);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += period_s_;
    while (!stop_ && pthread_cond_timedwait(&wake_, &lock_, &until) == 0) {
    }
  }
  pthread_mutex_unlock(&lock_);
  return NULL;
}

int gw_runstats_start(long period_s, char *err, size_t errlen) {
  period_s_ = period_s;
  stop_ = 0;
  if (pthread_create(&thread_, NULL, main_, NULL) != 0) {
    snprintf(err, errlen, "cannot start the ingest-run counter thread");
    return -1;
  }
  running_ = 1;
  return 0;
}

void gw_runstats_stop(void) {
  if (!running_)
    return;
  pthread_mutex_lock(&lock_);
  stop_ = 1;
  pthread_cond_broadcast(&wake_);
  pthread_mutex_unlock(&lock_);
  pthread_join(thread_, NULL);
  running_ = 0;
}

void gw_runstats_render(struct strbuf *out) {
  pthread_mutex_lock(&lock_);
  int up = up_;
  long long c[5];
  memcpy(c, counts_, sizeof c);
  pthread_mutex_unlock(&lock_);
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
