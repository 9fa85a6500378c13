/*
 * otel_config: OTEL_* variables into struct otel_config. See
 * otel_config.h. Tests: tests/unit/test_otel.c (config),
 * tests/integration/test_gateway_otel.sh (exit 2 on bad values).
 */
#include "otel_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* getenv with "" as unset. */
static const char *env_(const char *name) {
  const char *v = getenv(name);
  return v != NULL && v[0] != '\0' ? v : NULL;
}

static int long_(const char *name, long def, long min, long max, long *out, char *err,
                 size_t errlen) {
  const char *v = env_(name);
  *out = def;
  if (v == NULL)
    return 0;
  char *end = NULL;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
    snprintf(err, errlen, "%s: expected an integer in %ld..%ld, got \"%.64s\"", name, min, max, v);
    return -1;
  }
  *out = n;
  return 0;
}

static int url_ok_(const char *u) {
  return (strncmp(u, "http://", 7) == 0 && u[7] != '\0') ||
         (strncmp(u, "https://", 8) == 0 && u[8] != '\0');
}

int otel_config_from_env(struct otel_config *c, const char *default_service, const char *version,
                         char *err, size_t errlen) {
  memset(c, 0, sizeof *c);
  const char *traces = env_("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  const char *base = env_("OTEL_EXPORTER_OTLP_ENDPOINT");
  const char *disabled = env_("OTEL_SDK_DISABLED");
  if (disabled != NULL && strcasecmp(disabled, "true") != 0 && strcasecmp(disabled, "false") != 0) {
    snprintf(err, errlen, "OTEL_SDK_DISABLED: expected true or false, got \"%.64s\"", disabled);
    return -1;
  }
  if (traces != NULL) {
    if (!url_ok_(traces) || strlen(traces) >= sizeof c->endpoint) {
      snprintf(err, errlen,
               "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: expected an http:// or https:// URL, got "
               "\"%.200s\"",
               traces);
      return -1;
    }
    snprintf(c->endpoint, sizeof c->endpoint, "%s", traces);
  } else if (base != NULL) {
    size_t n = strlen(base);
    if (!url_ok_(base) || n + sizeof "/v1/traces" > sizeof c->endpoint) {
      snprintf(err, errlen,
               "OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:// or https:// URL, got \"%.200s\"",
               base);
      return -1;
    }
    while (n > 0 && base[n - 1] == '/')
      n--;
    snprintf(c->endpoint, sizeof c->endpoint, "%.*s/v1/traces", (int)n, base);
  }
  if (disabled != NULL && strcasecmp(disabled, "true") == 0)
    c->endpoint[0] = '\0';
  const char *svc = env_("OTEL_SERVICE_NAME");
  snprintf(c->service_name, sizeof c->service_name, "%s", svc != NULL ? svc : default_service);
  snprintf(c->service_version, sizeof c->service_version, "%s", version != NULL ? version : "");
  if (otel_sampler_parse(env_("OTEL_TRACES_SAMPLER"), env_("OTEL_TRACES_SAMPLER_ARG"), &c->sampler,
                         err, errlen) != 0)
    return -1;
  long timeout_def = 2000;
  if (long_("OTEL_EXPORTER_OTLP_TIMEOUT", 2000, 1, 600000, &timeout_def, err, errlen) != 0 ||
      long_("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", timeout_def, 1, 600000, &c->timeout_ms, err,
            errlen) != 0 ||
      long_("OTEL_BSP_MAX_QUEUE_SIZE", 2048, 1, 1000000, &c->max_queue, err, errlen) != 0 ||
      long_("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, 1, 1000000, &c->max_batch, err, errlen) != 0 ||
      long_("OTEL_BSP_SCHEDULE_DELAY", 5000, 1, 3600000, &c->schedule_delay_ms, err, errlen) != 0)
    return -1;
  if (c->max_batch > c->max_queue)
    c->max_batch = c->max_queue; /* the spec: the batch is at most the queue */
  return 0;
}
