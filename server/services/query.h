/*
 * query: the logic behind the Shows and Analytics handlers -- request
 * validation, the read-through cache and the store calls -- kept free of the
 * gRPC binding so tests call it directly (tests/integration/test_query_*.c).
 * shows_service.c and analytics_service.c are thin adapters around it.
 *
 * Every function: on RPC_OK *out is a new reply; otherwise *out is NULL and
 * msg (msglen bytes) holds the status message, naming the field for
 * INVALID_ARGUMENT. Either way the caller ends with query_release(w, *out).
 * Replies are built in w->arena when it is set (the gRPC workers: one
 * allocation bump per node, one reset per request instead of a free() per
 * node), else on the heap (tests). Runs on the worker owning w (not
 * thread-safe per w).
 *
 * Opaque replies: when w->opaque_replies is set, a reply served from the
 * cache, or computed and then stored in it, may have no known field set and
 * carry its packed bytes as one unknown field; packing it yields exactly
 * those bytes (all the gRPC services do with a reply), reading its fields
 * does not. So a reply is packed once, also on a miss. Tests and other
 * readers leave it 0.
 *
 * Limits: date window at most QUERY_MAX_WINDOW_DAYS days; q at most 200
 * characters; distributor and genre at most 100 characters; every string
 * valid UTF-8; country two ASCII letters.
 */
#ifndef TVMAZE_SERVICES_QUERY_H
#define TVMAZE_SERVICES_QUERY_H

#include <stddef.h>

#include "rpc.h"
#include "services.h"
#include "tvmaze/v1/analytics.pb-c.h"
#include "tvmaze/v1/shows.pb-c.h"

#define QUERY_MAX_WINDOW_DAYS 366
#define QUERY_DEFAULT_WINDOW_DAYS 90

/* Frees what the last query call on w built: resets w->arena, or frees the
 * heap-built reply m (NULL: nothing). */
void query_release(struct worker_ctx *w, ProtobufCMessage *m);

/* SERVICE_SEND (services.h), then query_release. */
#define QUERY_FINISH(call, w, code, reply, done, msg)            \
  do {                                                           \
    SERVICE_SEND(call, code, reply, done, msg);                  \
    query_release((w), (reply) != NULL ? &(reply)->base : NULL); \
  } while (0)

rpc_code query_list_shows(struct worker_ctx *w, const Tvmaze__V1__ListShowsRequest *req,
                          Tvmaze__V1__ListShowsResponse **out, char *msg, size_t msglen);
rpc_code query_get_show(struct worker_ctx *w, const Tvmaze__V1__GetShowRequest *req,
                        Tvmaze__V1__GetShowResponse **out, char *msg, size_t msglen);
rpc_code query_list_episodes(struct worker_ctx *w, const Tvmaze__V1__ListEpisodesRequest *req,
                             Tvmaze__V1__ListEpisodesResponse **out, char *msg, size_t msglen);

rpc_code query_show_stats(struct worker_ctx *w, const Tvmaze__V1__ShowsWithEpisodeStatsRequest *req,
                          Tvmaze__V1__ShowsWithEpisodeStatsResponse **out, char *msg,
                          size_t msglen);
rpc_code query_top_by_genre(struct worker_ctx *w, const Tvmaze__V1__TopRatedByGenreRequest *req,
                            Tvmaze__V1__TopRatedByGenreResponse **out, char *msg, size_t msglen);
rpc_code query_network_perf(struct worker_ctx *w, const Tvmaze__V1__NetworkPerformanceRequest *req,
                            Tvmaze__V1__NetworkPerformanceResponse **out, char *msg, size_t msglen);
rpc_code query_monthly(struct worker_ctx *w, const Tvmaze__V1__MonthlyTrendsRequest *req,
                       Tvmaze__V1__MonthlyTrendsResponse **out, char *msg, size_t msglen);
rpc_code query_countries(struct worker_ctx *w, const Tvmaze__V1__CountryDistributionRequest *req,
                         Tvmaze__V1__CountryDistributionResponse **out, char *msg, size_t msglen);

#endif
