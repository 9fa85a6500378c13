/*
 * ingest_http: the HTTP manners toward TVMaze that every fetch of the
 * ingest shares (the daily schedules, ingest_fetch.h; /schedule/full,
 * ingest_full.h):
 *
 *   request     GET, any Content-Encoding curl supports, the User-Agent,
 *               connect timeout, at most 3 redirects, http(s) only
 *   rate limit  sliding window: at most rate_requests request starts
 *               (retries included) in any rate_window_ms
 *   retries     429 (waits Retry-After when given, capped at
 *               retry_after_max_s), 5xx, timeouts, refused/reset
 *               connections, DNS failures, cut transfers: exponential
 *               backoff from backoff_base_ms (x2 per attempt, capped at
 *               backoff_max_ms) plus up to 50 % jitter, at most max_retries
 *               per request; any other status fails at once
 *
 * Not thread-safe per rate window. Tests: the runs of
 * tests/integration/test_ingest.c and test_ingest_full.c.
 */
#ifndef TVMAZE_INGEST_HTTP_H
#define TVMAZE_INGEST_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "ingest_fetch.h"

/* Sets the shared options of a GET of url on e (after curl_easy_reset). */
void ingest_http_setup(CURL *e, const struct ingest_fetch_config *c, const char *url);

/* The run's rate window. */
struct ingest_http_rate {
  int64_t *window; /* ring of request start times (ms) */
  int n, head, limit, window_ms;
};

void ingest_http_rate_init(struct ingest_http_rate *r, const struct ingest_fetch_config *c);
void ingest_http_rate_release(struct ingest_http_rate *r);
/* ms until a request may start (0: now). */
int64_t ingest_http_rate_wait(const struct ingest_http_rate *r, int64_t now);
/* A request starts now. */
void ingest_http_rate_note(struct ingest_http_rate *r, int64_t now);

/* A transfer of url ended without success (cc, and http: 0 when there was
 * no answer; a status the caller does not take): 1 when it is to be retried
 * after *wait_ms (attempts: the transfers started so far), else 0 with the
 * reason in why (naming the URL; "gave up after N attempts" when retries
 * ran out). seed: the caller's jitter state. */
int ingest_http_retry(const struct ingest_fetch_config *c, CURLcode cc, long http,
                      curl_off_t retry_after, int attempts, const char *url, unsigned int *seed,
                      int64_t *wait_ms, char *why, size_t whylen);

/* 1 when cc says the host could not be reached at all: its name did not
 * resolve (nor the proxy's), the connection was refused or could not be
 * made, or TLS failed before any answer (handshake, certificate). */
int ingest_http_unreachable(CURLcode cc);

#endif
