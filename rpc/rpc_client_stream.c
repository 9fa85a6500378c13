/*
 * rpc_client_stream: the client half's streaming read (see rpc.h): one
 * server-streaming call on its own completion queue (a "next" queue, so a
 * read can wait with a timeout and another thread can cancel).
 *
 * Batches: at open {SEND_INITIAL_METADATA, SEND_MESSAGE,
 * SEND_CLOSE_FROM_CLIENT, RECV_INITIAL_METADATA} and {RECV_STATUS_ON_CLIENT};
 * then one {RECV_MESSAGE} per reply, started by rpc_client_stream_next and
 * kept across a timeout. A NULL message (or a failed read) means the stream
 * is over: next then waits for the status and returns it. close cancels and
 * waits for every batch before freeing. One reading thread at a time;
 * rpc_client_stream_cancel from any thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "rpc_client_impl.h"
#include "xalloc.h"

struct rpc_client_stream {
  grpc_completion_queue *cq;
  grpc_call *call; /* NULL: never started (code/message say why) */
  const ProtobufCMessageDescriptor *desc;
  grpc_byte_buffer *send;
  grpc_metadata *meta;
  size_t n_meta;
  grpc_metadata_array initial_md, trailing_md;
  grpc_status_code status;
  grpc_slice details;
  grpc_byte_buffer *recv;
  /* Tags (their addresses) and what is outstanding. */
  int tag_start, tag_status, tag_recv;
  int start_out, status_out, recv_out;
  int ended;    /* no more messages */
  int finished; /* status known: code/message */
  rpc_code code;
  char message[512];
};

rpc_client_stream *rpc_client_stream_open(rpc_channel *ch, const char *method_path,
                                          const ProtobufCMessage *request,
                                          const ProtobufCMessageDescriptor *reply_desc,
                                          const struct rpc_client_ctx *ctx) {
  struct rpc_client_stream *s = xcalloc(1, sizeof *s);
  s->desc = reply_desc;
  s->cq = grpc_completion_queue_create_for_next(NULL);
  s->details = grpc_empty_slice();
  grpc_metadata_array_init(&s->initial_md);
  grpc_metadata_array_init(&s->trailing_md);
  int64_t timeout_ms = ctx != NULL ? ctx->timeout_ms : 0;
  gpr_timespec deadline = timeout_ms > 0
                              ? gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                                             gpr_time_from_millis(timeout_ms, GPR_TIMESPAN))
                              : gpr_inf_future(GPR_CLOCK_REALTIME);
  grpc_slice path = grpc_slice_from_copied_string(method_path);
  s->call = grpc_channel_create_call(ch->ch, NULL, GRPC_PROPAGATE_DEFAULTS, s->cq, path, NULL,
                                     deadline, NULL);
  grpc_slice_unref(path);
  size_t n = protobuf_c_message_get_packed_size(request);
  grpc_slice sl = grpc_slice_malloc(n);
  protobuf_c_message_pack(request, GRPC_SLICE_START_PTR(sl));
  s->send = grpc_raw_byte_buffer_create(&sl, 1);
  grpc_slice_unref(sl);
  s->meta = rpc_client_meta_(ch, ctx, &s->n_meta);
  grpc_op ops[4];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[0].data.send_initial_metadata.count = s->n_meta;
  ops[0].data.send_initial_metadata.metadata = s->meta;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = s->send;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
  grpc_op st;
  memset(&st, 0, sizeof st);
  st.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  st.data.recv_status_on_client.trailing_metadata = &s->trailing_md;
  st.data.recv_status_on_client.status = &s->status;
  st.data.recv_status_on_client.status_details = &s->details;
  if (s->call == NULL ||
      grpc_call_start_batch(s->call, ops, 4, &s->tag_start, NULL) != GRPC_CALL_OK) {
    s->ended = s->finished = 1;
    s->code = RPC_INTERNAL;
    snprintf(s->message, sizeof s->message, "cannot start the call of %s", method_path);
    return s;
  }
  s->start_out = 1;
  if (grpc_call_start_batch(s->call, &st, 1, &s->tag_status, NULL) == GRPC_CALL_OK) {
    s->status_out = 1;
  } else {
    grpc_call_cancel(s->call, NULL);
    s->ended = s->finished = 1;
    s->code = RPC_INTERNAL;
    snprintf(s->message, sizeof s->message, "cannot read the status of %s", method_path);
  }
  return s;
}

/* Waits for one event until `until`; 0 on timeout. */
static int wait_(struct rpc_client_stream *s, gpr_timespec until) {
  grpc_event ev = grpc_completion_queue_next(s->cq, until, NULL);
  if (ev.type != GRPC_OP_COMPLETE) {
    return 0;
  }
  if (ev.tag == &s->tag_start) {
    s->start_out = 0;
  } else if (ev.tag == &s->tag_status) {
    s->status_out = 0;
    s->finished = 1;
    s->code = (rpc_code)s->status;
    char *d = grpc_slice_to_c_string(s->details);
    snprintf(s->message, sizeof s->message, "%s", d);
    gpr_free(d);
  } else if (ev.tag == &s->tag_recv) {
    s->recv_out = 0;
    if (!ev.success || s->recv == NULL) {
      s->ended = 1;
    }
  }
  return 1;
}

static rpc_code end_(struct rpc_client_stream *s, char *msg, size_t msglen) {
  while (!s->finished) {
    wait_(s, gpr_inf_future(GPR_CLOCK_REALTIME));
  }
  if (msg != NULL && msglen > 0) {
    snprintf(msg, msglen, "%s", s->message);
  }
  return s->code;
}

rpc_code rpc_client_stream_next(rpc_client_stream *s, ProtobufCMessage **reply, int timeout_ms,
                                char *msg, size_t msglen) {
  *reply = NULL;
  if (msg != NULL && msglen > 0) {
    msg[0] = '\0';
  }
  gpr_timespec until = timeout_ms < 0
                           ? gpr_inf_future(GPR_CLOCK_MONOTONIC)
                           : gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                          gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
  for (;;) {
    if (s->ended) {
      return end_(s, msg, msglen);
    }
    if (!s->recv_out && s->recv != NULL) {
      grpc_slice all = grpc_empty_slice();
      grpc_byte_buffer_reader reader;
      if (grpc_byte_buffer_reader_init(&reader, s->recv)) {
        all = grpc_byte_buffer_reader_readall(&reader);
        grpc_byte_buffer_reader_destroy(&reader);
      }
      grpc_byte_buffer_destroy(s->recv);
      s->recv = NULL;
      *reply = protobuf_c_message_unpack(s->desc, NULL, GRPC_SLICE_LENGTH(all),
                                         GRPC_SLICE_START_PTR(all));
      grpc_slice_unref(all);
      if (*reply != NULL) {
        return RPC_OK;
      }
      grpc_call_cancel_with_status(s->call, GRPC_STATUS_INTERNAL, "reply does not parse", NULL);
      s->ended = 1;
      end_(s, NULL, 0);
      s->code = RPC_INTERNAL;
      snprintf(s->message, sizeof s->message, "reply does not parse as %s", s->desc->name);
      return end_(s, msg, msglen);
    }
    if (!s->recv_out) {
      grpc_op op;
      memset(&op, 0, sizeof op);
      op.op = GRPC_OP_RECV_MESSAGE;
      op.data.recv_message.recv_message = &s->recv;
      if (grpc_call_start_batch(s->call, &op, 1, &s->tag_recv, NULL) != GRPC_CALL_OK) {
        s->ended = 1;
        continue;
      }
      s->recv_out = 1;
    }
    if (!wait_(s, until)) {
      return RPC_STREAM_PENDING;
    }
  }
}

void rpc_client_stream_cancel(rpc_client_stream *s) {
  if (s->call != NULL) {
    grpc_call_cancel(s->call, NULL);
  }
}

void rpc_client_stream_close(rpc_client_stream *s) {
  if (s == NULL) {
    return;
  }
  if (s->call != NULL) {
    if (!s->finished) {
      grpc_call_cancel(s->call, NULL);
    }
    while (s->start_out || s->status_out || s->recv_out) {
      wait_(s, gpr_inf_future(GPR_CLOCK_REALTIME));
    }
    grpc_call_unref(s->call);
  }
  if (s->recv != NULL) {
    grpc_byte_buffer_destroy(s->recv);
  }
  grpc_byte_buffer_destroy(s->send);
  rpc_client_meta_free_(s->meta, s->n_meta);
  grpc_slice_unref(s->details);
  grpc_metadata_array_destroy(&s->initial_md);
  grpc_metadata_array_destroy(&s->trailing_md);
  grpc_completion_queue_shutdown(s->cq);
  while (grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
         GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(s->cq);
  free(s);
}
