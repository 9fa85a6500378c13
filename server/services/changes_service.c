/*
 * changes_service: tvmaze.v1.Changes (API.md "Changes and versions").
 *
 *   ListChanges   after_version (>= 0, default 0; at most current_version;
 *                 not below the retention floor: FAILED_PRECONDITION),
 *                 limit (1..1000, default 100), show_ids (at most 100,
 *                 each positive), entity (unspecified, SHOW or EPISODE);
 *                 one store read (store_changes.h): records, the data
 *                 version and the floor from one snapshot
 *   WatchChanges  not here yet (NULL: the binding answers UNIMPLEMENTED)
 *
 * Replies are built in the worker's arena (reset after the reply, as the
 * other services' are). Not cached: the read is one index range.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "query.h"
#include "services.h"
#include "store_changes.h"
#include "tvmaze/v1/changes.pb-c.h"
#include "xalloc.h"

#define DEFAULT_LIMIT 100

/* Validates req into *q; -1 with the call's status set (the message names
 * the field). */
static int args_(rpc_call *call, const Tvmaze__V1__ListChangesRequest *req,
                 struct store_changes_query *q) {
  *q = (struct store_changes_query){.after_version = req->after_version, .limit = DEFAULT_LIMIT};
  if (req->after_version < 0) {
    rpc_call_set_status(call, RPC_INVALID_ARGUMENT, "after_version: must not be negative");
    return -1;
  }
  if (req->limit != NULL) {
    if (req->limit->value < 1 || req->limit->value > STORE_CHANGES_MAX_LIMIT) {
      rpc_call_set_status(call, RPC_INVALID_ARGUMENT, "limit: must be 1..%d",
                          STORE_CHANGES_MAX_LIMIT);
      return -1;
    }
    q->limit = req->limit->value;
  }
  if (req->n_show_ids > STORE_CHANGES_MAX_SHOW_IDS) {
    rpc_call_set_status(call, RPC_INVALID_ARGUMENT, "show_ids: at most %d ids, got %zu",
                        STORE_CHANGES_MAX_SHOW_IDS, req->n_show_ids);
    return -1;
  }
  for (size_t i = 0; i < req->n_show_ids; i++) {
    if (req->show_ids[i] <= 0) {
      rpc_call_set_status(call, RPC_INVALID_ARGUMENT, "show_ids: must be positive TVMaze ids");
      return -1;
    }
  }
  q->show_ids = req->show_ids;
  q->n_show_ids = req->n_show_ids;
  int e = (int)req->entity;
  if (e != TVMAZE__V1__CHANGE_ENTITY__CHANGE_ENTITY_UNSPECIFIED &&
      e != TVMAZE__V1__CHANGE_ENTITY__CHANGE_ENTITY_SHOW &&
      e != TVMAZE__V1__CHANGE_ENTITY__CHANGE_ENTITY_EPISODE) {
    rpc_call_set_status(call, RPC_INVALID_ARGUMENT,
                        "entity: must be CHANGE_ENTITY_SHOW or CHANGE_ENTITY_EPISODE, got %d", e);
    return -1;
  }
  q->entity = e;
  return 0;
}

/* ListChanges into *out; -1 with the call's status set. */
static int list_(rpc_call *call, struct worker_ctx *w, const Tvmaze__V1__ListChangesRequest *req,
                 Tvmaze__V1__ListChangesResponse **out) {
  struct store_changes_query q;
  if (args_(call, req, &q) != 0) {
    return -1;
  }
  int64_t floor = 0;
  enum store_status st = store_changes_list(w->store, w->arena, &q, out, &floor);
  if (st != STORE_OK) {
    service_fail_store(call, st, "changes", w->store);
    return -1;
  }
  if (q.after_version > (*out)->current_version) {
    rpc_call_set_status(call, RPC_INVALID_ARGUMENT,
                        "after_version: %" PRId64 " is above the current version %" PRId64,
                        q.after_version, (*out)->current_version);
    return -1;
  }
  if (q.after_version < floor) {
    rpc_call_set_status(call, RPC_FAILED_PRECONDITION,
                        "after_version: %" PRId64
                        " is older than the changes kept (TVMAZE_CHANGES_RETENTION_DAYS); "
                        "list again and follow the changes from the listing's version",
                        q.after_version);
    return -1;
  }
  return 0;
}

static void list_changes_(Tvmaze__V1__Changes_Service *svc,
                          const Tvmaze__V1__ListChangesRequest *req,
                          Tvmaze__V1__ListChangesResponse_Closure done, void *cd) {
  (void)svc;
  rpc_call *call = cd;
  struct worker_ctx *w = rpc_call_worker_data(call);
  Tvmaze__V1__ListChangesResponse *resp = NULL;
  int ok = list_(call, w, req, &resp) == 0;
  done(ok ? resp : NULL, cd);
  struct query_reply r = {.kind = resp != NULL ? QUERY_REPLY_MESSAGE : QUERY_REPLY_NONE,
                          .message = resp != NULL ? &resp->base : NULL};
  query_reply_release(w, &r);
}

static void destroy_(Tvmaze__V1__Changes_Service *svc) {
  free(svc);
}

ProtobufCService *changes_service_create(struct server_ctx *ctx) {
  (void)ctx;
  Tvmaze__V1__Changes_Service *svc = xcalloc(1, sizeof *svc);
  tvmaze__v1__changes__init(svc, destroy_);
  svc->list_changes = list_changes_;
  svc->watch_changes = NULL; /* the hub: UNIMPLEMENTED until then */
  return &svc->base;
}
