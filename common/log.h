/*
 * log: one line per event on stdout, JSON (default) or text.
 *
 * Every program logs through here; library code (store, cache, rpc) does not
 * print but returns errors for its caller to log. Lines are formatted into a
 * local buffer and written with one write(2), so lines from different threads
 * never interleave. Thread-safe after log_init().
 *
 * JSON line: {"ts":"2026-11-25T19:38:55.123Z","level":"info","event":"...",
 *             ["trace_id":"...","span_id":"...",] <fields...>}
 */
#ifndef TVMAZE_COMMON_LOG_H
#define TVMAZE_COMMON_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_FORMAT_JSON = 0, LOG_FORMAT_TEXT };

enum log_field_type { LOG_FIELD_STR, LOG_FIELD_INT, LOG_FIELD_DBL, LOG_FIELD_BOOL };

/* One key/value of an event. Strings may be NULL (logged as null). */
struct log_field {
  const char *key;
  enum log_field_type type;
  union {
    const char *s;
    long long i;
    double d;
    int b;
  } v;
};

#define LF_STR(k, x) ((struct log_field){.key = (k), .type = LOG_FIELD_STR, .v.s = (x)})
#define LF_INT(k, x) ((struct log_field){.key = (k), .type = LOG_FIELD_INT, .v.i = (long long)(x)})
#define LF_DBL(k, x) ((struct log_field){.key = (k), .type = LOG_FIELD_DBL, .v.d = (double)(x)})
#define LF_BOOL(k, x) ((struct log_field){.key = (k), .type = LOG_FIELD_BOOL, .v.b = !!(x)})

/* Sets the minimum level and format. Not thread-safe: call once at start. */
void log_init(enum log_level min_level, enum log_format format);

/* Parses "debug|info|warn|error" / "json|text". Return 0, or -1 if unknown
 * (out-param unchanged). */
int log_level_parse(const char *s, enum log_level *out);
int log_format_parse(const char *s, enum log_format *out);

/* Logs an event with n fields. Lines longer than 8 KiB are truncated. */
void log_fields(enum log_level level, const char *event, const struct log_field *fields, size_t n);

/* LOG_EVENT(LOG_INFO, "server_started", LF_STR("addr", a), LF_INT("port", p)) */
#define LOG_EVENT(level, event, ...)                                        \
  do {                                                                      \
    const struct log_field log_f_[] = {__VA_ARGS__};                        \
    log_fields((level), (event), log_f_, sizeof log_f_ / sizeof log_f_[0]); \
  } while (0)

/* An event with a single printf-formatted "msg" field. */
void log_msgf(enum log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The thread's trace context: while set, every line this thread logs
 * carries "trace_id" and "span_id" (after "event") with these values
 * (lowercase hex, copied; 32 and 16 digits). NULL clears. Per thread, so
 * it needs no lock; the server's span layer sets it around a traced call
 * (server/trace/). */
void log_trace_set(const char *trace_id, const char *span_id);

/* Whether a level would be written (to skip building expensive fields). */
int log_enabled(enum log_level level);

#endif
