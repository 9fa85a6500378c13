/*
 * ingest_outcome: see ingest_outcome.h. The first matching row of the
 * table there decides.
 */
#include "ingest_outcome.h"

#include "store_ingest.h"

struct ingest_outcome ingest_outcome_of(const struct ingest_outcome_in *in) {
  if (in->lock_lost) {
    return (struct ingest_outcome){
        STORE_RUN_FAILED,
        "stopped: its database session ended, and with it the run lock, which another "
        "run then held (or this run was marked failed)"};
  }
  if (in->orphan && in->days_ok + in->days_failed < in->days) {
    return (struct ingest_outcome){
        STORE_RUN_FAILED,
        "interrupted: its server stopped, or could not record the run, before every day was "
        "recorded (the days not recorded stay PENDING)"};
  }
  if (in->fetch == INGEST_FETCH_STOPPED ||
      (in->fetch == INGEST_FETCH_DONE && in->days_ok + in->days_failed < in->days)) {
    return (struct ingest_outcome){STORE_RUN_FAILED, "interrupted: the server was shutting down"};
  }
  if (in->fetch == INGEST_FETCH_ERROR || in->fetch == INGEST_FETCH_UNREACHABLE) {
    return (struct ingest_outcome){STORE_RUN_FAILED, in->fetch_error};
  }
  if (in->days_failed == 0) {
    return (struct ingest_outcome){STORE_RUN_SUCCEEDED, NULL};
  }
  if (in->days_ok > 0) {
    return (struct ingest_outcome){STORE_RUN_PARTIAL, NULL};
  }
  return (struct ingest_outcome){STORE_RUN_FAILED, "every day failed"};
}
