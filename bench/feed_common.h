/*
 * feed_common: what the change-feed benchmark clients (bench/changes.sh:
 * feed_grpc.c, feed_sse.c, feed_listen.c) share: per-subscriber delivery
 * bookkeeping, a latency histogram, the stop file and the summary line.
 *
 * Per subscriber: messages counted, the last version seen, versions that
 * did not increase (order violations; one equal to the last is counted as a
 * duplicate instead), reconnects. Latency = receive time (CLOCK_REALTIME)
 * minus the change's reference time (changed_at), in a log-linear
 * histogram: 16 buckets per power of two of microseconds (~6 % wide), so
 * 10M messages cost no memory and no output file.
 *
 * Stop file (written by the script after the re-ingest): one line
 * "FINAL_VERSION EXPECTED_COUNT". A client is done when every subscriber
 * has seen FINAL_VERSION (or when its timeout passes); it then prints one
 * summary line on stdout (see feed_report) and the short subscribers on
 * stderr.
 *
 * Single-threaded: every function is called from the client's one loop.
 */
#ifndef TVMAZE_BENCH_FEED_COMMON_H
#define TVMAZE_BENCH_FEED_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define FEED_HIST_BUCKETS (64 * 16)

struct feed_hist {
  uint64_t n;                         /* samples */
  uint64_t bucket[FEED_HIST_BUCKETS]; /* see feed_hist_add */
  int64_t max_us;                     /* largest sample */
  int64_t negative;                   /* samples below 0 (clock skew), counted as 0 */
};

struct feed_sub {
  int64_t last;       /* last version received (the start version at first) */
  uint64_t count;     /* changes received */
  uint64_t disorder;  /* versions below the last one */
  uint64_t dups;      /* versions equal to the last one */
  uint64_t reconnect; /* streams restarted after an end */
  int ready;          /* the stream is established (headers / LISTEN done) */
};

struct feed_stop {
  const char *path; /* the stop file */
  int64_t final_version;
  uint64_t expected; /* changes with version in (start, final] */
  int known;         /* the file was read */
};

/* Microseconds since the epoch, CLOCK_REALTIME (the reference's clock). */
int64_t feed_now_us(void);

void feed_hist_add(struct feed_hist *h, int64_t us);
/* The value (µs, bucket midpoint) below which a fraction q of samples lie;
 * 0 when empty. */
double feed_hist_quantile(const struct feed_hist *h, double q);

/* One change of version v with reference time ref_us arrived for s at
 * now_us: counts it, checks the order, adds the latency to h. */
void feed_sub_change(struct feed_sub *s, struct feed_hist *h, int64_t v, int64_t ref_us,
                     int64_t now_us);

/* Reads the stop file if not yet known; 1 when known. */
int feed_stop_poll(struct feed_stop *st);

/* 1 when the stop is known and every subscriber reached final_version. */
int feed_all_done(const struct feed_stop *st, const struct feed_sub *subs, size_t n);

/* Writes "ready" to path once (the script waits for it); no-op for NULL. */
void feed_mark_ready(const char *path);

/* Prints the summary line on stdout:
 *   kind=K subscribers=N ready=R complete=C messages=M expected=E
 *   disorder=D dups=U short=S reconnects=X p50_ms= p99_ms= p999_ms=
 *   max_ms= negative=G timed_out=0|1
 * "complete": subscribers whose count is exactly the expected one and
 * who saw no disorder or duplicate. Then up to 10 short subscribers on
 * stderr. */
void feed_report(const char *kind, const struct feed_stop *st, const struct feed_sub *subs,
                 size_t n, const struct feed_hist *h, int timed_out);

/* Parses an RFC 3339 UTC time "YYYY-MM-DDTHH:MM:SS[.frac]Z" (proto3 JSON
 * Timestamp) into µs since the epoch; 0 on success, -1 on garbage. */
int feed_parse_rfc3339(const char *s, size_t len, int64_t *us);

#endif
