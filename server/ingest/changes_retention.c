/*
 * changes_retention: see changes_retention.h. The ticker's function runs on
 * its thread only, so the session needs no lock.
 */
#include "changes_retention.h"

#include <stdint.h>
#include <stdlib.h>

#include "db.h"
#include "log.h"
#include "store_changes.h"
#include "ticker.h"
#include "xalloc.h"

struct changes_retention {
  struct store *s;       /* the ticker thread's session */
  int keep_days;         /* records older than this are pruned */
  struct ticker *ticker; /* calls prune_ */
};

static void prune_(void *user) {
  struct changes_retention *r = user;
  int64_t floor = 0;
  enum store_status st = store_changes_prune(r->s, r->keep_days, &floor);
  if (st != STORE_OK) {
    LOG_EVENT(LOG_WARN, "changes_prune_failed", LF_STR("status", store_status_name(st)),
              LF_STR("error", store_last_error(r->s)));
  } else if (floor > 0) {
    LOG_EVENT(LOG_INFO, "changes_pruned", LF_INT("floor", floor),
              LF_INT("retention_days", r->keep_days));
  }
}

struct changes_retention *changes_retention_start(const char *database_url, int keep_days,
                                                  char *err, size_t errlen) {
  struct changes_retention *r = xcalloc(1, sizeof *r);
  r->s = store_open(database_url);
  r->keep_days = keep_days;
  r->ticker =
      ticker_start(CHANGES_RETENTION_INTERVAL_MS, prune_, r, "change log retention", err, errlen);
  if (r->ticker == NULL) {
    changes_retention_stop(r);
    return NULL;
  }
  return r;
}

void changes_retention_stop(struct changes_retention *r) {
  if (r == NULL) {
    return;
  }
  ticker_stop(r->ticker);
  store_close(r->s);
  free(r);
}
