/*
 * auth_service: tvmaze.v1.Auth. Handlers not yet implemented are NULL and
 * answer UNIMPLEMENTED through the binding.
 */
#include <stdlib.h>

#include "services.h"
#include "tvmaze/v1/auth.pb-c.h"
#include "xalloc.h"

static void destroy_(Tvmaze__V1__Auth_Service *svc) {
  free(svc);
}

ProtobufCService *auth_service_create(struct server_ctx *ctx) {
  (void)ctx;
  Tvmaze__V1__Auth_Service *svc = xcalloc(1, sizeof *svc);
  tvmaze__v1__auth__init(svc, destroy_);
  return &svc->base;
}
