/*
 * feed_common: shared bookkeeping of the change-feed benchmark clients
 * (see feed_common.h for the formats).
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* timegm */

#include "feed_common.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "xalloc.h"

int64_t feed_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Bucket of a sample: values below 16 µs one bucket each; above, 16
 * buckets per power of two (exponent e >= 4: index (e - 3) * 16 + the next
 * four bits after the leading one). */
static size_t bucket_of_(uint64_t us) {
  if (us < 16)
    return (size_t)us;
  int e = 63 - __builtin_clzll(us);
  size_t i = (size_t)(e - 3) * 16 + (size_t)((us >> (e - 4)) & 15);
  return i < FEED_HIST_BUCKETS ? i : FEED_HIST_BUCKETS - 1;
}

/* The midpoint of bucket i, µs. */
static double bucket_mid_(size_t i) {
  if (i < 16)
    return (double)i;
  int e = (int)(i / 16) + 3;
  double lo = (double)(1ULL << e) + (double)(i % 16) * (double)(1ULL << (e - 4));
  return lo + (double)(1ULL << (e - 4)) / 2.0;
}

void feed_hist_add(struct feed_hist *h, int64_t us) {
  if (us < 0) {
    h->negative++;
    us = 0;
  }
  h->bucket[bucket_of_((uint64_t)us)]++;
  h->n++;
  if (us > h->max_us)
    h->max_us = us;
}

double feed_hist_quantile(const struct feed_hist *h, double q) {
  if (h->n == 0)
    return 0.0;
  uint64_t rank = (uint64_t)(q * (double)h->n);
  if (rank >= h->n)
    rank = h->n - 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < FEED_HIST_BUCKETS; i++) {
    seen += h->bucket[i];
    if (seen > rank)
      return bucket_mid_(i);
  }
  return (double)h->max_us;
}

void feed_sub_change(struct feed_sub *s, struct feed_hist *h, int64_t v, int64_t ref_us,
                     int64_t now_us) {
  if (v == s->last)
    s->dups++;
  else if (v < s->last)
    s->disorder++;
  else
    s->last = v;
  s->count++;
  feed_hist_add(h, now_us - ref_us);
}

void feed_log_add(struct feed_log *l, int64_t ref_us, int64_t now_us) {
  int64_t d = now_us - ref_us;
  if (d < 0)
    d = 0;
  size_t t = l->last_ref;
  if (t >= l->nrefs || l->refs[t] != ref_us) {
    /* Recent transactions are at the end: search backwards. */
    for (t = l->nrefs; t > 0 && l->refs[t - 1] != ref_us; t--) {
    }
    if (t == 0) {
      if (l->nrefs == 65535 || d > (int64_t)UINT32_MAX) {
        l->dropped++;
        return;
      }
      if (l->nrefs == l->cap_refs) {
        l->cap_refs = l->cap_refs ? l->cap_refs * 2 : 64;
        l->refs = xrealloc(l->refs, l->cap_refs * sizeof *l->refs);
      }
      l->refs[l->nrefs++] = ref_us;
      t = l->nrefs;
    }
    t--;
    l->last_ref = t;
  }
  if (d > (int64_t)UINT32_MAX) {
    l->dropped++;
    return;
  }
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 1 << 16;
    l->lat_us = xrealloc(l->lat_us, l->cap * sizeof *l->lat_us);
    l->tx = xrealloc(l->tx, l->cap * sizeof *l->tx);
  }
  l->lat_us[l->n] = (uint32_t)d;
  l->tx[l->n] = (uint16_t)t;
  l->n++;
}

int feed_log_commit_hist(const struct feed_log *l, const char *path, struct feed_hist *h,
                         uint64_t *missing) {
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return -1;
  /* commit - changed_at per transaction; INT64_MIN: no line. */
  int64_t *off = xmalloc((l->nrefs + 1) * sizeof *off);
  for (size_t t = 0; t < l->nrefs; t++)
    off[t] = INT64_MIN;
  long long ref, commit;
  while (fscanf(f, "%lld %lld", &ref, &commit) == 2)
    for (size_t t = 0; t < l->nrefs; t++)
      if (l->refs[t] - ref <= 2 && ref - l->refs[t] <= 2)
        off[t] = commit - l->refs[t];
  fclose(f);
  *missing = l->dropped;
  for (size_t i = 0; i < l->n; i++) {
    int64_t o = off[l->tx[i]];
    if (o == INT64_MIN)
      (*missing)++;
    else
      feed_hist_add(h, (int64_t)l->lat_us[i] - o);
  }
  xfree(off);
  return 0;
}

void feed_log_free(struct feed_log *l) {
  xfree(l->lat_us);
  xfree(l->tx);
  xfree(l->refs);
  memset(l, 0, sizeof *l);
}

int feed_stop_poll(struct feed_stop *st) {
  if (st->known || st->path == NULL)
    return st->known;
  FILE *f = fopen(st->path, "r");
  if (f == NULL)
    return 0;
  long long v = 0;
  unsigned long long e = 0;
  if (fscanf(f, "%lld %llu", &v, &e) == 2) {
    st->final_version = v;
    st->expected = e;
    st->known = 1;
  }
  fclose(f);
  return st->known;
}

int feed_all_done(const struct feed_stop *st, const struct feed_sub *subs, size_t n) {
  if (!st->known)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (subs[i].last < st->final_version)
      return 0;
  return 1;
}

void feed_progress(const char *kind, const struct feed_stop *st, const struct feed_sub *subs,
                   size_t n) {
  uint64_t msgs = 0, recon = 0;
  size_t done = 0;
  for (size_t i = 0; i < n; i++) {
    msgs += subs[i].count;
    recon += subs[i].reconnect;
    done += st->known && subs[i].last >= st->final_version;
  }
  fprintf(stderr,
          "%s progress %" PRId64 ": %" PRIu64 " messages, %" PRIu64
          " reconnects, %zu of %zu at the final version\n",
          kind, feed_now_us() / 1000000, msgs, recon, done, n);
}

void feed_mark_ready(const char *path) {
  if (path == NULL)
    return;
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return;
  fputs("ready\n", f);
  fclose(f);
}

void feed_report(const char *kind, const struct feed_stop *st, const struct feed_sub *subs,
                 size_t n, const struct feed_hist *h, const struct feed_hist *hc,
                 uint64_t c_missing, int timed_out) {
  uint64_t msgs = 0, disorder = 0, dups = 0, reconnects = 0;
  size_t complete = 0, ready = 0, short_n = 0;
  for (size_t i = 0; i < n; i++) {
    const struct feed_sub *s = &subs[i];
    msgs += s->count;
    disorder += s->disorder;
    dups += s->dups;
    reconnects += s->reconnect;
    ready += s->ready != 0;
    if (st->known && s->count == st->expected && s->disorder == 0 && s->dups == 0 &&
        s->last == st->final_version)
      complete++;
    else
      short_n++;
  }
  printf("kind=%s subscribers=%zu ready=%zu complete=%zu messages=%" PRIu64 " expected=%" PRIu64
         " disorder=%" PRIu64 " dups=%" PRIu64
         " short=%zu"
         " reconnects=%" PRIu64
         " p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f"
         " negative=%" PRId64 " timed_out=%d",
         kind, n, ready, complete, msgs, st->expected, disorder, dups, short_n, reconnects,
         feed_hist_quantile(h, 0.50) / 1000.0, feed_hist_quantile(h, 0.99) / 1000.0,
         feed_hist_quantile(h, 0.999) / 1000.0, (double)h->max_us / 1000.0, h->negative, timed_out);
  if (hc != NULL)
    printf(" c_p50_ms=%.2f c_p99_ms=%.2f c_p999_ms=%.2f c_max_ms=%.2f c_negative=%" PRId64
           " c_missing=%" PRIu64,
           feed_hist_quantile(hc, 0.50) / 1000.0, feed_hist_quantile(hc, 0.99) / 1000.0,
           feed_hist_quantile(hc, 0.999) / 1000.0, (double)hc->max_us / 1000.0, hc->negative,
           c_missing);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf(" cpu_s=%.1f\n", (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                              (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
  size_t shown = 0;
  for (size_t i = 0; i < n && shown < 10; i++) {
    const struct feed_sub *s = &subs[i];
    if (st->known && s->count == st->expected && s->disorder == 0 && s->dups == 0 &&
        s->last == st->final_version)
      continue;
    fprintf(stderr,
            "%s: subscriber %zu short: count %" PRIu64 " of %" PRIu64 ", last %" PRId64
            " of %" PRId64 ", disorder %" PRIu64 ", dups %" PRIu64 ", ready %d\n",
            kind, i, s->count, st->expected, s->last, st->final_version, s->disorder, s->dups,
            s->ready);
    shown++;
  }
  fflush(stdout);
}

static int digits_(const char *s, size_t n, int *out) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

int feed_parse_rfc3339(const char *s, size_t len, int64_t *us) {
  /* 2026-12-03T10:30:00[.123456789]Z */
  if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
    return -1;
  int y, mo, d, h, mi, se;
  if (digits_(s, 4, &y) || digits_(s + 5, 2, &mo) || digits_(s + 8, 2, &d) ||
      digits_(s + 11, 2, &h) || digits_(s + 14, 2, &mi) || digits_(s + 17, 2, &se))
    return -1;
  size_t i = 19;
  int64_t frac_us = 0, scale = 100000;
  if (i < len && s[i] == '.') {
    for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
      frac_us += (s[i] - '0') * scale;
      scale /= 10;
    }
  }
  if (i >= len || s[i] != 'Z')
    return -1;
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  *us = (int64_t)timegm(&tm) * 1000000 + frac_us;
  return 0;
}
