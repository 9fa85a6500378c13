/*
 * otel_config: the OpenTelemetry SDK environment variables the exporter
 * honours, read and checked once at start (a bad value is a message naming
 * the variable; the programs exit 2 on it, like their other settings):
 *
 *   | variable                            | meaning                       | default               |
 *   |-------------------------------------|-------------------------------|-----------------------|
 *   | OTEL_EXPORTER_OTLP_TRACES_ENDPOINT  | the URL spans are POSTed to,  | -                     |
 *   |                                     | as is                         |                       |
 *   | OTEL_EXPORTER_OTLP_ENDPOINT         | base URL; /v1/traces appended | - (no export)         |
 *   | OTEL_SERVICE_NAME                   | resource service.name         | the program's         |
 *   | OTEL_TRACES_SAMPLER(_ARG)           | otel_sampler.h                |
 * parentbased_traceidratio, 0.1 | | OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,  | ms per POST | 2000 | |
 * OTEL_EXPORTER_OTLP_TIMEOUT          |                               |                       | |
 * OTEL_BSP_MAX_QUEUE_SIZE             | spans waiting; more dropped   | 2048                  | |
 * OTEL_BSP_MAX_EXPORT_BATCH_SIZE      | spans per POST                | 512                   | |
 * OTEL_BSP_SCHEDULE_DELAY             | ms between POSTs              | 5000                  | |
 * OTEL_SDK_DISABLED                   | "true": no export at all      | false                 |
 *
 * An empty value is the same as unset (the spec's rule). Endpoints must be
 * http:// or https:// URLs. The OTLP headers, compression and certificate
 * variables are not supported (an ADOT or OpenTelemetry collector next to
 * the pod takes plain HTTP). No state.
 */
#ifndef TVMAZE_OTEL_CONFIG_H
#define TVMAZE_OTEL_CONFIG_H

#include <stddef.h>

#include "otel_sampler.h"

struct otel_config {
  char endpoint[1024];      /* the full traces URL; "" = no export */
  char service_name[256];   /* resource service.name */
  char service_version[32]; /* resource service.version */
  struct otel_sampler sampler;
  long timeout_ms;        /* per POST */
  long max_queue;         /* spans waiting for the exporter */
  long max_batch;         /* spans per POST */
  long schedule_delay_ms; /* the exporter's period */
};

/* Fills c from the environment (getenv; not thread-safe against setenv):
 * 0, or -1 with err naming the variable. default_service: service.name
 * without OTEL_SERVICE_NAME ("tvmaze-gateway", "tvmaze-server"); version:
 * service.version. */
int otel_config_from_env(struct otel_config *c, const char *default_service, const char *version,
                         char *err, size_t errlen);

#endif
