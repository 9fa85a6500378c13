/*
 * pbjson_internal: what pbjson's files (pbjson.c, pbjson_write.c,
 * pbjson_read.c) share. Not for code outside pbjson/.
 */
#ifndef TVMAZE_PBJSON_INTERNAL_H
#define TVMAZE_PBJSON_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pbjson.h"

#define MEMBER(msg, off) ((void *)((char *)(msg) + (off)))
#define CMEMBER(msg, off) ((const void *)((const char *)(msg) + (off)))

/* Whether d is one of google/protobuf/wrappers.proto's *Value messages
 * (written as their bare value). */
int pbjson_is_wrapper_(const ProtobufCMessageDescriptor *d);

/* Whether d is google.protobuf.Timestamp (written as RFC 3339). */
int pbjson_is_timestamp_(const ProtobufCMessageDescriptor *d);

/* Bytes of one element of a field of type t (in a repeated array). */
size_t pbjson_elem_size_(ProtobufCType t);

#endif
