/*
 * response: one reply onto an MHD connection with its headers. See
 * response.h. Tests: tests/integration/test_gateway_http.sh (headers,
 * ETag/304), test_gateway_limits.sh (RateLimit-*, Retry-After).
 */
#include "response.h"

#include <stdio.h>
#include <string.h>

#include "feed.h"
#include "gzip.h"
#include "respcache.h"
#include "strbuf.h"

static void add_(struct MHD_Response *resp, const char *k, const char *v) {
  MHD_add_response_header(resp, k, v);
}

static void release_cached_(void *cls) {
  gw_cached_body_release(cls);
}

enum MHD_Result gw_response_send(struct MHD_Connection *con, const char *method,
                                 const char *request_id, const struct ratelimit_rate *rate,
                                 struct gw_reply *reply, size_t *bytes_out) {
  unsigned status = reply->status;
  char etag[24] = "";
  /* gzip here unless the cache path already chose the form: a body over
   * GW_GZIP_MIN_BYTES to a client that accepts it; never a stream */
  int gz_now =
      reply->stream == NULL && !reply->gzip && !reply->cached &&
      reply->body->len > GW_GZIP_MIN_BYTES &&
      gw_gzip_accepted(MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Accept-Encoding"));
  if (reply->cacheable && status == 200) {
    if (reply->etag[0])
      memcpy(etag, reply->etag, sizeof etag);
    else
      gw_etag_of(reply->body->data, reply->body->len, etag);
    if (gz_now)
      gw_gzip_etag(reply->etag[0] ? reply->etag : etag, etag);
    const char *inm = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "If-None-Match");
    if (inm && (strstr(inm, etag) || strcmp(inm, "*") == 0))
      status = 304;
  }
  struct MHD_Response *resp;
  size_t len = 0;
  int streaming = reply->stream != NULL;
  if (reply->stream) {
    /* a change stream: MHD pulls its events (feed.h), which own it now */
    resp = gw_feed_response(reply->stream, con);
    reply->stream = NULL;
  } else if (status == 304) {
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
    char *data = NULL;
    if (gz_now && (data = gw_gzip_encode(reply->body->data, reply->body->len, &len)) != NULL) {
      strbuf_reset(reply->body);
      reply->gzip = 1;
    } else {
      data = strbuf_detach(reply->body, &len);
    }
    resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
  }
  *bytes_out = status == 304 || strcmp(method, "HEAD") == 0 ? 0 : len;
  if (!resp)
    return MHD_NO;
  if (status != 304)
    add_(resp, "Content-Type",
         reply->content_type ? reply->content_type : "application/json; charset=utf-8");
  if (reply->gzip && status != 304)
    add_(resp, "Content-Encoding", "gzip");
  add_(resp, "Strict-Transport-Security", "max-age=63072000; includeSubDomains");
  add_(resp, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  add_(resp, "X-Content-Type-Options", "nosniff");
  add_(resp, "X-Frame-Options", "DENY");
  add_(resp, "Referrer-Policy", "no-referrer");
  add_(resp, "X-Request-Id", request_id);
  if (etag[0]) {
    add_(resp, "ETag", etag);
    add_(resp, "Cache-Control", "private, max-age=300");
    add_(resp, "Vary", "Authorization, X-API-Key, Accept-Encoding");
  } else if (streaming) {
    add_(resp, "Cache-Control", "no-cache"); /* EventSource's expectation; never gzip */
    add_(resp, "X-Accel-Buffering", "no");   /* nginx and friends: pass events on at once */
  } else {
    add_(resp, "Cache-Control", "no-store");
    add_(resp, "Vary", "Accept-Encoding");
  }
  if (reply->allow[0])
    add_(resp, "Allow", reply->allow);
  if (reply->auth_challenge)
    add_(resp, "WWW-Authenticate", "Basic realm=\"tvmaze\", Bearer realm=\"tvmaze\"");
  if (reply->location[0])
    add_(resp, "Location", reply->location);
  if (reply->close)
    add_(resp, "Connection", "close"); /* MHD closes after this reply */
  char v[32];
  if (rate) {
    snprintf(v, sizeof v, "%ld", rate->limit);
    add_(resp, "RateLimit-Limit", v);
    snprintf(v, sizeof v, "%ld", rate->remaining);
    add_(resp, "RateLimit-Remaining", v);
    snprintf(v, sizeof v, "%ld", rate->reset_s);
    add_(resp, "RateLimit-Reset", v);
    if (rate->exceeded)
      add_(resp, "Retry-After", v);
  }
  if (reply->retry_after && !(rate && rate->exceeded)) {
    snprintf(v, sizeof v, "%d", reply->retry_after);
    add_(resp, "Retry-After", v);
  }
  enum MHD_Result ret = MHD_queue_response(con, status, resp);
  MHD_destroy_response(resp);
  reply->status = status;
  return ret;
}
