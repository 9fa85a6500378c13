/*
 * feed_grpc: N Changes/WatchChanges subscribers for bench/changes.sh, on
 * gRPC C core directly: ONE completion queue and one thread for every
 * stream, spread over C channels (GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL: a
 * connection each), stream i on channel i % C. Each reply is decoded with
 * the generated protobuf-c code; a change counts for its stream (order,
 * duplicates, latency from its changed_at; feed_common.h).
 *
 * Per stream, batches: {SEND_INITIAL_METADATA (x-api-key), SEND_MESSAGE,
 * SEND_CLOSE_FROM_CLIENT, RECV_INITIAL_METADATA} and {RECV_STATUS_ON_CLIENT}
 * at start, then one {RECV_MESSAGE} at a time. A stream that ends before
 * the stop (the server cut a slow reader: RESOURCE_EXHAUSTED) is restarted
 * 100 ms later from the last version it received (counted in reconnects).
 *
 * Usage: tvmaze-feed-grpc --target HOST:PORT --key KEY --streams N
 *          --channels C --after V --stop FILE [--ready FILE] [--commits FILE] [--timeout S]
 * --commits FILE: "CHANGED_AT_US COMMIT_US" per transaction, written by the
 * script with the stop file: the latencies are also given against the
 * commit time (feed_log_commit_hist).
 * Prints the summary line of feed_report on stdout; exit 0 when it ran
 * (the figures say whether every stream got every change), 2 on bad usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed_common.h"
#include "tvmaze/v1/changes.pb-c.h"
#include "xalloc.h"

enum { TAG_START, TAG_STATUS, TAG_RECV };

struct stream;
struct tag {
  struct stream *s;
  int kind;
};

struct stream {
  size_t index;
  grpc_channel *ch;
  grpc_call *call; /* NULL: not running */
  struct tag t_start, t_status, t_recv;
  int start_out, status_out, recv_out; /* batches outstanding */
  grpc_byte_buffer *send;              /* the request, until the start batch completes */
  grpc_byte_buffer *recv;
  grpc_metadata_array initial_md, trailing_md;
  grpc_status_code status;
  grpc_slice details;
  int64_t restart_at_us; /* > 0: start again at this time */
};

static const char *g_key;
static grpc_completion_queue *g_cq;
static struct feed_sub *g_subs;
static struct feed_hist g_hist;
static struct feed_log g_log;
static int g_stopping;
static unsigned g_errors_logged;

static void recv_next_(struct stream *s) {
  grpc_op op;
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_RECV_MESSAGE;
  op.data.recv_message.recv_message = &s->recv;
  if (grpc_call_start_batch(s->call, &op, 1, &s->t_recv, NULL) == GRPC_CALL_OK)
    s->recv_out = 1;
}

static void start_(struct stream *s) {
  Tvmaze__V1__WatchChangesRequest req = TVMAZE__V1__WATCH_CHANGES_REQUEST__INIT;
  req.after_version = g_subs[s->index].last;
  size_t len = tvmaze__v1__watch_changes_request__get_packed_size(&req);
  grpc_slice sl = grpc_slice_malloc(len);
  tvmaze__v1__watch_changes_request__pack(&req, GRPC_SLICE_START_PTR(sl));
  s->send = grpc_raw_byte_buffer_create(&sl, 1);
  grpc_slice_unref(sl);

  s->restart_at_us = 0;
  s->call =
      grpc_channel_create_call(s->ch, NULL, GRPC_PROPAGATE_DEFAULTS, g_cq,
                               grpc_slice_from_static_string("/tvmaze.v1.Changes/WatchChanges"),
                               NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  grpc_metadata md;
  memset(&md, 0, sizeof md);
  md.key = grpc_slice_from_static_string("x-api-key");
  md.value = grpc_slice_from_static_string(g_key);
  grpc_metadata_array_init(&s->initial_md);
  grpc_metadata_array_init(&s->trailing_md);
  s->details = grpc_empty_slice();

  grpc_op ops[4];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[0].data.send_initial_metadata.count = 1;
  ops[0].data.send_initial_metadata.metadata = &md;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = s->send;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
  if (grpc_call_start_batch(s->call, ops, 4, &s->t_start, NULL) == GRPC_CALL_OK)
    s->start_out = 1;
  grpc_op st;
  memset(&st, 0, sizeof st);
  st.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  st.data.recv_status_on_client.trailing_metadata = &s->trailing_md;
  st.data.recv_status_on_client.status = &s->status;
  st.data.recv_status_on_client.status_details = &s->details;
  if (grpc_call_start_batch(s->call, &st, 1, &s->t_status, NULL) == GRPC_CALL_OK)
    s->status_out = 1;
}

/* Every batch of s is back: release the call; restart it unless stopping. */
static void finish_if_idle_(struct stream *s) {
  if (s->call == NULL || s->start_out || s->status_out || s->recv_out)
    return;
  if (!g_stopping && s->status != GRPC_STATUS_OK && g_errors_logged < 10) {
    char *d = grpc_slice_to_c_string(s->details);
    fprintf(stderr, "feed_grpc: stream %zu ended: status %d %s\n", s->index, (int)s->status, d);
    gpr_free(d);
    g_errors_logged++;
  }
  grpc_call_unref(s->call);
  s->call = NULL;
  grpc_metadata_array_destroy(&s->initial_md);
  grpc_metadata_array_destroy(&s->trailing_md);
  grpc_slice_unref(s->details);
  if (s->send != NULL) {
    grpc_byte_buffer_destroy(s->send);
    s->send = NULL;
  }
  if (!g_stopping) {
    g_subs[s->index].reconnect++;
    s->restart_at_us = feed_now_us() + 100000;
  }
}

static void on_message_(struct stream *s) {
  grpc_byte_buffer_reader r;
  if (!grpc_byte_buffer_reader_init(&r, s->recv))
    return;
  grpc_slice all = grpc_byte_buffer_reader_readall(&r);
  grpc_byte_buffer_reader_destroy(&r);
  Tvmaze__V1__WatchChangesResponse *m = tvmaze__v1__watch_changes_response__unpack(
      NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
  grpc_slice_unref(all);
  if (m == NULL) {
    fprintf(stderr, "feed_grpc: stream %zu: undecodable reply\n", s->index);
    return;
  }
  if (m->message_case == TVMAZE__V1__WATCH_CHANGES_RESPONSE__MESSAGE_CHANGE) {
    const Tvmaze__V1__Change *c = m->change;
    int64_t ref = 0;
    if (c->changed_at != NULL)
      ref = c->changed_at->seconds * 1000000 + c->changed_at->nanos / 1000;
    int64_t now = feed_now_us();
    feed_sub_change(&g_subs[s->index], &g_hist, c->version, ref, now);
    feed_log_add(&g_log, ref, now);
  }
  tvmaze__v1__watch_changes_response__free_unpacked(m, NULL);
}

static void on_event_(grpc_event ev) {
  struct tag *t = ev.tag;
  struct stream *s = t->s;
  switch (t->kind) {
  case TAG_START:
    s->start_out = 0;
    grpc_byte_buffer_destroy(s->send);
    s->send = NULL;
    if (ev.success) {
      g_subs[s->index].ready = 1;
      if (!g_stopping)
        recv_next_(s);
    }
    break;
  case TAG_STATUS:
    s->status_out = 0;
    break;
  case TAG_RECV:
    s->recv_out = 0;
    if (ev.success && s->recv != NULL) {
      on_message_(s);
      grpc_byte_buffer_destroy(s->recv);
      s->recv = NULL;
      if (!g_stopping)
        recv_next_(s);
    }
    break;
  default:
    break;
  }
  finish_if_idle_(s);
}

static void usage_(void) {
  fputs(
      "usage: tvmaze-feed-grpc --target HOST:PORT --key KEY --streams N --channels C "
      "--after V --stop FILE [--ready FILE] [--commits FILE] [--timeout S]\n",
      stderr);
  exit(2);
}

int main(int argc, char **argv) {
  const char *target = NULL, *stop_path = NULL, *ready_path = NULL, *commits = NULL;
  long n = 0, nch = 1, timeout_s = 600;
  long long after = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (strcmp(k, "--target") == 0)
      target = v;
    else if (strcmp(k, "--key") == 0)
      g_key = v;
    else if (strcmp(k, "--streams") == 0)
      n = strtol(v, NULL, 10);
    else if (strcmp(k, "--channels") == 0)
      nch = strtol(v, NULL, 10);
    else if (strcmp(k, "--after") == 0)
      after = strtoll(v, NULL, 10);
    else if (strcmp(k, "--stop") == 0)
      stop_path = v;
    else if (strcmp(k, "--ready") == 0)
      ready_path = v;
    else if (strcmp(k, "--commits") == 0)
      commits = v;
    else if (strcmp(k, "--timeout") == 0)
      timeout_s = strtol(v, NULL, 10);
    else
      usage_();
  }
  if (target == NULL || g_key == NULL || stop_path == NULL || n <= 0 || nch <= 0 || nch > n)
    usage_();

  grpc_init();
  g_cq = grpc_completion_queue_create_for_next(NULL);
  grpc_arg args[2];
  memset(args, 0, sizeof args);
  args[0].type = GRPC_ARG_INTEGER;
  args[0].key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
  args[0].value.integer = 1;
  args[1].type = GRPC_ARG_INTEGER;
  args[1].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
  args[1].value.integer = -1;
  grpc_channel_args ca = {.num_args = 2, .args = args};
  grpc_channel_credentials *creds = grpc_insecure_credentials_create();
  grpc_channel **chs = xcalloc((size_t)nch, sizeof *chs);
  for (long c = 0; c < nch; c++)
    chs[c] = grpc_channel_create(target, creds, &ca);
  grpc_channel_credentials_release(creds);

  g_subs = xcalloc((size_t)n, sizeof *g_subs);
  struct stream *ss = xcalloc((size_t)n, sizeof *ss);
  for (long i = 0; i < n; i++) {
    struct stream *s = &ss[i];
    s->index = (size_t)i;
    s->ch = chs[i % nch];
    s->t_start = (struct tag){s, TAG_START};
    s->t_status = (struct tag){s, TAG_STATUS};
    s->t_recv = (struct tag){s, TAG_RECV};
    g_subs[i].last = after;
    start_(s);
  }

  struct feed_stop stop = {.path = stop_path};
  int64_t deadline = feed_now_us() + (int64_t)timeout_s * 1000000;
  int timed_out = 0, readied = 0;
  int64_t next_tick = 0, next_progress = feed_now_us() + 10000000;
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(
        g_cq, gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(200, GPR_TIMESPAN)),
        NULL);
    if (ev.type == GRPC_OP_COMPLETE)
      on_event_(ev);
    int64_t now = feed_now_us();
    if (now < next_tick)
      continue;
    next_tick = now + 200000;
    if (!readied) {
      long r = 0;
      for (long i = 0; i < n; i++)
        r += g_subs[i].ready != 0;
      if (r == n) {
        feed_mark_ready(ready_path);
        readied = 1;
      }
    }
    for (long i = 0; i < n; i++)
      if (ss[i].call == NULL && ss[i].restart_at_us > 0 && ss[i].restart_at_us <= now)
        start_(&ss[i]);
    feed_stop_poll(&stop);
    if (now >= next_progress) {
      feed_progress("grpc", &stop, g_subs, (size_t)n);
      next_progress = now + 10000000;
    }
    if (feed_all_done(&stop, g_subs, (size_t)n))
      break;
    if (now > deadline) {
      timed_out = 1;
      break;
    }
  }

  /* Stop: cancel every call, wait for all their batches. */
  g_stopping = 1;
  for (long i = 0; i < n; i++)
    if (ss[i].call != NULL)
      grpc_call_cancel(ss[i].call, NULL);
  for (;;) {
    long live = 0;
    for (long i = 0; i < n; i++)
      live += ss[i].call != NULL;
    if (live == 0)
      break;
    grpc_event ev = grpc_completion_queue_next(
        g_cq, gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(5000, GPR_TIMESPAN)),
        NULL);
    if (ev.type != GRPC_OP_COMPLETE)
      break;
    on_event_(ev);
  }
  static struct feed_hist hc;
  uint64_t missing = 0;
  int have_c = commits != NULL && feed_log_commit_hist(&g_log, commits, &hc, &missing) == 0;
  feed_report("grpc", &stop, g_subs, (size_t)n, &g_hist, have_c ? &hc : NULL, missing, timed_out);
  feed_log_free(&g_log);

  for (long c = 0; c < nch; c++)
    grpc_channel_destroy(chs[c]);
  grpc_completion_queue_shutdown(g_cq);
  while (grpc_completion_queue_next(g_cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
         GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(g_cq);
  xfree(ss);
  xfree(g_subs);
  xfree(chs);
  grpc_shutdown();
  return 0;
}
