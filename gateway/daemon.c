/*
 * daemon: the libmicrohttpd daemon and the per-request pipeline.
 *
 * Threads: MHD runs a small pool of epoll threads (TVMAZE_HTTP_THREADS, one
 * per CPU by default), each serving many keep-alive connections; these
 * threads never wait on the network. The pipeline is a sequence of steps
 * (enum step); a step that needs a blocking call (a gRPC call to the
 * server, a Redis claim of rate-limit counts) is not run on the MHD thread:
 * the connection is suspended (MHD_suspend_connection), the request is
 * queued for an upstream worker (workers.c), which runs the remaining steps
 * and resumes the connection; MHD then calls the access handler again and
 * the reply is queued there. A full worker queue is a 503 at once.
 *
 *   URL > 8 KiB -> 414; body > 64 KiB -> 413; route -> 404 / 405 + Allow;
 *   /api/v1: per-IP limit -> 429, credentials -> 401, per-key limit -> 429;
 *   handler (response-cache hit, or the RPC); ETag + 304 on GET; security
 *   headers, X-Request-Id, RateLimit-*; one JSON log line and the metrics.
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
#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "gateway.h"
#include "hash.h"
#include "strbuf.h"
#include "xalloc.h"

#define MAX_URI_BYTES 8192
#define MAX_BODY_BYTES (64 * 1024)
#define MAX_QUERY_PARAMS 64
/* Each connection's MHD memory pool: request line + headers, the reply's
 * header block. MHD zeroes the whole pool between keep-alive requests
 * (memset was 17 % of the warm path at 128 KiB), so keep it small: 32 KiB,
 * nginx's default header budget (4 x 8k), holds an 8 KiB URL (our 414
 * limit) with room for the headers. */
#define CONN_MEMORY_BYTES (32 * 1024)

struct gw_daemon {
  struct MHD_Daemon *mhd;
  long ip_limit;
  long ip_window_s;
  long upstream_timeout_ms; /* a request's deadline, from its start */
};

/* /up's deadline from the request's start: a load balancer's check must
 * get its answer soon even when the workers are all busy. */
#define UP_DEADLINE_MS 2000

struct query {
  const char *keys[MAX_QUERY_PARAMS];
  const char *values[MAX_QUERY_PARAMS];
  size_t n;
  int overflow;
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
  struct gw_daemon *d;
  struct MHD_Connection *con;
  size_t uri_len;        /* raw request target, query included */
  char *uri;             /* that target (response cache key); NULL when over MAX_URI_BYTES */
  struct timespec start; /* monotonic */
  struct strbuf body;    /* upload so far */
  int too_big;           /* upload exceeded MAX_BODY_BYTES */
  int seen;              /* first access-handler call done */
  int waiting;           /* suspended, owned by a worker until it resumes the connection */
  enum step step;        /* next step to run */
  struct gw_job job;     /* the worker's entry (waiting) */
  const char *method;    /* MHD's strings, valid until completion */
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
  struct gw_rate ip_rate, key_rate;
  const struct gw_rate *rate; /* the RateLimit-* headers shown; NULL for none */
  char allow[64];             /* 405: the Allow header */
  int auth_challenge;         /* 401: WWW-Authenticate */
  int retry_after;            /* 503 when overloaded: Retry-After seconds */
  int cache_looked;           /* the response cache was asked (a miss: go upstream) */
  struct strbuf out;          /* reply body */
  struct gw_reply reply;      /* reply.body == &out */
};

static double elapsed_s_(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void *uri_log_(void *cls, const char *uri, struct MHD_Connection *con) {
  struct request *r = xcalloc(1, sizeof *r);
  r->d = cls;
  r->con = con;
  r->uri_len = uri ? strlen(uri) : 0;
  r->uri = uri && r->uri_len <= MAX_URI_BYTES ? xstrdup(uri) : NULL;
  clock_gettime(CLOCK_MONOTONIC, &r->start);
  strbuf_init(&r->body);
  strbuf_init(&r->out);
  r->route_label = "unmatched";
  r->reply.status = 500;
  r->reply.body = &r->out;
  r->reply.code = RPC_OK;
  return r;
}

static void completed_(void *cls, struct MHD_Connection *con, void **con_cls,
                       enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)con;
  (void)toe;
  struct request *r = *con_cls;
  if (r) {
    strbuf_release(&r->body);
    strbuf_release(&r->out);
    gw_respcache_release(r->reply.cached);
    gw_rpc_release(&r->rpc);
    free(r->uri);
    free(r);
  }
  *con_cls = NULL;
}

/* ------------------------------------------------------------------ */
/* Identity of the request: id, traceparent, client                    */
/* ------------------------------------------------------------------ */

/* Per-thread generator for request, trace and span ids: splitmix64 seeded
 * once per thread from getrandom (ids must be unique and unguessable
 * enough to not collide, not secret; a getrandom syscall per id cost ~2 %
 * of the warm path). */
static _Thread_local uint64_t rng_state_;
static _Thread_local int rng_seeded_;

static uint64_t rng_next_(void) {
  if (!rng_seeded_) {
    if (getrandom(&rng_state_, sizeof rng_state_, 0) != (ssize_t)sizeof rng_state_) {
      struct timespec t;
      clock_gettime(CLOCK_REALTIME, &t);
      rng_state_ = (uint64_t)t.tv_sec * 1000000007u ^ (uint64_t)t.tv_nsec ^ (uintptr_t)&t;
    }
    rng_seeded_ = 1;
  }
  uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Writes 2 * nbytes random hex digits and a NUL to out. */
static void random_hex_(char *out, size_t nbytes) {
  static const char hex[] = "0123456789abcdef";
  uint64_t v = 0;
  for (size_t i = 0; i < nbytes; i++) {
    if (i % 8 == 0)
      v = rng_next_();
    unsigned char c = (unsigned char)(v >> (i % 8 * 8));
    out[2 * i] = hex[c >> 4];
    out[2 * i + 1] = hex[c & 15];
  }
  out[2 * nbytes] = '\0';
}

static int is_hex_(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return 1;
}

static int valid_request_id_(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 128)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.' || c == ':'))
      return 0;
  }
  return 1;
}

static void trace_init_(struct gw_trace *t, const char *xrid, const char *traceparent) {
  t->deadline_ms = 0;
  if (xrid && valid_request_id_(xrid))
    snprintf(t->request_id, sizeof t->request_id, "%s", xrid);
  else
    random_hex_(t->request_id, 16);
  char trace_id[33], span[17];
  if (traceparent && strlen(traceparent) == 55 && strncmp(traceparent, "00-", 3) == 0 &&
      is_hex_(traceparent + 3, 32) && traceparent[35] == '-') {
    memcpy(trace_id, traceparent + 3, 32);
  } else if (strlen(t->request_id) == 32 && is_hex_(t->request_id, 32)) {
    memcpy(trace_id, t->request_id, 32);
  } else {
    random_hex_(trace_id, 16);
  }
  trace_id[32] = '\0';
  random_hex_(span, 8);
  span[16] = '\0';
  snprintf(t->traceparent, sizeof t->traceparent, "00-%s-%s-01", trace_id, span);
}

void gw_trace_new(struct gw_trace *t) {
  trace_init_(t, NULL, NULL);
}

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

static enum MHD_Result query_it_(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value) {
  (void)kind;
  struct query *q = cls;
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
/* Sending                                                            */
/* ------------------------------------------------------------------ */

static void etag_of_(const struct strbuf *body, char out[24]) {
  snprintf(out, 24, "\"%016llx\"", (unsigned long long)hash_fnv1a64(body->data, body->len));
}

static void add_(struct MHD_Response *resp, const char *k, const char *v) {
  MHD_add_response_header(resp, k, v);
}

static void release_cached_(void *cls) {
  gw_respcache_release(cls);
}

/* Queues r's reply on its connection (MHD thread) with every header. */
static enum MHD_Result send_(struct request *r, size_t *bytes_out) {
  struct gw_reply *reply = &r->reply;
  unsigned status = reply->status;
  char etag[24] = "";
  if (reply->cacheable && status == 200) {
    if (reply->etag[0])
      memcpy(etag, reply->etag, sizeof etag);
    else
      etag_of_(reply->body, etag);
    const char *inm = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND, "If-None-Match");
    if (inm && (strstr(inm, etag) || strcmp(inm, "*") == 0))
      status = 304;
  }
  struct MHD_Response *resp;
  size_t len = 0;
  if (status == 304) {
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  } else if (reply->cached) {
    /* response-cache hit: MHD sends the cached bytes themselves; the
     * reference is dropped by release_cached_ when the response is freed */
    char *data = gw_cached_body_data(reply->cached, &len);
    resp = MHD_create_response_from_buffer_with_free_callback_cls(len, data, release_cached_,
                                                                  reply->cached);
    if (resp)
      reply->cached = NULL;
  } else {
    char *data = strbuf_detach(reply->body, &len);
    resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
  }
  *bytes_out = status == 304 || strcmp(r->method, "HEAD") == 0 ? 0 : len;
  if (!resp)
    return MHD_NO;
  if (status != 304)
    add_(resp, "Content-Type",
         reply->content_type ? reply->content_type : "application/json; charset=utf-8");
  add_(resp, "Strict-Transport-Security", "max-age=63072000; includeSubDomains");
  add_(resp, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  add_(resp, "X-Content-Type-Options", "nosniff");
  add_(resp, "X-Frame-Options", "DENY");
  add_(resp, "Referrer-Policy", "no-referrer");
  add_(resp, "X-Request-Id", r->trace.request_id);
  if (etag[0]) {
    add_(resp, "ETag", etag);
    add_(resp, "Cache-Control", "private, max-age=300");
    add_(resp, "Vary", "Authorization, X-API-Key");
  } else {
    add_(resp, "Cache-Control", "no-store");
  }
  if (r->allow[0])
    add_(resp, "Allow", r->allow);
  if (r->auth_challenge)
    add_(resp, "WWW-Authenticate", "Basic realm=\"tvmaze\", Bearer realm=\"tvmaze\"");
  if (reply->location[0])
    add_(resp, "Location", reply->location);
  char v[32];
  if (r->rate) {
    snprintf(v, sizeof v, "%ld", r->rate->limit);
    add_(resp, "RateLimit-Limit", v);
    snprintf(v, sizeof v, "%ld", r->rate->remaining);
    add_(resp, "RateLimit-Remaining", v);
    snprintf(v, sizeof v, "%ld", r->rate->reset_s);
    add_(resp, "RateLimit-Reset", v);
    if (r->rate->exceeded)
      add_(resp, "Retry-After", v);
  }
  if (r->retry_after && !(r->rate && r->rate->exceeded)) {
    snprintf(v, sizeof v, "%d", r->retry_after);
    add_(resp, "Retry-After", v);
  }
  enum MHD_Result ret = MHD_queue_response(r->con, status, resp);
  MHD_destroy_response(resp);
  reply->status = status;
  return ret;
}

/* ------------------------------------------------------------------ */
/* The pipeline                                                       */
/* ------------------------------------------------------------------ */

/* S_START, on the MHD thread: limits, route, identity; the query of RPC
 * routes and their request message (bad input is a 400 here). */
static void start_(struct request *r) {
  struct MHD_Connection *con = r->con;
  trace_init_(&r->trace, MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-Request-Id"),
              MHD_lookup_connection_value(con, MHD_HEADER_KIND, "traceparent"));
  char peer[64];
  peer_ip_(con, peer, sizeof peer);
  gw_client_ip(peer, MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-Forwarded-For"),
               r->client, sizeof r->client);
  r->step = S_READY; /* unless every check below passes */
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
  switch (gw_route_match(r->method, r->url, &r->route, r->params, &r->nparams, r->allow,
                         sizeof r->allow)) {
  case GW_MATCH_NOT_FOUND:
    r->allow[0] = '\0';
    gw_reply_error(&r->reply, 404, RPC_NOT_FOUND, "no route for %.200s", r->url);
    return;
  case GW_MATCH_BAD_METHOD:
    gw_reply_error(&r->reply, 405, RPC_UNIMPLEMENTED, "method %.16s not allowed; allowed: %s",
                   r->method, r->allow);
    r->route = NULL;
    return;
  case GW_MATCH_OK:
    r->allow[0] = '\0';
    break;
  }
  r->route_label = r->route->path;
  r->trace.deadline_ms =
      (int64_t)r->start.tv_sec * 1000 + r->start.tv_nsec / 1000000 +
      (r->route->kind == GW_ROUTE_UP ? UP_DEADLINE_MS : r->d->upstream_timeout_ms);
  r->authorization = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
  r->api_key = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-API-Key");
  if (r->route->kind == GW_ROUTE_RPC)
    MHD_get_connection_values(con, MHD_GET_ARGUMENT_KIND, query_it_, &r->q);
  r->step = r->route->auth ? S_LIMIT_IP : S_HANDLE;
}

/* The RPC route's handler: a response-cache hit, else the call (blocking).
 * Returns 0 when it would block and may_block == 0. */
static int handle_rpc_(struct request *r, int may_block) {
  struct gw_reply *reply = &r->reply;
  int cache = r->route->cache && r->uri && gw_respcache_enabled();
  if (cache && !r->cache_looked) { /* once: a refresher must not look again */
    int refresh;
    r->cache_looked = 1;
    if ((reply->cached = gw_respcache_get(r->uri, reply->etag, &refresh)) != NULL) {
      gw_metrics_response_cache(refresh < 0 ? -1 : 1);
      reply->status = 200;
      reply->code = RPC_OK;
      reply->cacheable = 1;
      return 1;
    }
  }
  if (!r->rpc.req) { /* build the request message (no network) */
    if (r->q.overflow) {
      gw_reply_error(reply, 400, RPC_INVALID_ARGUMENT, "more than %d query parameters",
                     MAX_QUERY_PARAMS);
      return 1;
    }
    struct gw_request_input in = {.params = r->params,
                                  .nparams = r->nparams,
                                  .query_keys = r->q.keys,
                                  .query_values = r->q.values,
                                  .nquery = r->q.n,
                                  .body = r->body.data,
                                  .body_len = r->body.len};
    if (gw_rpc_prepare(r->route, &in, &r->rpc, reply) != 0)
      return 1;
  }
  if (!may_block)
    return 0;
  gw_rpc_invoke(&r->rpc, &r->trace, reply);
  if (cache) {
    gw_metrics_response_cache(0);
    if (reply->status == 200) {
      etag_of_(reply->body, reply->etag);
      gw_respcache_put(r->uri, reply->body->data, reply->body->len, reply->etag);
    }
  }
  return 1;
}

/* Runs r's steps from r->step until the reply is complete (returns 1) or,
 * with may_block == 0, until a step would block (returns 0; r->step is that
 * step, to be run again on a worker). */
static int advance_(struct request *r, int may_block) {
  struct gw_reply *reply = &r->reply;
  for (;;) {
    switch (r->step) {
    case S_START:
      start_(r);
      break;
    case S_LIMIT_IP:
      if (!gw_ratelimit_hit("ip", r->client, r->d->ip_limit, r->d->ip_window_s, may_block,
                            &r->ip_rate))
        return 0;
      r->rate = &r->ip_rate;
      r->step = S_AUTH;
      if (r->ip_rate.exceeded) {
        gw_metrics_rate_limited("ip");
        gw_reply_error(reply, 429, RPC_RESOURCE_EXHAUSTED,
                       "rate limit exceeded for this client; retry in %ld s", r->ip_rate.reset_s);
        r->step = S_READY;
      }
      break;
    case S_AUTH: {
      rpc_code code = RPC_OK;
      enum gw_auth_result res =
          gw_auth_check(r->authorization, r->api_key, &r->trace, may_block, &r->who, &code);
      r->step = S_READY;
      switch (res) {
      case GW_AUTH_WOULD_BLOCK:
        r->step = S_AUTH;
        return 0;
      case GW_AUTH_OK:
        r->step = r->who.tier > 0 ? S_LIMIT_KEY : S_HANDLE;
        break;
      case GW_AUTH_MISSING:
        r->auth_challenge = 1;
        gw_reply_error(reply, 401, RPC_UNAUTHENTICATED,
                       "credentials required: HTTP Basic or an API key");
        break;
      case GW_AUTH_DENIED:
        r->auth_challenge = 1;
        gw_reply_error(reply, 401, RPC_UNAUTHENTICATED, "invalid credentials");
        break;
      case GW_AUTH_UPSTREAM:
        gw_reply_error(reply, 0, code, "cannot check the API key: %s", rpc_code_name(code));
        break;
      }
      break;
    }
    case S_LIMIT_KEY:
      if (!gw_ratelimit_hit("key", r->who.name, gw_tier_limit(r->who.tier), 60, may_block,
                            &r->key_rate))
        return 0;
      if (r->key_rate.exceeded || r->key_rate.remaining < r->ip_rate.remaining)
        r->rate = &r->key_rate;
      r->step = S_HANDLE;
      if (r->key_rate.exceeded) {
        gw_metrics_rate_limited("key");
        gw_reply_error(reply, 429, RPC_RESOURCE_EXHAUSTED,
                       "rate limit exceeded for key %s; retry in %ld s", r->who.name,
                       r->key_rate.reset_s);
        r->step = S_READY;
      }
      break;
    case S_HANDLE:
      switch (r->route->kind) {
      case GW_ROUTE_UP:
        if (!may_block)
          return 0;
        gw_handle_up(&r->trace, reply);
        break;
      case GW_ROUTE_METRICS:
        gw_handle_metrics(reply);
        break;
      case GW_ROUTE_OPENAPI:
        gw_handle_openapi(reply);
        break;
      case GW_ROUTE_RPC:
        if (!handle_rpc_(r, may_block))
          return 0;
        break;
      }
      r->step = S_READY;
      break;
    case S_READY:
      return 1;
    }
  }
}

/* The reaper's call for a job whose deadline passed while it waited in the
 * queue (every worker busy): 504, /up 503; back to MHD. Non-blocking. */
static void job_expire_(struct gw_job *job) {
  struct request *r = (struct request *)(void *)((char *)job - offsetof(struct request, job));
  gw_rpc_release(&r->rpc);
  gw_reply_error(&r->reply, r->route && r->route->kind == GW_ROUTE_UP ? 503 : 0,
                 RPC_DEADLINE_EXCEEDED, "deadline exceeded while waiting for an upstream worker");
  r->step = S_READY;
  MHD_resume_connection(r->con);
}

/* A worker's job: the blocking steps, then back to MHD. */
static void job_run_(struct gw_job *job) {
  struct request *r = (struct request *)(void *)((char *)job - offsetof(struct request, job));
  advance_(r, 1);
  MHD_resume_connection(r->con); /* r belongs to MHD's thread again */
}

static enum MHD_Result handle_(void *cls, struct MHD_Connection *con, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls) {
  (void)version;
  struct request *r = *con_cls;
  if (!r) { /* no URI-log callback ran (should not happen) */
    r = uri_log_(cls, url, con);
    *con_cls = r;
  }
  if (r->waiting) { /* resumed by the worker: the reply is complete */
    r->waiting = 0;
    goto send;
  }
  if (!r->seen) {
    r->seen = 1;
    const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > MAX_BODY_BYTES)
      r->too_big = 1;
    else if (r->uri_len <= MAX_URI_BYTES && !r->too_big)
      return MHD_YES; /* wait for the body (or the final call) */
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
  if (!advance_(r, 0)) {
    /* a blocking step: park the connection and hand r to a worker, which
     * resumes it; until then r is the worker's */
    r->waiting = 1;
    r->job.run = job_run_;
    r->job.expire = job_expire_;
    r->job.deadline_ms = r->trace.deadline_ms;
    MHD_suspend_connection(con);
    if (gw_workers_submit(&r->job) != 0) {
      gw_rpc_release(&r->rpc);
      r->retry_after = 1;
      gw_reply_error(&r->reply, 503, RPC_UNAVAILABLE,
                     "the gateway has too many upstream calls waiting; retry later");
      r->step = S_READY;
      MHD_resume_connection(con); /* MHD calls back at once: the 503 goes out */
    }
    return MHD_YES;
  }

send:;
  size_t bytes = 0;
  enum MHD_Result ret = send_(r, &bytes);
  double secs = elapsed_s_(&r->start);
  gw_metrics_request(r->route_label, r->route ? r->route->method : "other", r->reply.status, secs,
                     bytes);
  if (log_enabled(LOG_INFO))
    LOG_EVENT(LOG_INFO, "http_request", LF_STR("request_id", r->trace.request_id),
              LF_STR("method", method), LF_STR("route", r->route_label),
              LF_INT("status", r->reply.status), LF_DBL("duration_ms", secs * 1000.0),
              LF_INT("bytes", bytes), LF_STR("client", r->client),
              LF_STR("key", r->who.name[0] ? r->who.name : NULL),
              LF_STR("grpc_code", r->reply.code != RPC_OK ? rpc_code_name(r->reply.code) : NULL));
  return ret;
}

/* ------------------------------------------------------------------ */
/* Start / stop                                                       */
/* ------------------------------------------------------------------ */

static int parse_addr_(const char *addr, struct sockaddr_storage *ss, socklen_t *len) {
  char host[256];
  const char *colon = strrchr(addr, ':');
  if (!colon || colon == addr)
    return -1;
  const char *h = addr;
  size_t hl = (size_t)(colon - addr);
  if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
    h++;
    hl -= 2;
  }
  if (hl >= sizeof host)
    return -1;
  memcpy(host, h, hl);
  host[hl] = '\0';
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || port < 0 || port > 65535 || colon[1] == '\0')
    return -1;
  struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_PASSIVE, .ai_socktype = SOCK_STREAM};
  struct addrinfo *ai = NULL;
  if (getaddrinfo(host, NULL, &hints, &ai) != 0 || !ai)
    return -1;
  memcpy(ss, ai->ai_addr, ai->ai_addrlen);
  *len = ai->ai_addrlen;
  freeaddrinfo(ai);
  if (ss->ss_family == AF_INET)
    ((struct sockaddr_in *)(void *)ss)->sin_port = htons((uint16_t)port);
  else
    ((struct sockaddr_in6 *)(void *)ss)->sin6_port = htons((uint16_t)port);
  return 0;
}

int gw_addr_valid(const char *addr) {
  struct sockaddr_storage ss;
  socklen_t len;
  return parse_addr_(addr, &ss, &len) == 0;
}

struct gw_daemon *gw_daemon_start(const struct gw_config *cfg, char *err, size_t errlen) {
  struct sockaddr_storage ss;
  socklen_t slen;
  if (parse_addr_(cfg->http_addr, &ss, &slen) != 0) {
    snprintf(err, errlen, "bad listen address %s", cfg->http_addr);
    return NULL;
  }
  struct gw_daemon *d = xcalloc(1, sizeof *d);
  d->ip_limit = cfg->ip_limit;
  d->ip_window_s = cfg->ip_window_s;
  d->upstream_timeout_ms = cfg->upstream_timeout_ms;
  if (gw_workers_start(cfg->upstream_workers, cfg->upstream_queue, err, errlen) != 0) {
    free(d);
    return NULL;
  }
  /* epoll threads that never block (every blocking step is a worker's), so
   * one per CPU is enough; suspend/resume hands connections to the workers */
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
  if (ss.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  unsigned pool = (unsigned)cfg->http_threads;
  if (pool == 0) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    pool = ncpu < 1 ? 1 : ncpu > 64 ? 64 : (unsigned)ncpu;
  }
  d->mhd = MHD_start_daemon(
      flags, 0, NULL, NULL, handle_, d, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
      MHD_OPTION_THREAD_POOL_SIZE, pool, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)cfg->conn_timeout_s, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY_BYTES, MHD_OPTION_THREAD_STACK_SIZE,
      (size_t)(512 * 1024), MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
      MHD_OPTION_URI_LOG_CALLBACK, uri_log_, d, MHD_OPTION_NOTIFY_COMPLETED, completed_, NULL,
      MHD_OPTION_END);
  if (!d->mhd) {
    snprintf(err, errlen, "cannot listen on %s", cfg->http_addr);
    gw_workers_stop();
    free(d);
    return NULL;
  }
  return d;
}

void gw_daemon_stop(struct gw_daemon *d) {
  if (!d)
    return;
  /* no new connections; the workers finish (and resume) every suspended
   * one; only then may MHD stop (it must not hold suspended connections) */
  MHD_socket listen_fd = d->mhd ? MHD_quiesce_daemon(d->mhd) : MHD_INVALID_SOCKET;
  gw_workers_stop();
  if (d->mhd)
    MHD_stop_daemon(d->mhd);
  if (listen_fd != MHD_INVALID_SOCKET)
    close(listen_fd); /* handed to us by the quiesce; MHD no longer closes it */
  free(d);
}
