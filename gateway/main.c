/*
 * tvmaze-gateway: the REST gateway in front of tvmaze-server.
 *
 *   tvmaze-gateway [FLAGS]      serve until SIGTERM/SIGINT
 *   tvmaze-gateway --routes     print the route table ("GET /api/v1/...")
 *
 * Settings: config.h. Everything else is the daemon's (daemon.h). Exit
 * status: 0 after a clean stop, 1 on a runtime failure (cannot listen), 2
 * on bad configuration.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "rpc.h"

int main(int argc, char **argv) {
  struct gw_config cfg;
  char err[512];
  int rc = gw_config_load(&cfg, argc, argv, err, sizeof err);
  if (rc == 1)
    return 0;
  if (rc < 0) {
    fprintf(stderr, "tvmaze-gateway: %s\n%s", err, gw_usage_text);
    return 2;
  }
  log_init(cfg.log_level, cfg.log_format);
  rpc_init(); /* blocks SIGINT/SIGTERM/SIGPIPE in this and later threads */
  rpc_log_to_events();
  struct gw_daemon *d = gw_daemon_start(&cfg, err, sizeof err);
  if (!d) {
    LOG_EVENT(LOG_ERROR, "gateway_listen_failed", LF_STR("addr", cfg.http_addr),
              LF_STR("error", err));
    rpc_cleanup();
    return 1;
  }
  LOG_EVENT(LOG_INFO, "gateway_started", LF_STR("addr", cfg.http_addr),
            LF_STR("upstream", cfg.grpc_target), LF_BOOL("upstream_tls", cfg.tls_on),
            LF_BOOL("redis", cfg.redis_url != NULL),
            LF_BOOL("basic_auth", cfg.api_username != NULL),
            LF_BOOL("api_key", cfg.api_key != NULL && cfg.api_key[0] != '\0'));
  if (cfg.api_key == NULL || cfg.api_key[0] == '\0')
    LOG_EVENT(LOG_WARN, "gateway_no_api_key",
              LF_STR("effect",
                     "TVMAZE_API_KEY unset: the server refuses the gateway's own calls "
                     "and HTTP Basic callers (UNAUTHENTICATED)"));
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  int sig = 0;
  sigwait(&set, &sig);
  LOG_EVENT(LOG_INFO, "gateway_stopping", LF_INT("signal", sig));
  gw_daemon_stop(d);
  rpc_cleanup();
  return 0;
}
