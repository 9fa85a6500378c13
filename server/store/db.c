/*
 * db: per-thread PostgreSQL connection with reconnect and lazy prepared
 * statements; migrations under an advisory lock. See db.h.
 */
#include "db.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "migrations.h"
#include "otel_current.h"
#include "xalloc.h"

/* Advisory lock key for migrations ("tvmz" "migr"). */
#define MIGRATION_LOCK_KEY "7815223075108737650"
#define RECONNECT_SPACING_MS 500
#define MAX_PREPARED 160
#define GENERATION_CHANNEL "tvmaze_generation"
/* The generation row is re-read at least this often per connection even
 * when notifications flow: bounds staleness if the connection dies silently
 * (partition without FIN/RST) or a writer bumps without pg_notify. */
#define GENERATION_RECHECK_MS 1000

struct store {
  char *conninfo;               /* copied at open */
  PGconn *conn;                 /* NULL until connected / after a break */
  int64_t last_attempt_ms;      /* monotonic time of the last failed connect */
  char *prepared[MAX_PREPARED]; /* names prepared on this connection */
  int n_prepared;
  int dying;          /* the server sent FATAL/PANIC: the connection is ending */
  int64_t checked_ms; /* monotonic time generation was last read from the row */
  int listening;      /* LISTEN tvmaze_generation issued on this connection */
  int generation_ok;  /* generation is current up to the notifications read */
  int64_t generation; /* data generation known on this connection */
  int connected_once; /* a connection was made before (the next one is a reconnect) */
  char error[512];    /* last error message */
  char sqlstate[6];   /* SQLSTATE of the last failed statement ("" if none) */
};

/* Process-wide counters (store_counters_get): relaxed atomics, one add on an
 * error or a connect, nothing on the statement path otherwise. */
static atomic_ullong errors_total_;
static atomic_ullong reconnects_total_;

void store_counters_get(struct store_counters *out) {
  out->errors = atomic_load_explicit(&errors_total_, memory_order_relaxed);
  out->reconnects = atomic_load_explicit(&reconnects_total_, memory_order_relaxed);
}

/* COPY data goes to libpq in pieces of at most this many bytes. */
#define COPY_CHUNK ((size_t)1 << 20)

static void set_error_(struct store *s, const char *prefix, const char *msg) {
  s->sqlstate[0] = '\0';
  snprintf(s->error, sizeof s->error, "%s%s", prefix, msg ? msg : "");
  size_t n = strlen(s->error);
  while (n > 0 && (s->error[n - 1] == '\n' || s->error[n - 1] == ' ')) {
    s->error[--n] = '\0';
  }
}

const char *store_status_name(enum store_status st) {
  switch (st) {
  case STORE_OK:
    return "ok";
  case STORE_NOT_FOUND:
    return "not_found";
  case STORE_UNAVAILABLE:
    return "unavailable";
  case STORE_CONFLICT:
    return "conflict";
  case STORE_INVALID:
    return "invalid";
  case STORE_ERROR:
    return "error";
  }
  return "error";
}

struct store *store_open(const char *conninfo) {
  struct store *s = xcalloc(1, sizeof *s);
  s->conninfo = xstrdup(conninfo);
  return s;
}

static void drop_conn_(struct store *s) {
  if (s->conn != NULL) {
    PQfinish(s->conn);
    s->conn = NULL;
  }
  for (int i = 0; i < s->n_prepared; i++) {
    free(s->prepared[i]);
  }
  s->n_prepared = 0;
  s->dying = 0;
  s->listening = 0;
  s->generation_ok = 0;
}

/* An ErrorResponse that arrives while the connection is idle (a terminated
 * backend, a server shutdown) reaches libpq as a notice; FATAL/PANIC ones
 * mean the connection is ending, before libpq has read the EOF. Other notices
 * are dropped (stderr is the JSON log). */
static void notice_receiver_(void *arg, const PGresult *res) {
  struct store *s = arg;
  const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (sev != NULL && (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0)) {
    s->dying = 1;
  }
}

void store_close(struct store *s) {
  if (s == NULL) {
    return;
  }
  drop_conn_(s);
  free(s->conninfo);
  free(s);
}

const char *store_last_error(const struct store *s) {
  return s->error;
}

const char *store_last_sqlstate(const struct store *s) {
  return s->sqlstate;
}

PGconn *store_conn(struct store *s) {
  if (s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK && !s->dying) {
    return s->conn;
  }
  drop_conn_(s);
  int64_t now = clock_mono_ms();
  if (s->last_attempt_ms != 0 && now - s->last_attempt_ms < RECONNECT_SPACING_MS) {
    return NULL; /* keep the previous error */
  }
  s->conn = PQconnectdb(s->conninfo);
  if (PQstatus(s->conn) != CONNECTION_OK) {
    set_error_(s, "database unreachable: ", PQerrorMessage(s->conn));
    PQfinish(s->conn);
    s->conn = NULL;
    s->last_attempt_ms = now;
    atomic_fetch_add_explicit(&errors_total_, 1, memory_order_relaxed);
    return NULL;
  }
  s->last_attempt_ms = 0;
  if (s->connected_once) {
    atomic_fetch_add_explicit(&reconnects_total_, 1, memory_order_relaxed);
  }
  s->connected_once = 1;
  PQsetNoticeReceiver(s->conn, notice_receiver_, s);
  /* Sessions run in UTC so dates and timestamps on the wire never shift.
   * No JIT: every statement here is short, and the planner's row guesses
   * for set-returning functions (the change log's jsonb_populate_record*)
   * priced a one-row ListChanges page over jit_above_cost, so it spent
   * ~1 s compiling (4 s on a busy box) before reading one index entry. */
  PGresult *r = PQexec(s->conn, "SET TIME ZONE 'UTC'; SET jit = off");
  PQclear(r);
  return s->conn;
}

enum store_status store_status_from_result(const PGresult *res, PGconn *conn) {
  if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
    return STORE_UNAVAILABLE;
  }
  if (res == NULL) {
    return STORE_UNAVAILABLE;
  }
  const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  if (state == NULL) {
    return STORE_ERROR;
  }
  /* Class 08: connection exception; 57P01..03: admin shutdown, crash, cannot connect now. */
  if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0) {
    return STORE_UNAVAILABLE;
  }
  /* Class 23: integrity constraint violation; 55P03: lock not available; 40: rollback. */
  if (strncmp(state, "23", 2) == 0 || strcmp(state, "55P03") == 0 || strncmp(state, "40", 2) == 0) {
    return STORE_CONFLICT;
  }
  /* Class 22: data exception (bad value). */
  if (strncmp(state, "22", 2) == 0) {
    return STORE_INVALID;
  }
  return STORE_ERROR;
}

static int is_prepared_(const struct store *s, const char *name) {
  for (int i = 0; i < s->n_prepared; i++) {
    if (strcmp(s->prepared[i], name) == 0) {
      return 1;
    }
  }
  return 0;
}

/* Handles a failed result: sets status and error, drops a broken connection. */
static PGresult *fail_(struct store *s, PGresult *res, enum store_status *st) {
  *st = store_status_from_result(res, s->conn);
  atomic_fetch_add_explicit(&errors_total_, 1, memory_order_relaxed);
  if (res != NULL && PQresultErrorMessage(res)[0] != '\0') {
    set_error_(s, "", PQresultErrorMessage(res));
  } else if (s->conn != NULL) {
    set_error_(s, "", PQerrorMessage(s->conn));
  }
  const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  snprintf(s->sqlstate, sizeof s->sqlstate, "%s", state != NULL ? state : "");
  PQclear(res);
  if (*st == STORE_UNAVAILABLE) {
    drop_conn_(s);
  }
  return NULL;
}

static PGresult *exec_params_(struct store *s, const char *name, const char *sql, int nparams,
                              const char *const *values, const int *lengths, const int *formats,
                              int result_format, enum store_status *st) {
  PGconn *c = store_conn(s);
  if (c == NULL) {
    atomic_fetch_add_explicit(&errors_total_, 1, memory_order_relaxed);
    *st = STORE_UNAVAILABLE;
    return NULL;
  }
  if (name != NULL && !is_prepared_(s, name)) {
    PGresult *p = PQprepare(c, name, sql, nparams, NULL);
    if (PQresultStatus(p) != PGRES_COMMAND_OK) {
      return fail_(s, p, st);
    }
    PQclear(p);
    if (s->n_prepared < MAX_PREPARED) {
      s->prepared[s->n_prepared++] = xstrdup(name);
    }
  }
  PGresult *r;
  if (name != NULL && is_prepared_(s, name)) {
    r = PQexecPrepared(c, name, nparams, values, lengths, formats, result_format);
  } else {
    r = PQexecParams(c, sql, nparams, NULL, values, lengths, formats, result_format);
  }
  ExecStatusType rs = PQresultStatus(r);
  if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK) {
    return fail_(s, r, st);
  }
  *st = STORE_OK;
  return r;
}

/* The statement's first keyword, upper-cased ("SELECT", "WITH"): the span's
 * db.operation (never a value: the text before the first non-letter). */
static void operation_(const char *sql, char *out, size_t outlen) {
  while (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '(') {
    sql++;
  }
  size_t n = 0;
  while (n + 1 < outlen && ((sql[n] >= 'a' && sql[n] <= 'z') || (sql[n] >= 'A' && sql[n] <= 'Z'))) {
    out[n] = (char)(sql[n] >= 'a' ? sql[n] - 'a' + 'A' : sql[n]);
    n++;
  }
  out[n] = '\0';
}

/* Each statement is a CLIENT span under the thread's current span
 * (otel_current.h; none: no cost but a thread-local read): named by the
 * prepared statement's name, else by its operation; db.system, db.operation,
 * db.statement_name; ERROR with the SQLSTATE. No parameter value, no SQL
 * text. */
PGresult *store_exec_params(struct store *s, const char *name, const char *sql, int nparams,
                            const char *const *values, const int *lengths, const int *formats,
                            int result_format, enum store_status *st) {
  if (!otel_current_active()) {
    return exec_params_(s, name, sql, nparams, values, lengths, formats, result_format, st);
  }
  char op[16];
  operation_(sql, op, sizeof op);
  struct otel_span *span = otel_current_start(name != NULL ? name : op, OTEL_SPAN_CLIENT);
  otel_span_attr_str(span, "db.system", "postgresql");
  otel_span_attr_str(span, "db.operation", op);
  if (name != NULL) {
    otel_span_attr_str(span, "db.statement_name", name);
  }
  PGresult *r = exec_params_(s, name, sql, nparams, values, lengths, formats, result_format, st);
  if (*st != STORE_OK) {
    otel_span_set_status(span, OTEL_STATUS_ERROR,
                         s->sqlstate[0] != '\0' ? s->sqlstate : store_status_name(*st));
  }
  otel_current_end(span);
  return r;
}

PGresult *store_exec(struct store *s, const char *name, const char *sql, int nparams,
                     const char *const *values, enum store_status *st) {
  return store_exec_params(s, name, sql, nparams, values, NULL, NULL, 0, st);
}

enum store_status store_copy_in(struct store *s, const char *sql, const char *data, size_t len,
                                long long *rows) {
  PGconn *c = store_conn(s);
  if (c == NULL) {
    atomic_fetch_add_explicit(&errors_total_, 1, memory_order_relaxed);
    return STORE_UNAVAILABLE;
  }
  enum store_status st = STORE_OK;
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COPY_IN) {
    fail_(s, r, &st);
    return st != STORE_OK ? st : STORE_ERROR;
  }
  PQclear(r);
  /* blocking connection: PQputCopyData queues and flushes as it goes */
  const char *why = NULL;
  for (size_t off = 0; off < len && why == NULL;) {
    size_t n = len - off < COPY_CHUNK ? len - off : COPY_CHUNK;
    if (PQputCopyData(c, data + off, (int)n) != 1) {
      why = "sending COPY data failed: ";
    }
    off += n;
  }
  if (PQputCopyEnd(c, why != NULL ? "the client could not send the rows" : NULL) != 1 &&
      why == NULL) {
    why = "ending COPY failed: ";
  }
  /* the COPY's own result, then NULL; a failure is the first error seen */
  int failed = 0;
  while ((r = PQgetResult(c)) != NULL) {
    ExecStatusType rs = PQresultStatus(r);
    if (rs == PGRES_COMMAND_OK && !failed) {
      const char *t = PQcmdTuples(r);
      *rows += t[0] ? strtoll(t, NULL, 10) : 0;
      PQclear(r);
    } else if (rs == PGRES_COPY_IN) { /* still in COPY after a failed end */
      PQclear(r);
      set_error_(s, "COPY did not end: ", PQerrorMessage(c));
      drop_conn_(s);
      return STORE_UNAVAILABLE;
    } else if (!failed) {
      failed = 1;
      fail_(s, r, &st);
      if (s->conn == NULL) {
        return st;
      }
    } else {
      PQclear(r);
    }
  }
  if (failed) {
    return st;
  }
  if (why != NULL) { /* no error result: the connection broke */
    set_error_(s, why, PQerrorMessage(c));
    if (PQstatus(c) != CONNECTION_OK) {
      drop_conn_(s);
    }
    return STORE_UNAVAILABLE;
  }
  return STORE_OK;
}

enum store_status store_command(struct store *s, const char *sql) {
  PGconn *c = store_conn(s);
  if (c == NULL) {
    atomic_fetch_add_explicit(&errors_total_, 1, memory_order_relaxed);
    return STORE_UNAVAILABLE;
  }
  PGresult *r = PQexec(c, sql);
  ExecStatusType rs = PQresultStatus(r);
  if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK) {
    enum store_status st;
    fail_(s, r, &st);
    return st;
  }
  PQclear(r);
  return STORE_OK;
}

int store_ping(struct store *s) {
  enum store_status st;
  PGresult *r = store_exec(s, NULL, "SELECT 1", 0, NULL, &st);
  if (r == NULL) {
    return -1;
  }
  PQclear(r);
  return 0;
}

/* ---------------------------------------------------------------- */
/* Migrations                                                        */
/* ---------------------------------------------------------------- */

enum store_status store_migrate(struct store *s, int *applied) {
  *applied = 0;
  enum store_status st = store_command(s, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")");
  if (st != STORE_OK) {
    return st;
  }
  st = store_command(s,
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " version integer PRIMARY KEY,"
                     " name text NOT NULL,"
                     " applied_at timestamptz NOT NULL DEFAULT now())");
  for (size_t i = 0; st == STORE_OK && i < store_migrations_count; i++) {
    const struct store_migration *m = &store_migrations[i];
    char version[16];
    snprintf(version, sizeof version, "%d", m->version);
    const char *params[2] = {version, m->name};
    PGresult *r =
        store_exec(s, NULL, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, params, &st);
    if (r == NULL) {
      break;
    }
    int done = PQntuples(r) > 0;
    PQclear(r);
    if (done) {
      continue;
    }
    if ((st = store_command(s, "BEGIN")) != STORE_OK) {
      break;
    }
    st = store_command(s, m->sql);
    if (st == STORE_OK) {
      r = store_exec(s, NULL, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
                     params, &st);
      PQclear(r);
    }
    if (st == STORE_OK) {
      st = store_command(s, "COMMIT");
    }
    if (st != STORE_OK) {
      char msg[sizeof s->error];
      snprintf(msg, sizeof msg, "migration %s: %s", m->name, s->error);
      store_command(s, "ROLLBACK");
      snprintf(s->error, sizeof s->error, "%s", msg);
      break;
    }
    (*applied)++;
  }
  if (s->conn != NULL) {
    PGresult *r = PQexec(s->conn, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")");
    PQclear(r);
  }
  return st;
}

/* ------------------------------------------------------------------ */
/* Data generation (LISTEN/NOTIFY)                                    */
/* ------------------------------------------------------------------ */

/* Applies the notifications libpq has already read (no I/O). A payload that
 * is not a number makes the next call re-read the row. */
static void drain_notifies_(struct store *s) {
  PGnotify *n;
  while ((n = PQnotifies(s->conn)) != NULL) {
    if (strcmp(n->relname, GENERATION_CHANNEL) == 0) {
      char *end = NULL;
      long long g = n->extra != NULL ? strtoll(n->extra, &end, 10) : 0;
      if (end == NULL || end == n->extra || *end != '\0') {
        s->generation_ok = 0;
      } else if (g > s->generation) {
        s->generation = g;
      }
    }
    PQfreemem(n);
  }
}

enum store_status store_generation(struct store *s, int64_t *generation) {
  if (s->conn != NULL && s->listening && s->generation_ok) {
    /* Reads what the socket holds without blocking (no round trip); libpq
     * parses it in PQnotifies, which also runs the notice receiver. */
    int ok = PQconsumeInput(s->conn) == 1;
    if (ok) {
      drain_notifies_(s);
    }
    if (ok && PQstatus(s->conn) == CONNECTION_OK && !s->dying) {
      if (s->generation_ok && clock_mono_ms() - s->checked_ms < GENERATION_RECHECK_MS) {
        *generation = s->generation;
        return STORE_OK;
      }
    } else {
      /* Broken: notifications may have been missed; reconnect and re-read. */
      set_error_(s, "", PQerrorMessage(s->conn));
      drop_conn_(s);
    }
  }
  enum store_status st = STORE_OK;
  if (!s->listening) {
    PGresult *r = store_exec(s, NULL, "LISTEN " GENERATION_CHANNEL, 0, NULL, &st);
    if (r == NULL) {
      return st;
    }
    PQclear(r);
    s->listening = 1;
  }
  /* After LISTEN: a bump committed from now on is either in this read or
   * arrives as a notification. */
  PGresult *r =
      store_exec(s, "data_generation", "SELECT generation FROM data_generation", 0, NULL, &st);
  if (r == NULL) {
    return st;
  }
  int64_t g = PQntuples(r) > 0 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
  s->generation = g > s->generation || !s->generation_ok ? g : s->generation;
  s->checked_ms = clock_mono_ms();
  PQclear(r);
  drain_notifies_(s); /* older or equal ones: max() keeps the row's value */
  s->generation_ok = 1;
  *generation = s->generation;
  return STORE_OK;
}

int store_connected(const struct store *s) {
  return s->conn != NULL && !s->dying;
}

int store_socket(const struct store *s) {
  return s->conn != NULL && !s->dying ? PQsocket(s->conn) : -1;
}

int store_backend_pid(struct store *s) {
  return s->conn != NULL ? PQbackendPID(s->conn) : 0;
}
