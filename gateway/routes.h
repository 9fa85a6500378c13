/*
 * routes: the REST route table, (method, path template) -> what serves it
 * (an RPC of a service, or one of the gateway's own routes), and
 * path-template matching. Pure data and pure functions: no state,
 * thread-safe. Keep gateway/openapi.json in sync (test_gateway_http.sh
 * checks that every route here is described there).
 */
#ifndef TVMAZE_GATEWAY_ROUTES_H
#define TVMAZE_GATEWAY_ROUTES_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* GW_ROUTE_STREAM: a server-streaming RPC served from the feed (feed.h). */
enum gw_route_kind {
  GW_ROUTE_RPC,
  GW_ROUTE_STREAM,
  GW_ROUTE_UP,
  GW_ROUTE_METRICS,
  GW_ROUTE_OPENAPI
};

struct gw_route {
  const char *method; /* "GET", "POST" */
  const char *path;   /* template: "/api/v1/tv_shows/{id}" */
  enum gw_route_kind kind;
  const ProtobufCServiceDescriptor *service; /* RPC routes */
  const char *rpc;                           /* method name, "GetShow" */
  unsigned status;                           /* HTTP status on success */
  const char *location;                      /* reply field for Location ("run.id"), or NULL */
  int auth;                                  /* needs credentials (every /api/v1 route) */
  int cache; /* 200 bodies may be reused for TVMAZE_RESPONSE_CACHE_TTL s (respcache.h) and carry
                ETag + "private, max-age=300"; 0: no-store (ingest runs change) */
  /* 1: the API key may also come as ?key= (calendar apps cannot send headers);
   * on every other credentialed route ?key= is a 401 naming key */
  int key_param;
};

extern const struct gw_route gw_routes[];
extern const size_t gw_routes_count;

#define GW_MAX_PATH_PARAMS 4

struct gw_path_param {
  char name[32];
  char value[256];
};

enum gw_match { GW_MATCH_OK, GW_MATCH_NOT_FOUND, GW_MATCH_BAD_METHOD };

/* Matches method + path (no query) against the table. On OK *route and
 * params (percent-decoded values) are set; on BAD_METHOD allow gets the
 * methods the path accepts ("GET, POST"). HEAD matches as GET. Pure,
 * thread-safe. Fuzzed by tests/fuzz/fuzz_gateway_map.c. */
enum gw_match gw_route_match(const char *method, const char *path, const struct gw_route **route,
                             struct gw_path_param *params, size_t *nparams, char *allow,
                             size_t allowlen);

#endif
