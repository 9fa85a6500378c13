/*
 * pbjson: the proto3 JSON mapping for protobuf-c messages, by walking their
 * descriptors (no generated code per message). Shared by the gateway (REST
 * <-> gRPC) and the CLI (--json). Assumes the messages were built by
 * protoc-c 1.4 for proto3 files.
 *
 * Writing (grpc-gateway with UseProtoNames, EmitUnpopulated off):
 *
 *   | proto type                         | JSON                                |
 *   |------------------------------------|-------------------------------------|
 *   | int32, sint32, sfixed32, uint32... | number                              |
 *   | int64, uint64, sint64, fixed64 ... | decimal string ("42")               |
 *   | float, double                      | number; "NaN", "Infinity", ...      |
 *   | bool                               | true / false                        |
 *   | string                             | string                              |
 *   | bytes                              | base64 string                       |
 *   | enum                               | value name ("RUN_STATUS_RUNNING")   |
 *   | google.protobuf.*Value (wrappers)  | the bare value; absent when NULL    |
 *   | google.protobuf.Timestamp          | RFC 3339 UTC ("2025-06-16T01:00:00Z")|
 *   | google.protobuf.Duration           | seconds with an "s" ("3s", "1.500000000s")|
 *   | message                            | object keyed by proto field name    |
 *   | repeated                           | array (omitted when empty)          |
 *
 * Scalars at their default (0, "", false, first enum value) are omitted.
 *
 * Reading accepts what protojson accepts for these types: proto or lowerCamel
 * names, numbers as JSON numbers or strings, enums by name or number, null as
 * "absent". Unknown fields are refused (PBJSON_UNKNOWN_FIELD).
 *
 * Memory: messages filled by pbjson_set_field / pbjson_parse own their strings,
 * sub-messages and arrays through malloc, so
 * protobuf_c_message_free_unpacked(msg, NULL) frees them. Create the message
 * with pbjson_message_new.
 *
 * Thread safety: every function works only on its arguments.
 * Tests: tests/unit/test_pbjson.c, tests/fuzz/fuzz_gateway_map.c.
 */
#ifndef TVMAZE_PBJSON_H
#define TVMAZE_PBJSON_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

struct strbuf;

enum pbjson_status {
  PBJSON_OK = 0,
  PBJSON_UNKNOWN_FIELD, /* no field of that name */
  PBJSON_BAD_VALUE,     /* the value does not fit the field's type */
  PBJSON_BAD_JSON,      /* not JSON, or not an object at the top */
  PBJSON_TOO_DEEP       /* nesting beyond PBJSON_MAX_DEPTH */
};

#define PBJSON_MAX_DEPTH 32

/* Error detail filled on failure: the field path ("rating", "run.days") and
 * a message naming it, fit for a client. */
struct pbjson_error {
  char field[128];
  char message[256];
};

/* A zeroed, initialized message of type desc (malloc'd; free with
 * protobuf_c_message_free_unpacked(msg, NULL)). Aborts on out of memory. */
ProtobufCMessage *pbjson_message_new(const ProtobufCMessageDescriptor *desc);

/* Appends msg as proto3 JSON to out (one line, no spaces). Never fails
 * (aborts on out of memory); msg is not modified. */
void pbjson_write(struct strbuf *out, const ProtobufCMessage *msg);

/* Appends msg as the proto3 JSON of a google.protobuf.Any holding it:
 * {"@type":"type.googleapis.com/<full name>", <its fields>} (the google.rpc
 * details of an error body). Never fails. */
void pbjson_write_any(struct strbuf *out, const ProtobufCMessage *msg);

/* Sets the field called `name` (proto name or lowerCamel) of msg from a text
 * value (a query or path parameter): numbers in decimal, bools as
 * true/false, enums by name or number, wrappers as their bare value,
 * Timestamps in RFC 3339. A repeated field gets the value appended. Returns
 * PBJSON_OK, or an error with `err` filled (msg then keeps its earlier
 * contents and stays freeable). */
enum pbjson_status pbjson_set_field(ProtobufCMessage *msg, const char *name, const char *value,
                                    struct pbjson_error *err);

/* Merges the JSON object in json[0..len) into msg. On failure msg may be
 * partly filled but stays freeable; err says what went wrong. */
enum pbjson_status pbjson_parse(ProtobufCMessage *msg, const char *json, size_t len,
                                struct pbjson_error *err);

/* "ok", "unknown field", ... */
const char *pbjson_status_name(enum pbjson_status st);

#endif
