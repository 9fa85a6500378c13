/*
 * workq: a bounded FIFO of pointers between threads (one mutex, two
 * condition variables), and an executor that runs a function on each item
 * on a thread of its own, or on the submitter's thread when none.
 *
 *   push   blocks while the queue holds capacity items; fails once closed
 *   pop    blocks while the queue is empty and open; after close it still
 *          returns every queued item (drain), then reports the end
 *   close  wakes every waiter; idempotent
 *
 * The queue never owns its items: whatever is left in it at destroy is the
 * caller's (drain first). Thread-safe; destroy only when no thread uses it.
 * Tests: tests/unit/test_workq.c.
 */
#ifndef TVMAZE_COMMON_WORKQ_H
#define TVMAZE_COMMON_WORKQ_H

#include <stddef.h>

struct workq;

/* capacity >= 1 (0 is taken as 1). Never NULL (out of memory aborts). */
struct workq *workq_create(size_t capacity);
/* Accepts NULL. */
void workq_destroy(struct workq *q);

/* 0: item queued. -1: the queue is closed (item not taken). */
int workq_push(struct workq *q, void *item);
/* 1: *item is the oldest item. 0: the queue is closed and empty. */
int workq_pop(struct workq *q, void **item);
void workq_close(struct workq *q);

/* An executor: fn(item, arg) for every submitted item, in submission
 * order, one at a time. threaded: on a thread of its own, with a queue of
 * capacity items between the submitter and it (submit blocks while it is
 * full); if threaded is 0 or the thread cannot start, submit calls fn
 * itself, on the caller's thread, before returning. Either way the caller
 * sees the same sequence of fn calls. */
struct workq_exec;

typedef void (*workq_fn)(void *item, void *arg);

struct workq_exec *workq_exec_start(size_t capacity, int threaded, workq_fn fn, void *arg);
/* Whether fn runs on the executor's own thread. */
int workq_exec_threaded(const struct workq_exec *e);
void workq_exec_submit(struct workq_exec *e, void *item);
/* Waits until fn has run for every submitted item, stops the thread and
 * frees e. Accepts NULL. */
void workq_exec_finish(struct workq_exec *e);

#endif
