/*
 * promtext: Prometheus text format 0.0.4 pieces. See promtext.h.
 */
#include "promtext.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void prom_family(struct strbuf *b, const char *name, const char *type, const char *help) {
  strbuf_appendf(b, "# HELP %s ", name);
  for (const char *p = help; *p; p++) { /* HELP escapes backslash and newline only */
    if (*p == '\\') {
      strbuf_append(b, "\\\\");
    } else if (*p == '\n') {
      strbuf_append(b, "\\n");
    } else {
      strbuf_append_char(b, *p);
    }
  }
  strbuf_appendf(b, "\n# TYPE %s %s\n", name, type);
}

void prom_label_value(struct strbuf *b, const char *v) {
  for (const char *p = v; *p; p++) {
    if (*p == '\\') {
      strbuf_append(b, "\\\\");
    } else if (*p == '"') {
      strbuf_append(b, "\\\"");
    } else if (*p == '\n') {
      strbuf_append(b, "\\n");
    } else {
      strbuf_append_char(b, *p);
    }
  }
}

static void name_labels_(struct strbuf *b, const char *name, const char *suffix,
                         const char *labels) {
  strbuf_append(b, name);
  strbuf_append(b, suffix);
  if (labels != NULL && labels[0] != '\0') {
    strbuf_appendf(b, "{%s}", labels);
  }
}

/* The shortest digits that read back as v, laid out as Go's
 * strconv.FormatFloat(v, 'g', -1, 64) (what client_golang prints): plain
 * decimals for exponents -4..5 ("10", "0.005", "2.5"), else 1.5e+06. */
static void double_(struct strbuf *b, double v) {
  if (isnan(v)) {
    strbuf_append(b, "NaN");
    return;
  }
  if (isinf(v)) {
    strbuf_append(b, v > 0 ? "+Inf" : "-Inf");
    return;
  }
  char buf[40];
  int digits = 1;
  for (; digits < 17; digits++) {
    snprintf(buf, sizeof buf, "%.*e", digits - 1, v);
    if (strtod(buf, NULL) == v) {
      break;
    }
  }
  snprintf(buf, sizeof buf, "%.*e", digits - 1, v);
  int exp = (int)strtol(strchr(buf, 'e') + 1, NULL, 10);
  if (v != 0 && (exp < -4 || exp >= 6)) {
    strbuf_append(b, buf);
    return;
  }
  int decimals = digits - 1 - exp;
  snprintf(buf, sizeof buf, "%.*f", decimals > 0 ? decimals : 0, v);
  strbuf_append(b, buf);
}

void prom_sample_u64(struct strbuf *b, const char *name, const char *labels, unsigned long long v) {
  name_labels_(b, name, "", labels);
  strbuf_appendf(b, " %llu\n", v);
}

void prom_sample_double(struct strbuf *b, const char *name, const char *labels, double v) {
  name_labels_(b, name, "", labels);
  strbuf_append_char(b, ' ');
  double_(b, v);
  strbuf_append_char(b, '\n');
}

void prom_histogram(struct strbuf *b, const char *name, const char *labels, const double *bounds,
                    const unsigned long long *counts, size_t n, double sum) {
  int has_labels = labels != NULL && labels[0] != '\0';
  unsigned long long cum = 0;
  for (size_t i = 0; i <= n; i++) {
    cum += counts[i];
    strbuf_appendf(b, "%s_bucket{%s%sle=\"", name, has_labels ? labels : "", has_labels ? "," : "");
    if (i < n) {
      double_(b, bounds[i]);
    } else {
      strbuf_append(b, "+Inf");
    }
    strbuf_appendf(b, "\"} %llu\n", cum);
  }
  name_labels_(b, name, "_sum", labels);
  strbuf_append_char(b, ' ');
  double_(b, sum);
  strbuf_append_char(b, '\n');
  name_labels_(b, name, "_count", labels);
  strbuf_appendf(b, " %llu\n", cum);
}
