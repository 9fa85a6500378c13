/*
 * cli: the `tvmaze` command-line client, built on the generated stubs over
 * the rpc binding. One file per command group (cmd_health.c, cmd_ingest.c,
 * cmd_shows.c, cmd_analytics.c, cmd_changes.c); main.c dispatches through the table in
 * cli_commands.c.
 *
 * Exit status (every command): 0 success, 1 the RPC failed (status printed on
 * stderr as "tvmaze: NOT_FOUND: show 42 not found"), 2 usage error.
 */
#ifndef TVMAZE_CLIENT_CLI_H
#define TVMAZE_CLIENT_CLI_H

#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

#include "rpc.h"

enum { CLI_OK = 0, CLI_RPC_ERROR = 1, CLI_USAGE = 2 };

/* What every command gets: the channel and the global options. */
struct cli_ctx {
  rpc_channel *channel; /* to --target / TVMAZE_GRPC_TARGET */
  const char *target;
  int json;           /* --json: proto3 JSON output instead of tables */
  int64_t timeout_ms; /* --timeout (default 10000) */
  FILE *out;          /* stdout */
  FILE *err;          /* stderr */
};

/* A command group ("shows") whose run() gets argv after the group name
 * (argv[0] = subcommand, if any). Returns an exit status above. */
struct cli_command {
  const char *name;
  const char *summary; /* one line for `tvmaze --help` */
  int (*run)(struct cli_ctx *ctx, int argc, char **argv);
};

extern const struct cli_command cli_commands[];
extern const size_t cli_commands_count;

/* Prints "tvmaze: CODE: message" for a failed call; returns CLI_RPC_ERROR. */
int cli_rpc_error(struct cli_ctx *ctx, const struct rpc_client_ctx *call);
/* cli_rpc_error, then releases call; returns CLI_RPC_ERROR. */
int cli_rpc_fail(struct cli_ctx *ctx, struct rpc_client_ctx *call);

/* Prints "tvmaze: message" + a usage hint; returns CLI_USAGE. */
int cli_usage_error(struct cli_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints msg as proto3 JSON (proto field names, wrappers as bare values,
 * Timestamps as RFC 3339) followed by a newline. */
void cli_print_json(struct cli_ctx *ctx, const ProtobufCMessage *msg);

#endif
