/*
 * ingest_fetch: downloads the schedule documents of a range of days from
 * TVMaze with libcurl's multi interface, politely:
 *
 *   per day        GET {api}/schedule/web?date=D  and, per configured country
 *                  C, GET {api}/schedule?country=C&date=D
 *   concurrency    up to days_in_flight days in progress, at most 8 connections
 *                  at once (more requests queue in curl), one multi
 *                  handle (shared connection cache, keep-alive, any
 *                  Content-Encoding curl supports)
 *   rate limit     sliding window: at most rate_requests request starts
 *                  (retries included) in any rate_window_ms
 *   retries        429 (waits Retry-After when given, capped), 5xx, timeouts,
 *                  refused/reset connections: exponential backoff from
 *                  backoff_base_ms with up to 50% jitter, capped at
 *                  backoff_max_ms, at most max_retries per request; any
 *                  other status fails the day
 *   unreachable    while no request of the call has had any answer from
 *                  TVMaze, a request that fails for good on an
 *                  unreachable-host error (ingest_http_unreachable: DNS,
 *                  refused, TLS), or such errors lasting UNREACHABLE_MS
 *                  (45 s) since the first, stop the whole fetch with
 *                  INGEST_FETCH_UNREACHABLE and "TVMaze unreachable:
 *                  <libcurl's message> (<url>)" in err; once anything
 *                  answered, the same errors only fail their day
 *
 * A day is handed to the callback (on the calling thread) as soon as all its
 * documents arrived or one of them failed for good; days are not ordered.
 * Not thread-safe; one call at a time per config.
 */
#ifndef TVMAZE_INGEST_FETCH_H
#define TVMAZE_INGEST_FETCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Where a run's schedule comes from (TVMAZE_SCHEDULE_SOURCE, API.md). */
enum ingest_source {
  INGEST_SOURCE_DAILY = 0, /* per day: the web schedule and each country's (this file) */
  INGEST_SOURCE_FULL       /* /schedule/full once per run (ingest_full.h) */
};

struct ingest_fetch_config {
  enum ingest_source source;
  const char *api_url;        /* "https://api.tvmaze.com", no trailing '/' needed */
  const char (*countries)[3]; /* network schedules to fetch */
  int n_countries;
  const char *user_agent; /* NULL: "tvmaze-ingest/<version> (+url)" */
  int rate_requests;      /* <= 0: no client-side limit */
  int rate_window_ms;
  int max_retries;        /* per request; < 0: 5 */
  int backoff_base_ms;    /* <= 0: 500 */
  int backoff_max_ms;     /* <= 0: 30000 */
  int retry_after_max_s;  /* <= 0: 120 */
  int timeout_ms;         /* whole request; <= 0: 30000 */
  int connect_timeout_ms; /* <= 0: 10000 */
  int days_in_flight;     /* <= 0: 4 */
  /* full mode (ingest_full.h) */
  int full_timeout_ms;    /* the whole /schedule/full transfer; <= 0: 1800000 */
  int full_low_speed_bps; /* slower than this for 30 s fails the transfer; <= 0: 1024 */
  size_t full_max_item;   /* bytes of one item; 0: JSON_STREAM_MAX_ITEM */
};

/* One finished day. docs[i] (NUL-terminated, doc_len[i] bytes) are the web
 * schedule then each country's, valid only during the callback, and each
 * carries its names: sources[i] is "web" or the country code (the key of
 * its stored body hash, at most 7 bytes), labels[i] "web" or "network US"
 * (for messages). */
struct ingest_fetched_day {
  int32_t day;
  char date[11];
  const char *error; /* NULL when every document arrived */
  size_t n_docs;
  const char *const *docs;
  const size_t *doc_len;
  const char *const *sources;
  const char *const *labels;
  long long requests; /* HTTP requests made for this day */
  long long retries;  /* of which retries */
  int unchanged;      /* full mode: 304 Not Modified, no documents (n_docs 0):
                         the day is as stored */
};

/* Returns nonzero to stop fetching (in-flight transfers are abandoned). */
typedef int (*ingest_fetch_day_fn)(const struct ingest_fetched_day *day, void *user);

enum ingest_fetch_status {
  INGEST_FETCH_DONE = 0,   /* every day handed to the callback */
  INGEST_FETCH_STOPPED,    /* *stop became nonzero or the callback asked */
  INGEST_FETCH_ERROR,      /* libcurl could not be set up (err set) */
  INGEST_FETCH_UNREACHABLE /* TVMaze could not be reached at all (err set) */
};

/* Fetches days [start_day, start_day + days). stop may be NULL; it is read
 * at least every 100 ms. */
enum ingest_fetch_status ingest_fetch_days(const struct ingest_fetch_config *cfg, int32_t start_day,
                                           int days, const atomic_int *stop, ingest_fetch_day_fn fn,
                                           void *user, char *err, size_t errlen);

#endif
