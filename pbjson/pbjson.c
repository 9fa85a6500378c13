/*
 * pbjson: what writing and reading share -- the well-known types the
 * mapping treats apart (wrappers, Timestamp), field element sizes, status
 * names, new messages. Writing is pbjson_write.c, reading pbjson_read.c;
 * the mapping table is in pbjson.h. Assumes proto3 messages from protoc-c
 * 1.4 (fields with LABEL_NONE, strings defaulting to
 * protobuf_c_empty_string); proto2 optional (has_) fields and oneofs are
 * handled too.
 */
#include "pbjson_internal.h"

#include <string.h>

#include "xalloc.h"

static const char *const wrapper_names_[] = {
    "google.protobuf.DoubleValue", "google.protobuf.FloatValue",  "google.protobuf.Int64Value",
    "google.protobuf.UInt64Value", "google.protobuf.Int32Value",  "google.protobuf.UInt32Value",
    "google.protobuf.BoolValue",   "google.protobuf.StringValue", "google.protobuf.BytesValue"};

int pbjson_is_wrapper_(const ProtobufCMessageDescriptor *d) {
  for (size_t i = 0; i < sizeof wrapper_names_ / sizeof wrapper_names_[0]; i++)
    if (strcmp(d->name, wrapper_names_[i]) == 0)
      return d->n_fields == 1;
  return 0;
}

int pbjson_is_timestamp_(const ProtobufCMessageDescriptor *d) {
  return strcmp(d->name, "google.protobuf.Timestamp") == 0;
}

const char *pbjson_status_name(enum pbjson_status st) {
  switch (st) {
  case PBJSON_OK:
    return "ok";
  case PBJSON_UNKNOWN_FIELD:
    return "unknown field";
  case PBJSON_BAD_VALUE:
    return "bad value";
  case PBJSON_BAD_JSON:
    return "bad JSON";
  case PBJSON_TOO_DEEP:
    return "too deep";
  }
  return "unknown";
}

ProtobufCMessage *pbjson_message_new(const ProtobufCMessageDescriptor *desc) {
  ProtobufCMessage *m = xcalloc(1, desc->sizeof_message);
  desc->message_init(m);
  return m;
}

size_t pbjson_elem_size_(ProtobufCType t) {
  switch (t) {
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32:
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32:
    return 4;
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64:
  case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_FIXED64:
    return 8;
  case PROTOBUF_C_TYPE_FLOAT:
    return sizeof(float);
  case PROTOBUF_C_TYPE_DOUBLE:
    return sizeof(double);
  case PROTOBUF_C_TYPE_BOOL:
    return sizeof(protobuf_c_boolean);
  case PROTOBUF_C_TYPE_ENUM:
    return sizeof(int);
  case PROTOBUF_C_TYPE_STRING:
    return sizeof(char *);
  case PROTOBUF_C_TYPE_BYTES:
    return sizeof(ProtobufCBinaryData);
  case PROTOBUF_C_TYPE_MESSAGE:
    return sizeof(ProtobufCMessage *);
  }
  return 0;
}
