/*
 * changes_retention: the server's own pruning of the change log
 * (TVMAZE_CHANGES_RETENTION_DAYS): a ticker thread (common/ticker.h) with
 * its own database session calls store_changes_prune at start and then
 * once a day. Several replicas may each run one: changes_prune takes a
 * transaction-level advisory lock (the others skip that round) and its
 * DELETE is idempotent.
 */
#ifndef TVMAZE_INGEST_CHANGES_RETENTION_H
#define TVMAZE_INGEST_CHANGES_RETENTION_H

#include <stddef.h>

#define CHANGES_RETENTION_INTERVAL_MS (24L * 3600 * 1000)

struct changes_retention;

/* Starts pruning records older than keep_days days on a session of
 * database_url (copied). NULL with a message in err if the thread cannot
 * start. */
struct changes_retention *changes_retention_start(const char *database_url, int keep_days,
                                                  char *err, size_t errlen);

/* Stops the thread (waits for a prune in progress), closes the session and
 * frees. Accepts NULL. */
void changes_retention_stop(struct changes_retention *r);

#endif
