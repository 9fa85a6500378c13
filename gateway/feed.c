/*
 * feed: stream subscribers, catch-up, live fan-out, suspend/resume. See
 * feed.h for the model.
 *
 * Positions. The feed's `pos` is the last version the follower reported
 * (a change or a base). A subscriber's `scan` is the version up to which
 * every change has been queued for it or filtered out. A catch-up page
 * (ListChanges after scan, filters, limit PAGE) moves scan to its last
 * change, and, when the page holds fewer than PAGE changes, to its
 * current_version (read in the same snapshot: nothing matching lies in
 * between). Under the lock, a subscriber whose page was short and whose
 * scan >= pos goes live: every change the follower reports from then on
 * has a version > pos, and those <= scan (already paged) are skipped, so
 * the hand-over has no gap and no duplicate. A new base above a live
 * subscriber's scan (the follower started over) sends it back to catch-up.
 * A subscriber opened at exactly pos (a client following from the version
 * the follower has reached) starts live at once, without an upstream call.
 *
 * Waiting without a thread. libmicrohttpd calls the content reader when it
 * can send; with nothing queued the reader suspends the connection
 * (MHD_suspend_connection, legal inside the reader) and returns 0; an
 * event, a page, a heartbeat or the stop resumes it (`suspended` under the
 * lock says who may). A catch-up page is fetched by a worker job submitted
 * by the reader; while the job runs the connection stays suspended, so
 * MHD cannot free the subscriber under it (MHD sees no disconnect while a
 * connection is suspended); a subscriber freed by MHD while a job is
 * queued after a stop (`orphan`) is freed by the job.
 *
 * Memory per subscriber: the struct (~0.6 KiB with its trace ids), its
 * show_ids, and SUB_QUEUE references to events that live changes share.
 * Tests: tests/integration/test_gateway_changes.sh.
 */
#include "feed.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "feed_event.h"
#include "log.h"
#include "reply.h"
#include "strbuf.h"
#include "ticker.h"
#include "trace.h"
#include "upstream.h"
#include "workers.h"
#include "xalloc.h"

#define SUB_QUEUE 64  /* events queued per subscriber */
#define STALL_MS 1000 /* a full queue that takes no event for this long is cut off */
#define PAGE 16       /* changes per catch-up page */
#define READ_BLOCK 4096

struct gw_sub {
  struct gw_feed *feed;
  struct gw_sub *prev, *next; /* the feed's list (lock) */
  struct MHD_Connection *con; /* set by gw_feed_response */
  int ndjson;                 /* 1: NDJSON, 0: SSE; read-only */
  int32_t *show_ids;          /* filter (owned), n_show_ids of them; read-only */
  size_t n_show_ids;
  int entity;                      /* filter: 0 any; read-only */
  int linked;                      /* in the feed's list (lock) */
  int live;                        /* lock: 1 live, 0 catch-up */
  int64_t scan;                    /* lock: see the top comment */
  struct gw_feed_ev *q[SUB_QUEUE]; /* lock: ring of queued events */
  unsigned qhead, qlen;            /* lock */
  size_t qoff;                     /* lock: bytes of q[qhead] already sent */
  int ended;                       /* lock: no more events; END once the queue is sent */
  int suspended;                   /* lock: the reader suspended the connection */
  int job_busy;                    /* lock: a catch-up page job is queued or running */
  int orphan;                      /* lock: MHD freed the response while job_busy */
  int64_t last_write_ms;           /* lock: clock_mono_ms() of the last bytes handed to MHD */
  struct gw_job job;               /* the catch-up page job */
  struct gw_trace trace;           /* ids of the stream's upstream calls; read-only */
};

struct gw_feed {
  struct gw_upstream *up;           /* borrowed */
  struct gw_workers *workers;       /* borrowed */
  long heartbeat_ms;                /* read-only */
  struct ticker *ticker;            /* heartbeats */
  pthread_mutex_t lock;             /* guards everything below and every subscriber's lock fields */
  pthread_cond_t room;              /* a full queue took an event, or stop (CLOCK_MONOTONIC) */
  struct gw_sub *head;              /* linked subscribers */
  long nsubs;                       /* linked */
  long opening;                     /* in gw_feed_open, counted against max_streams */
  long max_streams;                 /* read-only: cap of nsubs + opening */
  unsigned long long refused_total; /* opens refused at max_streams */
  int64_t pos;                      /* last version the follower reported; -1: none */
  int stopping;
  unsigned long long cut_total;    /* subscribers cut off for being slow */
  unsigned long long events_total; /* events queued to subscribers */
};

/* ------------------------------------------------------------------ */
/* Subscribers (every helper here runs under f->lock)                  */
/* ------------------------------------------------------------------ */

static int matches_(const struct gw_sub *s, const Tvmaze__V1__Change *c) {
  if (s->entity != 0 && (int)c->entity != s->entity)
    return 0;
  if (s->n_show_ids == 0)
    return 1;
  for (size_t i = 0; i < s->n_show_ids; i++)
    if (s->show_ids[i] == c->show_id)
      return 1;
  return 0;
}

/* Resumes s's connection if the reader suspended it. */
static void wake_(struct gw_sub *s) {
  if (s->suspended) {
    s->suspended = 0;
    MHD_resume_connection(s->con);
  }
}

/* Queues a reference to e; a full queue cuts s off instead (e may be NULL
 * then). */
static void push_(struct gw_feed *f, struct gw_sub *s, struct gw_feed_ev *e) {
  if (s->ended)
    return;
  if (s->qlen == SUB_QUEUE) {
    s->ended = 1;
    f->cut_total++;
    LOG_EVENT(LOG_INFO, "sse_client_cut", LF_STR("request_id", s->trace.request_id),
              LF_INT("version", s->scan), LF_INT("queued", s->qlen));
    return;
  }
  s->q[(s->qhead + s->qlen) % SUB_QUEUE] = gw_feed_ev_ref(e);
  s->qlen++;
  f->events_total++;
}

/* Adds s to the feed's list. */
static void link_(struct gw_feed *f, struct gw_sub *s) {
  s->last_write_ms = clock_mono_ms();
  s->next = f->head;
  if (f->head)
    f->head->prev = s;
  f->head = s;
  s->linked = 1;
  f->nsubs++;
}

static void unlink_(struct gw_feed *f, struct gw_sub *s) {
  if (!s->linked)
    return;
  if (s->prev)
    s->prev->next = s->next;
  else
    f->head = s->next;
  if (s->next)
    s->next->prev = s->prev;
  s->prev = s->next = NULL;
  s->linked = 0;
  f->nsubs--;
}

/* Frees s (unlinked): its queue, filters, the struct. */
static void sub_free_(struct gw_sub *s) {
  for (unsigned i = 0; i < s->qlen; i++)
    gw_feed_ev_unref(s->q[(s->qhead + i) % SUB_QUEUE]);
  free(s->show_ids);
  free(s);
}

/* ------------------------------------------------------------------ */
/* Catch-up pages                                                      */
/* ------------------------------------------------------------------ */

/* A fetched page: its events (built outside the lock) and positions. */
struct page {
  struct gw_feed_ev *ev[PAGE];
  int64_t version[PAGE];
  size_t n;
  int64_t last;    /* the last change's version, else after */
  int64_t current; /* the reply's current_version */
  int short_page;  /* fewer than PAGE changes: nothing more up to current */
};

/* ListChanges after `after` with s's filters (blocking). RPC_OK and *pg
 * filled, or the code with msg set. */
static rpc_code fetch_page_(struct gw_feed *f, const struct gw_sub *s, int64_t after,
                            const struct gw_trace *trace, struct page *pg, char *msg,
                            size_t msglen) {
  Tvmaze__V1__ListChangesRequest req = TVMAZE__V1__LIST_CHANGES_REQUEST__INIT;
  Google__Protobuf__Int32Value limit = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  limit.value = PAGE;
  req.limit = &limit;
  req.after_version = after;
  req.show_ids = s->show_ids;
  req.n_show_ids = s->n_show_ids;
  req.entity = (Tvmaze__V1__ChangeEntity)s->entity;
  const ProtobufCMethodDescriptor *m = protobuf_c_service_descriptor_get_method_by_name(
      &tvmaze__v1__changes__descriptor, "ListChanges");
  struct rpc_client_ctx ctx;
  gw_upstream_call(f->up, &tvmaze__v1__changes__descriptor,
                   (unsigned)(m - tvmaze__v1__changes__descriptor.methods), &req.base, trace, &ctx);
  rpc_code code = ctx.code;
  memset(pg, 0, sizeof *pg);
  if (code == RPC_OK && ctx.reply) {
    const Tvmaze__V1__ListChangesResponse *r = (const Tvmaze__V1__ListChangesResponse *)ctx.reply;
    pg->last = after;
    for (size_t i = 0; i < r->n_changes && pg->n < PAGE; i++) {
      if (r->changes[i]->version <= pg->last)
        continue;
      pg->ev[pg->n] = gw_feed_ev_change(r->changes[i]);
      pg->version[pg->n] = r->changes[i]->version;
      pg->last = r->changes[i]->version;
      pg->n++;
    }
    pg->current = r->current_version;
    pg->short_page = r->n_changes < PAGE;
  } else {
    if (code == RPC_OK)
      code = RPC_INTERNAL;
    snprintf(msg, msglen, "%s", ctx.message[0] ? ctx.message : rpc_code_name(code));
  }
  rpc_client_ctx_release(&ctx);
  return code;
}

static void page_release_(struct page *pg) {
  for (size_t i = 0; i < pg->n; i++)
    gw_feed_ev_unref(pg->ev[i]);
  pg->n = 0;
}

/* Queues pg's changes to s and moves its position; live when the page
 * reached the follower's position. Under f->lock. */
static void apply_page_(struct gw_feed *f, struct gw_sub *s, const struct page *pg) {
  for (size_t i = 0; i < pg->n; i++) {
    if (pg->version[i] > s->scan) {
      push_(f, s, pg->ev[i]);
      s->scan = pg->version[i];
    }
  }
  if (pg->short_page && pg->current > s->scan)
    s->scan = pg->current;
  if (pg->short_page && s->scan >= f->pos)
    s->live = 1;
}

/* The catch-up job (a worker): one page for a suspended subscriber. */
static void page_job_(struct gw_job *job) {
  struct gw_sub *s = (struct gw_sub *)(void *)((char *)job - offsetof(struct gw_sub, job));
  struct gw_feed *f = s->feed;
  pthread_mutex_lock(&f->lock);
  int skip = s->ended || f->stopping || s->orphan;
  int64_t after = s->scan;
  pthread_mutex_unlock(&f->lock);
  struct page pg = {0};
  rpc_code code = RPC_CANCELLED;
  char msg[256] = "";
  if (!skip)
    code = fetch_page_(f, s, after, &s->trace, &pg, msg, sizeof msg);
  pthread_mutex_lock(&f->lock);
  if (code == RPC_OK) {
    if (!s->live && s->scan == after)
      apply_page_(f, s, &pg);
  } else if (!skip) {
    LOG_EVENT(LOG_WARN, "sse_catchup_failed", LF_STR("request_id", s->trace.request_id),
              LF_STR("code", rpc_code_name(code)), LF_STR("message", msg));
    s->ended = 1; /* the client resumes with Last-Event-ID */
  }
  s->job_busy = 0;
  int orphan = s->orphan;
  if (!orphan)
    wake_(s);
  pthread_mutex_unlock(&f->lock);
  page_release_(&pg);
  if (orphan)
    sub_free_(s);
}

/* ------------------------------------------------------------------ */
/* The follower's listener                                             */
/* ------------------------------------------------------------------ */

void gw_feed_on_base(void *feed, int64_t version) {
  struct gw_feed *f = feed;
  pthread_mutex_lock(&f->lock);
  if (version > f->pos) {
    for (struct gw_sub *s = f->head; s; s = s->next) {
      if (s->live && s->scan < version) {
        s->live = 0; /* changes up to version may never be reported: page them */
        wake_(s);
      }
    }
    f->pos = version;
  }
  pthread_mutex_unlock(&f->lock);
}

/* 1 when c goes to live subscriber s. */
static int takes_(const struct gw_sub *s, const Tvmaze__V1__Change *c) {
  return s->live && !s->ended && c->version > s->scan && matches_(s, c);
}

/* Waits (f->lock held) until every live subscriber that takes c has room
 * for it; one still full after STALL_MS is cut off: it took no event for
 * that long. So a burst (a day of changes) is paced by the readers, the
 * fast ones are never cut for the gateway's own lag, and one stalled
 * reader delays the others at most STALL_MS once. */
static void wait_room_(struct gw_feed *f, const Tvmaze__V1__Change *c) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += STALL_MS / 1000;
  until.tv_nsec += (STALL_MS % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  int timed_out = 0, waited = 0;
  while (!f->stopping) {
    int full = 0;
    /* wait for a full queue, then until it is down to half (batches, not
     * one event per wake-up) */
    unsigned limit = waited ? SUB_QUEUE / 2 + 1 : SUB_QUEUE;
    for (struct gw_sub *s = f->head; s; s = s->next) {
      if (s->qlen >= limit && takes_(s, c)) {
        full = 1;
        if (timed_out && s->qlen == SUB_QUEUE)
          push_(f, s, NULL); /* still full: cuts it off */
      }
    }
    if (!full || timed_out)
      return;
    waited = 1;
    timed_out = pthread_cond_timedwait(&f->room, &f->lock, &until) == ETIMEDOUT;
  }
}

void gw_feed_on_change(void *feed, const Tvmaze__V1__Change *c) {
  struct gw_feed *f = feed;
  struct gw_feed_ev *e = NULL;
  pthread_mutex_lock(&f->lock);
  wait_room_(f, c);
  if (c->version > f->pos)
    f->pos = c->version;
  for (struct gw_sub *s = f->head; s; s = s->next) {
    if (!s->live || s->ended || c->version <= s->scan)
      continue;
    s->scan = c->version;
    if (!matches_(s, c))
      continue;
    if (!e)
      e = gw_feed_ev_change(c); /* once, shared by every subscriber */
    push_(f, s, e);
    wake_(s);
  }
  pthread_mutex_unlock(&f->lock);
  gw_feed_ev_unref(e);
}

/* The timer: a heartbeat to each idle live subscriber. */
static void heartbeat_tick_(void *arg) {
  struct gw_feed *f = arg;
  int64_t now = clock_mono_ms();
  pthread_mutex_lock(&f->lock);
  for (struct gw_sub *s = f->head; s; s = s->next) {
    if (!s->live || s->ended || s->qlen > 0 || now - s->last_write_ms < f->heartbeat_ms)
      continue;
    struct gw_feed_ev *e = gw_feed_ev_heartbeat(s->scan > f->pos ? s->scan : f->pos);
    push_(f, s, e);
    gw_feed_ev_unref(e);
    s->last_write_ms = now; /* one per period, even before MHD takes it */
    wake_(s);
  }
  pthread_mutex_unlock(&f->lock);
}

/* ------------------------------------------------------------------ */
/* MHD content reader                                                  */
/* ------------------------------------------------------------------ */

static ssize_t reader_(void *cls, uint64_t at, char *buf, size_t max) {
  (void)at;
  struct gw_sub *s = cls;
  struct gw_feed *f = s->feed;
  size_t n = 0;
  int submit = 0;
  pthread_mutex_lock(&f->lock);
  while (n < max && s->qlen > 0) {
    size_t len;
    const char *text = gw_feed_ev_text(s->q[s->qhead], s->ndjson, &len);
    size_t k = len - s->qoff < max - n ? len - s->qoff : max - n;
    memcpy(buf + n, text + s->qoff, k);
    n += k;
    s->qoff += k;
    if (s->qoff == len) {
      if (s->qlen == SUB_QUEUE / 2 + 1)
        pthread_cond_broadcast(&f->room); /* a follower waiting for room may go on */
      gw_feed_ev_unref(s->q[s->qhead]);
      s->qhead = (s->qhead + 1) % SUB_QUEUE;
      s->qlen--;
      s->qoff = 0;
    }
  }
  if (n > 0) {
    s->last_write_ms = clock_mono_ms();
    pthread_mutex_unlock(&f->lock);
    return (ssize_t)n;
  }
  if (s->ended || f->stopping) {
    pthread_mutex_unlock(&f->lock);
    return MHD_CONTENT_READER_END_OF_STREAM;
  }
  /* nothing to send: park the connection until an event, a page or stop */
  s->suspended = 1;
  MHD_suspend_connection(s->con);
  if (!s->live && !s->job_busy) {
    s->job_busy = 1;
    submit = 1;
  }
  pthread_mutex_unlock(&f->lock);
  if (submit) {
    s->job.run = page_job_;
    s->job.expire = NULL;
    s->job.deadline_ms = 0;
    if (gw_workers_submit(f->workers, &s->job) != 0) {
      pthread_mutex_lock(&f->lock);
      s->job_busy = 0;
      s->ended = 1; /* no worker: end; the client resumes with Last-Event-ID */
      wake_(s);
      pthread_mutex_unlock(&f->lock);
    }
  }
  return 0;
}

/* MHD frees the response: the connection is done with s. */
static void reader_free_(void *cls) {
  struct gw_sub *s = cls;
  struct gw_feed *f = s->feed;
  pthread_mutex_lock(&f->lock);
  unlink_(f, s);
  int busy = s->job_busy;
  if (busy)
    s->orphan = 1; /* the job frees it */
  pthread_mutex_unlock(&f->lock);
  if (!busy)
    sub_free_(s);
}

/* ------------------------------------------------------------------ */
/* Public                                                              */
/* ------------------------------------------------------------------ */

struct gw_feed *gw_feed_create(struct gw_upstream *up, struct gw_workers *w, long heartbeat_ms,
                               long max_streams, char *err, size_t errlen) {
  struct gw_feed *f = xcalloc(1, sizeof *f);
  f->up = up;
  f->workers = w;
  f->heartbeat_ms = heartbeat_ms > 0 ? heartbeat_ms : 10000;
  f->max_streams = max_streams > 0 ? max_streams : 1;
  f->pos = -1;
  pthread_mutex_init(&f->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&f->room, &ca);
  pthread_condattr_destroy(&ca);
  long tick = f->heartbeat_ms / 4 > 1000 ? 1000
              : f->heartbeat_ms / 4 > 10 ? f->heartbeat_ms / 4
                                         : 10;
  f->ticker = ticker_start(tick, heartbeat_tick_, f, "stream heartbeat", err, errlen);
  if (!f->ticker) {
    gw_feed_destroy(f);
    return NULL;
  }
  return f;
}

void gw_feed_stop(struct gw_feed *f) {
  if (!f)
    return;
  pthread_mutex_lock(&f->lock);
  f->stopping = 1;
  pthread_cond_broadcast(&f->room);
  for (struct gw_sub *s = f->head; s; s = s->next) {
    s->ended = 1;
    wake_(s);
  }
  pthread_mutex_unlock(&f->lock);
}

void gw_feed_destroy(struct gw_feed *f) {
  if (!f)
    return;
  gw_feed_stop(f);
  ticker_stop(f->ticker);
  pthread_mutex_lock(&f->lock);
  while (f->head) { /* MHD stopped: no response holds these any more */
    struct gw_sub *s = f->head;
    unlink_(f, s);
    sub_free_(s);
  }
  pthread_mutex_unlock(&f->lock);
  pthread_cond_destroy(&f->room);
  pthread_mutex_destroy(&f->lock);
  free(f);
}

struct gw_sub *gw_feed_open(struct gw_feed *f, const Tvmaze__V1__WatchChangesRequest *req,
                            int ndjson, const char *after_field, const struct gw_trace *trace,
                            struct gw_reply *reply) {
  /* a slot first: the streams never take the connections /up and the
   * other requests need (daemon.c sizes the connection limit above it) */
  pthread_mutex_lock(&f->lock);
  int full = f->nsubs + f->opening >= f->max_streams;
  if (full)
    f->refused_total++;
  else
    f->opening++;
  pthread_mutex_unlock(&f->lock);
  if (full) {
    reply->retry_after = 1;
    gw_reply_error(reply, 503, RPC_UNAVAILABLE,
                   "TVMAZE_STREAM_LIMIT: this gateway serves at most %ld change streams at "
                   "once; retry later",
                   f->max_streams);
    return NULL;
  }
  struct gw_sub *s = xcalloc(1, sizeof *s);
  s->feed = f;
  s->ndjson = ndjson;
  s->entity = (int)req->entity;
  s->scan = req->after_version;
  if (req->n_show_ids > 0) {
    s->show_ids = xcalloc(req->n_show_ids, sizeof *s->show_ids);
    memcpy(s->show_ids, req->show_ids, req->n_show_ids * sizeof *s->show_ids);
    s->n_show_ids = req->n_show_ids;
  }
  s->trace = *trace;
  s->trace.span = NULL;     /* the request's span stays the request's */
  s->trace.deadline_ms = 0; /* later pages: each its own upstream deadline */
  /* following from exactly the feed's position (a listing's version the
   * follower has reached): nothing to catch up, and no upstream call */
  pthread_mutex_lock(&f->lock);
  int fast = !f->stopping && f->pos >= 0 && req->after_version == f->pos;
  if (fast) {
    s->live = 1;
    link_(f, s);
    f->opening--;
  }
  pthread_mutex_unlock(&f->lock);
  if (fast)
    return s;
  struct page pg;
  char msg[256];
  rpc_code code = fetch_page_(f, s, req->after_version, trace, &pg, msg, sizeof msg);
  if (code != RPC_OK) {
    /* the server names after_version; say where the client put it */
    const char *rest = strncmp(msg, "after_version", 13) == 0 ? msg + 13 : NULL;
    if (rest && strcmp(after_field, "after_version") != 0)
      gw_reply_error(reply, 0, code, "%s%s", after_field, rest);
    else
      gw_reply_error(reply, 0, code, "%s", msg);
    sub_free_(s);
    pthread_mutex_lock(&f->lock);
    f->opening--;
    pthread_mutex_unlock(&f->lock);
    return NULL;
  }
  pthread_mutex_lock(&f->lock);
  f->opening--;
  int stopping = f->stopping;
  if (!stopping) {
    apply_page_(f, s, &pg);
    link_(f, s);
  }
  pthread_mutex_unlock(&f->lock);
  page_release_(&pg);
  if (stopping) {
    reply->retry_after = 1;
    gw_reply_error(reply, 503, RPC_UNAVAILABLE, "the gateway is stopping; retry later");
    sub_free_(s);
    return NULL;
  }
  return s;
}

struct MHD_Response *gw_feed_response(struct gw_sub *s, struct MHD_Connection *con) {
  s->con = con; /* before MHD may call the reader */
  struct MHD_Response *resp =
      MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, READ_BLOCK, reader_, s, reader_free_);
  if (!resp)
    gw_feed_sub_release(s);
  return resp;
}

void gw_feed_sub_release(struct gw_sub *s) {
  if (!s)
    return;
  struct gw_feed *f = s->feed;
  pthread_mutex_lock(&f->lock);
  unlink_(f, s);
  pthread_mutex_unlock(&f->lock);
  sub_free_(s);
}

void gw_feed_render(struct gw_feed *f, struct strbuf *out) {
  pthread_mutex_lock(&f->lock);
  long n = f->nsubs;
  unsigned long long cut = f->cut_total, events = f->events_total, refused = f->refused_total;
  long limit = f->max_streams;
  pthread_mutex_unlock(&f->lock);
  strbuf_appendf(out,
                 "# HELP tvmaze_gateway_sse_streams Open change streams (SSE and NDJSON)\n"
                 "# TYPE tvmaze_gateway_sse_streams gauge\n"
                 "tvmaze_gateway_sse_streams %ld\n"
                 "# HELP tvmaze_gateway_sse_cut_total Change streams cut off for reading too "
                 "slowly\n"
                 "# TYPE tvmaze_gateway_sse_cut_total counter\n"
                 "tvmaze_gateway_sse_cut_total %llu\n"
                 "# HELP tvmaze_gateway_sse_events_total Events queued to change streams\n"
                 "# TYPE tvmaze_gateway_sse_events_total counter\n"
                 "tvmaze_gateway_sse_events_total %llu\n"
                 "# HELP tvmaze_gateway_sse_streams_limit Change streams served at once "
                 "(TVMAZE_STREAM_LIMIT)\n"
                 "# TYPE tvmaze_gateway_sse_streams_limit gauge\n"
                 "tvmaze_gateway_sse_streams_limit %ld\n"
                 "# HELP tvmaze_gateway_sse_refused_total Change streams refused at the limit\n"
                 "# TYPE tvmaze_gateway_sse_refused_total counter\n"
                 "tvmaze_gateway_sse_refused_total %llu\n",
                 n, cut, events, limit, refused);
}
