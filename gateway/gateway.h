/*
 * gateway: internal interfaces of tvmaze-gateway, the HTTP/1.1 REST front of
 * tvmaze-server on libmicrohttpd.
 *
 *   main.c        configuration (env + flags), process lifetime
 *   daemon.c      MHD daemon, per-request pipeline (limits, routing, auth,
 *                 rate limits, dispatch, ETag, headers, log line, metrics)
 *   routes.c      the route table and path-template matching; status mapping
 *   api_handler.c the generic RPC handler (query/path/body -> request via
 *                 pbjson, call through the binding, reply -> JSON)
 *   ops_handler.c /up, /metrics, /api/v1/openapi.json
 *   upstream.c    client services over one channel; metadata; health
 *   auth.c        HTTP Basic and API keys (checked by the server, cached)
 *   ratelimit.c   fixed-window counters in Redis (Lua, atomic) or in process
 *   metrics.c     Prometheus counters and histograms
 *   workers.c     the bounded pool of threads that make blocking upstream
 *                 calls (gRPC, Redis) for suspended connections
 *
 * Threads: a small pool of MHD epoll threads (TVMAZE_HTTP_THREADS) serves
 * every connection and never blocks on the network; a step that would (a
 * gRPC call, a Redis claim) runs on an upstream worker (workers.c) while
 * its connection is suspended. Functions with a may_block argument do the
 * blocking part only when it is non-zero and otherwise say they would
 * block. Every module below is thread-safe unless its comment says
 * otherwise.
 */
#ifndef TVMAZE_GATEWAY_H
#define TVMAZE_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "log.h"
#include "rpc.h"

struct strbuf;

/* ------------------------------------------------------------------ */
/* Configuration (main.c)                                             */
/* ------------------------------------------------------------------ */

struct gw_config {
  const char *http_addr;       /* TVMAZE_HTTP_ADDR, "0.0.0.0:8080" */
  const char *grpc_target;     /* TVMAZE_GRPC_TARGET, "127.0.0.1:50051" */
  const char *redis_url;       /* REDIS_URL; NULL: in-process rate limits */
  const char *api_username;    /* API_USERNAME; NULL: Basic disabled */
  const char *api_password;    /* API_PASSWORD */
  const char *trusted_proxies; /* TVMAZE_TRUSTED_PROXIES, "10.0.0.1,10.1.0.0/16" */
  enum log_level log_level;
  enum log_format log_format;
  long ip_limit;             /* TVMAZE_RATE_IP_LIMIT, requests per ip_window_s (2000) */
  long ip_window_s;          /* TVMAZE_RATE_IP_WINDOW, seconds (300) */
  long auth_cache_ttl_s;     /* TVMAZE_AUTH_CACHE_TTL, seconds (10); 0 disables */
  long upstream_timeout_ms;  /* TVMAZE_UPSTREAM_TIMEOUT_MS (10000) */
  long conn_timeout_s;       /* TVMAZE_HTTP_TIMEOUT, idle/slow client timeout (30) */
  long response_cache_ttl_s; /* TVMAZE_RESPONSE_CACHE_TTL, seconds (5); 0 disables */
  long http_threads;         /* TVMAZE_HTTP_THREADS, MHD epoll threads (0: one per CPU) */
  long upstream_workers;     /* TVMAZE_UPSTREAM_WORKERS, blocking-call threads (32) */
  long upstream_queue;       /* TVMAZE_UPSTREAM_QUEUE, jobs waiting for a worker (256) */
  long runstats_period_s;    /* TVMAZE_INGEST_METRICS_INTERVAL, s between run counts (15) */
};

/* Fills cfg from the environment then argv. Returns 0, 1 when the caller
 * should exit 0 (--help/--version/--routes printed), or -1 with err set
 * (exit 2). Strings point into argv/environ. */
int gw_config_load(struct gw_config *cfg, int argc, char **argv, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Routes (routes.c)                                                  */
/* ------------------------------------------------------------------ */

enum gw_route_kind { GW_ROUTE_RPC, GW_ROUTE_UP, GW_ROUTE_METRICS, GW_ROUTE_OPENAPI };

struct gw_route {
  const char *method; /* "GET", "POST" */
  const char *path;   /* template: "/api/v1/tv_shows/{id}" */
  enum gw_route_kind kind;
  const ProtobufCServiceDescriptor *service; /* RPC routes */
  const char *rpc;                           /* method name, "GetShow" */
  unsigned status;                           /* HTTP status on success */
  const char *location;                      /* reply field for Location ("run.id"), or NULL */
  int auth;                                  /* needs credentials (every /api/v1 route) */
  int cache; /* 200 bodies may be reused for TVMAZE_RESPONSE_CACHE_TTL s (respcache.c) */
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
 * methods the path accepts ("GET, POST"). Pure, thread-safe. */
enum gw_match gw_route_match(const char *method, const char *path, const struct gw_route **route,
                             struct gw_path_param *params, size_t *nparams, char *allow,
                             size_t allowlen);

/* grpc-gateway's HTTP status for a gRPC code. */
unsigned gw_http_status(rpc_code code);

/* Writes {"code":c,"message":"...","details":[]} to out. */
void gw_error_body(struct strbuf *out, rpc_code code, const char *message);

/* ------------------------------------------------------------------ */
/* Upstream (upstream.c)                                              */
/* ------------------------------------------------------------------ */

/* Creates the channel and one client service per descriptor used by the
 * routes, Auth and Health. Not thread-safe; call once at start. */
void gw_upstream_init(const char *target, long timeout_ms);
void gw_upstream_shutdown(void);

/* The client service for desc (NULL if not created). */
ProtobufCService *gw_upstream_service(const ProtobufCServiceDescriptor *desc);

/* Per-request trace identity passed as gRPC metadata, and the request's
 * deadline: time spent waiting for a worker counts against it. */
struct gw_trace {
  char request_id[129]; /* x-request-id */
  char traceparent[56]; /* W3C: 00-<32>-<16>-01 */
  int64_t deadline_ms;  /* CLOCK_MONOTONIC ms by which calls must end; 0: none */
};

/* Now on CLOCK_MONOTONIC in ms (for gw_trace.deadline_ms). */
int64_t gw_now_ms(void);

/* A fresh trace identity (random request id, new trace) for calls the
 * gateway makes on its own (daemon.c). */
void gw_trace_new(struct gw_trace *t);

/* Calls method `index` of service with req; ctx is filled (caller releases
 * it with rpc_client_ctx_release). Blocks up to TVMAZE_UPSTREAM_TIMEOUT_MS,
 * less when trace->deadline_ms comes first; past it, DEADLINE_EXCEEDED
 * without a call. */
void gw_upstream_call(ProtobufCService *service, unsigned index, const ProtobufCMessage *req,
                      const struct gw_trace *trace, struct rpc_client_ctx *ctx);
/* The same with a deadline of at most timeout_ms. */
void gw_upstream_call_within(ProtobufCService *service, unsigned index, const ProtobufCMessage *req,
                             const struct gw_trace *trace, long timeout_ms,
                             struct rpc_client_ctx *ctx);

/* Health/Check on the server: RPC_OK and *serving set, or the failure code. */
rpc_code gw_upstream_health(const struct gw_trace *trace, int *serving, char *msg, size_t msglen);

/* ------------------------------------------------------------------ */
/* Auth (auth.c)                                                      */
/* ------------------------------------------------------------------ */

enum gw_auth_result {
  GW_AUTH_OK,
  GW_AUTH_MISSING,
  GW_AUTH_DENIED,
  GW_AUTH_UPSTREAM,
  GW_AUTH_WOULD_BLOCK /* an API key not in the cache and may_block == 0 */
};

struct gw_identity {
  char name[72]; /* key name, or the Basic user name */
  int tier;      /* 1 free, 2 basic, 3 premium; 0 for Basic (no per-key limit) */
};

void gw_auth_init(const struct gw_config *cfg);
void gw_auth_shutdown(void);

/* Checks an Authorization header value and an X-API-Key value (either may be
 * NULL). On UPSTREAM, *code is the server's failure. An API key missing from
 * the cache needs the server (Auth/CheckApiKey): with may_block == 0 that is
 * WOULD_BLOCK (nothing counted; call again from a worker). */
enum gw_auth_result gw_auth_check(const char *authorization, const char *api_key,
                                  const struct gw_trace *trace, int may_block,
                                  struct gw_identity *who, rpc_code *code);

/* Constant-time equality of two strings (time depends on lengths only). */
int gw_ct_equal(const char *a, const char *b);

/* ------------------------------------------------------------------ */
/* Rate limits (ratelimit.c)                                          */
/* ------------------------------------------------------------------ */

struct gw_rate {
  long limit;
  long remaining;
  long reset_s; /* seconds until the window ends */
  int exceeded;
};

void gw_ratelimit_init(const struct gw_config *cfg);
void gw_ratelimit_shutdown(void);

/* Counts one request against `scope:id` with `limit` per `window_s` and
 * returns 1 with out set. With Redis the count is spent from a block claimed
 * earlier by this gateway (ratelimit.c); when a new block must be claimed
 * (one Redis round trip, 200 ms timeout) and may_block == 0 it returns 0,
 * out untouched and nothing counted: call again from a worker. */
int gw_ratelimit_hit(const char *scope, const char *id, long limit, long window_s, int may_block,
                     struct gw_rate *out);

/* Requests per minute for a key tier (60, 1000, 10000). */
long gw_tier_limit(int tier);

/* Client address: the peer, or when the peer is a trusted proxy the
 * right-most X-Forwarded-For entry that is not itself trusted. */
/* 1 if every entry of a TVMAZE_TRUSTED_PROXIES list parses (IP or CIDR). */
int gw_proxy_list_valid(const char *list);

void gw_client_ip(const char *peer, const char *xff, char *out, size_t outlen);

/* ------------------------------------------------------------------ */
/* Response cache (respcache.c)                                       */
/* ------------------------------------------------------------------ */

/* Starts the cache with a TTL in seconds (0: disabled; get misses, put
 * drops) and the time a refresher may hold an expired key (the upstream
 * deadline). Call once before serving; shutdown frees every entry. */
void gw_respcache_init(long ttl_s, long refresh_s);
void gw_respcache_shutdown(void);
/* 1 when a TTL > 0 was configured. */
int gw_respcache_enabled(void);
/* A cached reply body: immutable, refcounted. */
struct gw_cached_body;
/* On a live entry for key (the raw request target), or an expired one that
 * another request is refreshing (*refresh = -1, for at most another TTL):
 * copies its ETag (NUL-terminated, < 24 bytes) and returns a new reference
 * to its body (drop it with gw_respcache_release). Else NULL; *refresh = 1
 * when the caller has become the refresher of the expired entry (it should
 * fetch and put), 0 for a plain miss. Thread-safe. */
struct gw_cached_body *gw_respcache_get(const char *key, char etag[24], int *refresh);
/* Drops a reference from gw_respcache_get (NULL: no-op). Thread-safe. */
void gw_respcache_release(struct gw_cached_body *b);
/* The bytes of b (valid while the reference is held). */
char *gw_cached_body_data(struct gw_cached_body *b, size_t *len);
/* Stores a copy of body/etag under key for the TTL, replacing whatever held
 * its slot; silently skipped when disabled, too big or over the memory
 * budget. Thread-safe; arguments are copied. */
void gw_respcache_put(const char *key, const char *body, size_t len, const char *etag);

/* ------------------------------------------------------------------ */
/* Metrics (metrics.c)                                                */
/* ------------------------------------------------------------------ */

void gw_metrics_request(const char *route, const char *method, unsigned status, double seconds,
                        size_t bytes);
void gw_metrics_upstream_error(rpc_code code);
void gw_metrics_rate_limited(const char *scope);
void gw_metrics_auth_cache(int hit);
void gw_metrics_ratelimit_backend(int redis_ok);
/* result: 1 hit, -1 stale hit (refresh under way), 0 miss */
void gw_metrics_response_cache(int result);
void gw_metrics_queue_full(void);
/* Appends the Prometheus text exposition. */
void gw_metrics_render(struct strbuf *out);

/* ------------------------------------------------------------------ */
/* Ingest-run counts for /metrics (runstats.c)                        */
/* ------------------------------------------------------------------ */

/* Starts the thread that asks the server (Ingest/CountIngestRuns, 2 s
 * deadline) for the runs per status every period_s seconds. Returns 0 or -1
 * with err set. Call once; stop joins it. */
int gw_runstats_start(long period_s, char *err, size_t errlen);
void gw_runstats_stop(void);
/* Appends tvmaze_ingest_runs{status} from the last successful answer (the
 * series are omitted while there is none or the last call failed) and
 * tvmaze_gateway_ingest_runs_up 0/1. Non-blocking, thread-safe. */
void gw_runstats_render(struct strbuf *out);

/* ------------------------------------------------------------------ */
/* Upstream workers (workers.c)                                       */
/* ------------------------------------------------------------------ */

/* A unit of blocking work. The submitter owns it; it must stay alive until
 * run or expire returns (either may free it). Exactly one of them is called. */
struct gw_job {
  void (*run)(struct gw_job *job);    /* on a worker thread */
  void (*expire)(struct gw_job *job); /* instead, when deadline_ms passed while queued; must
                                         not block (called on the reaper thread) */
  int64_t deadline_ms;                /* CLOCK_MONOTONIC ms; 0: none */
  struct gw_job *next;                /* queue link (workers.c) */
};

/* Starts nthreads workers with at most queue_max jobs waiting beyond the
 * idle workers, and the reaper thread that expires jobs whose deadline
 * passes while they wait. Returns 0, or -1 with err set (no thread left
 * running). Call once. */
int gw_workers_start(long nthreads, long queue_max, char *err, size_t errlen);
/* Queues job: 0, or -1 when the queue is full or the pool is stopping (job
 * untouched; counted in the metrics). Thread-safe. */
int gw_workers_submit(struct gw_job *job);
/* Jobs waiting, jobs running, threads (a snapshot). Thread-safe. */
void gw_workers_stats(long *queued, long *busy, long *threads);
/* Refuses new jobs, runs every queued one, joins the threads. */
void gw_workers_stop(void);

/* ------------------------------------------------------------------ */
/* Daemon (daemon.c)                                                  */
/* ------------------------------------------------------------------ */

struct gw_daemon;

/* Starts listening. NULL with err set on failure (bad address, port in use). */
struct gw_daemon *gw_daemon_start(const struct gw_config *cfg, char *err, size_t errlen);
void gw_daemon_stop(struct gw_daemon *d);

/* 1 if addr is a numeric "host:port" / "[v6]:port" the daemon can bind. */
int gw_addr_valid(const char *addr);

/* ------------------------------------------------------------------ */
/* Handlers                                                           */
/* ------------------------------------------------------------------ */

/* What a handler produces: status, body, extra headers. */
struct gw_reply {
  unsigned status;
  struct strbuf *body;
  const char *content_type; /* default application/json */
  char location[256];       /* Location header, "" for none */
  rpc_code code;            /* for logs/metrics on errors */
  int cacheable;            /* GET success: ETag + Cache-Control */
  char etag[24];            /* precomputed quoted ETag of body, "" to compute it when sending */
  struct gw_cached_body *cached; /* response-cache hit: sent instead of body (reference owned) */
};

/* Query/path/body input of an RPC route. */
struct gw_request_input {
  const struct gw_path_param *params;
  size_t nparams;
  const char *const *query_keys; /* nquery pairs */
  const char *const *query_values;
  size_t nquery;
  const char *body;
  size_t body_len;
};

/* An RPC request built from the HTTP input, ready to be sent. */
struct gw_rpc_call {
  const struct gw_route *route;
  unsigned index;        /* method index in route->service */
  ProtobufCMessage *req; /* owned; NULL once invoked or released */
};

/* Builds call->req from in (no network): 0, or -1 with reply set to the
 * error (400 naming the field, 501) and nothing to release. */
int gw_rpc_prepare(const struct gw_route *route, const struct gw_request_input *in,
                   struct gw_rpc_call *call, struct gw_reply *reply);
/* Sends call (blocking: one gRPC call) and fills reply with the JSON reply
 * or the error; releases call->req. */
void gw_rpc_invoke(struct gw_rpc_call *call, const struct gw_trace *trace, struct gw_reply *reply);
/* Frees call->req if still held (NULL-safe, idempotent). */
void gw_rpc_release(struct gw_rpc_call *call);

/* Blocking: one Health/Check call. */
void gw_handle_up(const struct gw_trace *trace, struct gw_reply *reply);
/* Non-blocking: the gateway's metrics and the last ingest-run counts. */
void gw_handle_metrics(struct gw_reply *reply);
void gw_handle_openapi(struct gw_reply *reply);

/* Fills reply with an error (status from code unless http_status != 0). */
void gw_reply_error(struct gw_reply *reply, unsigned http_status, rpc_code code, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

#endif
