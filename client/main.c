/*
 * tvmaze: the command-line client of tvmaze-server.
 *
 *   tvmaze [--target HOST:PORT] [--timeout MS] [--api-key KEY] [--grpc-tls-ca FILE
 *          [--grpc-tls-client-cert FILE --grpc-tls-client-key FILE]] [--json] COMMAND [ARGS...]
 *   tvmaze --help | --version
 *
 * --target defaults to $TVMAZE_GRPC_TARGET, else 127.0.0.1:50051; --timeout
 * (per call, milliseconds) to 10000; --api-key to $TVMAZE_API_KEY, sent as
 * x-api-key on every call (the server refuses tvmaze.v1 calls without one);
 * --grpc-tls-ca to $TVMAZE_GRPC_TLS_CA: when set the CLI speaks TLS,
 * trusting that CA, and presents --grpc-tls-client-cert/-key
 * ($TVMAZE_GRPC_TLS_CLIENT_CERT/_KEY) to an mTLS server. Bad TLS files:
 * a message naming the setting and exit 2.
 * Exit status: see cli.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rpc.h"

#define DEFAULT_TARGET "127.0.0.1:50051"
#define DEFAULT_TIMEOUT_MS 10000

static void usage_(FILE *out) {
  fprintf(out,
          "usage: tvmaze [--target HOST:PORT] [--timeout MS] [--api-key KEY] [--json] COMMAND "
          "[ARGS...]\n"
          "       tvmaze --help | --version\n\n"
          "  --target HOST:PORT  server address (env TVMAZE_GRPC_TARGET, default " DEFAULT_TARGET
          ")\n"
          "  --timeout MS        per-call deadline in milliseconds (default 10000)\n"
          "  --api-key KEY       API key sent with every call (env TVMAZE_API_KEY)\n"
          "  --grpc-tls-ca FILE  PEM CA of the server's certificate: speak TLS\n"
          "                      (env TVMAZE_GRPC_TLS_CA; unset: plaintext)\n"
          "  --grpc-tls-client-cert FILE, --grpc-tls-client-key FILE\n"
          "                      client certificate and key for an mTLS server\n"
          "                      (env TVMAZE_GRPC_TLS_CLIENT_CERT, TVMAZE_GRPC_TLS_CLIENT_KEY)\n"
          "  --json              print replies as proto3 JSON\n\ncommands:\n");
  for (size_t i = 0; i < cli_commands_count; i++) {
    fprintf(out, "  %-10s %s\n", cli_commands[i].name, cli_commands[i].summary);
  }
}

/* getenv, with "" as unset. */
static const char *env_(const char *name) {
  const char *v = getenv(name);
  return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The flags that take a value, and where it goes. */
enum { F_TARGET, F_TIMEOUT, F_API_KEY, F_TLS_CA, F_TLS_CERT, F_TLS_KEY, N_VALUE_FLAGS };
static const char *const value_flags_[N_VALUE_FLAGS] = {"--target",
                                                        "--timeout",
                                                        "--api-key",
                                                        "--grpc-tls-ca",
                                                        "--grpc-tls-client-cert",
                                                        "--grpc-tls-client-key"};

/* Parses a positive millisecond count; -1 if not one. */
static int64_t parse_ms_(const char *s) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v <= 0) {
    return -1;
  }
  return (int64_t)v;
}

int main(int argc, char **argv) {
  struct cli_ctx ctx = {.target = getenv("TVMAZE_GRPC_TARGET"),
                        .timeout_ms = DEFAULT_TIMEOUT_MS,
                        .out = stdout,
                        .err = stderr};
  if (ctx.target == NULL || ctx.target[0] == '\0') {
    ctx.target = DEFAULT_TARGET;
  }
  const char *api_key = getenv("TVMAZE_API_KEY");
  struct rpc_tls_files tls = {.ca = env_("TVMAZE_GRPC_TLS_CA"),
                              .cert = env_("TVMAZE_GRPC_TLS_CLIENT_CERT"),
                              .key = env_("TVMAZE_GRPC_TLS_CLIENT_KEY"),
                              .ca_name = "TVMAZE_GRPC_TLS_CA",
                              .cert_name = "TVMAZE_GRPC_TLS_CLIENT_CERT",
                              .key_name = "TVMAZE_GRPC_TLS_CLIENT_KEY"};
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    const char *val = NULL;
    size_t n = strcspn(a, "=");
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage_(stdout);
      return CLI_OK;
    }
    if (strcmp(a, "--version") == 0) {
      printf("tvmaze %s\n", TVMAZE_VERSION);
      return CLI_OK;
    }
    if (strcmp(a, "--json") == 0) {
      ctx.json = 1;
      continue;
    }
    int f = 0;
    while (f < N_VALUE_FLAGS &&
           !(strlen(value_flags_[f]) == n && strncmp(a, value_flags_[f], n) == 0)) {
      f++;
    }
    if (f < N_VALUE_FLAGS) {
      if (a[n] == '=') {
        val = a + n + 1;
      } else if (i + 1 < argc) {
        val = argv[++i];
      } else {
        return cli_usage_error(&ctx, "%.*s needs a value", (int)n, a);
      }
      if (f != F_TIMEOUT && val[0] == '\0') {
        return cli_usage_error(&ctx, "%s must not be empty", value_flags_[f]);
      }
      switch (f) {
      case F_TARGET:
        ctx.target = val;
        break;
      case F_TIMEOUT:
        if ((ctx.timeout_ms = parse_ms_(val)) < 0) {
          return cli_usage_error(&ctx, "--timeout: \"%s\" is not a positive number of milliseconds",
                                 val);
        }
        break;
      case F_API_KEY:
        api_key = val;
        break;
      case F_TLS_CA:
        tls.ca = val;
        tls.ca_name = "--grpc-tls-ca";
        break;
      case F_TLS_CERT:
        tls.cert = val;
        tls.cert_name = "--grpc-tls-client-cert";
        break;
      default:
        tls.key = val;
        tls.key_name = "--grpc-tls-client-key";
        break;
      }
      continue;
    }
    return cli_usage_error(&ctx, "unknown flag \"%s\"", a);
  }
  if (i >= argc) {
    usage_(stderr);
    return CLI_USAGE;
  }
  const struct cli_command *cmd = NULL;
  for (size_t k = 0; k < cli_commands_count; k++) {
    if (strcmp(cli_commands[k].name, argv[i]) == 0) {
      cmd = &cli_commands[k];
    }
  }
  if (cmd == NULL) {
    return cli_usage_error(&ctx, "unknown command \"%s\"", argv[i]);
  }
  int tls_on = tls.ca != NULL || tls.cert != NULL || tls.key != NULL;
  char err[512];
  if (tls_on && rpc_tls_files_check(&tls, 0, err, sizeof err) != 0) {
    fprintf(stderr, "tvmaze: %s\n", err);
    return CLI_USAGE;
  }
  rpc_init();
  ctx.channel = rpc_channel_create_tls(ctx.target, 0, tls_on ? &tls : NULL, err, sizeof err);
  if (ctx.channel == NULL) {
    fprintf(stderr, "tvmaze: %s\n", err);
    rpc_cleanup();
    return CLI_USAGE;
  }
  if (api_key != NULL && api_key[0] != '\0') {
    rpc_channel_add_metadata(ctx.channel, "x-api-key", api_key);
  }
  int rc = cmd->run(&ctx, argc - i - 1, argv + i + 1);
  rpc_channel_destroy(ctx.channel);
  rpc_cleanup();
  return rc;
}
