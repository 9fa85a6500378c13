/*
 * log: JSON-lines / text event logger. See log.h.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "strbuf.h"

static enum log_level min_level_ = LOG_INFO;
static enum log_format format_ = LOG_FORMAT_JSON;

static const char *const level_names_[] = {"debug", "info", "warn", "error"};

/* log_trace_set: this thread's trace context ("" = none). */
static _Thread_local char trace_id_[33];
static _Thread_local char span_id_[17];

void log_trace_set(const char *trace_id, const char *span_id) {
  if (trace_id == NULL || span_id == NULL) {
    trace_id_[0] = '\0';
    span_id_[0] = '\0';
    return;
  }
  snprintf(trace_id_, sizeof trace_id_, "%s", trace_id);
  snprintf(span_id_, sizeof span_id_, "%s", span_id);
}

void log_init(enum log_level min_level, enum log_format format) {
  min_level_ = min_level;
  format_ = format;
}

int log_level_parse(const char *s, enum log_level *out) {
  for (int i = 0; i < 4; i++) {
    if (strcmp(s, level_names_[i]) == 0) {
      *out = (enum log_level)i;
      return 0;
    }
  }
  if (strcmp(s, "warning") == 0) {
    *out = LOG_WARN;
    return 0;
  }
  return -1;
}

int log_format_parse(const char *s, enum log_format *out) {
  if (strcmp(s, "json") == 0) {
    *out = LOG_FORMAT_JSON;
  } else if (strcmp(s, "text") == 0) {
    *out = LOG_FORMAT_TEXT;
  } else {
    return -1;
  }
  return 0;
}

int log_enabled(enum log_level level) {
  return level >= min_level_;
}

static void put_value_(struct strbuf *b, const struct log_field *f, int json) {
  switch (f->type) {
  case LOG_FIELD_STR:
    if (f->v.s == NULL) {
      strbuf_append(b, json ? "null" : "-");
    } else if (json) {
      strbuf_append_json_string(b, f->v.s);
    } else {
      strbuf_append(b, f->v.s);
    }
    break;
  case LOG_FIELD_INT:
    strbuf_appendf(b, "%lld", f->v.i);
    break;
  case LOG_FIELD_DBL:
    strbuf_appendf(b, "%.6g", f->v.d);
    break;
  case LOG_FIELD_BOOL:
    strbuf_append(b, f->v.b ? "true" : "false");
    break;
  }
}

void log_fields(enum log_level level, const char *event, const struct log_field *fields, size_t n) {
  if (level < min_level_) {
    return;
  }
  char stack[8192];
  struct strbuf b;
  strbuf_init_fixed(&b, stack, sizeof stack);

  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char when[64];
  snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

  int json = format_ == LOG_FORMAT_JSON;
  if (json) {
    strbuf_appendf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":", when, level_names_[level]);
    strbuf_append_json_string(&b, event);
    if (trace_id_[0] != '\0') {
      strbuf_appendf(&b, ",\"trace_id\":\"%s\",\"span_id\":\"%s\"", trace_id_, span_id_);
    }
    for (size_t i = 0; i < n; i++) {
      strbuf_append(&b, ",");
      strbuf_append_json_string(&b, fields[i].key);
      strbuf_append(&b, ":");
      put_value_(&b, &fields[i], 1);
    }
    strbuf_append(&b, "}");
  } else {
    strbuf_appendf(&b, "%s %-5s %s", when, level_names_[level], event);
    if (trace_id_[0] != '\0') {
      strbuf_appendf(&b, " trace_id=%s span_id=%s", trace_id_, span_id_);
    }
    for (size_t i = 0; i < n; i++) {
      strbuf_appendf(&b, " %s=", fields[i].key);
      put_value_(&b, &fields[i], 0);
    }
  }
  /* A fixed buffer truncates; keep the line a line. */
  if (b.len >= b.cap - 1) {
    b.len = b.cap - 2;
  }
  b.data[b.len++] = '\n';
  ssize_t off = 0;
  while ((size_t)off < b.len) {
    ssize_t w = write(STDOUT_FILENO, b.data + off, b.len - (size_t)off);
    if (w <= 0) {
      break;
    }
    off += w;
  }
}

void log_msgf(enum log_level level, const char *event, const char *fmt, ...) {
  if (level < min_level_) {
    return;
  }
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  LOG_EVENT(level, event, LF_STR("msg", msg));
}
