/*
 * libFuzzer target for the gateway's request mapping: the input is split at
 * the first two NUL bytes into a path, a query string and a JSON body; the
 * path is matched against the route table and every field is mapped onto
 * the route's request message through pbjson, then the message is written
 * back as JSON and freed. Finds crashes, leaks and UB, not wrong answers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "pbjson.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = malloc(size + 3);
  memcpy(buf, data, size);
  buf[size] = buf[size + 1] = buf[size + 2] = '\0';
  char *path = buf;
  char *query = path + strlen(path) + 1;
  if (query > buf + size)
    query = buf + size + 1;
  char *body = query + strlen(query) + 1;
  if (body > buf + size + 2)
    body = buf + size + 2;
  const struct gw_route *route = NULL;
  struct gw_path_param params[GW_MAX_PATH_PARAMS];
  size_t np = 0;
  char allow[64];
  const char *method = body[0] ? "POST" : "GET";
  if (gw_route_match(method, path, &route, params, &np, allow, sizeof allow) == GW_MATCH_OK &&
      route->kind == GW_ROUTE_RPC) {
    const ProtobufCMethodDescriptor *m =
        protobuf_c_service_descriptor_get_method_by_name(route->service, route->rpc);
    ProtobufCMessage *req = pbjson_message_new(m->input);
    struct pbjson_error err;
    for (size_t i = 0; i < np; i++)
      pbjson_set_field(req, params[i].name, params[i].value, &err);
    for (char *kv = query; kv && *kv;) {
      char *amp = strchr(kv, '&');
      if (amp)
        *amp = '\0';
      char *eq = strchr(kv, '=');
      if (eq)
        *eq = '\0';
      pbjson_set_field(req, kv, eq ? eq + 1 : "", &err);
      kv = amp ? amp + 1 : NULL;
    }
    pbjson_parse(req, body, strlen(body), &err);
    struct strbuf out;
    strbuf_init(&out);
    pbjson_write(&out, req);
    strbuf_release(&out);
    protobuf_c_message_free_unpacked(req, NULL);
  }
  free(buf);
  return 0;
}
