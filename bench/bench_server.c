/*
 * tvmaze-bench-server: the binding alone, serving grpc.health.v1.Health/Check
 * (no health callback: always SERVING, no database) so bench/grpc.sh measures
 * the binding's trivial-RPC throughput beside the C++ reference server.
 *
 *   tvmaze-bench-server ADDR [WORKERS]     serves until SIGTERM/SIGINT
 */
#include <stdio.h>
#include <stdlib.h>

#include "rpc.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: tvmaze-bench-server ADDR [WORKERS]\n");
    return 2;
  }
  rpc_init();
  char *end = NULL;
  long workers = argc > 2 ? strtol(argv[2], &end, 10) : 2;
  if (argc > 2 && (*end || workers < 1 || workers > 256)) {
    fprintf(stderr, "tvmaze-bench-server: WORKERS must be 1..256, not %s\n", argv[2]);
    return 2;
  }
  struct rpc_server_config cfg = {.addr = argv[1], .workers = (int)workers};
  char err[256];
  rpc_server *srv = rpc_server_create(&cfg, err, sizeof err);
  if (srv == NULL || rpc_server_start(srv, err, sizeof err) != 0) {
    fprintf(stderr, "tvmaze-bench-server: %s\n", err);
    rpc_server_destroy(srv);
    rpc_cleanup();
    return 1;
  }
  fprintf(stderr, "tvmaze-bench-server on port %d\n", rpc_server_port(srv));
  rpc_server_run_until_signal(srv);
  rpc_server_destroy(srv);
  rpc_cleanup();
  return 0;
}
