/*
 * store_read: helpers shared by the read modules (store_shows.c,
 * store_analytics.c) to turn libpq text results into heap-allocated
 * protobuf-c fields, allocated in arena a (NULL: the heap, freed by
 * protobuf_c_message_free_unpacked(msg, NULL)).
 */
#ifndef TVMAZE_STORE_READ_H
#define TVMAZE_STORE_READ_H

#include <stdint.h>

#include <libpq-fe.h>

#include "arena.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"

/* New copy of the value ("" for SQL NULL). */
char *store_read_str(struct arena *a, const PGresult *r, int row, int col);
/* Integer value; 0 for SQL NULL. */
int64_t store_read_int(const PGresult *r, int row, int col);
/* Wrapper or NULL for SQL NULL. */
Google__Protobuf__Int32Value *store_read_int32_value(struct arena *a, const PGresult *r, int row,
                                                     int col);
Google__Protobuf__DoubleValue *store_read_double_value(struct arena *a, const PGresult *r, int row,
                                                       int col);
/* Timestamp from epoch seconds, or NULL for SQL NULL. */
Google__Protobuf__Timestamp *store_read_timestamp(struct arena *a, const PGresult *r, int row,
                                                  int col);

#endif
