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

/* PostgreSQL prints integers canonically (optional '-', then at most 19
 * digits), so a plain digit loop reads them; anything else (never seen)
 * goes to strtoll. strtoll was ~8 % of an uncached ListShows' instructions. */
static int64_t parse_int_(const char *s) {
  const char *p = s;
  int neg = *p == '-';
  p += neg;
  uint64_t v = 0;
  int digits = 0;
  for (; *p >= '0' && *p <= '9' && digits < 19; p++, digits++) {
    v = v * 10 + (uint64_t)(*p - '0');
  }
  if (*p != '\0' || digits == 0 || v > (uint64_t)INT64_MAX) {
    return strtoll(s, NULL, 10);
  }
  return neg ? -(int64_t)v : (int64_t)v;
}

int64_t store_read_int(const PGresult *r, int row, int col) {
  if (PQgetisnull(r, row, col)) {
    return 0;
  }
  return parse_int_(PQgetvalue(r, row, col));
}

Google__Protobuf__Int32Value *store_read_int32_value(struct arena *a, const PGresult *r, int row,
                                                     int col) {
  if (PQgetisnull(r, row, col)) {
    return NULL;
  }
  Google__Protobuf__Int32Value *v = arena_alloc(a, sizeof *v);
  google__protobuf__int32_value__init(v);
  v->value = (int32_t)parse_int_(PQgetvalue(r, row, col));
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
  t->seconds = parse_int_(PQgetvalue(r, row, col));
  return t;
}
