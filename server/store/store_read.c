/*
 * store_read: libpq text values -> protobuf-c fields. See store_read.h.
 */
#include "store_read.h"

#include <stdlib.h>

char *store_read_str(struct arena *a, const PGresult *r, int row, int col) {
  if (PQgetisnull(r, row, col)) {
    return arena_strdup(a, "");
  }
  return arena_strdup(a, PQgetvalue(r, row, col));
}

int64_t store_read_int(const PGresult *r, int row, int col) {
  if (PQgetisnull(r, row, col)) {
    return 0;
  }
  return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

Google__Protobuf__Int32Value *store_read_int32_value(struct arena *a, const PGresult *r, int row,
                                                     int col) {
  if (PQgetisnull(r, row, col)) {
    return NULL;
  }
  Google__Protobuf__Int32Value *v = arena_alloc(a, sizeof *v);
  google__protobuf__int32_value__init(v);
  v->value = (int32_t)strtol(PQgetvalue(r, row, col), NULL, 10);
  return v;
}

Google__Protobuf__DoubleValue *store_read_double_value(struct arena *a, const PGresult *r, int row,
                                                       int col) {
  if (PQgetisnull(r, row, col)) {
    return NULL;
  }
  Google__Protobuf__DoubleValue *v = arena_alloc(a, sizeof *v);
  google__protobuf__double_value__init(v);
  v->value = strtod(PQgetvalue(r, row, col), NULL);
  return v;
}

Google__Protobuf__Timestamp *store_read_timestamp(struct arena *a, const PGresult *r, int row,
                                                  int col) {
  if (PQgetisnull(r, row, col)) {
    return NULL;
  }
  Google__Protobuf__Timestamp *t = arena_alloc(a, sizeof *t);
  google__protobuf__timestamp__init(t);
  t->seconds = strtoll(PQgetvalue(r, row, col), NULL, 10);
  return t;
}
