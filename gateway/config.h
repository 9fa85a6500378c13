/*
 * config: the gateway's settings, each an environment variable with a flag
 * of the same meaning (the flag wins), checked at start (a bad value is a
 * message and exit 2), and the listen-address syntax. No state.
 */
#ifndef TVMAZE_GATEWAY_CONFIG_H
#define TVMAZE_GATEWAY_CONFIG_H

#include <stddef.h>

#include <sys/socket.h>

#include "log.h"
#include "otel_config.h"
#include "rpc.h"

struct gw_config {
  const char *http_addr;    /* TVMAZE_HTTP_ADDR, "0.0.0.0:8080" */
  const char *grpc_target;  /* TVMAZE_GRPC_TARGET, "127.0.0.1:50051" */
  const char *redis_url;    /* REDIS_URL (common/redis_url.h); NULL: in-process rate limits */
  const char *api_username; /* API_USERNAME; NULL: Basic disabled */
  const char *api_password; /* API_PASSWORD */
  const char *api_key;      /* TVMAZE_API_KEY: the gateway's own key (scope ingest); NULL: none */
  const char *trusted_proxies; /* TVMAZE_TRUSTED_PROXIES, "10.0.0.1,10.1.0.0/16" */
  /* TLS to the server: tls.ca (TVMAZE_GRPC_TLS_CA) set = TLS, trusting that
   * CA; tls.cert/key (TVMAZE_GRPC_TLS_CLIENT_CERT/_KEY) the client
   * certificate for an mTLS server; names label them in messages. Checked
   * by gw_config_load (rpc_tls_files_check). */
  struct rpc_tls_files tls;
  int tls_on; /* any of the three set */
  enum log_level log_level;
  enum log_format log_format;
  long ip_limit;             /* TVMAZE_RATE_IP_LIMIT, requests per ip_window_s (2000) */
  long ip_window_s;          /* TVMAZE_RATE_IP_WINDOW, seconds (300) */
  long auth_cache_ttl_s;     /* TVMAZE_AUTH_CACHE_TTL, seconds (1); 0 disables */
  long upstream_timeout_ms;  /* TVMAZE_UPSTREAM_TIMEOUT_MS (10000) */
  long conn_timeout_s;       /* TVMAZE_HTTP_TIMEOUT, idle/slow client timeout (30) */
  long head_timeout_s;       /* TVMAZE_HTTP_HEAD_TIMEOUT, s for a complete request head (10) */
  long health_interval_ms;   /* TVMAZE_HEALTH_INTERVAL_MS, ms between /up's probes (1000) */
  long per_ip_connections;   /* TVMAZE_HTTP_PER_IP_CONNECTIONS, per client address (100; 0 off) */
  long response_cache_ttl_s; /* TVMAZE_RESPONSE_CACHE_TTL, s (60, an upper bound); 0 disables */
  long http_threads;         /* TVMAZE_HTTP_THREADS, MHD epoll threads (0: one per CPU) */
  long upstream_workers;     /* TVMAZE_UPSTREAM_WORKERS, blocking-call threads (32) */
  long upstream_queue;       /* TVMAZE_UPSTREAM_QUEUE, jobs waiting for a worker (256) */
  long runstats_period_s;    /* TVMAZE_INGEST_METRICS_INTERVAL, s between run counts (15) */
  long stream_heartbeat_ms;  /* TVMAZE_STREAM_HEARTBEAT_MS, idle change-stream heartbeat (10000) */
  long stream_limit;         /* TVMAZE_STREAM_LIMIT, concurrent change streams (4000) */
  struct otel_config otel;   /* OTEL_* (otel/otel_config.h; no flags, as OpenTelemetry) */
};

/* The --help text. */
extern const char gw_usage_text[];

/* Fills cfg from the environment then argv. Returns 0, 1 when the caller
 * should exit 0 (--help/--version/--routes printed), or -1 with err set
 * (exit 2). Strings point into argv/environ. Not thread-safe (getopt). */
int gw_config_load(struct gw_config *cfg, int argc, char **argv, char *err, size_t errlen);

/* Parses a numeric "host:port" / "[v6]:port" into *ss: 0, or -1. */
int gw_listen_addr_parse(const char *addr, struct sockaddr_storage *ss, socklen_t *len);

#endif
