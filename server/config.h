/*
 * config: tvmaze-server configuration from the environment (12-factor), each
 * variable with a flag of the same meaning (flags win). Names are fixed by
 * the public contract (API.md):
 *
 *   variable              flag                   default
 *   DATABASE_URL          --database-url         (required)
 *   REDIS_URL             --redis-url            (none: no cache)
 *   TVMAZE_GRPC_ADDR      --grpc-addr            0.0.0.0:50051
 *   TVMAZE_METRICS_ADDR   --metrics-addr         0.0.0.0:9464 ("" or "off": no exporter)
 *   TVMAZE_API_URL        --api-url              https://api.tvmaze.com
 *   TVMAZE_COUNTRIES      --countries            US   (comma-separated ISO codes)
 *   TVMAZE_INGEST_DAYS    --ingest-days          90   (1..365)
 *   TVMAZE_SCHEDULE_SOURCE --schedule-source     daily (daily: per day the web schedule
 *                         and each country's; full: /schedule/full once per run)
 *   TVMAZE_INGEST_AT      --ingest-at            03:00 (UTC HH:MM, or "off")
 *   TVMAZE_RATE_LIMIT     --rate-limit           20/10 (requests/seconds to TVMaze)
 *   TVMAZE_WORKERS        --workers              2    (gRPC worker threads)
 *   TVMAZE_LOCAL_CACHE_MB --local-cache-mb       16   (MiB in-process in front of Redis; 0 off)
 *   TVMAZE_GRACE_MS       --grace-ms             10000 (drain period on SIGTERM)
 *   TVMAZE_CHANGES_RETENTION_DAYS --changes-retention-days 30 (1..3650: change log kept)
 *   TVMAZE_CHANGES_HEARTBEAT_SECONDS --changes-heartbeat-seconds 15 (1..15: idle
 *                         WatchChanges streams get a heartbeat this often)
 *   TVMAZE_GRPC_TLS_CERT  --grpc-tls-cert        (none) PEM certificate chain: with the key,
 *                         the gRPC port speaks TLS only
 *   TVMAZE_GRPC_TLS_KEY   --grpc-tls-key         (none) PEM private key of that certificate
 *   TVMAZE_GRPC_TLS_CLIENT_CA --grpc-tls-client-ca (none) PEM CA: clients must present a
 *                         certificate it signed (mTLS); needs the cert and key
 *   LOG_LEVEL             --log-level            info
 *   LOG_FORMAT            --log-format           json
 */
#ifndef TVMAZE_SERVER_CONFIG_H
#define TVMAZE_SERVER_CONFIG_H

#include <stddef.h>

#include "ingest_fetch.h"
#include "log.h"
#include "rpc.h"

#define CONFIG_MAX_COUNTRIES 64

struct server_config {
  const char *database_url;
  const char *redis_url; /* NULL: no cache */
  const char *grpc_addr;
  const char *metrics_addr; /* NULL: no metrics listener */
  int metrics_addr_set;     /* given by TVMAZE_METRICS_ADDR or the flag (not the default) */
  const char *api_url;
  char countries[CONFIG_MAX_COUNTRIES][3]; /* upper-case ISO codes */
  int n_countries;
  int ingest_days;
  enum ingest_source schedule_source; /* TVMAZE_SCHEDULE_SOURCE */
  int ingest_at_minute;               /* minutes after 00:00 UTC; -1 = off */
  int rate_limit_requests;            /* per rate_limit_window_s */
  int rate_limit_window_s;
  int workers;
  int local_cache_mb; /* the cache's local layer (cache.h); used with redis_url */
  int grace_ms;
  int changes_retention_days; /* change records older than this are pruned daily */
  int changes_heartbeat_s;    /* WatchChanges heartbeat interval when idle */
  const char *tls_cert;       /* NULL: plaintext gRPC */
  const char *tls_key;        /* set exactly when tls_cert is (config_load checks) */
  const char *tls_client_ca;  /* NULL: no client certificates asked for */
  enum log_level log_level;
  enum log_format log_format;
};

/* Fills cfg with defaults, then the environment, then flags of argv[first..]
 * (consumed flags are not reordered; *next gets the index of the first
 * non-flag argument). On a bad value writes a message naming the variable or
 * flag into err and returns -1. Strings point into the environment or argv. */
int config_load(struct server_config *cfg, int argc, char **argv, int first, int *next, char *err,
                size_t errlen);

/* Checks what serving needs (DATABASE_URL set); -1 with a message if not. */
int config_require_database(const struct server_config *cfg, char *err, size_t errlen);

/* Checks the TLS files (readable PEM, the key the certificate's, the
 * certificate not expired: rpc_tls_files_check) when TLS is configured; -1
 * with a message naming the variable and the file if not. */
int config_check_tls(const struct server_config *cfg, char *err, size_t errlen);

/* The TLS files of cfg for the binding, labelled with their variables
 * (strings point into cfg). Only when cfg->tls_cert is set. */
struct rpc_tls_files config_tls_files(const struct server_config *cfg);

/* Usage text of the flags, for --help. */
const char *config_usage(void);

#endif
