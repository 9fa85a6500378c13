/*
 * rpc_details: the standard google.rpc details of a failed status (see
 * rpc.h, struct rpc_details): derived from the status the server sets,
 * packed into the google.rpc.Status of the grpc-status-details-bin trailer,
 * and decoded from that trailer on the client. The messages are googleapis'
 * (proto/google/rpc/), compiled by protoc-c. Thread-safe: works only on its
 * arguments.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "rpc.h"
#include "rpc_internal.h"
#include "xalloc.h"

#define TYPE_URL_PREFIX "type.googleapis.com/"

/* The detail types this binding sends and decodes. */
static const ProtobufCMessageDescriptor *const types_[] = {&google__rpc__bad_request__descriptor,
                                                           &google__rpc__retry_info__descriptor};

/* ------------------------------------------------------------------ */
/* From a status                                                      */
/* ------------------------------------------------------------------ */

/* Length of the field path at s ("per_page", "filter.name", "ids[2]")
 * when ": " follows it, else 0. */
static size_t field_len_(const char *s) {
  size_t i = 0;
  if (!(isalpha((unsigned char)s[0]) || s[0] == '_')) {
    return 0;
  }
  while (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '[' || s[i] == ']') {
    i++;
  }
  return s[i] == ':' && s[i + 1] == ' ' ? i : 0;
}

static void add_violation_(Google__Rpc__BadRequest *br, const char *field, size_t flen,
                           const char *desc, size_t dlen) {
  Google__Rpc__BadRequest__FieldViolation *v = xmalloc(sizeof *v);
  google__rpc__bad_request__field_violation__init(v);
  v->field = xstrndup(field, flen);
  v->description = xstrndup(desc, dlen);
  br->field_violations =
      xrealloc(br->field_violations, (br->n_field_violations + 1) * sizeof *br->field_violations);
  br->field_violations[br->n_field_violations++] = v;
}

/* The BadRequest of message "<field>: <description>[; <field>: ...]" (a
 * "; " not followed by "<field>: " stays inside the description); NULL when
 * the message does not start with a field. */
static ProtobufCMessage *bad_request_(const char *message) {
  if (message == NULL || field_len_(message) == 0) {
    return NULL;
  }
  Google__Rpc__BadRequest *br = xmalloc(sizeof *br);
  google__rpc__bad_request__init(br);
  const char *p = message;
  while (*p != '\0') {
    size_t flen = field_len_(p);
    const char *desc = p + flen + 2;
    const char *end = desc;
    for (;;) {
      end = strstr(end, "; ");
      if (end == NULL || field_len_(end + 2) > 0) {
        break;
      }
      end += 2;
    }
    size_t dlen = end != NULL ? (size_t)(end - desc) : strlen(desc);
    add_violation_(br, p, flen, desc, dlen);
    p = end != NULL ? end + 2 : desc + dlen;
  }
  return &br->base;
}

static ProtobufCMessage *retry_info_(int64_t seconds) {
  Google__Rpc__RetryInfo *ri = xmalloc(sizeof *ri);
  google__rpc__retry_info__init(ri);
  ri->retry_delay = xmalloc(sizeof *ri->retry_delay);
  google__protobuf__duration__init(ri->retry_delay);
  ri->retry_delay->seconds = seconds;
  return &ri->base;
}

void rpc_details_from_status(rpc_code code, const char *message, int64_t retry_s,
                             struct rpc_details *out) {
  memset(out, 0, sizeof *out);
  if (code == RPC_OK) {
    return;
  }
  ProtobufCMessage *br = code == RPC_INVALID_ARGUMENT ? bad_request_(message) : NULL;
  if (br != NULL) {
    out->items[out->n++] = br;
  }
  if (retry_s > 0) {
    out->items[out->n++] = retry_info_(retry_s);
  }
}

void rpc_details_clear(struct rpc_details *d) {
  if (d == NULL) {
    return;
  }
  for (size_t i = 0; i < d->n; i++) {
    protobuf_c_message_free_unpacked(d->items[i], NULL);
  }
  memset(d, 0, sizeof *d);
}

const ProtobufCMessage *rpc_details_find(const struct rpc_details *d,
                                         const ProtobufCMessageDescriptor *type) {
  for (size_t i = 0; d != NULL && i < d->n; i++) {
    if (d->items[i]->descriptor == type) {
      return d->items[i];
    }
  }
  return NULL;
}

int64_t rpc_details_retry_seconds(const struct rpc_details *d) {
  const Google__Rpc__RetryInfo *ri =
      (const Google__Rpc__RetryInfo *)rpc_details_find(d, &google__rpc__retry_info__descriptor);
  return ri != NULL && ri->retry_delay != NULL ? ri->retry_delay->seconds : 0;
}

/* ------------------------------------------------------------------ */
/* The trailer                                                        */
/* ------------------------------------------------------------------ */

uint8_t *rpc_details_pack_(rpc_code code, const char *message, const struct rpc_details *d,
                           size_t *len) {
  Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
  Google__Protobuf__Any anys[RPC_MAX_DETAILS];
  Google__Protobuf__Any *ptrs[RPC_MAX_DETAILS];
  char *urls[RPC_MAX_DETAILS];
  st.code = (int32_t)code;
  st.message = (char *)(message != NULL ? message : "");
  for (size_t i = 0; i < d->n; i++) {
    google__protobuf__any__init(&anys[i]);
    urls[i] = xasprintf(TYPE_URL_PREFIX "%s", d->items[i]->descriptor->name);
    anys[i].type_url = urls[i];
    anys[i].value.len = protobuf_c_message_get_packed_size(d->items[i]);
    anys[i].value.data = xmalloc(anys[i].value.len ? anys[i].value.len : 1);
    protobuf_c_message_pack(d->items[i], anys[i].value.data);
    ptrs[i] = &anys[i];
  }
  st.n_details = d->n;
  st.details = ptrs;
  *len = protobuf_c_message_get_packed_size(&st.base);
  uint8_t *out = xmalloc(*len ? *len : 1);
  protobuf_c_message_pack(&st.base, out);
  for (size_t i = 0; i < d->n; i++) {
    free(urls[i]);
    free(anys[i].value.data);
  }
  return out;
}

/* The known type a type URL names, or NULL. */
static const ProtobufCMessageDescriptor *type_of_(const char *url) {
  const char *slash = url != NULL ? strrchr(url, '/') : NULL;
  const char *name = slash != NULL ? slash + 1 : url;
  for (size_t i = 0; name != NULL && i < sizeof types_ / sizeof types_[0]; i++) {
    if (strcmp(name, types_[i]->name) == 0) {
      return types_[i];
    }
  }
  return NULL;
}

int rpc_details_unpack_(const uint8_t *data, size_t len, struct rpc_details *out) {
  memset(out, 0, sizeof *out);
  Google__Rpc__Status *st = google__rpc__status__unpack(NULL, len, data);
  if (st == NULL) {
    return -1;
  }
  for (size_t i = 0; i < st->n_details && out->n < RPC_MAX_DETAILS; i++) {
    const ProtobufCMessageDescriptor *t = type_of_(st->details[i]->type_url);
    ProtobufCMessage *m = t != NULL ? protobuf_c_message_unpack(t, NULL, st->details[i]->value.len,
                                                                st->details[i]->value.data)
                                    : NULL;
    if (m != NULL) {
      out->items[out->n++] = m; /* unknown types and bad bytes are skipped */
    }
  }
  google__rpc__status__free_unpacked(st, NULL);
  return 0;
}
