/*
 * config: environment + flags for tvmaze-server. See config.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct option_def {
  const char *env;
  const char *flag;
  int (*apply)(struct server_config *cfg, const char *value, char *err, size_t errlen,
               const char *name);
};

static int parse_int_(const char *s, long min, long max, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
    return -1;
  }
  *out = (int)v;
  return 0;
}

static int set_database_url_(struct server_config *c, const char *v, char *err, size_t n,
                             const char *name) {
  if (v[0] == '\0') {
    snprintf(err, n, "%s: must not be empty", name);
    return -1;
  }
  c->database_url = v;
  return 0;
}

static int set_redis_url_(struct server_config *c, const char *v, char *err, size_t n,
                          const char *name) {
  if (v[0] != '\0' && strncmp(v, "redis://", 8) != 0 && strncmp(v, "unix://", 7) != 0) {
    snprintf(err, n, "%s: expected redis://host:port[/db] or unix:///path, got \"%s\"", name, v);
    return -1;
  }
  c->redis_url = v[0] ? v : NULL;
  return 0;
}

/* 0 if v is HOST:PORT (a host, then a port 0..65535 after the last colon). */
static int host_port_(const char *v) {
  const char *colon = strrchr(v, ':');
  int port;
  return colon == NULL || colon == v || parse_int_(colon + 1, 0, 65535, &port) != 0 ? -1 : 0;
}

static int set_grpc_addr_(struct server_config *c, const char *v, char *err, size_t n,
                          const char *name) {
  if (host_port_(v) != 0) {
    snprintf(err, n, "%s: expected HOST:PORT, got \"%s\"", name, v);
    return -1;
  }
  c->grpc_addr = v;
  return 0;
}

static int set_metrics_addr_(struct server_config *c, const char *v, char *err, size_t n,
                             const char *name) {
  c->metrics_addr_set = 1;
  if (v[0] == '\0' || strcmp(v, "off") == 0) {
    c->metrics_addr = NULL;
    return 0;
  }
  if (host_port_(v) != 0) {
    snprintf(err, n, "%s: expected HOST:PORT or off, got \"%s\"", name, v);
    return -1;
  }
  c->metrics_addr = v;
  return 0;
}

static int set_api_url_(struct server_config *c, const char *v, char *err, size_t n,
                        const char *name) {
  if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
    snprintf(err, n, "%s: expected an http(s) URL, got \"%s\"", name, v);
    return -1;
  }
  c->api_url = v;
  return 0;
}

static int set_countries_(struct server_config *c, const char *v, char *err, size_t n,
                          const char *name) {
  int count = 0;
  const char *p = v;
  while (*p) {
    while (*p == ',' || *p == ' ') {
      p++;
    }
    if (*p == '\0') {
      break;
    }
    const char *start = p;
    while (*p && *p != ',' && *p != ' ') {
      p++;
    }
    if (p - start != 2 || !isalpha((unsigned char)start[0]) || !isalpha((unsigned char)start[1])) {
      snprintf(err, n, "%s: expected comma-separated ISO 3166-1 codes (e.g. US,GB), got \"%s\"",
               name, v);
      return -1;
    }
    if (count == CONFIG_MAX_COUNTRIES) {
      snprintf(err, n, "%s: at most %d countries", name, CONFIG_MAX_COUNTRIES);
      return -1;
    }
    c->countries[count][0] = (char)toupper((unsigned char)start[0]);
    c->countries[count][1] = (char)toupper((unsigned char)start[1]);
    c->countries[count][2] = '\0';
    count++;
  }
  c->n_countries = count;
  return 0;
}

static int set_ingest_days_(struct server_config *c, const char *v, char *err, size_t n,
                            const char *name) {
  if (parse_int_(v, 1, 365, &c->ingest_days) != 0) {
    snprintf(err, n, "%s: expected a number of days in 1..365, got \"%s\"", name, v);
    return -1;
  }
  return 0;
}

static int set_schedule_source_(struct server_config *c, const char *v, char *err, size_t n,
                                const char *name) {
  if (strcmp(v, "daily") == 0) {
    c->schedule_source = INGEST_SOURCE_DAILY;
  } else if (strcmp(v, "full") == 0) {
    c->schedule_source = INGEST_SOURCE_FULL;
  } else {
    snprintf(err, n, "%s: expected daily or full, got \"%s\"", name, v);
    return -1;
  }
  return 0;
}

static int set_changes_heartbeat_(struct server_config *c, const char *v, char *err, size_t n,
                                  const char *name) {
  if (parse_int_(v, 1, 15, &c->changes_heartbeat_s) != 0) {
    snprintf(err, n, "%s: expected a number of seconds in 1..15, got \"%s\"", name, v);
    return -1;
  }
  return 0;
}

static int set_changes_retention_(struct server_config *c, const char *v, char *err, size_t n,
                                  const char *name) {
  if (parse_int_(v, 1, 3650, &c->changes_retention_days) != 0) {
    snprintf(err, n, "%s: expected a number of days in 1..3650, got \"%s\"", name, v);
    return -1;
  }
  return 0;
}

static int set_ingest_at_(struct server_config *c, const char *v, char *err, size_t n,
                          const char *name) {
  if (strcmp(v, "off") == 0) {
    c->ingest_at_minute = -1;
    return 0;
  }
  int h, m;
  char hh[3] = {0}, mm[3] = {0};
  if (strlen(v) != 5 || v[2] != ':' || !isdigit((unsigned char)v[0]) ||
      !isdigit((unsigned char)v[1]) || !isdigit((unsigned char)v[3]) ||
      !isdigit((unsigned char)v[4])) {
    goto bad;
  }
  memcpy(hh, v, 2);
  memcpy(mm, v + 3, 2);
  if (parse_int_(hh, 0, 23, &h) != 0 || parse_int_(mm, 0, 59, &m) != 0) {
    goto bad;
  }
  c->ingest_at_minute = h * 60 + m;
  return 0;
bad:
  snprintf(err, n, "%s: expected HH:MM (UTC) or off, got \"%s\"", name, v);
  return -1;
}

static int set_rate_limit_(struct server_config *c, const char *v, char *err, size_t n,
                           const char *name) {
  char buf[32];
  snprintf(buf, sizeof buf, "%s", v);
  char *slash = strchr(buf, '/');
  int req, win;
  if (slash == NULL) {
    goto bad;
  }
  *slash = '\0';
  if (parse_int_(buf, 1, 100000, &req) != 0 || parse_int_(slash + 1, 1, 3600, &win) != 0) {
    goto bad;
  }
  c->rate_limit_requests = req;
  c->rate_limit_window_s = win;
  return 0;
bad:
  snprintf(err, n, "%s: expected REQUESTS/SECONDS (e.g. 20/10), got \"%s\"", name, v);
  return -1;
}

static int set_workers_(struct server_config *c, const char *v, char *err, size_t n,
                        const char *name) {
  if (parse_int_(v, 1, 64, &c->workers) != 0) {
    snprintf(err, n, "%s: expected 1..64, got \"%s\"", name, v);
    return -1;
  }
  return 0;
}

static int set_local_cache_mb_(struct server_config *c, const char *v, char *err, size_t n,
                               const char *name) {
  if (parse_int_(v, 0, 4096, &c->local_cache_mb) != 0) {
    snprintf(err, n, "%s: expected MiB 0..4096 (0 = off), got \"%s\"", name, v);
    return -1;
  }
  return 0;
}

static int set_grace_ms_(struct server_config *c, const char *v, char *err, size_t n,
                         const char *name) {
  if (parse_int_(v, 0, 600000, &c->grace_ms) != 0) {
    snprintf(err, n, "%s: expected milliseconds 0..600000, got \"%s\"", name, v);
    return -1;
  }
  return 0;
}

static int set_log_level_(struct server_config *c, const char *v, char *err, size_t n,
                          const char *name) {
  if (log_level_parse(v, &c->log_level) != 0) {
    snprintf(err, n, "%s: expected debug, info, warn or error, got \"%s\"", name, v);
    return -1;
  }
  return 0;
}

static int set_log_format_(struct server_config *c, const char *v, char *err, size_t n,
                           const char *name) {
  if (log_format_parse(v, &c->log_format) != 0) {
    snprintf(err, n, "%s: expected json or text, got \"%s\"", name, v);
    return -1;
  }
  return 0;
}

/* A path to a file: only non-empty is checked here (config_check_tls reads it). */
static int set_path_(const char **field, const char *v, char *err, size_t n, const char *name) {
  if (v[0] == '\0') {
    snprintf(err, n, "%s: must not be empty (unset it for plaintext gRPC)", name);
    return -1;
  }
  *field = v;
  return 0;
}

static int set_tls_cert_(struct server_config *c, const char *v, char *err, size_t n,
                         const char *name) {
  return set_path_(&c->tls_cert, v, err, n, name);
}

static int set_tls_key_(struct server_config *c, const char *v, char *err, size_t n,
                        const char *name) {
  return set_path_(&c->tls_key, v, err, n, name);
}

static int set_tls_client_ca_(struct server_config *c, const char *v, char *err, size_t n,
                              const char *name) {
  return set_path_(&c->tls_client_ca, v, err, n, name);
}

static const struct option_def options_[] = {
    {"DATABASE_URL", "--database-url", set_database_url_},
    {"REDIS_URL", "--redis-url", set_redis_url_},
    {"TVMAZE_GRPC_ADDR", "--grpc-addr", set_grpc_addr_},
    {"TVMAZE_METRICS_ADDR", "--metrics-addr", set_metrics_addr_},
    {"TVMAZE_API_URL", "--api-url", set_api_url_},
    {"TVMAZE_COUNTRIES", "--countries", set_countries_},
    {"TVMAZE_INGEST_DAYS", "--ingest-days", set_ingest_days_},
    {"TVMAZE_SCHEDULE_SOURCE", "--schedule-source", set_schedule_source_},
    {"TVMAZE_INGEST_AT", "--ingest-at", set_ingest_at_},
    {"TVMAZE_RATE_LIMIT", "--rate-limit", set_rate_limit_},
    {"TVMAZE_WORKERS", "--workers", set_workers_},
    {"TVMAZE_LOCAL_CACHE_MB", "--local-cache-mb", set_local_cache_mb_},
    {"TVMAZE_GRACE_MS", "--grace-ms", set_grace_ms_},
    {"TVMAZE_CHANGES_RETENTION_DAYS", "--changes-retention-days", set_changes_retention_},
    {"TVMAZE_CHANGES_HEARTBEAT_SECONDS", "--changes-heartbeat-seconds", set_changes_heartbeat_},
    {"TVMAZE_GRPC_TLS_CERT", "--grpc-tls-cert", set_tls_cert_},
    {"TVMAZE_GRPC_TLS_KEY", "--grpc-tls-key", set_tls_key_},
    {"TVMAZE_GRPC_TLS_CLIENT_CA", "--grpc-tls-client-ca", set_tls_client_ca_},
    {"LOG_LEVEL", "--log-level", set_log_level_},
    {"LOG_FORMAT", "--log-format", set_log_format_},
};
#define N_OPTIONS (sizeof options_ / sizeof options_[0])

int config_load(struct server_config *cfg, int argc, char **argv, int first, int *next, char *err,
                size_t errlen) {
  memset(cfg, 0, sizeof *cfg);
  cfg->grpc_addr = "0.0.0.0:50051";
  cfg->metrics_addr = "0.0.0.0:9464";
  cfg->api_url = "https://api.tvmaze.com";
  memcpy(cfg->countries[0], "US", 3);
  cfg->n_countries = 1;
  cfg->ingest_days = 90;
  cfg->ingest_at_minute = 3 * 60;
  cfg->rate_limit_requests = 20;
  cfg->rate_limit_window_s = 10;
  cfg->workers = 2;
  cfg->local_cache_mb = 16;
  cfg->grace_ms = 10000;
  cfg->changes_retention_days = 30;
  cfg->changes_heartbeat_s = 15;
  cfg->log_level = LOG_INFO;
  cfg->log_format = LOG_FORMAT_JSON;

  for (size_t i = 0; i < N_OPTIONS; i++) {
    const char *v = getenv(options_[i].env);
    if (v != NULL && options_[i].apply(cfg, v, err, errlen, options_[i].env) != 0) {
      return -1;
    }
  }
  int i = first;
  while (i < argc && strncmp(argv[i], "--", 2) == 0) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    const char *arg = argv[i];
    const char *eq = strchr(arg, '=');
    size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct option_def *def = NULL;
    for (size_t k = 0; k < N_OPTIONS; k++) {
      if (strlen(options_[k].flag) == name_len && strncmp(options_[k].flag, arg, name_len) == 0) {
        def = &options_[k];
      }
    }
    if (def == NULL) {
      break; /* not a config flag: the caller's */
    }
    const char *value;
    if (eq != NULL) {
      value = eq + 1;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      snprintf(err, errlen, "%s: missing value", def->flag);
      return -1;
    }
    if (def->apply(cfg, value, err, errlen, def->flag) != 0) {
      return -1;
    }
    i++;
  }
  if (next != NULL) {
    *next = i;
  }
  if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
    snprintf(err, errlen,
             "TVMAZE_GRPC_TLS_CERT and TVMAZE_GRPC_TLS_KEY go together: set both (TLS) or "
             "neither (plaintext)");
    return -1;
  }
  if (cfg->tls_client_ca != NULL && cfg->tls_cert == NULL) {
    snprintf(err, errlen,
             "TVMAZE_GRPC_TLS_CLIENT_CA (mTLS) needs TVMAZE_GRPC_TLS_CERT and TVMAZE_GRPC_TLS_KEY");
    return -1;
  }
  return 0;
}

int config_check_tls(const struct server_config *cfg, char *err, size_t errlen) {
  if (cfg->tls_cert == NULL) {
    return 0;
  }
  const struct rpc_tls_files tls = config_tls_files(cfg);
  return rpc_tls_files_check(&tls, 1, err, errlen);
}

struct rpc_tls_files config_tls_files(const struct server_config *cfg) {
  return (struct rpc_tls_files){.cert = cfg->tls_cert,
                                .key = cfg->tls_key,
                                .ca = cfg->tls_client_ca,
                                .cert_name = "TVMAZE_GRPC_TLS_CERT",
                                .key_name = "TVMAZE_GRPC_TLS_KEY",
                                .ca_name = "TVMAZE_GRPC_TLS_CLIENT_CA"};
}

int config_require_database(const struct server_config *cfg, char *err, size_t errlen) {
  if (cfg->database_url == NULL) {
    snprintf(err, errlen,
             "DATABASE_URL is required (e.g. postgresql://user@127.0.0.1:5432/tvmaze), "
             "or pass --database-url");
    return -1;
  }
  return 0;
}

const char *config_usage(void) {
  return "Configuration (environment variable / flag, flags win):\n"
         "  DATABASE_URL        --database-url URL   libpq URI (required)\n"
         "  REDIS_URL           --redis-url URL      redis://host:port[/db]; unset: no cache\n"
         "  TVMAZE_GRPC_ADDR    --grpc-addr H:P      listen address (0.0.0.0:50051)\n"
         "  TVMAZE_METRICS_ADDR --metrics-addr H:P   Prometheus GET /metrics, or off\n"
         "                                           (0.0.0.0:9464)\n"
         "  TVMAZE_API_URL      --api-url URL        TVMaze root (https://api.tvmaze.com)\n"
         "  TVMAZE_COUNTRIES    --countries LIST     network schedules to fetch (US)\n"
         "  TVMAZE_INGEST_DAYS  --ingest-days N      days per scheduled run (90)\n"
         "  TVMAZE_SCHEDULE_SOURCE --schedule-source S daily (web + each country per day) or\n"
         "                                           full (/schedule/full once a run) (daily)\n"
         "  TVMAZE_INGEST_AT    --ingest-at HH:MM    daily run time UTC, or off (03:00)\n"
         "  TVMAZE_RATE_LIMIT   --rate-limit R/S     TVMaze requests per seconds (20/10)\n"
         "  TVMAZE_WORKERS      --workers N          gRPC worker threads (2)\n"
         "  TVMAZE_LOCAL_CACHE_MB --local-cache-mb N in-process copy of cached replies, MiB,\n"
         "                                           with REDIS_URL only; 0 = off (16)\n"
         "  TVMAZE_GRACE_MS     --grace-ms MS        drain period on SIGTERM (10000)\n"
         "  TVMAZE_CHANGES_RETENTION_DAYS --changes-retention-days N\n"
         "                                           days of change log kept, 1..3650 (30)\n"
         "  TVMAZE_CHANGES_HEARTBEAT_SECONDS --changes-heartbeat-seconds N\n"
         "                                           WatchChanges heartbeat when idle, 1..15 (15)\n"
         "  TVMAZE_GRPC_TLS_CERT --grpc-tls-cert F   PEM certificate chain: with the key, the\n"
         "                                           gRPC port speaks TLS only (unset: plaintext)\n"
         "  TVMAZE_GRPC_TLS_KEY  --grpc-tls-key F    PEM private key of that certificate\n"
         "  TVMAZE_GRPC_TLS_CLIENT_CA --grpc-tls-client-ca F\n"
         "                                           PEM CA of client certificates: mTLS\n"
         "  LOG_LEVEL           --log-level L        debug|info|warn|error (info)\n"
         "  LOG_FORMAT          --log-format F       json|text (json)\n";
}
