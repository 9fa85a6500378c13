/*
 * otel_encode: spans as the body of an OTLP/HTTP export, a serialized
 * opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest
 * (proto/opentelemetry/...): one ResourceSpans whose resource carries
 * service.name, service.version and telemetry.sdk.{name,language}, one
 * ScopeSpans (scope "tvmaze-ingest"), then each span with its ids, parent,
 * flags, kind, times, attributes and status. No state; thread-safe.
 * Tests: tests/unit/test_otel.c (encoding, decoded back with protobuf-c).
 */
#ifndef TVMAZE_OTEL_ENCODE_H
#define TVMAZE_OTEL_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "otel_span.h"

/* The resource of every span a process exports. Strings borrowed. */
struct otel_resource {
  const char *service_name;
  const char *service_version; /* "" or NULL: left out */
};

/* Serializes the array of n spans into a new buffer: *out (free() it) and *len. Returns 0; the
 * only failure is allocation, which aborts. */
int otel_encode_export(const struct otel_resource *res, struct otel_span *const *spans, size_t n,
                       uint8_t **out, size_t *len);

#endif
