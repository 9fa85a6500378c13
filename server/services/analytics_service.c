/*
 * analytics_service: tvmaze.v1.Analytics. Handlers not yet implemented are NULL and
 * answer UNIMPLEMENTED through the binding.
 */
#include <stdlib.h>

#include "services.h"
#include "tvmaze/v1/analytics.pb-c.h"
#include "xalloc.h"

static void destroy_(Tvmaze__V1__Analytics_Service *svc) {
  free(svc);
}

ProtobufCService *analytics_service_create(struct server_ctx *ctx) {
  (void)ctx;
  Tvmaze__V1__Analytics_Service *svc = xcalloc(1, sizeof *svc);
  tvmaze__v1__analytics__init(svc, destroy_);
  return &svc->base;
}
