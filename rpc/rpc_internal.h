/*
 * rpc_internal: pieces of the binding shared between its files and exposed to
 * the binding's own tests and fuzz targets: request unpacking (rpc_call.c),
 * the details trailer's Status (rpc_details.c) and the reflection index
 * (rpc_reflection.c). Not for code above the
 * binding. The server half's structures are in rpc_server_impl.h.
 */
#ifndef TVMAZE_RPC_INTERNAL_H
#define TVMAZE_RPC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "rpc.h"

/* Unpacks request bytes with `desc` (rpc_call.c). Returns RPC_OK and the message in *out
 * (free with protobuf_c_message_free_unpacked), RPC_RESOURCE_EXHAUSTED when
 * len > max (max 0: no limit) or RPC_INVALID_ARGUMENT when the bytes do not
 * parse; *out is NULL then. Never reads past data + len. Thread-safe. */
rpc_code rpc_unpack_request(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                            size_t max, ProtobufCMessage **out);

/* ---- google.rpc.Status of the details trailer (rpc_details.c) ---- */

/* The google.rpc.Status {code, message, d's items as Any} packed (malloc'd,
 * *len bytes; the caller frees it). */
uint8_t *rpc_details_pack_(rpc_code code, const char *message, const struct rpc_details *d,
                           size_t *len);

/* Decodes a google.rpc.Status (the trailer's bytes) into *out: the details
 * of known types (BadRequest, RetryInfo), others skipped. Returns 0, or -1
 * (out empty) when the bytes are no Status. */
int rpc_details_unpack_(const uint8_t *data, size_t len, struct rpc_details *out);

/* ---- server reflection (rpc_reflection.c) ---- */

struct rpc_reflection;

/* Indexes a FileDescriptorSet (bytes not copied; they must outlive the
 * index) and the full names of the services the server offers (copied).
 * Returns NULL if the set does not parse. */
struct rpc_reflection *rpc_reflection_create(const uint8_t *set, size_t set_len,
                                             const char *const *services, size_t n_services);
void rpc_reflection_destroy(struct rpc_reflection *r);

/* Answers one ServerReflectionRequest (grpc.reflection.v1 or v1alpha: the
 * two are the same on the wire). Returns a malloc'd serialized
 * ServerReflectionResponse in *out / *out_len (an error_response for unknown
 * files and symbols), or -1 when req does not parse. Read-only on r:
 * thread-safe. */
int rpc_reflection_answer(const struct rpc_reflection *r, const uint8_t *req, size_t req_len,
                          uint8_t **out, size_t *out_len);

#endif
