/*
 * ingest_full: see ingest_full.h. One transfer at a time in a curl multi
 * handle (so the stop flag is read every 100 ms); the write callback feeds
 * the splitter, whose items go to the spill.
 */
#include "ingest_full.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "clock.h"
#include "date.h"
#include "ingest_http.h"
#include "ingest_spill.h"
#include "json_stream.h"
#include "otel_current.h"
#include "strbuf.h"
#include "xalloc.h"

#define LABEL_ "full schedule"

struct dl_ {
  const struct ingest_fetch_config *cfg;
  CURL *easy;
  struct json_stream js;
  struct ingest_spill *spill;
  int doc_failed;                             /* the body is no usable document: not retried */
  long long bytes;                            /* body bytes of this attempt */
  char err[512];                              /* why the document failed */
  const struct store_ingest_validators *send; /* NULL: an unconditional GET */
  struct store_ingest_validators got;         /* of the last response */
  ingest_full_progress_fn progress;           /* NULL: none */
  void *progress_user;
  int64_t progress_at;      /* clock_mono_ms of the last report */
  long long progress_bytes; /* dl->bytes at the last report */
};

/* Reports the attempt's progress to dl->progress when forced or when
 * INGEST_FULL_PROGRESS_MS / _BYTES passed since the last report. */
static void progress_(struct dl_ *dl, int force) {
  if (dl->progress == NULL) {
    return;
  }
  int64_t now = clock_mono_ms();
  if (!force && now - dl->progress_at < INGEST_FULL_PROGRESS_MS &&
      dl->bytes - dl->progress_bytes < INGEST_FULL_PROGRESS_BYTES) {
    return;
  }
  /* body bytes as sent (gzip'd or not), so that they compare with the
   * Content-Length */
  curl_off_t got = 0, total = -1;
  curl_easy_getinfo(dl->easy, CURLINFO_SIZE_DOWNLOAD_T, &got);
  curl_easy_getinfo(dl->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &total);
  dl->progress_at = now;
  dl->progress_bytes = dl->bytes;
  dl->progress((long long)got, total > 0 ? (long long)total : 0, (long long)dl->js.items,
               dl->progress_user);
}

static int def_(int v, int d) {
  return v > 0 ? v : d;
}

static int item_cb_(const char *p, size_t n, void *user) {
  struct dl_ *dl = user;
  return ingest_spill_add(dl->spill, p, n, dl->err, sizeof dl->err);
}

static size_t write_cb_(char *p, size_t size, size_t n, void *user) {
  struct dl_ *dl = user;
  size_t len = size * n;
  long http = 0;
  curl_easy_getinfo(dl->easy, CURLINFO_RESPONSE_CODE, &http);
  if (http != 200) {
    return len; /* an error page: the status decides */
  }
  if (dl->bytes == 0) {
    /* an error page served as 200 (a proxy's, a maintenance page) */
    const char *ctype = NULL;
    curl_easy_getinfo(dl->easy, CURLINFO_CONTENT_TYPE, &ctype);
    if (ctype != NULL && strncasecmp(ctype, "text/html", 9) == 0) {
      snprintf(dl->err, sizeof dl->err, "an HTML page (Content-Type %.60s), not the JSON schedule",
               ctype);
      dl->doc_failed = 1;
      return 0;
    }
  }
  dl->bytes += (long long)len;
  if (json_stream_feed(&dl->js, p, len) != 0) {
    if (dl->js.err[0] != '\0') {
      snprintf(dl->err, sizeof dl->err, "%s", dl->js.err);
    }
    dl->doc_failed = 1;
    return 0; /* ends the transfer */
  }
  progress_(dl, 0);
  return len;
}

/* Copies header line p (n bytes) into out (size m) when it is name:
 * trimmed, or "" when too long. */
static void header_value_(const char *p, size_t n, const char *name, char *out, size_t m) {
  size_t k = strlen(name);
  if (n <= k || strncasecmp(p, name, k) != 0 || p[k] != ':') {
    return;
  }
  p += k + 1;
  n -= k + 1;
  while (n > 0 && (*p == ' ' || *p == '\t')) {
    p++, n--;
  }
  while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ')) {
    n--;
  }
  snprintf(out, m, "%.*s", n < m ? (int)n : 0, p);
}

/* Keeps the ETag and Last-Modified of the last response (a redirect's
 * status line starts over). */
static size_t header_cb_(char *p, size_t size, size_t n, void *user) {
  struct dl_ *dl = user;
  size_t len = size * n;
  if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
    dl->got = (struct store_ingest_validators){0};
  }
  header_value_(p, len, "ETag", dl->got.etag, sizeof dl->got.etag);
  header_value_(p, len, "Last-Modified", dl->got.last_modified, sizeof dl->got.last_modified);
  return len;
}

/* Sleeps until t (monotonic ms) in steps that watch stop; 0, or -1 when
 * stopped. */
static int wait_until_(int64_t t, const atomic_int *stop) {
  for (;;) {
    if (stop != NULL && atomic_load(stop)) {
      return -1;
    }
    int64_t left = t - clock_mono_ms();
    if (left <= 0) {
      return 0;
    }
    usleep((useconds_t)(left < 100 ? left : 100) * 1000);
  }
}

/* One transfer of url into dl. *cc, *http, *retry_after: its outcome.
 * -1 when stopped. */
static int transfer_(struct dl_ *dl, CURLM *m, const char *url, const atomic_int *stop,
                     CURLcode *cc, long *http, curl_off_t *retry_after) {
  const struct ingest_fetch_config *c = dl->cfg;
  curl_easy_reset(dl->easy);
  ingest_http_setup(dl->easy, c, url);
  curl_easy_setopt(dl->easy, CURLOPT_WRITEFUNCTION, write_cb_);
  curl_easy_setopt(dl->easy, CURLOPT_WRITEDATA, dl);
  curl_easy_setopt(dl->easy, CURLOPT_TIMEOUT_MS, (long)def_(c->full_timeout_ms, 1800000));
  curl_easy_setopt(dl->easy, CURLOPT_LOW_SPEED_LIMIT, (long)def_(c->full_low_speed_bps, 1024));
  curl_easy_setopt(dl->easy, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt(dl->easy, CURLOPT_HEADERFUNCTION, header_cb_);
  curl_easy_setopt(dl->easy, CURLOPT_HEADERDATA, dl);
  struct curl_slist *hdrs = NULL;
  if (dl->send != NULL && dl->send->etag[0] != '\0') {
    char *h = xasprintf("If-None-Match: %s", dl->send->etag);
    hdrs = curl_slist_append(hdrs, h);
    free(h);
  }
  if (dl->send != NULL && dl->send->last_modified[0] != '\0') {
    char *h = xasprintf("If-Modified-Since: %s", dl->send->last_modified);
    hdrs = curl_slist_append(hdrs, h);
    free(h);
  }
  curl_easy_setopt(dl->easy, CURLOPT_HTTPHEADER, hdrs);
  dl->got = (struct store_ingest_validators){0};
  struct otel_span *span = otel_current_start("GET", OTEL_SPAN_CLIENT);
  otel_span_attr_str(span, "http.request.method", "GET");
  otel_span_attr_str(span, "tvmaze.ingest.source", "full");
  if (curl_multi_add_handle(m, dl->easy) != CURLM_OK) {
    *cc = CURLE_FAILED_INIT;
    curl_easy_setopt(dl->easy, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    otel_current_end(span);
    return 0;
  }
  int running = 1, stopped = 0;
  while (running) {
    curl_multi_perform(m, &running);
    if (stop != NULL && atomic_load(stop)) {
      stopped = 1;
      break;
    }
    if (running) {
      curl_multi_poll(m, NULL, 0, 100, NULL);
    }
  }
  *cc = CURLE_ABORTED_BY_CALLBACK;
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(m, &left)) != NULL) {
    if (msg->msg == CURLMSG_DONE) {
      *cc = msg->data.result;
    }
  }
  curl_easy_getinfo(dl->easy, CURLINFO_RESPONSE_CODE, http);
  curl_easy_getinfo(dl->easy, CURLINFO_RETRY_AFTER, retry_after);
  curl_multi_remove_handle(m, dl->easy);
  curl_easy_setopt(dl->easy, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(hdrs);
  if (*http > 0) {
    otel_span_attr_int(span, "http.response.status_code", *http);
  }
  if (*cc != CURLE_OK || (*http != 200 && *http != 304)) {
    otel_span_set_status(span, OTEL_STATUS_ERROR, "transfer failed");
  }
  otel_current_end(span);
  return stopped ? -1 : 0;
}

/* Downloads the document into dl->spill. 0: complete; -1: stopped; 1:
 * failed for good (why set); 2: 304 Not Modified to the validators sent.
 * requests/retries counted. */
static int download_(struct dl_ *dl, const char *url, const atomic_int *stop, long long *requests,
                     long long *retries, char *why, size_t whylen) {
  CURLM *m = curl_multi_init();
  struct ingest_http_rate rate;
  unsigned int seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)dl;
  int64_t next_at = clock_mono_ms();
  int rc = 1;
  ingest_http_rate_init(&rate, dl->cfg);
  if (m == NULL) {
    snprintf(why, whylen, "curl_multi_init failed");
    goto out;
  }
  for (int attempts = 1;; attempts++) {
    if (wait_until_(next_at, stop) != 0 ||
        wait_until_(clock_mono_ms() + ingest_http_rate_wait(&rate, clock_mono_ms()), stop) != 0) {
      rc = -1;
      goto out;
    }
    ingest_http_rate_note(&rate, clock_mono_ms());
    ingest_spill_reset(dl->spill);
    json_stream_release(&dl->js);
    json_stream_init(&dl->js, dl->cfg->full_max_item, item_cb_, dl);
    dl->doc_failed = 0;
    dl->bytes = 0;
    dl->progress_at = clock_mono_ms();
    dl->progress_bytes = 0;
    dl->err[0] = '\0';
    (*requests)++;
    *retries += attempts > 1;
    CURLcode cc = CURLE_OK;
    long http = 0;
    curl_off_t retry_after = 0;
    if (transfer_(dl, m, url, stop, &cc, &http, &retry_after) != 0) {
      rc = -1;
      goto out;
    }
    if (http == 200) {
      progress_(dl, 1); /* the attempt's final counts */
    }
    if (cc == CURLE_OK && http == 200) {
      if (json_stream_finish(&dl->js) == 0) {
        rc = 0;
      } else {
        snprintf(why, whylen, "%s: %s", url, dl->js.err);
      }
      goto out;
    }
    if (cc == CURLE_OK && http == 304 && dl->send != NULL) {
      rc = 2;
      goto out;
    }
    if (dl->doc_failed || dl->err[0] != '\0') {
      snprintf(why, whylen, "%s: %s", url, dl->err[0] ? dl->err : "the item handler failed");
      goto out;
    }
    int64_t wait = 0;
    if (!ingest_http_retry(dl->cfg, cc, http, retry_after, attempts, url, &seed, &wait, why,
                           whylen)) {
      goto out;
    }
    next_at = clock_mono_ms() + wait;
  }
out:
  ingest_http_rate_release(&rate);
  if (m != NULL) {
    curl_multi_cleanup(m);
  }
  return rc;
}

/* Hands day i with error (NULL) or doc to fn; its return. */
static int hand_(ingest_fetch_day_fn fn, void *user, int32_t day, const char *error,
                 const struct strbuf *doc, int unchanged, long long requests, long long retries) {
  const char *docs[1] = {doc != NULL && doc->data != NULL ? doc->data : "[]"};
  size_t lens[1] = {doc != NULL && doc->data != NULL ? doc->len : 2};
  const char *sources[1] = {"full"};
  const char *labels[1] = {"full"}; /* "full schedule: <parse error>" */
  struct ingest_fetched_day d = {.day = day,
                                 .error = error,
                                 .n_docs = unchanged ? 0 : 1,
                                 .docs = docs,
                                 .doc_len = lens,
                                 .sources = sources,
                                 .labels = labels,
                                 .requests = requests,
                                 .retries = retries,
                                 .unchanged = unchanged};
  date_format(day, d.date);
  return fn(&d, user);
}

char *ingest_full_url(const struct ingest_fetch_config *cfg) {
  const char *base = cfg->api_url;
  size_t bl = strlen(base);
  while (bl > 0 && base[bl - 1] == '/') {
    bl--;
  }
  return xasprintf("%.*s/schedule/full", (int)bl, base);
}

enum ingest_fetch_status ingest_full_days(const struct ingest_fetch_config *cfg, int32_t start_day,
                                          int days, const atomic_int *stop, ingest_fetch_day_fn fn,
                                          void *user, const struct store_ingest_validators *send,
                                          struct store_ingest_validators *got,
                                          struct ingest_full_stats *stats,
                                          ingest_full_progress_fn progress, void *progress_user,
                                          char *err, size_t errlen) {
  struct dl_ dl = {.cfg = cfg,
                   .progress = progress,
                   .progress_user = progress_user,
                   .send = send != NULL && (send->etag[0] != '\0' || send->last_modified[0] != '\0')
                               ? send
                               : NULL};
  struct strbuf doc;
  char why[768] = "", *error = NULL;
  long long requests = 0, retries = 0;
  int unchanged = 0; /* 304 Not Modified */
  enum ingest_fetch_status result = INGEST_FETCH_DONE;
  strbuf_init(&doc);
  char *url = ingest_full_url(cfg);
  if (got != NULL) {
    *got = (struct store_ingest_validators){0};
  }
  dl.easy = curl_easy_init();
  if (dl.easy == NULL) {
    snprintf(err, errlen, "curl_easy_init failed");
    result = INGEST_FETCH_ERROR;
    goto out;
  }
  dl.spill = ingest_spill_create(start_day, days, why, sizeof why);
  int rc = dl.spill != NULL ? download_(&dl, url, stop, &requests, &retries, why, sizeof why) : 1;
  if (rc < 0) {
    result = INGEST_FETCH_STOPPED;
    goto out;
  }
  unchanged = rc == 2;
  if (rc == 1) {
    error = xasprintf(LABEL_ ": %s", why);
  } else if (rc == 0 && got != NULL) {
    *got = dl.got;
  }
  for (int i = 0; i < days; i++) {
    if (stop != NULL && atomic_load(stop)) {
      result = INGEST_FETCH_STOPPED;
      goto out;
    }
    char derr[256];
    char *day_error = NULL;
    if (error == NULL && !unchanged &&
        ingest_spill_day(dl.spill, i, &doc, derr, sizeof derr) != 0) {
      day_error = xasprintf(LABEL_ ": %s", derr);
    }
    int want_stop = hand_(fn, user, start_day + i, error != NULL ? error : day_error,
                          error == NULL && day_error == NULL ? &doc : NULL, unchanged,
                          i == 0 ? requests : 0, i == 0 ? retries : 0);
    free(day_error);
    if (want_stop) {
      result = INGEST_FETCH_STOPPED;
      goto out;
    }
  }
out:
  if (stats != NULL) {
    struct ingest_spill_stats ss =
        dl.spill != NULL ? ingest_spill_stats(dl.spill) : (struct ingest_spill_stats){0};
    *stats = (struct ingest_full_stats){.bytes = dl.bytes,
                                        .items = (long long)dl.js.items,
                                        .kept = (long long)ss.kept,
                                        .outside = (long long)ss.outside,
                                        .undated = (long long)ss.undated,
                                        .not_modified = unchanged};
  }
  json_stream_release(&dl.js);
  ingest_spill_destroy(dl.spill);
  if (dl.easy != NULL) {
    curl_easy_cleanup(dl.easy);
  }
  strbuf_release(&doc);
  free(error);
  free(url);
  return result;
}
