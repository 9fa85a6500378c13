/*
 * reply: what a handler produces (status, body, the headers it decides)
 * and the error replies: grpc-gateway's HTTP status for a gRPC code and
 * its JSON error body {"code":c,"message":"...","details":[...]} with the
 * google.rpc details in proto3 JSON ({"@type": ..., ...}). Pure, no
 * state; a reply has one owner (the request) at a time.
 */
#ifndef TVMAZE_GATEWAY_REPLY_H
#define TVMAZE_GATEWAY_REPLY_H

#include <stddef.h>

#include "rpc.h"

struct strbuf;
struct gw_cached_body;
struct gw_sub;

struct gw_reply {
  unsigned status;
  struct strbuf *body;
  const char *content_type; /* default application/json */
  char location[256];       /* Location header, "" for none */
  rpc_code code;            /* for logs/metrics on errors */
  int cacheable;            /* GET success: ETag + Cache-Control */
  char etag[24];            /* precomputed quoted ETag of body, "" to compute it when sending */
  int gzip;                 /* body (or cached) is already the gzip form (gzip.h) */
  struct gw_cached_body *cached; /* response-cache hit: sent instead of body (reference owned) */
  char allow[64];                /* 405: the Allow header, "" for none */
  int auth_challenge;            /* 401: WWW-Authenticate */
  int retry_after;               /* 503 when overloaded: Retry-After seconds, 0 for none */
  int close;                     /* bad framing: Connection: close (the stream is not trusted) */
  struct gw_sub *stream;         /* change stream (feed.h): sent from it instead of body (owned) */
  char content_type_buf[80];     /* a raw (HttpBody-style) reply's type: content_type points here */
};

/* Fills reply with an error (status from code unless http_status != 0):
 * the body is replaced, location and ETag cleared, not cacheable. Its
 * details are those the status implies (rpc_details_from_status: a
 * BadRequest for INVALID_ARGUMENT naming fields; RetryInfo of
 * reply->retry_after seconds when set). */
void gw_reply_error(struct gw_reply *reply, unsigned http_status, rpc_code code, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

/* gw_reply_error for an upstream call's failure: its code, message and the
 * details decoded from its trailer. */
void gw_reply_rpc_error(struct gw_reply *reply, rpc_code code, const char *message,
                        const struct rpc_details *details);

/* grpc-gateway's HTTP status for a gRPC code. */
unsigned gw_http_status(rpc_code code);

/* Appends {"code":c,"message":"...","details":[...]} to out (details may
 * be NULL: []). */
void gw_error_body(struct strbuf *out, rpc_code code, const char *message,
                   const struct rpc_details *details);

/* The quoted strong ETag of data[0..len) (FNV-1a 64, 18 characters). */
void gw_etag_of(const char *data, size_t len, char out[24]);

#endif
