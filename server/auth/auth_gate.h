/*
 * auth_gate: the check before every tvmaze.v1 call (the binding's gate,
 * rpc_server_config.gate), in this order:
 *
 *   | step        | refused with                                          |
 *   |-------------|-------------------------------------------------------|
 *   | relay key   | x-tvmaze-relay-key present: must be a live key of scope|
 *   |             | ingest (UNAUTHENTICATED / PERMISSION_DENIED); the call |
 *   |             | is then relayed (the gateway, counted there already)   |
 *   | caller key  | api_key.h: none or malformed -> UNAUTHENTICATED        |
 *   | lookup      | key_cache.h, else the worker's store by SHA-256 digest;|
 *   |             | a lookup (cache miss) of a call not relayed first      |
 *   |             | spends one of LOOKUP_LIMIT (300) per client IP a minute|
 *   |             | (RESOURCE_EXHAUSTED: guessing is limited; keys already |
 *   |             | cached keep working); unknown or revoked ->            |
 *   |             | UNAUTHENTICATED; database away -> UNAVAILABLE          |
 *   | scope       | Ingest/StartIngest and Auth/CheckApiKey need ingest,   |
 *   |             | every other method read -> PERMISSION_DENIED           |
 *   | limit       | not relayed: the key's tier per minute in the same     |
 *   |             | counters as the gateway (common/ratelimit.h: rl:key:   |
 *   |             | <name>:<minute>) -> RESOURCE_EXHAUSTED "retry in N s"  |
 *
 * Messages name the header or the key's name, never the secret. Health and
 * reflection never reach the gate (the binding exempts them).
 *
 * Thread safety: auth_gate_check runs on any worker thread (with that
 * worker's store); create/destroy from main.
 * Tests: tests/integration/test_grpc_auth.sh.
 */
#ifndef TVMAZE_SERVER_AUTH_GATE_H
#define TVMAZE_SERVER_AUTH_GATE_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "db.h"
#include "rpc.h"

struct auth_gate;

/* The key cache (its listener connects to database_url) and the limiter
 * (redis_url NULL or "": in-process counts). NULL with err set when
 * redis_url does not parse. */
struct auth_gate *auth_gate_create(const char *database_url, const char *redis_url, char *err,
                                   size_t errlen);
/* Frees g (NULL: no-op) after the server drained. */
void auth_gate_destroy(struct auth_gate *g);

/* Checks call of method `index` of svc: 0 to let it through, -1 with the
 * call's status set (table above). */
int auth_gate_check(struct auth_gate *g, rpc_call *call, const ProtobufCServiceDescriptor *svc,
                    unsigned index, struct store *store);

#endif
