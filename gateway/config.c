/*
 * config: environment + flags -> struct gw_config, with every value
 * checked. See config.h. Tests: tests/integration/test_gateway_http.sh
 * (bad settings exit 2).
 */
#include "config.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clientip.h"
#include "redis_url.h"
#include "routes.h"

const char gw_usage_text[] =
    "usage: tvmaze-gateway [FLAGS]\n\n"
    "  --http-addr ADDR        TVMAZE_HTTP_ADDR      listen address (0.0.0.0:8080)\n"
    "  --grpc-target T         TVMAZE_GRPC_TARGET    tvmaze-server (127.0.0.1:50051)\n"
    "  --redis-url URL         REDIS_URL             rate-limit store (optional)\n"
    "  --api-username U        API_USERNAME          HTTP Basic user (optional)\n"
    "  --api-password P        API_PASSWORD          HTTP Basic password\n"
    "  --api-key K             TVMAZE_API_KEY        the gateway's own key (scope ingest): its\n"
    "                                                calls and HTTP Basic callers' use it\n"
    "  --grpc-tls-ca F         TVMAZE_GRPC_TLS_CA    PEM CA of the server's certificate: TLS to\n"
    "                                                the server (unset: plaintext)\n"
    "  --grpc-tls-client-cert F  TVMAZE_GRPC_TLS_CLIENT_CERT  PEM client certificate (mTLS)\n"
    "  --grpc-tls-client-key F   TVMAZE_GRPC_TLS_CLIENT_KEY   its PEM private key\n"
    "  --trusted-proxies LIST  TVMAZE_TRUSTED_PROXIES  IPs/CIDRs whose X-Forwarded-For is used\n"
    "  --log-level L           LOG_LEVEL             debug|info|warn|error (info)\n"
    "  --log-format F          LOG_FORMAT            json|text (json)\n"
    "  --rate-ip-limit N       TVMAZE_RATE_IP_LIMIT  requests per client IP per window (2000)\n"
    "  --rate-ip-window S      TVMAZE_RATE_IP_WINDOW window seconds (300)\n"
    "  --auth-cache-ttl S      TVMAZE_AUTH_CACHE_TTL API-key cache seconds (1; 0 off)\n"
    "  --upstream-timeout-ms N TVMAZE_UPSTREAM_TIMEOUT_MS  gRPC deadline (10000)\n"
    "  --http-timeout S        TVMAZE_HTTP_TIMEOUT   idle/slow client timeout (30)\n"
    "  --http-head-timeout S   TVMAZE_HTTP_HEAD_TIMEOUT  complete request head within S s, or "
    "the connection is closed (10)\n"
    "  --health-interval-ms N  TVMAZE_HEALTH_INTERVAL_MS  ms between the server health probes "
    "/up answers from (1000)\n"
    "  --stream-heartbeat-ms N TVMAZE_STREAM_HEARTBEAT_MS  heartbeat of an idle "
    "/api/v1/changes/stream (10000; 100..15000)\n"
    "  --stream-limit N        TVMAZE_STREAM_LIMIT   concurrent /api/v1/changes/stream; beyond: "
    "503 (4000)\n"
    "  --http-per-ip-connections N  TVMAZE_HTTP_PER_IP_CONNECTIONS  connections per client "
    "address (100; 0: no cap)\n"
    "  --response-cache-ttl S  TVMAZE_RESPONSE_CACHE_TTL  reuse read replies S s at most (60; 0 "
    "off)\n"
    "  --http-threads N        TVMAZE_HTTP_THREADS   HTTP event-loop threads (0: one per CPU)\n"
    "  --upstream-workers N    TVMAZE_UPSTREAM_WORKERS  threads for gRPC/Redis calls (32)\n"
    "  --upstream-queue N      TVMAZE_UPSTREAM_QUEUE requests waiting for a worker; beyond: 503 "
    "(256)\n"
    "  --ingest-metrics-interval S  TVMAZE_INGEST_METRICS_INTERVAL  ingest-run counts for "
    "/metrics every S s (15)\n"
    "  Tracing (no flags): OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,\n"
    "  OTEL_SERVICE_NAME (tvmaze-gateway), OTEL_TRACES_SAMPLER (parentbased_traceidratio),\n"
    "  OTEL_TRACES_SAMPLER_ARG (0.1); see docs/operations.md \"Tracing\"\n"
    "  --routes                print the route table and exit\n"
    "  --version, --help\n";

static int parse_long_(const char *name, const char *v, long min, long max, long *out, char *err,
                       size_t errlen) {
  char *end;
  long n = strtol(v, &end, 10);
  if (!v[0] || *end || n < min || n > max) {
    snprintf(err, errlen, "%s: expected an integer in %ld..%ld, got \"%s\"", name, min, max, v);
    return -1;
  }
  *out = n;
  return 0;
}

int gw_config_load(struct gw_config *cfg, int argc, char **argv, char *err, size_t errlen) {
  const char *s_http = getenv("TVMAZE_HTTP_ADDR"), *s_target = getenv("TVMAZE_GRPC_TARGET");
  const char *s_level = getenv("LOG_LEVEL"), *s_format = getenv("LOG_FORMAT");
  const char *s_iplim = getenv("TVMAZE_RATE_IP_LIMIT"), *s_ipwin = getenv("TVMAZE_RATE_IP_WINDOW");
  const char *s_ttl = getenv("TVMAZE_AUTH_CACHE_TTL");
  const char *s_uto = getenv("TVMAZE_UPSTREAM_TIMEOUT_MS"), *s_hto = getenv("TVMAZE_HTTP_TIMEOUT");
  const char *s_rttl = getenv("TVMAZE_RESPONSE_CACHE_TTL"), *s_thr = getenv("TVMAZE_HTTP_THREADS");
  const char *s_wrk = getenv("TVMAZE_UPSTREAM_WORKERS"), *s_que = getenv("TVMAZE_UPSTREAM_QUEUE");
  const char *s_rsp = getenv("TVMAZE_INGEST_METRICS_INTERVAL");
  const char *s_head = getenv("TVMAZE_HTTP_HEAD_TIMEOUT");
  const char *s_pip = getenv("TVMAZE_HTTP_PER_IP_CONNECTIONS");
  const char *s_hiv = getenv("TVMAZE_HEALTH_INTERVAL_MS");
  const char *s_shb = getenv("TVMAZE_STREAM_HEARTBEAT_MS");
  const char *s_slim = getenv("TVMAZE_STREAM_LIMIT");
  memset(cfg, 0, sizeof *cfg);
  cfg->redis_url = getenv("REDIS_URL");
  cfg->api_username = getenv("API_USERNAME");
  cfg->api_password = getenv("API_PASSWORD");
  cfg->api_key = getenv("TVMAZE_API_KEY");
  cfg->trusted_proxies = getenv("TVMAZE_TRUSTED_PROXIES");
  cfg->tls = (struct rpc_tls_files){.ca = getenv("TVMAZE_GRPC_TLS_CA"),
                                    .cert = getenv("TVMAZE_GRPC_TLS_CLIENT_CERT"),
                                    .key = getenv("TVMAZE_GRPC_TLS_CLIENT_KEY"),
                                    .ca_name = "TVMAZE_GRPC_TLS_CA",
                                    .cert_name = "TVMAZE_GRPC_TLS_CLIENT_CERT",
                                    .key_name = "TVMAZE_GRPC_TLS_CLIENT_KEY"};
  int routes = 0;
  enum {
    O_HTTP = 256,
    O_TARGET,
    O_REDIS,
    O_USER,
    O_PASS,
    O_KEY,
    O_PROXIES,
    O_TLS_CA,
    O_TLS_CERT,
    O_TLS_KEY,
    O_LEVEL,
    O_FORMAT,
    O_IPLIM,
    O_IPWIN,
    O_TTL,
    O_UTO,
    O_HTO,
    O_RTTL,
    O_THR,
    O_WRK,
    O_QUE,
    O_RSP,
    O_HEAD,
    O_PIP,
    O_HIV,
    O_SHB,
    O_SLIM,
    O_ROUTES,
    O_VERSION,
    O_HELP
  };
  static const struct option opts[] = {{"http-addr", required_argument, 0, O_HTTP},
                                       {"grpc-target", required_argument, 0, O_TARGET},
                                       {"redis-url", required_argument, 0, O_REDIS},
                                       {"api-username", required_argument, 0, O_USER},
                                       {"api-password", required_argument, 0, O_PASS},
                                       {"api-key", required_argument, 0, O_KEY},
                                       {"trusted-proxies", required_argument, 0, O_PROXIES},
                                       {"grpc-tls-ca", required_argument, 0, O_TLS_CA},
                                       {"grpc-tls-client-cert", required_argument, 0, O_TLS_CERT},
                                       {"grpc-tls-client-key", required_argument, 0, O_TLS_KEY},
                                       {"log-level", required_argument, 0, O_LEVEL},
                                       {"log-format", required_argument, 0, O_FORMAT},
                                       {"rate-ip-limit", required_argument, 0, O_IPLIM},
                                       {"rate-ip-window", required_argument, 0, O_IPWIN},
                                       {"auth-cache-ttl", required_argument, 0, O_TTL},
                                       {"upstream-timeout-ms", required_argument, 0, O_UTO},
                                       {"http-timeout", required_argument, 0, O_HTO},
                                       {"response-cache-ttl", required_argument, 0, O_RTTL},
                                       {"http-threads", required_argument, 0, O_THR},
                                       {"upstream-workers", required_argument, 0, O_WRK},
                                       {"upstream-queue", required_argument, 0, O_QUE},
                                       {"ingest-metrics-interval", required_argument, 0, O_RSP},
                                       {"http-head-timeout", required_argument, 0, O_HEAD},
                                       {"http-per-ip-connections", required_argument, 0, O_PIP},
                                       {"health-interval-ms", required_argument, 0, O_HIV},
                                       {"stream-heartbeat-ms", required_argument, 0, O_SHB},
                                       {"stream-limit", required_argument, 0, O_SLIM},
                                       {"routes", no_argument, 0, O_ROUTES},
                                       {"version", no_argument, 0, O_VERSION},
                                       {"help", no_argument, 0, O_HELP},
                                       {0, 0, 0, 0}};
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case O_HTTP:
      s_http = optarg;
      break;
    case O_TARGET:
      s_target = optarg;
      break;
    case O_REDIS:
      cfg->redis_url = optarg;
      break;
    case O_USER:
      cfg->api_username = optarg;
      break;
    case O_KEY:
      cfg->api_key = optarg;
      break;
    case O_PASS:
      cfg->api_password = optarg;
      break;
    case O_PROXIES:
      cfg->trusted_proxies = optarg;
      break;
    case O_TLS_CA:
      cfg->tls.ca = optarg;
      break;
    case O_TLS_CERT:
      cfg->tls.cert = optarg;
      break;
    case O_TLS_KEY:
      cfg->tls.key = optarg;
      break;
    case O_LEVEL:
      s_level = optarg;
      break;
    case O_FORMAT:
      s_format = optarg;
      break;
    case O_IPLIM:
      s_iplim = optarg;
      break;
    case O_IPWIN:
      s_ipwin = optarg;
      break;
    case O_TTL:
      s_ttl = optarg;
      break;
    case O_UTO:
      s_uto = optarg;
      break;
    case O_HTO:
      s_hto = optarg;
      break;
    case O_RTTL:
      s_rttl = optarg;
      break;
    case O_THR:
      s_thr = optarg;
      break;
    case O_WRK:
      s_wrk = optarg;
      break;
    case O_QUE:
      s_que = optarg;
      break;
    case O_RSP:
      s_rsp = optarg;
      break;
    case O_HEAD:
      s_head = optarg;
      break;
    case O_PIP:
      s_pip = optarg;
      break;
    case O_SHB:
      s_shb = optarg;
      break;
    case O_SLIM:
      s_slim = optarg;
      break;
    case O_HIV:
      s_hiv = optarg;
      break;
    case O_ROUTES:
      routes = 1;
      break;
    case O_VERSION:
      printf("tvmaze-gateway %s\n", TVMAZE_VERSION);
      return 1;
    case O_HELP:
      fputs(gw_usage_text, stdout);
      return 1;
    default:
      snprintf(err, errlen, "unknown or incomplete option %s", argv[optind - 1]);
      return -1;
    }
  }
  if (optind < argc) {
    snprintf(err, errlen, "unexpected argument %s", argv[optind]);
    return -1;
  }
  if (routes) {
    for (size_t i = 0; i < gw_routes_count; i++)
      printf("%s %s\n", gw_routes[i].method, gw_routes[i].path);
    return 1;
  }
  cfg->http_addr = s_http && s_http[0] ? s_http : "0.0.0.0:8080";
  cfg->grpc_target = s_target && s_target[0] ? s_target : "127.0.0.1:50051";
  struct sockaddr_storage ss;
  socklen_t sslen;
  if (gw_listen_addr_parse(cfg->http_addr, &ss, &sslen) != 0) {
    snprintf(err, errlen, "TVMAZE_HTTP_ADDR: expected host:port with a numeric host, got \"%s\"",
             cfg->http_addr);
    return -1;
  }
  /* empty = unset, as for the other variables */
  cfg->tls.ca = cfg->tls.ca && cfg->tls.ca[0] ? cfg->tls.ca : NULL;
  cfg->tls.cert = cfg->tls.cert && cfg->tls.cert[0] ? cfg->tls.cert : NULL;
  cfg->tls.key = cfg->tls.key && cfg->tls.key[0] ? cfg->tls.key : NULL;
  cfg->tls_on = cfg->tls.ca || cfg->tls.cert || cfg->tls.key;
  if (cfg->tls_on && rpc_tls_files_check(&cfg->tls, 0, err, errlen) != 0)
    return -1;
  char why[160];
  if (cfg->redis_url && cfg->redis_url[0] &&
      redis_url_parse(cfg->redis_url, &(struct redis_url){0}, why, sizeof why) != REDIS_URL_OK) {
    snprintf(err, errlen, "REDIS_URL: %s", why);
    return -1;
  }
  if (cfg->api_username && cfg->api_username[0] && (!cfg->api_password || !cfg->api_password[0])) {
    snprintf(err, errlen, "API_PASSWORD must be set when API_USERNAME is");
    return -1;
  }
  if (cfg->trusted_proxies && !gw_proxy_list_valid(cfg->trusted_proxies)) {
    snprintf(err, errlen, "TVMAZE_TRUSTED_PROXIES: expected comma-separated IPs or CIDRs");
    return -1;
  }
  cfg->log_level = LOG_INFO;
  cfg->log_format = LOG_FORMAT_JSON;
  if (s_level && s_level[0] && log_level_parse(s_level, &cfg->log_level) != 0) {
    snprintf(err, errlen, "LOG_LEVEL: expected debug|info|warn|error, got \"%s\"", s_level);
    return -1;
  }
  if (s_format && s_format[0] && log_format_parse(s_format, &cfg->log_format) != 0) {
    snprintf(err, errlen, "LOG_FORMAT: expected json|text, got \"%s\"", s_format);
    return -1;
  }
  cfg->ip_limit = 2000;
  cfg->ip_window_s = 300;
  cfg->auth_cache_ttl_s = 1;
  cfg->upstream_timeout_ms = 10000;
  cfg->conn_timeout_s = 30;
  cfg->response_cache_ttl_s = 60;
  cfg->http_threads = 0;
  cfg->upstream_workers = 32;
  cfg->upstream_queue = 256;
  cfg->runstats_period_s = 15;
  cfg->head_timeout_s = 10;
  cfg->per_ip_connections = 100;
  cfg->health_interval_ms = 1000;
  cfg->stream_heartbeat_ms = 10000;
  cfg->stream_limit = 4000;
  if ((s_iplim &&
       parse_long_("TVMAZE_RATE_IP_LIMIT", s_iplim, 1, 100000000, &cfg->ip_limit, err, errlen)) ||
      (s_ipwin &&
       parse_long_("TVMAZE_RATE_IP_WINDOW", s_ipwin, 1, 86400, &cfg->ip_window_s, err, errlen)) ||
      (s_ttl &&
       parse_long_("TVMAZE_AUTH_CACHE_TTL", s_ttl, 0, 3600, &cfg->auth_cache_ttl_s, err, errlen)) ||
      (s_uto && parse_long_("TVMAZE_UPSTREAM_TIMEOUT_MS", s_uto, 1, 600000,
                            &cfg->upstream_timeout_ms, err, errlen)) ||
      (s_hto &&
       parse_long_("TVMAZE_HTTP_TIMEOUT", s_hto, 1, 3600, &cfg->conn_timeout_s, err, errlen)) ||
      (s_rttl && parse_long_("TVMAZE_RESPONSE_CACHE_TTL", s_rttl, 0, 3600,
                             &cfg->response_cache_ttl_s, err, errlen)) ||
      (s_thr &&
       parse_long_("TVMAZE_HTTP_THREADS", s_thr, 0, 64, &cfg->http_threads, err, errlen)) ||
      (s_wrk && parse_long_("TVMAZE_UPSTREAM_WORKERS", s_wrk, 1, 1024, &cfg->upstream_workers, err,
                            errlen)) ||
      (s_que &&
       parse_long_("TVMAZE_UPSTREAM_QUEUE", s_que, 0, 100000, &cfg->upstream_queue, err, errlen)) ||
      (s_rsp && parse_long_("TVMAZE_INGEST_METRICS_INTERVAL", s_rsp, 1, 3600,
                            &cfg->runstats_period_s, err, errlen)) ||
      (s_head && parse_long_("TVMAZE_HTTP_HEAD_TIMEOUT", s_head, 1, 3600, &cfg->head_timeout_s, err,
                             errlen)) ||
      (s_pip && parse_long_("TVMAZE_HTTP_PER_IP_CONNECTIONS", s_pip, 0, 1000,
                            &cfg->per_ip_connections, err, errlen)) ||
      (s_hiv && parse_long_("TVMAZE_HEALTH_INTERVAL_MS", s_hiv, 100, 60000,
                            &cfg->health_interval_ms, err, errlen)) ||
      (s_shb && parse_long_("TVMAZE_STREAM_HEARTBEAT_MS", s_shb, 100, 15000,
                            &cfg->stream_heartbeat_ms, err, errlen)) ||
      (s_slim &&
       parse_long_("TVMAZE_STREAM_LIMIT", s_slim, 1, 100000, &cfg->stream_limit, err, errlen)))
    return -1;
  if (otel_config_from_env(&cfg->otel, "tvmaze-gateway", TVMAZE_VERSION, err, errlen) != 0)
    return -1;
  return 0;
}

int gw_listen_addr_parse(const char *addr, struct sockaddr_storage *ss, socklen_t *len) {
  char host[256];
  const char *colon = strrchr(addr, ':');
  if (!colon || colon == addr)
    return -1;
  const char *h = addr;
  size_t hl = (size_t)(colon - addr);
  if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
    h++;
    hl -= 2;
  }
  if (hl >= sizeof host)
    return -1;
  memcpy(host, h, hl);
  host[hl] = '\0';
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || port < 0 || port > 65535 || colon[1] == '\0')
    return -1;
  struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_PASSIVE, .ai_socktype = SOCK_STREAM};
  struct addrinfo *ai = NULL;
  if (getaddrinfo(host, NULL, &hints, &ai) != 0 || !ai)
    return -1;
  memcpy(ss, ai->ai_addr, ai->ai_addrlen);
  *len = ai->ai_addrlen;
  freeaddrinfo(ai);
  if (ss->ss_family == AF_INET)
    ((struct sockaddr_in *)(void *)ss)->sin_port = htons((uint16_t)port);
  else
    ((struct sockaddr_in6 *)(void *)ss)->sin6_port = htons((uint16_t)port);
  return 0;
}
