/*
 * procstat: the Prometheus client convention's process metrics of the
 * calling process, read from /proc at render time and appended as text
 * format 0.0.4 (promtext.h): process_cpu_seconds_total,
 * process_resident_memory_bytes, process_open_fds,
 * process_start_time_seconds, process_threads. A value /proc does not give
 * is left out (the start time falls back to the caller's). No state; Linux
 * only. Used by the server's and the gateway's /metrics.
 * Tests: tests/integration/test_server_metrics.sh, test_gateway_otel.sh.
 */
#ifndef TVMAZE_COMMON_PROCSTAT_H
#define TVMAZE_COMMON_PROCSTAT_H

#include "strbuf.h"

/* Appends the five families to b. fallback_start_epoch: Unix seconds to
 * report as the start when /proc/self/stat or /proc/stat cannot be read
 * (e.g. the time the caller's exporter was created). Thread-safe. */
void procstat_render(struct strbuf *b, double fallback_start_epoch);

#endif
