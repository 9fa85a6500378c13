/*
 * cli_json: `tvmaze --json` output through pbjson (the same proto3 JSON
 * mapping the gateway serves).
 */
#include "cli.h"
#include "pbjson.h"
#include "strbuf.h"

void cli_print_json(struct cli_ctx *ctx, const ProtobufCMessage *msg) {
  struct strbuf b;
  strbuf_init(&b);
  pbjson_write(&b, msg);
  fprintf(ctx->out, "%s\n", b.data ? b.data : "{}");
  strbuf_release(&b);
}
