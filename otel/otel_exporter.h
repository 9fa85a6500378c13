/*
 * otel_exporter: the batch span processor and OTLP/HTTP exporter in one.
 * Ended spans go into a bounded queue (OTEL_BSP_MAX_QUEUE_SIZE); one
 * background thread takes up to OTEL_BSP_MAX_EXPORT_BATCH_SIZE of them
 * every OTEL_BSP_SCHEDULE_DELAY ms (at once when a batch is full), encodes
 * them (otel_encode.h) and POSTs them with libcurl to the traces endpoint
 * (Content-Type: application/x-protobuf), with a per-POST timeout. Nothing
 * is retried: a POST that fails or times out, or answers other than 2xx,
 * drops its spans; a full queue drops the new span. Every drop is counted
 * by reason, so a slow or absent collector costs a request one mutex and
 * never a wait. Stop flushes what is queued within one POST timeout, then
 * drops the rest.
 *
 * Threads: submit and stats from any thread (one mutex); start and stop
 * from one. Tests: tests/integration/test_gateway_otel.sh.
 */
#ifndef TVMAZE_OTEL_EXPORTER_H
#define TVMAZE_OTEL_EXPORTER_H

#include <stddef.h>

#include "otel_config.h"
#include "otel_span.h"

struct otel_exporter;

struct otel_exporter_stats {
  unsigned long long exported;       /* spans a collector accepted (2xx) */
  unsigned long long dropped_queue;  /* queue full when the span ended */
  unsigned long long dropped_export; /* the POST failed, timed out or was refused */
  unsigned long long dropped_stop;   /* still queued when the stop's flush ran out of time */
  unsigned long long queued;         /* waiting now */
};

/* Starts the thread for c->endpoint (must be set); c is copied. NULL with
 * err set when libcurl or the thread cannot start. */
struct otel_exporter *otel_exporter_start(const struct otel_config *c, char *err, size_t errlen);

/* Takes s (ended): queued, or dropped and freed when the queue is full.
 * Never blocks on the network. */
void otel_exporter_submit(struct otel_exporter *e, struct otel_span *s);

void otel_exporter_stats(struct otel_exporter *e, struct otel_exporter_stats *out);

/* Flushes (bounded by one POST timeout), stops the thread, frees e and
 * every span still queued (NULL: no-op). */
void otel_exporter_stop(struct otel_exporter *e);

#endif
