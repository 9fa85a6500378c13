/*
 * ingest_fetch: see ingest_fetch.h. One loop on the calling thread drives a
 * curl multi handle: activate days up to the in-flight limit, start the
 * requests whose time has come while the rate window allows, collect
 * finished transfers, schedule retries, hand complete days to the callback.
 */
#include "ingest_fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "clock.h"
#include "date.h"
#include "ingest_http.h"
#include "otel_current.h"
#include "strbuf.h"
#include "xalloc.h"

#define MAX_BODY_BYTES (64u << 20)
#define MAX_HOST_CONNECTIONS 8
#define MAX_RUNNING (2 * MAX_HOST_CONNECTIONS)
/* no answer yet and unreachable-host errors for this long: stop the fetch */
#define UNREACHABLE_MS 45000

struct day_;

struct req_ {
  struct day_ *day;
  char *url;
  char source[8];                 /* "web" or the country code */
  char label[16];                 /* "web" or "network <code>" */
  CURL *easy;                     /* non-NULL while in flight */
  struct strbuf body;             /* the response so far */
  int attempts;                   /* transfers started */
  int64_t next_at_ms;             /* earliest (re)start */
  int done;                       /* body complete */
  int too_big;                    /* body exceeded MAX_BODY_BYTES */
  struct otel_span *span;         /* the transfer's span while in flight (NULL: not traced) */
  char curl_err[CURL_ERROR_SIZE]; /* libcurl's message of the last transfer */
};

struct day_ {
  int32_t day;
  char date[11];
  struct req_ *reqs;
  int n_reqs;
  int n_done;
  char *error;
  long long requests, retries;
};

struct fetch_ {
  const struct ingest_fetch_config *cfg;
  CURLM *multi;
  CURL **idle; /* reusable easy handles */
  size_t n_idle;
  int n_running; /* easy handles in the multi */
  struct ingest_http_rate rate;
  unsigned int seed;
  int answered;              /* some transfer got an HTTP answer from TVMaze */
  int64_t unreachable_since; /* first unreachable-host error while !answered (0: none) */
  char unreachable[600];     /* set: TVMaze is unreachable, stop with this */
};

static int def_(int v, int d) {
  return v > 0 ? v : d;
}

static size_t write_cb_(char *p, size_t size, size_t n, void *user) {
  struct req_ *r = user;
  size_t len = size * n;
  if (r->body.len + len > MAX_BODY_BYTES) {
    r->too_big = 1;
    return 0;
  }
  strbuf_append_n(&r->body, p, len);
  return len;
}

static int start_(struct fetch_ *f, struct req_ *r) {
  CURL *e = f->n_idle > 0 ? f->idle[--f->n_idle] : curl_easy_init();
  if (e == NULL) {
    return -1;
  }
  curl_easy_reset(e);
  strbuf_reset(&r->body);
  r->too_big = 0;
  const struct ingest_fetch_config *c = f->cfg;
  ingest_http_setup(e, c, r->url);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb_);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(e, CURLOPT_PRIVATE, r);
  r->curl_err[0] = '\0';
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curl_err);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)def_(c->timeout_ms, 30000));
  if (curl_multi_add_handle(f->multi, e) != CURLM_OK) {
    f->idle[f->n_idle++] = e;
    return -1;
  }
  r->easy = e;
  f->n_running++;
  r->attempts++;
  /* a CLIENT span under the thread's current one (the ingest run): none
   * when the run is not traced */
  r->span = otel_current_start("GET", OTEL_SPAN_CLIENT);
  otel_span_attr_str(r->span, "http.request.method", "GET");
  otel_span_attr_str(r->span, "tvmaze.ingest.date", r->day->date);
  otel_span_attr_str(r->span, "tvmaze.ingest.source", r->source);
  otel_span_attr_int(r->span, "http.request.resend_count", r->attempts - 1);
  r->day->requests++;
  if (r->attempts > 1) {
    r->day->retries++;
  }
  return 0;
}

/* Ends r's span: the HTTP status (0: none), ERROR unless a 200. */
static void end_span_(struct req_ *r, CURLcode cc, long http) {
  if (r->span == NULL) {
    return;
  }
  if (http > 0) {
    otel_span_attr_int(r->span, "http.response.status_code", http);
  }
  if (cc != CURLE_OK || http != 200) {
    otel_span_set_status(r->span, OTEL_STATUS_ERROR,
                         cc != CURLE_OK ? curl_easy_strerror(cc) : "HTTP error");
  }
  otel_current_end(r->span);
  r->span = NULL;
}

static void stop_req_(struct fetch_ *f, struct req_ *r) {
  end_span_(r, CURLE_ABORTED_BY_CALLBACK, 0); /* abandoned in flight, if not ended */
  if (r->easy != NULL) {
    curl_multi_remove_handle(f->multi, r->easy);
    f->idle[f->n_idle++] = r->easy;
    r->easy = NULL;
    f->n_running--;
  }
}

static void day_free_(struct fetch_ *f, struct day_ *d) {
  if (d == NULL) {
    return;
  }
  for (int i = 0; i < d->n_reqs; i++) {
    stop_req_(f, &d->reqs[i]);
    free(d->reqs[i].url);
    strbuf_release(&d->reqs[i].body);
  }
  free(d->reqs);
  free(d->error);
  free(d);
}

static struct day_ *day_new_(const struct ingest_fetch_config *c, int32_t day, int64_t now) {
  struct day_ *d = xcalloc(1, sizeof *d);
  d->day = day;
  date_format(day, d->date);
  d->n_reqs = 1 + c->n_countries;
  d->reqs = xcalloc((size_t)d->n_reqs, sizeof *d->reqs);
  const char *base = c->api_url;
  size_t bl = strlen(base);
  while (bl > 0 && base[bl - 1] == '/') {
    bl--;
  }
  for (int i = 0; i < d->n_reqs; i++) {
    struct req_ *r = &d->reqs[i];
    r->day = d;
    r->next_at_ms = now;
    strbuf_init(&r->body);
    if (i == 0) {
      r->url = xasprintf("%.*s/schedule/web?date=%s", (int)bl, base, d->date);
      snprintf(r->source, sizeof r->source, "web");
      snprintf(r->label, sizeof r->label, "web");
    } else {
      const char *cc = c->countries[i - 1];
      r->url = xasprintf("%.*s/schedule?country=%s&date=%s", (int)bl, base, cc, d->date);
      snprintf(r->source, sizeof r->source, "%.2s", cc);
      snprintf(r->label, sizeof r->label, "network %.2s", cc);
    }
  }
  return d;
}

/* r ended on cc without an answer (gave_up: for good): while nothing has
 * answered yet, an unreachable-host error that is final, or that has lasted
 * UNREACHABLE_MS, makes TVMaze unreachable (f->unreachable). */
static void note_unreachable_(struct fetch_ *f, const struct req_ *r, CURLcode cc, int gave_up,
                              int64_t now) {
  if (f->answered || f->unreachable[0] != '\0' || !ingest_http_unreachable(cc)) {
    return;
  }
  if (f->unreachable_since == 0) {
    f->unreachable_since = now;
  }
  if (gave_up || now - f->unreachable_since >= UNREACHABLE_MS) {
    snprintf(f->unreachable, sizeof f->unreachable, "TVMaze unreachable: %s (%s)",
             r->curl_err[0] != '\0' ? r->curl_err : curl_easy_strerror(cc), r->url);
  }
}

/* A transfer finished: success, retry later, or fail the day. */
static void finished_(struct fetch_ *f, struct req_ *r, CURLcode cc, int64_t now) {
  long http = 0;
  curl_off_t retry_after = 0;
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &http);
  curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &retry_after);
  end_span_(r, cc, http);
  stop_req_(f, r);
  struct day_ *d = r->day;
  if (http > 0) {
    f->answered = 1;
  }
  if (cc == CURLE_OK && http == 200) {
    r->done = 1;
    d->n_done++;
    return;
  }
  char why[512];
  int64_t wait = 0;
  if (r->too_big) {
    snprintf(why, sizeof why, "response larger than %u bytes from %s", MAX_BODY_BYTES, r->url);
  } else if (ingest_http_retry(f->cfg, cc, http, retry_after, r->attempts, r->url, &f->seed, &wait,
                               why, sizeof why)) {
    r->next_at_ms = now + wait;
    note_unreachable_(f, r, cc, 0, now);
    return;
  }
  note_unreachable_(f, r, cc, 1, now);
  if (d->error == NULL) {
    d->error = xstrdup(why);
  }
}

enum ingest_fetch_status ingest_fetch_days(const struct ingest_fetch_config *cfg, int32_t start_day,
                                           int days, const atomic_int *stop, ingest_fetch_day_fn fn,
                                           void *user, char *err, size_t errlen) {
  struct fetch_ f = {.cfg = cfg, .seed = (unsigned)time(NULL) ^ (unsigned)start_day};
  int in_flight = def_(cfg->days_in_flight, 4);
  if (in_flight > days) {
    in_flight = days > 0 ? days : 1;
  }
  struct day_ **active = xcalloc((size_t)in_flight, sizeof *active);
  size_t max_handles = (size_t)in_flight * (size_t)(1 + cfg->n_countries);
  f.idle = xcalloc(max_handles + 1, sizeof *f.idle);
  ingest_http_rate_init(&f.rate, cfg);
  enum ingest_fetch_status result = INGEST_FETCH_DONE;
  f.multi = curl_multi_init();
  if (f.multi == NULL) {
    snprintf(err, errlen, "curl_multi_init failed");
    result = INGEST_FETCH_ERROR;
    goto out;
  }
  /* at most MAX_RUNNING transfers are in the multi handle (the rest wait
   * in their day's list); those beyond the connections wait inside curl */
  curl_multi_setopt(f.multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)MAX_HOST_CONNECTIONS);

  int next = 0;
  for (;;) {
    int64_t now = clock_mono_ms();
    if (stop != NULL && atomic_load(stop)) {
      result = INGEST_FETCH_STOPPED;
      goto out;
    }
    int n_active = 0;
    for (int i = 0; i < in_flight; i++) {
      if (active[i] == NULL && next < days) {
        active[i] = day_new_(cfg, start_day + next++, now);
      }
      n_active += active[i] != NULL;
    }
    if (n_active == 0) {
      break;
    }
    /* start what is due, within the rate limit */
    int64_t wake = now + 100;
    for (int i = 0; i < in_flight; i++) {
      struct day_ *d = active[i];
      for (int k = 0; d != NULL && d->error == NULL && k < d->n_reqs; k++) {
        struct req_ *r = &d->reqs[k];
        if (r->done || r->easy != NULL || f.n_running >= MAX_RUNNING) {
          continue;
        }
        if (r->next_at_ms > now) {
          wake = r->next_at_ms < wake ? r->next_at_ms : wake;
          continue;
        }
        int64_t w = ingest_http_rate_wait(&f.rate, now);
        if (w > 0) {
          wake = now + w < wake ? now + w : wake;
          continue;
        }
        if (start_(&f, r) != 0) {
          d->error = xasprintf("cannot start request %s", r->url);
          break;
        }
        ingest_http_rate_note(&f.rate, now);
      }
    }
    int running = 0;
    curl_multi_perform(f.multi, &running);
    CURLMsg *m;
    int left, finished = 0;
    while ((m = curl_multi_info_read(f.multi, &left)) != NULL) {
      if (m->msg != CURLMSG_DONE) {
        continue;
      }
      struct req_ *r = NULL;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
      finished_(&f, r, m->data.result, clock_mono_ms());
      finished++;
    }
    if (f.unreachable[0] != '\0') { /* the days in flight stay unrecorded */
      snprintf(err, errlen, "%s", f.unreachable);
      result = INGEST_FETCH_UNREACHABLE;
      goto out;
    }
    /* hand over finished days */
    for (int i = 0; i < in_flight; i++) {
      struct day_ *d = active[i];
      if (d == NULL || (d->error == NULL && d->n_done < d->n_reqs)) {
        continue;
      }
      for (int k = 0; k < d->n_reqs; k++) {
        stop_req_(&f, &d->reqs[k]);
      }
      const char **docs = xcalloc((size_t)d->n_reqs, sizeof *docs);
      const char **sources = xcalloc((size_t)d->n_reqs, sizeof *sources);
      const char **labels = xcalloc((size_t)d->n_reqs, sizeof *labels);
      size_t *lens = xcalloc((size_t)d->n_reqs, sizeof *lens);
      for (int k = 0; k < d->n_reqs; k++) {
        docs[k] = d->reqs[k].body.data ? d->reqs[k].body.data : "";
        lens[k] = d->reqs[k].body.len;
        sources[k] = d->reqs[k].source;
        labels[k] = d->reqs[k].label;
      }
      struct ingest_fetched_day out = {.day = d->day,
                                       .error = d->error,
                                       .n_docs = (size_t)d->n_reqs,
                                       .docs = docs,
                                       .doc_len = lens,
                                       .sources = sources,
                                       .labels = labels,
                                       .requests = d->requests,
                                       .retries = d->retries};
      memcpy(out.date, d->date, sizeof out.date);
      int want_stop = fn(&out, user);
      free(docs);
      free(sources);
      free(labels);
      free(lens);
      day_free_(&f, d);
      active[i] = NULL;
      if (want_stop) {
        result = INGEST_FETCH_STOPPED;
        goto out;
      }
    }
    if (finished > 0) { /* room for waiting requests: start them now */
      continue;
    }
    int64_t t = wake - clock_mono_ms();
    if (t < 0) {
      t = 0;
    }
    if (t > 100) {
      t = 100;
    }
    curl_multi_poll(f.multi, NULL, 0, (int)t, NULL);
  }
out:
  for (int i = 0; i < in_flight; i++) {
    day_free_(&f, active[i]);
  }
  for (size_t i = 0; i < f.n_idle; i++) {
    curl_easy_cleanup(f.idle[i]);
  }
  if (f.multi != NULL) {
    curl_multi_cleanup(f.multi);
  }
  free(f.idle);
  ingest_http_rate_release(&f.rate);
  free(active);
  return result;
}
