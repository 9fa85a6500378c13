/*
 * feed_sse: N Server-Sent Events readers of the gateway's
 * GET /api/v1/changes/stream for bench/changes.sh, in one libcurl multi
 * loop (one HTTP/1.1 connection each). Each event `change` counts for its
 * connection: version from its `id:`, reference time from the `changed_at`
 * of its `data:` JSON (a minimal scan, no full parse; feed_common.h).
 * Heartbeats are read and ignored. A stream that ends before the stop (the
 * gateway cuts a reader that falls 64 events behind for 1 s) is reopened
 * 100 ms later with Last-Event-ID = the last version it received
 * (counted in reconnects).
 *
 * Usage: tvmaze-feed-sse --url BASE --key KEY --streams N --after V
 *          --stop FILE [--ready FILE] [--commits FILE] [--timeout S]
 *   BASE is the gateway's http://host:port; KEY goes in X-API-Key.
 * --commits FILE: as in feed_grpc.c (latencies also against the commit time).
 * Prints the summary line of feed_report on stdout; exit 0 when it ran,
 * 2 on bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "feed_common.h"
#include "xalloc.h"

struct conn {
  size_t index;
  CURL *easy;
  struct curl_slist *hdrs;
  int running;           /* in the multi handle */
  int64_t restart_at_us; /* > 0: reopen at this time */
  int status_ok, type_ok;
  char line[8192]; /* the line being read; longer lines are cut (data lines keep the head) */
  size_t line_len;
  int is_change;  /* this event is a `change` */
  int64_t id;     /* its id: (-1 none) */
  int64_t ref_us; /* its changed_at (0 none) */
};

static struct feed_sub *g_subs;
static struct feed_hist g_hist;
static struct feed_log g_log;
static const char *g_base, *g_key;
static CURLM *g_multi;
static unsigned g_errors_logged;

/* One complete line (without its newline) of c's stream. */
static void on_line_(struct conn *c, const char *l, size_t n) {
  if (n > 0 && l[n - 1] == '\r')
    n--;
  if (n == 0) { /* end of event */
    if (c->is_change && c->id >= 0) {
      int64_t now = feed_now_us();
      feed_sub_change(&g_subs[c->index], &g_hist, c->id, c->ref_us, now);
      feed_log_add(&g_log, c->ref_us, now);
    }
    c->is_change = 0;
    c->id = -1;
    c->ref_us = 0;
    return;
  }
  if (n >= 6 && memcmp(l, "event:", 6) == 0) {
    const char *v = l + 6;
    size_t vn = n - 6;
    if (vn > 0 && *v == ' ')
      v++, vn--;
    c->is_change = vn == 6 && memcmp(v, "change", 6) == 0;
  } else if (n >= 3 && memcmp(l, "id:", 3) == 0) {
    char tmp[32];
    size_t vn = n - 3 < sizeof tmp - 1 ? n - 3 : sizeof tmp - 1;
    memcpy(tmp, l + 3, vn);
    tmp[vn] = '\0';
    c->id = strtoll(tmp, NULL, 10);
  } else if (n >= 5 && memcmp(l, "data:", 5) == 0) {
    static const char key[] = "\"changed_at\":\"";
    const char *p = memmem(l, n, key, sizeof key - 1);
    if (p != NULL) {
      p += sizeof key - 1;
      const char *e = memchr(p, '"', (size_t)(l + n - p));
      int64_t us;
      if (e != NULL && feed_parse_rfc3339(p, (size_t)(e - p), &us) == 0)
        c->ref_us = us;
    }
  }
}

static size_t on_body_(char *ptr, size_t size, size_t nmemb, void *ud) {
  struct conn *c = ud;
  size_t n = size * nmemb;
  for (size_t i = 0; i < n; i++) {
    char ch = ptr[i];
    if (ch == '\n') {
      on_line_(c, c->line, c->line_len);
      c->line_len = 0;
    } else if (c->line_len < sizeof c->line) {
      c->line[c->line_len++] = ch;
    }
  }
  return n;
}

static size_t on_header_(char *ptr, size_t size, size_t nmemb, void *ud) {
  struct conn *c = ud;
  size_t n = size * nmemb;
  if (n >= 12 && memcmp(ptr, "HTTP/", 5) == 0) {
    const char *sp = memchr(ptr, ' ', n);
    c->status_ok = sp != NULL && (size_t)(sp - ptr) + 4 <= n && memcmp(sp + 1, "200", 3) == 0;
  } else if (n >= 13 && strncasecmp(ptr, "content-type:", 13) == 0) {
    c->type_ok = memmem(ptr, n, "text/event-stream", 17) != NULL;
  }
  if (c->status_ok && c->type_ok)
    g_subs[c->index].ready = 1;
  return n;
}

static void open_(struct conn *c) {
  char url[512], last[64];
  snprintf(url, sizeof url, "%s/api/v1/changes/stream?after_version=%lld", g_base,
           (long long)g_subs[c->index].last);
  curl_slist_free_all(c->hdrs);
  c->hdrs = NULL;
  char *kh = xasprintf("X-API-Key: %s", g_key);
  c->hdrs = curl_slist_append(c->hdrs, kh);
  xfree(kh);
  c->hdrs = curl_slist_append(c->hdrs, "Accept: text/event-stream");
  snprintf(last, sizeof last, "Last-Event-ID: %lld", (long long)g_subs[c->index].last);
  c->hdrs = curl_slist_append(c->hdrs, last);
  curl_easy_reset(c->easy);
  curl_easy_setopt(c->easy, CURLOPT_URL, url);
  curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->hdrs);
  curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_body_);
  curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
  curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, on_header_);
  curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
  curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
  curl_easy_setopt(c->easy, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
  c->line_len = 0;
  c->is_change = 0;
  c->id = -1;
  c->ref_us = 0;
  c->status_ok = c->type_ok = 0;
  c->restart_at_us = 0;
  curl_multi_add_handle(g_multi, c->easy);
  c->running = 1;
}

static void usage_(void) {
  fputs(
      "usage: tvmaze-feed-sse --url BASE --key KEY --streams N --after V --stop FILE "
      "[--ready FILE] [--commits FILE] [--timeout S]\n",
      stderr);
  exit(2);
}

int main(int argc, char **argv) {
  const char *stop_path = NULL, *ready_path = NULL, *commits = NULL;
  long n = 0, timeout_s = 600;
  long long after = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (strcmp(k, "--url") == 0)
      g_base = v;
    else if (strcmp(k, "--key") == 0)
      g_key = v;
    else if (strcmp(k, "--streams") == 0)
      n = strtol(v, NULL, 10);
    else if (strcmp(k, "--after") == 0)
      after = strtoll(v, NULL, 10);
    else if (strcmp(k, "--stop") == 0)
      stop_path = v;
    else if (strcmp(k, "--ready") == 0)
      ready_path = v;
    else if (strcmp(k, "--commits") == 0)
      commits = v;
    else if (strcmp(k, "--timeout") == 0)
      timeout_s = strtol(v, NULL, 10);
    else
      usage_();
  }
  if (g_base == NULL || g_key == NULL || stop_path == NULL || n <= 0)
    usage_();

  curl_global_init(CURL_GLOBAL_DEFAULT);
  g_multi = curl_multi_init();
  curl_multi_setopt(g_multi, CURLMOPT_MAXCONNECTS, n + 16);
  g_subs = xcalloc((size_t)n, sizeof *g_subs);
  struct conn *cs = xcalloc((size_t)n, sizeof *cs);
  for (long i = 0; i < n; i++) {
    cs[i].index = (size_t)i;
    cs[i].easy = curl_easy_init();
    g_subs[i].last = after;
    open_(&cs[i]);
  }

  struct feed_stop stop = {.path = stop_path};
  int64_t deadline = feed_now_us() + (int64_t)timeout_s * 1000000;
  int timed_out = 0, readied = 0, still = 0;
  int64_t next_tick = 0, next_progress = feed_now_us() + 10000000;
  for (;;) {
    curl_multi_perform(g_multi, &still);
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(g_multi, &left)) != NULL) {
      if (m->msg != CURLMSG_DONE)
        continue;
      struct conn *c = NULL;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
      if (g_errors_logged < 10) {
        long code = 0;
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
        fprintf(stderr, "feed_sse: stream %zu ended: %s, HTTP %ld, last %lld\n", c->index,
                curl_easy_strerror(m->data.result), code, (long long)g_subs[c->index].last);
        g_errors_logged++;
      }
      curl_multi_remove_handle(g_multi, c->easy);
      c->running = 0;
      g_subs[c->index].reconnect++;
      c->restart_at_us = feed_now_us() + 100000;
    }
    curl_multi_poll(g_multi, NULL, 0, 200, NULL);
    int64_t now = feed_now_us();
    if (now < next_tick)
      continue;
    next_tick = now + 200000;
    if (!readied) {
      long r = 0;
      for (long i = 0; i < n; i++)
        r += g_subs[i].ready != 0;
      if (r == n) {
        feed_mark_ready(ready_path);
        readied = 1;
      }
    }
    for (long i = 0; i < n; i++)
      if (!cs[i].running && cs[i].restart_at_us > 0 && cs[i].restart_at_us <= now)
        open_(&cs[i]);
    feed_stop_poll(&stop);
    if (now >= next_progress) {
      feed_progress("sse", &stop, g_subs, (size_t)n);
      next_progress = now + 10000000;
    }
    if (feed_all_done(&stop, g_subs, (size_t)n))
      break;
    if (now > deadline) {
      timed_out = 1;
      break;
    }
  }
  static struct feed_hist hc;
  uint64_t missing = 0;
  int have_c = commits != NULL && feed_log_commit_hist(&g_log, commits, &hc, &missing) == 0;
  feed_report("sse", &stop, g_subs, (size_t)n, &g_hist, have_c ? &hc : NULL, missing, timed_out);
  feed_log_free(&g_log);
  for (long i = 0; i < n; i++) {
    if (cs[i].running)
      curl_multi_remove_handle(g_multi, cs[i].easy);
    curl_easy_cleanup(cs[i].easy);
    curl_slist_free_all(cs[i].hdrs);
  }
  curl_multi_cleanup(g_multi);
  curl_global_cleanup();
  xfree(cs);
  xfree(g_subs);
  return 0;
}
