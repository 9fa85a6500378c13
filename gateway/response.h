/*
 * response: sending a reply on a libmicrohttpd connection with every
 * header: ETag and 304 for cacheable GETs, Cache-Control, the security
 * headers, X-Request-Id, Allow, WWW-Authenticate, Location, RateLimit-*
 * and Retry-After. A response-cache hit is handed to MHD without a copy
 * (the body's reference is dropped when MHD frees the response). As
 * libmicrohttpd's own response.c is to its connection.c. No state; call
 * on the connection's MHD thread.
 */
#ifndef TVMAZE_GATEWAY_RESPONSE_H
#define TVMAZE_GATEWAY_RESPONSE_H

#include <stddef.h>

#include <microhttpd.h>

#include "ratelimit.h"
#include "reply.h"

/* Queues reply on con: 304 instead when it is a cacheable 200 whose ETag
 * matches If-None-Match; reply->status is set to what was sent and the
 * body handed to MHD (reply->body emptied, reply->cached taken). rate: the
 * RateLimit-* values shown, or NULL. *bytes_out: body bytes sent (0 for
 * HEAD and 304). MHD's result of queueing. */
enum MHD_Result gw_response_send(struct MHD_Connection *con, const char *method,
                                 const char *request_id, const struct ratelimit_rate *rate,
                                 struct gw_reply *reply, size_t *bytes_out);

#endif
