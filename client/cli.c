/*
 * cli: helpers shared by every command of the `tvmaze` CLI (error and usage
 * output). See cli.h.
 */
#include <stdarg.h>

#include "cli.h"

#include "google/rpc/error_details.pb-c.h"

int cli_rpc_error(struct cli_ctx *ctx, const struct rpc_client_ctx *call) {
  const Google__Rpc__BadRequest *br = (const Google__Rpc__BadRequest *)rpc_details_find(
      &call->details, &google__rpc__bad_request__descriptor);
  if (br != NULL && br->n_field_violations > 1) {
    /* one line per bad field (the message joins them with "; ") */
    fprintf(ctx->err, "tvmaze: %s: %zu bad fields:\n", rpc_code_name(call->code),
            br->n_field_violations);
    for (size_t i = 0; i < br->n_field_violations; i++) {
      const Google__Rpc__BadRequest__FieldViolation *v = br->field_violations[i];
      fprintf(ctx->err, "  %s: %s\n", v->field, v->description);
    }
  } else if (call->message[0] != '\0') {
    fprintf(ctx->err, "tvmaze: %s: %s\n", rpc_code_name(call->code), call->message);
  } else {
    fprintf(ctx->err, "tvmaze: %s\n", rpc_code_name(call->code));
  }
  int64_t retry_s = rpc_details_retry_seconds(&call->details);
  if (retry_s > 0) {
    fprintf(ctx->err, "tvmaze: the server asks to retry in %lld s\n", (long long)retry_s);
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
