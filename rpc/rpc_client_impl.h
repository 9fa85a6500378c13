/*
 * rpc_client_impl: the client half's channel, shared by rpc_client.c (unary
 * calls through protoc-c stubs) and rpc_client_stream.c (server-streaming
 * reads). Private to rpc/.
 */
#ifndef TVMAZE_RPC_CLIENT_IMPL_H
#define TVMAZE_RPC_CLIENT_IMPL_H

#include <grpc/grpc.h>

#include "rpc.h"

struct rpc_channel {
  grpc_channel *ch;   /* thread-safe in gRPC */
  size_t max_message; /* reply limit */
};

#endif
