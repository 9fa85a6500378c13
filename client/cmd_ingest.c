/*
 * cmd_ingest: `tvmaze ingest ...` -- the Ingest service from the command line.
 *
 *   tvmaze ingest start [--start-date YYYY-MM-DD] [--days N] [--wait]
 *   tvmaze ingest status ID
 *   tvmaze ingest list [--page N] [--per-page N]
 *
 * --wait polls GetIngestRun every second until the run ends: a progress bar
 * (days_done/days) when stdout is a terminal, else a line every 10 s; while a
 * full-mode run downloads /schedule/full (no day done yet), its bytes and
 * items instead ("downloading /schedule/full: 123.4 MiB, 45,678 items").
 * Ctrl-C (or SIGTERM) stops the waiting, not the run: exit 130 (143). Exit
 * status with --wait and for status: 0 SUCCEEDED (or still RUNNING for
 * status), 1 PARTIAL/FAILED or an RPC error, 2 usage.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "tvmaze/v1/ingest.pb-c.h"

int cmd_ingest(struct cli_ctx *ctx, int argc, char **argv);

static const char USAGE_[] =
    "usage: tvmaze ingest start [--start-date YYYY-MM-DD] [--days N] [--wait]\n"
    "       tvmaze ingest status ID\n"
    "       tvmaze ingest list [--page N] [--per-page N]\n";

static const char *run_status_(Tvmaze__V1__RunStatus s) {
  switch (s) {
  case TVMAZE__V1__RUN_STATUS__RUN_STATUS_RUNNING:
    return "RUNNING";
  case TVMAZE__V1__RUN_STATUS__RUN_STATUS_SUCCEEDED:
    return "SUCCEEDED";
  case TVMAZE__V1__RUN_STATUS__RUN_STATUS_PARTIAL:
    return "PARTIAL";
  case TVMAZE__V1__RUN_STATUS__RUN_STATUS_FAILED:
    return "FAILED";
  default:
    return "UNSPECIFIED";
  }
}

static void time_(const Google__Protobuf__Timestamp *t, char *buf, size_t n) {
  if (t == NULL) {
    snprintf(buf, n, "-");
    return;
  }
  time_t s = (time_t)t->seconds;
  struct tm tm;
  gmtime_r(&s, &tm);
  strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Days skipped as unchanged (DayResult.skipped), as date ranges: day
 * results are consecutive dates in order. Nothing when none was. */
static void print_skipped_(struct cli_ctx *ctx, const Tvmaze__V1__IngestRun *r) {
  size_t n = 0;
  for (size_t i = 0; i < r->n_day_results; i++) {
    n += r->day_results[i]->skipped != 0;
  }
  if (n == 0) {
    return;
  }
  fprintf(ctx->out, "  skipped %zu of %zu days (bodies unchanged since stored):", n,
          r->n_day_results);
  const char *sep = " ";
  for (size_t i = 0; i < r->n_day_results; i++) {
    if (!r->day_results[i]->skipped) {
      continue;
    }
    size_t j = i;
    while (j + 1 < r->n_day_results && r->day_results[j + 1]->skipped) {
      j++;
    }
    if (j == i) {
      fprintf(ctx->out, "%s%s", sep, r->day_results[i]->date);
    } else {
      fprintf(ctx->out, "%s%s..%s", sep, r->day_results[i]->date, r->day_results[j]->date);
    }
    sep = ", ";
    i = j;
  }
  fputc('\n', ctx->out);
}

/* n with thousands separators ("45,678") into out. */
static void grouped_(long long n, char *out, size_t size) {
  char digits[32];
  int len = snprintf(digits, sizeof digits, "%lld", n < 0 ? 0 : n);
  size_t k = 0;
  for (int i = 0; i < len && k + 2 < size; i++) {
    if (i > 0 && (len - i) % 3 == 0) {
      out[k++] = ',';
    }
    out[k++] = digits[i];
  }
  out[k] = '\0';
}

/* A full-mode run's download progress after verb ("downloading /schedule/full: 123.4
 * MiB of 200.0 MiB, 45,678 items") into out; 0 when the run has none (daily
 * mode, or nothing received yet). */
static int download_line_(const Tvmaze__V1__IngestRun *r, const char *verb, char *out,
                          size_t size) {
  if (r->bytes_downloaded <= 0 && r->items_seen <= 0) {
    return 0;
  }
  char items[32], total[48] = "";
  grouped_(r->items_seen, items, sizeof items);
  if (r->bytes_total > 0) {
    snprintf(total, sizeof total, " of %.1f MiB", (double)r->bytes_total / (1024.0 * 1024.0));
  }
  snprintf(out, size, "%s /schedule/full: %.1f MiB%s, %s items", verb,
           (double)r->bytes_downloaded / (1024.0 * 1024.0), total, items);
  return 1;
}

static void print_run_(struct cli_ctx *ctx, const Tvmaze__V1__IngestRun *r, int with_days) {
  char started[32], finished[32];
  time_(r->started_at, started, sizeof started);
  time_(r->finished_at, finished, sizeof finished);
  fprintf(ctx->out,
          "run %lld  %s  start_date %s  days %d/%d\n"
          "  started %s  finished %s\n"
          "  requests %lld  retries %lld  episodes seen %lld\n"
          "  shows    created %lld  updated %lld  unchanged %lld\n"
          "  episodes created %lld  updated %lld  unchanged %lld  removed %lld\n",
          (long long)r->id, run_status_(r->status), r->start_date, r->days_done, r->days, started,
          finished, (long long)r->requests, (long long)r->retries, (long long)r->episodes_seen,
          (long long)r->shows_created, (long long)r->shows_updated, (long long)r->shows_unchanged,
          (long long)r->episodes_created, (long long)r->episodes_updated,
          (long long)r->episodes_unchanged, (long long)r->episodes_removed);
  char dl[160];
  if (download_line_(r, "downloaded", dl, sizeof dl)) {
    fprintf(ctx->out, "  %s\n", dl);
  }
  if (r->error != NULL && r->error[0] != '\0') {
    fprintf(ctx->out, "  error: %s\n", r->error);
  }
  for (size_t i = 0; with_days && i < r->n_day_results; i++) {
    const Tvmaze__V1__DayResult *d = r->day_results[i];
    if (d->status == TVMAZE__V1__DAY_STATUS__DAY_STATUS_FAILED) {
      fprintf(ctx->out, "  day %s FAILED: %s\n", d->date, d->error);
    }
  }
  if (with_days) {
    print_skipped_(ctx, r);
  }
}

/* GetIngestRun into *call (caller releases). */
static int get_run_(struct cli_ctx *ctx, ProtobufCService *svc, int64_t id,
                    struct rpc_client_ctx *call) {
  Tvmaze__V1__GetIngestRunRequest req = TVMAZE__V1__GET_INGEST_RUN_REQUEST__INIT;
  req.id = id;
  *call = (struct rpc_client_ctx)RPC_CLIENT_CTX_INIT(ctx->timeout_ms);
  tvmaze__v1__ingest__get_ingest_run(
      svc, &req, (Tvmaze__V1__GetIngestRunResponse_Closure)rpc_client_keep_reply, call);
  return call->code == RPC_OK ? 0 : -1;
}

/* The days bar; while a full-mode run is still downloading (no day done
 * yet), its download line instead. */
static void progress_(struct cli_ctx *ctx, const Tvmaze__V1__IngestRun *r, int tty) {
  char dl[160];
  if (r->days_done == 0 && r->status == TVMAZE__V1__RUN_STATUS__RUN_STATUS_RUNNING &&
      download_line_(r, "downloading", dl, sizeof dl)) {
    if (tty) {
      fprintf(ctx->out, "\r%-70s", dl);
    } else {
      fprintf(ctx->out, "run %lld: %s\n", (long long)r->id, dl);
    }
    fflush(ctx->out);
    return;
  }
  if (tty) {
    enum { WIDTH = 40 };
    int fill = r->days > 0 ? (int)((long)r->days_done * WIDTH / r->days) : 0;
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++) {
      bar[i] = i < fill ? '#' : '.';
    }
    bar[WIDTH] = '\0';
    fprintf(ctx->out, "\r[%s] %d/%d days  %lld episodes", bar, r->days_done, r->days,
            (long long)r->episodes_seen);
  } else {
    fprintf(ctx->out, "run %lld: %d/%d days, %lld episodes\n", (long long)r->id, r->days_done,
            r->days, (long long)r->episodes_seen);
  }
  fflush(ctx->out);
}

/* Polls run id until it is no longer RUNNING; prints the final run. */
static int wait_(struct cli_ctx *ctx, ProtobufCService *svc, int64_t id) {
  int tty = isatty(fileno(ctx->out));
  for (int tick = 0;; tick++) {
    struct rpc_client_ctx call;
    if (get_run_(ctx, svc, id, &call) != 0) {
      return cli_rpc_fail(ctx, &call);
    }
    const Tvmaze__V1__GetIngestRunResponse *resp = (const void *)call.reply;
    const Tvmaze__V1__IngestRun *r = resp->run;
    if (r == NULL) {
      rpc_client_ctx_release(&call);
      return CLI_RPC_ERROR;
    }
    if (r->status != TVMAZE__V1__RUN_STATUS__RUN_STATUS_RUNNING) {
      if (tty) {
        progress_(ctx, r, tty);
        fputc('\n', ctx->out);
      }
      if (ctx->json) {
        cli_print_json(ctx, (const ProtobufCMessage *)resp);
      } else {
        print_run_(ctx, r, 1);
      }
      int rc = r->status == TVMAZE__V1__RUN_STATUS__RUN_STATUS_SUCCEEDED ? CLI_OK : CLI_RPC_ERROR;
      rpc_client_ctx_release(&call);
      return rc;
    }
    if (!ctx->json && (tty || tick % 10 == 0)) {
      progress_(ctx, r, tty);
    }
    rpc_client_ctx_release(&call);
    int sig = cli_pause_ms(1000);
    if (sig != 0) { /* Ctrl-C stops the waiting, not the run */
      if (tty) {
        fputc('\n', ctx->out);
      }
      fprintf(stderr, "tvmaze: stopped waiting; run %lld goes on (tvmaze ingest status %lld)\n",
              (long long)id, (long long)id);
      return 128 + sig;
    }
  }
}

/* Parses a subcommand's flags (argv[0] is the subcommand). Returns 0 to go
 * on, or 1 with *status set: CLI_USAGE after a bad flag, CLI_OK after --help
 * printed the usage. */
static int sub_flags_(struct cli_ctx *ctx, const struct cli_flag *flags, size_t n, int argc,
                      char **argv, int *status) {
  const char *pos[1];
  size_t npos = 0;
  int help = 0;
  *status = cli_flags_parse(ctx, flags, n, argc - 1, argv + 1, pos, 0, &npos, &help);
  if (*status == CLI_OK && help) {
    fputs(USAGE_, ctx->out);
  }
  return *status != CLI_OK || help;
}

static int start_(struct cli_ctx *ctx, ProtobufCService *svc, int argc, char **argv) {
  Tvmaze__V1__StartIngestRequest req = TVMAZE__V1__START_INGEST_REQUEST__INIT;
  Google__Protobuf__Int32Value days = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  int wait = 0, has_days = 0;
  const char *start_date = NULL;
  const struct cli_flag flags[] = {
      {"--start-date", NULL, CLI_FLAG_STRING, &start_date, NULL},
      {"--days", NULL, CLI_FLAG_INT, &days.value, &has_days},
      {"--wait", NULL, CLI_FLAG_BOOL, &wait, NULL},
  };
  int prc = CLI_OK;
  if (sub_flags_(ctx, flags, sizeof flags / sizeof flags[0], argc, argv, &prc) != 0) {
    return prc;
  }
  if (start_date != NULL) {
    req.start_date = (char *)(uintptr_t)start_date;
  }
  req.days = has_days ? &days : NULL;
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(ctx->timeout_ms);
  tvmaze__v1__ingest__start_ingest(
      svc, &req, (Tvmaze__V1__StartIngestResponse_Closure)rpc_client_keep_reply, &call);
  if (call.code != RPC_OK) {
    return cli_rpc_fail(ctx, &call);
  }
  const Tvmaze__V1__StartIngestResponse *resp = (const void *)call.reply;
  int64_t id = resp->run != NULL ? resp->run->id : 0;
  if (ctx->json && !wait) {
    cli_print_json(ctx, (const ProtobufCMessage *)resp);
  } else if (resp->run != NULL) {
    fprintf(ctx->out, "%s run %lld (start_date %s, %d days)\n",
            resp->started ? "started" : "already running:", (long long)id, resp->run->start_date,
            resp->run->days);
  }
  rpc_client_ctx_release(&call);
  return wait ? wait_(ctx, svc, id) : CLI_OK;
}

static int status_(struct cli_ctx *ctx, ProtobufCService *svc, int argc, char **argv) {
  char *end = NULL;
  if (argc != 2) {
    return cli_usage_error(ctx, "usage: tvmaze ingest status ID");
  }
  long long id = strtoll(argv[1], &end, 10);
  if (end == argv[1] || *end != '\0' || id <= 0) {
    return cli_usage_error(ctx, "ingest status: bad run id %s", argv[1]);
  }
  struct rpc_client_ctx call;
  if (get_run_(ctx, svc, id, &call) != 0) {
    return cli_rpc_fail(ctx, &call);
  }
  const Tvmaze__V1__GetIngestRunResponse *resp = (const void *)call.reply;
  int rc = CLI_OK;
  if (ctx->json) {
    cli_print_json(ctx, (const ProtobufCMessage *)resp);
  } else if (resp->run != NULL) {
    print_run_(ctx, resp->run, 1);
  }
  if (resp->run != NULL && (resp->run->status == TVMAZE__V1__RUN_STATUS__RUN_STATUS_PARTIAL ||
                            resp->run->status == TVMAZE__V1__RUN_STATUS__RUN_STATUS_FAILED)) {
    rc = CLI_RPC_ERROR;
  }
  rpc_client_ctx_release(&call);
  return rc;
}

static int list_(struct cli_ctx *ctx, ProtobufCService *svc, int argc, char **argv) {
  Tvmaze__V1__ListIngestRunsRequest req = TVMAZE__V1__LIST_INGEST_RUNS_REQUEST__INIT;
  Google__Protobuf__Int32Value page = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  Google__Protobuf__Int32Value per_page = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  int has_page = 0, has_per_page = 0;
  const struct cli_flag flags[] = {
      {"--page", NULL, CLI_FLAG_INT, &page.value, &has_page},
      {"--per-page", NULL, CLI_FLAG_INT, &per_page.value, &has_per_page},
  };
  int prc = CLI_OK;
  if (sub_flags_(ctx, flags, sizeof flags / sizeof flags[0], argc, argv, &prc) != 0) {
    return prc;
  }
  req.page = has_page ? &page : NULL;
  req.per_page = has_per_page ? &per_page : NULL;
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(ctx->timeout_ms);
  tvmaze__v1__ingest__list_ingest_runs(
      svc, &req, (Tvmaze__V1__ListIngestRunsResponse_Closure)rpc_client_keep_reply, &call);
  if (call.code != RPC_OK) {
    return cli_rpc_fail(ctx, &call);
  }
  const Tvmaze__V1__ListIngestRunsResponse *resp = (const void *)call.reply;
  if (ctx->json) {
    cli_print_json(ctx, (const ProtobufCMessage *)resp);
  } else {
    fprintf(ctx->out, "%-6s %-10s %-10s %9s %9s %9s %9s  %s\n", "ID", "STATUS", "START", "DAYS",
            "EPISODES", "CREATED", "UPDATED", "STARTED");
    for (size_t i = 0; i < resp->n_runs; i++) {
      const Tvmaze__V1__IngestRun *r = resp->runs[i];
      char started[32], days[24];
      time_(r->started_at, started, sizeof started);
      snprintf(days, sizeof days, "%d/%d", r->days_done, r->days);
      fprintf(ctx->out, "%-6lld %-10s %-10s %9s %9lld %9lld %9lld  %s\n", (long long)r->id,
              run_status_(r->status), r->start_date, days, (long long)r->episodes_seen,
              (long long)r->episodes_created, (long long)r->episodes_updated, started);
    }
    if (resp->pagination != NULL) {
      fprintf(ctx->out, "page %d of %d (%d runs)\n", resp->pagination->page,
              resp->pagination->total_pages, resp->pagination->total);
    }
  }
  rpc_client_ctx_release(&call);
  return CLI_OK;
}

int cmd_ingest(struct cli_ctx *ctx, int argc, char **argv) {
  if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
    fputs(USAGE_, argc < 1 ? ctx->err : ctx->out);
    return argc < 1 ? CLI_USAGE : CLI_OK;
  }
  int (*fn)(struct cli_ctx *, ProtobufCService *, int, char **) = NULL;
  if (strcmp(argv[0], "start") == 0) {
    fn = start_;
  } else if (strcmp(argv[0], "status") == 0) {
    fn = status_;
  } else if (strcmp(argv[0], "list") == 0) {
    fn = list_;
  } else {
    return cli_usage_error(ctx, "ingest: unknown subcommand %s", argv[0]);
  }
  ProtobufCService *svc = rpc_client_service_create(ctx->channel, &tvmaze__v1__ingest__descriptor);
  int rc = fn(ctx, svc, argc, argv);
  rpc_client_service_destroy(svc);
  return rc;
}
