/*
 * workers: the gateway's bounded pool of upstream worker threads. Every step
 * of a request that blocks on the network (a gRPC call to tvmaze-server, a
 * Redis round trip to claim rate-limit counts) runs here, never on the
 * libmicrohttpd threads: daemon.c suspends the connection, submits a job,
 * and the job resumes the connection when it is done. A slow upstream so
 * ties up one worker per request in flight, and the MHD threads keep
 * answering everything else (cache hits, /metrics, errors).
 *
 *   | threads | TVMAZE_UPSTREAM_WORKERS (32), started by gw_workers_start  |
 *   | queue   | FIFO of submitted jobs; at most TVMAZE_UPSTREAM_QUEUE (256) |
 *   |         | wait beyond the idle workers; a submit beyond that is      |
 *   |         | refused (the caller answers 503)                           |
 *   | expiry  | a reaper thread takes a job whose deadline passes while it |
 *   |         | waits out of the queue and calls its expire (the daemon    |
 *   |         | answers 504, /up 503): a queued request never outlives its |
 *   |         | deadline because every worker is stuck                     |
 *   | stop    | gw_workers_stop refuses new jobs, lets the workers finish  |
 *   |         | every queued one, joins them                               |
 *
 * Thread safety: one mutex guards the queue and counters; jobs run without
 * it. Tests: tests/integration/test_gateway_suspend.sh.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gateway.h"
#include "xalloc.h"

static pthread_mutex_t lock_ = PTHREAD_MUTEX_INITIALIZER; /* guards everything below */
static pthread_cond_t ready_ = PTHREAD_COND_INITIALIZER;  /* a job was queued or stop */
static struct gw_job *head_, *tail_;                      /* the queue, FIFO */
static long queued_;                                      /* jobs in the queue */
static long busy_;                                        /* jobs being run */
static long queue_max_;                                   /* bound on queued_ */
static int stopping_;                                     /* refuse submits, drain, exit */
static pthread_t *threads_;                               /* nthreads_ workers */
static long nthreads_;
static pthread_cond_t reap_; /* a job waits beyond the idle workers (CLOCK_MONOTONIC) */
static pthread_t reaper_;
static int reaper_running_;

/* The reaper: sleeps until the earliest deadline of a waiting job, then
 * unlinks every expired job and calls its expire outside the lock. */
static void *reaper_main_(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock_);
  while (!stopping_) {
    int64_t now = gw_now_ms(), next = 0;
    struct gw_job *expired = NULL, **link = &head_;
    tail_ = NULL;
    while (*link) {
      struct gw_job *j = *link;
      if (j->deadline_ms > 0 && j->deadline_ms <= now && j->expire) {
        *link = j->next;
        queued_--;
        j->next = expired;
        expired = j;
        continue;
      }
      if (j->deadline_ms > 0 && (next == 0 || j->deadline_ms < next))
        next = j->deadline_ms;
      tail_ = j;
      link = &j->next;
    }
    if (expired) {
      pthread_mutex_unlock(&lock_);
      while (expired) {
        struct gw_job *j = expired;
        expired = j->next;
        j->next = NULL;
        j->expire(j);
      }
      pthread_mutex_lock(&lock_);
      continue;
    }
    if (next == 0) {
      pthread_cond_wait(&reap_, &lock_);
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
      pthread_cond_timedwait(&reap_, &lock_, &until);
    }
  }
  pthread_mutex_unlock(&lock_);
  return NULL;
}

static void *worker_main_(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock_);
  for (;;) {
    while (!head_ && !stopping_)
      pthread_cond_wait(&ready_, &lock_);
    struct gw_job *job = head_;
    if (!job)
      break; /* stopping and drained */
    head_ = job->next;
    if (!head_)
      tail_ = NULL;
    queued_--;
    busy_++;
    pthread_mutex_unlock(&lock_);
    job->next = NULL;
    job->run(job);
    pthread_mutex_lock(&lock_);
    busy_--;
  }
  pthread_mutex_unlock(&lock_);
  return NULL;
}

int gw_workers_start(long nthreads, long queue_max, char *err, size_t errlen) {
  threads_ = xcalloc((size_t)nthreads, sizeof *threads_);
  queue_max_ = queue_max;
  stopping_ = 0;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&reap_, &ca);
  pthread_condattr_destroy(&ca);
  pthread_attr_setstacksize(&attr, 256 * 1024); /* a gRPC call + pbjson, no deep recursion */
  if (pthread_create(&reaper_, &attr, reaper_main_, NULL) != 0) {
    pthread_attr_destroy(&attr);
    snprintf(err, errlen, "cannot start the upstream queue reaper");
    return -1;
  }
  reaper_running_ = 1;
  for (nthreads_ = 0; nthreads_ < nthreads; nthreads_++) {
    if (pthread_create(&threads_[nthreads_], &attr, worker_main_, NULL) != 0) {
      pthread_attr_destroy(&attr);
      snprintf(err, errlen, "cannot start upstream worker %ld of %ld", nthreads_ + 1, nthreads);
      gw_workers_stop();
      return -1;
    }
  }
  pthread_attr_destroy(&attr);
  return 0;
}

int gw_workers_submit(struct gw_job *job) {
  pthread_mutex_lock(&lock_);
  /* room: an idle worker for it, or fewer than queue_max_ jobs waiting
   * beyond the idle workers */
  if (stopping_ || nthreads_ == 0 || queued_ >= (nthreads_ - busy_) + queue_max_) {
    pthread_mutex_unlock(&lock_);
    gw_metrics_queue_full();
    return -1;
  }
  job->next = NULL;
  if (tail_)
    tail_->next = job;
  else
    head_ = job;
  tail_ = job;
  queued_++;
  pthread_cond_signal(&ready_);
  if (queued_ > nthreads_ - busy_ && job->deadline_ms > 0)
    pthread_cond_signal(&reap_); /* it will wait: the reaper watches its deadline */
  pthread_mutex_unlock(&lock_);
  return 0;
}

void gw_workers_stats(long *queued, long *busy, long *threads) {
  pthread_mutex_lock(&lock_);
  *queued = queued_;
  *busy = busy_;
  *threads = nthreads_;
  pthread_mutex_unlock(&lock_);
}

void gw_workers_stop(void) {
  pthread_mutex_lock(&lock_);
  stopping_ = 1;
  pthread_cond_broadcast(&ready_);
  pthread_cond_broadcast(&reap_);
  pthread_mutex_unlock(&lock_);
  if (reaper_running_)
    pthread_join(reaper_, NULL);
  reaper_running_ = 0;
  for (long i = 0; i < nthreads_; i++)
    pthread_join(threads_[i], NULL);
  free(threads_);
  threads_ = NULL;
  nthreads_ = 0;
}
