/*
 * rpc_client_impl: the client half's channel, shared by rpc_client.c (unary
 * calls through protoc-c stubs) and rpc_client_stream.c (server-streaming
 * reads). Private to rpc/.
 */
#ifndef TVMAZE_RPC_CLIENT_IMPL_H
#define TVMAZE_RPC_CLIENT_IMPL_H

#include <grpc/grpc.h>

#include "rpc.h"

#define RPC_CHANNEL_MAX_METADATA 4

struct rpc_channel {
  grpc_channel *ch;   /* thread-safe in gRPC */
  size_t max_message; /* reply limit */
  /* rpc_channel_add_metadata's entries (owned; set before any call, then
   * read-only) */
  char *md_keys[RPC_CHANNEL_MAX_METADATA];
  char *md_values[RPC_CHANNEL_MAX_METADATA];
  size_t n_md;
};

/* The metadata a call sends: the channel's entries, then ctx's (ctx may be
 * NULL). Returns an array of *n entries (NULL when 0); free it with
 * rpc_client_meta_free_. */
grpc_metadata *rpc_client_meta_(const struct rpc_channel *ch, const struct rpc_client_ctx *ctx,
                                size_t *n);
void rpc_client_meta_free_(grpc_metadata *meta, size_t n);

#endif
