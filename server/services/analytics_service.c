/*
 * analytics_service: tvmaze.v1.Analytics. Thin adapters from the binding to
 * query.c (validation, cache, store: the five reports of store_analytics.c);
 * query_reply_send sends its reply, a message or cached packed bytes.
 */
#include <stdlib.h>

#include "query.h"
#include "services.h"
#include "tvmaze/v1/analytics.pb-c.h"
#include "xalloc.h"

/* One handler per report (query.h). */
#define ADAPTER_(name, Req, Resp, fn) \
  QUERY_ADAPTER(Tvmaze__V1__Analytics_Service, name, Req, Resp, fn)

ADAPTER_(show_stats_, Tvmaze__V1__ShowsWithEpisodeStatsRequest,
         Tvmaze__V1__ShowsWithEpisodeStatsResponse, query_show_stats)
ADAPTER_(top_by_genre_, Tvmaze__V1__TopRatedByGenreRequest, Tvmaze__V1__TopRatedByGenreResponse,
         query_top_by_genre)
ADAPTER_(network_perf_, Tvmaze__V1__NetworkPerformanceRequest,
         Tvmaze__V1__NetworkPerformanceResponse, query_network_perf)
ADAPTER_(monthly_, Tvmaze__V1__MonthlyTrendsRequest, Tvmaze__V1__MonthlyTrendsResponse,
         query_monthly)
ADAPTER_(countries_, Tvmaze__V1__CountryDistributionRequest,
         Tvmaze__V1__CountryDistributionResponse, query_countries)

static void destroy_(Tvmaze__V1__Analytics_Service *svc) {
  free(svc);
}

ProtobufCService *analytics_service_create(struct server_ctx *ctx) {
  (void)ctx;
  Tvmaze__V1__Analytics_Service *svc = xcalloc(1, sizeof *svc);
  tvmaze__v1__analytics__init(svc, destroy_);
  svc->shows_with_episode_stats = show_stats_;
  svc->top_rated_by_genre = top_by_genre_;
  svc->network_performance = network_perf_;
  svc->monthly_trends = monthly_;
  svc->country_distribution = countries_;
  return &svc->base;
}
