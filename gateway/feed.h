/*
 * feed: the subscribers of GET /api/v1/changes/stream (SSE or NDJSON) and
 * how they share the follower's single upstream WatchChanges stream
 * (follow.h). One feed per gateway, owned by the daemon; the follower's
 * listener callbacks are gw_feed_on_base / gw_feed_on_change.
 *
 *   | catch-up  | a subscriber pages ListChanges (PAGE changes, unary, on |
 *   |           | an upstream worker) from its after_version until a page |
 *   |           | ends below the limit at or past the follower's position |
 *   | live      | then it gets the follower's changes that match its      |
 *   |           | filters, each once, in order (version > its position)   |
 *   | queue     | at most 64 events per subscriber (references to shared |
 *   |           | bytes); a live change waits for room in the queues that |
 *   |           | take it (bursts are paced by the readers); a queue still |
 *   |           | full after 1 s is cut off: the stream ends after the     |
 *   |           | events already queued (resume: Last-Event-ID)            |
 *   | heartbeat | an idle live subscriber gets one every heartbeat_ms      |
 *   | waiting   | the connection is suspended (MHD) while its queue is     |
 *   |           | empty: no thread is held; an event resumes it            |
 *   | stop      | every stream ends at once (the drain does not wait)     |
 *
 * Thread safety: one mutex guards every subscriber; every function is
 * thread-safe but create/destroy. gw_feed_open blocks (one gRPC call): an
 * upstream worker's job.
 */
#ifndef TVMAZE_GATEWAY_FEED_H
#define TVMAZE_GATEWAY_FEED_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "tvmaze/v1/changes.pb-c.h"

struct gw_upstream;
struct gw_workers;
struct gw_reply;
struct gw_trace;
struct strbuf;
struct gw_feed;
/* One stream's subscriber. */
struct gw_sub;

/* A feed whose catch-up pages run on w through up (both borrowed, must
 * outlive it), with a heartbeat every heartbeat_ms (> 0) to idle
 * subscribers and at most max_streams (> 0) subscribers open or opening
 * at once (beyond: gw_feed_open answers 503 + Retry-After naming
 * TVMAZE_STREAM_LIMIT). NULL with err set when its timer thread cannot
 * start. */
struct gw_feed *gw_feed_create(struct gw_upstream *up, struct gw_workers *w, long heartbeat_ms,
                               long max_streams, char *err, size_t errlen);
/* Ends every stream after what it has queued and refuses new ones;
 * resumes every waiting connection (so MHD may stop). Idempotent. */
void gw_feed_stop(struct gw_feed *f);
/* Stops f and frees it (NULL: no-op); MHD must be stopped. */
void gw_feed_destroy(struct gw_feed *f);

/* The follower's listener (user: the feed). */
void gw_feed_on_base(void *feed, int64_t version);
void gw_feed_on_change(void *feed, const Tvmaze__V1__Change *c);

/* Opens a subscriber for req (after_version, show_ids, entity; copied),
 * with the first ListChanges page (blocking; trace's deadline). after_field
 * names where after_version came from in errors ("after_version" or
 * "Last-Event-ID"). NULL with reply set to the error (400 naming the
 * field, 400 code 9 when expired, 503 while stopping or at max_streams).
 * The subscriber is
 * the caller's until gw_feed_response takes it, or gw_feed_sub_release. */
struct gw_sub *gw_feed_open(struct gw_feed *f, const Tvmaze__V1__WatchChangesRequest *req,
                            int ndjson, const char *after_field, const struct gw_trace *trace,
                            struct gw_reply *reply);
/* The streaming MHD response of s on con (chunked, content from s's
 * queue); takes s over (freed when MHD frees the response). NULL on
 * failure (s released). MHD thread of con. */
struct MHD_Response *gw_feed_response(struct gw_sub *s, struct MHD_Connection *con);
/* Frees a subscriber no response took (NULL: no-op). */
void gw_feed_sub_release(struct gw_sub *s);

/* Appends tvmaze_gateway_sse_streams and _streams_limit (gauges),
 * tvmaze_gateway_sse_cut_total, _events_total and _refused_total
 * (counters). */
void gw_feed_render(struct gw_feed *f, struct strbuf *out);

#endif
