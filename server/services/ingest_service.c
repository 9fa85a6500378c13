/*
 * ingest_service: tvmaze.v1.Ingest. Handlers not yet implemented are NULL and
 * answer UNIMPLEMENTED through the binding.
 */
#include <stdlib.h>

#include "services.h"
#include "tvmaze/v1/ingest.pb-c.h"
#include "xalloc.h"

static void destroy_(Tvmaze__V1__Ingest_Service *svc) {
  free(svc);
}

ProtobufCService *ingest_service_create(struct server_ctx *ctx) {
  (void)ctx;
  Tvmaze__V1__Ingest_Service *svc = xcalloc(1, sizeof *svc);
  tvmaze__v1__ingest__init(svc, destroy_);
  return &svc->base;
}
