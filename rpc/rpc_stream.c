/*
 * rpc_stream: server-streaming calls of the server half (see rpc.h
 * "server-streaming methods", rpc_server_impl.h).
 *
 * Life of a stream (struct rpc_stream), its batches on the worker's queue
 * (RPC_TAG_STREAM, counted in the worker's ext_inflight):
 *
 *   accepted    {RECV_MESSAGE}                        the request (OP_RECV)
 *   open        the method's open callback on the worker, with the request
 *     refused   {SEND_INITIAL_METADATA, SEND_STATUS, RECV_CLOSE} (OP_CLOSE)
 *     accepted  {SEND_INITIAL_METADATA, RECV_CLOSE}   (OP_CLOSE; completes
 *               when the call is over: status sent, cancelled, deadline)
 *   sending     {SEND_MESSAGE} (OP_SEND), one at a time; the rest wait in a
 *               bounded ring of slices; started by whichever thread sends
 *               (or by the worker when the previous one completes); one
 *               with more queued behind it is write-buffered (send_now_)
 *   finish      {SEND_STATUS} (OP_STATUS) once the queue is empty
 *   overflow,   grpc_call_cancel_with_status: the status goes out at once
 *   drain       (trailers, not behind the stuck messages) and the queue is
 *               dropped
 *
 * Once OP_CLOSE completed and no batch is outstanding the binding is done:
 * CLOSED is fired (accepted streams), the observer hears FINISHED, the
 * stream leaves the server's list (the drain's sweep), the grpc_call is
 * released and the binding's reference dropped. The struct lives on while
 * its owner holds a reference; sends then return the end code.
 *
 * Locks: s->lock guards the queue and the state and is held around every
 * grpc_call_start_batch / cancel on the call; srv->streams_lock guards the
 * list and is taken before s->lock (the sweep), never while holding it.
 * on_event runs with no lock held.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "rpc_bytes_impl.h"
#include "rpc_server_impl.h"
#include "xalloc.h"

#define DEFAULT_MAX_QUEUED 256
#define DEFAULT_MAX_QUEUED_BYTES (4u * 1024u * 1024u)
#define FIRST_RING 8
#define DEADLINE_SLACK_MS 250 /* a cancel this close to the deadline is the deadline */

static const char drain_message_[] =
    "server is shutting down; resume from the last version received";

enum stream_op_ { OP_RECV, OP_CLOSE, OP_SEND, OP_STATUS };

/* One batch's tag: which batch of which stream. */
struct stag_ {
  struct rpc_tag_ tag; /* RPC_TAG_STREAM */
  enum stream_op_ op;
  struct rpc_stream *s;
};

enum stream_state_ {
  S_OPEN,      /* sends accepted */
  S_FINISHING, /* finish called: the queue drains, then the status */
  S_ENDED,     /* status sent or the call cancelled: sends refused */
};

struct rpc_stream {
  atomic_int refs; /* the binding's (until done) + the owner's */
  pthread_mutex_t lock;
  /* Fixed at acceptance. */
  struct rpc_worker_ *w;
  struct rpc_method_ *m;
  struct rpc_call c; /* what open sees; c.call is the grpc_call */
  const ProtobufCMessageDescriptor *out_desc;
  size_t max_message;
  struct stag_ t_recv, t_close, t_send, t_status;
  int observed;
  int64_t start_ns;
  /* Worker thread only. */
  grpc_byte_buffer *recv; /* the request */
  int cancelled;          /* RECV_CLOSE_ON_SERVER's result */
  /* Set in accept, then read-only. */
  struct rpc_stream_config cfg;
  /* Under lock. */
  int accepted;
  enum stream_state_ state;
  rpc_code end_code; /* S_FINISHING / S_ENDED: the status */
  char *end_msg;
  grpc_slice *ring; /* queued messages, ring of ring_cap */
  size_t ring_cap, head, n_queued, queued_bytes;
  grpc_byte_buffer *sending; /* the message on the wire */
  int pending;               /* batches outstanding */
  int over;                  /* OP_CLOSE completed */
  int above_half;            /* the queue went above half: ROOM when it falls below */
  int done;                  /* the binding let go */
  /* srv->streams_lock */
  struct rpc_stream *prev, *next;
  int listed;
};

/* ------------------------------------------------------------------ */
/* Batches (s->lock held)                                             */
/* ------------------------------------------------------------------ */

static grpc_call_error start_(struct rpc_stream *s, const grpc_op *ops, size_t n, struct stag_ *t) {
  atomic_fetch_add(&s->w->ext_inflight, 1);
  grpc_call_error e = grpc_call_start_batch(s->c.call, ops, n, &t->tag, NULL);
  if (e == GRPC_CALL_OK) {
    s->pending++;
  } else {
    atomic_fetch_sub(&s->w->ext_inflight, 1);
  }
  return e;
}

static void set_end_(struct rpc_stream *s, rpc_code code, const char *msg) {
  s->end_code = code;
  free(s->end_msg);
  s->end_msg = xstrdup(msg);
}

static void drop_queue_(struct rpc_stream *s) {
  while (s->n_queued > 0) {
    grpc_slice_unref(s->ring[s->head]);
    s->head = (s->head + 1) % s->ring_cap;
    s->n_queued--;
  }
  s->queued_bytes = 0;
}

/* Starts the SEND_MESSAGE of sl (reference taken over). A message with
 * more queued behind it carries GRPC_WRITE_BUFFER_HINT: the transport
 * completes it at once without a write of its own (up to its write buffer,
 * 64 KiB), so a burst leaves in few writes instead of one write and one
 * completion round trip per message; the last one of the burst (nothing
 * queued behind it) goes without the hint and flushes them all. */
static void send_now_(struct rpc_stream *s, grpc_slice sl) {
  s->sending = grpc_raw_byte_buffer_create(&sl, 1);
  grpc_slice_unref(sl);
  grpc_op op;
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_SEND_MESSAGE;
  op.flags = s->n_queued > 0 ? GRPC_WRITE_BUFFER_HINT : 0;
  op.data.send_message.send_message = s->sending;
  if (start_(s, &op, 1, &s->t_send) != GRPC_CALL_OK) {
    grpc_byte_buffer_destroy(s->sending); /* the call is over: OP_CLOSE tells */
    s->sending = NULL;
  }
}

static void send_status_(struct rpc_stream *s) {
  s->state = S_ENDED;
  grpc_slice details = grpc_slice_from_copied_string(s->end_msg ? s->end_msg : "");
  grpc_op op;
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  op.data.send_status_from_server.status = (grpc_status_code)s->end_code;
  op.data.send_status_from_server.status_details = &details;
  start_(s, &op, 1, &s->t_status);
  grpc_slice_unref(details);
}

/* Ends s at once (queue dropped): the status goes out as trailers even
 * when a message is stuck on a reader that does not read. */
static void end_now_(struct rpc_stream *s, rpc_code code, const char *msg) {
  if (s->state == S_ENDED) {
    return;
  }
  set_end_(s, code, msg);
  drop_queue_(s);
  if (s->accepted && s->sending == NULL) {
    send_status_(s);
    return;
  }
  s->state = S_ENDED;
  grpc_call_cancel_with_status(s->c.call, (grpc_status_code)code, msg, NULL);
}

/* ------------------------------------------------------------------ */
/* References and the end                                             */
/* ------------------------------------------------------------------ */

rpc_stream *rpc_stream_ref(rpc_stream *s) {
  atomic_fetch_add(&s->refs, 1);
  return s;
}

void rpc_stream_unref(rpc_stream *s) {
  if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1) {
    return;
  }
  drop_queue_(s);
  free(s->ring);
  free(s->end_msg);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

static void report_(struct rpc_stream *s, enum rpc_call_event ev, rpc_code code) {
  const struct rpc_server_config *cfg = &s->w->srv->cfg;
  int64_t now = rpc_mono_ns_();
  if (ev == RPC_CALL_STARTED) {
    s->start_ns = now;
  }
  struct rpc_call_report r = {
      .event = ev,
      .service = s->m->reg->svc,
      .method_index = s->m->reg->index,
      .code = code,
      .duration_ns = ev == RPC_CALL_FINISHED ? now - s->start_ns : 0,
      .worker_index = s->w->index,
      .worker_data = s->w->data,
      .streaming = 1,
      .call = ev == RPC_CALL_STARTED ? &s->c : NULL,
      .slot = &s->c.observer_slot,
  };
  cfg->observe(&r, cfg->user);
}

/* The binding lets go once the call is over and no batch is out. Worker. */
static void maybe_done_(struct rpc_stream *s) {
  pthread_mutex_lock(&s->lock);
  int go = s->over && s->pending == 0 && !s->done;
  if (go) {
    s->done = 1;
  }
  rpc_code code = s->end_code;
  int fire = go && s->accepted;
  pthread_mutex_unlock(&s->lock);
  if (!go) {
    return;
  }
  struct rpc_server *srv = s->w->srv;
  pthread_mutex_lock(&srv->streams_lock);
  if (s->listed) {
    if (s->prev != NULL) {
      s->prev->next = s->next;
    } else {
      srv->streams = s->next;
    }
    if (s->next != NULL) {
      s->next->prev = s->prev;
    }
    s->listed = 0;
  }
  pthread_mutex_unlock(&srv->streams_lock);
  if (s->observed) {
    report_(s, RPC_CALL_FINISHED, code);
  }
  if (fire && s->cfg.on_event != NULL) {
    s->cfg.on_event(s, RPC_STREAM_CLOSED, s->cfg.user);
  }
  pthread_mutex_lock(&s->lock);
  rpc_call_clear_(&s->c); /* the grpc_call, metadata, strings */
  s->c.call = NULL;
  pthread_mutex_unlock(&s->lock);
  rpc_stream_unref(s);
}

/* ------------------------------------------------------------------ */
/* Open                                                               */
/* ------------------------------------------------------------------ */

/* Ends a stream that was never accepted with code/msg in one batch. */
static void refuse_(struct rpc_stream *s, rpc_code code, const char *msg) {
  pthread_mutex_lock(&s->lock);
  if (s->state != S_ENDED) {
    set_end_(s, code, msg);
    s->state = S_ENDED;
  }
  grpc_slice details = grpc_slice_from_copied_string(s->end_msg ? s->end_msg : "");
  grpc_metadata trailer;
  int has_trailer = rpc_status_details_(s->end_code, s->end_msg, s->c.retry_s, &trailer);
  grpc_op ops[3];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[1].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[1].data.send_status_from_server.status = (grpc_status_code)s->end_code;
  ops[1].data.send_status_from_server.status_details = &details;
  ops[1].data.send_status_from_server.trailing_metadata_count = has_trailer ? 1 : 0;
  ops[1].data.send_status_from_server.trailing_metadata = has_trailer ? &trailer : NULL;
  ops[2].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  ops[2].data.recv_close_on_server.cancelled = &s->cancelled;
  grpc_call_error e = start_(s, ops, 3, &s->t_close);
  grpc_slice_unref(details);
  if (has_trailer) {
    grpc_slice_unref(trailer.key);
    grpc_slice_unref(trailer.value);
  }
  if (e != GRPC_CALL_OK) {
    s->over = 1;
  }
  pthread_mutex_unlock(&s->lock);
  if (e != GRPC_CALL_OK) {
    maybe_done_(s);
  }
}

void rpc_stream_accept_(struct rpc_worker_ *w, struct rpc_method_ *m, grpc_call *call,
                        grpc_metadata_array *md, gpr_timespec deadline) {
  struct rpc_server *srv = w->srv;
  struct rpc_stream *s = xcalloc(1, sizeof *s);
  atomic_init(&s->refs, 1);
  pthread_mutex_init(&s->lock, NULL);
  s->w = w;
  s->m = m;
  s->c.w = w;
  s->c.m = m;
  s->c.call = call;
  s->c.md = *md;
  s->c.deadline = deadline;
  s->c.stream = s;
  s->out_desc = m->reg->svc->methods[m->reg->index].output;
  s->max_message = srv->cfg.max_message_bytes;
  s->observed = m->reg->observed && srv->cfg.observe != NULL;
  struct stag_ *tags[4] = {&s->t_recv, &s->t_close, &s->t_send, &s->t_status};
  for (int i = 0; i < 4; i++) {
    tags[i]->tag.kind = RPC_TAG_STREAM;
    tags[i]->op = (enum stream_op_)i;
    tags[i]->s = s;
  }
  if (s->observed) {
    report_(s, RPC_CALL_STARTED, RPC_OK);
  }
  pthread_mutex_lock(&srv->streams_lock);
  int draining = atomic_load(&srv->shutting_down);
  if (!draining) {
    s->next = srv->streams;
    if (srv->streams != NULL) {
      srv->streams->prev = s;
    }
    srv->streams = s;
    s->listed = 1;
  }
  pthread_mutex_unlock(&srv->streams_lock);
  if (draining) {
    refuse_(s, RPC_UNAVAILABLE, drain_message_);
    return;
  }
  grpc_op op;
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_RECV_MESSAGE;
  op.data.recv_message.recv_message = &s->recv;
  pthread_mutex_lock(&s->lock);
  grpc_call_error e = start_(s, &op, 1, &s->t_recv);
  pthread_mutex_unlock(&s->lock);
  if (e != GRPC_CALL_OK) {
    refuse_(s, RPC_INTERNAL, "cannot read the request");
  }
}

/* The request arrived (or the call ended first): unpack, open. Worker. */
static void on_request_(struct rpc_stream *s, int success) {
  pthread_mutex_lock(&s->lock);
  int ended = s->state == S_ENDED;
  pthread_mutex_unlock(&s->lock);
  if (ended || !success || s->recv == NULL) {
    refuse_(s, RPC_CANCELLED, "the call ended before its request arrived");
    return;
  }
  const struct rpc_stream_reg_ *reg = s->m->reg;
  const ProtobufCMessageDescriptor *in_desc = reg->svc->methods[reg->index].input;
  grpc_slice bytes = rpc_slice_read_all_(s->recv);
  grpc_byte_buffer_destroy(s->recv);
  s->recv = NULL;
  const struct rpc_server_config *cfg = &s->c.w->srv->cfg;
  if (reg->observed && cfg->gate != NULL &&
      cfg->gate(&s->c, reg->svc, reg->index, s->c.w->data, cfg->user) != 0) {
    grpc_slice_unref(bytes);
    refuse_(s, s->c.message != NULL ? s->c.code : RPC_PERMISSION_DENIED,
            s->c.message != NULL ? s->c.message : "refused");
    return;
  }
  ProtobufCMessage *in = NULL;
  rpc_code rc = rpc_unpack_request(in_desc, GRPC_SLICE_START_PTR(bytes), GRPC_SLICE_LENGTH(bytes),
                                   s->max_message, &in);
  char field[128];
  int nul = rc == RPC_OK && rpc_packed_find_nul(in_desc, GRPC_SLICE_START_PTR(bytes),
                                                GRPC_SLICE_LENGTH(bytes), field, sizeof field);
  grpc_slice_unref(bytes);
  if (rc != RPC_OK || nul) {
    protobuf_c_message_free_unpacked(in, NULL);
    char why[192];
    snprintf(why, sizeof why, "%s%s",
             nul ? field
                 : (rc == RPC_RESOURCE_EXHAUSTED ? "request exceeds the message size limit"
                                                 : "request does not parse as the method's input"),
             nul ? ": must not contain a NUL character" : "");
    refuse_(s, rc != RPC_OK ? rc : RPC_INVALID_ARGUMENT, why);
    return;
  }
  reg->open(&s->c, in, reg->user);
  protobuf_c_message_free_unpacked(in, NULL);
  pthread_mutex_lock(&s->lock);
  int accepted = s->accepted;
  pthread_mutex_unlock(&s->lock);
  if (!accepted) {
    if (s->c.message != NULL) {
      refuse_(s, s->c.code, s->c.message);
    } else {
      refuse_(s, RPC_INTERNAL, "stream open returned without accepting or refusing");
    }
  }
}

rpc_stream *rpc_call_stream_accept(rpc_call *call, const struct rpc_stream_config *cfg) {
  struct rpc_stream *s = call->stream;
  if (s == NULL) {
    return NULL;
  }
  pthread_mutex_lock(&s->lock);
  if (s->accepted) {
    pthread_mutex_unlock(&s->lock);
    return NULL;
  }
  if (cfg != NULL) {
    s->cfg = *cfg;
  }
  if (s->cfg.max_queued == 0) {
    s->cfg.max_queued = DEFAULT_MAX_QUEUED;
  }
  if (s->cfg.max_queued_bytes == 0) {
    s->cfg.max_queued_bytes = DEFAULT_MAX_QUEUED_BYTES;
  }
  grpc_op ops[2];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[1].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  ops[1].data.recv_close_on_server.cancelled = &s->cancelled;
  if (start_(s, ops, 2, &s->t_close) != GRPC_CALL_OK) {
    pthread_mutex_unlock(&s->lock);
    return NULL; /* on_request_ refuses it */
  }
  s->accepted = 1;
  atomic_fetch_add(&s->refs, 1); /* the owner's */
  pthread_mutex_unlock(&s->lock);
  return s;
}

/* ------------------------------------------------------------------ */
/* Sending (any thread)                                               */
/* ------------------------------------------------------------------ */

/* Queues or sends slice sl (reference taken over). */
static rpc_code send_slice_(struct rpc_stream *s, grpc_slice sl) {
  size_t len = GRPC_SLICE_LENGTH(sl);
  char why[160];
  rpc_code rc = RPC_OK;
  pthread_mutex_lock(&s->lock);
  if (s->state != S_OPEN) {
    rc = s->end_code;
    grpc_slice_unref(sl);
  } else if (len > s->max_message) {
    snprintf(why, sizeof why, "message of %zu bytes exceeds the limit of %zu", len, s->max_message);
    grpc_slice_unref(sl);
    end_now_(s, RPC_RESOURCE_EXHAUSTED, why);
    rc = RPC_RESOURCE_EXHAUSTED;
  } else if (s->sending == NULL && s->n_queued == 0) {
    send_now_(s, sl);
  } else if (s->n_queued >= s->cfg.max_queued ||
             (s->n_queued > 0 && s->queued_bytes + len > s->cfg.max_queued_bytes)) {
    snprintf(why, sizeof why, "stream reader too slow: %zu messages queued", s->n_queued);
    grpc_slice_unref(sl);
    end_now_(s, RPC_RESOURCE_EXHAUSTED, why);
    rc = RPC_RESOURCE_EXHAUSTED;
  } else {
    if (s->n_queued == s->ring_cap) {
      size_t cap = s->ring_cap ? s->ring_cap * 2 : FIRST_RING;
      grpc_slice *ring = xcalloc(cap, sizeof *ring);
      for (size_t i = 0; i < s->n_queued; i++) {
        ring[i] = s->ring[(s->head + i) % s->ring_cap];
      }
      free(s->ring);
      s->ring = ring;
      s->ring_cap = cap;
      s->head = 0;
    }
    s->ring[(s->head + s->n_queued) % s->ring_cap] = sl;
    s->n_queued++;
    s->queued_bytes += len;
    if (s->n_queued > s->cfg.max_queued / 2 || s->queued_bytes > s->cfg.max_queued_bytes / 2) {
      s->above_half = 1;
    }
  }
  pthread_mutex_unlock(&s->lock);
  return rc;
}

rpc_code rpc_stream_send(rpc_stream *s, const ProtobufCMessage *msg) {
  if (msg == NULL || msg->descriptor != s->out_desc) {
    return RPC_INVALID_ARGUMENT;
  }
  size_t n = protobuf_c_message_get_packed_size(msg);
  grpc_slice sl = grpc_slice_malloc(n);
  protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(sl));
  return send_slice_(s, sl);
}

rpc_code rpc_stream_send_bytes(rpc_stream *s, rpc_bytes *b) {
  if (b == NULL || rpc_bytes_desc_(b) != s->out_desc) {
    return RPC_INVALID_ARGUMENT;
  }
  return send_slice_(s, rpc_bytes_slice_(b));
}

size_t rpc_stream_queued(const rpc_stream *cs) {
  struct rpc_stream *s = (struct rpc_stream *)cs; /* the lock */
  pthread_mutex_lock(&s->lock);
  size_t n = s->n_queued;
  pthread_mutex_unlock(&s->lock);
  return n;
}

size_t rpc_stream_room(const rpc_stream *cs) {
  struct rpc_stream *s = (struct rpc_stream *)cs;
  pthread_mutex_lock(&s->lock);
  size_t n =
      s->state == S_OPEN && s->n_queued < s->cfg.max_queued ? s->cfg.max_queued - s->n_queued : 0;
  pthread_mutex_unlock(&s->lock);
  return n;
}

int rpc_stream_is_open(const rpc_stream *cs) {
  struct rpc_stream *s = (struct rpc_stream *)cs;
  pthread_mutex_lock(&s->lock);
  int open = s->state != S_ENDED;
  pthread_mutex_unlock(&s->lock);
  return open;
}

void rpc_stream_finish(rpc_stream *s, rpc_code code, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&s->lock);
  if (s->state == S_OPEN) {
    set_end_(s, code, buf);
    s->state = S_FINISHING;
    if (s->sending == NULL && s->n_queued == 0) {
      send_status_(s);
    }
  }
  pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------------ */
/* Events (worker thread)                                             */
/* ------------------------------------------------------------------ */

static void on_sent_(struct rpc_stream *s, int success) {
  int room = 0;
  pthread_mutex_lock(&s->lock);
  s->pending--;
  grpc_byte_buffer_destroy(s->sending);
  s->sending = NULL;
  if (!success) {
    drop_queue_(s); /* the call is over; OP_CLOSE tells how */
  } else if (s->n_queued > 0) {
    grpc_slice sl = s->ring[s->head];
    s->head = (s->head + 1) % s->ring_cap;
    s->n_queued--;
    s->queued_bytes -= GRPC_SLICE_LENGTH(sl);
    send_now_(s, sl);
  }
  if (s->above_half && s->state == S_OPEN && s->n_queued < s->cfg.max_queued / 2 &&
      s->queued_bytes < s->cfg.max_queued_bytes / 2) {
    s->above_half = 0;
    room = 1;
  }
  if (s->state == S_FINISHING && s->sending == NULL && s->n_queued == 0) {
    send_status_(s);
  }
  pthread_mutex_unlock(&s->lock);
  if (room && s->cfg.on_event != NULL) {
    s->cfg.on_event(s, RPC_STREAM_ROOM, s->cfg.user);
  }
}

static void on_close_(struct rpc_stream *s) {
  pthread_mutex_lock(&s->lock);
  s->pending--;
  s->over = 1;
  if (s->state != S_ENDED) { /* not ended by the binding: the client or the deadline */
    /* the client's deadline timer fires before the server's (which counts
     * from the request's arrival): a cancel that close to it is the deadline */
    gpr_timespec d = gpr_convert_clock_type(s->c.deadline, GPR_CLOCK_MONOTONIC);
    gpr_timespec soon = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                     gpr_time_from_millis(DEADLINE_SLACK_MS, GPR_TIMESPAN));
    int late = gpr_time_cmp(d, soon) <= 0;
    set_end_(s, late ? RPC_DEADLINE_EXCEEDED : RPC_CANCELLED,
             late ? "deadline exceeded" : "cancelled by the client");
    s->state = S_ENDED;
  }
  drop_queue_(s);
  pthread_mutex_unlock(&s->lock);
}

void rpc_stream_event_(void *tag, int success) {
  struct stag_ *t = tag;
  struct rpc_stream *s = t->s;
  switch (t->op) {
  case OP_RECV:
    pthread_mutex_lock(&s->lock);
    s->pending--;
    pthread_mutex_unlock(&s->lock);
    on_request_(s, success);
    break;
  case OP_CLOSE:
    on_close_(s);
    break;
  case OP_SEND:
    on_sent_(s, success);
    break;
  case OP_STATUS:
    pthread_mutex_lock(&s->lock);
    s->pending--;
    pthread_mutex_unlock(&s->lock);
    break;
  }
  maybe_done_(s);
}

/* ------------------------------------------------------------------ */
/* Drain                                                              */
/* ------------------------------------------------------------------ */

void rpc_streams_cancel_all_(struct rpc_server *srv) {
  pthread_mutex_lock(&srv->streams_lock);
  for (struct rpc_stream *s = srv->streams; s != NULL; s = s->next) {
    pthread_mutex_lock(&s->lock);
    if (s->state != S_ENDED) {
      set_end_(s, RPC_UNAVAILABLE, drain_message_);
      drop_queue_(s);
      s->state = S_ENDED;
      grpc_call_cancel_with_status(s->c.call, GRPC_STATUS_UNAVAILABLE, drain_message_, NULL);
    }
    pthread_mutex_unlock(&s->lock);
  }
  pthread_mutex_unlock(&srv->streams_lock);
}
