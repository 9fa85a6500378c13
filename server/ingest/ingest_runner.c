/*
 * ingest_runner: see ingest_runner.h. The runner thread and its two
 * sources of runs: StartIngest requests and the daily schedule.
 *
 * Request protocol (all fields of struct ingest_runner under mu): a caller
 * posts a request (req_ticket++), the thread answers it (ans_ticket =
 * req_ticket, ans_*), broadcasts, then executes the run with cur_run set,
 * so callers arriving meanwhile get cur_run at once. Callers that arrive
 * while a request is pending wait for the same ticket (one answer).
 * Scheduler: between requests the thread sleeps on cv until the next fire
 * time (next_fire_); at it, it begins a run unless any replica started one
 * since a minute before.
 */
#include "ingest_runner.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "date.h"
#include "ingest_arena.h"
#include "log.h"
#include "otel_current.h"
#include "store_ingest.h"
#include "xalloc.h"

/* ------------------------------------------------------------------ */
/* Runner thread                                                      */
/* ------------------------------------------------------------------ */

struct ingest_runner {
  struct ingest_runner_config cfg; /* read-only after create */
  pthread_t thread;
  atomic_int stop;      /* destroy asked; read by the fetch loop */
  pthread_mutex_t mu;   /* guards the fields below */
  pthread_cond_t cv;    /* any change of the fields below */
  long long req_ticket; /* requests posted */
  int32_t req_day;      /* the pending request (req_ticket > ans_ticket) */
  int req_days;
  long long ans_ticket; /* requests answered */
  enum store_status ans_status;
  long long ans_run;
  int ans_started;
  long long cur_run; /* run executing now, 0 if none */
};

/* Epoch second of the next daily fire time after now. */
static time_t next_fire_(int at_minute, time_t now) {
  time_t day = now - now % 86400;
  time_t t = day + (time_t)at_minute * 60;
  return t > now ? t : t + 86400;
}

/* A run status as ingest.proto's RunStatus spells it, for a span. */
static const char *run_status_name_(int status) {
  switch (status) {
  case STORE_RUN_SUCCEEDED:
    return "SUCCEEDED";
  case STORE_RUN_PARTIAL:
    return "PARTIAL";
  case STORE_RUN_FAILED:
    return "FAILED";
  default:
    return "RUNNING";
  }
}

/* Executes begun run run_id under a root span "ingest.run" (when the tracer
 * samples it), current on this thread for the run's SQL and days. */
static void traced_execute_(struct ingest_runner *r, struct store *s, long long run_id,
                            int32_t start_day, int days, int scheduled) {
  struct otel_span *span = NULL;
  struct otel_span_context ctx;
  struct otel_current_saved saved;
  if (r->cfg.tracer != NULL) {
    span = otel_tracer_start(r->cfg.tracer, NULL, 0, "ingest.run", OTEL_SPAN_INTERNAL, 0, &ctx);
  }
  otel_span_attr_int(span, "tvmaze.ingest.run_id", run_id);
  otel_span_attr_int(span, "tvmaze.ingest.days", days);
  otel_span_attr_int(span, "tvmaze.ingest.scheduled", scheduled);
  otel_current_push(span != NULL ? r->cfg.tracer : NULL, &ctx, &saved);
  int status = ingest_run_execute(s, &r->cfg.fetch, run_id, start_day, days, &r->stop);
  otel_current_pop(&saved);
  otel_span_attr_str(span, "tvmaze.ingest.status", run_status_name_(status));
  if (status != STORE_RUN_SUCCEEDED) {
    otel_span_set_status(span, OTEL_STATUS_ERROR, run_status_name_(status));
  }
  if (span != NULL) {
    otel_tracer_end(r->cfg.tracer, span);
  }
}

/* Begins and executes one run on the runner thread; mu held on entry/exit. */
static void run_once_(struct ingest_runner *r, struct store *s, int32_t start_day, int days,
                      long long scheduled_since, int answer) {
  long long run_id = 0;
  int started = 0;
  pthread_mutex_unlock(&r->mu);
  enum store_status st =
      ingest_run_begin(s, start_day, days, r->cfg.owner, scheduled_since, &run_id, &started);
  pthread_mutex_lock(&r->mu);
  if (answer) {
    r->ans_ticket = r->req_ticket;
    r->ans_status = st;
    r->ans_run = run_id;
    r->ans_started = started;
  }
  if (st != STORE_OK || !started) {
    if (st != STORE_OK) {
      LOG_EVENT(LOG_WARN, "ingest_begin_failed", LF_STR("status", store_status_name(st)),
                LF_STR("error", store_last_error(s)));
    }
    pthread_cond_broadcast(&r->cv);
    return;
  }
  r->cur_run = run_id;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  traced_execute_(r, s, run_id, start_day, days, scheduled_since != 0);
  pthread_mutex_lock(&r->mu);
  r->cur_run = 0;
  pthread_cond_broadcast(&r->cv);
}

/* The CLOCK_REALTIME time ms from now (the cv's clock). */
static struct timespec after_ms_(long long ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  long long ns = (long long)ts.tv_nsec + (ms % 1000) * 1000000LL;
  ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000LL);
  ts.tv_nsec = (long)(ns % 1000000000LL);
  return ts;
}

static int ts_before_(const struct timespec *a, const struct timespec *b) {
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* The periodic orphan check: only when a RUNNING run exists does it try
 * the lock (held for a moment: a replica starting a run then waits for
 * its RUNNING row, ingest_run_begin). */
static void check_orphans_(struct store *s) {
  long long id = 0;
  if (store_ingest_run_running(s, &id) == STORE_OK) {
    ingest_run_recover_orphans(s);
  }
}

static void *thread_main_(void *arg) {
  struct ingest_runner *r = arg;
  struct store *s = store_open(r->cfg.database_url);
  ingest_run_recover_orphans(s); /* runs left RUNNING by a dead server, if nobody runs now */
  time_t fire = r->cfg.at_minute >= 0 ? next_fire_(r->cfg.at_minute, time(NULL)) : 0;
  long long check_ms = r->cfg.orphan_check_ms > 0 ? r->cfg.orphan_check_ms : 30000;
  struct timespec check_at = after_ms_(check_ms);
  pthread_mutex_lock(&r->mu);
  while (!atomic_load(&r->stop)) {
    if (r->req_ticket > r->ans_ticket) {
      run_once_(r, s, r->req_day, r->req_days, 0, 1);
      continue;
    }
    time_t now = time(NULL);
    if (fire != 0 && now >= fire) {
      LOG_EVENT(LOG_INFO, "ingest_scheduled", LF_INT("at", (long long)fire));
      /* a run started by any replica since a minute before the fire time
       * counts as today's scheduled run */
      run_once_(r, s, date_today_utc(), r->cfg.default_days, (long long)fire - 60, 0);
      fire = next_fire_(r->cfg.at_minute, time(NULL));
      continue;
    }
    struct timespec t_now;
    clock_gettime(CLOCK_REALTIME, &t_now);
    if (!ts_before_(&t_now, &check_at)) {
      pthread_mutex_unlock(&r->mu);
      check_orphans_(s);
      pthread_mutex_lock(&r->mu);
      check_at = after_ms_(check_ms);
      continue;
    }
    struct timespec ts = check_at;
    if (fire != 0 && (long long)fire < (long long)ts.tv_sec) {
      ts = (struct timespec){.tv_sec = fire, .tv_nsec = 0};
    }
    pthread_cond_timedwait(&r->cv, &r->mu, &ts);
  }
  /* answer a request that raced with shutdown */
  if (r->req_ticket > r->ans_ticket) {
    r->ans_ticket = r->req_ticket;
    r->ans_status = STORE_UNAVAILABLE;
    pthread_cond_broadcast(&r->cv);
  }
  pthread_mutex_unlock(&r->mu);
  store_close(s);
  return NULL;
}

struct ingest_runner *ingest_runner_create(const struct ingest_runner_config *cfg) {
  struct ingest_runner *r = xcalloc(1, sizeof *r);
  r->cfg = *cfg;
  atomic_init(&r->stop, 0);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  /* jansson's allocator hook (ingest_arena.h) is process-wide and set here,
   * before any other thread uses jansson. Its one user in tvmaze-server is
   * ingest_parse (the read side decodes genres without jansson, json_strs.h);
   * a thread without an active arena gets malloc and free through it. */
  ingest_arena_install();
  if (pthread_create(&r->thread, NULL, thread_main_, r) != 0) {
    LOG_EVENT(LOG_ERROR, "ingest_runner_thread_failed", LF_INT("errno", errno));
    abort();
  }
  return r;
}

void ingest_runner_destroy(struct ingest_runner *r) {
  if (r == NULL) {
    return;
  }
  pthread_mutex_lock(&r->mu);
  atomic_store(&r->stop, 1);
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  pthread_join(r->thread, NULL);
  pthread_cond_destroy(&r->cv);
  pthread_mutex_destroy(&r->mu);
  free(r);
}

enum store_status ingest_runner_start(struct ingest_runner *r, int32_t start_day, int days,
                                      long long *run_id, int *started) {
  enum store_status st = STORE_OK;
  *started = 0;
  *run_id = 0;
  pthread_mutex_lock(&r->mu);
  if (r->cur_run != 0) {
    *run_id = r->cur_run;
    pthread_mutex_unlock(&r->mu);
    return STORE_OK;
  }
  int mine = 0;
  if (r->req_ticket == r->ans_ticket) {
    r->req_ticket++;
    r->req_day = start_day;
    r->req_days = days;
    mine = 1;
    pthread_cond_broadcast(&r->cv);
  }
  long long ticket = r->req_ticket;
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 30;
  while (r->ans_ticket < ticket && !atomic_load(&r->stop)) {
    if (pthread_cond_timedwait(&r->cv, &r->mu, &deadline) == ETIMEDOUT) {
      break;
    }
  }
  if (r->ans_ticket >= ticket) {
    st = r->ans_status;
    *run_id = r->ans_run;
    *started = mine && r->ans_started;
  } else {
    st = STORE_UNAVAILABLE;
  }
  pthread_mutex_unlock(&r->mu);
  return st;
}
