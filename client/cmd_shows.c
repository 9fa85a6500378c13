/*
 * cmd_shows: `tvmaze shows list|get` and `tvmaze episodes list` --
 * tvmaze.v1.Shows through the protoc-c stubs over the rpc binding.
 *
 *   tvmaze shows list    [FILTERS] [--page N] [--per-page N]
 *   tvmaze shows get     ID
 *   tvmaze episodes list [FILTERS] [--page N] [--per-page N]
 *   tvmaze calendar      [FILTERS]      (the iCalendar document on stdout)
 *   FILTERS: --date-from D --date-to D --country C --distributor NAME
 *            --rating R --genre G -q/--q TEXT --tz ZONE
 *
 * With --tz the window is local dates in ZONE (API.md "Time zones") and the
 * tables show each episode's local date and time there (LOCAL DATE, LOCAL
 * TIME; shows list: FIRST LOCAL DATE) instead of TVMaze's airdate/airtime.
 *
 * Flags mirror the request fields; numbers the user did not give stay absent
 * (wrappers) so the server applies its defaults and its range checks (an
 * out-of-range value is the server's INVALID_ARGUMENT, exit 1; a value that
 * is not a number is a usage error, exit 2). Output: an aligned table, or
 * proto3 JSON with --json (cli_print_json). Tested by
 * tests/integration/test_cli_shows.sh.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "tvmaze/v1/shows.pb-c.h"
#include "xalloc.h"

/* list_call_ printed --help: the caller exits 0 without output of its own. */
enum { LIST_HELP_SHOWN_ = -1 };

int cmd_shows(struct cli_ctx *ctx, int argc, char **argv);
int cmd_episodes(struct cli_ctx *ctx, int argc, char **argv);
int cmd_calendar(struct cli_ctx *ctx, int argc, char **argv);

/* The filter and paging flags common to ListShows and ListEpisodes. */
struct list_args {
  const char *date_from, *date_to, *country, *distributor, *genre, *q, *tz;
  double rating;
  int32_t page, per_page;
  int has_rating, has_page, has_per_page;
};

static const char list_flags_help_[] =
    "  --date-from YYYY-MM-DD   first airdate (default today, UTC)\n"
    "  --date-to YYYY-MM-DD     last airdate (default date-from + 90 days)\n"
    "  --country CC             network/web channel country (ISO 3166-1)\n"
    "  --distributor NAME       network or web channel name (case-insensitive)\n"
    "  --rating R               minimum show rating (0..10)\n"
    "  --genre G                genre\n"
    "  -q, --q TEXT             show name contains TEXT (case-insensitive)\n"
    "  --tz ZONE                dates are local dates in ZONE (IANA name, e.g.\n"
    "                           Europe/Berlin); shows local dates and times\n";

/* The paging flags (not GetCalendar's). */
static const char list_paging_help_[] =
    "  --page N                 page, 1-based (default 1)\n"
    "  --per-page N             page size 1..100 (default 20)\n";

/* Parses the list flags; CLI_OK, or CLI_USAGE (message printed). *help is set
 * for --help. */
static int parse_list_args_(struct cli_ctx *ctx, int argc, char **argv, struct list_args *a,
                            int *help) {
  memset(a, 0, sizeof *a);
  const struct cli_flag flags[] = {
      {"--date-from", NULL, CLI_FLAG_STRING, &a->date_from, NULL},
      {"--date-to", NULL, CLI_FLAG_STRING, &a->date_to, NULL},
      {"--country", NULL, CLI_FLAG_STRING, &a->country, NULL},
      {"--distributor", NULL, CLI_FLAG_STRING, &a->distributor, NULL},
      {"--rating", NULL, CLI_FLAG_DOUBLE, &a->rating, &a->has_rating},
      {"--genre", NULL, CLI_FLAG_STRING, &a->genre, NULL},
      {"--q", "-q", CLI_FLAG_STRING, &a->q, NULL},
      {"--tz", NULL, CLI_FLAG_STRING, &a->tz, NULL},
      {"--page", NULL, CLI_FLAG_INT, &a->page, &a->has_page},
      {"--per-page", NULL, CLI_FLAG_INT, &a->per_page, &a->has_per_page},
  };
  const char *pos[1];
  size_t npos = 0;
  return cli_flags_parse(ctx, flags, sizeof flags / sizeof flags[0], argc, argv, pos, 0, &npos,
                         help);
}

static char *str_or_empty_(const char *s) {
  return (char *)(s != NULL ? s : "");
}

static const char *rating_cell_(char *buf, size_t len, const Google__Protobuf__DoubleValue *r) {
  return r != NULL ? cli_fmt(buf, len, "%.1f", r->value) : "-";
}

static const char *int_cell_(char *buf, size_t len, const Google__Protobuf__Int32Value *v) {
  return v != NULL ? cli_fmt(buf, len, "%d", (int)v->value) : "-";
}

static void print_pagination_(struct cli_ctx *ctx, const Tvmaze__V1__Pagination *p,
                              const char *what) {
  if (p != NULL) {
    fprintf(ctx->out, "page %d of %d, %d %s\n", (int)p->page, (int)p->total_pages, (int)p->total,
            what);
  }
}

/* "Drama, Comedy" into buf. */
static const char *genres_cell_(char *buf, size_t len, char **genres, size_t n) {
  buf[0] = '\0';
  size_t used = 0;
  for (size_t i = 0; i < n && used < len; i++) {
    int w = snprintf(buf + used, len - used, "%s%s", i > 0 ? ", " : "", genres[i]);
    if (w < 0) {
      break;
    }
    used += (size_t)w;
  }
  return buf;
}

/* Parses the list flags and makes a ListShows, ListEpisodes or GetCalendar
 * call (the requests share their filter fields, set here by name through the
 * request's descriptor; GetCalendar has no paging, so --page / --per-page
 * are usage errors there). Returns CLI_OK with call->reply kept, or an exit status (usage
 * or help printed, or the RPC error reported). */
static int list_call_(struct cli_ctx *ctx, ProtobufCService *svc, int argc, char **argv,
                      const ProtobufCMessageDescriptor *req_desc, const char *method,
                      const char *usage, struct rpc_client_ctx *call, int *local) {
  struct list_args a;
  int help = 0;
  int rc = parse_list_args_(ctx, argc, argv, &a, &help);
  *local = a.tz != NULL && a.tz[0] != '\0';
  if (rc != CLI_OK) {
    return rc;
  }
  if (help) {
    int paged = protobuf_c_message_descriptor_get_field_by_name(req_desc, "page") != NULL;
    fprintf(ctx->out, "%s%s%s  --json                   print the reply as proto3 JSON\n", usage,
            list_flags_help_, paged ? list_paging_help_ : "");
    return LIST_HELP_SHOWN_;
  }
  ProtobufCMessage *req = xcalloc(1, req_desc->sizeof_message);
  protobuf_c_message_init(req_desc, req);
  Google__Protobuf__DoubleValue rating = GOOGLE__PROTOBUF__DOUBLE_VALUE__INIT;
  Google__Protobuf__Int32Value page = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  Google__Protobuf__Int32Value per_page = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  rating.value = a.rating;
  page.value = a.page;
  per_page.value = a.per_page;
  const struct {
    const char *field;
    void *value;
  } fields[] = {
      {"date_from", str_or_empty_(a.date_from)},
      {"date_to", str_or_empty_(a.date_to)},
      {"country", str_or_empty_(a.country)},
      {"distributor", str_or_empty_(a.distributor)},
      {"genre", str_or_empty_(a.genre)},
      {"q", str_or_empty_(a.q)},
      {"tz", str_or_empty_(a.tz)},
      {"rating", a.has_rating ? &rating : NULL},
      {"page", a.has_page ? &page : NULL},
      {"per_page", a.has_per_page ? &per_page : NULL},
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(req_desc, fields[i].field);
    if (f == NULL) { /* page / per_page of an unpaged request */
      if (fields[i].value != NULL) {
        free(req);
        return cli_usage_error(ctx, "--%s: %s has no paging", fields[i].field, method);
      }
      continue;
    }
    memcpy((char *)req + f->offset, &fields[i].value, sizeof fields[i].value);
  }
  const ProtobufCMethodDescriptor *m =
      protobuf_c_service_descriptor_get_method_by_name(svc->descriptor, method);
  svc->invoke(svc, (unsigned)(m - svc->descriptor->methods), req, rpc_client_keep_reply, call);
  free(req); /* every field points at caller storage */
  return call->code == RPC_OK ? CLI_OK : cli_rpc_error(ctx, call);
}

/* ================================================================ shows list */

static int shows_list_(struct cli_ctx *ctx, ProtobufCService *svc, int argc, char **argv) {
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(ctx->timeout_ms);
  int local = 0;
  int rc =
      list_call_(ctx, svc, argc, argv, &tvmaze__v1__list_shows_request__descriptor, "ListShows",
                 "usage: tvmaze shows list [FLAGS]\n  Shows with episodes airing in the window, by "
                 "first airing.\n",
                 &call, &local);
  if (rc != CLI_OK) {
    rpc_client_ctx_release(&call);
    return rc == LIST_HELP_SHOWN_ ? CLI_OK : rc;
  }
  if (ctx->json) {
    cli_print_json(ctx, call.reply);
  } else {
    const Tvmaze__V1__ListShowsResponse *resp = (const Tvmaze__V1__ListShowsResponse *)call.reply;
    const char *const hdr[] = {"ID",
                               "NAME",
                               "DISTRIBUTOR",
                               "COUNTRY",
                               "RATING",
                               "EPS",
                               local ? "FIRST LOCAL DATE" : "FIRST AIRDATE",
                               "GENRES"};
    static const size_t maxw[] = {0, 40, 24, 0, 0, 0, 0, 30};
    struct cli_table *t = cli_table_create(8, hdr, maxw);
    for (size_t i = 0; i < resp->n_shows; i++) {
      const Tvmaze__V1__Show *s = resp->shows[i];
      char id[16], rt[16], eps[16], genres[256];
      const Tvmaze__V1__Distributor *d = s->distributor;
      const char *cells[] = {
          cli_fmt(id, sizeof id, "%d", (int)s->id),
          s->name,
          d != NULL ? d->name : "",
          d != NULL && d->country != NULL ? d->country->code : "-",
          rating_cell_(rt, sizeof rt, s->rating),
          cli_fmt(eps, sizeof eps, "%zu", s->n_episodes),
          s->n_episodes == 0 ? ""
          : local            ? s->episodes[0]->local_airdate
                             : s->episodes[0]->airdate,
          genres_cell_(genres, sizeof genres, s->genres, s->n_genres),
      };
      cli_table_add(t, cells);
    }
    cli_table_print(t, ctx->out);
    cli_table_destroy(t);
    print_pagination_(ctx, resp->pagination, "shows");
  }
  rpc_client_ctx_release(&call);
  return rc;
}

/* ================================================================ shows get */

/* local: the LOCAL DATE / LOCAL TIME of a tz listing instead of TVMaze's
 * airdate and airtime. */
static void print_episodes_table_(struct cli_ctx *ctx, Tvmaze__V1__Episode **eps, size_t n,
                                  int with_show, int local) {
  const char *const hdr[] = {"ID",
                             "SHOW",
                             "EPISODE",
                             local ? "LOCAL DATE" : "AIRDATE",
                             local ? "LOCAL TIME" : "AIRTIME",
                             "NAME",
                             "RUNTIME",
                             "RATING"};
  static const size_t maxw[] = {0, 0, 0, 0, 0, 40, 0, 0};
  struct cli_table *t = cli_table_create(8, hdr, maxw);
  for (size_t i = 0; i < n; i++) {
    const Tvmaze__V1__Episode *e = eps[i];
    char id[16], show[16], code[32], rt[16], rat[16], sea[16];
    const char *cells[] = {
        cli_fmt(id, sizeof id, "%d", (int)e->id),
        with_show ? cli_fmt(show, sizeof show, "%d", (int)e->show_id) : "",
        e->number != NULL
            ? cli_fmt(code, sizeof code, "S%sE%d", int_cell_(sea, sizeof sea, e->season),
                      (int)e->number->value)
            : cli_fmt(code, sizeof code, "S%s special", int_cell_(sea, sizeof sea, e->season)),
        local ? e->local_airdate : e->airdate,
        local ? e->local_airtime : e->airtime,
        e->name,
        int_cell_(rt, sizeof rt, e->runtime),
        rating_cell_(rat, sizeof rat, e->rating),
    };
    cli_table_add(t, cells);
  }
  cli_table_print(t, ctx->out);
  cli_table_destroy(t);
}

/* "next          S02E05 2026-12-05 20:00  Name" (or "-" for none). */
static void print_airing_(struct cli_ctx *ctx, const char *label, const Tvmaze__V1__Episode *e) {
  if (e == NULL) {
    fprintf(ctx->out, "%-14s-\n", label);
    return;
  }
  char sea[16];
  if (e->number != NULL) {
    fprintf(ctx->out, "%-14sS%sE%d %s %s  %s\n", label, int_cell_(sea, sizeof sea, e->season),
            (int)e->number->value, e->airdate, e->airtime, e->name);
  } else {
    fprintf(ctx->out, "%-14sS%s special %s %s  %s\n", label, int_cell_(sea, sizeof sea, e->season),
            e->airdate, e->airtime, e->name);
  }
}

static int shows_get_(struct cli_ctx *ctx, ProtobufCService *svc, int argc, char **argv) {
  const char *pos[1];
  size_t npos = 0;
  int help = 0;
  int rc = cli_flags_parse(ctx, NULL, 0, argc, argv, pos, 1, &npos, &help);
  if (rc != CLI_OK) {
    return rc;
  }
  if (help) {
    fprintf(ctx->out, "usage: tvmaze shows get ID\n  One show (TVMaze id) with its episodes.\n");
    return CLI_OK;
  }
  Tvmaze__V1__GetShowRequest req = TVMAZE__V1__GET_SHOW_REQUEST__INIT;
  if (npos != 1) {
    return cli_usage_error(ctx, "usage: tvmaze shows get ID");
  }
  if (cli_parse_int32(pos[0], &req.id) != 0) {
    return cli_usage_error(ctx, "ID: \"%s\" is not a whole number", pos[0]);
  }
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(ctx->timeout_ms);
  tvmaze__v1__shows__get_show(svc, &req, (Tvmaze__V1__GetShowResponse_Closure)rpc_client_keep_reply,
                              &call);
  if (call.code != RPC_OK) {
    rc = cli_rpc_error(ctx, &call);
  } else if (ctx->json) {
    cli_print_json(ctx, call.reply);
  } else if (((const Tvmaze__V1__GetShowResponse *)call.reply)->show != NULL) {
    const Tvmaze__V1__Show *s = ((const Tvmaze__V1__GetShowResponse *)call.reply)->show;
    const Tvmaze__V1__Distributor *d = s->distributor;
    char b1[16], b2[16], b3[16], genres[256];
    fprintf(ctx->out, "%-14s%d\n", "id", (int)s->id);
    fprintf(ctx->out, "%-14s%s\n", "name", s->name);
    fprintf(ctx->out, "%-14s%s\n", "type", s->type);
    fprintf(ctx->out, "%-14s%s\n", "language", s->language);
    fprintf(ctx->out, "%-14s%s\n", "status", s->status);
    fprintf(ctx->out, "%-14s%s\n", "runtime", int_cell_(b1, sizeof b1, s->runtime));
    fprintf(ctx->out, "%-14s%s\n", "premiered", s->premiered);
    fprintf(ctx->out, "%-14s%s\n", "ended", s->ended);
    fprintf(ctx->out, "%-14s%s\n", "rating", rating_cell_(b2, sizeof b2, s->rating));
    fprintf(ctx->out, "%-14s%s\n", "weight", int_cell_(b3, sizeof b3, s->weight));
    fprintf(ctx->out, "%-14s%s\n", "genres",
            genres_cell_(genres, sizeof genres, s->genres, s->n_genres));
    if (d != NULL) {
      fprintf(ctx->out, "%-14s%s (%s%s%s)\n", "distributor", d->name,
              d->kind == TVMAZE__V1__DISTRIBUTOR_KIND__DISTRIBUTOR_KIND_WEB_CHANNEL ? "web channel"
                                                                                    : "network",
              d->country != NULL ? ", " : "", d->country != NULL ? d->country->code : "");
    }
    fprintf(ctx->out, "%-14s%s\n", "official_site", s->official_site);
    fprintf(ctx->out, "%-14s%s\n", "image_url", s->image_url);
    fprintf(ctx->out, "%-14s%s\n", "summary", s->summary);
    const Tvmaze__V1__GetShowResponse *r = (const Tvmaze__V1__GetShowResponse *)call.reply;
    print_airing_(ctx, "next", r->next_episode);
    print_airing_(ctx, "previous", r->previous_episode);
    fprintf(ctx->out, "\nepisodes (%zu):\n", s->n_episodes);
    print_episodes_table_(ctx, s->episodes, s->n_episodes, 0, 0);
  }
  rpc_client_ctx_release(&call);
  return rc;
}

/* ================================================================ episodes list */

static int episodes_list_(struct cli_ctx *ctx, ProtobufCService *svc, int argc, char **argv) {
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(ctx->timeout_ms);
  int local = 0;
  int rc = list_call_(
      ctx, svc, argc, argv, &tvmaze__v1__list_episodes_request__descriptor, "ListEpisodes",
      "usage: tvmaze episodes list [FLAGS]\n  Episodes airing in the window, by airstamp.\n", &call,
      &local);
  if (rc != CLI_OK) {
    rpc_client_ctx_release(&call);
    return rc == LIST_HELP_SHOWN_ ? CLI_OK : rc;
  }
  if (ctx->json) {
    cli_print_json(ctx, call.reply);
  } else {
    const Tvmaze__V1__ListEpisodesResponse *resp =
        (const Tvmaze__V1__ListEpisodesResponse *)call.reply;
    print_episodes_table_(ctx, resp->episodes, resp->n_episodes, 1, local);
    print_pagination_(ctx, resp->pagination, "episodes");
  }
  rpc_client_ctx_release(&call);
  return rc;
}

/* ================================================================ calendar */

int cmd_calendar(struct cli_ctx *ctx, int argc, char **argv) {
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(ctx->timeout_ms);
  int local = 0; /* --tz: the server's window; the document has no table to localise */
  ProtobufCService *svc = rpc_client_service_create(ctx->channel, &tvmaze__v1__shows__descriptor);
  int rc =
      list_call_(ctx, svc, argc, argv, &tvmaze__v1__get_calendar_request__descriptor, "GetCalendar",
                 "usage: tvmaze calendar [FLAGS] > my.ics\n  The episodes airing in the "
                 "window as an iCalendar document (every episode: --page and --per-page do "
                 "not apply).\n",
                 &call, &local);
  rpc_client_service_destroy(svc);
  if (rc != CLI_OK) {
    rpc_client_ctx_release(&call);
    return rc == LIST_HELP_SHOWN_ ? CLI_OK : rc;
  }
  if (ctx->json) {
    cli_print_json(ctx, call.reply);
  } else {
    const Tvmaze__V1__GetCalendarResponse *resp =
        (const Tvmaze__V1__GetCalendarResponse *)call.reply;
    if (fwrite(resp->data.data, 1, resp->data.len, ctx->out) != resp->data.len ||
        fflush(ctx->out) != 0) {
      fprintf(ctx->err, "tvmaze: cannot write the calendar\n");
      rc = CLI_RPC_ERROR;
    }
  }
  rpc_client_ctx_release(&call);
  return rc;
}

/* ================================================================ dispatch */

/* Runs sub(argv[1..]) with a Shows stub, or prints the group usage. */
static int run_group_(struct cli_ctx *ctx, int argc, char **argv, const char *group,
                      const char *const *names, const char *usage,
                      int (*const *subs)(struct cli_ctx *, ProtobufCService *, int, char **),
                      size_t nsubs) {
  if (argc < 1) {
    fputs(usage, ctx->err);
    return CLI_USAGE;
  }
  if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
    fputs(usage, ctx->out);
    return CLI_OK;
  }
  for (size_t i = 0; i < nsubs; i++) {
    if (strcmp(argv[0], names[i]) == 0) {
      ProtobufCService *svc =
          rpc_client_service_create(ctx->channel, &tvmaze__v1__shows__descriptor);
      int rc = subs[i](ctx, svc, argc - 1, argv + 1);
      rpc_client_service_destroy(svc);
      return rc;
    }
  }
  return cli_usage_error(ctx, "unknown %s subcommand \"%s\"", group, argv[0]);
}

int cmd_shows(struct cli_ctx *ctx, int argc, char **argv) {
  static const char *const names[] = {"list", "get"};
  static int (*const subs[])(struct cli_ctx *, ProtobufCService *, int, char **) = {shows_list_,
                                                                                    shows_get_};
  return run_group_(ctx, argc, argv, "shows", names,
                    "usage: tvmaze shows list [FLAGS]   (tvmaze shows list --help)\n"
                    "       tvmaze shows get ID\n",
                    subs, 2);
}

int cmd_episodes(struct cli_ctx *ctx, int argc, char **argv) {
  static const char *const names[] = {"list"};
  static int (*const subs[])(struct cli_ctx *, ProtobufCService *, int, char **) = {episodes_list_};
  return run_group_(ctx, argc, argv, "episodes", names,
                    "usage: tvmaze episodes list [FLAGS]   (tvmaze episodes list --help)\n", subs,
                    1);
}
