/*
 * cmd_changes: `tvmaze changes ...` -- the change feed (Changes service).
 *
 *   tvmaze changes list [--after V] [--limit N] [--show-ids 1,2] [--entity SHOW|EPISODE]
 *                       [--all]
 *   tvmaze changes watch [--after V] [--show-ids 1,2] [--entity SHOW|EPISODE]
 *
 * list prints one line per change, oldest first, then the version to pass
 * as --after for the next page; --all pages on until it has caught up with
 * the current version. --json prints each reply (a page) as proto3 JSON.
 * watch follows Changes/WatchChanges: a line per change (--json: one
 * Change as proto3 JSON per line, NDJSON; heartbeats are not printed), and
 * when the stream ends with UNAVAILABLE (a server drain, a lost connection),
 * CANCELLED (what a draining server answers a new call on its old
 * connection) or RESOURCE_EXHAUSTED (it read too slowly) it says so on stderr and
 * resumes after the last version it printed, with a backoff of 0.25 s
 * doubling to 10 s. Ctrl-C (SIGINT) or SIGTERM ends it with status 0; any
 * other end is status 1. --show-ids and --entity take what the REST route
 * takes ("1,2"; SHOW or CHANGE_ENTITY_SHOW), through the same field
 * mapping (pbjson).
 */
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_util.h"
#include "pbjson.h"
#include "tvmaze/v1/changes.pb-c.h"

int cmd_changes(struct cli_ctx *ctx, int argc, char **argv);

static const char USAGE_[] =
    "usage: tvmaze changes list [--after V] [--limit N] [--show-ids ID,...] "
    "[--entity SHOW|EPISODE] [--all]\n"
    "       tvmaze changes watch [--after V] [--show-ids ID,...] [--entity SHOW|EPISODE]\n";

#define WATCH_POLL_MS 250
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 10000

static const char *entity_(Tvmaze__V1__ChangeEntity e) {
  switch (e) {
  case TVMAZE__V1__CHANGE_ENTITY__CHANGE_ENTITY_SHOW:
    return "SHOW";
  case TVMAZE__V1__CHANGE_ENTITY__CHANGE_ENTITY_EPISODE:
    return "EPISODE";
  default:
    return "?";
  }
}

static const char *op_(Tvmaze__V1__ChangeOp op) {
  switch (op) {
  case TVMAZE__V1__CHANGE_OP__CHANGE_OP_CREATED:
    return "CREATED";
  case TVMAZE__V1__CHANGE_OP__CHANGE_OP_UPDATED:
    return "UPDATED";
  case TVMAZE__V1__CHANGE_OP__CHANGE_OP_REMOVED:
    return "REMOVED";
  default:
    return "?";
  }
}

/* "12345  2026-12-02T14:00:00Z  EPISODE UPDATED  id 7 show 3  S01E02 2026-12-03
 * Pilot  [airdate, airtime]" */
static void print_change_(struct cli_ctx *ctx, const Tvmaze__V1__Change *c) {
  char when[32] = "-";
  if (c->changed_at != NULL) {
    time_t s = (time_t)c->changed_at->seconds;
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  }
  fprintf(ctx->out, "%" PRId64 "  %s  %s %s  id %d show %d", c->version, when, entity_(c->entity),
          op_(c->op), c->id, c->show_id);
  if (c->show != NULL) {
    fprintf(ctx->out, "  %s", c->show->name);
  } else if (c->episode != NULL) {
    const Tvmaze__V1__Episode *e = c->episode;
    if (e->season != NULL && e->number != NULL) {
      fprintf(ctx->out, "  S%02dE%02d", e->season->value, e->number->value);
    }
    fprintf(ctx->out, "  %s %s", e->airdate, e->name);
  }
  for (size_t i = 0; i < c->n_fields; i++) {
    fprintf(ctx->out, "%s%s", i == 0 ? "  [" : ", ", c->fields[i]);
  }
  fputs(c->n_fields > 0 ? "]\n" : "\n", ctx->out);
}

/* Sets a request field from a flag's text with the REST mapping; prints a
 * usage error naming the flag on failure. */
static int set_field_(struct cli_ctx *ctx, ProtobufCMessage *req, const char *flag,
                      const char *field, const char *value) {
  struct pbjson_error err;
  if (value != NULL && pbjson_set_field(req, field, value, &err) != PBJSON_OK) {
    return cli_usage_error(ctx, "%s: %s", flag, err.message);
  }
  return CLI_OK;
}

/* Parses a subcommand's flags (argv[0] is the subcommand) into a new
 * request of type desc, every value through the REST field mapping; list:
 * --limit and --all are taken too. Returns CLI_OK with *out (free it with
 * protobuf_c_message_free_unpacked), or a status with *out NULL (--help
 * printed the usage: CLI_OK). */
static int request_(struct cli_ctx *ctx, int argc, char **argv,
                    const ProtobufCMessageDescriptor *desc, int list, ProtobufCMessage **out,
                    int *all) {
  const char *after = NULL, *limit = NULL, *show_ids = NULL, *entity = NULL;
  int help = 0;
  const struct cli_flag flags[] = {
      {"--after", NULL, CLI_FLAG_STRING, &after, NULL},
      {"--show-ids", NULL, CLI_FLAG_STRING, &show_ids, NULL},
      {"--entity", NULL, CLI_FLAG_STRING, &entity, NULL},
      {"--limit", NULL, CLI_FLAG_STRING, &limit, NULL}, /* list only, from here */
      {"--all", NULL, CLI_FLAG_BOOL, all, NULL},
  };
  const size_t n_flags = list ? sizeof flags / sizeof flags[0] : 3;
  const char *pos[1];
  size_t npos = 0;
  *out = NULL;
  int rc = cli_flags_parse(ctx, flags, n_flags, argc - 1, argv + 1, pos, 0, &npos, &help);
  if (rc != CLI_OK || help) {
    if (help) {
      fputs(USAGE_, ctx->out);
    }
    return rc;
  }
  ProtobufCMessage *m = pbjson_message_new(desc);
  rc = set_field_(ctx, m, "--after", "after_version", after);
  if (rc == CLI_OK) {
    rc = set_field_(ctx, m, "--show-ids", "show_ids", show_ids);
  }
  if (rc == CLI_OK) {
    rc = set_field_(ctx, m, "--entity", "entity", entity);
  }
  if (rc == CLI_OK && list) {
    rc = set_field_(ctx, m, "--limit", "limit", limit);
  }
  if (rc != CLI_OK) {
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
  }
  *out = m;
  return CLI_OK;
}

static int list_(struct cli_ctx *ctx, ProtobufCService *svc, int argc, char **argv) {
  ProtobufCMessage *m = NULL;
  int all = 0;
  int rc = request_(ctx, argc, argv, &tvmaze__v1__list_changes_request__descriptor, 1, &m, &all);
  if (m == NULL) {
    return rc;
  }
  Tvmaze__V1__ListChangesRequest *req = (Tvmaze__V1__ListChangesRequest *)m;
  size_t total = 0;
  while (rc == CLI_OK) {
    struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(ctx->timeout_ms);
    tvmaze__v1__changes__list_changes(
        svc, req, (Tvmaze__V1__ListChangesResponse_Closure)rpc_client_keep_reply, &call);
    if (call.code != RPC_OK) {
      rc = cli_rpc_fail(ctx, &call);
      break;
    }
    const Tvmaze__V1__ListChangesResponse *resp = (const void *)call.reply;
    if (ctx->json) {
      cli_print_json(ctx, call.reply);
    } else {
      for (size_t i = 0; i < resp->n_changes; i++) {
        print_change_(ctx, resp->changes[i]);
      }
    }
    total += resp->n_changes;
    int more = all && resp->n_changes > 0 && resp->next_after_version < resp->current_version;
    if (!more && !ctx->json) {
      fprintf(ctx->out, "%zu changes; next --after %" PRId64 " (current version %" PRId64 ")\n",
              total, resp->next_after_version, resp->current_version);
    }
    req->after_version = resp->next_after_version;
    rpc_client_ctx_release(&call);
    if (!more) {
      break;
    }
  }
  protobuf_c_message_free_unpacked(m, NULL);
  return rc;
}

enum watch_end { WATCH_INTERRUPTED, WATCH_RESUME, WATCH_FAILED };

/* One WatchChanges stream from req->after_version; advances it past each
 * change printed. */
static enum watch_end watch_once_(struct cli_ctx *ctx, Tvmaze__V1__WatchChangesRequest *req,
                                  int *got) {
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(0);
  rpc_client_stream *s =
      rpc_client_stream_open(ctx->channel, "/tvmaze.v1.Changes/WatchChanges", &req->base,
                             &tvmaze__v1__watch_changes_response__descriptor, &call);
  char msg[512] = "";
  for (;;) {
    if (cli_interrupted()) {
      rpc_client_stream_close(s);
      return WATCH_INTERRUPTED;
    }
    ProtobufCMessage *m = NULL;
    rpc_code rc = rpc_client_stream_next(s, &m, WATCH_POLL_MS, msg, sizeof msg);
    if (rc == RPC_STREAM_PENDING) {
      continue;
    }
    if (rc == RPC_OK && m != NULL) {
      const Tvmaze__V1__WatchChangesResponse *r = (const void *)m;
      if (r->message_case == TVMAZE__V1__WATCH_CHANGES_RESPONSE__MESSAGE_CHANGE) {
        if (ctx->json) {
          cli_print_json(ctx, &r->change->base);
        } else {
          print_change_(ctx, r->change);
        }
        fflush(ctx->out);
        req->after_version = r->change->version;
        *got = 1;
      }
      protobuf_c_message_free_unpacked(m, NULL);
      continue;
    }
    rpc_client_stream_close(s);
    /* CANCELLED: not ours (an interrupt returns above); a server that is
     * draining answers new calls with it on its old connection */
    if (rc == RPC_UNAVAILABLE || rc == RPC_RESOURCE_EXHAUSTED || rc == RPC_CANCELLED) {
      fprintf(ctx->err, "tvmaze: %s: %s; resuming after version %" PRId64 "\n", rpc_code_name(rc),
              msg, req->after_version);
      return WATCH_RESUME;
    }
    fprintf(ctx->err, "tvmaze: %s: %s\n", rpc_code_name(rc),
            rc == RPC_OK ? "the stream ended" : msg);
    return WATCH_FAILED;
  }
}

static int watch_(struct cli_ctx *ctx, int argc, char **argv) {
  ProtobufCMessage *m = NULL;
  int rc = request_(ctx, argc, argv, &tvmaze__v1__watch_changes_request__descriptor, 0, &m, NULL);
  if (m == NULL) {
    return rc;
  }
  Tvmaze__V1__WatchChangesRequest *req = (Tvmaze__V1__WatchChangesRequest *)m;
  int64_t backoff = BACKOFF_MIN_MS;
  while (rc == CLI_OK) {
    int got = 0;
    enum watch_end end = watch_once_(ctx, req, &got);
    if (end == WATCH_FAILED) {
      rc = CLI_RPC_ERROR;
    } else if (end == WATCH_INTERRUPTED) {
      break;
    } else {
      backoff = got ? BACKOFF_MIN_MS : backoff;
      if (cli_pause_ms(backoff)) {
        break;
      }
      backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
  }
  protobuf_c_message_free_unpacked(m, NULL);
  return rc;
}

int cmd_changes(struct cli_ctx *ctx, int argc, char **argv) {
  if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
    fputs(USAGE_, argc < 1 ? ctx->err : ctx->out);
    return argc < 1 ? CLI_USAGE : CLI_OK;
  }
  if (strcmp(argv[0], "watch") == 0) {
    return watch_(ctx, argc, argv);
  }
  if (strcmp(argv[0], "list") != 0) {
    return cli_usage_error(ctx, "changes: unknown subcommand %s", argv[0]);
  }
  ProtobufCService *svc = rpc_client_service_create(ctx->channel, &tvmaze__v1__changes__descriptor);
  int rc = list_(ctx, svc, argc, argv);
  rpc_client_service_destroy(svc);
  return rc;
}
