/*
 * shows_service: tvmaze.v1.Shows. Thin adapters from the binding to
 * query.c, which holds validation, cache and store calls (and is what the
 * tests call directly); query_reply_send sends its reply, a message or
 * the packed bytes of a cache hit.
 */
#include <stdlib.h>

#include "query.h"
#include "services.h"
#include "tvmaze/v1/shows.pb-c.h"
#include "xalloc.h"

static void list_shows_(Tvmaze__V1__Shows_Service *svc, const Tvmaze__V1__ListShowsRequest *req,
                        Tvmaze__V1__ListShowsResponse_Closure done, void *cd) {
  (void)svc;
  rpc_call *call = cd;
  struct worker_ctx *w = rpc_call_worker_data(call);
  char msg[256] = "";
  struct query_reply reply;
  rpc_code code = query_list_shows(w, req, &reply, msg, sizeof msg);
  query_reply_send(call, w, code, &reply, msg, (ProtobufCClosure)done);
}

static void get_show_(Tvmaze__V1__Shows_Service *svc, const Tvmaze__V1__GetShowRequest *req,
                      Tvmaze__V1__GetShowResponse_Closure done, void *cd) {
  (void)svc;
  rpc_call *call = cd;
  struct worker_ctx *w = rpc_call_worker_data(call);
  char msg[256] = "";
  struct query_reply reply;
  rpc_code code = query_get_show(w, req, &reply, msg, sizeof msg);
  query_reply_send(call, w, code, &reply, msg, (ProtobufCClosure)done);
}

static void list_episodes_(Tvmaze__V1__Shows_Service *svc,
                           const Tvmaze__V1__ListEpisodesRequest *req,
                           Tvmaze__V1__ListEpisodesResponse_Closure done, void *cd) {
  (void)svc;
  rpc_call *call = cd;
  struct worker_ctx *w = rpc_call_worker_data(call);
  char msg[256] = "";
  struct query_reply reply;
  rpc_code code = query_list_episodes(w, req, &reply, msg, sizeof msg);
  query_reply_send(call, w, code, &reply, msg, (ProtobufCClosure)done);
}

static void get_calendar_(Tvmaze__V1__Shows_Service *svc, const Tvmaze__V1__GetCalendarRequest *req,
                          Tvmaze__V1__GetCalendarResponse_Closure done, void *cd) {
  (void)svc;
  rpc_call *call = cd;
  struct worker_ctx *w = rpc_call_worker_data(call);
  char msg[256] = "";
  struct query_reply reply;
  rpc_code code = query_get_calendar(w, req, &reply, msg, sizeof msg);
  query_reply_send(call, w, code, &reply, msg, (ProtobufCClosure)done);
}

static void destroy_(Tvmaze__V1__Shows_Service *svc) {
  free(svc);
}

ProtobufCService *shows_service_create(struct server_ctx *ctx) {
  (void)ctx;
  Tvmaze__V1__Shows_Service *svc = xcalloc(1, sizeof *svc);
  tvmaze__v1__shows__init(svc, destroy_);
  svc->list_shows = list_shows_;
  svc->get_show = get_show_;
  svc->list_episodes = list_episodes_;
  svc->get_calendar = get_calendar_;
  return &svc->base;
}
