/*
 * metrics: the server's counters (per worker, relaxed atomics) and their
 * rendering in Prometheus text 0.0.4. See metrics.h; the HTTP listener is
 * metrics_http.c. Tests: tests/integration/test_server_metrics.sh.
 */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "metrics_http.h"
#include "metrics_internal.h"
#include "otel_tracer.h"
#include "procstat.h"
#include "promtext.h"
#include "store_runs.h"
#include "xalloc.h"

/* go-grpc-prometheus's default buckets (prometheus.DefBuckets), seconds. */
static const double buckets_[METRICS_NBUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                  0.5,   1,    2.5,   5,    10};

/* gRPC code names as go-grpc-prometheus prints them (codes.Code.String()). */
static const char *const code_names_[METRICS_NCODES] = {
    "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
    "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
    "DataLoss", "Unauthenticated"};

static double now_epoch_(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mono_s_(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct server_metrics *metrics_create(int workers, const char *database_url) {
  struct server_metrics *m = xcalloc(1, sizeof *m);
  m->n_workers = workers > 0 ? workers : 1;
  /* a cache line per worker: alignas(64) needs an aligned block */
  size_t bytes = (size_t)m->n_workers * sizeof *m->workers;
  m->workers = aligned_alloc(alignof(struct metrics_worker_), bytes);
  if (m->workers == NULL) {
    abort();
  }
  memset(m->workers, 0, bytes);
  m->database_url = database_url != NULL ? xstrdup(database_url) : NULL;
  m->created_epoch = now_epoch_();
  return m;
}

void metrics_add_service(struct server_metrics *m, const ProtobufCServiceDescriptor *desc) {
  if (m->n_services == METRICS_MAX_SERVICES) {
    return;
  }
  m->services[m->n_services] = desc;
  m->first_method[m->n_services] = m->n_methods;
  m->n_services++;
  m->n_methods += desc->n_methods;
  /* Cells are allocated per worker, apart from each other (no shared lines
   * between workers); registration comes before any call. */
  for (int w = 0; w < m->n_workers; w++) {
    struct metrics_worker_ *wk = &m->workers[w];
    free(wk->cells);
    wk->cells = xcalloc(m->n_methods, sizeof *wk->cells);
  }
}

void metrics_observe(const struct rpc_call_report *r, void *user) {
  struct server_metrics *m = user;
  if (r->worker_index < 0 || r->worker_index >= m->n_workers) {
    return;
  }
  size_t svc = 0;
  while (svc < m->n_services && m->services[svc] != r->service) {
    svc++;
  }
  if (svc == m->n_services || r->method_index >= r->service->n_methods) {
    return;
  }
  struct metrics_worker_ *wk = &m->workers[r->worker_index];
  struct metrics_cell_ *c = &wk->cells[m->first_method[svc] + r->method_index];
  /* a server stream holds no worker while it waits: not "busy" */
  if (r->event == RPC_CALL_STARTED) {
    if (!r->streaming) {
      atomic_store_explicit(&wk->busy, 1, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&c->started, 1, memory_order_relaxed);
    return;
  }
  unsigned code = (unsigned)r->code < METRICS_NCODES ? (unsigned)r->code : RPC_UNKNOWN;
  double s = (double)r->duration_ns / 1e9;
  size_t b = 0;
  while (b < METRICS_NBUCKETS && s > buckets_[b]) {
    b++;
  }
  atomic_fetch_add_explicit(&c->bucket[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&c->sum_ns,
                            (unsigned long long)(r->duration_ns > 0 ? r->duration_ns : 0),
                            memory_order_relaxed);
  atomic_fetch_add_explicit(&c->handled[code], 1, memory_order_relaxed);
  if (!r->streaming) {
    atomic_store_explicit(&wk->busy, 0, memory_order_relaxed);
  }
}

void metrics_worker_connected(struct server_metrics *m, int worker, int connected) {
  if (worker >= 0 && worker < m->n_workers) {
    atomic_store_explicit(&m->workers[worker].connected, connected ? 1 : 0, memory_order_relaxed);
  }
}

/* ------------------------------------------------------------------ */
/* Rendering                                                          */
/* ------------------------------------------------------------------ */

static unsigned long long load_(atomic_ullong *a) {
  return atomic_load_explicit(a, memory_order_relaxed);
}

/* grpc_service="...",grpc_method="..." of method i (into b, reset first). */
static void method_labels_(const struct server_metrics *m, size_t i, struct strbuf *b) {
  strbuf_reset(b);
  size_t svc = 0;
  while (svc + 1 < m->n_services && m->first_method[svc + 1] <= i) {
    svc++;
  }
  const ProtobufCServiceDescriptor *d = m->services[svc];
  strbuf_append(b, "grpc_service=\"");
  prom_label_value(b, d->name);
  strbuf_append(b, "\",grpc_method=\"");
  prom_label_value(b, d->methods[i - m->first_method[svc]].name);
  strbuf_append(b, "\"");
}

static void render_grpc_(struct server_metrics *m, struct strbuf *b) {
  struct strbuf lab, full;
  strbuf_init(&lab);
  strbuf_init(&full);
  prom_family(b, "grpc_server_started_total", "counter",
              "Total number of RPCs started on the server.");
  for (size_t i = 0; i < m->n_methods; i++) {
    unsigned long long n = 0;
    for (int w = 0; w < m->n_workers; w++) {
      n += load_(&m->workers[w].cells[i].started);
    }
    method_labels_(m, i, &lab);
    strbuf_reset(&full);
    strbuf_appendf(&full, "grpc_type=\"unary\",%s", lab.data);
    prom_sample_u64(b, "grpc_server_started_total", full.data, n);
  }
  prom_family(b, "grpc_server_handled_total", "counter",
              "Total number of RPCs completed on the server, regardless of success or failure.");
  for (size_t i = 0; i < m->n_methods; i++) {
    method_labels_(m, i, &lab);
    for (unsigned code = 0; code < METRICS_NCODES; code++) {
      unsigned long long n = 0;
      for (int w = 0; w < m->n_workers; w++) {
        n += load_(&m->workers[w].cells[i].handled[code]);
      }
      if (n == 0 && code != RPC_OK) {
        continue; /* OK always (pre-registered); other codes once seen */
      }
      strbuf_reset(&full);
      strbuf_appendf(&full, "grpc_type=\"unary\",%s,grpc_code=\"%s\"", lab.data, code_names_[code]);
      prom_sample_u64(b, "grpc_server_handled_total", full.data, n);
    }
  }
  prom_family(b, "grpc_server_handling_seconds", "histogram",
              "Histogram of response latency (seconds) of gRPC that had been application-level "
              "handled by the server.");
  for (size_t i = 0; i < m->n_methods; i++) {
    unsigned long long counts[METRICS_NBUCKETS + 1] = {0};
    unsigned long long sum_ns = 0;
    for (int w = 0; w < m->n_workers; w++) {
      struct metrics_cell_ *c = &m->workers[w].cells[i];
      for (size_t k = 0; k <= METRICS_NBUCKETS; k++) {
        counts[k] += load_(&c->bucket[k]);
      }
      sum_ns += load_(&c->sum_ns);
    }
    method_labels_(m, i, &lab);
    strbuf_reset(&full);
    strbuf_appendf(&full, "grpc_type=\"unary\",%s", lab.data);
    prom_histogram(b, "grpc_server_handling_seconds", full.data, buckets_, counts, METRICS_NBUCKETS,
                   (double)sum_ns / 1e9);
  }
  strbuf_release(&lab);
  strbuf_release(&full);
}

/* Reads the freshness and the data version from the database when the
 * cached ones are older than METRICS_DB_CACHE_S (listener thread only). A
 * failed read keeps the values known (absent until a first read). */
static void db_refresh_(struct server_metrics *m) {
  if (m->database_url == NULL) {
    return;
  }
  double now = mono_s_();
  if (m->db_read_at != 0 && now - m->db_read_at < METRICS_DB_CACHE_S) {
    return;
  }
  m->db_read_at = now;
  if (m->store == NULL) {
    m->store = store_open(m->database_url);
  }
  /* A session that died while idle (a database restart) fails its next
   * statement and is dropped: the read is tried once more, on a new one. */
  double last = 0;
  enum store_status st = store_ingest_last_success(m->store, &last);
  if (st == STORE_UNAVAILABLE) {
    st = store_ingest_last_success(m->store, &last);
  }
  if (st == STORE_OK) {
    m->last_success = last;
    m->has_last_success = 1;
  }
  int64_t gen = 0;
  if (store_generation(m->store, &gen) == STORE_OK) {
    m->data_version = gen;
    m->has_data_version = 1;
  }
}

static void render_store_(struct server_metrics *m, struct strbuf *b) {
  unsigned long long in_use = 0, idle = 0;
  for (int w = 0; w < m->n_workers; w++) {
    int busy = atomic_load_explicit(&m->workers[w].busy, memory_order_relaxed);
    int conn = atomic_load_explicit(&m->workers[w].connected, memory_order_relaxed);
    in_use += busy != 0;
    idle += busy == 0 && conn != 0;
  }
  prom_family(b, "tvmaze_db_pool_connections", "gauge",
              "PostgreSQL worker connections: serving a call (in_use) or open and waiting (idle).");
  prom_sample_u64(b, "tvmaze_db_pool_connections", "state=\"in_use\"", in_use);
  prom_sample_u64(b, "tvmaze_db_pool_connections", "state=\"idle\"", idle);
  prom_family(b, "tvmaze_db_pool_max_connections", "gauge",
              "The pool's size: one connection per gRPC worker (TVMAZE_WORKERS).");
  prom_sample_u64(b, "tvmaze_db_pool_max_connections", NULL, (unsigned long long)m->n_workers);
  struct store_counters sc;
  store_counters_get(&sc);
  prom_family(b, "tvmaze_db_errors_total", "counter",
              "Failed database statements (no or broken connection included) and failed "
              "connects, every connection of the process.");
  prom_sample_u64(b, "tvmaze_db_errors_total", NULL, sc.errors);
  prom_family(b, "tvmaze_db_reconnects_total", "counter",
              "Database connections made again after a previous one of the same owner.");
  prom_sample_u64(b, "tvmaze_db_reconnects_total", NULL, sc.reconnects);

  static const struct {
    int status;
    const char *name;
  } runs[] = {{STORE_RUN_SUCCEEDED, "SUCCEEDED"},
              {STORE_RUN_PARTIAL, "PARTIAL"},
              {STORE_RUN_FAILED, "FAILED"}};
  prom_family(b, "tvmaze_ingest_runs_total", "counter",
              "Ingest runs this process ended (or marked FAILED as interrupted), by status.");
  for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
    char lab[32];
    snprintf(lab, sizeof lab, "status=\"%s\"", runs[i].name);
    prom_sample_u64(b, "tvmaze_ingest_runs_total", lab, store_ingest_runs_ended(runs[i].status));
  }
  db_refresh_(m);
  if (m->has_last_success) {
    prom_family(b, "tvmaze_ingest_last_success_timestamp_seconds", "gauge",
                "Unix time at which the newest SUCCEEDED ingest run finished (ingest_runs); 0 if "
                "none did.");
    prom_sample_double(b, "tvmaze_ingest_last_success_timestamp_seconds", NULL, m->last_success);
  }
  if (m->has_data_version) {
    prom_family(b, "tvmaze_data_version", "gauge",
                "The data version the server knows (today the data generation).");
    prom_sample_u64(b, "tvmaze_data_version", NULL, (unsigned long long)m->data_version);
  }
}

void metrics_set_tracer(struct server_metrics *m, struct otel_tracer *t) {
  m->tracer = t;
}

void metrics_render(struct server_metrics *m, struct strbuf *b) {
  render_grpc_(m, b);
  render_store_(m, b);
  procstat_render(b, m->created_epoch);
  if (m->tracer != NULL) {
    otel_tracer_render_metrics(m->tracer, b);
  }
}

static void render_cb_(void *user, struct strbuf *b) {
  metrics_render(user, b);
}

int metrics_listen(struct server_metrics *m, const char *addr, int *port, char *err,
                   size_t errlen) {
  if (m->http != NULL) {
    snprintf(err, errlen, "the exporter already listens");
    return -1;
  }
  m->http = metrics_http_start(addr, render_cb_, m, port, err, errlen);
  return m->http != NULL ? 0 : -1;
}

void metrics_destroy(struct server_metrics *m) {
  if (m == NULL) {
    return;
  }
  metrics_http_stop(m->http);
  for (int w = 0; w < m->n_workers; w++) {
    free(m->workers[w].cells);
  }
  free(m->workers);
  store_close(m->store);
  free(m->database_url);
  free(m);
}
