/*
 * workq: see workq.h. A ring buffer of capacity slots under one mutex;
 * not_empty wakes poppers, not_full wakes pushers; close broadcasts both.
 */
#include "workq.h"

#include <pthread.h>
#include <stdlib.h>

#include "xalloc.h"

struct workq {
  pthread_mutex_t mu;
  pthread_cond_t not_empty, not_full;
  void **slots;   /* ring of cap items (mu) */
  size_t cap;     /* read-only after create */
  size_t head, n; /* oldest item and count (mu) */
  int closed;     /* (mu) */
};

struct workq *workq_create(size_t capacity) {
  struct workq *q = xcalloc(1, sizeof *q);
  q->cap = capacity > 0 ? capacity : 1;
  q->slots = xcalloc(q->cap, sizeof *q->slots);
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->not_empty, NULL);
  pthread_cond_init(&q->not_full, NULL);
  return q;
}

void workq_destroy(struct workq *q) {
  if (q == NULL) {
    return;
  }
  pthread_cond_destroy(&q->not_full);
  pthread_cond_destroy(&q->not_empty);
  pthread_mutex_destroy(&q->mu);
  free(q->slots);
  free(q);
}

int workq_push(struct workq *q, void *item) {
  pthread_mutex_lock(&q->mu);
  while (q->n == q->cap && !q->closed) {
    pthread_cond_wait(&q->not_full, &q->mu);
  }
  int rc = -1;
  if (!q->closed) {
    q->slots[(q->head + q->n) % q->cap] = item;
    q->n++;
    rc = 0;
    pthread_cond_signal(&q->not_empty);
  }
  pthread_mutex_unlock(&q->mu);
  return rc;
}

int workq_pop(struct workq *q, void **item) {
  pthread_mutex_lock(&q->mu);
  while (q->n == 0 && !q->closed) {
    pthread_cond_wait(&q->not_empty, &q->mu);
  }
  int rc = 0;
  if (q->n > 0) {
    *item = q->slots[q->head];
    q->head = (q->head + 1) % q->cap;
    q->n--;
    rc = 1;
    pthread_cond_signal(&q->not_full);
  }
  pthread_mutex_unlock(&q->mu);
  return rc;
}

void workq_close(struct workq *q) {
  pthread_mutex_lock(&q->mu);
  q->closed = 1;
  pthread_cond_broadcast(&q->not_empty);
  pthread_cond_broadcast(&q->not_full);
  pthread_mutex_unlock(&q->mu);
}

/* ------------------------------------------------------------------ */
/* Executor                                                           */
/* ------------------------------------------------------------------ */

struct workq_exec {
  workq_fn fn;
  void *arg;
  struct workq *q; /* NULL: inline */
  pthread_t thread;
};

static void *exec_main_(void *p) {
  struct workq_exec *e = p;
  void *item;
  while (workq_pop(e->q, &item)) {
    e->fn(item, e->arg);
  }
  return NULL;
}

struct workq_exec *workq_exec_start(size_t capacity, int threaded, workq_fn fn, void *arg) {
  struct workq_exec *e = xcalloc(1, sizeof *e);
  e->fn = fn;
  e->arg = arg;
  if (threaded) {
    e->q = workq_create(capacity);
    if (pthread_create(&e->thread, NULL, exec_main_, e) != 0) {
      workq_destroy(e->q);
      e->q = NULL;
    }
  }
  return e;
}

int workq_exec_threaded(const struct workq_exec *e) {
  return e->q != NULL;
}

void workq_exec_submit(struct workq_exec *e, void *item) {
  if (e->q == NULL || workq_push(e->q, item) != 0) {
    e->fn(item, e->arg); /* inline (a closed queue cannot happen before finish) */
  }
}

void workq_exec_finish(struct workq_exec *e) {
  if (e == NULL) {
    return;
  }
  if (e->q != NULL) {
    workq_close(e->q);
    pthread_join(e->thread, NULL);
    workq_destroy(e->q);
  }
  free(e);
}
