/*
 * daemon: the libmicrohttpd daemon (one thread per connection, keep-alive,
 * idle/slow-client timeout) and the per-request pipeline:
 *
 *   URL > 8 KiB -> 414; body > 64 KiB -> 413; route -> 404 / 405 + Allow;
 *   /api/v1: per-IP limit -> 429, credentials -> 401, per-key limit -> 429;
 *   handler; ETag + 304 on GET; security headers, X-Request-Id,
 *   RateLimit-*; one JSON log line and the metrics for every request.
 *
 * Per-request state (struct request) is allocated by the URI-log callback,
 * lives in MHD's con_cls and is freed by the completion callback.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "gateway.h"
#include "strbuf.h"
#include "xalloc.h"

#define MAX_URI_BYTES 8192
#define MAX_BODY_BYTES (64 * 1024)
#define MAX_QUERY_PARAMS 64

struct gw_daemon {
  struct MHD_Daemon *mhd;
  long ip_limit;
  long ip_window_s;
};

struct request {
  size_t uri_len;        /* raw request target, query included */
  struct timespec start; /* monotonic */
  struct strbuf body;    /* upload so far */
  int too_big;           /* upload exceeded MAX_BODY_BYTES */
  int seen;              /* first access-handler call done */
};

static double elapsed_s_(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void *uri_log_(void *cls, const char *uri, struct MHD_Connection *con) {
  (void)cls;
  (void)con;
  struct request *r = xcalloc(1, sizeof *r);
  r->uri_len = uri ? strlen(uri) : 0;
  clock_gettime(CLOCK_MONOTONIC, &r->start);
  strbuf_init(&r->body);
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
    free(r);
  }
  *con_cls = NULL;
}

/* ------------------------------------------------------------------ */
/* Identity of the request: id, traceparent, client                    */
/* ------------------------------------------------------------------ */

static void random_hex_(char *out, size_t nbytes) {
  unsigned char buf[32];
  if (nbytes > sizeof buf)
    nbytes = sizeof buf;
  if (getrandom(buf, nbytes, 0) != (ssize_t)nbytes) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    for (size_t i = 0; i < nbytes; i++)
      buf[i] = (unsigned char)((unsigned long)t.tv_nsec >> (i % 4 * 8)) ^ (unsigned char)(i * 131);
  }
  for (size_t i = 0; i < nbytes; i++)
    snprintf(out + 2 * i, 3, "%02x", buf[i]);
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

struct query {
  const char *keys[MAX_QUERY_PARAMS];
  const char *values[MAX_QUERY_PARAMS];
  size_t n;
  int overflow;
};

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

static uint64_t fnv1a64_(const char *p, size_t n) {
  uint64_t h = 14695981039346656037ULL;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
  return h;
}

static void add_(struct MHD_Response *resp, const char *k, const char *v) {
  MHD_add_response_header(resp, k, v);
}

struct send_info {
  const char *allow;
  const struct gw_rate *rate; /* NULL: no RateLimit headers */
  int auth_challenge;
  const struct gw_trace *trace;
};

static enum MHD_Result send_(struct MHD_Connection *con, const char *method, struct gw_reply *reply,
                             const struct send_info *si, size_t *bytes_out) {
  unsigned status = reply->status;
  char etag[24] = "";
  if (reply->cacheable && status == 200) {
    snprintf(etag, sizeof etag, "\"%016llx\"",
             (unsigned long long)fnv1a64_(reply->body->data, reply->body->len));
    const char *inm = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "If-None-Match");
    if (inm && (strstr(inm, etag) || strcmp(inm, "*") == 0))
      status = 304;
  }
  struct MHD_Response *resp;
  size_t len = 0;
  if (status == 304) {
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  } else {
    char *data = strbuf_detach(reply->body, &len);
    resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
  }
  *bytes_out = status == 304 || strcmp(method, "HEAD") == 0 ? 0 : len;
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
  add_(resp, "X-Request-Id", si->trace->request_id);
  if (etag[0]) {
    add_(resp, "ETag", etag);
    add_(resp, "Cache-Control", "private, max-age=300");
    add_(resp, "Vary", "Authorization, X-API-Key");
  } else {
    add_(resp, "Cache-Control", "no-store");
  }
  if (si->allow)
    add_(resp, "Allow", si->allow);
  if (si->auth_challenge)
    add_(resp, "WWW-Authenticate", "Basic realm=\"tvmaze\", Bearer realm=\"tvmaze\"");
  if (reply->location[0])
    add_(resp, "Location", reply->location);
  if (si->rate) {
    char v[32];
    snprintf(v, sizeof v, "%ld", si->rate->limit);
    add_(resp, "RateLimit-Limit", v);
    snprintf(v, sizeof v, "%ld", si->rate->remaining);
    add_(resp, "RateLimit-Remaining", v);
    snprintf(v, sizeof v, "%ld", si->rate->reset_s);
    add_(resp, "RateLimit-Reset", v);
    if (si->rate->exceeded)
      add_(resp, "Retry-After", v);
  }
  enum MHD_Result ret = MHD_queue_response(con, status, resp);
  MHD_destroy_response(resp);
  reply->status = status;
  return ret;
}

/* ------------------------------------------------------------------ */
/* The pipeline                                                       */
/* ------------------------------------------------------------------ */

static enum MHD_Result handle_(void *cls, struct MHD_Connection *con, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls) {
  (void)version;
  struct gw_daemon *d = cls;
  struct request *r = *con_cls;
  if (!r) { /* no URI-log callback ran (should not happen) */
    r = uri_log_(NULL, url, con);
    *con_cls = r;
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

  struct strbuf body;
  strbuf_init(&body);
  struct gw_reply reply = {.status = 500, .body = &body, .code = RPC_OK};
  struct gw_trace trace;
  trace_init_(&trace, MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-Request-Id"),
              MHD_lookup_connection_value(con, MHD_HEADER_KIND, "traceparent"));
  char peer[64], client[64];
  peer_ip_(con, peer, sizeof peer);
  gw_client_ip(peer, MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-Forwarded-For"), client,
               sizeof client);
  struct gw_identity who = {.name = "", .tier = 0};
  struct gw_rate ip_rate, key_rate;
  const struct gw_rate *rate = NULL;
  struct send_info si = {.trace = &trace};
  char allow[64] = "";
  const struct gw_route *route = NULL;
  const char *route_label = "unmatched";
  struct gw_path_param params[GW_MAX_PATH_PARAMS];
  size_t nparams = 0;

  if (r->uri_len > MAX_URI_BYTES) {
    gw_reply_error(&reply, 414, RPC_INVALID_ARGUMENT, "the URL is longer than %d bytes",
                   MAX_URI_BYTES);
    goto send;
  }
  if (r->too_big) {
    gw_reply_error(&reply, 413, RPC_RESOURCE_EXHAUSTED, "the body is larger than %d bytes",
                   MAX_BODY_BYTES);
    goto send;
  }
  switch (gw_route_match(method, url, &route, params, &nparams, allow, sizeof allow)) {
  case GW_MATCH_NOT_FOUND:
    gw_reply_error(&reply, 404, RPC_NOT_FOUND, "no route for %.200s", url);
    goto send;
  case GW_MATCH_BAD_METHOD:
    si.allow = allow;
    gw_reply_error(&reply, 405, RPC_UNIMPLEMENTED, "method %.16s not allowed; allowed: %s", method,
                   allow);
    goto send;
  case GW_MATCH_OK:
    break;
  }
  route_label = route->path;

  if (route->auth) {
    gw_ratelimit_hit("ip", client, d->ip_limit, d->ip_window_s, &ip_rate);
    rate = &ip_rate;
    if (ip_rate.exceeded) {
      gw_metrics_rate_limited("ip");
      gw_reply_error(&reply, 429, RPC_RESOURCE_EXHAUSTED,
                     "rate limit exceeded for this client; retry in %ld s", ip_rate.reset_s);
      goto send;
    }
    rpc_code code;
    switch (gw_auth_check(MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization"),
                          MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-API-Key"), &trace,
                          &who, &code)) {
    case GW_AUTH_OK:
      break;
    case GW_AUTH_MISSING:
      si.auth_challenge = 1;
      gw_reply_error(&reply, 401, RPC_UNAUTHENTICATED,
                     "credentials required: HTTP Basic or an API key");
      goto send;
    case GW_AUTH_DENIED:
      si.auth_challenge = 1;
      gw_reply_error(&reply, 401, RPC_UNAUTHENTICATED, "invalid credentials");
      goto send;
    case GW_AUTH_UPSTREAM:
      gw_reply_error(&reply, 0, code, "cannot check the API key: %s", rpc_code_name(code));
      goto send;
    }
    if (who.tier > 0) {
      gw_ratelimit_hit("key", who.name, gw_tier_limit(who.tier), 60, &key_rate);
      if (key_rate.exceeded || key_rate.remaining < ip_rate.remaining)
        rate = &key_rate;
      if (key_rate.exceeded) {
        gw_metrics_rate_limited("key");
        gw_reply_error(&reply, 429, RPC_RESOURCE_EXHAUSTED,
                       "rate limit exceeded for key %s; retry in %ld s", who.name,
                       key_rate.reset_s);
        goto send;
      }
    }
  }

  switch (route->kind) {
  case GW_ROUTE_UP:
    gw_handle_up(&trace, &reply);
    break;
  case GW_ROUTE_METRICS:
    gw_handle_metrics(&reply);
    break;
  case GW_ROUTE_OPENAPI:
    gw_handle_openapi(&reply);
    break;
  case GW_ROUTE_RPC: {
    struct query q = {.n = 0};
    MHD_get_connection_values(con, MHD_GET_ARGUMENT_KIND, query_it_, &q);
    if (q.overflow) {
      gw_reply_error(&reply, 400, RPC_INVALID_ARGUMENT, "more than %d query parameters",
                     MAX_QUERY_PARAMS);
      break;
    }
    struct gw_request_input in = {.params = params,
                                  .nparams = nparams,
                                  .query_keys = q.keys,
                                  .query_values = q.values,
                                  .nquery = q.n,
                                  .body = r->body.data,
                                  .body_len = r->body.len};
    gw_handle_rpc(route, &in, &trace, &reply);
    break;
  }
  }

send:;
  si.rate = rate;
  size_t bytes = 0;
  enum MHD_Result ret = send_(con, method, &reply, &si, &bytes);
  double secs = elapsed_s_(&r->start);
  gw_metrics_request(route_label, route ? route->method : "other", reply.status, secs, bytes);
  if (log_enabled(LOG_INFO))
    LOG_EVENT(LOG_INFO, "http_request", LF_STR("request_id", trace.request_id),
              LF_STR("method", method), LF_STR("route", route_label),
              LF_INT("status", reply.status), LF_DBL("duration_ms", secs * 1000.0),
              LF_INT("bytes", bytes), LF_STR("client", client),
              LF_STR("key", who.name[0] ? who.name : NULL),
              LF_STR("grpc_code", reply.code != RPC_OK ? rpc_code_name(reply.code) : NULL));
  strbuf_release(&body);
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
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
  if (ss.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  d->mhd = MHD_start_daemon(
      flags, 0, NULL, NULL, handle_, d, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->conn_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
      (unsigned)1000, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
      MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024), MHD_OPTION_LISTENING_ADDRESS_REUSE,
      (unsigned)1, MHD_OPTION_URI_LOG_CALLBACK, uri_log_, NULL, MHD_OPTION_NOTIFY_COMPLETED,
      completed_, NULL, MHD_OPTION_END);
  if (!d->mhd) {
    snprintf(err, errlen, "cannot listen on %s", cfg->http_addr);
    free(d);
    return NULL;
  }
  return d;
}

void gw_daemon_stop(struct gw_daemon *d) {
  if (!d)
    return;
  if (d->mhd)
    MHD_stop_daemon(d->mhd);
  free(d);
}
