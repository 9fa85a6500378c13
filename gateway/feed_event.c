/*
 * feed_event: SSE and NDJSON encodings of a feed message, one allocation.
 * See feed_event.h. Tests: tests/integration/test_gateway_changes.sh.
 */
#include "feed_event.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson.h"
#include "strbuf.h"
#include "xalloc.h"

struct gw_feed_ev {
  atomic_uint refs;
  size_t sse_len; /* data[0 .. sse_len) */
  size_t nd_len;  /* data[sse_len .. sse_len + nd_len) */
  char data[];
};

/* One event from the message's JSON: sse_head + json + "\n\n" and
 * {"result":<wrapped>}\n. */
static struct gw_feed_ev *build_(const char *sse_head, const ProtobufCMessage *sse_msg,
                                 const Tvmaze__V1__WatchChangesResponse *wrapped) {
  struct strbuf sse, nd;
  strbuf_init(&sse);
  strbuf_init(&nd);
  strbuf_append(&sse, sse_head);
  pbjson_write(&sse, sse_msg);
  strbuf_append(&sse, "\n\n");
  strbuf_append(&nd, "{\"result\":");
  pbjson_write(&nd, &wrapped->base);
  strbuf_append(&nd, "}\n");
  struct gw_feed_ev *e = xmalloc(offsetof(struct gw_feed_ev, data) + sse.len + nd.len);
  atomic_init(&e->refs, 1);
  e->sse_len = sse.len;
  e->nd_len = nd.len;
  memcpy(e->data, sse.data, sse.len);
  memcpy(e->data + sse.len, nd.data, nd.len);
  strbuf_release(&sse);
  strbuf_release(&nd);
  return e;
}

struct gw_feed_ev *gw_feed_ev_change(const Tvmaze__V1__Change *c) {
  Tvmaze__V1__WatchChangesResponse w = TVMAZE__V1__WATCH_CHANGES_RESPONSE__INIT;
  w.message_case = TVMAZE__V1__WATCH_CHANGES_RESPONSE__MESSAGE_CHANGE;
  w.change = (Tvmaze__V1__Change *)c;
  char head[64];
  snprintf(head, sizeof head, "event: change\nid: %" PRId64 "\ndata: ", c->version);
  return build_(head, &c->base, &w);
}

struct gw_feed_ev *gw_feed_ev_heartbeat(int64_t current_version) {
  Tvmaze__V1__Heartbeat hb = TVMAZE__V1__HEARTBEAT__INIT;
  hb.current_version = current_version;
  Tvmaze__V1__WatchChangesResponse w = TVMAZE__V1__WATCH_CHANGES_RESPONSE__INIT;
  w.message_case = TVMAZE__V1__WATCH_CHANGES_RESPONSE__MESSAGE_HEARTBEAT;
  w.heartbeat = &hb;
  return build_("event: heartbeat\ndata: ", &hb.base, &w);
}

const char *gw_feed_ev_text(const struct gw_feed_ev *e, int ndjson, size_t *len) {
  *len = ndjson ? e->nd_len : e->sse_len;
  return ndjson ? e->data + e->sse_len : e->data;
}

size_t gw_feed_ev_size(const struct gw_feed_ev *e) {
  return e->sse_len + e->nd_len;
}

struct gw_feed_ev *gw_feed_ev_ref(struct gw_feed_ev *e) {
  atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
  return e;
}

void gw_feed_ev_unref(struct gw_feed_ev *e) {
  if (e && atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1)
    free(e);
}
