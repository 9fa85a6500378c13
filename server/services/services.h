/*
 * services: the protoc-c service implementations of tvmaze-server, one file
 * per proto service (shows_service.c, analytics_service.c, ingest_service.c,
 * auth_service.c, changes_service.c), and what they share (service_common.c). Handlers
 * translate requests into store/cache calls (Shows and Analytics through
 * query.h) and reply through the binding: a message through the closure, or
 * an already packed reply through rpc_call_reply_packed (cache hits). They
 * run on rpc worker threads and find their thread's connections in struct
 * worker_ctx.
 *
 * Store failures become gRPC statuses in one place, service_store_status:
 *
 *   | store status      | gRPC status  | message                             |
 *   |-------------------|--------------|-------------------------------------|
 *   | STORE_UNAVAILABLE | UNAVAILABLE  | database unavailable; retry later   |
 *   | STORE_NOT_FOUND   | NOT_FOUND    | <what> not found                    |
 *   | anything else     | INTERNAL     | internal error while reading <what> |
 *
 * (INTERNAL's details -- method, what, status, the store's last error -- go
 * to the log, not to the client.) A handler that gives a status its own
 * meaning checks it first (Auth: an unknown key is UNAUTHENTICATED).
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
  struct arena *arena; /* reply messages of query.h are built here (reset
                          by query_reply_release); NULL: on the heap */
};

/* Process-wide state the services share (read-only after start). */
struct changes_hub;
struct auth_gate;

struct server_ctx {
  const struct server_config *cfg;
  struct ingest_runner *ingest;    /* NULL in processes that do not ingest */
  struct changes_hub *changes_hub; /* feeds WatchChanges (changes_hub.h) */
  struct otel_tracer *tracer;      /* the process's spans (server/trace/); never NULL in serve */
  struct auth_gate *auth;          /* the key check before every call (server/auth/) */
};

/* Each returns the service to register with rpc_server_add_service; the
 * service lives as long as ctx. */
ProtobufCService *shows_service_create(struct server_ctx *ctx);
ProtobufCService *analytics_service_create(struct server_ctx *ctx);
ProtobufCService *ingest_service_create(struct server_ctx *ctx);
ProtobufCService *auth_service_create(struct server_ctx *ctx);
ProtobufCService *changes_service_create(struct server_ctx *ctx);
/* Changes/WatchChanges, a server stream: register it with
 * rpc_server_add_stream_method and a struct server_ctx * as user. */
void changes_watch_open(rpc_call *call, const ProtobufCMessage *request, void *user);
void service_destroy(ProtobufCService *service);

/* The one mapping from a failed store call (st != STORE_OK) to a gRPC
 * status (table above): returns the code and writes its message to msg
 * (msglen bytes). what names the thing read ("shows", "show 42"); method
 * ("ListShows" or the call's path) and store (may be NULL) are for the log
 * line of an INTERNAL. Thread-safe (logs through log.h). */
rpc_code service_store_status(enum store_status st, const char *method, const char *what,
                              const struct store *store, char *msg, size_t msglen);

/* service_store_status as the call's status (rpc_call_set_status), the
 * method named by the call's path. */
void service_fail_store(rpc_call *call, enum store_status st, const char *what,
                        const struct store *store);

/* Adds "<field>: <description>" (printf-formatted) to the INVALID_ARGUMENT
 * message being built in msg (msglen bytes; "" to start), joined by "; ",
 * so that each bad field of a request becomes its own google.rpc.BadRequest
 * field violation (rpc.h, struct rpc_details). Returns -1. */
int service_bad_field(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reads the page/per_page wrappers of a paginated request (the one rule for
 * every list RPC): page >= 1, default 1; per_page 1..100, default 20.
 * Returns 0, or -1 with each bad field added to msg (service_bad_field). */
int service_page_args(const Google__Protobuf__Int32Value *page,
                      const Google__Protobuf__Int32Value *per_page, int32_t *page_out,
                      int32_t *per_page_out, char *msg, size_t msglen);

/* Reads a show_ids filter (the one rule for the Shows listings): at most
 * SERVICE_MAX_SHOW_IDS ids, each positive. Returns 0, or -1 with a message
 * naming show_ids added to msg (service_bad_field). */
#define SERVICE_MAX_SHOW_IDS 100
int service_show_ids_arg(const int32_t *ids, size_t n, char *msg, size_t msglen);

#endif
