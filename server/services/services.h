/*
 * services: the protoc-c service implementations of tvmaze-server, one file
 * per proto service (shows_service.c, analytics_service.c, ingest_service.c,
 * auth_service.c). Handlers translate requests into store/cache calls and
 * set gRPC status through the binding; they run on rpc worker threads and
 * find their thread's connections in struct worker_ctx.
 */
#ifndef TVMAZE_SERVICES_H
#define TVMAZE_SERVICES_H

#include <protobuf-c/protobuf-c.h>

#include "config.h"
#include "google/protobuf/wrappers.pb-c.h"
#include "db.h"
#include "rpc.h"

struct arena;
struct cache;
struct ingest_runner;

/* Per worker thread (rpc_call_worker_data): owned by that thread alone. */
struct worker_ctx {
  int index;           /* worker number */
  struct store *store; /* this worker's PostgreSQL connection */
  struct cache *cache; /* this worker's Redis connection; NULL: no cache */
  int opaque_replies;  /* cached replies may come back opaque (query.h): the
                          caller only packs the reply (the gRPC services) */
  struct arena *arena; /* replies of query.h are built here (reset by
                          query_release); NULL: on the heap */
};

/* Process-wide state the services share (read-only after start). */
struct server_ctx {
  const struct server_config *cfg;
  struct ingest_runner *ingest; /* NULL in processes that do not ingest */
};

/* Each returns the service to register with rpc_server_add_service; the
 * service lives as long as ctx. */
ProtobufCService *shows_service_create(struct server_ctx *ctx);
ProtobufCService *analytics_service_create(struct server_ctx *ctx);
ProtobufCService *ingest_service_create(struct server_ctx *ctx);
ProtobufCService *auth_service_create(struct server_ctx *ctx);
void service_destroy(ProtobufCService *service);

/* Sets the gRPC status for a failed store call: UNAVAILABLE when the database
 * is unreachable, NOT_FOUND, else INTERNAL (details logged, not sent). */
void service_fail_store(rpc_call *call, enum store_status st, const char *what,
                        const struct store *store);

/* Reads the page/per_page wrappers of a paginated request (the one rule for
 * every list RPC): page >= 1, default 1; per_page 1..100, default 20.
 * Returns 0, or -1 with a message naming the field in msg. */
int service_page_args(const Google__Protobuf__Int32Value *page,
                      const Google__Protobuf__Int32Value *per_page, int32_t *page_out,
                      int32_t *per_page_out, char *msg, size_t msglen);

/* Sends what a handler's query produced (code, reply, msg): reply (packed
 * before the closure returns) when code is RPC_OK, else the status with msg.
 * A macro because each method's closure has its own type. */
#define SERVICE_SEND(call, code, reply, done, msg)      \
  do {                                                  \
    if ((code) == RPC_OK) {                             \
      (done)((reply), (call));                          \
    } else {                                            \
      rpc_call_set_status((call), (code), "%s", (msg)); \
      (done)(NULL, (call));                             \
    }                                                   \
  } while (0)

/* SERVICE_SEND, then frees a heap-built reply. (Shows and Analytics replies
 * may live in the worker's arena: QUERY_FINISH of query.h.) */
#define SERVICE_FINISH(call, code, reply, done, msg)          \
  do {                                                        \
    SERVICE_SEND(call, code, reply, done, msg);               \
    if ((reply) != NULL) {                                    \
      protobuf_c_message_free_unpacked(&(reply)->base, NULL); \
    }                                                         \
  } while (0)

#endif
