/*
 * cmd_health: `tvmaze health [SERVICE]` -- grpc.health.v1.Health/Check through
 * the protoc-c stub over the rpc binding. Prints the serving status; exit 0
 * if SERVING, 1 otherwise (including RPC failures, e.g. NOT_FOUND for an
 * unknown service), 2 on usage errors.
 */
#include <string.h>

#include "cli.h"
#include "grpc/health/v1/health.pb-c.h"

int cmd_health(struct cli_ctx *ctx, int argc, char **argv);

int cmd_health(struct cli_ctx *ctx, int argc, char **argv) {
  if (argc > 1) {
    return cli_usage_error(ctx, "usage: tvmaze health [SERVICE]");
  }
  if (argc == 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
    fprintf(ctx->out,
            "usage: tvmaze health [SERVICE]\n"
            "  Checks grpc.health.v1.Health for the whole server or one service.\n");
    return CLI_OK;
  }
  ProtobufCService *svc =
      rpc_client_service_create(ctx->channel, &grpc__health__v1__health__descriptor);
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  req.service = argc == 1 ? argv[0] : (char *)"";
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(ctx->timeout_ms);
  grpc__health__v1__health__check(
      svc, &req, (Grpc__Health__V1__HealthCheckResponse_Closure)rpc_client_keep_reply, &call);
  int rc;
  if (call.code != RPC_OK) {
    rc = cli_rpc_error(ctx, &call);
  } else {
    const Grpc__Health__V1__HealthCheckResponse *resp =
        (const Grpc__Health__V1__HealthCheckResponse *)call.reply;
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &grpc__health__v1__health_check_response__serving_status__descriptor, (int)resp->status);
    const char *name = v != NULL ? v->name : "UNKNOWN";
    if (ctx->json) {
      fprintf(ctx->out, "{\"status\":\"%s\"}\n", name); /* proto3 JSON of the reply */
    } else {
      fprintf(ctx->out, "%s\n", name);
    }
    rc = resp->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
             ? CLI_OK
             : CLI_RPC_ERROR;
  }
  rpc_client_ctx_release(&call);
  rpc_client_service_destroy(svc);
  return rc;
}
