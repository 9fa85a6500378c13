/*
 * feed_event: one message of the change feed as the bytes a client gets,
 * in both of the stream route's formats, built once and shared by every
 * subscriber it goes to (a live change is encoded once per gateway, not
 * once per client):
 *
 *   | format | change                                 | heartbeat                          |
 *   |--------|----------------------------------------|------------------------------------|
 *   | SSE    | event: change\nid: V\ndata: <Change>\n\n | event: heartbeat\ndata: <Heartbeat>\n\n |
 *   | NDJSON | {"result":<WatchChangesResponse>}\n    | the same, with a heartbeat          |
 *
 * JSON is pbjson's proto3 mapping (one line: strings escape newlines).
 * Events are immutable and refcounted (atomic): thread-safe.
 */
#ifndef TVMAZE_GATEWAY_FEED_EVENT_H
#define TVMAZE_GATEWAY_FEED_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "tvmaze/v1/changes.pb-c.h"

struct gw_feed_ev;

/* The event of change c (copied out; c may go). One reference. */
struct gw_feed_ev *gw_feed_ev_change(const Tvmaze__V1__Change *c);
/* A heartbeat carrying current_version. One reference. */
struct gw_feed_ev *gw_feed_ev_heartbeat(int64_t current_version);
/* The bytes in one format (ndjson 0: SSE); valid while a reference is held. */
const char *gw_feed_ev_text(const struct gw_feed_ev *e, int ndjson, size_t *len);
/* Bytes the event holds (both formats), for accounting. */
size_t gw_feed_ev_size(const struct gw_feed_ev *e);
struct gw_feed_ev *gw_feed_ev_ref(struct gw_feed_ev *e);
/* Drops a reference (NULL: no-op). */
void gw_feed_ev_unref(struct gw_feed_ev *e);

#endif
