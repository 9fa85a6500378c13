/*
 * ingest_full: a run's schedule from TVMaze's /schedule/full (every future
 * episode, every country and web channel, one document of tens of MB), in
 * memory that does not grow with the document:
 *
 *   download   one GET {api}/schedule/full with ingest_http's manners (rate
 *              limit, retries; a cut transfer starts again from scratch),
 *              its whole-transfer timeout full_timeout_ms and a low-speed
 *              limit instead of the daily schedules' 30 s
 *   split      json_stream splits the items from the decoded bytes as they
 *              arrive; ingest_spill files those of the run's window per day
 *              in a temporary file (the rest are dropped)
 *   days       when the document is complete, each day of the window in date
 *              order becomes one struct ingest_fetched_day with one document,
 *              source "full", label "full schedule": that day's items as a
 *              JSON array (ingest_spill.h), for the same callback, parse,
 *              body hash and day write as the daily schedules (ingest_run.h)
 *
 * A document that fails (HTTP, transfer, a byte stream that is no array,
 * truncated, an item too large, the temporary file) fails every day of the
 * window with the reason: items of one day may sit anywhere in it, so no
 * day is known completely before the end. The requests and retries of the
 * download are counted on the window's first day. Not thread-safe.
 * Tests: tests/integration/test_ingest_full.c (the splitter:
 * tests/unit/test_json_stream.c, fuzz/fuzz_stream.c).
 */
#ifndef TVMAZE_INGEST_FULL_H
#define TVMAZE_INGEST_FULL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest_fetch.h"
#include "store_ingest.h"

/* What a full download saw (for logs and progress). */
struct ingest_full_stats {
  long long bytes;   /* decoded body bytes of the last attempt */
  long long items;   /* items split from it */
  long long kept;    /* of which in the window */
  long long outside; /* of which on other days */
  long long undated; /* of which without a readable airdate */
  int not_modified;  /* the answer was 304 Not Modified */
};

/* Download progress of the current attempt: body bytes so far as sent
 * (compressed when gzip'd, comparable to the Content-Length),
 * the Content-Length (0: unknown), items split so far. Called on the
 * calling thread of ingest_full_days, from inside the transfer, at most
 * every INGEST_FULL_PROGRESS_MS or INGEST_FULL_PROGRESS_BYTES of body, and
 * once when a 200 transfer ended (its final counts). */
typedef void (*ingest_full_progress_fn)(long long bytes, long long bytes_total, long long items,
                                        void *user);

#define INGEST_FULL_PROGRESS_MS 500
#define INGEST_FULL_PROGRESS_BYTES ((long long)8 << 20)

/* {api_url}/schedule/full (malloc'd). */
char *ingest_full_url(const struct ingest_fetch_config *cfg);

/* As ingest_fetch_days, for the days [start_day, start_day + days) of
 * cfg->api_url's /schedule/full; *stats (may be NULL) gets the counts.
 * send (may be NULL): the validators of the document the stored days came
 * from; *got (may be NULL) gets those of the document received (both ""
 * unless a whole 200 document arrived). progress (may be NULL) with
 * progress_user: the download's progress. */
enum ingest_fetch_status ingest_full_days(const struct ingest_fetch_config *cfg, int32_t start_day,
                                          int days, const atomic_int *stop, ingest_fetch_day_fn fn,
                                          void *user, const struct store_ingest_validators *send,
                                          struct store_ingest_validators *got,
                                          struct ingest_full_stats *stats,
                                          ingest_full_progress_fn progress, void *progress_user,
                                          char *err, size_t errlen);

#endif
