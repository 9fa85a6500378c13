/*
 * ingest_http: see ingest_http.h.
 */
#include "ingest_http.h"

#include <stdio.h>
#include <stdlib.h>

#include "xalloc.h"

#define DEFAULT_UA \
  "tvmaze-ingest/" TVMAZE_VERSION " (+https://github.com/tvmaze-ingest/tvmaze-ingest)"

static int def_(int v, int d) {
  return v > 0 ? v : d;
}

void ingest_http_setup(CURL *e, const struct ingest_fetch_config *c, const char *url) {
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent ? c->user_agent : DEFAULT_UA);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)def_(c->connect_timeout_ms, 10000));
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
}

void ingest_http_rate_init(struct ingest_http_rate *r, const struct ingest_fetch_config *c) {
  r->limit = c->rate_requests > 0 ? c->rate_requests : 0;
  r->window_ms = c->rate_window_ms;
  r->n = r->head = 0;
  r->window = xcalloc((size_t)(r->limit > 0 ? r->limit : 1), sizeof *r->window);
}

void ingest_http_rate_release(struct ingest_http_rate *r) {
  free(r->window);
  r->window = NULL;
}

int64_t ingest_http_rate_wait(const struct ingest_http_rate *r, int64_t now) {
  if (r->limit <= 0 || r->n < r->limit) {
    return 0;
  }
  int64_t free_at = r->window[r->head] + r->window_ms;
  return free_at > now ? free_at - now : 0;
}

void ingest_http_rate_note(struct ingest_http_rate *r, int64_t now) {
  if (r->limit <= 0) {
    return;
  }
  if (r->n < r->limit) {
    r->window[(r->head + r->n) % r->limit] = now;
    r->n++;
  } else {
    r->window[r->head] = now;
    r->head = (r->head + 1) % r->limit;
  }
}

/* Backoff before attempt attempts + 1, in ms. */
static int64_t backoff_(const struct ingest_fetch_config *c, int attempts, unsigned int *seed) {
  int64_t base = def_(c->backoff_base_ms, 500);
  int64_t max = def_(c->backoff_max_ms, 30000);
  int64_t d = base;
  for (int i = 1; i < attempts && d < max; i++) {
    d *= 2;
  }
  if (d > max) {
    d = max;
  }
  return d + (int64_t)(rand_r(seed) % (unsigned)(d / 2 + 1));
}

int ingest_http_retry(const struct ingest_fetch_config *c, CURLcode cc, long http,
                      curl_off_t retry_after, int attempts, const char *url, unsigned int *seed,
                      int64_t *wait_ms, char *why, size_t whylen) {
  int max_retries = c->max_retries < 0 ? 5 : c->max_retries;
  int retry;
  char what[256];
  if (cc == CURLE_OK) {
    snprintf(what, sizeof what, "HTTP %ld from %s", http, url);
    retry = http == 429 || http >= 500;
  } else {
    snprintf(what, sizeof what, "%s: %s", curl_easy_strerror(cc), url);
    retry = cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_COULDNT_CONNECT ||
            cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR || cc == CURLE_GOT_NOTHING ||
            cc == CURLE_PARTIAL_FILE || cc == CURLE_COULDNT_RESOLVE_HOST ||
            cc == CURLE_SSL_CONNECT_ERROR;
  }
  if (retry && attempts <= max_retries) {
    *wait_ms = backoff_(c, attempts, seed);
    if (http == 429 && retry_after > 0) {
      int64_t cap = def_(c->retry_after_max_s, 120);
      *wait_ms = (int64_t)(retry_after < cap ? retry_after : cap) * 1000;
    }
    return 1;
  }
  if (retry) {
    snprintf(why, whylen, "%s (gave up after %d attempts)", what, attempts);
  } else {
    snprintf(why, whylen, "%s", what);
  }
  return 0;
}

int ingest_http_unreachable(CURLcode cc) {
  switch (cc) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_USE_SSL_FAILED:
    return 1;
  default:
    return 0;
  }
}
