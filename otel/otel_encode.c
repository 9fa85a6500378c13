/*
 * otel_encode: struct otel_span -> ExportTraceServiceRequest bytes with the
 * protoc-c messages. Everything the message points to lives on this
 * function's stack or in one scratch allocation, freed before it returns.
 * See otel_encode.h. Tests: tests/unit/test_otel.c.
 */
#include "otel_encode.h"

#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "xalloc.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Trace__V1__Status Status;

/* Per span: the message, its status, attributes and their values; the
 * strings are the span's own text, NUL-ended (otel_span.c). */
struct span_scratch {
  Span span;
  Status status;
  KeyValue kv[OTEL_SPAN_MAX_ATTRS];
  KeyValue *kvp[OTEL_SPAN_MAX_ATTRS];
  AnyValue av[OTEL_SPAN_MAX_ATTRS];
};

/* The NUL-ended string at off in s's text (protobuf-c packs C strings and
 * never writes through them). */
static char *cstr_(struct otel_span *s, uint16_t off) {
  return s->text + off;
}

static void span_(struct span_scratch *x, struct otel_span *s) {
  Span *m = &x->span;
  opentelemetry__proto__trace__v1__span__init(m);
  m->trace_id.data = s->ctx.trace_id;
  m->trace_id.len = 16;
  m->span_id.data = s->ctx.span_id;
  m->span_id.len = 8;
  if (s->has_parent) {
    m->parent_span_id.data = s->parent_span_id;
    m->parent_span_id.len = 8;
  }
  m->flags = s->ctx.flags;
  m->name = cstr_(s, s->name_off);
  m->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)s->kind;
  m->start_time_unix_nano = s->start_ns;
  m->end_time_unix_nano = s->end_ns;
  for (size_t i = 0; i < s->nattrs; i++) {
    const struct otel_attr *a = &s->attrs[i];
    opentelemetry__proto__common__v1__key_value__init(&x->kv[i]);
    opentelemetry__proto__common__v1__any_value__init(&x->av[i]);
    x->kv[i].key = (char *)(uintptr_t)a->key;
    x->kv[i].value = &x->av[i];
    if (a->type == OTEL_ATTR_INT) {
      x->av[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
      x->av[i].int_value = a->i;
    } else {
      x->av[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
      x->av[i].string_value = cstr_(s, a->off);
    }
    x->kvp[i] = &x->kv[i];
  }
  m->n_attributes = s->nattrs;
  m->attributes = x->kvp;
  m->dropped_attributes_count = s->dropped_attrs;
  if (s->status != OTEL_STATUS_UNSET) {
    opentelemetry__proto__trace__v1__status__init(&x->status);
    x->status.code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)s->status;
    if (s->status_len > 0)
      x->status.message = cstr_(s, s->status_off);
    m->status = &x->status;
  }
}

static void str_kv_(KeyValue *kv, AnyValue *av, const char *key, const char *value) {
  opentelemetry__proto__common__v1__key_value__init(kv);
  opentelemetry__proto__common__v1__any_value__init(av);
  kv->key = (char *)(uintptr_t)key;
  kv->value = av;
  av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
  av->string_value = (char *)(uintptr_t)value;
}

int otel_encode_export(const struct otel_resource *res, struct otel_span *const *spans, size_t n,
                       uint8_t **out, size_t *len) {
  KeyValue rkv[4];
  AnyValue rav[4];
  KeyValue *rkvp[4];
  size_t nr = 0;
  str_kv_(&rkv[nr], &rav[nr], "service.name", res->service_name);
  nr++;
  if (res->service_version != NULL && res->service_version[0] != '\0') {
    str_kv_(&rkv[nr], &rav[nr], "service.version", res->service_version);
    nr++;
  }
  str_kv_(&rkv[nr], &rav[nr], "telemetry.sdk.name", "tvmaze-otel");
  nr++;
  str_kv_(&rkv[nr], &rav[nr], "telemetry.sdk.language", "c");
  nr++;
  for (size_t i = 0; i < nr; i++)
    rkvp[i] = &rkv[i];

  Opentelemetry__Proto__Resource__V1__Resource resource =
      OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
  resource.n_attributes = nr;
  resource.attributes = rkvp;

  Opentelemetry__Proto__Common__V1__InstrumentationScope scope =
      OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
  scope.name = (char *)(uintptr_t) "tvmaze-ingest";
  if (res->service_version != NULL)
    scope.version = (char *)(uintptr_t)res->service_version;

  struct span_scratch *x = n > 0 ? xcalloc(n, sizeof *x) : NULL;
  Span **sp = n > 0 ? xcalloc(n, sizeof *sp) : NULL;
  for (size_t i = 0; i < n; i++) {
    span_(&x[i], spans[i]);
    sp[i] = &x[i].span;
  }
  Opentelemetry__Proto__Trace__V1__ScopeSpans ss =
      OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
  Opentelemetry__Proto__Trace__V1__ScopeSpans *ssp = &ss;
  ss.scope = &scope;
  ss.n_spans = n;
  ss.spans = sp;
  Opentelemetry__Proto__Trace__V1__ResourceSpans rs =
      OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
  Opentelemetry__Proto__Trace__V1__ResourceSpans *rsp = &rs;
  rs.resource = &resource;
  rs.n_scope_spans = 1;
  rs.scope_spans = &ssp;
  Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req =
      OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
  req.n_resource_spans = 1;
  req.resource_spans = &rsp;

  *len = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
      &req);
  *out = xmalloc(*len > 0 ? *len : 1);
  opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, *out);
  free(sp);
  free(x);
  return 0;
}
