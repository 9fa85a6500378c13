/*
 * shows_service: tvmaze.v1.Shows. Handlers not yet implemented are NULL and
 * answer UNIMPLEMENTED through the binding.
 */
#include <stdlib.h>

#include "services.h"
#include "tvmaze/v1/shows.pb-c.h"
#include "xalloc.h"

static void destroy_(Tvmaze__V1__Shows_Service *svc) {
  free(svc);
}

ProtobufCService *shows_service_create(struct server_ctx *ctx) {
  (void)ctx;
  Tvmaze__V1__Shows_Service *svc = xcalloc(1, sizeof *svc);
  tvmaze__v1__shows__init(svc, destroy_);
  return &svc->base;
}
