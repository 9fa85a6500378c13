/*
 * feed_listen: the anchor of bench/changes.sh: N libpq connections doing
 * LISTEN on the channel the ingest writer NOTIFYs (tvmaze_generation,
 * payload = the data version after the transaction: migrations 010-012),
 * all in one poll(2) loop. Each notification is recorded (listener,
 * version, receive time: CLOCK_REALTIME); after the stop, the reference of
 * each version (its change's changed_at, the same reference the gRPC and
 * SSE clients use) is looked up in `changes` and the latencies go into the
 * histogram of feed_common.h.
 *
 * "expected" here is the number of distinct versions notified to any
 * listener (one per writing transaction); a listener is complete when it
 * got each of them once, in order.
 *
 * With track_commit_timestamp = on, the latencies are also given against
 * each version's commit time (pg_xact_commit_timestamp of its row).
 *
 * Usage: tvmaze-feed-listen --db URI --listeners N --after V --stop FILE
 *          [--ready FILE] [--timeout S]
 * Prints the summary line of feed_report on stdout; exit 0 when it ran, 1
 * when a connection failed, 2 on bad usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed_common.h"
#include "xalloc.h"

struct note {
  uint32_t listener;
  int64_t version;
  int64_t at_us;
};

static int cmp_i64_(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void usage_(void) {
  fputs(
      "usage: tvmaze-feed-listen --db URI --listeners N --after V --stop FILE "
      "[--ready FILE] [--timeout S]\n",
      stderr);
  exit(2);
}

int main(int argc, char **argv) {
  const char *db = NULL, *stop_path = NULL, *ready_path = NULL;
  long n = 0, timeout_s = 600;
  long long after = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (strcmp(k, "--db") == 0)
      db = v;
    else if (strcmp(k, "--listeners") == 0)
      n = strtol(v, NULL, 10);
    else if (strcmp(k, "--after") == 0)
      after = strtoll(v, NULL, 10);
    else if (strcmp(k, "--stop") == 0)
      stop_path = v;
    else if (strcmp(k, "--ready") == 0)
      ready_path = v;
    else if (strcmp(k, "--timeout") == 0)
      timeout_s = strtol(v, NULL, 10);
    else
      usage_();
  }
  if (db == NULL || stop_path == NULL || n <= 0)
    usage_();

  int rc = 1;
  PGconn **cs = xcalloc((size_t)n, sizeof *cs);
  struct pollfd *pfd = xcalloc((size_t)n, sizeof *pfd);
  struct feed_sub *subs = xcalloc((size_t)n, sizeof *subs);
  size_t notes_n = 0, notes_cap = 4096;
  struct note *notes = xmalloc(notes_cap * sizeof *notes);
  int64_t *vers = NULL;
  for (long i = 0; i < n; i++) {
    cs[i] = PQconnectdb(db);
    if (PQstatus(cs[i]) != CONNECTION_OK) {
      fprintf(stderr, "feed_listen: connection %ld: %s", i, PQerrorMessage(cs[i]));
      goto out;
    }
    PGresult *r = PQexec(cs[i], "LISTEN tvmaze_generation");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
      fprintf(stderr, "feed_listen: LISTEN %ld: %s", i, PQerrorMessage(cs[i]));
      goto out;
    }
    pfd[i].fd = PQsocket(cs[i]);
    pfd[i].events = POLLIN;
    subs[i].last = after;
    subs[i].ready = 1;
  }
  feed_mark_ready(ready_path);

  struct feed_stop stop = {.path = stop_path};
  int64_t deadline = feed_now_us() + (int64_t)timeout_s * 1000000;
  int timed_out = 0;
  for (;;) {
    int k = poll(pfd, (nfds_t)n, 200);
    int64_t now = feed_now_us();
    for (long i = 0; k > 0 && i < n; i++) {
      if (!(pfd[i].revents & (POLLIN | POLLERR | POLLHUP)))
        continue;
      if (!PQconsumeInput(cs[i])) {
        fprintf(stderr, "feed_listen: listener %ld: %s", i, PQerrorMessage(cs[i]));
        pfd[i].fd = -1;
        continue;
      }
      PGnotify *nt;
      while ((nt = PQnotifies(cs[i])) != NULL) {
        if (notes_n == notes_cap) {
          notes_cap *= 2;
          notes = xrealloc(notes, notes_cap * sizeof *notes);
        }
        notes[notes_n++] = (struct note){(uint32_t)i, strtoll(nt->extra, NULL, 10), now};
        PQfreemem(nt);
      }
    }
    /* Per-listener progress (the order check waits for the references). */
    for (size_t j = 0; j < notes_n; j++)
      if (notes[j].version > subs[notes[j].listener].last)
        subs[notes[j].listener].last = notes[j].version;
    feed_stop_poll(&stop);
    if (feed_all_done(&stop, subs, (size_t)n))
      break;
    if (now > deadline) {
      timed_out = 1;
      break;
    }
  }

  /* The references: changed_at of every version notified. */
  vers = xmalloc((notes_n + 1) * sizeof *vers);
  for (size_t j = 0; j < notes_n; j++)
    vers[j] = notes[j].version;
  qsort(vers, notes_n, sizeof *vers, cmp_i64_);
  size_t nv = 0;
  for (size_t j = 0; j < notes_n; j++)
    if (nv == 0 || vers[nv - 1] != vers[j])
      vers[nv++] = vers[j];
  size_t cap = nv * 21 + 3, len = 0;
  char *arr = xmalloc(cap);
  arr[len++] = '{';
  for (size_t j = 0; j < nv; j++)
    len += (size_t)snprintf(arr + len, cap - len, "%s%" PRId64, j ? "," : "", vers[j]);
  arr[len++] = '}';
  arr[len] = '\0';
  const char *params[1] = {arr};
  PGresult *r = PQexecParams(cs[0],
                             "SELECT version, (extract(epoch FROM changed_at) * 1000000)::bigint"
                             " FROM changes WHERE version = ANY($1::bigint[]) ORDER BY version",
                             1, NULL, params, NULL, NULL, 0);
  /* The commit times (track_commit_timestamp = on; else no such figures). */
  PGresult *rc_ = PQexecParams(
      cs[0],
      "SELECT version, (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000000)::bigint"
      " FROM changes WHERE version = ANY($1::bigint[])",
      1, NULL, params, NULL, NULL, 0);
  xfree(arr);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    fprintf(stderr, "feed_listen: reference lookup: %s", PQerrorMessage(cs[0]));
    PQclear(r);
    PQclear(rc_);
    goto out;
  }
  int rows = PQntuples(r);
  int64_t *refs = xcalloc(nv + 1, sizeof *refs);
  for (int t = 0; t < rows; t++) {
    int64_t v = strtoll(PQgetvalue(r, t, 0), NULL, 10);
    int64_t *p = bsearch(&v, vers, nv, sizeof *vers, cmp_i64_);
    if (p != NULL)
      refs[p - vers] = strtoll(PQgetvalue(r, t, 1), NULL, 10);
  }
  PQclear(r);
  int64_t *commits = NULL;
  if (PQresultStatus(rc_) == PGRES_TUPLES_OK) {
    commits = xcalloc(nv + 1, sizeof *commits);
    for (int t = 0; t < PQntuples(rc_); t++) {
      int64_t v = strtoll(PQgetvalue(rc_, t, 0), NULL, 10);
      int64_t *p = bsearch(&v, vers, nv, sizeof *vers, cmp_i64_);
      if (p != NULL && !PQgetisnull(rc_, t, 1))
        commits[p - vers] = strtoll(PQgetvalue(rc_, t, 1), NULL, 10);
    }
  } else {
    fprintf(stderr, "feed_listen: no commit times: %s", PQresultErrorMessage(rc_));
  }
  PQclear(rc_);
  if ((size_t)rows != nv)
    fprintf(stderr, "feed_listen: %zu versions notified, %d found in changes\n", nv, rows);

  struct feed_hist *h = xcalloc(1, sizeof *h), *hc = xcalloc(1, sizeof *hc);
  uint64_t c_missing = 0;
  for (long i = 0; i < n; i++)
    subs[i].last = after;
  for (size_t j = 0; j < notes_n; j++) {
    int64_t *p = bsearch(&notes[j].version, vers, nv, sizeof *vers, cmp_i64_);
    feed_sub_change(&subs[notes[j].listener], h, notes[j].version, refs[p - vers], notes[j].at_us);
    if (commits != NULL && commits[p - vers] != 0)
      feed_hist_add(hc, notes[j].at_us - commits[p - vers]);
    else
      c_missing++;
  }
  /* Complete = every distinct version notified, once each. */
  struct feed_stop rep = stop;
  rep.expected = nv;
  if (!rep.known && nv > 0) {
    rep.known = 1;
    rep.final_version = vers[nv - 1];
  }
  feed_report("listen", &rep, subs, (size_t)n, h, commits != NULL ? hc : NULL, c_missing,
              timed_out);
  xfree(h);
  xfree(hc);
  xfree(commits);
  xfree(refs);
  rc = 0;
out:
  for (long i = 0; i < n; i++)
    PQfinish(cs[i]);
  xfree(vers);
  xfree(notes);
  xfree(subs);
  xfree(pfd);
  xfree(cs);
  return rc;
}
