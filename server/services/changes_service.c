/*
 * changes_service: tvmaze.v1.Changes (API.md "Changes and versions").
 *
 *   ListChanges   after_version (>= 0, default 0; at most current_version;
 *                 not below the retention floor: FAILED_PRECONDITION),
 *                 limit (1..1000, default 100), show_ids (at most 100,
 *                 each positive), entity (unspecified, SHOW or EPISODE);
 *                 one store read (store_changes.h): records, the data
 *                 version and the floor from one snapshot
 *   WatchChanges  the same checks (without limit) on the worker, against
 *                 the version and floor of a one-record read; the stream is
 *                 then the hub's (changes_hub.h): it holds no worker and no
 *                 connection while it waits
 *
 * Replies are built in the worker's arena (reset after the reply, as the
 * other services' are). Not cached: the read is one index range.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "changes_hub.h"
#include "query.h"
#include "services.h"
#include "store_changes.h"
#include "tvmaze/v1/changes.pb-c.h"
#include "xalloc.h"

#define DEFAULT_LIMIT 100

/* The fields ListChangesRequest and WatchChangesRequest share (limit:
 * ListChanges only). */
struct change_args {
  int64_t after_version;
  const Google__Protobuf__Int32Value *limit;
  const int32_t *show_ids;
  size_t n_show_ids;
  Tvmaze__V1__ChangeEntity entity;
};

/* Validates req into *q; -1 with the call's status set (the message names
 * every bad field, one violation each: service_bad_field). */
static int args_(rpc_call *call, const struct change_args *req, struct store_changes_query *q) {
  *q = (struct store_changes_query){.after_version = req->after_version, .limit = DEFAULT_LIMIT};
  char msg[512] = "";
  int bad = 0;
  if (req->after_version < 0) {
    bad = service_bad_field(msg, sizeof msg, "after_version: must not be negative");
  }
  if (req->limit != NULL) {
    if (req->limit->value < 1 || req->limit->value > STORE_CHANGES_MAX_LIMIT) {
      bad = service_bad_field(msg, sizeof msg, "limit: must be 1..%d", STORE_CHANGES_MAX_LIMIT);
    } else {
      q->limit = req->limit->value;
    }
  }
  if (service_show_ids_arg(req->show_ids, req->n_show_ids, msg, sizeof msg) != 0) {
    bad = -1;
  }
  q->show_ids = req->show_ids;
  q->n_show_ids = req->n_show_ids;
  int e = (int)req->entity;
  if (e != TVMAZE__V1__CHANGE_ENTITY__CHANGE_ENTITY_UNSPECIFIED &&
      e != TVMAZE__V1__CHANGE_ENTITY__CHANGE_ENTITY_SHOW &&
      e != TVMAZE__V1__CHANGE_ENTITY__CHANGE_ENTITY_EPISODE) {
    bad = service_bad_field(
        msg, sizeof msg, "entity: must be CHANGE_ENTITY_SHOW or CHANGE_ENTITY_EPISODE, got %d", e);
  }
  q->entity = e;
  if (bad != 0) {
    rpc_call_set_status(call, RPC_INVALID_ARGUMENT, "%s", msg);
    return -1;
  }
  return 0;
}

/* Reads q into *out and checks q->after_version against the version and
 * the floor of the same snapshot; -1 with the call's status set. */
static int read_(rpc_call *call, struct worker_ctx *w, const struct store_changes_query *q,
                 Tvmaze__V1__ListChangesResponse **out) {
  int64_t floor = 0;
  enum store_status st = store_changes_list(w->store, w->arena, q, out, &floor);
  if (st != STORE_OK) {
    service_fail_store(call, st, "changes", w->store);
    return -1;
  }
  if (q->after_version > (*out)->current_version) {
    rpc_call_set_status(call, RPC_INVALID_ARGUMENT,
                        "after_version: %" PRId64 " is above the current version %" PRId64,
                        q->after_version, (*out)->current_version);
    return -1;
  }
  if (q->after_version < floor) {
    rpc_call_set_status(call, RPC_FAILED_PRECONDITION,
                        "after_version: %" PRId64
                        " is older than the changes kept (TVMAZE_CHANGES_RETENTION_DAYS); "
                        "list again and follow the changes from the listing's version",
                        q->after_version);
    return -1;
  }
  return 0;
}

/* ListChanges into *out; -1 with the call's status set. */
static int list_(rpc_call *call, struct worker_ctx *w, const Tvmaze__V1__ListChangesRequest *req,
                 Tvmaze__V1__ListChangesResponse **out) {
  const struct change_args a = {.after_version = req->after_version,
                                .limit = req->limit,
                                .show_ids = req->show_ids,
                                .n_show_ids = req->n_show_ids,
                                .entity = req->entity};
  struct store_changes_query q;
  return args_(call, &a, &q) == 0 ? read_(call, w, &q, out) : -1;
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

void changes_watch_open(rpc_call *call, const ProtobufCMessage *request, void *user) {
  struct server_ctx *ctx = user;
  const Tvmaze__V1__WatchChangesRequest *req = (const void *)request;
  struct worker_ctx *w = rpc_call_worker_data(call);
  const struct change_args a = {.after_version = req->after_version,
                                .show_ids = req->show_ids,
                                .n_show_ids = req->n_show_ids,
                                .entity = req->entity};
  struct store_changes_query q;
  Tvmaze__V1__ListChangesResponse *probe = NULL;
  if (args_(call, &a, &q) == 0) {
    q.limit = 1; /* the version and the floor are what is wanted */
    if (read_(call, w, &q, &probe) == 0) {
      const struct changes_watch cw = {.after_version = q.after_version,
                                       .show_ids = q.show_ids,
                                       .n_show_ids = q.n_show_ids,
                                       .entity = q.entity};
      changes_hub_watch(ctx->changes_hub, call, &cw);
    }
  }
  struct query_reply r = {.kind = probe != NULL ? QUERY_REPLY_MESSAGE : QUERY_REPLY_NONE,
                          .message = probe != NULL ? &probe->base : NULL};
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
  svc->watch_changes = NULL; /* a stream: changes_watch_open */
  return &svc->base;
}
