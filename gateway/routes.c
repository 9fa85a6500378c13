/*
 * routes: the REST route table (one line per route) and path-template
 * matching. See routes.h.
 */
#include "routes.h"

#include <stdio.h>
#include <string.h>

#include "percent.h"
#include "tvmaze/v1/analytics.pb-c.h"
#include "tvmaze/v1/changes.pb-c.h"
#include "tvmaze/v1/ingest.pb-c.h"
#include "tvmaze/v1/shows.pb-c.h"

#define SHOWS &tvmaze__v1__shows__descriptor
#define ANALYTICS &tvmaze__v1__analytics__descriptor
#define INGEST &tvmaze__v1__ingest__descriptor
#define CHANGES &tvmaze__v1__changes__descriptor

/* clang-format off */
const struct gw_route gw_routes[] = {
  /* method  path template                                   kind            service    rpc                      status location auth cache key_param */
  {"GET",  "/up",                                           GW_ROUTE_UP,      NULL,      NULL,                    200, NULL,     0, 0, 0},
  {"GET",  "/metrics",                                      GW_ROUTE_METRICS, NULL,      NULL,                    200, NULL,     0, 0, 0},
  {"GET",  "/api/v1/openapi.json",                          GW_ROUTE_OPENAPI, NULL,      NULL,                    200, NULL,     1, 0, 0},
  {"GET",  "/api/v1/tv_shows",                              GW_ROUTE_RPC,     SHOWS,     "ListShows",             200, NULL,     1, 1, 0},
  {"GET",  "/api/v1/tv_shows/{id}",                         GW_ROUTE_RPC,     SHOWS,     "GetShow",               200, NULL,     1, 1, 0},
  {"GET",  "/api/v1/episodes",                              GW_ROUTE_RPC,     SHOWS,     "ListEpisodes",          200, NULL,     1, 1, 0},
  {"GET",  "/api/v1/analytics/shows_with_episode_stats",    GW_ROUTE_RPC,     ANALYTICS, "ShowsWithEpisodeStats", 200, NULL,     1, 1, 0},
  {"GET",  "/api/v1/analytics/top_rated_by_genre",          GW_ROUTE_RPC,     ANALYTICS, "TopRatedByGenre",       200, NULL,     1, 1, 0},
  {"GET",  "/api/v1/analytics/network_performance",         GW_ROUTE_RPC,     ANALYTICS, "NetworkPerformance",    200, NULL,     1, 1, 0},
  {"GET",  "/api/v1/analytics/monthly_trends",              GW_ROUTE_RPC,     ANALYTICS, "MonthlyTrends",         200, NULL,     1, 1, 0},
  {"GET",  "/api/v1/analytics/country_distribution",        GW_ROUTE_RPC,     ANALYTICS, "CountryDistribution",   200, NULL,     1, 1, 0},
  {"POST", "/api/v1/ingest/runs",                           GW_ROUTE_RPC,     INGEST,    "StartIngest",           202, "run.id", 1, 0, 0},
  {"GET",  "/api/v1/ingest/runs",                           GW_ROUTE_RPC,     INGEST,    "ListIngestRuns",        200, NULL,     1, 0, 0},
  {"GET",  "/api/v1/ingest/runs/{id}",                      GW_ROUTE_RPC,     INGEST,    "GetIngestRun",          200, NULL,     1, 0, 0},
  {"GET",  "/api/v1/calendar.ics",                          GW_ROUTE_RPC,     SHOWS,     "GetCalendar",           200, NULL,     1, 1, 1},
  {"GET",  "/api/v1/changes",                               GW_ROUTE_RPC,     CHANGES,   "ListChanges",           200, NULL,     1, 0, 0},
  {"GET",  "/api/v1/changes/stream",                        GW_ROUTE_STREAM,  CHANGES,   "WatchChanges",          200, NULL,     1, 0, 0},
};
/* clang-format on */
const size_t gw_routes_count = sizeof gw_routes / sizeof gw_routes[0];

/* Matches one template against path; fills params. */
static int match_template_(const char *tpl, const char *path, struct gw_path_param *params,
                           size_t *nparams) {
  size_t np = 0;
  const char *t = tpl, *p = path;
  while (*t && *p) {
    if (*t == '{') {
      const char *te = strchr(t, '}');
      const char *pe = strchr(p, '/');
      if (!pe)
        pe = p + strlen(p);
      if (!te || pe == p || np >= GW_MAX_PATH_PARAMS)
        return 0;
      size_t nl = (size_t)(te - t - 1);
      if (nl >= sizeof params[np].name)
        return 0;
      memcpy(params[np].name, t + 1, nl);
      params[np].name[nl] = '\0';
      if (percent_decode(p, (size_t)(pe - p), params[np].value, sizeof params[np].value) != 0)
        return 0;
      np++;
      t = te + 1;
      p = pe;
    } else if (*t == *p) {
      t++;
      p++;
    } else {
      return 0;
    }
  }
  if (*t || *p)
    return 0;
  *nparams = np;
  return 1;
}

enum gw_match gw_route_match(const char *method, const char *path, const struct gw_route **route,
                             struct gw_path_param *params, size_t *nparams, char *allow,
                             size_t allowlen) {
  int path_known = 0;
  size_t alen = 0;
  if (allowlen)
    allow[0] = '\0';
  /* HEAD is served as GET without a body */
  const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
  for (size_t i = 0; i < gw_routes_count; i++) {
    struct gw_path_param tmp[GW_MAX_PATH_PARAMS];
    size_t n = 0;
    if (!match_template_(gw_routes[i].path, path, tmp, &n))
      continue;
    if (strcmp(gw_routes[i].method, m) == 0) {
      *route = &gw_routes[i];
      memcpy(params, tmp, n * sizeof tmp[0]);
      *nparams = n;
      return GW_MATCH_OK;
    }
    path_known = 1;
    if (allowlen && !strstr(allow, gw_routes[i].method)) {
      int w =
          snprintf(allow + alen, allowlen - alen, "%s%s", alen ? ", " : "", gw_routes[i].method);
      if (w > 0 && (size_t)w < allowlen - alen)
        alen += (size_t)w;
    }
  }
  return path_known ? GW_MATCH_BAD_METHOD : GW_MATCH_NOT_FOUND;
}
