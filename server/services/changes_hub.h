/*
 * changes_hub: the one thread per server process that feeds every
 * Changes/WatchChanges stream (ARCHITECTURE.md "Changes and versions").
 *
 * The hub owns one database connection. It LISTENs for the data version
 * (store_generation: the NOTIFY of changes_commit, and a re-read of the row
 * every second, so a lost notification delays a change but never drops
 * it), reads the change log after the last version it sent (one read for
 * every live stream: each record is packed once, rpc_bytes, and queued on
 * every stream whose filter takes it), and catches new streams up from
 * their after_version with reads of their own filter, as much as their
 * queue has room for. A stream holds no worker thread and no database
 * connection while it waits: it is a subscription in the hub's list. The
 * live read takes up to 1,000 records at a time into the live buffer
 * (packed once, shared by every stream), and each live stream is fed from
 * it as its queue has room (its ROOM event brings the hub back), so a
 * day's transaction of a few hundred changes costs one read whatever the
 * number of streams. The next live read waits until every live stream has
 * taken the whole buffer, so a burst (a day of thousands of changes)
 * reaches every reader that keeps up; a stream whose queue stays full with
 * records left for 2 s is cut off with RESOURCE_EXHAUSTED (the client
 * resumes from the last version it got) and holds the others back no
 * longer. A heartbeat {current_version} goes to a stream that was sent
 * nothing for heartbeat_ms.
 *
 * Ordering: a subscription's cursor is the last version it has been given
 * or passed over; records at or below it are never sent to it again, so a
 * catch-up read that overtakes the live read is not repeated by it. A
 * stream is live while its cursor is at or above the start of the live
 * buffer (which holds every record from there to the last version read);
 * below it, it catches up with its own reads.
 *
 * While the database is down the streams stay open and get heartbeats
 * with the last version known; the hub reconnects and reads on from there.
 * When the server drains, the binding ends the streams with UNAVAILABLE;
 * the hub drops them as their CLOSED event arrives. Stop the hub after
 * the rpc server is destroyed.
 *
 * Thread safety: changes_hub_watch from any worker thread; create/destroy
 * from the owner. Tests: tests/integration/test_changes_watch.sh.
 */
#ifndef TVMAZE_SERVICES_CHANGES_HUB_H
#define TVMAZE_SERVICES_CHANGES_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "rpc.h"

struct changes_hub;

struct changes_hub_config {
  const char *database_url;
  int heartbeat_ms;   /* <= 0: 15000 */
  size_t max_queued;  /* per stream; 0: 256 messages */
  size_t catchup_max; /* records per catch-up read; 0: 256 */
};

/* Starts the hub's thread (it connects on its own: a database that is down
 * now is retried). Never NULL. */
struct changes_hub *changes_hub_create(const struct changes_hub_config *cfg);

/* Stops the thread, ends the streams it still holds with UNAVAILABLE and
 * frees the hub. Accepts NULL. */
void changes_hub_destroy(struct changes_hub *hub);

/* A validated WatchChanges request (changes_service.c checks the ranges). */
struct changes_watch {
  int64_t after_version;
  const int32_t *show_ids; /* copied */
  size_t n_show_ids;
  int entity; /* tvmaze.v1.ChangeEntity; 0: both */
};

/* Inside a stream's open (worker thread): accepts call's stream and hands
 * it to the hub, which sends the records after w->after_version, then every
 * new one. Returns 0, or -1 when the stream could not be accepted (the
 * binding has ended it: the server is draining). */
int changes_hub_watch(struct changes_hub *hub, rpc_call *call, const struct changes_watch *w);

/* Open subscriptions now (the metrics' in-flight streams). Any thread. */
size_t changes_hub_streams(const struct changes_hub *hub);

#endif
