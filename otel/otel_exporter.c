/*
 * otel_exporter: the span queue, its thread and the POSTs. See
 * otel_exporter.h. Tests: tests/integration/test_gateway_otel.sh.
 */
#include "otel_exporter.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "otel_encode.h"
#include "xalloc.h"

struct otel_exporter {
  struct otel_config cfg; /* read-only after start */
  CURL *curl;             /* the thread's only */
  struct curl_slist *headers;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;           /* a full batch, or stop */
  struct otel_span *head;        /* lock: the queue, oldest first */
  struct otel_span *tail;        /* lock */
  long queued;                   /* lock */
  int stop;                      /* lock */
  struct otel_exporter_stats st; /* lock (queued is the field above) */
};

static struct timespec mono_after_(long ms) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  t.tv_sec += ms / 1000;
  t.tv_nsec += (ms % 1000) * 1000000L;
  if (t.tv_nsec >= 1000000000L) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000L;
  }
  return t;
}

static int before_(const struct timespec *a, const struct timespec *b) {
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static size_t discard_(char *p, size_t size, size_t n, void *user) {
  (void)p;
  (void)user;
  return size * n;
}

/* One POST of the n spans: 1 when the collector took them. */
static int post_(struct otel_exporter *e, struct otel_span *const *spans, size_t n) {
  uint8_t *body = NULL;
  size_t len = 0;
  struct otel_resource res = {e->cfg.service_name, e->cfg.service_version};
  otel_encode_export(&res, spans, n, &body, &len);
  curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, (const char *)body);
  curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  CURLcode rc = curl_easy_perform(e->curl);
  long status = 0;
  if (rc == CURLE_OK)
    curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
  free(body);
  return rc == CURLE_OK && status >= 200 && status < 300;
}

/* Takes up to max_batch spans off the queue (lock held) into batch. */
static size_t take_(struct otel_exporter *e, struct otel_span **batch) {
  size_t n = 0;
  while (e->head != NULL && n < (size_t)e->cfg.max_batch) {
    batch[n++] = e->head;
    e->head = e->head->next;
    e->queued--;
  }
  if (e->head == NULL)
    e->tail = NULL;
  return n;
}

static void *run_(void *arg) {
  struct otel_exporter *e = arg;
  struct otel_span **batch = xcalloc((size_t)e->cfg.max_batch, sizeof *batch);
  struct timespec next = mono_after_(e->cfg.schedule_delay_ms), stop_by = {0, 0};
  pthread_mutex_lock(&e->lock);
  for (;;) {
    while (!e->stop && e->queued < e->cfg.max_batch) {
      if (pthread_cond_timedwait(&e->wake, &e->lock, &next) != 0)
        break; /* the period is over */
    }
    if (e->stop && stop_by.tv_sec == 0)
      stop_by = mono_after_(e->cfg.timeout_ms);
    size_t n = take_(e, batch);
    if (n == 0) {
      if (e->stop)
        break;
      next = mono_after_(e->cfg.schedule_delay_ms);
      continue;
    }
    pthread_mutex_unlock(&e->lock);
    int ok = post_(e, batch, n);
    for (size_t i = 0; i < n; i++)
      otel_span_free(batch[i]);
    pthread_mutex_lock(&e->lock);
    if (ok)
      e->st.exported += n;
    else
      e->st.dropped_export += n;
    if (e->stop) {
      struct timespec now = mono_after_(0);
      if (stop_by.tv_sec == 0)
        stop_by = mono_after_(e->cfg.timeout_ms);
      if (!before_(&now, &stop_by))
        break; /* the flush's time is up: the rest is dropped below */
    }
    if (e->queued < e->cfg.max_batch)
      next = mono_after_(e->cfg.schedule_delay_ms);
  }
  pthread_mutex_unlock(&e->lock);
  free(batch);
  return NULL;
}

struct otel_exporter *otel_exporter_start(const struct otel_config *c, char *err, size_t errlen) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(err, errlen, "OTLP exporter: libcurl would not start");
    return NULL;
  }
  struct otel_exporter *e = xcalloc(1, sizeof *e);
  e->cfg = *c;
  pthread_mutex_init(&e->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&e->wake, &ca);
  pthread_condattr_destroy(&ca);
  e->curl = curl_easy_init();
  if (e->curl == NULL) {
    snprintf(err, errlen, "OTLP exporter: curl_easy_init failed");
    goto fail;
  }
  e->headers = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
  curl_easy_setopt(e->curl, CURLOPT_URL, e->cfg.endpoint);
  curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->headers);
  curl_easy_setopt(e->curl, CURLOPT_POST, 1L);
  curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, e->cfg.timeout_ms);
  curl_easy_setopt(e->curl, CURLOPT_CONNECTTIMEOUT_MS, e->cfg.timeout_ms);
  curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, discard_);
  curl_easy_setopt(e->curl, CURLOPT_USERAGENT, "tvmaze-otel");
  if (pthread_create(&e->thread, NULL, run_, e) != 0) {
    snprintf(err, errlen, "OTLP exporter: cannot start its thread");
    goto fail;
  }
  return e;
fail:
  curl_slist_free_all(e->headers);
  if (e->curl)
    curl_easy_cleanup(e->curl);
  pthread_cond_destroy(&e->wake);
  pthread_mutex_destroy(&e->lock);
  free(e);
  curl_global_cleanup();
  return NULL;
}

void otel_exporter_submit(struct otel_exporter *e, struct otel_span *s) {
  s->next = NULL;
  pthread_mutex_lock(&e->lock);
  if (e->queued >= e->cfg.max_queue || e->stop) {
    e->st.dropped_queue++;
    pthread_mutex_unlock(&e->lock);
    otel_span_free(s);
    return;
  }
  if (e->tail)
    e->tail->next = s;
  else
    e->head = s;
  e->tail = s;
  e->queued++;
  if (e->queued == e->cfg.max_batch)
    pthread_cond_signal(&e->wake);
  pthread_mutex_unlock(&e->lock);
}

void otel_exporter_stats(struct otel_exporter *e, struct otel_exporter_stats *out) {
  pthread_mutex_lock(&e->lock);
  *out = e->st;
  out->queued = (unsigned long long)e->queued;
  pthread_mutex_unlock(&e->lock);
}

void otel_exporter_stop(struct otel_exporter *e) {
  if (e == NULL)
    return;
  pthread_mutex_lock(&e->lock);
  e->stop = 1;
  pthread_cond_signal(&e->wake);
  pthread_mutex_unlock(&e->lock);
  pthread_join(e->thread, NULL);
  while (e->head != NULL) {
    struct otel_span *s = e->head;
    e->head = s->next;
    e->st.dropped_stop++;
    otel_span_free(s);
  }
  curl_slist_free_all(e->headers);
  curl_easy_cleanup(e->curl);
  pthread_cond_destroy(&e->wake);
  pthread_mutex_destroy(&e->lock);
  free(e);
  curl_global_cleanup();
}
