/*
 * db: one PostgreSQL connection per thread (a worker, the ingest runner, a
 * CLI command), with lazy connect, automatic reconnect after the server went
 * away, and lazily prepared named statements.
 *
 * Every SQL statement of the service lives in server/store/ (parameterized,
 * never assembled from user text); callers above the store see
 * enum store_status, never libpq errors. Not thread-safe: one owner thread.
 */
#ifndef TVMAZE_STORE_DB_H
#define TVMAZE_STORE_DB_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

enum store_status {
  STORE_OK = 0,
  STORE_NOT_FOUND,   /* the row asked for does not exist */
  STORE_UNAVAILABLE, /* cannot reach the database (down, restarting) */
  STORE_CONFLICT,    /* constraint violation, lock not available */
  STORE_INVALID,     /* the data was refused (bad value) */
  STORE_ERROR        /* any other database error */
};

const char *store_status_name(enum store_status st);

struct store;

/* A handle for conninfo (libpq URI or key=value). Does not connect yet;
 * never NULL. conninfo is copied. */
struct store *store_open(const char *conninfo);
/* Closes the connection and frees. Accepts NULL. */
void store_close(struct store *s);

/* The live connection, connecting (or reconnecting) if needed; NULL when the
 * database cannot be reached (message via store_last_error). Reconnect
 * attempts are spaced at least 500 ms apart so a down database costs nothing. */
PGconn *store_conn(struct store *s);

/* The last error message ("" if none); lives until the next call on s. */
const char *store_last_error(const struct store *s);

/* SQLSTATE of the last statement that failed with one ("23505", ...; ""
 * when the last failure had none, such as a lost connection). */
const char *store_last_sqlstate(const struct store *s);

/* Runs a named prepared statement (prepared on first use per connection),
 * with text parameters (NULL = SQL NULL). On success returns the result
 * (PGRES_TUPLES_OK or PGRES_COMMAND_OK; caller PQclear()s) and *st = STORE_OK.
 * On failure returns NULL, sets *st and the last error; a broken connection is
 * dropped so the next call reconnects (and re-prepares). */
PGresult *store_exec(struct store *s, const char *name, const char *sql, int nparams,
                     const char *const *values, enum store_status *st);

/* Like store_exec with binary-format parameters (lengths/formats as libpq). */
PGresult *store_exec_params(struct store *s, const char *name, const char *sql, int nparams,
                            const char *const *values, const int *lengths, const int *formats,
                            int result_format, enum store_status *st);

/* Runs `COPY table (cols) FROM STDIN` (sql, text format) with data[0..len)
 * as its rows; *rows gets the rows copied. On failure (the data refused,
 * the connection lost) returns the status with the last error set, and
 * the connection is left ready for the next command (inside a transaction,
 * that one is aborted, as after any failed statement). */
enum store_status store_copy_in(struct store *s, const char *sql, const char *data, size_t len,
                                long long *rows);

/* Runs a parameterless utility command (BEGIN, COMMIT, ROLLBACK, ...). */
enum store_status store_command(struct store *s, const char *sql);

/* 0 if a trivial query succeeds, -1 otherwise (health checks). */
int store_ping(struct store *s);

/* Applies the embedded migrations (server/store/migrations/NNN_*.sql) not yet
 * recorded in schema_migrations, each in its own transaction, under a
 * session advisory lock so concurrent replicas apply each exactly once.
 * *applied gets how many ran. Returns STORE_OK or an error (last error set). */
enum store_status store_migrate(struct store *s, int *applied);

/* The data generation (data_generation.generation) as this connection knows
 * it, for cache keys. The first call on a connection (and the first after a
 * reconnect) runs LISTEN tvmaze_generation and reads the row; later calls
 * only read notifications already on the socket (PQconsumeInput +
 * PQnotifies: no round trip). Bumps committed while the connection was down
 * are caught by the re-read after the reconnect. See docs/query.md "Cache"
 * for the residual window (delivery of a notification right after commit). */
enum store_status store_generation(struct store *s, int64_t *generation);

/* 1 if s holds a connection not known to be broken (no I/O: what the last
 * statement left). Owner thread only. */
int store_connected(const struct store *s);

/* Process-wide counts since start, over every store (thread-safe). */
struct store_counters {
  unsigned long long errors;     /* failed statements (a broken or absent
                                    connection included) and failed connects */
  unsigned long long reconnects; /* connections made by a store that had one before */
};
void store_counters_get(struct store_counters *out);

/* PID of the server process of the current connection, 0 if none (tests). */
int store_backend_pid(struct store *s);

/* The connection's socket (PQsocket), to poll for notifications between
 * store_generation calls; -1 when not connected. */
int store_socket(const struct store *s);

/* Maps a libpq result/connection failure to a status (exposed for store modules). */
enum store_status store_status_from_result(const PGresult *res, PGconn *conn);

#endif
