/*
 * changes_hub: the WatchChanges feeder thread. See changes_hub.h.
 *
 * Threads: the hub thread owns the subscription list, the database
 * connection and the read arena. Workers hand new subscriptions over
 * through the inbox (under lock); the binding's event callback only sets a
 * subscription's flags and wakes the hub (an eventfd). A subscription is
 * freed by the hub once its CLOSED event has been seen.
 */
#include "changes_hub.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "arena.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "store_changes.h"
#include "tvmaze/v1/changes.pb-c.h"
#include "xalloc.h"

#define DEFAULT_HEARTBEAT_MS 15000
#define DEFAULT_MAX_QUEUED 256
#define DEFAULT_CATCHUP 256
#define LIVE_PAGE 1000  /* records per live read (the live buffer) */
#define RECHECK_MS 1000 /* the version is looked at at least this often */
#define RETRY_MS 1000   /* after a failed read */
#define STALL_MS 2000   /* a live stream with no room this long is cut off */

struct sub {
  rpc_stream *stream;
  int64_t cursor;       /* last version given or passed over */
  int64_t last_send_ms; /* clock_mono_ms of the last message queued */
  int64_t stall_ms;     /* live, queue full since (clock_mono_ms); 0: has room */
  int32_t *show_ids;    /* sorted; NULL: every show */
  size_t n_show_ids;
  int entity;
  atomic_int closed; /* CLOSED seen (binding thread) */
  atomic_int room;   /* ROOM seen since the hub last looked */
  struct changes_hub *hub;
  struct sub *next;
};

/* A record of the live buffer: packed once, shared by every stream. */
struct live_rec {
  int64_t version;
  int32_t show_id;
  int entity;
  rpc_bytes *bytes;
};

struct changes_hub {
  struct changes_hub_config cfg;
  pthread_t thread;
  int efd; /* eventfd: wakes the hub */
  atomic_int stop;
  atomic_size_t n_streams;
  pthread_mutex_t lock; /* guards inbox */
  struct sub *inbox;
  /* hub thread only */
  struct sub *subs;
  struct store *store;
  struct arena arena;
  int64_t version; /* last version read by the live read; -1: not known yet */
  /* The live buffer: every record in (buf_from, version], in order (the
   * last live read, unfiltered). A subscription whose cursor is in that
   * range is live and is fed from it as its queue has room. */
  int64_t buf_from;
  struct live_rec *buf; /* LIVE_PAGE of them */
  size_t n_buf;
  int64_t retry_at_ms;
};

static void wake_(struct changes_hub *h) {
  uint64_t one = 1;
  ssize_t n = write(h->efd, &one, sizeof one);
  (void)n; /* a full counter still wakes the hub */
}

static void on_event_(rpc_stream *s, enum rpc_stream_event ev, void *user) {
  (void)s;
  struct sub *sub = user;
  if (ev == RPC_STREAM_CLOSED) {
    atomic_store(&sub->closed, 1);
  } else {
    atomic_store(&sub->room, 1);
  }
  wake_(sub->hub);
}

static int cmp_i32_(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* 1 when s's filter takes a record of entity about show show_id. */
static int takes_(const struct sub *s, int entity, int32_t show_id) {
  if (s->entity != 0 && entity != s->entity) {
    return 0;
  }
  return s->n_show_ids == 0 ||
         bsearch(&show_id, s->show_ids, s->n_show_ids, sizeof *s->show_ids, cmp_i32_) != NULL;
}

static void sub_free_(struct changes_hub *h, struct sub *s) {
  rpc_stream_unref(s->stream);
  free(s->show_ids);
  free(s);
  atomic_fetch_sub(&h->n_streams, 1);
}

/* ------------------------------------------------------------------ */
/* Sending                                                            */
/* ------------------------------------------------------------------ */

static void sent_(struct sub *s, rpc_code rc) {
  if (rc == RPC_OK) {
    s->last_send_ms = clock_mono_ms();
  }
  /* else the binding has ended the stream (overflow, or it was over): its
   * CLOSED event frees the subscription */
}

static void send_change_(struct sub *s, Tvmaze__V1__Change *c) {
  Tvmaze__V1__WatchChangesResponse m = TVMAZE__V1__WATCH_CHANGES_RESPONSE__INIT;
  m.message_case = TVMAZE__V1__WATCH_CHANGES_RESPONSE__MESSAGE_CHANGE;
  m.change = c;
  sent_(s, rpc_stream_send(s->stream, &m.base));
}

static void send_heartbeat_(struct sub *s, int64_t version) {
  Tvmaze__V1__Heartbeat hb = TVMAZE__V1__HEARTBEAT__INIT;
  hb.current_version = version;
  Tvmaze__V1__WatchChangesResponse m = TVMAZE__V1__WATCH_CHANGES_RESPONSE__INIT;
  m.message_case = TVMAZE__V1__WATCH_CHANGES_RESPONSE__MESSAGE_HEARTBEAT;
  m.heartbeat = &hb;
  sent_(s, rpc_stream_send(s->stream, &m.base));
}

/* ------------------------------------------------------------------ */
/* Reads                                                              */
/* ------------------------------------------------------------------ */

static int live_(const struct changes_hub *h, const struct sub *s) {
  return h->version >= 0 && s->cursor >= h->buf_from;
}

static void read_failed_(struct changes_hub *h, enum store_status st) {
  LOG_EVENT(LOG_WARN, "changes_hub_read_failed", LF_STR("status", store_status_name(st)),
            LF_STR("error", store_last_error(h->store)));
  h->retry_at_ms = clock_mono_ms() + RETRY_MS;
}

/* A live subscription the next live read waits for: open, and not yet
 * given (or passed over) the whole buffer. */
static int behind_(const struct changes_hub *h, const struct sub *s) {
  return live_(h, s) && s->cursor < h->version && !atomic_load(&s->closed) &&
         rpc_stream_is_open(s->stream);
}

static int any_live_(const struct changes_hub *h) {
  for (const struct sub *s = h->subs; s != NULL; s = s->next) {
    if (live_(h, s) && !atomic_load(&s->closed)) {
      return 1;
    }
  }
  return 0;
}

static void buf_clear_(struct changes_hub *h) {
  for (size_t i = 0; i < h->n_buf; i++) {
    rpc_bytes_unref(h->buf[i].bytes);
  }
  h->n_buf = 0;
}

/* Index of the first buffered record above version v. */
static size_t buf_after_(const struct changes_hub *h, int64_t v) {
  size_t lo = 0, hi = h->n_buf;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (h->buf[mid].version <= v) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

/* Queues on live subscription s the buffered records after its cursor
 * that it takes, as many as its queue has room for (a record it does not
 * take is passed over without room). One whose queue stays full with
 * records left for STALL_MS is cut off (one more message overflows it:
 * the binding ends it with RESOURCE_EXHAUSTED) and no longer holds the
 * next live read back. */
static void feed_(struct changes_hub *h, struct sub *s) {
  if (!live_(h, s) || s->cursor >= h->version || atomic_load(&s->closed) ||
      !rpc_stream_is_open(s->stream)) {
    return; /* not live, has it all (no lock taken), or gone */
  }
  size_t room = rpc_stream_room(s->stream), sent = 0;
  size_t i = buf_after_(h, s->cursor);
  for (; i < h->n_buf; i++) {
    const struct live_rec *r = &h->buf[i];
    if (takes_(s, r->entity, r->show_id)) {
      if (room == 0) {
        break;
      }
      rpc_code rc = rpc_stream_send_bytes(s->stream, r->bytes);
      sent_(s, rc);
      if (rc != RPC_OK) {
        return; /* ended: its CLOSED event frees it */
      }
      room--;
      sent++;
    }
    s->cursor = r->version;
  }
  if (i == h->n_buf) {
    if (s->cursor < h->version) {
      s->cursor = h->version;
    }
    s->stall_ms = 0;
    return;
  }
  int64_t now = clock_mono_ms();
  if (sent > 0 || s->stall_ms == 0) {
    s->stall_ms = now; /* full from now */
  } else if (now - s->stall_ms >= STALL_MS) {
    send_heartbeat_(s, h->version); /* overflows: the stream ends */
  }
}

static void feed_all_(struct changes_hub *h) {
  for (struct sub *s = h->subs; s != NULL; s = s->next) {
    feed_(h, s);
  }
}

/* Reads the records after h->version up to target into the live buffer,
 * a page of up to LIVE_PAGE at a time, each record packed once, and feeds
 * every live subscription from it. The next page is read once every live
 * subscription has taken the whole buffer (a ROOM event, or STALL_MS,
 * brings the hub back), so a burst goes at the pace of the readers that
 * keep up, with one read per LIVE_PAGE records rather than one per
 * least queue room. Returns 0 (also when held back), -1 on a failed read. */
static int read_live_(struct changes_hub *h, int64_t target) {
  if (!any_live_(h)) {
    /* nobody follows live: nothing to read (a first load writes tens of
     * thousands of records; reading each back for no one doubled its
     * database time); streams behind catch up with their own reads */
    buf_clear_(h);
    h->version = target > h->version ? target : h->version;
    h->buf_from = h->version;
    return 0;
  }
  for (;;) {
    feed_all_(h);
    for (const struct sub *s = h->subs; s != NULL; s = s->next) {
      if (behind_(h, s)) {
        return 0;
      }
    }
    if (h->version >= target) {
      return 0;
    }
    struct store_changes_query q = {.after_version = h->version, .limit = LIVE_PAGE};
    Tvmaze__V1__ListChangesResponse *page = NULL;
    int64_t floor = 0;
    arena_reset(&h->arena);
    enum store_status st = store_changes_list(h->store, &h->arena, &q, &page, &floor);
    if (st != STORE_OK) {
      read_failed_(h, st);
      return -1;
    }
    buf_clear_(h);
    h->buf_from = h->version;
    for (size_t i = 0; i < page->n_changes; i++) {
      Tvmaze__V1__Change *c = page->changes[i];
      Tvmaze__V1__WatchChangesResponse m = TVMAZE__V1__WATCH_CHANGES_RESPONSE__INIT;
      m.message_case = TVMAZE__V1__WATCH_CHANGES_RESPONSE__MESSAGE_CHANGE;
      m.change = c;
      h->buf[h->n_buf++] = (struct live_rec){.version = c->version,
                                             .show_id = c->show_id,
                                             .entity = (int)c->entity,
                                             .bytes = rpc_bytes_pack(&m.base)};
    }
    int64_t upto =
        page->n_changes < (size_t)q.limit ? page->current_version : page->next_after_version;
    h->version = upto > h->version ? upto : h->version;
    if (page->n_changes < (size_t)q.limit && upto < target) {
      feed_all_(h);
      return 0; /* target was a notification ahead of this snapshot */
    }
  }
}

/* Catches s up with reads of its own filter, as much as its queue has room
 * for. Returns 0, -1 on a failed read. */
static int catch_up_(struct changes_hub *h, struct sub *s) {
  atomic_store(&s->room, 0);
  size_t room = rpc_stream_room(s->stream);
  while (!live_(h, s) && room > 0 && rpc_stream_is_open(s->stream)) {
    size_t n = room < h->cfg.catchup_max ? room : h->cfg.catchup_max;
    struct store_changes_query q = {.after_version = s->cursor,
                                    .limit = (int32_t)n,
                                    .show_ids = s->show_ids,
                                    .n_show_ids = s->n_show_ids,
                                    .entity = s->entity};
    Tvmaze__V1__ListChangesResponse *page = NULL;
    int64_t floor = 0;
    arena_reset(&h->arena);
    enum store_status st = store_changes_list(h->store, &h->arena, &q, &page, &floor);
    if (st != STORE_OK) {
      read_failed_(h, st);
      return -1;
    }
    if (s->cursor < floor) {
      rpc_stream_finish(s->stream, RPC_FAILED_PRECONDITION,
                        "after_version: %" PRId64
                        " is older than the changes kept (TVMAZE_CHANGES_RETENTION_DAYS); "
                        "list again and follow the changes from the listing's version",
                        s->cursor);
      return 0;
    }
    for (size_t i = 0; i < page->n_changes; i++) {
      send_change_(s, page->changes[i]);
    }
    s->cursor = page->n_changes < n ? page->current_version : page->next_after_version;
    room = rpc_stream_room(s->stream);
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* The loop                                                           */
/* ------------------------------------------------------------------ */

/* Takes the inbox, drops closed subscriptions. */
static void gather_(struct changes_hub *h) {
  pthread_mutex_lock(&h->lock);
  struct sub *in = h->inbox;
  h->inbox = NULL;
  pthread_mutex_unlock(&h->lock);
  while (in != NULL) {
    struct sub *next = in->next;
    in->next = h->subs;
    h->subs = in;
    in = next;
  }
  for (struct sub **p = &h->subs; *p != NULL;) {
    struct sub *s = *p;
    if (atomic_load(&s->closed)) {
      *p = s->next;
      sub_free_(h, s);
    } else {
      p = &s->next;
    }
  }
}

/* Heartbeats for subscriptions sent nothing for heartbeat_ms; returns the
 * milliseconds until the next one is due (at most RECHECK_MS). */
static int heartbeats_(struct changes_hub *h) {
  int64_t now = clock_mono_ms(), wait = RECHECK_MS;
  for (struct sub *s = h->subs; s != NULL; s = s->next) {
    int64_t due = s->last_send_ms + h->cfg.heartbeat_ms;
    if (due <= now) {
      send_heartbeat_(s, h->version > s->cursor ? h->version : s->cursor);
      due = now + h->cfg.heartbeat_ms;
    }
    if (due - now < wait) {
      wait = due - now;
    }
    if (s->stall_ms != 0 && s->stall_ms + STALL_MS - now < wait) {
      wait = s->stall_ms + STALL_MS - now;
    }
  }
  return (int)(wait > 0 ? wait : 0);
}

static void step_(struct changes_hub *h) {
  if (clock_mono_ms() < h->retry_at_ms) {
    return;
  }
  int64_t target = 0;
  enum store_status st = store_generation(h->store, &target);
  if (st != STORE_OK) {
    read_failed_(h, st);
    return;
  }
  if (h->version < 0) {
    h->version = target; /* the first live read starts now */
    h->buf_from = target;
    LOG_EVENT(LOG_INFO, "changes_hub_ready", LF_INT("version", target));
  }
  if (read_live_(h, target) != 0) {
    return;
  }
  for (struct sub *s = h->subs; s != NULL; s = s->next) {
    if (!live_(h, s) && !atomic_load(&s->closed)) {
      if (catch_up_(h, s) != 0) {
        return;
      }
      feed_(h, s); /* caught up into the buffer: the rest of it */
    }
  }
}

static void *run_(void *arg) {
  struct changes_hub *h = arg;
  while (!atomic_load(&h->stop)) {
    gather_(h);
    step_(h);
    int timeout = heartbeats_(h);
    int64_t retry = h->retry_at_ms - clock_mono_ms();
    if (retry > 0 && retry < timeout) {
      timeout = (int)retry;
    }
    struct pollfd fds[2] = {{.fd = h->efd, .events = POLLIN},
                            {.fd = store_socket(h->store), .events = POLLIN}};
    int n = poll(fds, fds[1].fd >= 0 ? 2 : 1, timeout);
    if (n > 0 && (fds[0].revents & POLLIN)) {
      uint64_t v;
      ssize_t r = read(h->efd, &v, sizeof v);
      (void)r;
    }
  }
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Public                                                             */
/* ------------------------------------------------------------------ */

struct changes_hub *changes_hub_create(const struct changes_hub_config *cfg) {
  struct changes_hub *h = xcalloc(1, sizeof *h);
  h->cfg = *cfg;
  if (h->cfg.heartbeat_ms <= 0) {
    h->cfg.heartbeat_ms = DEFAULT_HEARTBEAT_MS;
  }
  if (h->cfg.max_queued == 0) {
    h->cfg.max_queued = DEFAULT_MAX_QUEUED;
  }
  if (h->cfg.catchup_max == 0) {
    h->cfg.catchup_max = DEFAULT_CATCHUP;
  }
  h->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (h->efd < 0) {
    LOG_EVENT(LOG_ERROR, "changes_hub_eventfd", LF_STR("error", strerror(errno)));
    abort();
  }
  h->version = -1;
  h->buf = xcalloc(LIVE_PAGE, sizeof *h->buf);
  h->store = store_open(cfg->database_url);
  arena_init(&h->arena, 64 * 1024);
  pthread_mutex_init(&h->lock, NULL);
  if (pthread_create(&h->thread, NULL, run_, h) != 0) {
    LOG_EVENT(LOG_ERROR, "changes_hub_thread", LF_STR("error", strerror(errno)));
    abort();
  }
  return h;
}

void changes_hub_destroy(struct changes_hub *h) {
  if (h == NULL) {
    return;
  }
  atomic_store(&h->stop, 1);
  wake_(h);
  pthread_join(h->thread, NULL);
  gather_(h);
  /* after the rpc server's drain every stream is over; end any left */
  while (h->subs != NULL) {
    struct sub *s = h->subs;
    h->subs = s->next;
    rpc_stream_finish(s->stream, RPC_UNAVAILABLE, "server is shutting down");
    sub_free_(h, s);
  }
  store_close(h->store);
  buf_clear_(h);
  free(h->buf);
  arena_release(&h->arena);
  pthread_mutex_destroy(&h->lock);
  close(h->efd);
  free(h);
}

int changes_hub_watch(struct changes_hub *h, rpc_call *call, const struct changes_watch *w) {
  struct sub *s = xcalloc(1, sizeof *s);
  s->hub = h;
  s->cursor = w->after_version;
  s->entity = w->entity;
  s->last_send_ms = clock_mono_ms();
  if (w->n_show_ids > 0) {
    s->show_ids = xmalloc(w->n_show_ids * sizeof *s->show_ids);
    memcpy(s->show_ids, w->show_ids, w->n_show_ids * sizeof *s->show_ids);
    qsort(s->show_ids, w->n_show_ids, sizeof *s->show_ids, cmp_i32_);
    s->n_show_ids = w->n_show_ids;
  }
  struct rpc_stream_config sc = {.on_event = on_event_, .user = s, .max_queued = h->cfg.max_queued};
  s->stream = rpc_call_stream_accept(call, &sc);
  if (s->stream == NULL) {
    free(s->show_ids);
    free(s);
    return -1;
  }
  atomic_fetch_add(&h->n_streams, 1);
  pthread_mutex_lock(&h->lock);
  s->next = h->inbox;
  h->inbox = s;
  pthread_mutex_unlock(&h->lock);
  wake_(h);
  return 0;
}

size_t changes_hub_streams(const struct changes_hub *h) {
  return atomic_load(&h->n_streams);
}
