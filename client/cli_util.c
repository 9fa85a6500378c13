/*
 * cli_util: flag parsing and aligned UTF-8 tables for the `tvmaze` CLI (see
 * cli_util.h). Widths are terminal cells computed from code points with a
 * small built-in table (no locale dependence): East Asian wide/fullwidth and
 * emoji blocks take 2 cells, combining marks and zero-width characters 0.
 */
#include "cli_util.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "utf8.h"
#include "xalloc.h"

/* ================================================================ flags */

int cli_parse_int32(const char *s, int32_t *out) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < INT32_MIN || v > INT32_MAX) {
    return -1;
  }
  *out = (int32_t)v;
  return 0;
}

static int parse_double_(const char *s, double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || !isfinite(v)) {
    return -1;
  }
  *out = v;
  return 0;
}

/* The flag named by word (up to '=' if any), or NULL. */
static const struct cli_flag *find_flag_(const struct cli_flag *flags, size_t n, const char *word,
                                         size_t len) {
  for (size_t i = 0; i < n; i++) {
    if ((strlen(flags[i].name) == len && strncmp(flags[i].name, word, len) == 0) ||
        (flags[i].alias != NULL && strlen(flags[i].alias) == len &&
         strncmp(flags[i].alias, word, len) == 0)) {
      return &flags[i];
    }
  }
  return NULL;
}

int cli_flags_parse(struct cli_ctx *ctx, const struct cli_flag *flags, size_t n_flags, int argc,
                    char **argv, const char **positional, size_t max_positional,
                    size_t *n_positional, int *help) {
  *n_positional = 0;
  *help = 0;
  int only_positional = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (only_positional || a[0] != '-' || a[1] == '\0') {
      if (*n_positional >= max_positional) {
        return cli_usage_error(ctx, "unexpected argument \"%s\"", a);
      }
      positional[(*n_positional)++] = a;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_positional = 1;
      continue;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      *help = 1;
      return CLI_OK;
    }
    if (strcmp(a, "--json") == 0) {
      ctx->json = 1;
      continue;
    }
    size_t len = strcspn(a, "=");
    const struct cli_flag *f = find_flag_(flags, n_flags, a, len);
    if (f == NULL) {
      return cli_usage_error(ctx, "unknown flag \"%.*s\"", (int)len, a);
    }
    if (f->kind == CLI_FLAG_BOOL) {
      if (a[len] == '=') {
        return cli_usage_error(ctx, "%s takes no value", f->name);
      }
      *(int *)f->dst = 1;
      if (f->set != NULL) {
        *f->set = 1;
      }
      continue;
    }
    const char *val = NULL;
    if (a[len] == '=') {
      val = a + len + 1;
    } else if (i + 1 < argc) {
      val = argv[++i];
    } else {
      return cli_usage_error(ctx, "%s needs a value", f->name);
    }
    switch (f->kind) {
    case CLI_FLAG_STRING:
      *(const char **)f->dst = val;
      break;
    case CLI_FLAG_INT:
      if (cli_parse_int32(val, f->dst) != 0) {
        return cli_usage_error(ctx, "%s: \"%s\" is not a whole number", f->name, val);
      }
      break;
    case CLI_FLAG_DOUBLE:
      if (parse_double_(val, f->dst) != 0) {
        return cli_usage_error(ctx, "%s: \"%s\" is not a number", f->name, val);
      }
      break;
    case CLI_FLAG_BOOL:
      break; /* handled above */
    }
    if (f->set != NULL) {
      *f->set = 1;
    }
  }
  return CLI_OK;
}

/* ================================================================ widths */

/* Cells taken by code point cp (0, 1 or 2). */
static int cp_width_(unsigned long cp) {
  if (cp == 0 || (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
      (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x200B && cp <= 0x200F) ||
      (cp >= 0x20D0 && cp <= 0x20FF) || (cp >= 0xFE00 && cp <= 0xFE0F) ||
      (cp >= 0xFE20 && cp <= 0xFE2F)) {
    return 0;
  }
  if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
      (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
      (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
      (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD)) {
    return 2;
  }
  return 1;
}

/* Decodes the sequence at s (n bytes left): its byte length (1 for a
 * malformed byte) and, in *width, its cells. */
static size_t next_char_(const char *s, size_t n, int *width) {
  size_t len = utf8_sequence_length(s, n);
  if (len == 0) {
    *width = 1;
    return 1;
  }
  const unsigned char *u = (const unsigned char *)s;
  unsigned long cp = len == 1   ? u[0]
                     : len == 2 ? ((u[0] & 0x1Fu) << 6) | (u[1] & 0x3Fu)
                     : len == 3 ? ((u[0] & 0x0Fu) << 12) | ((u[1] & 0x3Fu) << 6) | (u[2] & 0x3Fu)
                                : ((unsigned long)(u[0] & 0x07u) << 18) | ((u[1] & 0x3Fu) << 12) |
                                      ((u[2] & 0x3Fu) << 6) | (u[3] & 0x3Fu);
  *width = cp_width_(cp);
  return len;
}

size_t cli_text_width(const char *s) {
  size_t w = 0;
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    int cw = 0;
    i += next_char_(s + i, n - i, &cw);
    w += (size_t)cw;
  }
  return w;
}

/* A copy of s cut to at most max cells (ending in "…" when cut); control
 * characters (tabs, newlines from summaries) become spaces. */
static char *cell_dup_(const char *s, size_t max) {
  size_t n = strlen(s);
  char *out = xmalloc(n + 4);
  size_t o = 0;
  size_t w = 0;
  size_t total = cli_text_width(s);
  for (size_t i = 0; i < n;) {
    int cw = 0;
    size_t len = next_char_(s + i, n - i, &cw);
    if (max > 0 && total > max && w + (size_t)cw > max - 1) {
      memcpy(out + o, "\xE2\x80\xA6", 3); /* … */
      o += 3;
      break;
    }
    if (len == 1 && (unsigned char)s[i] < 0x20) {
      out[o++] = ' ';
    } else {
      memcpy(out + o, s + i, len);
      o += len;
    }
    w += (size_t)cw;
    i += len;
  }
  out[o] = '\0';
  return out;
}

/* ================================================================ tables */

struct cli_table {
  size_t ncols;
  size_t *max_width; /* per column; 0 = no cap */
  size_t nrows;      /* rows including the header row */
  size_t cap;
  char **cells; /* nrows * ncols, row-major; row 0 = headers */
};

struct cli_table *cli_table_create(size_t ncols, const char *const *headers,
                                   const size_t *max_width) {
  struct cli_table *t = xcalloc(1, sizeof *t);
  t->ncols = ncols;
  t->max_width = xcalloc(ncols, sizeof *t->max_width);
  if (max_width != NULL) {
    memcpy(t->max_width, max_width, ncols * sizeof *max_width);
  }
  cli_table_add(t, headers);
  return t;
}

void cli_table_add(struct cli_table *t, const char *const *cells) {
  if (t->nrows == t->cap) {
    t->cap = t->cap == 0 ? 16 : t->cap * 2;
    t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof *t->cells);
  }
  for (size_t c = 0; c < t->ncols; c++) {
    t->cells[t->nrows * t->ncols + c] =
        cell_dup_(cells[c] != NULL ? cells[c] : "", t->max_width[c]);
  }
  t->nrows++;
}

void cli_table_print(const struct cli_table *t, FILE *out) {
  size_t *w = xcalloc(t->ncols, sizeof *w);
  for (size_t r = 0; r < t->nrows; r++) {
    for (size_t c = 0; c < t->ncols; c++) {
      size_t cw = cli_text_width(t->cells[r * t->ncols + c]);
      if (cw > w[c]) {
        w[c] = cw;
      }
    }
  }
  for (size_t r = 0; r < t->nrows; r++) {
    size_t last = t->ncols; /* last non-empty cell: no padding after it */
    while (last > 0 && t->cells[r * t->ncols + last - 1][0] == '\0') {
      last--;
    }
    for (size_t c = 0; c < last; c++) {
      const char *cell = t->cells[r * t->ncols + c];
      fputs(cell, out);
      if (c + 1 < last) {
        for (size_t pad = cli_text_width(cell); pad < w[c] + 2; pad++) {
          fputc(' ', out);
        }
      }
    }
    fputc('\n', out);
  }
  free(w);
}

void cli_table_destroy(struct cli_table *t) {
  if (t == NULL) {
    return;
  }
  for (size_t i = 0; i < t->nrows * t->ncols; i++) {
    free(t->cells[i]);
  }
  free(t->cells);
  free(t->max_width);
  free(t);
}

const char *cli_fmt(char *buf, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, len, fmt, ap);
  va_end(ap);
  return buf;
}

/* ---------------------------------------------------------------- interrupts */

int cli_interrupted(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  struct timespec zero = {0, 0};
  int sig = sigtimedwait(&set, NULL, &zero);
  return sig > 0 ? sig : 0;
}

int cli_pause_ms(int64_t ms) {
  for (int64_t t = 0; t < ms; t += 50) {
    int sig = cli_interrupted();
    if (sig != 0) {
      return sig;
    }
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return cli_interrupted();
}
