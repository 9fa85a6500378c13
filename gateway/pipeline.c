/*
 * pipeline: the per-request pipeline (see pipeline.h for the steps).
 *
 * Threads: MHD runs a small pool of epoll threads (TVMAZE_HTTP_THREADS, one
 * per CPU by default), each serving many keep-alive connections; these
 * threads never wait on the network. The pipeline is a sequence of steps
 * (enum step); a step that needs a blocking call (a gRPC call to the
 * server, a Redis claim of rate-limit counts) is not run on the MHD thread:
 * the connection is suspended (MHD_suspend_connection), the request is
 * queued for an upstream worker (workers.h), which runs the remaining steps
 * and resumes the connection; MHD then calls the access handler again and
 * the reply is queued there (response.h). A full worker queue is a 503 at
 * once.
 *
 * Per-request state (struct request) is allocated by the URI-log callback,
 * lives in MHD's con_cls and is freed by the completion callback. While the
 * connection is suspended only the worker touches it; MHD's resume (a
 * mutex on both sides) orders the worker's writes before the handler's
 * reads. Header and query values are MHD's strings, valid until the request
 * completes (MHD does not touch a suspended connection's memory).
 * Tests: tests/integration/test_gateway_suspend.sh (threading),
 * test_gateway_http.sh and test_gateway_limits.sh (the pipeline).
 */
#include "pipeline.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "api_handler.h"
#include "auth.h"
#include "clientip.h"
#include "clock.h"
#include "conns.h"
#include "feed.h"
#include "follow.h"
#include "framing.h"
#include "log.h"
#include "metrics.h"
#include "ops_handler.h"
#include "ratelimit.h"
#include "reply.h"
#include "respcache.h"
#include "response.h"
#include "routes.h"
#include "gzip.h"
#include "strbuf.h"
#include "trace.h"
#include "workers.h"
#include "xalloc.h"

#define MAX_URI_BYTES 8192
#define MAX_BODY_BYTES (64 * 1024)
#define MAX_QUERY_PARAMS 128 /* show_ids: 100 repeated, beside every other field */

struct gw_pipeline {
  struct gw_pipeline_deps d; /* borrowed handles; read-only */
  atomic_int draining;       /* gw_pipeline_drain was called */
  atomic_long active;        /* requests begun (URI log) and not completed */
};

struct gw_pipeline *gw_pipeline_create(const struct gw_pipeline_deps *deps) {
  struct gw_pipeline *p = xcalloc(1, sizeof *p);
  p->d = *deps;
  return p;
}

void gw_pipeline_destroy(struct gw_pipeline *p) {
  free(p);
}

void gw_pipeline_drain(struct gw_pipeline *p) {
  atomic_store(&p->draining, 1);
}

long gw_pipeline_active(struct gw_pipeline *p) {
  return atomic_load(&p->active);
}

/* The reply to a request that begins while the gateway drains (SIGTERM):
 * 503 with Retry-After, and the connection closed after it, so the client
 * goes to another replica (this one accepts no connection any more). */
static void drain_reply_(struct gw_reply *reply) {
  reply->retry_after = 1; /* before the error: its RetryInfo detail */
  gw_reply_error(reply, 503, RPC_UNAVAILABLE,
                 "the gateway is shutting down; retry on a new connection");
  reply->close = 1;
}

struct query {
  const char *keys[MAX_QUERY_PARAMS];
  const char *values[MAX_QUERY_PARAMS];
  size_t n;
  int overflow;
  const char *nul_key; /* a parameter whose key or value holds a NUL, else NULL */
};

/* Pipeline steps, in order; each may end the pipeline with a reply. */
enum step {
  S_START,     /* URL/body limits, route match, identity (MHD thread) */
  S_LIMIT_IP,  /* /api/v1: per-IP limit (may claim from Redis) */
  S_AUTH,      /* /api/v1: credentials (may ask the server) */
  S_LIMIT_KEY, /* API keys: per-key limit (may claim from Redis) */
  S_HANDLE,    /* the route's handler (may call the server) */
  S_READY      /* reply complete: send it (MHD thread) */
};

struct request {
  struct gw_pipeline *p;
  struct MHD_Connection *con;
  size_t uri_len;          /* raw request target, query included */
  char *uri;               /* that target (response cache key); NULL when over MAX_URI_BYTES */
  int64_t start_us;        /* clock_mono_us() at the URI-log callback */
  uint64_t start_ns;       /* the same instant, Unix ns (the request span's start) */
  struct strbuf body;      /* upload so far */
  int too_big;             /* upload exceeded MAX_BODY_BYTES */
  int raw_nul;             /* the request target held a raw NUL byte */
  int many_params;         /* the query had more than MAX_QUERY_PARAMS parameters */
  unsigned bad_framing;    /* 400/501/505 when the head's framing is refused, else 0 */
  const char *framing_why; /* its message (static) */
  int seen;                /* first access-handler call done */
  int before_body;         /* Expect: 100-continue: the checks run before the body is
                              asked for (advance_ stops at S_HANDLE) */
  int waiting;             /* suspended, owned by a worker until it resumes the connection */
  enum step step;          /* next step to run */
  struct gw_job job;       /* the worker's entry (waiting) */
  const char *method;      /* MHD's strings, valid until completion */
  const char *url;
  const char *authorization; /* Authorization header or NULL */
  const char *api_key;       /* X-API-Key header or NULL */
  const struct gw_route *route;
  const char *route_label;
  struct gw_path_param params[GW_MAX_PATH_PARAMS];
  size_t nparams;
  struct query q;         /* RPC routes */
  struct gw_rpc_call rpc; /* RPC routes: the prepared call (req owned until invoked) */
  struct gw_trace trace;
  char client[64];
  struct gw_identity who;
  struct ratelimit_rate ip_rate, key_rate;
  const struct ratelimit_rate *rate; /* the RateLimit-* headers shown; NULL for none */
  int cache_looked;                  /* the response cache was asked (a miss: go upstream) */
  int cache_use;                     /* the cache serves and stores this request (follower up) */
  int64_t cache_version;   /* the follower's version at the lookup (what a put is filled at) */
  int ndjson;              /* stream route: Accept: application/x-ndjson */
  const char *after_field; /* stream route: where after_version came from */
  struct strbuf out;       /* reply body */
  struct gw_reply reply;   /* reply.body == &out */
};

/* The number of '&'-separated parameters in the raw query of uri (0 with
 * none), counting no further than max + 1. */
static size_t query_params_(const char *uri, size_t max) {
  const char *q = strchr(uri, '?');
  if (q == NULL || q[1] == '\0')
    return 0;
  size_t n = 1;
  for (q = strchr(q + 1, '&'); q != NULL && n <= max; q = strchr(q + 1, '&'))
    n++;
  return n;
}

void *gw_pipeline_uri_log(void *cls, const char *uri, struct MHD_Connection *con) {
  struct request *r = xcalloc(1, sizeof *r);
  r->p = cls;
  atomic_fetch_add(&r->p->active, 1);
  r->con = con;
  r->uri_len = uri ? strlen(uri) : 0;
  r->uri = uri && r->uri_len <= MAX_URI_BYTES ? xstrdup(uri) : NULL;
  if (uri != NULL && query_params_(uri, MAX_QUERY_PARAMS) > MAX_QUERY_PARAMS) {
    /* libmicrohttpd (0.9.75, connection.c parse_initial_message_line) calls
     * this before it splits the query, with a pointer into its own writable
     * copy of the request line, and then stores every parameter in the
     * connection's 32 KiB pool: ~500 of them leave no room for the reply's
     * headers, and the connection hangs until its timeout. So the query is
     * cut here, at its first byte (the copy in r->uri keeps it): MHD stores
     * none and the 400 below goes out at once, whatever the count. */
    r->many_params = 1;
    char *q = strchr((char *)(uintptr_t)uri, '?');
    q[1] = '\0';
  }
  r->start_us = clock_mono_us();
  r->start_ns = otel_now_ns();
  strbuf_init(&r->body);
  strbuf_init(&r->out);
  r->route_label = "unmatched";
  r->reply.status = 500;
  r->reply.body = &r->out;
  r->reply.code = RPC_OK;
  return r;
}

void gw_pipeline_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                           enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)toe;
  struct request *r = *con_cls;
  gw_conns_head_wait(con); /* the next request's head is due from now */
  if (r) {
    atomic_fetch_sub(&r->p->active, 1);
    strbuf_release(&r->body);
    strbuf_release(&r->out);
    gw_cached_body_release(r->reply.cached);
    gw_feed_sub_release(r->reply.stream); /* a stream no response took */
    gw_rpc_release(&r->rpc);
    otel_span_free(r->trace.span); /* a request that ended before its reply */
    free(r->uri);
    free(r);
  }
  *con_cls = NULL;
}

/* The peer's address as text ("unknown" when MHD has none). */
static void peer_ip_(struct MHD_Connection *con, char *out, size_t outlen) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  snprintf(out, outlen, "unknown");
  if (!ci || !ci->client_addr)
    return;
  const struct sockaddr *sa = ci->client_addr;
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
              (socklen_t)outlen);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
              (socklen_t)outlen);
}

/* ------------------------------------------------------------------ */
/* Query parameters                                                   */
/* ------------------------------------------------------------------ */

/* MHD_KeyValueIteratorN: the decoded lengths show a NUL that the C strings
 * would hide (q=a%00b would search for "a"). */
static enum MHD_Result query_it_(void *cls, enum MHD_ValueKind kind, const char *key,
                                 size_t key_size, const char *value, size_t value_size) {
  (void)kind;
  struct query *q = cls;
  if (memchr(key, 0, key_size) != NULL || (value && memchr(value, 0, value_size) != NULL)) {
    q->nul_key = key;
    return MHD_NO;
  }
  if (q->n >= MAX_QUERY_PARAMS) {
    q->overflow = 1;
    return MHD_NO;
  }
  q->keys[q->n] = key;
  q->values[q->n] = value;
  q->n++;
  return MHD_YES;
}

/* ------------------------------------------------------------------ */
/* The pipeline                                                       */
/* ------------------------------------------------------------------ */

/* 1 when the client waits for "100 Continue" before sending its body
 * (RFC 9110 10.1.1; MHD sends it when the first access-handler call
 * returns without a reply, so the checks that need no body run then). */
static int expects_continue_(struct MHD_Connection *con, const char *version) {
  const char *e = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Expect");
  return e != NULL && strcasecmp(e, "100-continue") == 0 && version != NULL &&
         strcmp(version, MHD_HTTP_VERSION_1_1) == 0;
}

/* 1 when a Content-Type value is application/json (any case, parameters
 * such as "; charset=utf-8" allowed), else 0. */
static int is_json_type_(const char *ct) {
  static const char want[] = "application/json";
  if (ct == NULL)
    return 0;
  while (*ct == ' ' || *ct == '\t')
    ct++;
  if (strncasecmp(ct, want, sizeof want - 1) != 0)
    return 0;
  ct += sizeof want - 1;
  while (*ct == ' ' || *ct == '\t')
    ct++;
  return *ct == '\0' || *ct == ';';
}

static enum MHD_Result head_it_(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value) {
  (void)kind;
  gw_framing_add(cls, key, value);
  return MHD_YES;
}

/* The framing check (framing.h) of con's request head. */
static unsigned framing_(struct MHD_Connection *con, const char *version, const char **why) {
  struct gw_framing f = {0};
  MHD_get_connection_values(con, MHD_HEADER_KIND, head_it_, &f);
  return gw_framing_check(&f, version, why);
}

/* 1 when the raw request target holds an escaped NUL (%00) anywhere. */
static int has_escaped_nul_(const char *raw) {
  for (const char *p = strchr(raw, '%'); p != NULL; p = strchr(p + 1, '%')) {
    if (p[1] == '0' && p[2] == '0')
      return 1;
  }
  return 0;
}

static int query_key_(struct request *r);

/* S_START, on the MHD thread: limits, route, identity; the query of RPC
 * routes and their request message (bad input is a 400 here).
 * Decoding: routes are matched on the raw path (r->uri up to '?'), and
 * gw_route_match decodes each path parameter once; MHD's decoded url is
 * not used for matching, so /tv_shows/%2531 is id "%31", not 1. A NUL in
 * the target, escaped (%00) or raw (MHD's url shorter than the raw path),
 * is a 400. */
static void start_(struct request *r) {
  struct MHD_Connection *con = r->con;
  gw_trace_init(r->p->d.tracer, &r->trace,
                MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-Request-Id"),
                MHD_lookup_connection_value(con, MHD_HEADER_KIND, "traceparent"), r->start_ns);
  char peer[64];
  peer_ip_(con, peer, sizeof peer);
  gw_client_ip(r->p->d.proxies, peer,
               MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-Forwarded-For"), r->client,
               sizeof r->client);
  r->step = S_READY; /* unless every check below passes */
  if (atomic_load(&r->p->draining)) {
    drain_reply_(&r->reply);
    return;
  }
  if (r->uri_len > MAX_URI_BYTES) {
    gw_reply_error(&r->reply, 414, RPC_INVALID_ARGUMENT, "the URL is longer than %d bytes",
                   MAX_URI_BYTES);
    return;
  }
  if (r->too_big) {
    gw_reply_error(&r->reply, 413, RPC_RESOURCE_EXHAUSTED, "the body is larger than %d bytes",
                   MAX_BODY_BYTES);
    return;
  }
  if (r->bad_framing) {
    gw_reply_error(&r->reply, r->bad_framing,
                   r->bad_framing == 400 ? RPC_INVALID_ARGUMENT : RPC_UNIMPLEMENTED, "%s",
                   r->framing_why);
    r->reply.close = 1;
    return;
  }
  if (r->many_params) {
    gw_reply_error(&r->reply, 400, RPC_INVALID_ARGUMENT, "more than %d query parameters",
                   MAX_QUERY_PARAMS);
    return;
  }
  if (r->uri == NULL || r->raw_nul || has_escaped_nul_(r->uri)) {
    gw_reply_error(&r->reply, 400, RPC_INVALID_ARGUMENT,
                   "the URL must not contain a NUL character (%%00)");
    return;
  }
  char path[MAX_URI_BYTES + 1];
  size_t plen = strcspn(r->uri, "?");
  memcpy(path, r->uri, plen);
  path[plen] = '\0';
  switch (gw_route_match(r->method, path, &r->route, r->params, &r->nparams, r->reply.allow,
                         sizeof r->reply.allow)) {
  case GW_MATCH_NOT_FOUND:
    r->reply.allow[0] = '\0';
    gw_reply_error(&r->reply, 404, RPC_NOT_FOUND, "no route for %.200s", path);
    return;
  case GW_MATCH_BAD_METHOD:
    gw_reply_error(&r->reply, 405, RPC_UNIMPLEMENTED, "method %.16s not allowed; allowed: %s",
                   r->method, r->reply.allow);
    r->route = NULL;
    return;
  case GW_MATCH_OK:
    r->reply.allow[0] = '\0';
    break;
  }
  r->route_label = r->route->path;
  /* CSRF: a browser page can POST text/plain or a form without a preflight,
   * never application/json; so a POST is read only when it says JSON,
   * with or without a body. */
  if (strcmp(r->route->method, "POST") == 0 &&
      !is_json_type_(MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type"))) {
    gw_reply_error(&r->reply, 415, RPC_INVALID_ARGUMENT,
                   "Content-Type: a POST body must be application/json");
    return;
  }
  r->trace.deadline_ms = r->start_us / 1000 + r->p->d.upstream_timeout_ms;
  r->authorization = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
  r->api_key = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-API-Key");
  if (r->route->kind == GW_ROUTE_RPC || r->route->kind == GW_ROUTE_STREAM)
    MHD_get_connection_values_n(con, MHD_GET_ARGUMENT_KIND, query_it_, &r->q);
  if (r->q.nul_key != NULL) {
    gw_reply_error(&r->reply, 400, RPC_INVALID_ARGUMENT,
                   "%.100s: query parameters must not contain a NUL character", r->q.nul_key);
    return;
  }
  if (r->route->auth && !query_key_(r))
    return;
  r->step = r->route->auth ? S_LIMIT_IP : S_HANDLE;
}

/* ?key=: on a route that takes it (gw_route.key_param: calendar apps cannot
 * send headers) the API key when no header carries credentials, and
 * dropped from the request's fields; on any other credentialed route a 401
 * naming key (a key in a URL ends up in logs and histories). Returns 1 to
 * go on, 0 with the reply set. */
static int query_key_(struct request *r) {
  const char *key = MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, "key");
  if (key == NULL)
    return 1;
  if (!r->route->key_param) {
    r->reply.auth_challenge = 1;
    gw_reply_error(&r->reply, 401, RPC_UNAUTHENTICATED,
                   "key: an API key in the URL is accepted only on /api/v1/calendar.ics; send it "
                   "as X-API-Key or Authorization: Bearer");
    return 0;
  }
  if (r->authorization == NULL && r->api_key == NULL)
    r->api_key = key;
  size_t n = 0;
  for (size_t i = 0; i < r->q.n; i++) {
    if (strcmp(r->q.keys[i], "key") != 0) {
      r->q.keys[n] = r->q.keys[i];
      r->q.values[n] = r->q.values[i];
      n++;
    }
  }
  r->q.n = n;
  return 1;
}

/* Builds r->rpc.req from the path, query and body (no network): 0, or -1
 * with the 400 in r->reply. */
static int prepare_(struct request *r) {
  if (r->q.overflow) {
    gw_reply_error(&r->reply, 400, RPC_INVALID_ARGUMENT, "more than %d query parameters",
                   MAX_QUERY_PARAMS);
    return -1;
  }
  struct gw_request_input in = {.params = r->params,
                                .nparams = r->nparams,
                                .query_keys = r->q.keys,
                                .query_values = r->q.values,
                                .nquery = r->q.n,
                                .body = r->body.data,
                                .body_len = r->body.len};
  return gw_rpc_prepare(r->route, &in, &r->rpc, &r->reply);
}

/* Stores the upstream's 200 reply in the response cache with its gzip form
 * when it is big enough (gzip.h), so later hits compress nothing; a client
 * that accepts gzip (want_gz) is sent that form now. */
static void cache_put_(struct request *r, int want_gz) {
  struct gw_reply *reply = &r->reply;
  size_t gz_len = 0;
  char gz_etag[24] = "";
  gw_etag_of(reply->body->data, reply->body->len, reply->etag);
  char *gz = reply->body->len > GW_GZIP_MIN_BYTES
                 ? gw_gzip_encode(reply->body->data, reply->body->len, &gz_len)
                 : NULL;
  if (gz != NULL)
    gw_gzip_etag(reply->etag, gz_etag);
  gw_respcache_put(r->p->d.respcache, r->uri, r->cache_version, reply->body->data, reply->body->len,
                   reply->etag, gz, gz_len, gz_etag, reply->content_type);
  if (gz != NULL && want_gz) {
    strbuf_reset(reply->body);
    strbuf_append_n(reply->body, gz, gz_len);
    memcpy(reply->etag, gz_etag, sizeof gz_etag);
    reply->gzip = 1;
  }
  free(gz);
}

/* The RPC route's handler: a response-cache hit, else the call (blocking).
 * The cache is used only while the follower knows the version (follow.h):
 * a hit needs an entry filled at that version; while it is down every read
 * goes upstream (result "bypass") and nothing is stored.
 * Returns 0 when it would block and may_block == 0. */
static int handle_rpc_(struct request *r, int may_block) {
  struct gw_reply *reply = &r->reply;
  const struct gw_pipeline_deps *d = &r->p->d;
  int cache = r->route->cache && r->uri && gw_respcache_enabled(d->respcache);
  int want_gz =
      gw_gzip_accepted(MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Accept-Encoding"));
  if (cache && !r->cache_looked) { /* once: a refresher must not look again */
    int refresh;
    r->cache_looked = 1;
    r->cache_use = gw_follow_version(d->follow, &r->cache_version);
    if (!r->cache_use)
      gw_metrics_response_cache(d->metrics, 2);
    else if ((reply->cached = gw_respcache_get(d->respcache, r->uri, r->cache_version, want_gz,
                                               reply->etag, &refresh, &reply->gzip)) != NULL) {
      gw_metrics_response_cache(d->metrics, refresh < 0 ? -1 : 1);
      const char *type = gw_cached_body_type(reply->cached);
      if (type[0] != '\0') { /* a raw reply (text/calendar) */
        snprintf(reply->content_type_buf, sizeof reply->content_type_buf, "%s", type);
        reply->content_type = reply->content_type_buf;
      }
      reply->status = 200;
      reply->code = RPC_OK;
      reply->cacheable = 1;
      return 1;
    }
  }
  if (!r->rpc.req && prepare_(r) != 0)
    return 1;
  if (!may_block)
    return 0;
  gw_rpc_invoke(d->upstream, d->metrics, &r->rpc, &r->trace, reply);
  if (cache && r->cache_use) {
    gw_metrics_response_cache(d->metrics, 0);
    if (reply->status == 200)
      cache_put_(r, want_gz);
  }
  return 1;
}

/* Last-Event-ID: a change version (digits, at most 18): 0 and *v, or -1. */
static int parse_event_id_(const char *s, int64_t *v) {
  size_t n = strlen(s);
  if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
    return -1;
  *v = (int64_t)strtoll(s, NULL, 10);
  return 0;
}

/* 1 when an Accept header asks for application/x-ndjson. */
static int wants_ndjson_(const char *accept) {
  return accept != NULL && strstr(accept, "application/x-ndjson") != NULL;
}

/* The change stream's handler: the request checked on the MHD thread (400
 * naming the field), then the subscriber opened with its first catch-up
 * page (blocking, feed.h); the reply is the stream. Returns 0 when it would
 * block and may_block == 0. */
static int handle_stream_(struct request *r, int may_block) {
  struct gw_reply *reply = &r->reply;
  if (!r->rpc.req) {
    if (prepare_(r) != 0)
      return 1;
    Tvmaze__V1__WatchChangesRequest *req = (Tvmaze__V1__WatchChangesRequest *)r->rpc.req;
    r->after_field = "after_version";
    const char *leid = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Last-Event-ID");
    if (leid != NULL) { /* EventSource's resume wins over the query */
      if (parse_event_id_(leid, &req->after_version) != 0) {
        gw_reply_error(reply, 400, RPC_INVALID_ARGUMENT,
                       "Last-Event-ID: must be a change version (digits), got \"%.40s\"", leid);
        return 1;
      }
      r->after_field = "Last-Event-ID";
    }
    if (req->after_version < 0) {
      gw_reply_error(reply, 400, RPC_INVALID_ARGUMENT, "after_version: must not be negative");
      return 1;
    }
    if (req->n_show_ids > 100) {
      gw_reply_error(reply, 400, RPC_INVALID_ARGUMENT, "show_ids: at most 100 ids, got %zu",
                     req->n_show_ids);
      return 1;
    }
    r->ndjson = wants_ndjson_(MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "Accept"));
  }
  if (!may_block)
    return 0;
  const struct gw_pipeline_deps *d = &r->p->d;
  reply->stream = gw_feed_open(d->feed, (const Tvmaze__V1__WatchChangesRequest *)r->rpc.req,
                               r->ndjson, r->after_field, &r->trace, reply);
  gw_rpc_release(&r->rpc);
  if (reply->stream) {
    reply->status = 200;
    reply->code = RPC_OK;
    reply->content_type = r->ndjson ? "application/x-ndjson" : "text/event-stream; charset=utf-8";
  } else {
    gw_metrics_upstream_error(d->metrics, reply->code);
  }
  return 1;
}

/* ratelimit_hit, with the counting backend in the metrics. */
static int limit_hit_(const struct gw_pipeline_deps *d, const char *scope, const char *id,
                      long limit, long window_s, int may_block, struct ratelimit_rate *out) {
  if (!ratelimit_hit(d->ratelimit, scope, id, limit, window_s, may_block, out))
    return 0;
  if (out->backend != RATELIMIT_LOCAL_ONLY)
    gw_metrics_ratelimit_backend(d->metrics, out->backend == RATELIMIT_REDIS);
  return 1;
}

/* What advance_ got to. */
enum advance { ADV_BLOCKED, ADV_DONE, ADV_BODY };

/* Runs r's steps from r->step until the reply is complete (ADV_DONE); with
 * may_block == 0, until a step would block (ADV_BLOCKED; r->step is that
 * step, to be run again on a worker); with r->before_body, until every
 * check passed and the handler needs the body (ADV_BODY, r->step S_HANDLE;
 * a reply made before the body is read closes the connection). */
static enum advance advance_(struct request *r, int may_block) {
  const struct gw_pipeline_deps *d = &r->p->d;
  struct gw_reply *reply = &r->reply;
  for (;;) {
    switch (r->step) {
    case S_START:
      start_(r);
      break;
    case S_LIMIT_IP:
      if (!limit_hit_(d, "ip", r->client, d->ip_limit, d->ip_window_s, may_block, &r->ip_rate))
        return ADV_BLOCKED;
      r->rate = &r->ip_rate;
      r->step = S_AUTH;
      if (r->ip_rate.exceeded) {
        gw_metrics_rate_limited(d->metrics, "ip");
        gw_reply_error(reply, 429, RPC_RESOURCE_EXHAUSTED,
                       "rate limit exceeded for this client; retry in %ld s", r->ip_rate.reset_s);
        r->step = S_READY;
      }
      break;
    case S_AUTH: {
      rpc_code code = RPC_OK;
      enum gw_auth_result res = gw_auth_check(d->auth, r->authorization, r->api_key, &r->trace,
                                              may_block, &r->who, &code);
      r->step = S_READY;
      switch (res) {
      case GW_AUTH_WOULD_BLOCK:
        r->step = S_AUTH;
        return ADV_BLOCKED;
      case GW_AUTH_OK:
        /* from here on the server calls act for the caller (upstream.h) */
        r->trace.on_behalf = 1;
        r->trace.caller_key = r->who.key;
        r->step = r->who.tier > 0 ? S_LIMIT_KEY : S_HANDLE;
        break;
      case GW_AUTH_MISSING:
        reply->auth_challenge = 1;
        gw_reply_error(reply, 401, RPC_UNAUTHENTICATED,
                       "credentials required: HTTP Basic or an API key");
        break;
      case GW_AUTH_DENIED:
        reply->auth_challenge = 1;
        gw_reply_error(reply, 401, RPC_UNAUTHENTICATED, "invalid credentials");
        break;
      case GW_AUTH_UPSTREAM:
        gw_reply_error(reply, 0, code, "cannot check the API key: %s", rpc_code_name(code));
        break;
      }
      break;
    }
    case S_LIMIT_KEY:
      if (!limit_hit_(d, "key", r->who.name, ratelimit_tier_limit(r->who.tier), 60, may_block,
                      &r->key_rate))
        return ADV_BLOCKED;
      if (r->key_rate.exceeded || r->key_rate.remaining < r->ip_rate.remaining)
        r->rate = &r->key_rate;
      r->step = S_HANDLE;
      if (r->key_rate.exceeded) {
        gw_metrics_rate_limited(d->metrics, "key");
        gw_reply_error(reply, 429, RPC_RESOURCE_EXHAUSTED,
                       "rate limit exceeded for key %s; retry in %ld s", r->who.name,
                       r->key_rate.reset_s);
        r->step = S_READY;
      }
      break;
    case S_HANDLE:
      if (r->before_body)
        return ADV_BODY;
      switch (r->route->kind) {
      case GW_ROUTE_UP: /* from the health state: never blocks */
        gw_handle_up(d->health, reply);
        break;
      case GW_ROUTE_METRICS:
        gw_handle_metrics(d->metrics, d->workers, d->runstats, d->tracer, d->follow, d->feed,
                          reply);
        break;
      case GW_ROUTE_OPENAPI:
        gw_handle_openapi(reply);
        break;
      case GW_ROUTE_RPC:
        if (!handle_rpc_(r, may_block))
          return ADV_BLOCKED;
        break;
      case GW_ROUTE_STREAM:
        if (!handle_stream_(r, may_block))
          return ADV_BLOCKED;
        break;
      }
      r->step = S_READY;
      break;
    case S_READY:
      return ADV_DONE;
    }
  }
}

/* The reaper's call for a job whose deadline passed while it waited in the
 * queue (every worker busy): 504, /up 503; back to MHD. Non-blocking. */
static void job_expire_(struct gw_job *job) {
  struct request *r = (struct request *)(void *)((char *)job - offsetof(struct request, job));
  gw_rpc_release(&r->rpc);
  gw_reply_error(&r->reply, 0, RPC_DEADLINE_EXCEEDED,
                 "deadline exceeded while waiting for an upstream worker");
  r->step = S_READY;
  MHD_resume_connection(r->con);
}

/* A worker's job: the blocking steps, then back to MHD (which calls the
 * access handler again: the reply is sent, or, before the body, the
 * handler asks for it). */
static void job_run_(struct gw_job *job) {
  struct request *r = (struct request *)(void *)((char *)job - offsetof(struct request, job));
  advance_(r, 1);
  MHD_resume_connection(r->con); /* r belongs to MHD's thread again */
}

enum MHD_Result gw_pipeline_access(void *cls, struct MHD_Connection *con, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls) {
  struct request *r = *con_cls;
  if (!r) { /* no URI-log callback ran (should not happen) */
    r = gw_pipeline_uri_log(cls, url, con);
    *con_cls = r;
  }
  if (r->waiting) { /* resumed by the worker: the reply is complete */
    r->waiting = 0;
    if (r->step != S_READY) { /* the checks passed before the body: now ask for it */
      r->before_body = 0;
      return MHD_YES;
    }
    goto send;
  }
  if (!r->seen) {
    r->seen = 1;
    gw_conns_head_done(con);
    /* A raw NUL in the target: MHD hands on the C string cut at it, but
     * url and version still point into its copy of the request line
     * ("GET <target> HTTP/1.1"), so the raw target is version - url - 1
     * bytes; longer than the string the URI-log callback saw means a NUL. */
    if (url != NULL && version != NULL && version > url &&
        (size_t)(version - url) <= MAX_URI_BYTES + 1 && r->uri_len + 1 < (size_t)(version - url))
      r->raw_nul = 1;
    r->bad_framing = framing_(con, version, &r->framing_why);
    const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > MAX_BODY_BYTES)
      r->too_big = 1;
    else if (r->uri_len <= MAX_URI_BYTES && !r->too_big && !r->bad_framing) {
      if (!expects_continue_(con, version))
        return MHD_YES;   /* wait for the body (or the final call) */
      r->before_body = 1; /* credentials first: no "100 Continue" for a refused request */
    }
  } else if (*upload_data_size) {
    if (!r->too_big && r->body.len + *upload_data_size <= MAX_BODY_BYTES)
      strbuf_append_n(&r->body, upload_data, *upload_data_size);
    else
      r->too_big = 1;
    *upload_data_size = 0;
    return MHD_YES;
  }

  r->method = method;
  r->url = url;
  enum advance got = advance_(r, 0);
  if (got == ADV_BODY) { /* checked: MHD sends "100 Continue", the body follows */
    r->before_body = 0;
    return MHD_YES;
  }
  if (got == ADV_BLOCKED) {
    /* a blocking step: park the connection and hand r to a worker, which
     * resumes it; until then r is the worker's */
    r->waiting = 1;
    r->job.run = job_run_;
    r->job.expire = job_expire_;
    r->job.deadline_ms = r->trace.deadline_ms;
    MHD_suspend_connection(con);
    if (gw_workers_submit(r->p->d.workers, &r->job) != 0) {
      gw_rpc_release(&r->rpc);
      if (atomic_load(&r->p->draining)) { /* the pool stopped: not a full queue */
        drain_reply_(&r->reply);
      } else {
        gw_metrics_queue_full(r->p->d.metrics);
        r->reply.retry_after = 1;
        gw_reply_error(&r->reply, 503, RPC_UNAVAILABLE,
                       "the gateway has too many upstream calls waiting; retry later");
      }
      r->step = S_READY;
      MHD_resume_connection(con); /* MHD calls back at once: the 503 goes out */
    }
    return MHD_YES;
  }

send:;
  if (r->before_body)
    r->reply.close = 1; /* refused before its body: what the client may still send is not read */
  size_t bytes = 0;
  enum MHD_Result ret =
      gw_response_send(con, r->method, r->trace.request_id, r->rate, &r->reply, &bytes);
  double secs = (double)(clock_mono_us() - r->start_us) / 1e6;
  enum gw_metrics_tier tier = GW_TIER_NONE;
  if (r->who.name[0] != '\0')
    tier =
        r->who.tier >= 1 && r->who.tier <= 3 ? (enum gw_metrics_tier)r->who.tier : GW_TIER_OPERATOR;
  gw_metrics_request(r->p->d.metrics, r->route_label, r->route ? r->route->method : "other",
                     r->reply.status, secs, bytes, tier);
  char trace_id[33], span_id[17];
  gw_trace_ids(&r->trace, trace_id, span_id);
  struct gw_trace_http th = {.method = method,
                             .route = r->route ? r->route->path : NULL,
                             .path = r->uri,
                             .path_len = r->uri ? strcspn(r->uri, "?") : 0,
                             .client = r->client,
                             .status = r->reply.status};
  if (r->route && (r->route->kind == GW_ROUTE_UP || r->route->kind == GW_ROUTE_METRICS))
    gw_trace_discard(&r->trace); /* load-balancer probes and scrapes: no traces */
  gw_trace_finish(r->p->d.tracer, &r->trace, &th);
  if (log_enabled(LOG_INFO))
    LOG_EVENT(LOG_INFO, "http_request", LF_STR("request_id", r->trace.request_id),
              LF_STR("trace_id", trace_id), LF_STR("span_id", span_id), LF_STR("method", method),
              LF_STR("route", r->route_label), LF_INT("status", r->reply.status),
              LF_DBL("duration_ms", secs * 1000.0), LF_INT("bytes", bytes),
              LF_STR("client", r->client), LF_STR("key", r->who.name[0] ? r->who.name : NULL),
              LF_STR("grpc_code", r->reply.code != RPC_OK ? rpc_code_name(r->reply.code) : NULL));
  return ret;
}
