/*
 * conns: the request-head deadline. See conns.h.
 */
#include "conns.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "ticker.h"
#include "xalloc.h"

#define SWEEP_MS 250

/* One tracked connection; every field guarded by owner->lock. */
struct conn {
  struct gw_conns *owner; /* read-only */
  struct conn *prev, *next;
  int fd;           /* the socket (MHD's; never closed here) */
  int in_head;      /* waiting for a request head */
  int cut;          /* shut down by the sweep */
  int64_t since_us; /* clock_mono_us() when it began waiting */
};

struct gw_conns {
  long timeout_ms;       /* read-only */
  struct ticker *ticker; /* the sweep thread */
  pthread_mutex_t lock;  /* guards the list and every entry */
  struct conn *head;     /* the tracked connections */
};

/* Every SWEEP_MS: shuts down the connections whose head is overdue. */
static void sweep_(void *arg) {
  struct gw_conns *c = arg;
  pthread_mutex_lock(&c->lock);
  int64_t now = clock_mono_us();
  for (struct conn *e = c->head; e != NULL; e = e->next) {
    if (e->in_head && !e->cut && e->fd >= 0 && now - e->since_us > c->timeout_ms * 1000) {
      shutdown(e->fd, SHUT_RDWR); /* MHD reads the end and closes it */
      e->cut = 1;
    }
  }
  pthread_mutex_unlock(&c->lock);
}

struct gw_conns *gw_conns_start(long head_timeout_ms, char *err, size_t errlen) {
  struct gw_conns *c = xcalloc(1, sizeof *c);
  c->timeout_ms = head_timeout_ms;
  pthread_mutex_init(&c->lock, NULL);
  c->ticker = ticker_start(SWEEP_MS, sweep_, c, "connection sweep", err, errlen);
  if (c->ticker == NULL) {
    pthread_mutex_destroy(&c->lock);
    free(c);
    return NULL;
  }
  return c;
}

void gw_conns_stop(struct gw_conns *c) {
  if (c == NULL)
    return;
  ticker_stop(c->ticker);
  while (c->head != NULL) { /* none after MHD_stop_daemon; freed all the same */
    struct conn *e = c->head;
    c->head = e->next;
    free(e);
  }
  pthread_mutex_destroy(&c->lock);
  free(c);
}

void gw_conns_notify(void *cls, struct MHD_Connection *con, void **socket_context,
                     enum MHD_ConnectionNotificationCode toe) {
  struct gw_conns *c = cls;
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    struct conn *e = xcalloc(1, sizeof *e);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
    e->owner = c;
    e->fd = ci != NULL ? ci->connect_fd : -1;
    e->in_head = 1;
    e->since_us = clock_mono_us();
    pthread_mutex_lock(&c->lock);
    e->next = c->head;
    if (c->head != NULL)
      c->head->prev = e;
    c->head = e;
    pthread_mutex_unlock(&c->lock);
    *socket_context = e;
  } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context != NULL) {
    struct conn *e = *socket_context;
    pthread_mutex_lock(&c->lock);
    if (e->prev != NULL)
      e->prev->next = e->next;
    else
      c->head = e->next;
    if (e->next != NULL)
      e->next->prev = e->prev;
    pthread_mutex_unlock(&c->lock);
    free(e);
    *socket_context = NULL;
  }
}

/* The connection's entry, or NULL when it is not tracked. */
static struct conn *entry_(struct MHD_Connection *con) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci != NULL ? ci->socket_context : NULL;
}

static void mark_(struct MHD_Connection *con, int in_head) {
  struct conn *e = entry_(con);
  if (e == NULL)
    return;
  pthread_mutex_lock(&e->owner->lock);
  e->in_head = in_head;
  e->since_us = clock_mono_us();
  pthread_mutex_unlock(&e->owner->lock);
}

void gw_conns_head_done(struct MHD_Connection *con) {
  mark_(con, 0);
}

void gw_conns_head_wait(struct MHD_Connection *con) {
  mark_(con, 1);
}
