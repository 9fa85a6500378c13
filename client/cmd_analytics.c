/*
 * cmd_analytics: `tvmaze analytics REPORT [FLAGS]` -- tvmaze.v1.Analytics
 * through the protoc-c stubs over the rpc binding.
 *
 *   shows-with-episode-stats [--date-from D] [--date-to D] [--limit N]
 *   top-rated-by-genre       [--genre G] [--limit N]   (limit per genre)
 *   network-performance      [--limit N]
 *   monthly-trends           [--date-from D] [--date-to D]
 *   country-distribution
 *
 * Numbers not given stay absent (server defaults); range checks are the
 * server's (INVALID_ARGUMENT, exit 1); a value that is not a number is a usage
 * error (exit 2). Tables by default, --json for proto3 JSON. Tested by
 * tests/integration/test_cli_shows.sh.
 */
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "tvmaze/v1/analytics.pb-c.h"

int cmd_analytics(struct cli_ctx *ctx, int argc, char **argv);

/* Every flag any report takes; each report lists the ones it accepts. */
struct report_args {
  const char *date_from, *date_to, *genre;
  int32_t limit;
  int has_limit;
};

enum { F_DATES = 1, F_LIMIT = 2, F_GENRE = 4 };

static const char *rating_cell_(char *buf, size_t len, const Google__Protobuf__DoubleValue *r) {
  return r != NULL ? cli_fmt(buf, len, "%.2f", r->value) : "-";
}

static char *str_or_empty_(const char *s) {
  return (char *)(s != NULL ? s : "");
}

/* ================================================================ reports */

static void call_stats_(ProtobufCService *svc, const struct report_args *a,
                        Google__Protobuf__Int32Value *limit, struct rpc_client_ctx *call) {
  Tvmaze__V1__ShowsWithEpisodeStatsRequest req = TVMAZE__V1__SHOWS_WITH_EPISODE_STATS_REQUEST__INIT;
  req.date_from = str_or_empty_(a->date_from);
  req.date_to = str_or_empty_(a->date_to);
  req.limit = limit;
  tvmaze__v1__analytics__shows_with_episode_stats(
      svc, &req, (Tvmaze__V1__ShowsWithEpisodeStatsResponse_Closure)rpc_client_keep_reply, call);
}

static struct cli_table *table_stats_(const ProtobufCMessage *m) {
  const Tvmaze__V1__ShowsWithEpisodeStatsResponse *r =
      (const Tvmaze__V1__ShowsWithEpisodeStatsResponse *)m;
  static const char *const hdr[] = {"SHOW ID", "NAME", "EPISODES", "AVG EP RATING", "SHOW RATING"};
  static const size_t maxw[] = {0, 40, 0, 0, 0};
  struct cli_table *t = cli_table_create(5, hdr, maxw);
  for (size_t i = 0; i < r->n_shows; i++) {
    const Tvmaze__V1__ShowEpisodeStats *s = r->shows[i];
    char id[16], n[16], avg[32], rt[32];
    const char *cells[] = {cli_fmt(id, sizeof id, "%d", (int)s->show_id), s->show_name,
                           cli_fmt(n, sizeof n, "%d", (int)s->episode_count),
                           rating_cell_(avg, sizeof avg, s->average_episode_rating),
                           rating_cell_(rt, sizeof rt, s->show_rating)};
    cli_table_add(t, cells);
  }
  return t;
}

static void call_top_(ProtobufCService *svc, const struct report_args *a,
                      Google__Protobuf__Int32Value *limit, struct rpc_client_ctx *call) {
  Tvmaze__V1__TopRatedByGenreRequest req = TVMAZE__V1__TOP_RATED_BY_GENRE_REQUEST__INIT;
  req.genre = str_or_empty_(a->genre);
  req.limit = limit;
  tvmaze__v1__analytics__top_rated_by_genre(
      svc, &req, (Tvmaze__V1__TopRatedByGenreResponse_Closure)rpc_client_keep_reply, call);
}

static struct cli_table *table_top_(const ProtobufCMessage *m) {
  const Tvmaze__V1__TopRatedByGenreResponse *r = (const Tvmaze__V1__TopRatedByGenreResponse *)m;
  static const char *const hdr[] = {"GENRE", "RANK", "SHOW ID", "NAME", "RATING"};
  static const size_t maxw[] = {20, 0, 0, 40, 0};
  struct cli_table *t = cli_table_create(5, hdr, maxw);
  for (size_t g = 0; g < r->n_genres; g++) {
    const Tvmaze__V1__GenreRanking *gr = r->genres[g];
    for (size_t i = 0; i < gr->n_shows; i++) {
      const Tvmaze__V1__RankedShow *s = gr->shows[i];
      char rank[16], id[16], rt[32];
      const char *cells[] = {gr->genre, cli_fmt(rank, sizeof rank, "%d", (int)s->rank),
                             cli_fmt(id, sizeof id, "%d", (int)s->show_id), s->show_name,
                             rating_cell_(rt, sizeof rt, s->rating)};
      cli_table_add(t, cells);
    }
  }
  return t;
}

static void call_network_(ProtobufCService *svc, const struct report_args *a,
                          Google__Protobuf__Int32Value *limit, struct rpc_client_ctx *call) {
  (void)a;
  Tvmaze__V1__NetworkPerformanceRequest req = TVMAZE__V1__NETWORK_PERFORMANCE_REQUEST__INIT;
  req.limit = limit;
  tvmaze__v1__analytics__network_performance(
      svc, &req, (Tvmaze__V1__NetworkPerformanceResponse_Closure)rpc_client_keep_reply, call);
}

static struct cli_table *table_network_(const ProtobufCMessage *m) {
  const Tvmaze__V1__NetworkPerformanceResponse *r =
      (const Tvmaze__V1__NetworkPerformanceResponse *)m;
  static const char *const hdr[] = {"DISTRIBUTOR", "KIND",    "COUNTRY", "SHOWS",
                                    "AVG RATING",  "RUNNING", "ENDED"};
  static const size_t maxw[] = {30, 0, 0, 0, 0, 0, 0};
  struct cli_table *t = cli_table_create(7, hdr, maxw);
  for (size_t i = 0; i < r->n_distributors; i++) {
    const Tvmaze__V1__DistributorStats *s = r->distributors[i];
    const Tvmaze__V1__Distributor *d = s->distributor;
    char n[16], avg[32], run[16], end[16];
    const char *cells[] = {
        d != NULL ? d->name : "",
        d != NULL && d->kind == TVMAZE__V1__DISTRIBUTOR_KIND__DISTRIBUTOR_KIND_WEB_CHANNEL
            ? "web"
            : "network",
        d != NULL && d->country != NULL ? d->country->code : "-",
        cli_fmt(n, sizeof n, "%d", (int)s->show_count),
        rating_cell_(avg, sizeof avg, s->average_rating),
        cli_fmt(run, sizeof run, "%d", (int)s->running_count),
        cli_fmt(end, sizeof end, "%d", (int)s->ended_count)};
    cli_table_add(t, cells);
  }
  return t;
}

static void call_monthly_(ProtobufCService *svc, const struct report_args *a,
                          Google__Protobuf__Int32Value *limit, struct rpc_client_ctx *call) {
  (void)limit;
  Tvmaze__V1__MonthlyTrendsRequest req = TVMAZE__V1__MONTHLY_TRENDS_REQUEST__INIT;
  req.date_from = str_or_empty_(a->date_from);
  req.date_to = str_or_empty_(a->date_to);
  tvmaze__v1__analytics__monthly_trends(
      svc, &req, (Tvmaze__V1__MonthlyTrendsResponse_Closure)rpc_client_keep_reply, call);
}

static struct cli_table *table_monthly_(const ProtobufCMessage *m) {
  const Tvmaze__V1__MonthlyTrendsResponse *r = (const Tvmaze__V1__MonthlyTrendsResponse *)m;
  static const char *const hdr[] = {"MONTH", "EPISODES", "SHOWS", "AVG RUNTIME"};
  struct cli_table *t = cli_table_create(4, hdr, NULL);
  for (size_t i = 0; i < r->n_months; i++) {
    const Tvmaze__V1__MonthStats *s = r->months[i];
    char e[16], n[16], rt[32];
    const char *cells[] = {s->month, cli_fmt(e, sizeof e, "%d", (int)s->episode_count),
                           cli_fmt(n, sizeof n, "%d", (int)s->show_count),
                           rating_cell_(rt, sizeof rt, s->average_runtime)};
    cli_table_add(t, cells);
  }
  return t;
}

static void call_country_(ProtobufCService *svc, const struct report_args *a,
                          Google__Protobuf__Int32Value *limit, struct rpc_client_ctx *call) {
  (void)a;
  (void)limit;
  Tvmaze__V1__CountryDistributionRequest req = TVMAZE__V1__COUNTRY_DISTRIBUTION_REQUEST__INIT;
  tvmaze__v1__analytics__country_distribution(
      svc, &req, (Tvmaze__V1__CountryDistributionResponse_Closure)rpc_client_keep_reply, call);
}

static struct cli_table *table_country_(const ProtobufCMessage *m) {
  const Tvmaze__V1__CountryDistributionResponse *r =
      (const Tvmaze__V1__CountryDistributionResponse *)m;
  static const char *const hdr[] = {"CODE", "COUNTRY", "SHOWS", "EPISODES", "DISTRIBUTORS"};
  static const size_t maxw[] = {0, 30, 0, 0, 0};
  struct cli_table *t = cli_table_create(5, hdr, maxw);
  for (size_t i = 0; i < r->n_countries; i++) {
    const Tvmaze__V1__CountryStats *s = r->countries[i];
    char sh[16], ep[16], di[16];
    const char *cells[] = {s->country != NULL ? s->country->code : "-",
                           s->country != NULL ? s->country->name : "(global)",
                           cli_fmt(sh, sizeof sh, "%d", (int)s->show_count),
                           cli_fmt(ep, sizeof ep, "%d", (int)s->episode_count),
                           cli_fmt(di, sizeof di, "%d", (int)s->distributor_count)};
    cli_table_add(t, cells);
  }
  return t;
}

/* ================================================================ dispatch */

struct report {
  const char *name;
  unsigned flags; /* F_* accepted */
  const char *help;
  void (*call)(ProtobufCService *svc, const struct report_args *a,
               Google__Protobuf__Int32Value *limit, struct rpc_client_ctx *call);
  struct cli_table *(*table)(const ProtobufCMessage *reply);
};

static const struct report reports_[] = {
    {"shows-with-episode-stats", F_DATES | F_LIMIT,
     "[--date-from D] [--date-to D] [--limit N]: per show, episodes in the window and their "
     "average rating",
     call_stats_, table_stats_},
    {"top-rated-by-genre", F_LIMIT | F_GENRE,
     "[--genre G] [--limit N]: per genre, shows ranked by rating (limit per genre)", call_top_,
     table_top_},
    {"network-performance", F_LIMIT,
     "[--limit N]: per distributor, shows, average rating, running and ended", call_network_,
     table_network_},
    {"monthly-trends", F_DATES,
     "[--date-from D] [--date-to D]: per month, episodes, shows, average runtime", call_monthly_,
     table_monthly_},
    {"country-distribution", 0, ": per country, shows, episodes, distributors", call_country_,
     table_country_},
};
#define N_REPORTS (sizeof reports_ / sizeof reports_[0])

static void usage_(FILE *out) {
  fprintf(out, "usage: tvmaze analytics REPORT [FLAGS]   (--json for proto3 JSON)\n");
  for (size_t i = 0; i < N_REPORTS; i++) {
    fprintf(out, "  %s %s\n", reports_[i].name, reports_[i].help);
  }
}

int cmd_analytics(struct cli_ctx *ctx, int argc, char **argv) {
  if (argc < 1) {
    usage_(ctx->err);
    return CLI_USAGE;
  }
  if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
    usage_(ctx->out);
    return CLI_OK;
  }
  const struct report *rep = NULL;
  for (size_t i = 0; i < N_REPORTS; i++) {
    if (strcmp(argv[0], reports_[i].name) == 0) {
      rep = &reports_[i];
    }
  }
  if (rep == NULL) {
    return cli_usage_error(ctx, "unknown report \"%s\"", argv[0]);
  }
  struct report_args a;
  memset(&a, 0, sizeof a);
  struct cli_flag flags[4];
  size_t nf = 0;
  if (rep->flags & F_DATES) {
    flags[nf++] = (struct cli_flag){"--date-from", NULL, CLI_FLAG_STRING, &a.date_from, NULL};
    flags[nf++] = (struct cli_flag){"--date-to", NULL, CLI_FLAG_STRING, &a.date_to, NULL};
  }
  if (rep->flags & F_LIMIT) {
    flags[nf++] = (struct cli_flag){"--limit", NULL, CLI_FLAG_INT, &a.limit, &a.has_limit};
  }
  if (rep->flags & F_GENRE) {
    flags[nf++] = (struct cli_flag){"--genre", NULL, CLI_FLAG_STRING, &a.genre, NULL};
  }
  const char *pos[1];
  size_t npos = 0;
  int help = 0;
  int rc = cli_flags_parse(ctx, flags, nf, argc - 1, argv + 1, pos, 0, &npos, &help);
  if (rc != CLI_OK) {
    return rc;
  }
  if (help) {
    fprintf(ctx->out, "usage: tvmaze analytics %s %s\n", rep->name, rep->help);
    return CLI_OK;
  }
  Google__Protobuf__Int32Value limit = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
  limit.value = a.limit;
  ProtobufCService *svc =
      rpc_client_service_create(ctx->channel, &tvmaze__v1__analytics__descriptor);
  struct rpc_client_ctx call = RPC_CLIENT_CTX_INIT(ctx->timeout_ms);
  rep->call(svc, &a, a.has_limit ? &limit : NULL, &call);
  if (call.code != RPC_OK) {
    rc = cli_rpc_error(ctx, &call);
  } else if (ctx->json) {
    cli_print_json(ctx, call.reply);
  } else {
    struct cli_table *t = rep->table(call.reply);
    cli_table_print(t, ctx->out);
    cli_table_destroy(t);
  }
  rpc_client_ctx_release(&call);
  rpc_client_service_destroy(svc);
  return rc;
}
