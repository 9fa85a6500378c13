/*
 * ingest_outcome: a run's final status and message from what happened to
 * its days. A pure function (no database, no clock), so every combination
 * is unit-tested.
 *
 *   lock lost                         FAILED  "stopped: its database session ended, ..."
 *   an orphan (its runner is gone)
 *     with days unrecorded            FAILED  "interrupted: its server stopped, or could
 *                                             not record the run, before ..."
 *     with every day recorded         the rows below, from its days
 *   fetch stopped (shutdown), or done
 *     with days unrecorded            FAILED  "interrupted: the server was shutting down"
 *   fetch could not start (libcurl)   FAILED  the fetch's error
 *   TVMaze unreachable from the start FAILED  the fetch's error ("TVMaze
 *                                             unreachable: <libcurl's reason> (<url>)")
 *   no day failed                     SUCCEEDED
 *   some days failed, some landed     PARTIAL
 *   every day failed                  FAILED  "every day failed"
 *
 * Tests: tests/unit/test_ingest_outcome.c.
 */
#ifndef TVMAZE_INGEST_OUTCOME_H
#define TVMAZE_INGEST_OUTCOME_H

#include "ingest_fetch.h"

struct ingest_outcome_in {
  int days;                 /* days of the run */
  int days_ok, days_failed; /* days recorded as landed / failed */
  enum ingest_fetch_status fetch;
  const char *fetch_error; /* with INGEST_FETCH_ERROR / _UNREACHABLE */
  int lock_lost;           /* the run lock was lost mid-run */
  int orphan;              /* a RUNNING run found without its runner: only its
                              recorded days are known (fetch: DONE) */
};

struct ingest_outcome {
  int status;        /* enum store_run_status */
  const char *error; /* NULL, a static string, or in->fetch_error */
};

struct ingest_outcome ingest_outcome_of(const struct ingest_outcome_in *in);

#endif
