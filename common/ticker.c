/*
 * ticker: see ticker.h. The wait is a timed wait on a condition variable
 * (CLOCK_REALTIME, as pthread_cond_timedwait's default clock), so a stop
 * wakes it at once.
 */
#include "ticker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "xalloc.h"

struct ticker {
  long interval_ms;     /* read-only */
  void (*fn)(void *);   /* read-only */
  void *user;           /* read-only */
  pthread_t thread;     /* the ticker's thread */
  pthread_mutex_t lock; /* guards stop */
  pthread_cond_t wake;  /* signalled when stop is set */
  int stop;
};

static void *main_(void *arg) {
  struct ticker *t = arg;
  pthread_mutex_lock(&t->lock);
  while (!t->stop) {
    pthread_mutex_unlock(&t->lock);
    t->fn(t->user);
    pthread_mutex_lock(&t->lock);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += t->interval_ms / 1000;
    until.tv_nsec += (t->interval_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    while (!t->stop && pthread_cond_timedwait(&t->wake, &t->lock, &until) == 0) {
    }
  }
  pthread_mutex_unlock(&t->lock);
  return NULL;
}

struct ticker *ticker_start(long interval_ms, void (*fn)(void *user), void *user, const char *what,
                            char *err, size_t errlen) {
  struct ticker *t = xcalloc(1, sizeof *t);
  t->interval_ms = interval_ms > 0 ? interval_ms : 1;
  t->fn = fn;
  t->user = user;
  pthread_mutex_init(&t->lock, NULL);
  pthread_cond_init(&t->wake, NULL);
  if (pthread_create(&t->thread, NULL, main_, t) != 0) {
    snprintf(err, errlen, "cannot start the %s thread", what);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    free(t);
    return NULL;
  }
  return t;
}

void ticker_stop(struct ticker *t) {
  if (t == NULL) {
    return;
  }
  pthread_mutex_lock(&t->lock);
  t->stop = 1;
  pthread_cond_broadcast(&t->wake);
  pthread_mutex_unlock(&t->lock);
  pthread_join(t->thread, NULL);
  pthread_cond_destroy(&t->wake);
  pthread_mutex_destroy(&t->lock);
  free(t);
}
