/*
 * pbjson_write: protobuf-c message -> proto3 JSON (pbjson_write), by
 * walking descriptors, as the table in pbjson.h says: fields by proto
 * name, scalars at their default and empty repeated fields omitted,
 * 64-bit integers as strings, enums by name, wrappers as bare values,
 * Timestamps as RFC 3339 UTC. Never fails; reads only its arguments.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "date.h"
#include "pbjson_internal.h"
#include "strbuf.h"

/* ===================================================================== */
/* Writing                                                               */
/* ===================================================================== */

static void write_message_(struct strbuf *out, const ProtobufCMessage *msg);
static void write_fields_(struct strbuf *out, const ProtobufCMessage *msg, int first);

static void write_double_(struct strbuf *out, double v) {
  if (isnan(v)) {
    strbuf_append(out, "\"NaN\"");
  } else if (isinf(v)) {
    strbuf_append(out, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else {
    char buf[40];
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v)
      snprintf(buf, sizeof buf, "%.17g", v);
    strbuf_append(out, buf);
  }
}

static void write_float_(struct strbuf *out, float v) {
  if (isnan(v) || isinf(v)) {
    write_double_(out, (double)v);
  } else {
    char buf[40];
    snprintf(buf, sizeof buf, "%.6g", (double)v);
    if (strtof(buf, NULL) != v)
      snprintf(buf, sizeof buf, "%.9g", (double)v);
    strbuf_append(out, buf);
  }
}

static void write_bytes_(struct strbuf *out, const ProtobufCBinaryData *b) {
  strbuf_append_char(out, '"');
  base64_encode(out, b->data, b->len);
  strbuf_append_char(out, '"');
}

static void write_timestamp_(struct strbuf *out, const ProtobufCMessage *ts) {
  const ProtobufCMessageDescriptor *d = ts->descriptor;
  const ProtobufCFieldDescriptor *fs =
      protobuf_c_message_descriptor_get_field_by_name(d, "seconds");
  const ProtobufCFieldDescriptor *fn = protobuf_c_message_descriptor_get_field_by_name(d, "nanos");
  int64_t secs = fs ? *(const int64_t *)CMEMBER(ts, fs->offset) : 0;
  int32_t nanos = fn ? *(const int32_t *)CMEMBER(ts, fn->offset) : 0;
  /* RFC 3339 years 0001..9999 only */
  if (secs < -62135596800LL)
    secs = -62135596800LL;
  if (secs > 253402300799LL)
    secs = 253402300799LL;
  if (nanos < 0 || nanos > 999999999)
    nanos = 0;
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  int y;
  unsigned mo, dd;
  date_to_civil((int32_t)days, &y, &mo, &dd);
  strbuf_appendf(out, "\"%04d-%02u-%02uT%02d:%02d:%02d", y, mo, dd, (int)(rem / 3600),
                 (int)(rem / 60 % 60), (int)(rem % 60));
  if (nanos != 0) {
    if (nanos % 1000000 == 0)
      strbuf_appendf(out, ".%03d", (int)(nanos / 1000000));
    else if (nanos % 1000 == 0)
      strbuf_appendf(out, ".%06d", (int)(nanos / 1000));
    else
      strbuf_appendf(out, ".%09d", (int)nanos);
  }
  strbuf_append(out, "Z\"");
}

/* google.protobuf.Duration: "<seconds>[.<fraction>]s" (proto3 JSON). */
static void write_duration_(struct strbuf *out, const ProtobufCMessage *d) {
  const ProtobufCFieldDescriptor *fs =
      protobuf_c_message_descriptor_get_field_by_name(d->descriptor, "seconds");
  const ProtobufCFieldDescriptor *fn =
      protobuf_c_message_descriptor_get_field_by_name(d->descriptor, "nanos");
  int64_t secs = fs ? *(const int64_t *)CMEMBER(d, fs->offset) : 0;
  int32_t nanos = fn ? *(const int32_t *)CMEMBER(d, fn->offset) : 0;
  if (nanos <= -1000000000 || nanos >= 1000000000)
    nanos = 0;
  const char *sign = (secs < 0 || nanos < 0) ? "-" : "";
  strbuf_appendf(out, "\"%s%" PRId64, sign, secs < 0 ? -secs : secs);
  if (nanos != 0)
    strbuf_appendf(out, ".%09d", (int)(nanos < 0 ? -nanos : nanos));
  strbuf_append(out, "s\"");
}

static void write_value_(struct strbuf *out, const ProtobufCFieldDescriptor *f, const void *p) {
  switch (f->type) {
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32:
    strbuf_appendf(out, "%" PRId32, *(const int32_t *)p);
    break;
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32:
    strbuf_appendf(out, "%" PRIu32, *(const uint32_t *)p);
    break;
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64:
    strbuf_appendf(out, "\"%" PRId64 "\"", *(const int64_t *)p);
    break;
  case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_FIXED64:
    strbuf_appendf(out, "\"%" PRIu64 "\"", *(const uint64_t *)p);
    break;
  case PROTOBUF_C_TYPE_FLOAT:
    write_float_(out, *(const float *)p);
    break;
  case PROTOBUF_C_TYPE_DOUBLE:
    write_double_(out, *(const double *)p);
    break;
  case PROTOBUF_C_TYPE_BOOL:
    strbuf_append(out, *(const protobuf_c_boolean *)p ? "true" : "false");
    break;
  case PROTOBUF_C_TYPE_ENUM: {
    int v = *(const int *)p;
    const ProtobufCEnumValue *ev =
        protobuf_c_enum_descriptor_get_value((const ProtobufCEnumDescriptor *)f->descriptor, v);
    if (ev)
      strbuf_append_json_string(out, ev->name);
    else
      strbuf_appendf(out, "%d", v);
    break;
  }
  case PROTOBUF_C_TYPE_STRING: {
    const char *s = *(char *const *)p;
    strbuf_append_json_string(out, s ? s : "");
    break;
  }
  case PROTOBUF_C_TYPE_BYTES:
    write_bytes_(out, (const ProtobufCBinaryData *)p);
    break;
  case PROTOBUF_C_TYPE_MESSAGE: {
    const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
    if (!m)
      strbuf_append(out, "null");
    else
      write_message_(out, m);
    break;
  }
  }
}

/* Whether a singular field is present (proto3: not at its default). */
static int field_present_(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f) {
  const void *p = CMEMBER(msg, f->offset);
  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
    return *(const uint32_t *)CMEMBER(msg, f->quantifier_offset) == f->id;
  if (f->type == PROTOBUF_C_TYPE_MESSAGE)
    return *(ProtobufCMessage *const *)p != NULL;
  if (f->label == PROTOBUF_C_LABEL_REQUIRED)
    return 1;
  if (f->type == PROTOBUF_C_TYPE_STRING) {
    const char *s = *(char *const *)p;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
      return s != NULL;
    return s != NULL && s[0] != '\0';
  }
  if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
    return *(const protobuf_c_boolean *)CMEMBER(msg, f->quantifier_offset) != 0;
  if (f->type == PROTOBUF_C_TYPE_BYTES)
    return ((const ProtobufCBinaryData *)p)->len > 0;
  static const unsigned char zero[8];
  return memcmp(p, zero, pbjson_elem_size_(f->type)) != 0;
}

static void write_message_(struct strbuf *out, const ProtobufCMessage *msg) {
  const ProtobufCMessageDescriptor *d = msg->descriptor;
  if (pbjson_is_wrapper_(d)) {
    write_value_(out, &d->fields[0], CMEMBER(msg, d->fields[0].offset));
    return;
  }
  if (pbjson_is_timestamp_(d)) {
    write_timestamp_(out, msg);
    return;
  }
  if (strcmp(d->name, "google.protobuf.Duration") == 0) {
    write_duration_(out, msg);
    return;
  }
  strbuf_append_char(out, '{');
  write_fields_(out, msg, 1);
  strbuf_append_char(out, '}');
}

/* The fields of msg, each after a ',' unless first (the first written). */
static void write_fields_(struct strbuf *out, const ProtobufCMessage *msg, int first) {
  const ProtobufCMessageDescriptor *d = msg->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(const size_t *)CMEMBER(msg, f->quantifier_offset);
      if (n == 0)
        continue;
      const char *arr = *(char *const *)CMEMBER(msg, f->offset);
      if (!first)
        strbuf_append_char(out, ',');
      first = 0;
      strbuf_append_json_string(out, f->name);
      strbuf_append(out, ":[");
      size_t es = pbjson_elem_size_(f->type);
      for (size_t k = 0; k < n; k++) {
        if (k)
          strbuf_append_char(out, ',');
        write_value_(out, f, arr + k * es);
      }
      strbuf_append_char(out, ']');
    } else {
      if (!field_present_(msg, f))
        continue;
      if (!first)
        strbuf_append_char(out, ',');
      first = 0;
      strbuf_append_json_string(out, f->name);
      strbuf_append_char(out, ':');
      write_value_(out, f, CMEMBER(msg, f->offset));
    }
  }
}

void pbjson_write_any(struct strbuf *out, const ProtobufCMessage *msg) {
  strbuf_append(out, "{\"@type\":");
  char url[256];
  snprintf(url, sizeof url, "type.googleapis.com/%s", msg->descriptor->name);
  strbuf_append_json_string(out, url);
  write_fields_(out, msg, 0);
  strbuf_append_char(out, '}');
}

void pbjson_write(struct strbuf *out, const ProtobufCMessage *msg) {
  write_message_(out, msg);
}
