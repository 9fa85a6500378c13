/*
 * tvmaze-server: the gRPC server (Shows, Analytics, Ingest, Auth, health,
 * reflection; every tvmaze.v1 call passes the API-key gate, auth_gate.h)
 * and the daily ingestion schedule.
 *
 *   tvmaze-server [FLAGS] [serve]     migrate, then serve until SIGTERM/SIGINT
 *   tvmaze-server [FLAGS] migrate     apply pending migrations and exit
 *   tvmaze-server [FLAGS] keys ...    API keys (keys_cmd.c)
 *   tvmaze-server --version | --help
 *
 * Configuration: config.h. Exit status: 0 after a clean drain, 1 on a
 * runtime failure, 2 on bad configuration or usage (a metrics address that
 * cannot be listened on included).
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "auth_gate.h"
#include "cache.h"
#include "changes_hub.h"
#include "changes_retention.h"
#include "config.h"
#include "db.h"
#include "ingest_runner.h"
#include "keys_cmd.h"
#include "log.h"
#include "metrics.h"
#include "otel_config.h"
#include "otel_tracer.h"
#include "rpc.h"
#include "server_trace.h"
#include "services.h"
#include "tvmaze/v1/changes.pb-c.h"
#include "xalloc.h"

extern const unsigned char tvmaze_descriptor_set[];
extern const unsigned long tvmaze_descriptor_set_len;

#define DB_WAIT_SECONDS 30

static void usage_(FILE *out) {
  fprintf(out,
          "usage: tvmaze-server [FLAGS] [serve|migrate]\n"
          "       tvmaze-server --version\n\n"
          "  serve     apply migrations, then serve gRPC until SIGTERM/SIGINT (default)\n"
          "  migrate   apply pending database migrations and exit\n"
          "  keys create --name N --tier free|basic|premium [--scope read|ingest] | keys list |\n"
          "  keys revoke N\n\n%s",
          config_usage());
}

/* ------------------------------------------------------------------ */
/* Worker state and health                                            */
/* ------------------------------------------------------------------ */

static void *worker_init_(int index, void *user) {
  struct server_ctx *ctx = user;
  struct worker_ctx *w = xcalloc(1, sizeof *w);
  w->index = index;
  w->arena = xmalloc(sizeof *w->arena);
  arena_init(w->arena, 64 * 1024);
  w->store = store_open(ctx->cfg->database_url);
  if (ctx->cfg->redis_url != NULL && ctx->cfg->redis_url[0] != '\0') {
    w->cache = cache_open(ctx->cfg->redis_url);
    if (w->cache == NULL) {
      LOG_EVENT(LOG_WARN, "cache_disabled", LF_STR("reason", "REDIS_URL not understood"));
    }
  }
  return w;
}

static void worker_fini_(void *data, void *user) {
  (void)user;
  struct worker_ctx *w = data;
  if (w == NULL) {
    return;
  }
  store_close(w->store);
  cache_close(w->cache);
  arena_release(w->arena);
  free(w->arena);
  free(w);
}

/* The exporter (NULL: TVMAZE_METRICS_ADDR off). File-level because the
 * binding's user pointer is the struct server_ctx the services share. */
static struct server_metrics *metrics_;

/* The binding's observer: the call's span (server_trace.h), the worker's
 * connection state, then the counts. */
static void observe_(const struct rpc_call_report *r, void *user) {
  const struct server_ctx *ctx = user;
  server_trace_observe(r, ctx->tracer);
  if (metrics_ == NULL) {
    return; /* the default address was taken: no exporter */
  }
  if (r->event == RPC_CALL_FINISHED && r->worker_data != NULL) {
    const struct worker_ctx *w = r->worker_data;
    metrics_worker_connected(metrics_, r->worker_index, store_connected(w->store));
  }
  metrics_observe(r, metrics_);
}

/* Starts the exporter on cfg->metrics_addr for the registered services.
 * Returns 0 (also when off, or when the default address is taken: a
 * warning), -1 when a configured address cannot be listened on. */
static int metrics_start_(const struct server_config *cfg, struct otel_tracer *tracer,
                          ProtobufCService *const *services, size_t n) {
  if (cfg->metrics_addr == NULL) {
    return 0;
  }
  metrics_ = metrics_create(cfg->workers, cfg->database_url);
  metrics_set_tracer(metrics_, tracer);
  for (size_t i = 0; i < n; i++) {
    metrics_add_service(metrics_, services[i]->descriptor);
  }
  char err[256];
  int port = 0;
  if (metrics_listen(metrics_, cfg->metrics_addr, &port, err, sizeof err) != 0) {
    int taken = errno == EADDRINUSE;
    metrics_destroy(metrics_);
    metrics_ = NULL;
    if (!cfg->metrics_addr_set && taken) {
      LOG_EVENT(LOG_WARN, "metrics_unavailable", LF_STR("addr", cfg->metrics_addr),
                LF_STR("error", err));
      return 0;
    }
    LOG_EVENT(LOG_ERROR, "metrics_listen_failed", LF_STR("addr", cfg->metrics_addr),
              LF_STR("error", err));
    fprintf(stderr, "tvmaze-server: TVMAZE_METRICS_ADDR: %s\n", err);
    return -1;
  }
  LOG_EVENT(LOG_INFO, "metrics_listening", LF_STR("addr", cfg->metrics_addr), LF_INT("port", port));
  return 0;
}

/* The binding's gate: API key, scope and limit (auth_gate.h). */
static int gate_(rpc_call *call, const ProtobufCServiceDescriptor *svc, unsigned index,
                 void *worker_data, void *user) {
  const struct server_ctx *ctx = user;
  const struct worker_ctx *w = worker_data;
#ifdef TVMAZE_BENCH_NO_GATE /* tvmaze-bench-server-nokeys (bench/CMakeLists.txt) only */
  (void)ctx, (void)w, (void)call, (void)svc, (void)index;
  return 0;
#else
  return auth_gate_check(ctx->auth, call, svc, index, w->store);
#endif
}

/* SERVING while this worker reaches the database. */
static rpc_health_status health_(const char *service, void *worker_data, void *user) {
  (void)user;
  struct worker_ctx *w = worker_data;
  /* counted by tests/integration/test_gateway_hostile.sh (/up flood) */
  LOG_EVENT(LOG_DEBUG, "health_check", LF_STR("service", service));
  if (w == NULL || store_ping(w->store) != 0) {
    return RPC_HEALTH_NOT_SERVING;
  }
  return RPC_HEALTH_SERVING;
}

/* ------------------------------------------------------------------ */
/* Commands                                                           */
/* ------------------------------------------------------------------ */

/* Applies migrations, waiting up to DB_WAIT_SECONDS for the database. */
static int migrate_(const struct server_config *cfg) {
  struct store *s = store_open(cfg->database_url);
  int applied = 0;
  enum store_status st = STORE_UNAVAILABLE;
  for (int waited = 0; waited <= DB_WAIT_SECONDS; waited++) {
    st = store_migrate(s, &applied);
    if (st != STORE_UNAVAILABLE) {
      break;
    }
    if (waited == 0) {
      LOG_EVENT(LOG_WARN, "database_wait", LF_STR("error", store_last_error(s)),
                LF_INT("max_seconds", DB_WAIT_SECONDS));
    }
    sleep(1);
  }
  if (st != STORE_OK) {
    LOG_EVENT(LOG_ERROR, "migrate_failed", LF_STR("status", store_status_name(st)),
              LF_STR("error", store_last_error(s)));
    store_close(s);
    return -1;
  }
  LOG_EVENT(LOG_INFO, "migrated", LF_INT("applied", applied));
  store_close(s);
  return 0;
}

/* The ingest runner (StartIngest and the daily schedule) from cfg. */
static struct ingest_runner *ingest_create_(const struct server_config *cfg,
                                            struct otel_tracer *tracer, char *owner,
                                            size_t owner_len) {
  char host[128] = "unknown";
  gethostname(host, sizeof host - 1);
  snprintf(owner, owner_len, "%s:%ld", host, (long)getpid());
  struct ingest_runner_config ic = {
      .database_url = cfg->database_url,
      .fetch = {.source = cfg->schedule_source,
                .api_url = cfg->api_url,
                .countries = (const char(*)[3])cfg->countries,
                .n_countries = cfg->n_countries,
                .rate_requests = cfg->rate_limit_requests,
                .rate_window_ms = cfg->rate_limit_window_s * 1000,
                .max_retries = -1},
      .at_minute = cfg->ingest_at_minute,
      .default_days = cfg->ingest_days,
      .owner = owner,
      .tracer = tracer,
  };
  return ingest_runner_create(&ic);
}

/* The binding looked at changed TLS files (rpc_tls_reload_fn). */
static void tls_reloaded_(const char *error, void *user) {
  (void)user;
  if (error == NULL) {
    LOG_EVENT(LOG_INFO, "tls_reloaded", LF_STR("used_by", "new connections"));
  } else {
    LOG_EVENT(LOG_WARN, "tls_reload_failed", LF_STR("error", error),
              LF_STR("using", "the previous certificate"));
  }
}

static int serve_(const struct server_config *cfg, const struct otel_config *otel) {
  if (migrate_(cfg) != 0) {
    return 1;
  }
  char err[256];
  struct otel_tracer *tracer = otel_tracer_create(otel, err, sizeof err);
  if (tracer == NULL) {
    LOG_EVENT(LOG_ERROR, "tracer_failed", LF_STR("error", err));
    return 1;
  }
  if (cfg->redis_url != NULL) {
    cache_local_configure((size_t)cfg->local_cache_mb << 20);
  }
  struct auth_gate *auth = auth_gate_create(cfg->database_url, cfg->redis_url, err, sizeof err);
  if (auth == NULL) {
    LOG_EVENT(LOG_ERROR, "start_failed", LF_STR("error", err));
    otel_tracer_destroy(tracer);
    return 1;
  }
  char owner[160];
  struct server_ctx ctx = {.cfg = cfg,
                           .ingest = ingest_create_(cfg, tracer, owner, sizeof owner),
                           .tracer = tracer,
                           .auth = auth};
  ProtobufCService *services[] = {shows_service_create(&ctx), analytics_service_create(&ctx),
                                  ingest_service_create(&ctx), auth_service_create(&ctx),
                                  changes_service_create(&ctx)};
  const size_t n_services = sizeof services / sizeof services[0];

  const struct rpc_tls_files tls = config_tls_files(cfg);
  struct rpc_server_config rc = {
      .addr = cfg->grpc_addr,
      .tls = cfg->tls_cert != NULL ? &tls : NULL,
      .tls_reloaded = tls_reloaded_,
      .workers = cfg->workers,
      .grace_ms = cfg->grace_ms,
      .worker_init = worker_init_,
      .worker_fini = worker_fini_,
      .health = health_,
      .gate = gate_,
      .observe = cfg->metrics_addr != NULL || otel_tracer_exporting(tracer) ? observe_ : NULL,
      .user = &ctx,
      .descriptor_set = tvmaze_descriptor_set,
      .descriptor_set_len = tvmaze_descriptor_set_len,
  };
  int rc_exit = 1;
  rpc_server *srv = NULL;
  struct changes_retention *retention =
      changes_retention_start(cfg->database_url, cfg->changes_retention_days, err, sizeof err);
  if (retention == NULL) {
    LOG_EVENT(LOG_ERROR, "start_failed", LF_STR("error", err));
    goto out;
  }
  if (metrics_start_(cfg, tracer, services, n_services) != 0) {
    rc_exit = 2;
    goto out;
  }
  srv = rpc_server_create(&rc, err, sizeof err);
  if (srv == NULL) {
    LOG_EVENT(LOG_ERROR, "listen_failed", LF_STR("addr", cfg->grpc_addr), LF_STR("error", err));
    goto out;
  }
  for (size_t i = 0; i < n_services; i++) {
    rpc_server_add_service(srv, services[i]);
  }
  const struct changes_hub_config hc = {.database_url = cfg->database_url,
                                        .heartbeat_ms = cfg->changes_heartbeat_s * 1000};
  ctx.changes_hub = changes_hub_create(&hc);
  const ProtobufCMethodDescriptor *watch = protobuf_c_service_descriptor_get_method_by_name(
      &tvmaze__v1__changes__descriptor, "WatchChanges");
  rpc_server_add_stream_method(srv, &tvmaze__v1__changes__descriptor,
                               (unsigned)(watch - tvmaze__v1__changes__descriptor.methods),
                               changes_watch_open, &ctx);
  if (rpc_server_start(srv, err, sizeof err) != 0) {
    LOG_EVENT(LOG_ERROR, "start_failed", LF_STR("error", err));
    goto out;
  }
  LOG_EVENT(LOG_INFO, "server_started", LF_STR("addr", cfg->grpc_addr),
            LF_INT("port", rpc_server_port(srv)),
            LF_STR("tls", cfg->tls_cert == NULL        ? "off"
                          : cfg->tls_client_ca != NULL ? "mtls"
                                                       : "on"),
            LF_INT("workers", cfg->workers),
            LF_INT("local_cache_mb", cfg->redis_url != NULL ? cfg->local_cache_mb : 0),
            LF_STR("version", TVMAZE_VERSION));
  int sig = rpc_server_run_until_signal(srv);
  LOG_EVENT(LOG_INFO, "server_stopped", LF_INT("signal", sig));
  rc_exit = 0;
out:
  rpc_server_destroy(srv);
  changes_hub_destroy(ctx.changes_hub); /* after the drain ended its streams */
  changes_retention_stop(retention);
  /* after the drain: a run still going stops and is recorded as interrupted */
  ingest_runner_destroy(ctx.ingest);
  auth_gate_destroy(auth);
  metrics_destroy(metrics_);
  metrics_ = NULL;
  for (size_t i = 0; i < n_services; i++) {
    service_destroy(services[i]);
  }
  cache_local_configure(0);
  otel_tracer_destroy(tracer); /* last: flushes every span ended above */
  return rc_exit;
}

/* glibc raises its mmap threshold to the size of each mmapped block it
 * frees (up to 32 MiB), so after the first large buffers of an ingest run
 * (a day's document, the spill's index, the run memo's tables) their
 * successors come from the heap arenas, which keep the pages: a fixed
 * threshold sends blocks of 256 KiB and more to mmap for good, and their
 * pages go back when they are freed (a world-sized first load peaked 6-11
 * MiB lower). An operator's GLIBC_TUNABLES setting of it wins. */
static void malloc_policy_(void) {
#ifdef __GLIBC__
  const char *t = getenv("GLIBC_TUNABLES");
  if (t == NULL || strstr(t, "mmap_threshold") == NULL) {
    (void)mallopt(M_MMAP_THRESHOLD, 256 << 10);
  }
#endif
}

int main(int argc, char **argv) {
  malloc_policy_();
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--version") == 0) {
      printf("tvmaze-server %s\n", TVMAZE_VERSION);
      return 0;
    }
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage_(stdout);
      return 0;
    }
  }
  struct server_config cfg;
  char err[512];
  int next = 1;
  if (config_load(&cfg, argc, argv, 1, &next, err, sizeof err) != 0) {
    fprintf(stderr, "tvmaze-server: %s\n", err);
    return 2;
  }
  /* OTEL_* checked at start like every setting (exit 2); serve exports the
   * spans (docs/operations.md "Tracing"). */
  struct otel_config otel;
  if (otel_config_from_env(&otel, "tvmaze-server", TVMAZE_VERSION, err, sizeof err) != 0) {
    fprintf(stderr, "tvmaze-server: %s\n", err);
    return 2;
  }
  log_init(cfg.log_level, cfg.log_format);
  const char *cmd = next < argc ? argv[next] : "serve";
  if (strcmp(cmd, "serve") != 0 && strcmp(cmd, "migrate") != 0 && strcmp(cmd, "keys") != 0) {
    fprintf(stderr, "tvmaze-server: unknown command or flag \"%s\"\n", cmd);
    usage_(stderr);
    return 2;
  }
  if (config_require_database(&cfg, err, sizeof err) != 0) {
    fprintf(stderr, "tvmaze-server: %s\n", err);
    return 2;
  }
  if (strcmp(cmd, "migrate") == 0) {
    return migrate_(&cfg) == 0 ? 0 : 1;
  }
  if (strcmp(cmd, "keys") == 0) {
    return keys_cmd_run(cfg.database_url, argc - next - 1, argv + next + 1);
  }
  if (config_check_tls(&cfg, err, sizeof err) != 0) {
    fprintf(stderr, "tvmaze-server: %s\n", err);
    return 2;
  }
  rpc_init();
  rpc_log_to_events();
  int rc = serve_(&cfg, &otel);
  rpc_cleanup();
  return rc;
}
