/*
 * follow: the gateway's follower of the data version (API.md "Changes and
 * versions"). One thread holds ONE upstream Changes/WatchChanges stream (no
 * filters) per gateway process; it learns the version from each change and
 * heartbeat, and hands every change on to a listener (feed.h: the SSE
 * clients) in version order. The response cache keys on what it says:
 * "known version V" while the stream is open, "unknown" while it is down.
 *
 *   | start     | ListChanges(after_version=0, limit=1).current_version;  |
 *   |           | on FAILED_PRECONDITION (history pruned): the version of |
 *   |           | a ListEpisodes reply on a window with no episodes       |
 *   | stream    | WatchChanges(after_version=V); up once it is open       |
 *   | ends      | UNAVAILABLE (server drain), RESOURCE_EXHAUSTED, lost    |
 *   |           | connection, no message for 3 heartbeats: down, then a   |
 *   |           | new stream from the last version received, backoff      |
 *   |           | 100 ms doubling to 5 s (reset by a message)             |
 *   | expired   | FAILED_PRECONDITION on resume: start again (a new base) |
 *
 * Thread safety: gw_follow_version and gw_follow_render are thread-safe
 * (atomics); start/stop from one thread (the daemon). The listener's
 * callbacks run on the follower's thread.
 * Tests: tests/integration/test_gateway_changes.sh.
 */
#ifndef TVMAZE_GATEWAY_FOLLOW_H
#define TVMAZE_GATEWAY_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include "tvmaze/v1/changes.pb-c.h"

struct gw_upstream;
struct strbuf;
struct gw_follow;

/* What the follower tells (every callback on its thread, in order). */
struct gw_follow_listener {
  /* A new base: the follower (re)starts at version after which it will
   * report every change; changes at or below it that were never reported
   * may exist (a first start, or a restart after FAILED_PRECONDITION). A
   * plain resume reports its own last version. */
  void (*on_base)(void *user, int64_t version);
  /* One change (c->version above every earlier one); c lives for the call. */
  void (*on_change)(void *user, const Tvmaze__V1__Change *c);
  void *user;
};

/* Starts the thread (it connects at once and keeps trying). up and
 * listener->user must outlive the follower; listener is copied (NULL:
 * none). NULL with err set when the thread cannot start. */
struct gw_follow *gw_follow_start(struct gw_upstream *up, const struct gw_follow_listener *listener,
                                  char *err, size_t errlen);
/* Cancels the stream, joins the thread, frees (NULL: no-op). Prompt: a
 * call in progress is cut short. */
void gw_follow_stop(struct gw_follow *f);

/* 1 and *version = the version known while the stream is up; 0 while it
 * is down or not yet open (*version = the last one known, -1 if none).
 * Lock-free. */
int gw_follow_version(const struct gw_follow *f, int64_t *version);

/* Appends the gauges tvmaze_gateway_follower_up, tvmaze_gateway_follower_version
 * and the counter tvmaze_gateway_follower_reconnects_total to out. */
void gw_follow_render(const struct gw_follow *f, struct strbuf *out);

#endif
