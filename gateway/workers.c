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
 *   | stop    | gw_workers_stop refuses new jobs, lets the workers finish  |
 *   |         | every queued one, joins them                               |
 *
 * Thread safety: one mutex guards the queue and counters; jobs run without
 * it. Tests: tests/integration/test_gateway_suspend.sh.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

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
  pthread_attr_setstacksize(&attr, 256 * 1024); /* a gRPC call + pbjson, no deep recursion */
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
  pthread_mutex_unlock(&lock_);
  for (long i = 0; i < nthreads_; i++)
    pthread_join(threads_[i], NULL);
  free(threads_);
  threads_ = NULL;
  nthreads_ = 0;
}
