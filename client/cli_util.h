/*
 * cli_util: helpers shared by the command groups of the `tvmaze` CLI, free of
 * service types: flag parsing (`--name VALUE`, `--name=VALUE`, `-x VALUE`)
 * and aligned text tables whose column widths count terminal cells of UTF-8
 * text (wide CJK/emoji = 2, combining marks = 0), truncating long cells with
 * "…", and the interrupts of a command that waits. Not thread-safe (the
 * CLI is single-threaded).
 */
#ifndef TVMAZE_CLIENT_CLI_UTIL_H
#define TVMAZE_CLIENT_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"

/* ---------------------------------------------------------------- flags */

enum cli_flag_kind {
  CLI_FLAG_STRING, /* dst: const char ** (points into argv) */
  CLI_FLAG_INT,    /* dst: int32_t *; decimal, int32 range */
  CLI_FLAG_DOUBLE, /* dst: double *; finite */
  CLI_FLAG_BOOL    /* dst: int *; set to 1, takes no value */
};

struct cli_flag {
  const char *name;  /* "--date-from" */
  const char *alias; /* "-q" or NULL */
  enum cli_flag_kind kind;
  void *dst;
  int *set; /* set to 1 when the flag is given; may be NULL */
};

/* Parses argv[0..argc) against flags. Non-flag words are collected in
 * positional[] (at most max_positional, pointers into argv). `--json` is
 * accepted anywhere and sets ctx->json. `--help`/`-h` sets *help and stops.
 * Returns CLI_OK, or CLI_USAGE after printing a message naming the flag
 * (unknown flag, missing value, not a number, too many arguments). */
int cli_flags_parse(struct cli_ctx *ctx, const struct cli_flag *flags, size_t n_flags, int argc,
                    char **argv, const char **positional, size_t max_positional,
                    size_t *n_positional, int *help);

/* Parses a whole decimal int32 ("12", "-3"); 0 on success, -1 if not one. */
int cli_parse_int32(const char *s, int32_t *out);

/* ---------------------------------------------------------------- tables */

/* Terminal cells taken by UTF-8 text s (invalid bytes count 1 each). */
size_t cli_text_width(const char *s);

struct cli_table;

/* A table with ncols columns and their headers (copied). max_width[i] caps a
 * column (cells wider than it are cut and end in "…"); NULL or 0: no cap.
 * Allocation goes through xalloc (aborts on out of memory): never NULL. */
struct cli_table *cli_table_create(size_t ncols, const char *const *headers,
                                   const size_t *max_width);

/* Appends a row of ncols cells (copied; NULL prints as ""). */
void cli_table_add(struct cli_table *t, const char *const *cells);

/* Prints headers and rows, columns separated by two spaces, trailing spaces
 * trimmed. */
void cli_table_print(const struct cli_table *t, FILE *out);

/* Accepts NULL. */
void cli_table_destroy(struct cli_table *t);

/* printf into a caller buffer, for building cells; returns buf. */
const char *cli_fmt(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------- interrupts */

/* The signal number of a pending SIGINT or SIGTERM (taken), else 0:
 * rpc_init blocked both in every thread, so they wait to be taken here. */
int cli_interrupted(void);

/* Sleeps ms, waking early for an interrupt; returns its signal number, or
 * 0 when none came. */
int cli_pause_ms(int64_t ms);

#endif
