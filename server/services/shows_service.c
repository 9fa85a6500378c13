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

/* One handler per method (query.h). */
#define ADAPTER(NAME, Req, Resp) \
  QUERY_ADAPTER(Tvmaze__V1__Shows_Service, NAME##_, Req, Resp, query_##NAME)

ADAPTER(list_shows, Tvmaze__V1__ListShowsRequest, Tvmaze__V1__ListShowsResponse)
ADAPTER(get_show, Tvmaze__V1__GetShowRequest, Tvmaze__V1__GetShowResponse)
ADAPTER(list_episodes, Tvmaze__V1__ListEpisodesRequest, Tvmaze__V1__ListEpisodesResponse)
ADAPTER(get_calendar, Tvmaze__V1__GetCalendarRequest, Tvmaze__V1__GetCalendarResponse)

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
