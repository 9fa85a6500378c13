/*
 * rpc_io: the two primitives every file of the server half uses to talk to
 * gRPC core (see rpc_server_impl.h): starting a batch on a call of a worker
 * (counted in the worker's inflight, which its queue's shutdown waits for)
 * and reading a received byte buffer whole. The bottom of the server half:
 * it calls no other file of it. Worker thread of the call only.
 */
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>

#include "rpc_server_impl.h"

grpc_call_error rpc_batch_start_(struct rpc_worker_ *w, grpc_call *call, const grpc_op *ops,
                                 size_t n, void *tag) {
  grpc_call_error e = grpc_call_start_batch(call, ops, n, tag, NULL);
  if (e == GRPC_CALL_OK) {
    w->inflight++;
  }
  return e;
}

grpc_slice rpc_slice_read_all_(grpc_byte_buffer *bb) {
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, bb)) {
    return grpc_empty_slice();
  }
  grpc_slice s = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  return s;
}
