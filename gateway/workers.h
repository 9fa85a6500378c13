/*
 * workers: the bounded pool of threads that make the blocking calls (gRPC
 * to tvmaze-server, Redis claims of rate-limit counts) of requests whose
 * connections are suspended, so the libmicrohttpd threads never wait on
 * the network. A generic pool: it knows nothing of HTTP or metrics (the
 * caller counts refusals). One pool per gateway, owned by the daemon.
 *
 *   | threads | nthreads (TVMAZE_UPSTREAM_WORKERS, 32)                     |
 *   | queue   | FIFO; at most queue_max (TVMAZE_UPSTREAM_QUEUE, 256) jobs  |
 *   |         | wait beyond the idle workers; a submit beyond is refused   |
 *   | expiry  | a reaper thread takes a job whose deadline passes while it |
 *   |         | waits out of the queue and calls its expire instead of run |
 *   | stop    | refuses new jobs, runs every queued one, joins the threads |
 *
 * Thread safety: every function but create/destroy is thread-safe.
 */
#ifndef TVMAZE_GATEWAY_WORKERS_H
#define TVMAZE_GATEWAY_WORKERS_H

#include <stddef.h>
#include <stdint.h>

/* A unit of blocking work. The submitter owns it; it must stay alive until
 * run or expire returns (either may free it). Exactly one of them is called. */
struct gw_job {
  void (*run)(struct gw_job *job);    /* on a worker thread */
  void (*expire)(struct gw_job *job); /* instead, when deadline_ms passed while queued; must
                                         not block (called on the reaper thread) */
  int64_t deadline_ms;                /* clock_mono_ms(); 0: none */
  struct gw_job *next;                /* queue link (the pool's lock) */
};

struct gw_workers;

/* Starts nthreads (>= 1) workers with at most queue_max jobs waiting
 * beyond the idle workers, and the reaper. NULL with err set on failure
 * (no thread left running). */
struct gw_workers *gw_workers_create(long nthreads, long queue_max, char *err, size_t errlen);
/* Queues job: 0, or -1 when the queue is full or the pool is stopping (job
 * untouched). */
int gw_workers_submit(struct gw_workers *w, struct gw_job *job);
/* Jobs waiting, jobs running, threads (a snapshot). */
void gw_workers_stats(struct gw_workers *w, long *queued, long *busy, long *threads);
/* Refuses new jobs, runs every queued one, joins the threads. Idempotent. */
void gw_workers_stop(struct gw_workers *w);
/* Stops w if needed and frees it (NULL: no-op). */
void gw_workers_destroy(struct gw_workers *w);

#endif
