/*
 * api_key: the key a gRPC caller presents, from the call's metadata:
 *
 *   | metadata             | value                                      |
 *   |----------------------|--------------------------------------------|
 *   | authorization        | "Bearer <key>" (scheme case-insensitive)   |
 *   | x-api-key            | "<key>"                                    |
 *   | x-tvmaze-relay-key   | the gateway's own key on calls it makes for |
 *   |                      | a REST caller (auth_gate.h)                 |
 *
 * A key is 1..200 bytes of printable ASCII (0x21..0x7e); anything else
 * cannot be a key and is refused without a lookup. Messages name the
 * header, never its value. Pure functions over the call's strings; worker
 * thread of the call. Tests: tests/integration/test_grpc_auth.sh.
 */
#ifndef TVMAZE_SERVER_API_KEY_H
#define TVMAZE_SERVER_API_KEY_H

#include <stddef.h>

#include "rpc.h"

#define API_KEY_MAX_LEN 200
#define API_KEY_RELAY_HEADER "x-tvmaze-relay-key"

enum api_key_status {
  API_KEY_OK,        /* *key, *len set */
  API_KEY_MISSING,   /* no header carries a key */
  API_KEY_MALFORMED, /* a header is there but holds no usable key: *why */
};

/* 1 when k[0..n) may be a key (length and bytes as above). */
int api_key_plausible(const char *k, size_t n);

/* The caller's key from authorization or x-api-key. MALFORMED (with a
 * static message in *why) for: a header sent twice, both headers sent, a
 * scheme other than Bearer, Bearer with no key, a key that is not
 * plausible. *key points into the call's strings (lives until the handler
 * returns). */
enum api_key_status api_key_from_call(const rpc_call *call, const char **key, size_t *len,
                                      const char **why);

/* The same for the relay header alone (MISSING when absent). */
enum api_key_status api_key_relay_from_call(const rpc_call *call, const char **key, size_t *len,
                                            const char **why);

#endif
