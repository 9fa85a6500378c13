/*
 * rpc_client: the client half of the binding (see rpc.h). A ProtobufCService
 * whose invoke runs one unary call: the method is registered on the channel
 * once (grpc_channel_register_call) when the service is created; each call
 * gets its own pluck queue and one batch of six ops, then hands the unpacked
 * reply (or NULL) to the stub's closure with the status in the
 * struct rpc_client_ctx passed as closure_data.
 *
 * Thread-safety: the channel and the service are read-only after creation;
 * every call's state lives on the calling thread's stack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "rpc_client_impl.h"
#include "rpc_internal.h"
#include "rpc_tls_impl.h"
#include "xalloc.h"

#define DEFAULT_MAX_MESSAGE (4u * 1024u * 1024u)

/* Reconnect (rpc.h). gRPC 1.51's pick_first leaves a lost connection in
 * TRANSIENT_FAILURE and connects again only when its resolver answers
 * again (a target without a scheme is dns:, which re-resolves at most once
 * per GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, 30 s by default) or
 * grpc_channel_reset_connect_backoff is called; the subchannel's own
 * backoff (1 s growing by 1.6x to 120 s by default) spaces the attempts.
 * So all three are bounded: attempts 100 ms apart at first, then at most
 * 500 ms (+-20 % jitter), re-resolution at most every 500 ms; an attempt
 * that gets no answer (no RST: host gone) is given up after 1 s
 * (GRPC_ARG_MIN_RECONNECT_BACKOFF_MS is the connect deadline in 1.51; its
 * default is 20 s). With the defaults the gateway kept answering "failed to
 * connect to all addresses" for up to 10 s after its server was back. */
#define RECONNECT_INITIAL_MS 100
#define RECONNECT_MAX_MS 500
#define CONNECT_TIMEOUT_MS 1000

struct client_service_ {
  ProtobufCService base; /* first: the stubs see this */
  rpc_channel *ch;
  void **handles; /* per method: grpc_channel_register_call */
};

rpc_channel *rpc_channel_create(const char *target, size_t max_message_bytes) {
  return rpc_channel_create_tls(target, max_message_bytes, NULL, NULL, 0);
}

rpc_channel *rpc_channel_create_tls(const char *target, size_t max_message_bytes,
                                    const struct rpc_tls_files *tls, char *err, size_t errlen) {
  grpc_channel_credentials *creds =
      tls != NULL ? rpc_tls_channel_creds_(tls, err, errlen) : grpc_insecure_credentials_create();
  if (creds == NULL) {
    return NULL;
  }
  struct rpc_channel *c = xcalloc(1, sizeof *c);
  c->max_message = max_message_bytes ? max_message_bytes : DEFAULT_MAX_MESSAGE;
  if (c->max_message > (size_t)INT32_MAX) {
    c->max_message = (size_t)INT32_MAX;
  }
  const struct {
    const char *key;
    int value;
  } ints[] = {
      {GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, (int)c->max_message},
      {GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, (int)c->max_message},
      {GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, RECONNECT_INITIAL_MS},
      {GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, RECONNECT_MAX_MS},
      {GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, CONNECT_TIMEOUT_MS},
      {GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, RECONNECT_MAX_MS},
  };
  enum { NARGS = sizeof ints / sizeof ints[0] };
  grpc_arg args[NARGS];
  memset(args, 0, sizeof args);
  for (size_t i = 0; i < NARGS; i++) {
    args[i].type = GRPC_ARG_INTEGER;
    args[i].key = (char *)ints[i].key;
    args[i].value.integer = ints[i].value;
  }
  grpc_channel_args ca = {.num_args = NARGS, .args = args};
  c->ch = grpc_channel_create(target, creds, &ca);
  grpc_channel_credentials_release(creds);
  return c;
}

void rpc_channel_destroy(rpc_channel *ch) {
  if (ch == NULL) {
    return;
  }
  if (ch->ch != NULL) {
    grpc_channel_destroy(ch->ch);
  }
  for (size_t i = 0; i < ch->n_md; i++) {
    free(ch->md_keys[i]);
    free(ch->md_values[i]);
  }
  free(ch);
}

void rpc_channel_reset_backoff(rpc_channel *ch) {
  grpc_channel_reset_connect_backoff(ch->ch);
}

int rpc_channel_add_metadata(rpc_channel *ch, const char *key, const char *value) {
  if (ch->n_md >= RPC_CHANNEL_MAX_METADATA) {
    return -1;
  }
  ch->md_keys[ch->n_md] = xstrdup(key);
  ch->md_values[ch->n_md] = xstrdup(value);
  ch->n_md++;
  return 0;
}

grpc_metadata *rpc_client_meta_(const struct rpc_channel *ch, const struct rpc_client_ctx *ctx,
                                size_t *n) {
  size_t n_ctx = ctx != NULL ? ctx->n_metadata : 0;
  *n = ch->n_md + n_ctx;
  if (*n == 0) {
    return NULL;
  }
  grpc_metadata *meta = xcalloc(*n, sizeof *meta);
  for (size_t i = 0; i < ch->n_md; i++) {
    meta[i].key = grpc_slice_from_copied_string(ch->md_keys[i]);
    meta[i].value = grpc_slice_from_copied_string(ch->md_values[i]);
  }
  for (size_t i = 0; i < n_ctx; i++) {
    meta[ch->n_md + i].key = grpc_slice_from_copied_string(ctx->metadata[i].key);
    meta[ch->n_md + i].value = grpc_slice_from_copied_string(ctx->metadata[i].value);
  }
  return meta;
}

void rpc_client_meta_free_(grpc_metadata *meta, size_t n) {
  for (size_t i = 0; i < n; i++) {
    grpc_slice_unref(meta[i].key);
    grpc_slice_unref(meta[i].value);
  }
  free(meta);
}

static void set_msg_(struct rpc_client_ctx *ctx, rpc_code code, const char *msg) {
  ctx->code = code;
  snprintf(ctx->message, sizeof ctx->message, "%s", msg);
}

/* The google.rpc details of the grpc-status-details-bin trailer in md
 * (none when it is absent or does not decode). */
static void details_of_(const grpc_metadata_array *md, struct rpc_details *out) {
  for (size_t i = 0; i < md->count; i++) {
    if (grpc_slice_str_cmp(md->metadata[i].key, "grpc-status-details-bin") == 0) {
      rpc_details_unpack_(GRPC_SLICE_START_PTR(md->metadata[i].value),
                          GRPC_SLICE_LENGTH(md->metadata[i].value), out);
      return;
    }
  }
}

static void invoke_(ProtobufCService *service, unsigned method_index, const ProtobufCMessage *input,
                    ProtobufCClosure closure, void *closure_data) {
  struct client_service_ *cs = (struct client_service_ *)service;
  struct rpc_client_ctx *ctx = closure_data;
  const ProtobufCMethodDescriptor *md = &service->descriptor->methods[method_index];
  ctx->code = RPC_UNKNOWN;
  ctx->message[0] = '\0';
  ctx->reply = NULL;
  ctx->details.n = 0;

  gpr_timespec deadline = ctx->timeout_ms > 0
                              ? gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                                             gpr_time_from_millis(ctx->timeout_ms, GPR_TIMESPAN))
                              : gpr_inf_future(GPR_CLOCK_REALTIME);
  grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
  grpc_call *call = grpc_channel_create_registered_call(
      cs->ch->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, cs->handles[method_index], deadline, NULL);

  size_t n = protobuf_c_message_get_packed_size(input);
  grpc_slice s = grpc_slice_malloc(n);
  protobuf_c_message_pack(input, GRPC_SLICE_START_PTR(s));
  grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&s, 1);
  grpc_slice_unref(s);

  size_t n_meta = 0;
  grpc_metadata *meta = rpc_client_meta_(cs->ch, ctx, &n_meta);
  grpc_metadata_array initial_md, trailing_md;
  grpc_metadata_array_init(&initial_md);
  grpc_metadata_array_init(&trailing_md);
  grpc_byte_buffer *recv = NULL;
  grpc_status_code status = GRPC_STATUS_UNKNOWN;
  grpc_slice details = grpc_empty_slice();

  grpc_op ops[6];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[0].data.send_initial_metadata.count = n_meta;
  ops[0].data.send_initial_metadata.metadata = meta;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = send;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
  ops[4].op = GRPC_OP_RECV_MESSAGE;
  ops[4].data.recv_message.recv_message = &recv;
  ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
  ops[5].data.recv_status_on_client.status = &status;
  ops[5].data.recv_status_on_client.status_details = &details;

  ProtobufCMessage *reply = NULL;
  grpc_call_error e = grpc_call_start_batch(call, ops, 6, call, NULL);
  if (e != GRPC_CALL_OK) {
    set_msg_(ctx, RPC_INTERNAL, "grpc_call_start_batch failed");
  } else {
    grpc_completion_queue_pluck(cq, call, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    ctx->code = (rpc_code)status;
    char *d = grpc_slice_to_c_string(details);
    snprintf(ctx->message, sizeof ctx->message, "%s", d);
    gpr_free(d);
    if (status != GRPC_STATUS_OK) {
      details_of_(&trailing_md, &ctx->details);
    }
    if (status == GRPC_STATUS_OK) {
      if (recv == NULL) {
        set_msg_(ctx, RPC_INTERNAL, "no reply message");
      } else {
        grpc_byte_buffer_reader reader;
        grpc_slice all = grpc_empty_slice();
        if (grpc_byte_buffer_reader_init(&reader, recv)) {
          all = grpc_byte_buffer_reader_readall(&reader);
          grpc_byte_buffer_reader_destroy(&reader);
        }
        reply = protobuf_c_message_unpack(md->output, NULL, GRPC_SLICE_LENGTH(all),
                                          GRPC_SLICE_START_PTR(all));
        grpc_slice_unref(all);
        if (reply == NULL) {
          set_msg_(ctx, RPC_INTERNAL, "reply does not parse");
        }
      }
    }
  }
  if (recv != NULL) {
    grpc_byte_buffer_destroy(recv);
  }
  grpc_byte_buffer_destroy(send);
  grpc_slice_unref(details);
  grpc_metadata_array_destroy(&initial_md);
  grpc_metadata_array_destroy(&trailing_md);
  rpc_client_meta_free_(meta, n_meta);
  grpc_call_unref(call);
  grpc_completion_queue_shutdown(cq);
  grpc_completion_queue_destroy(cq);

  closure(reply, closure_data);
  if (reply != NULL && ctx->reply != reply) {
    protobuf_c_message_free_unpacked(reply, NULL);
  }
}

static void destroy_(ProtobufCService *service) {
  rpc_client_service_destroy(service);
}

ProtobufCService *rpc_client_service_create(rpc_channel *ch,
                                            const ProtobufCServiceDescriptor *desc) {
  struct client_service_ *cs = xcalloc(1, sizeof *cs);
  cs->base.descriptor = desc;
  cs->base.invoke = invoke_;
  cs->base.destroy = destroy_;
  cs->ch = ch;
  cs->handles = xcalloc(desc->n_methods ? desc->n_methods : 1, sizeof *cs->handles);
  for (unsigned i = 0; i < desc->n_methods; i++) {
    char *path = xasprintf("/%s/%s", desc->name, desc->methods[i].name);
    cs->handles[i] = grpc_channel_register_call(ch->ch, path, NULL, NULL);
    free(path);
  }
  return &cs->base;
}

void rpc_client_service_destroy(ProtobufCService *service) {
  if (service == NULL) {
    return;
  }
  struct client_service_ *cs = (struct client_service_ *)service;
  free(cs->handles);
  free(cs);
}

void rpc_client_keep_reply(const ProtobufCMessage *reply, void *closure_data) {
  struct rpc_client_ctx *ctx = closure_data;
  ctx->reply = (ProtobufCMessage *)reply;
}

void rpc_client_ctx_release(struct rpc_client_ctx *ctx) {
  if (ctx->reply != NULL) {
    protobuf_c_message_free_unpacked(ctx->reply, NULL);
  }
  ctx->reply = NULL;
  rpc_details_clear(&ctx->details);
  ctx->code = RPC_UNKNOWN;
  ctx->message[0] = '\0';
}
