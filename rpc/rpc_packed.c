/*
 * rpc_packed: checks that bytes handed over as an already packed reply
 * (rpc_call_reply_packed) are an encoding of the method's output type, at
 * their top level, without unpacking them: one pass over the top-level
 * fields (a 24 KB ListShows reply has about 25), no allocation.
 *
 * Checked per field: the key is a varint of at most 10 bytes with a field
 * number 1..2^29-1 and a wire type protobuf-c reads (varint, 64-bit,
 * length-delimited, 32-bit; no groups); the value ends inside the bytes;
 * a field the descriptor knows has a wire type that fits its type (a
 * repeated scalar may also be packed, length-delimited). Not checked:
 * nested messages, UTF-8 of strings, unknown field numbers (kept, as
 * protobuf-c keeps them). So every encoding protobuf_c_message_pack
 * writes passes (tests/fuzz/fuzz_rpc_unpack.c holds that for whatever
 * unpacks), and truncated or shifted bytes -- what a damaged cache entry
 * looks like -- fail. protobuf-c's unpack is laxer: it reads bools in any
 * wire type and field numbers up to 2^32-1, which other languages'
 * parsers refuse; the check refuses them too.
 * rpc_packed_find_nul walks requests the same way, into nested messages,
 * for string values holding a NUL.
 * Thread-safe: reads only its arguments.
 */
#include <stdio.h>
#include <string.h>

#include "rpc.h"

/* Reads a varint at *p (< end) into *v; 0, or -1 past the end or over 10
 * bytes. */
static int varint_(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  uint64_t x = 0;
  for (int i = 0; i < 10; i++) {
    if (*p == end) {
      return -1;
    }
    uint8_t b = *(*p)++;
    x |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      *v = x;
      return 0;
    }
  }
  return -1;
}

/* Reads the value of a field of wire type `wire` at *p (< end): a varint is
 * consumed whole (*len = 0); otherwise *len is its byte count (8, 4, or the
 * length prefix, which is consumed), not yet checked against end. Returns 0,
 * -1 on a bad varint or length prefix, -2 on a wire type protobuf-c does not
 * read (groups). */
static int value_len_(unsigned wire, const uint8_t **p, const uint8_t *end, uint64_t *len) {
  *len = 0;
  switch (wire) {
  case PROTOBUF_C_WIRE_TYPE_VARINT: {
    uint64_t skipped = 0;
    return varint_(p, end, &skipped) != 0 ? -1 : 0;
  }
  case PROTOBUF_C_WIRE_TYPE_64BIT:
    *len = 8;
    return 0;
  case PROTOBUF_C_WIRE_TYPE_32BIT:
    *len = 4;
    return 0;
  case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
    return varint_(p, end, len) != 0 ? -1 : 0;
  default:
    return -2;
  }
}

/* The wire type a field of type t is written with (singular). */
static unsigned wire_of_(ProtobufCType t) {
  switch (t) {
  case PROTOBUF_C_TYPE_SFIXED64:
  case PROTOBUF_C_TYPE_FIXED64:
  case PROTOBUF_C_TYPE_DOUBLE:
    return PROTOBUF_C_WIRE_TYPE_64BIT;
  case PROTOBUF_C_TYPE_SFIXED32:
  case PROTOBUF_C_TYPE_FIXED32:
  case PROTOBUF_C_TYPE_FLOAT:
    return PROTOBUF_C_WIRE_TYPE_32BIT;
  case PROTOBUF_C_TYPE_STRING:
  case PROTOBUF_C_TYPE_BYTES:
  case PROTOBUF_C_TYPE_MESSAGE:
    return PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
  default:
    return PROTOBUF_C_WIRE_TYPE_VARINT;
  }
}

int rpc_packed_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                     char *err, size_t errlen) {
  const uint8_t *p = data;
  const uint8_t *end = data + len;
  while (p < end) {
    size_t at = (size_t)(p - data);
    uint64_t key = 0;
    if (varint_(&p, end, &key) != 0) {
      snprintf(err, errlen, "byte %zu: bad field key", at);
      return -1;
    }
    uint64_t id = key >> 3;
    unsigned wire = (unsigned)(key & 7);
    if (id == 0 || id > 0x1fffffff) {
      snprintf(err, errlen, "byte %zu: field number %llu out of range", at, (unsigned long long)id);
      return -1;
    }
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(desc, (unsigned)id);
    if (f != NULL) {
      unsigned want = wire_of_(f->type);
      int packed = f->label == PROTOBUF_C_LABEL_REPEATED &&
                   want != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED &&
                   wire == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
      if (wire != want && !packed) {
        snprintf(err, errlen, "byte %zu: field %s has wire type %u, not %u", at, f->name, wire,
                 want);
        return -1;
      }
    }
    uint64_t v = 0;
    size_t left = 0;
    int rc = value_len_(wire, &p, end, &v);
    if (rc == -1) {
      snprintf(err, errlen, "byte %zu: field %llu: bad %s", at, (unsigned long long)id,
               wire == PROTOBUF_C_WIRE_TYPE_VARINT ? "varint" : "length");
      return -1;
    }
    if (rc == -2) {
      snprintf(err, errlen, "byte %zu: field %llu: unsupported wire type %u", at,
               (unsigned long long)id, wire);
      return -1;
    }
    if (wire == PROTOBUF_C_WIRE_TYPE_VARINT) {
      continue;
    }
    left = (size_t)(end - p);
    if (v > left) {
      snprintf(err, errlen, "byte %zu: field %llu: %llu bytes past the end", at,
               (unsigned long long)id, (unsigned long long)(v - left));
      return -1;
    }
    p += v;
  }
  return 0;
}

/* rpc_packed_find_nul at nesting depth `depth`; prefix is the path so far. */
static int find_nul_(const ProtobufCMessageDescriptor *desc, const uint8_t *p, const uint8_t *end,
                     int depth, const char *prefix, char *field, size_t fieldlen) {
  while (p < end) {
    uint64_t key = 0, v = 0;
    if (varint_(&p, end, &key) != 0 || value_len_((unsigned)(key & 7), &p, end, &v) != 0) {
      return 0;
    }
    if ((key & 7) == PROTOBUF_C_WIRE_TYPE_VARINT) {
      continue;
    }
    if (v > (uint64_t)(end - p)) {
      return 0;
    }
    const ProtobufCFieldDescriptor *f =
        key >> 3 <= 0x1fffffff ? protobuf_c_message_descriptor_get_field(desc, (unsigned)(key >> 3))
                               : NULL;
    if (f != NULL && (key & 7) == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED) {
      if (f->type == PROTOBUF_C_TYPE_STRING && memchr(p, 0, (size_t)v) != NULL) {
        snprintf(field, fieldlen, "%s%s", prefix, f->name);
        return 1;
      }
      if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth < 32) {
        char sub[256];
        snprintf(sub, sizeof sub, "%s%s.", prefix, f->name);
        if (find_nul_(f->descriptor, p, p + v, depth + 1, sub, field, fieldlen)) {
          return 1;
        }
      }
    }
    p += v;
  }
  return 0;
}

int rpc_packed_find_nul(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                        char *field, size_t fieldlen) {
  return find_nul_(desc, data, data + len, 0, "", field, fieldlen);
}
