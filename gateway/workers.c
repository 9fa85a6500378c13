/*
 * workers: the bounded pool of upstream worker threads and its queue
 * reaper. See workers.h. The submitter (pipeline.c) suspends the
 * connection, submits a job, and the job resumes the connection when done.
 * Tests: tests/integration/test_gateway_suspend.sh.
 */
#include "workers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "xalloc.h"

/* Every field after lock is guarded by lock (threads/nthreads are written
 * only by create and stop, with no job running). */
struct gw_workers {
  pthread_mutex_t lock;
  pthread_cond_t ready;       /* a job was queued, or stop */
  pthread_cond_t reap;        /* a job waits beyond the idle workers (CLOCK_MONOTONIC) */
  struct gw_job *head, *tail; /* the queue, FIFO */
  long queued;                /* jobs in the queue */
  long busy;                  /* jobs being run */
  long queue_max;             /* bound on queued beyond the idle workers */
  int stopping;               /* refuse submits, drain, exit */
  pthread_t *threads;         /* nthreads workers */
  long nthreads;
  pthread_t reaper;
  int reaper_running;
};

/* The reaper: sleeps until the earliest deadline of a waiting job, then
 * unlinks every expired job and calls its expire outside the lock. */
static void *reaper_main_(void *arg) {
  struct gw_workers *w = arg;
  pthread_mutex_lock(&w->lock);
  while (!w->stopping) {
    int64_t now = clock_mono_ms(), next = 0;
    struct gw_job *expired = NULL, **link = &w->head;
    w->tail = NULL;
    while (*link) {
      struct gw_job *j = *link;
      if (j->deadline_ms > 0 && j->deadline_ms <= now && j->expire) {
        *link = j->next;
        w->queued--;
        j->next = expired;
        expired = j;
        continue;
      }
      if (j->deadline_ms > 0 && (next == 0 || j->deadline_ms < next))
        next = j->deadline_ms;
      w->tail = j;
      link = &j->next;
    }
    if (expired) {
      pthread_mutex_unlock(&w->lock);
      while (expired) {
        struct gw_job *j = expired;
        expired = j->next;
        j->next = NULL;
        j->expire(j);
      }
      pthread_mutex_lock(&w->lock);
      continue;
    }
    if (next == 0) {
      pthread_cond_wait(&w->reap, &w->lock);
    } else {
      struct timespec until;
      clock_gettime(CLOCK_MONOTONIC, &until);
      int64_t wait = next - now;
      until.tv_sec += (time_t)(wait / 1000);
      until.tv_nsec += (long)(wait % 1000) * 1000000L;
      if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&w->reap, &w->lock, &until);
    }
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

static void *worker_main_(void *arg) {
  struct gw_workers *w = arg;
  pthread_mutex_lock(&w->lock);
  for (;;) {
    while (!w->head && !w->stopping)
      pthread_cond_wait(&w->ready, &w->lock);
    struct gw_job *job = w->head;
    if (!job)
      break; /* stopping and drained */
    w->head = job->next;
    if (!w->head)
      w->tail = NULL;
    w->queued--;
    w->busy++;
    pthread_mutex_unlock(&w->lock);
    job->next = NULL;
    job->run(job);
    pthread_mutex_lock(&w->lock);
    w->busy--;
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

struct gw_workers *gw_workers_create(long nthreads, long queue_max, char *err, size_t errlen) {
  struct gw_workers *w = xcalloc(1, sizeof *w);
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->ready, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w->reap, &ca);
  pthread_condattr_destroy(&ca);
  w->threads = xcalloc((size_t)(nthreads > 0 ? nthreads : 1), sizeof *w->threads);
  w->queue_max = queue_max;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024); /* a gRPC call + pbjson, no deep recursion */
  if (pthread_create(&w->reaper, &attr, reaper_main_, w) != 0) {
    pthread_attr_destroy(&attr);
    snprintf(err, errlen, "cannot start the upstream queue reaper");
    gw_workers_destroy(w);
    return NULL;
  }
  w->reaper_running = 1;
  for (; w->nthreads < nthreads; w->nthreads++) {
    if (pthread_create(&w->threads[w->nthreads], &attr, worker_main_, w) != 0) {
      pthread_attr_destroy(&attr);
      snprintf(err, errlen, "cannot start upstream worker %ld of %ld", w->nthreads + 1, nthreads);
      gw_workers_destroy(w);
      return NULL;
    }
  }
  pthread_attr_destroy(&attr);
  return w;
}

int gw_workers_submit(struct gw_workers *w, struct gw_job *job) {
  pthread_mutex_lock(&w->lock);
  /* room: an idle worker for it, or fewer than queue_max jobs waiting
   * beyond the idle workers */
  if (w->stopping || w->nthreads == 0 || w->queued >= (w->nthreads - w->busy) + w->queue_max) {
    pthread_mutex_unlock(&w->lock);
    return -1;
  }
  job->next = NULL;
  if (w->tail)
    w->tail->next = job;
  else
    w->head = job;
  w->tail = job;
  w->queued++;
  pthread_cond_signal(&w->ready);
  if (w->queued > w->nthreads - w->busy && job->deadline_ms > 0)
    pthread_cond_signal(&w->reap); /* it will wait: the reaper watches its deadline */
  pthread_mutex_unlock(&w->lock);
  return 0;
}

void gw_workers_stats(struct gw_workers *w, long *queued, long *busy, long *threads) {
  pthread_mutex_lock(&w->lock);
  *queued = w->queued;
  *busy = w->busy;
  *threads = w->nthreads;
  pthread_mutex_unlock(&w->lock);
}

void gw_workers_stop(struct gw_workers *w) {
  pthread_mutex_lock(&w->lock);
  w->stopping = 1;
  pthread_cond_broadcast(&w->ready);
  pthread_cond_broadcast(&w->reap);
  long n = w->nthreads;
  pthread_mutex_unlock(&w->lock);
  if (w->reaper_running)
    pthread_join(w->reaper, NULL);
  w->reaper_running = 0;
  for (long i = 0; i < n; i++)
    pthread_join(w->threads[i], NULL);
  pthread_mutex_lock(&w->lock);
  w->nthreads = 0;
  pthread_mutex_unlock(&w->lock);
}

void gw_workers_destroy(struct gw_workers *w) {
  if (!w)
    return;
  gw_workers_stop(w);
  free(w->threads);
  pthread_cond_destroy(&w->reap);
  pthread_cond_destroy(&w->ready);
  pthread_mutex_destroy(&w->lock);
  free(w);
}
