/*
 * server_trace: the SERVER span of each call. See server_trace.h.
 */
#include "server_trace.h"

#include <stdio.h>

#include "log.h"
#include "otel_current.h"

int server_trace_is_error(rpc_code code) {
  switch (code) {
  case RPC_UNKNOWN:
  case RPC_DEADLINE_EXCEEDED:
  case RPC_UNIMPLEMENTED:
  case RPC_INTERNAL:
  case RPC_UNAVAILABLE:
  case RPC_DATA_LOSS:
    return 1;
  default:
    return 0;
  }
}

static void started_(const struct rpc_call_report *r, struct otel_tracer *t) {
  const char *service = r->service->name;
  const char *method = r->service->methods[r->method_index].name;
  struct otel_span_context parent, ctx;
  int remote = otel_traceparent_parse(rpc_call_metadata(r->call, "traceparent"), &parent) == 0;
  char name[256];
  snprintf(name, sizeof name, "%s/%s", service, method);
  struct otel_span *s =
      otel_tracer_start(t, remote ? &parent : NULL, 1, name, OTEL_SPAN_SERVER, 0, &ctx);
  otel_span_attr_str(s, "rpc.system", "grpc");
  otel_span_attr_str(s, "rpc.service", service);
  otel_span_attr_str(s, "rpc.method", method);
  *r->slot = s;
  if (r->streaming)
    return;
  if (s != NULL) {
    struct otel_current_saved ignored;
    otel_current_push(t, &ctx, &ignored);
  }
  char trace_id[33], span_id[17];
  otel_hex(ctx.trace_id, 16, trace_id);
  otel_hex(ctx.span_id, 8, span_id);
  log_trace_set(trace_id, span_id);
}

static void finished_(const struct rpc_call_report *r, struct otel_tracer *t) {
  struct otel_span *s = *r->slot;
  *r->slot = NULL;
  if (!r->streaming) {
    struct otel_current_saved ignored;
    otel_current_push(NULL, NULL, &ignored);
    log_trace_set(NULL, NULL);
  }
  if (s == NULL)
    return;
  otel_span_attr_int(s, "rpc.grpc.status_code", (int64_t)r->code);
  if (server_trace_is_error(r->code))
    otel_span_set_status(s, OTEL_STATUS_ERROR, rpc_code_name(r->code));
  otel_tracer_end(t, s);
}

void server_trace_observe(const struct rpc_call_report *r, struct otel_tracer *t) {
  if (t == NULL || !otel_tracer_exporting(t))
    return;
  if (r->event == RPC_CALL_STARTED)
    started_(r, t);
  else
    finished_(r, t);
}
