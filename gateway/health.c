/*
 * health: /up's state, refreshed by a probe thread. See health.h.
 */
#include "health.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "metrics.h"
#include "ticker.h"
#include "trace.h"
#include "upstream.h"
#include "xalloc.h"

#define PROBE_DEADLINE_MS 2000

struct gw_health {
  struct gw_upstream *up;       /* borrowed */
  struct gw_metrics *m;         /* borrowed */
  long interval_ms;             /* read-only */
  struct ticker *ticker;        /* the probe thread */
  pthread_mutex_t lock;         /* guards the fields below */
  struct gw_health_state state; /* the last probe's outcome (known: a probe ended) */
  int64_t at_us;                /* clock_mono_us() when it ended; 0: none yet */
};

static void probe_(void *arg) {
  struct gw_health *h = arg;
  struct gw_trace trace;
  gw_trace_new(gw_upstream_tracer(h->up), &trace);
  struct gw_health_state s = {.known = 1};
  pthread_mutex_lock(&h->lock);
  int failing = h->at_us == 0 || h->state.code != RPC_OK;
  pthread_mutex_unlock(&h->lock);
  if (failing) /* health-driven reconnect: this probe is a connect attempt */
    gw_upstream_reconnect(h->up);
  s.code = gw_upstream_health(h->up, &trace, &s.serving, s.msg, sizeof s.msg);
  if (s.code != RPC_OK)
    gw_metrics_upstream_error(h->m, s.code);
  pthread_mutex_lock(&h->lock);
  h->state = s;
  h->at_us = clock_mono_us();
  pthread_mutex_unlock(&h->lock);
}

struct gw_health *gw_health_start(struct gw_upstream *up, struct gw_metrics *m, long interval_ms,
                                  char *err, size_t errlen) {
  struct gw_health *h = xcalloc(1, sizeof *h);
  h->up = up;
  h->m = m;
  h->interval_ms = interval_ms;
  pthread_mutex_init(&h->lock, NULL);
  h->ticker = ticker_start(interval_ms, probe_, h, "health probe", err, errlen);
  if (h->ticker == NULL) {
    pthread_mutex_destroy(&h->lock);
    free(h);
    return NULL;
  }
  return h;
}

void gw_health_stop(struct gw_health *h) {
  if (!h)
    return;
  ticker_stop(h->ticker);
  pthread_mutex_destroy(&h->lock);
  free(h);
}

void gw_health_get(struct gw_health *h, struct gw_health_state *out) {
  int64_t now = clock_mono_us();
  pthread_mutex_lock(&h->lock);
  *out = h->state;
  int64_t at = h->at_us;
  pthread_mutex_unlock(&h->lock);
  if (at == 0 || now - at > (2 * h->interval_ms + PROBE_DEADLINE_MS) * 1000) {
    memset(out, 0, sizeof *out);
    snprintf(out->msg, sizeof out->msg, "%s",
             at == 0 ? "no health probe has answered yet" : "no health probe has answered lately");
  }
}
