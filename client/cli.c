/*
 * cli: helpers shared by every command of the `tvmaze` CLI (error and usage
 * output). See cli.h.
 */
#include <stdarg.h>

#include "cli.h"

int cli_rpc_error(struct cli_ctx *ctx, const struct rpc_client_ctx *call) {
  if (call->message[0] != '\0') {
    fprintf(ctx->err, "tvmaze: %s: %s\n", rpc_code_name(call->code), call->message);
  } else {
    fprintf(ctx->err, "tvmaze: %s\n", rpc_code_name(call->code));
  }
  return CLI_RPC_ERROR;
}

int cli_rpc_fail(struct cli_ctx *ctx, struct rpc_client_ctx *call) {
  int rc = cli_rpc_error(ctx, call);
  rpc_client_ctx_release(call);
  return rc;
}

int cli_usage_error(struct cli_ctx *ctx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("tvmaze: ", ctx->err);
  vfprintf(ctx->err, fmt, ap);
  va_end(ap);
  fputs("\n(run `tvmaze --help` for usage)\n", ctx->err);
  return CLI_USAGE;
}

/* cli_print_json lives in cli_json.c (pbjson). */
