/*
 * ingest_runner: see ingest_runner.h.
 *
 * Runner thread protocol (all fields of struct ingest_runner under mu):
 * a caller posts a request (req_ticket++), the thread answers it
 * (ans_ticket = req_ticket, ans_*), broadcasts, then executes the run with
 * cur_run set, so callers arriving meanwhile get cur_run at once.
 */
#include "ingest_runner.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "date.h"
#include "ingest_arena.h"
#include "ingest_parse.h"
#include "log.h"
#include "store_ingest.h"
#include "xalloc.h"

/* ------------------------------------------------------------------ */
/* Library steps                                                      */
/* ------------------------------------------------------------------ */

enum store_status ingest_run_begin(struct store *s, int32_t start_day, int days, const char *owner,
                                   long long scheduled_since, long long *run_id, int *started) {
  int got = 0;
  *started = 0;
  *run_id = 0;
  enum store_status st = store_ingest_try_lock(s, &got);
  if (st != STORE_OK) {
    return st;
  }
  if (!got) {
    /* Someone else runs; its row may be a moment behind its lock. */
    for (int i = 0; i < 50; i++) {
      st = store_ingest_run_running(s, run_id);
      if (st != STORE_NOT_FOUND) {
        return st;
      }
      usleep(100 * 1000);
    }
    return STORE_CONFLICT;
  }
  int stale = 0;
  st =
      store_ingest_fail_stale(s, "interrupted: its server stopped before the run finished", &stale);
  if (st == STORE_OK && stale > 0) {
    LOG_EVENT(LOG_WARN, "ingest_stale_runs_failed", LF_INT("runs", stale));
  }
  if (st == STORE_OK && scheduled_since > 0) {
    int exists = 0;
    st = store_ingest_run_started_since(s, scheduled_since, &exists);
    if (st == STORE_OK && exists) {
      (void)store_ingest_unlock(s);
      return STORE_OK;
    }
  }
  if (st == STORE_OK) {
    char date[11];
    date_format(start_day, date);
    st = store_ingest_run_create(s, date, days, owner, run_id);
  }
  if (st != STORE_OK) {
    (void)store_ingest_unlock(s);
    return st;
  }
  *started = 1;
  return STORE_OK;
}

/*
 * A run is a two-stage pipeline: the fetch thread (the caller of
 * ingest_run_execute) drives the transfers and parses each complete day into
 * a batch; a writer thread writes the batches, in the order the days
 * complete (up to days_in_flight download at once, so not strictly by
 * date), on the run's session. A bounded queue between them lets the next days download and
 * parse while PostgreSQL writes the previous one, and bounds memory. Only the
 * writer uses the session until it is joined.
 */
#define WRITE_QUEUE_DEPTH 2

struct work_ {
  struct work_ *next;
  char date[11];
  long long requests, retries;
  struct row_batch batch; /* when error == NULL */
  char *error;            /* the day failed (fetch or parse) */
  /* the raw body hashes of the day's sources, stored with its rows */
  struct store_ingest_source_hash *hashes;
  size_t n_hashes;
  int skipped;                         /* every body matched the stored hash: not parsed */
  long long skip_episodes, skip_shows; /* the stored counts when skipped */
};

/* Bound of a run's show memo (ingest_parse.h): about 2.2 KiB per show (the
 * benchmark's 8,000 shows: 16 MiB), so about 15,000 shows fit; a run with
 * more parses the rest in full. Within the server pod's 128 MiB limit
 * together with the local reply cache (helm/tvmaze/values.yaml). */
#define SHOW_MEMO_MAX_BYTES ((size_t)32 << 20)

struct exec_ {
  struct store *s;
  long long run_id;
  int ok, failed; /* writer thread only until joined */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct work_ *head, *tail;
  int queued;
  int closed; /* no more work */
  const atomic_int *stop;
  const struct ingest_fetch_config *fetch;
  /* source hashes stored before the run (read-only while it executes) */
  struct store_ingest_stored_hash *stored;
  size_t n_stored;
  struct store_ingest_memo *memo; /* rows committed by this run (writer only) */
  char from[11], to[11];          /* the run's first and last date */
  /* show objects this run normalized (fetch thread only; the batches'
   * rows point into it, so it outlives the writer) */
  struct ingest_show_memo *shows;
  atomic_int lock_lost; /* the run lock is gone: write nothing more */
};

static void fail_day_(struct exec_ *x, const struct work_ *w, const char *error);

/* The day failed on the database: its error is the store's last one. */
static void fail_day_db_(struct exec_ *x, const struct work_ *w) {
  char err[512];
  snprintf(err, sizeof err, "%s: database: %s", w->date, store_last_error(x->s));
  fail_day_(x, w, err);
}

static void fail_day_(struct exec_ *x, const struct work_ *w, const char *error) {
  enum store_status st =
      store_ingest_fail_day(x->s, x->run_id, w->date, error, w->requests, w->retries);
  LOG_EVENT(LOG_WARN, "ingest_day_failed", LF_INT("run", x->run_id), LF_STR("date", w->date),
            LF_STR("error", error), LF_STR("record", store_status_name(st)));
  x->failed++;
}

/* Writer: before a day's statements, makes sure this session still holds
 * the run lock (a dropped connection loses it; store_exec reconnects
 * silently). 1: go ahead. 0: the day is not written: either it was
 * recorded as failed (the check itself failed) or the lock is lost, which
 * ends the run (x->lock_lost; the fetch stops at its next day). */
static int keep_lock_(struct exec_ *x, const struct work_ *w) {
  if (atomic_load(&x->lock_lost)) {
    return 0;
  }
  int held = 0, retaken = 0;
  enum store_status st = store_ingest_keep_lock(x->s, x->run_id, &held, &retaken);
  if (st != STORE_OK) {
    fail_day_db_(x, w);
    return 0;
  }
  if (!held) {
    atomic_store(&x->lock_lost, 1);
    LOG_EVENT(LOG_ERROR, "ingest_lock_lost", LF_INT("run", x->run_id), LF_STR("date", w->date),
              LF_STR("effect", "run stopped; another run holds the lock or failed this one"));
    return 0;
  }
  if (retaken) {
    /* Whatever ran while the lock was free may have changed rows (the new
     * memo is not preloaded: each day probes). */
    store_ingest_memo_destroy(x->memo);
    x->memo = store_ingest_memo_create();
    LOG_EVENT(LOG_WARN, "ingest_lock_retaken", LF_INT("run", x->run_id), LF_STR("date", w->date));
  }
  return 1;
}

static void write_day_(struct exec_ *x, struct work_ *w) {
  if (!keep_lock_(x, w)) {
    return;
  }
  if (w->error != NULL) {
    fail_day_(x, w, w->error);
    return;
  }
  if (w->skipped) {
    struct store_ingest_counts c = {.requests = w->requests,
                                    .retries = w->retries,
                                    .episodes_seen = w->skip_episodes,
                                    .episodes_unchanged = w->skip_episodes,
                                    .shows_unchanged = w->skip_shows};
    enum store_status st = store_ingest_skip_day(x->s, x->run_id, w->date, &c);
    if (st != STORE_OK) {
      fail_day_db_(x, w);
      return;
    }
    x->ok++;
    LOG_EVENT(LOG_DEBUG, "ingest_day_skipped", LF_INT("run", x->run_id), LF_STR("date", w->date),
              LF_INT("episodes", c.episodes_seen));
    return;
  }
  const struct row_batch *b = &w->batch;
  struct store_ingest_counts c = {
      .requests = w->requests, .retries = w->retries, .episodes_seen = (long long)b->n_episodes};
  enum store_status st =
      store_ingest_write_day(x->s, x->run_id, w->date, b, w->hashes, w->n_hashes, x->memo, &c);
  if (st != STORE_OK) {
    fail_day_db_(x, w);
    return;
  }
  x->ok++;
  LOG_EVENT(LOG_DEBUG, "ingest_day_done", LF_INT("run", x->run_id), LF_STR("date", w->date),
            LF_INT("episodes", c.episodes_seen), LF_INT("episodes_created", c.episodes_created),
            LF_INT("episodes_updated", c.episodes_updated), LF_BOOL("changed", c.changed));
}

static void work_free_(struct work_ *w) {
  row_batch_release(&w->batch);
  free(w->hashes);
  free(w->error);
  free(w);
}

/* The stored rows' ids for the whole run (else each day probes its own),
 * on the writer's side: it runs while the first day downloads. */
static void preload_(struct exec_ *x) {
  if (store_ingest_memo_preload(x->s, x->memo, x->from, x->to) != STORE_OK) {
    LOG_EVENT(LOG_WARN, "ingest_preload_unavailable", LF_STR("error", store_last_error(x->s)));
  }
}

static void *writer_main_(void *arg) {
  struct exec_ *x = arg;
  preload_(x);
  pthread_mutex_lock(&x->mu);
  for (;;) {
    while (x->head == NULL && !x->closed) {
      pthread_cond_wait(&x->cv, &x->mu);
    }
    struct work_ *w = x->head;
    if (w == NULL) {
      break;
    }
    x->head = w->next;
    if (x->head == NULL) {
      x->tail = NULL;
    }
    x->queued--;
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
    if (x->stop == NULL || !atomic_load(x->stop)) { /* shutting down: drop queued days */
      write_day_(x, w);
    }
    work_free_(w);
    pthread_mutex_lock(&x->mu);
  }
  pthread_mutex_unlock(&x->mu);
  return NULL;
}

/* Fetch thread: queues w for the writer, waiting while the queue is full. */
static void enqueue_(struct exec_ *x, struct work_ *w) {
  pthread_mutex_lock(&x->mu);
  while (x->queued >= WRITE_QUEUE_DEPTH) {
    pthread_cond_wait(&x->cv, &x->mu);
  }
  if (x->tail != NULL) {
    x->tail->next = w;
  } else {
    x->head = w;
  }
  x->tail = w;
  x->queued++;
  pthread_cond_broadcast(&x->cv);
  pthread_mutex_unlock(&x->mu);
}

/* SHA-256 of the normalizer version and a raw body: equal hashes mean the
 * same rows (INGEST_NORMALIZE_VERSION, ingest_parse.h). 0 on failure. */
static int hash_body_(const char *doc, size_t len, unsigned char out[STORE_INGEST_HASH_LEN]) {
  char prefix[64];
  int pn =
      snprintf(prefix, sizeof prefix, "tvmaze-ingest normalize %d\n", INGEST_NORMALIZE_VERSION);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  unsigned int n = 0;
  int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
           EVP_DigestUpdate(ctx, prefix, (size_t)pn) == 1 && EVP_DigestUpdate(ctx, doc, len) == 1 &&
           EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == STORE_INGEST_HASH_LEN;
  EVP_MD_CTX_free(ctx);
  return ok;
}

/* Whether every source of w matches a stored hash of its date, and the
 * stored sources are exactly w's; then the stored day counts go to w. */
static int unchanged_(const struct exec_ *x, struct work_ *w) {
  size_t matched = 0, stored = 0;
  long long eps = 0, shows = 0;
  for (size_t i = 0; i < x->n_stored; i++) {
    const struct store_ingest_stored_hash *r = &x->stored[i];
    if (strcmp(r->date, w->date) != 0) {
      continue;
    }
    stored++;
    eps = r->day_episodes;
    shows = r->day_shows;
    for (size_t j = 0; j < w->n_hashes; j++) {
      if (strcmp(r->h.source, w->hashes[j].source) == 0 &&
          memcmp(r->h.hash, w->hashes[j].hash, STORE_INGEST_HASH_LEN) == 0) {
        matched++;
        break;
      }
    }
  }
  if (w->n_hashes == 0 || stored != w->n_hashes || matched != w->n_hashes) {
    return 0;
  }
  w->skip_episodes = eps;
  w->skip_shows = shows;
  return 1;
}

/* Fetch thread: a day's documents arrived (or its fetch failed): hash, and
 * parse unless every body is the one already stored. */
static int day_cb_(const struct ingest_fetched_day *d, void *user) {
  struct exec_ *x = user;
  struct work_ *w = xcalloc(1, sizeof *w);
  memcpy(w->date, d->date, sizeof w->date);
  w->requests = d->requests;
  w->retries = d->retries;
  row_batch_init(&w->batch);
  if (d->error != NULL) {
    w->error = xasprintf("%s: %s", d->date, d->error);
  } else {
    w->hashes = xcalloc(d->n_docs + 1, sizeof *w->hashes);
    w->n_hashes = d->n_docs;
    for (size_t i = 0; i < d->n_docs; i++) {
      struct store_ingest_source_hash *h = &w->hashes[i];
      snprintf(h->source, sizeof h->source, "%s",
               i == 0 || (int)i > x->fetch->n_countries ? "web" : x->fetch->countries[i - 1]);
      if (!hash_body_(d->docs[i], d->doc_len[i], h->hash)) {
        w->n_hashes = 0; /* no hashes: the day is parsed, and none stored */
        break;
      }
    }
    w->skipped = unchanged_(x, w);
    for (size_t i = 0; !w->skipped && i < d->n_docs; i++) {
      char perr[300];
      size_t before = w->batch.items_seen;
      if (ingest_parse_schedule(&w->batch, x->shows, d->docs[i], d->doc_len[i], perr,
                                sizeof perr) != INGEST_PARSE_OK) {
        w->error = xasprintf("%s: %s schedule: %s", d->date, i == 0 ? "web" : "network", perr);
        row_batch_release(&w->batch);
        break;
      }
      if (i < w->n_hashes) {
        w->hashes[i].items = (long long)(w->batch.items_seen - before);
      }
    }
  }
  enqueue_(x, w);
  return atomic_load(&x->lock_lost); /* nonzero stops the fetch */
}

/* Without a writer thread (pthread_create failed): parse and write inline. */
static int day_cb_sync_(const struct ingest_fetched_day *d, void *user) {
  struct exec_ *x = user;
  day_cb_(d, user);
  pthread_mutex_lock(&x->mu);
  struct work_ *w = x->head;
  x->head = x->tail = NULL;
  x->queued = 0;
  pthread_mutex_unlock(&x->mu);
  if (w != NULL) {
    write_day_(x, w);
    work_free_(w);
  }
  return atomic_load(&x->lock_lost);
}

int ingest_run_execute(struct store *s, const struct ingest_fetch_config *fetch, long long run_id,
                       int32_t start_day, int days, const atomic_int *stop) {
  struct exec_ x = {.s = s,
                    .run_id = run_id,
                    .stop = stop,
                    .fetch = fetch,
                    .memo = store_ingest_memo_create(),
                    .shows = ingest_show_memo_create(SHOW_MEMO_MAX_BYTES)};
  char err[256] = "";
  LOG_EVENT(LOG_INFO, "ingest_run_started", LF_INT("run", run_id), LF_INT("days", days));
  date_format(start_day, x.from);
  date_format(start_day + (days > 0 ? days - 1 : 0), x.to);
  if (store_ingest_load_hashes(s, x.from, x.to, &x.stored, &x.n_stored) != STORE_OK) {
    /* not fatal: every day is parsed and written */
    LOG_EVENT(LOG_WARN, "ingest_hashes_unavailable", LF_STR("error", store_last_error(s)));
  }
  pthread_mutex_init(&x.mu, NULL);
  pthread_cond_init(&x.cv, NULL);
  pthread_t writer;
  int threaded = pthread_create(&writer, NULL, writer_main_, &x) == 0;
  if (!threaded) {
    preload_(&x);
  }
  enum ingest_fetch_status fs = ingest_fetch_days(
      fetch, start_day, days, stop, threaded ? day_cb_ : day_cb_sync_, &x, err, sizeof err);
  pthread_mutex_lock(&x.mu);
  x.closed = 1;
  pthread_cond_broadcast(&x.cv);
  pthread_mutex_unlock(&x.mu);
  if (threaded) {
    pthread_join(writer, NULL);
  }
  pthread_cond_destroy(&x.cv);
  pthread_mutex_destroy(&x.mu);
  free(x.stored);
  store_ingest_memo_destroy(x.memo);
  struct ingest_show_memo_stats ms = ingest_show_memo_stats(x.shows);
  LOG_EVENT(LOG_DEBUG, "ingest_show_memo", LF_INT("run", run_id),
            LF_INT("shows", (long long)ms.shows), LF_INT("bytes", (long long)ms.bytes),
            LF_INT("hits", (long long)ms.hits));
  ingest_show_memo_destroy(x.shows);
  int status;
  const char *error = NULL;
  if (atomic_load(&x.lock_lost)) {
    status = STORE_RUN_FAILED;
    error =
        "stopped: its database session ended, and with it the run lock, which another "
        "run then held (or this run was marked failed)";
  } else if (fs == INGEST_FETCH_STOPPED || (fs == INGEST_FETCH_DONE && x.ok + x.failed < days)) {
    status = STORE_RUN_FAILED;
    error = "interrupted: the server was shutting down";
  } else if (fs == INGEST_FETCH_ERROR) {
    status = STORE_RUN_FAILED;
    error = err;
  } else if (x.failed == 0) {
    status = STORE_RUN_SUCCEEDED;
  } else if (x.ok > 0) {
    status = STORE_RUN_PARTIAL;
  } else {
    status = STORE_RUN_FAILED;
    error = "every day failed";
  }
  enum store_status st = store_ingest_run_finish(s, run_id, status, error);
  (void)store_ingest_unlock(s);
  LOG_EVENT(status == STORE_RUN_SUCCEEDED ? LOG_INFO : LOG_WARN, "ingest_run_finished",
            LF_INT("run", run_id), LF_INT("status", status), LF_INT("days_ok", x.ok),
            LF_INT("days_failed", x.failed), LF_STR("error", error),
            LF_STR("record", store_status_name(st)));
  return status;
}

/* ------------------------------------------------------------------ */
/* Runner thread                                                      */
/* ------------------------------------------------------------------ */

struct ingest_runner {
  struct ingest_runner_config cfg; /* read-only after create */
  pthread_t thread;
  atomic_int stop;      /* destroy asked; read by the fetch loop */
  pthread_mutex_t mu;   /* guards the fields below */
  pthread_cond_t cv;    /* any change of the fields below */
  long long req_ticket; /* requests posted */
  int32_t req_day;      /* the pending request (req_ticket > ans_ticket) */
  int req_days;
  long long ans_ticket; /* requests answered */
  enum store_status ans_status;
  long long ans_run;
  int ans_started;
  long long cur_run; /* run executing now, 0 if none */
};

/* Epoch second of the next daily fire time after now. */
static time_t next_fire_(int at_minute, time_t now) {
  time_t day = now - now % 86400;
  time_t t = day + (time_t)at_minute * 60;
  return t > now ? t : t + 86400;
}

/* Begins and executes one run on the runner thread; mu held on entry/exit. */
static void run_once_(struct ingest_runner *r, struct store *s, int32_t start_day, int days,
                      long long scheduled_since, int answer) {
  long long run_id = 0;
  int started = 0;
  pthread_mutex_unlock(&r->mu);
  enum store_status st =
      ingest_run_begin(s, start_day, days, r->cfg.owner, scheduled_since, &run_id, &started);
  pthread_mutex_lock(&r->mu);
  if (answer) {
    r->ans_ticket = r->req_ticket;
    r->ans_status = st;
    r->ans_run = run_id;
    r->ans_started = started;
  }
  if (st != STORE_OK || !started) {
    if (st != STORE_OK) {
      LOG_EVENT(LOG_WARN, "ingest_begin_failed", LF_STR("status", store_status_name(st)),
                LF_STR("error", store_last_error(s)));
    }
    pthread_cond_broadcast(&r->cv);
    return;
  }
  r->cur_run = run_id;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  (void)ingest_run_execute(s, &r->cfg.fetch, run_id, start_day, days, &r->stop);
  pthread_mutex_lock(&r->mu);
  r->cur_run = 0;
  pthread_cond_broadcast(&r->cv);
}

static void *thread_main_(void *arg) {
  struct ingest_runner *r = arg;
  struct store *s = store_open(r->cfg.database_url);
  /* Fail runs left RUNNING by a dead server, if nobody runs now. */
  int got = 0;
  if (store_ingest_try_lock(s, &got) == STORE_OK && got) {
    int n = 0;
    if (store_ingest_fail_stale(s, "interrupted: its server stopped before the run finished", &n) ==
            STORE_OK &&
        n > 0) {
      LOG_EVENT(LOG_WARN, "ingest_stale_runs_failed", LF_INT("runs", n));
    }
    (void)store_ingest_unlock(s);
  }
  time_t fire = r->cfg.at_minute >= 0 ? next_fire_(r->cfg.at_minute, time(NULL)) : 0;
  pthread_mutex_lock(&r->mu);
  while (!atomic_load(&r->stop)) {
    if (r->req_ticket > r->ans_ticket) {
      run_once_(r, s, r->req_day, r->req_days, 0, 1);
      continue;
    }
    time_t now = time(NULL);
    if (fire != 0 && now >= fire) {
      LOG_EVENT(LOG_INFO, "ingest_scheduled", LF_INT("at", (long long)fire));
      /* a run started by any replica since a minute before the fire time
       * counts as today's scheduled run */
      run_once_(r, s, date_today_utc(), r->cfg.default_days, (long long)fire - 60, 0);
      fire = next_fire_(r->cfg.at_minute, time(NULL));
      continue;
    }
    if (fire != 0) {
      struct timespec ts = {.tv_sec = fire, .tv_nsec = 0};
      pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    } else {
      pthread_cond_wait(&r->cv, &r->mu);
    }
  }
  /* answer a request that raced with shutdown */
  if (r->req_ticket > r->ans_ticket) {
    r->ans_ticket = r->req_ticket;
    r->ans_status = STORE_UNAVAILABLE;
    pthread_cond_broadcast(&r->cv);
  }
  pthread_mutex_unlock(&r->mu);
  store_close(s);
  return NULL;
}

struct ingest_runner *ingest_runner_create(const struct ingest_runner_config *cfg) {
  struct ingest_runner *r = xcalloc(1, sizeof *r);
  r->cfg = *cfg;
  atomic_init(&r->stop, 0);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  ingest_arena_install(); /* before any other thread uses jansson */
  if (pthread_create(&r->thread, NULL, thread_main_, r) != 0) {
    LOG_EVENT(LOG_ERROR, "ingest_runner_thread_failed", LF_INT("errno", errno));
    abort();
  }
  return r;
}

void ingest_runner_destroy(struct ingest_runner *r) {
  if (r == NULL) {
    return;
  }
  pthread_mutex_lock(&r->mu);
  atomic_store(&r->stop, 1);
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  pthread_join(r->thread, NULL);
  pthread_cond_destroy(&r->cv);
  pthread_mutex_destroy(&r->mu);
  free(r);
}

enum store_status ingest_runner_start(struct ingest_runner *r, int32_t start_day, int days,
                                      long long *run_id, int *started) {
  enum store_status st = STORE_OK;
  *started = 0;
  *run_id = 0;
  pthread_mutex_lock(&r->mu);
  if (r->cur_run != 0) {
    *run_id = r->cur_run;
    pthread_mutex_unlock(&r->mu);
    return STORE_OK;
  }
  int mine = 0;
  if (r->req_ticket == r->ans_ticket) {
    r->req_ticket++;
    r->req_day = start_day;
    r->req_days = days;
    mine = 1;
    pthread_cond_broadcast(&r->cv);
  }
  long long ticket = r->req_ticket;
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 30;
  while (r->ans_ticket < ticket && !atomic_load(&r->stop)) {
    if (pthread_cond_timedwait(&r->cv, &r->mu, &deadline) == ETIMEDOUT) {
      break;
    }
  }
  if (r->ans_ticket >= ticket) {
    st = r->ans_status;
    *run_id = r->ans_run;
    *started = mine && r->ans_started;
  } else {
    st = STORE_UNAVAILABLE;
  }
  pthread_mutex_unlock(&r->mu);
  return st;
}
