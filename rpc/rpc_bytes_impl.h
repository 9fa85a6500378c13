/*
 * rpc_bytes_impl: what rpc_stream.c needs of rpc_bytes.c (packed bytes
 * shared by many streams): their message type and a slice over them that
 * holds a reference. Private to rpc/.
 */
#ifndef TVMAZE_RPC_BYTES_IMPL_H
#define TVMAZE_RPC_BYTES_IMPL_H

#include <grpc/slice.h>

#include "rpc.h"

/* The descriptor of the message b was packed from. */
const ProtobufCMessageDescriptor *rpc_bytes_desc_(const rpc_bytes *b);

/* A slice over b's bytes holding a reference to b (dropped with the slice).
 * Any thread. */
grpc_slice rpc_bytes_slice_(rpc_bytes *b);

#endif
