/*
 * cli_commands: the command table of the `tvmaze` CLI. Each command group
 * lives in its own cmd_*.c file; add one line here per group.
 */
#include "cli.h"

int cmd_health(struct cli_ctx *ctx, int argc, char **argv);
int cmd_shows(struct cli_ctx *ctx, int argc, char **argv);
int cmd_episodes(struct cli_ctx *ctx, int argc, char **argv);
int cmd_calendar(struct cli_ctx *ctx, int argc, char **argv);
int cmd_analytics(struct cli_ctx *ctx, int argc, char **argv);
int cmd_ingest(struct cli_ctx *ctx, int argc, char **argv);
int cmd_changes(struct cli_ctx *ctx, int argc, char **argv);

const struct cli_command cli_commands[] = {
    {"health", "health [SERVICE]: grpc.health.v1 check (exit 0 if SERVING)", cmd_health},
    {"shows", "shows list [FLAGS] | shows get ID: Shows/ListShows, Shows/GetShow", cmd_shows},
    {"episodes", "episodes list [FLAGS]: Shows/ListEpisodes", cmd_episodes},
    {"calendar", "calendar [FLAGS] > my.ics: Shows/GetCalendar (iCalendar on stdout)",
     cmd_calendar},
    {"analytics", "analytics REPORT [FLAGS]: the five Analytics reports", cmd_analytics},
    {"ingest", "ingest start|status|list: ingestion runs (Ingest service)", cmd_ingest},
    {"changes", "changes list|watch [FLAGS]: the change feed (Changes service)", cmd_changes},
};

const size_t cli_commands_count = sizeof cli_commands / sizeof cli_commands[0];
