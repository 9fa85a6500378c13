/*
 * otel (otel/): W3C traceparent parsing and formatting (version 00 only,
 * lowercase hex, all-zero ids refused), the samplers' names and their
 * ARG checks, TraceIdRatioBased deterministic on the trace id with the
 * SDKs' bound (and its rate over many random ids), parent-based decisions,
 * the OTEL_* environment, span text cut at a UTF-8 boundary, and the OTLP
 * encoding decoded back with protobuf-c, the thread's current span
 * (otel_current.c: children, nesting, capture). The wire path (exporter, real
 * POSTs) is tests/integration/test_gateway_otel.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idgen.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "otel_config.h"
#include "otel_current.h"
#include "otel_encode.h"
#include "otel_sampler.h"
#include "otel_span.h"
#include "otel_traceparent.h"
#include "otel_tracer.h"

/* ------------------------------------------------------------------ */
/* traceparent                                                        */
/* ------------------------------------------------------------------ */

static void test_traceparent(void **state) {
  (void)state;
  const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  struct otel_span_context c;
  assert_int_equal(otel_traceparent_parse(tp, &c), 0);
  assert_int_equal(c.trace_id[0], 0x0a);
  assert_int_equal(c.trace_id[15], 0x9c);
  assert_int_equal(c.span_id[0], 0xb7);
  assert_int_equal(c.span_id[7], 0x31);
  assert_int_equal(c.flags, OTEL_FLAG_SAMPLED);
  char out[OTEL_TRACEPARENT_LEN + 1];
  otel_traceparent_format(&c, out);
  assert_string_equal(out, tp);
  assert_int_equal(
      otel_traceparent_parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", &c), 0);
  assert_int_equal(c.flags, 0);
  assert_int_equal(
      otel_traceparent_parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03", &c), 0);
  assert_int_equal(c.flags, 3); /* other bits kept; sampled set */

  const char *bad[] = {
      NULL,
      "",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",     /* no flags */
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-", /* trailing */
      "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  /* version */
      "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  /* invalid version */
      "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",  /* uppercase */
      "00-00000000000000000000000000000000-b7ad6b7169203331-01",  /* zero trace id */
      "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  /* zero span id */
      "00-0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331-01",  /* separator */
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0g",  /* flags hex */
      "00-0af7651916cd43dd8448eb211c80319-cb7ad6b7169203331-01",  /* dash moved */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memset(&c, 0x5a, sizeof c);
    assert_int_equal(otel_traceparent_parse(bad[i], &c), -1);
    assert_int_equal(c.flags, 0x5a); /* unchanged */
  }
}

/* ------------------------------------------------------------------ */
/* Sampler                                                            */
/* ------------------------------------------------------------------ */

static void test_sampler_parse(void **state) {
  (void)state;
  struct otel_sampler s;
  char err[256];
  assert_int_equal(otel_sampler_parse(NULL, NULL, &s, err, sizeof err), 0);
  assert_string_equal(otel_sampler_name(&s), "parentbased_traceidratio");
  assert_true(s.ratio == 0.1);
  assert_int_equal(otel_sampler_parse("", "", &s, err, sizeof err), 0); /* empty = unset */
  assert_string_equal(otel_sampler_name(&s), "parentbased_traceidratio");
  const char *names[] = {"always_on",
                         "always_off",
                         "traceidratio",
                         "parentbased_always_on",
                         "parentbased_always_off",
                         "parentbased_traceidratio"};
  for (size_t i = 0; i < 6; i++) {
    assert_int_equal(otel_sampler_parse(names[i], NULL, &s, err, sizeof err), 0);
    assert_string_equal(otel_sampler_name(&s), names[i]);
  }
  assert_int_equal(otel_sampler_parse("ALWAYS_ON", NULL, &s, err, sizeof err), 0);
  assert_string_equal(otel_sampler_name(&s), "always_on");
  assert_int_equal(otel_sampler_parse("traceidratio", "0.25", &s, err, sizeof err), 0);
  assert_true(s.ratio == 0.25);
  assert_int_equal(otel_sampler_parse("always_on", "garbage", &s, err, sizeof err),
                   0); /* ignored */

  assert_int_equal(otel_sampler_parse("sometimes", NULL, &s, err, sizeof err), -1);
  assert_non_null(strstr(err, "OTEL_TRACES_SAMPLER:"));
  assert_non_null(strstr(err, "sometimes"));
  const char *bad_args[] = {"1.5", "-0.1", "abc", "nan", "0.1x", "inf"};
  for (size_t i = 0; i < 6; i++) {
    assert_int_equal(
        otel_sampler_parse("parentbased_traceidratio", bad_args[i], &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "OTEL_TRACES_SAMPLER_ARG"));
  }
}

static void id_with_tail_(uint8_t id[16], uint64_t tail) {
  memset(id, 0xab, 8);
  for (int i = 0; i < 8; i++)
    id[8 + i] = (uint8_t)(tail >> (56 - 8 * i));
}

static void test_sampler_ratio(void **state) {
  (void)state;
  struct otel_sampler s;
  char err[256];
  uint8_t id[16];
  /* 0.5: the bound is 2^62 on the tail >> 1, i.e. tails below 2^63 */
  assert_int_equal(otel_sampler_parse("traceidratio", "0.5", &s, err, sizeof err), 0);
  id_with_tail_(id, UINT64_C(0x7fffffffffffffff));
  assert_true(otel_sampler_ratio_hit(&s, id));
  id_with_tail_(id, UINT64_C(0x8000000000000000));
  assert_false(otel_sampler_ratio_hit(&s, id));
  id_with_tail_(id, 0);
  assert_true(otel_sampler_ratio_hit(&s, id));
  /* only the last 8 bytes count */
  memset(id, 0, 8);
  id_with_tail_(id, UINT64_C(0x8000000000000000));
  id[0] = 0;
  assert_false(otel_sampler_ratio_hit(&s, id));
  /* 0 and 1 */
  assert_int_equal(otel_sampler_parse("traceidratio", "0", &s, err, sizeof err), 0);
  id_with_tail_(id, 0);
  assert_false(otel_sampler_ratio_hit(&s, id));
  assert_int_equal(otel_sampler_parse("traceidratio", "1", &s, err, sizeof err), 0);
  id_with_tail_(id, UINT64_MAX);
  assert_true(otel_sampler_ratio_hit(&s, id));
  /* 0.1 over many random ids: close to 10 % (sd 0.1 % at 100000) */
  assert_int_equal(otel_sampler_parse(NULL, NULL, &s, err, sizeof err), 0);
  struct idgen g;
  idgen_init(&g);
  struct idstream st = idgen_stream(&g);
  int hits = 0;
  for (int i = 0; i < 100000; i++) {
    idstream_bytes(&st, id, 16);
    int d = otel_sampler_decide(&s, id, 0, 0);
    assert_int_equal(d, otel_sampler_decide(&s, id, 0, 0)); /* deterministic */
    hits += d;
  }
  assert_in_range(hits, 9000, 11000);
}

static void test_sampler_parent(void **state) {
  (void)state;
  struct otel_sampler s;
  char err[256];
  uint8_t id[16];
  id_with_tail_(id, UINT64_MAX); /* never in a ratio < 1 */
  assert_int_equal(otel_sampler_parse("parentbased_traceidratio", "0.1", &s, err, sizeof err), 0);
  assert_int_equal(otel_sampler_decide(&s, id, 1, 1), 1);
  assert_int_equal(otel_sampler_decide(&s, id, 1, 0), 0);
  assert_int_equal(otel_sampler_decide(&s, id, 0, 0), 0);
  id_with_tail_(id, 0);
  assert_int_equal(otel_sampler_decide(&s, id, 1, 0), 0); /* in ratio, but the parent says no */
  assert_int_equal(otel_sampler_decide(&s, id, 0, 0), 1);
  assert_int_equal(otel_sampler_parse("parentbased_always_off", NULL, &s, err, sizeof err), 0);
  assert_int_equal(otel_sampler_decide(&s, id, 1, 1), 1);
  assert_int_equal(otel_sampler_decide(&s, id, 0, 0), 0);
  assert_int_equal(otel_sampler_parse("always_on", NULL, &s, err, sizeof err), 0);
  assert_int_equal(otel_sampler_decide(&s, id, 1, 0), 1); /* no parent consulted */
  assert_int_equal(otel_sampler_parse("always_off", NULL, &s, err, sizeof err), 0);
  assert_int_equal(otel_sampler_decide(&s, id, 1, 1), 0);
}

/* ------------------------------------------------------------------ */
/* Environment                                                        */
/* ------------------------------------------------------------------ */

static const char *const vars_[] = {"OTEL_EXPORTER_OTLP_ENDPOINT",
                                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                                    "OTEL_SERVICE_NAME",
                                    "OTEL_TRACES_SAMPLER",
                                    "OTEL_TRACES_SAMPLER_ARG",
                                    "OTEL_EXPORTER_OTLP_TIMEOUT",
                                    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
                                    "OTEL_BSP_MAX_QUEUE_SIZE",
                                    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                                    "OTEL_BSP_SCHEDULE_DELAY",
                                    "OTEL_SDK_DISABLED"};

static int clear_env_(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof vars_ / sizeof vars_[0]; i++)
    unsetenv(vars_[i]);
  return 0;
}

static void test_config(void **state) {
  (void)state;
  struct otel_config c;
  char err[256];
  assert_int_equal(otel_config_from_env(&c, "tvmaze-gateway", "1.0", err, sizeof err), 0);
  assert_string_equal(c.endpoint, "");
  assert_string_equal(c.service_name, "tvmaze-gateway");
  assert_string_equal(c.service_version, "1.0");
  assert_string_equal(otel_sampler_name(&c.sampler), "parentbased_traceidratio");
  assert_int_equal(c.max_queue, 2048);
  assert_int_equal(c.max_batch, 512);
  assert_int_equal(c.schedule_delay_ms, 5000);
  assert_int_equal(c.timeout_ms, 2000);

  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/", 1);
  setenv("OTEL_SERVICE_NAME", "edge", 1);
  setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "700", 1);
  assert_int_equal(otel_config_from_env(&c, "tvmaze-gateway", "1.0", err, sizeof err), 0);
  assert_string_equal(c.endpoint, "http://collector:4318/v1/traces");
  assert_string_equal(c.service_name, "edge");
  assert_int_equal(c.timeout_ms, 700);
  setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://x.example/custom/path", 1);
  setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "900", 1);
  assert_int_equal(otel_config_from_env(&c, "tvmaze-gateway", "1.0", err, sizeof err), 0);
  assert_string_equal(c.endpoint, "https://x.example/custom/path"); /* as is, and it wins */
  assert_int_equal(c.timeout_ms, 900);
  setenv("OTEL_SDK_DISABLED", "true", 1);
  assert_int_equal(otel_config_from_env(&c, "tvmaze-gateway", "1.0", err, sizeof err), 0);
  assert_string_equal(c.endpoint, "");
  setenv("OTEL_SDK_DISABLED", "", 1); /* empty = unset */
  setenv("OTEL_BSP_MAX_QUEUE_SIZE", "10", 1);
  assert_int_equal(otel_config_from_env(&c, "tvmaze-gateway", "1.0", err, sizeof err), 0);
  assert_int_equal(c.max_batch, 10); /* at most the queue */

  struct {
    const char *var, *value;
  } bad[] = {{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"},
             {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://x"},
             {"OTEL_TRACES_SAMPLER", "sometimes"},
             {"OTEL_TRACES_SAMPLER_ARG", "2"},
             {"OTEL_BSP_SCHEDULE_DELAY", "soon"},
             {"OTEL_EXPORTER_OTLP_TIMEOUT", "0"},
             {"OTEL_SDK_DISABLED", "yes"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    clear_env_(NULL);
    setenv(bad[i].var, bad[i].value, 1);
    assert_int_equal(otel_config_from_env(&c, "tvmaze-gateway", "1.0", err, sizeof err), -1);
    assert_non_null(strstr(err, bad[i].var));
  }
}

/* ------------------------------------------------------------------ */
/* Spans and their encoding                                           */
/* ------------------------------------------------------------------ */

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest Req;

static const Opentelemetry__Proto__Common__V1__AnyValue *attr_(
    Opentelemetry__Proto__Common__V1__KeyValue **kv, size_t n, const char *key) {
  static const Opentelemetry__Proto__Common__V1__AnyValue none =
      OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
  for (size_t i = 0; i < n; i++)
    if (strcmp(kv[i]->key, key) == 0 && kv[i]->value != NULL)
      return kv[i]->value;
  fail_msg("no attribute %s", key);
  return &none;
}

static void test_encode(void **state) {
  (void)state;
  struct otel_span_context parent;
  assert_int_equal(
      otel_traceparent_parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", &parent),
      0);
  struct otel_span *a = otel_span_new("HTTP");
  a->ctx = parent;
  a->ctx.span_id[7] ^= 1;
  memcpy(a->parent_span_id, parent.span_id, 8);
  a->has_parent = 1;
  a->kind = OTEL_SPAN_SERVER;
  a->start_ns = 1700000000000000000ull;
  a->end_ns = 1700000000250000000ull;
  otel_span_set_name(a, "GET /api/v1/tv_shows/{id}");
  otel_span_attr_str(a, "http.request.method", "GET");
  otel_span_attr_int(a, "http.response.status_code", 503);
  otel_span_set_status(a, OTEL_STATUS_ERROR, "upstream down");
  struct otel_span *b = otel_span_new("tvmaze.v1.Shows/GetShow");
  b->ctx = a->ctx;
  b->ctx.span_id[0] ^= 1;
  b->kind = OTEL_SPAN_CLIENT; /* no parent: a root */
  b->start_ns = 5;
  b->end_ns = 6;
  struct otel_span *spans[2] = {a, b};
  struct otel_resource res = {"tvmaze-gateway", "0.1.0"};
  uint8_t *buf = NULL;
  size_t len = 0;
  assert_int_equal(otel_encode_export(&res, spans, 2, &buf, &len), 0);
  Req *r = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
      NULL, len, buf);
  assert_non_null(r);
  assert_int_equal(r->n_resource_spans, 1);
  Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = r->resource_spans[0];
  const Opentelemetry__Proto__Common__V1__AnyValue *v =
      attr_(rs->resource->attributes, rs->resource->n_attributes, "service.name");
  assert_string_equal(v->string_value, "tvmaze-gateway");
  v = attr_(rs->resource->attributes, rs->resource->n_attributes, "service.version");
  assert_string_equal(v->string_value, "0.1.0");
  assert_int_equal(rs->n_scope_spans, 1);
  assert_string_equal(rs->scope_spans[0]->scope->name, "tvmaze-ingest");
  assert_int_equal(rs->scope_spans[0]->n_spans, 2);
  Opentelemetry__Proto__Trace__V1__Span *s = rs->scope_spans[0]->spans[0];
  assert_int_equal(s->trace_id.len, 16);
  assert_memory_equal(s->trace_id.data, parent.trace_id, 16);
  assert_int_equal(s->span_id.len, 8);
  assert_memory_equal(s->span_id.data, a->ctx.span_id, 8);
  assert_int_equal(s->parent_span_id.len, 8);
  assert_memory_equal(s->parent_span_id.data, parent.span_id, 8);
  assert_int_equal(s->flags, 1);
  assert_string_equal(s->name, "GET /api/v1/tv_shows/{id}");
  assert_int_equal(s->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER);
  assert_true(s->start_time_unix_nano == 1700000000000000000ull);
  assert_true(s->end_time_unix_nano == 1700000000250000000ull);
  v = attr_(s->attributes, s->n_attributes, "http.request.method");
  assert_string_equal(v->string_value, "GET");
  v = attr_(s->attributes, s->n_attributes, "http.response.status_code");
  assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
  assert_int_equal(v->int_value, 503);
  assert_non_null(s->status);
  if (s->status == NULL)
    return;
  assert_int_equal(s->status->code,
                   OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR);
  assert_string_equal(s->status->message, "upstream down");
  s = rs->scope_spans[0]->spans[1];
  assert_int_equal(s->parent_span_id.len, 0); /* a root: empty */
  assert_int_equal(s->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT);
  assert_null(s->status);
  opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(r, NULL);
  free(buf);
  otel_span_free(a);
  otel_span_free(b);
}

/* A value longer than the span's text is cut before a whole character;
 * malformed UTF-8 is replaced; attributes past the limit are counted as
 * dropped. */
static void test_span_limits(void **state) {
  (void)state;
  struct otel_span *s = otel_span_new("x");
  char big[2 * OTEL_SPAN_TEXT + 1];
  for (size_t i = 0; i < OTEL_SPAN_TEXT; i++) {
    big[2 * i] = (char)0xc3; /* é */
    big[2 * i + 1] = (char)0xa9;
  }
  big[2 * OTEL_SPAN_TEXT] = '\0';
  otel_span_attr_str(s, "url.path", big + 0); /* starts on a character */
  size_t n = 0;
  const char *v = otel_span_attr_get(s, "url.path", &n);
  assert_non_null(v);
  assert_true(n > 0 && n <= OTEL_SPAN_TEXT - 1);
  assert_int_equal(n % 2, 0); /* whole characters only */
  otel_span_free(s);
  /* malformed bytes (a raw 0xff in a path, a lone continuation byte, a
   * truncated sequence) become '?': every string stays valid UTF-8 */
  s = otel_span_new("x");
  otel_span_attr_str(s, "url.path",
                     "/a\xff\x80"
                     "b\xc3\xa9\xe2\x82");
  v = otel_span_attr_get(s, "url.path", &n);
  assert_non_null(v);
  assert_int_equal(n, 9);
  assert_memory_equal(v,
                      "/a??"
                      "b\xc3\xa9??",
                      9);
  otel_span_free(s);
  /* more text than fits: the values past the room are empty, and every
   * string still encodes as a C string (each NUL-ended in the span) */
  s = otel_span_new("full");
  char hundred[101];
  memset(hundred, 'x', 100);
  hundred[100] = '\0';
  for (int i = 0; i < 8; i++)
    otel_span_attr_str(s, "v", hundred);
  struct otel_resource res = {"svc", NULL};
  uint8_t *buf = NULL;
  size_t len = 0;
  struct otel_span *one[1] = {s};
  otel_encode_export(&res, one, 1, &buf, &len);
  Req *r = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
      NULL, len, buf);
  assert_non_null(r);
  if (r == NULL)
    return;
  Opentelemetry__Proto__Trace__V1__Span *m = r->resource_spans[0]->scope_spans[0]->spans[0];
  assert_string_equal(m->name, "full");
  assert_int_equal(m->n_attributes, 8);
  size_t total = 0;
  for (size_t i = 0; i < m->n_attributes; i++) {
    size_t l = strlen(m->attributes[i]->value->string_value);
    assert_true(l == 100 || i >= 4); /* 5 x 101 bytes + the name's 5 fill 510 of 512 */
    total += l;
  }
  assert_true(total < OTEL_SPAN_TEXT);
  opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(r, NULL);
  free(buf);
  otel_span_free(s);
  s = otel_span_new("x");
  otel_span_attr_str(s, "url.path", "/");
  for (int i = 0; i < OTEL_SPAN_MAX_ATTRS + 3; i++)
    otel_span_attr_int(s, "k", i);
  assert_int_equal(s->nattrs, OTEL_SPAN_MAX_ATTRS);
  assert_int_equal(s->dropped_attrs, 4); /* 1 + 15 - 12 */
  otel_span_free(s);
}

/* Without an endpoint nothing is recorded, but contexts are propagated as
 * decided; a local parent's decision is inherited. */
static void test_tracer(void **state) {
  (void)state;
  struct otel_config c;
  memset(&c, 0, sizeof c);
  char err[256];
  assert_int_equal(otel_sampler_parse("always_on", NULL, &c.sampler, err, sizeof err), 0);
  struct otel_tracer *t = otel_tracer_create(&c, err, sizeof err);
  assert_non_null(t);
  assert_false(otel_tracer_exporting(t));
  struct otel_span_context root, child;
  assert_null(otel_tracer_start(t, NULL, 0, "root", OTEL_SPAN_SERVER, 0, &root));
  assert_int_equal(root.flags, OTEL_FLAG_SAMPLED);
  assert_false(otel_id_is_zero(root.trace_id, 16));
  assert_null(otel_tracer_start(t, &root, 0, "child", OTEL_SPAN_CLIENT, 0, &child));
  assert_memory_equal(child.trace_id, root.trace_id, 16);
  assert_memory_not_equal(child.span_id, root.span_id, 8);
  assert_int_equal(child.flags, OTEL_FLAG_SAMPLED);
  root.flags = 0; /* a local parent that was not sampled: neither is the child */
  otel_tracer_start(t, &root, 0, "child", OTEL_SPAN_CLIENT, 0, &child);
  assert_int_equal(child.flags, 0);
  otel_tracer_background(t, &child);
  assert_int_equal(child.flags, 0);
  otel_tracer_end(t, NULL); /* no-op */
  otel_tracer_destroy(t);
}

/* The thread's current span: none -> no child; a pushed span's children
 * hang under it; push/pop nest; capture copies it. An exporting tracer
 * (to a closed port, a schedule delay longer than the test: nothing is
 * sent before destroy). */
static void test_current(void **state) {
  (void)state;
  struct otel_config c;
  memset(&c, 0, sizeof c);
  char err[256];
  assert_int_equal(otel_sampler_parse("always_on", NULL, &c.sampler, err, sizeof err), 0);
  snprintf(c.endpoint, sizeof c.endpoint, "http://127.0.0.1:9/v1/traces");
  c.timeout_ms = 200;
  c.max_queue = 16;
  c.max_batch = 16;
  c.schedule_delay_ms = 600000;
  struct otel_tracer *t = otel_tracer_create(&c, err, sizeof err);
  assert_non_null(t);
  assert_true(otel_tracer_exporting(t));

  assert_false(otel_current_active());
  assert_null(otel_current_start("orphan", OTEL_SPAN_CLIENT));
  otel_current_end(NULL);

  struct otel_span_context root_ctx, got;
  struct otel_span *root = otel_tracer_start(t, NULL, 0, "root", OTEL_SPAN_SERVER, 0, &root_ctx);
  assert_non_null(root);
  struct otel_current_saved outer, inner, cap;
  otel_current_push(t, &root_ctx, &outer);
  assert_true(otel_current_active());
  assert_int_equal(otel_current_get(&got), 1);
  assert_memory_equal(got.span_id, root_ctx.span_id, 8);

  struct otel_span *child = otel_current_start("child", OTEL_SPAN_CLIENT);
  assert_non_null(child);
  assert_memory_equal(child->ctx.trace_id, root_ctx.trace_id, 16);
  assert_true(child->has_parent);
  assert_memory_equal(child->parent_span_id, root_ctx.span_id, 8);

  otel_current_push(t, &child->ctx, &inner); /* nesting */
  struct otel_span *grand = otel_current_start("grand", OTEL_SPAN_CLIENT);
  assert_memory_equal(grand->parent_span_id, child->ctx.span_id, 8);
  otel_current_end(grand);
  otel_current_capture(&cap);
  assert_ptr_equal(cap.tracer, t);
  assert_memory_equal(cap.ctx.span_id, child->ctx.span_id, 8);
  otel_current_pop(&inner);
  assert_int_equal(otel_current_get(&got), 1);
  assert_memory_equal(got.span_id, root_ctx.span_id, 8);
  otel_current_end(child);

  otel_current_pop(&outer);
  assert_false(otel_current_active());
  assert_int_equal(otel_current_get(&got), 0);
  otel_current_capture(&cap);
  assert_null(cap.tracer);
  otel_tracer_end(t, root);
  otel_tracer_destroy(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_traceparent),
      cmocka_unit_test(test_sampler_parse),
      cmocka_unit_test(test_sampler_ratio),
      cmocka_unit_test(test_sampler_parent),
      cmocka_unit_test_setup_teardown(test_config, clear_env_, clear_env_),
      cmocka_unit_test(test_encode),
      cmocka_unit_test(test_span_limits),
      cmocka_unit_test(test_tracer),
      cmocka_unit_test(test_current),
  };
  return cmocka_run_group_tests_name("otel", tests, NULL, NULL);
}
