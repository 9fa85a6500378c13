/*
 * cli_commands: the command table of the `tvmaze` CLI. Each command group
 * lives in its own cmd_*.c file; add one line here per group.
 */
#include "cli.h"

int cmd_health(struct cli_ctx *ctx, int argc, char **argv);
int cmd_ingest(struct cli_ctx *ctx, int argc, char **argv);

const struct cli_command cli_commands[] = {
    {"health", "health [SERVICE]: grpc.health.v1 check (exit 0 if SERVING)", cmd_health},
    {"ingest", "ingest start|status|list: ingestion runs (Ingest service)", cmd_ingest},
};

const size_t cli_commands_count = sizeof cli_commands / sizeof cli_commands[0];
