/*
 * query: the logic behind the Shows and Analytics handlers -- request
 * validation, the read-through cache and the store calls -- kept free of the
 * gRPC binding so tests call it directly (tests/integration/test_query_*.c).
 * shows_service.c and analytics_service.c are thin adapters around it.
 *
 * Every function: on RPC_OK *out holds the reply, in one of two forms (a
 * tagged result, struct query_reply); otherwise *out is empty
 * (QUERY_REPLY_NONE) and msg (msglen bytes) holds the status message,
 * naming the field for INVALID_ARGUMENT. Either way the caller ends with
 * query_reply_release(w, out).
 *
 *   QUERY_REPLY_PACKED   the reply's encoding, whenever query has it: a
 *                        cache hit (the cached bytes, their top level
 *                        checked with rpc_packed_check; a damaged entry is
 *                        a miss) and a miss with the cache up (packed once,
 *                        for the cache). The gRPC services send these bytes
 *                        as they are (rpc_call_reply_packed, no copy).
 *   QUERY_REPLY_MESSAGE  the reply as a message, built by the store calls:
 *                        without a cache or while it is down.
 *
 * Messages are built in w->arena when it is set (the gRPC workers: one
 * allocation bump per node, one reset per request instead of a free() per
 * node), else on the heap (tests). Runs on the worker owning w (not
 * thread-safe per w).
 *
 * Limits: date window at most QUERY_MAX_WINDOW_DAYS days; a calendar at
 * most QUERY_MAX_CALENDAR_EVENTS events and QUERY_MAX_CALENDAR_BYTES bytes; q at most 200
 * characters; distributor and genre at most 100 characters; every string
 * valid UTF-8; country two ASCII letters; tz one of PostgreSQL's zone names
 * (store_tz.h; looked up through w->store, so a failed first read of the
 * names is that store status, UNAVAILABLE when the database is down).
 */
#ifndef TVMAZE_SERVICES_QUERY_H
#define TVMAZE_SERVICES_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "rpc.h"
#include "services.h"
#include "tvmaze/v1/analytics.pb-c.h"
#include "tvmaze/v1/shows.pb-c.h"

#define QUERY_MAX_WINDOW_DAYS 366
#define QUERY_DEFAULT_WINDOW_DAYS 90
/* GetCalendar: at most this many events, and a document of at most this
 * many bytes (under the 4 MiB gRPC message limit of the clients); a request
 * over either is INVALID_ARGUMENT naming date_to. */
#define QUERY_MAX_CALENDAR_EVENTS 5000
#define QUERY_MAX_CALENDAR_BYTES (3 * 1024 * 1024)

/* What a query produced (see the top of the file). */
enum query_reply_kind {
  QUERY_REPLY_NONE = 0, /* failed: no reply */
  QUERY_REPLY_MESSAGE,  /* message is set */
  QUERY_REPLY_PACKED    /* packed / packed_len are set */
};

struct query_reply {
  enum query_reply_kind kind;
  const ProtobufCMessageDescriptor *type; /* MESSAGE, PACKED: the reply's message type */
  ProtobufCMessage *message; /* MESSAGE: in w->arena, or on the heap when w->arena is NULL */
  uint8_t *packed;           /* PACKED: an encoding of the method's reply type, malloc'd and
                                owned here until a caller takes it (sets it NULL) */
  size_t packed_len;
};

/* Frees what the last query call on w built: the packed bytes still held
 * by r, and the message (resets w->arena, or frees a heap-built one).
 * Leaves r empty. Accepts an empty r. */
void query_reply_release(struct worker_ctx *w, struct query_reply *r);

/* Sends what a query of query.h produced, then query_reply_release(w, r):
 * code != RPC_OK: the status with msg; a PACKED reply: its bytes, taken
 * over without a copy (rpc_call_reply_packed); a MESSAGE: through done, the
 * handler's closure (cast to ProtobufCClosure), which packs it. */
void query_reply_send(rpc_call *call, struct worker_ctx *w, rpc_code code, struct query_reply *r,
                      const char *msg, ProtobufCClosure done);

/* Defines the binding's handler `name` for a method of service type Svc
 * (Tvmaze__V1__Shows_Service, ...) over the query fn of request type Req and
 * reply type Resp: the worker's fn, its reply sent by query_reply_send. The
 * one shape of every handler of shows_service.c and analytics_service.c. */
#define QUERY_ADAPTER(Svc, name, Req, Resp, fn)                               \
  static void name(Svc *svc, const Req *req, Resp##_Closure done, void *cd) { \
    (void)svc;                                                                \
    rpc_call *call = cd;                                                      \
    struct worker_ctx *w = rpc_call_worker_data(call);                        \
    char msg[256] = "";                                                       \
    struct query_reply reply;                                                 \
    rpc_code code = fn(w, req, &reply, msg, sizeof msg);                      \
    query_reply_send(call, w, code, &reply, msg, (ProtobufCClosure)done);     \
  }

/* The reply as a message, for readers of its fields (tests, tools): a
 * PACKED reply is unpacked (into w->arena when set, else on the heap) and
 * r becomes MESSAGE. Returns r->message; NULL when r is empty or its bytes
 * do not unpack (r is then left as it was). */
ProtobufCMessage *query_reply_message(struct worker_ctx *w, struct query_reply *r);

rpc_code query_list_shows(struct worker_ctx *w, const Tvmaze__V1__ListShowsRequest *req,
                          struct query_reply *out, char *msg, size_t msglen);
rpc_code query_get_show(struct worker_ctx *w, const Tvmaze__V1__GetShowRequest *req,
                        struct query_reply *out, char *msg, size_t msglen);
rpc_code query_list_episodes(struct worker_ctx *w, const Tvmaze__V1__ListEpisodesRequest *req,
                             struct query_reply *out, char *msg, size_t msglen);
/* The episodes query_list_episodes returns for the same filters, tz
 * included (every page), as an iCalendar document (calendar.h). */
rpc_code query_get_calendar(struct worker_ctx *w, const Tvmaze__V1__GetCalendarRequest *req,
                            struct query_reply *out, char *msg, size_t msglen);

rpc_code query_show_stats(struct worker_ctx *w, const Tvmaze__V1__ShowsWithEpisodeStatsRequest *req,
                          struct query_reply *out, char *msg, size_t msglen);
rpc_code query_top_by_genre(struct worker_ctx *w, const Tvmaze__V1__TopRatedByGenreRequest *req,
                            struct query_reply *out, char *msg, size_t msglen);
rpc_code query_network_perf(struct worker_ctx *w, const Tvmaze__V1__NetworkPerformanceRequest *req,
                            struct query_reply *out, char *msg, size_t msglen);
rpc_code query_monthly(struct worker_ctx *w, const Tvmaze__V1__MonthlyTrendsRequest *req,
                       struct query_reply *out, char *msg, size_t msglen);
rpc_code query_countries(struct worker_ctx *w, const Tvmaze__V1__CountryDistributionRequest *req,
                         struct query_reply *out, char *msg, size_t msglen);

#endif
