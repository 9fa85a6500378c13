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

/* Every message's latency against changed_at, kept to be re-referenced to
 * its transaction's commit time after the run (feed_log_commit_hist):
 * 6 bytes a message (µs as uint32, at most ~71 min; the transaction as the
 * index of its distinct changed_at). Transactions beyond 65,535 or latencies
 * beyond the range are counted in `dropped`. */
struct feed_log {
  uint32_t *lat_us; /* receive time - changed_at, µs */
  uint16_t *tx;     /* index into refs */
  size_t n, cap;    /* messages kept, room */
  int64_t *refs;    /* distinct changed_at values seen, µs */
  size_t nrefs, cap_refs;
  size_t last_ref;  /* where the previous lookup hit */
  uint64_t dropped; /* messages not kept */
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

/* Keeps one message (see struct feed_log); the log grows as needed. */
void feed_log_add(struct feed_log *l, int64_t ref_us, int64_t now_us);
/* Fills h with receive time - commit time for every message kept, from
 * path: lines "CHANGED_AT_US COMMIT_US" (the script's lookup of
 * pg_xact_commit_timestamp of each transaction's change rows). A message
 * whose changed_at has no line (within 2 µs: the script's values come
 * through extract(epoch)) is counted in *missing. -1 when the file cannot
 * be read (h unchanged), else 0. */
int feed_log_commit_hist(const struct feed_log *l, const char *path, struct feed_hist *h,
                         uint64_t *missing);
void feed_log_free(struct feed_log *l);

/* Reads the stop file if not yet known; 1 when known. */
int feed_stop_poll(struct feed_stop *st);

/* 1 when the stop is known and every subscriber reached final_version. */
int feed_all_done(const struct feed_stop *st, const struct feed_sub *subs, size_t n);

/* Prints "KIND progress: M messages, D of N subscribers at the final
 * version" on stderr (for the raw log). */
void feed_progress(const char *kind, const struct feed_stop *st, const struct feed_sub *subs,
                   size_t n);

/* Writes "ready" to path once (the script waits for it); no-op for NULL. */
void feed_mark_ready(const char *path);

/* Prints the summary line on stdout:
 *   kind=K subscribers=N ready=R complete=C messages=M expected=E
 *   disorder=D dups=U short=S reconnects=X p50_ms= p99_ms= p999_ms=
 *   max_ms= negative=G timed_out=0|1
 * and, with hc (latency against the commit time; NULL: none),
 *   c_p50_ms= c_p99_ms= c_p999_ms= c_max_ms= c_negative= c_missing=M
 * then cpu_s= (the client's own CPU, user + system).
 * "complete": subscribers whose count is exactly the expected one and
 * who saw no disorder or duplicate. Then up to 10 short subscribers on
 * stderr. */
void feed_report(const char *kind, const struct feed_stop *st, const struct feed_sub *subs,
                 size_t n, const struct feed_hist *h, const struct feed_hist *hc,
                 uint64_t c_missing, int timed_out);

/* Parses an RFC 3339 UTC time "YYYY-MM-DDTHH:MM:SS[.frac]Z" (proto3 JSON
 * Timestamp) into µs since the epoch; 0 on success, -1 on garbage. */
int feed_parse_rfc3339(const char *s, size_t len, int64_t *us);

#endif
