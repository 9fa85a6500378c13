/*
 * rpc_bytes: a message packed once and sent to many server streams
 * (rpc_stream_send_bytes; see rpc.h). One allocation: a reference count,
 * the message type and the bytes. Every queued send holds a reference
 * through its grpc_slice (grpc_slice_new_with_user_data), so a change sent
 * to 1,000 watchers is packed and stored once. Thread-safe (atomic count).
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "rpc_bytes_impl.h"
#include "xalloc.h"

struct rpc_bytes {
  atomic_long refs;
  const ProtobufCMessageDescriptor *desc;
  size_t len;
  uint8_t data[]; /* len bytes */
};

rpc_bytes *rpc_bytes_pack(const ProtobufCMessage *msg) {
  if (msg == NULL) {
    return NULL;
  }
  size_t n = protobuf_c_message_get_packed_size(msg);
  struct rpc_bytes *b = xmalloc(sizeof *b + (n ? n : 1));
  atomic_init(&b->refs, 1);
  b->desc = msg->descriptor;
  b->len = n;
  protobuf_c_message_pack(msg, b->data);
  return b;
}

rpc_bytes *rpc_bytes_ref(rpc_bytes *b) {
  atomic_fetch_add(&b->refs, 1);
  return b;
}

void rpc_bytes_unref(rpc_bytes *b) {
  if (b != NULL && atomic_fetch_sub(&b->refs, 1) == 1) {
    free(b);
  }
}

size_t rpc_bytes_len(const rpc_bytes *b) {
  return b->len;
}

const ProtobufCMessageDescriptor *rpc_bytes_desc_(const rpc_bytes *b) {
  return b->desc;
}

static void slice_done_(void *user) {
  rpc_bytes_unref(user);
}

grpc_slice rpc_bytes_slice_(rpc_bytes *b) {
  if (b->len == 0) {
    return grpc_empty_slice();
  }
  return grpc_slice_new_with_user_data(b->data, b->len, slice_done_, rpc_bytes_ref(b));
}
