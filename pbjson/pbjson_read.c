/*
 * pbjson_read: proto3 JSON and text values -> protobuf-c messages
 * (pbjson_set_field for a query or path parameter, pbjson_parse for a JSON
 * body), by walking descriptors. Accepts what protojson accepts for these
 * types (pbjson.h); fills messages that own what they hold through malloc,
 * so protobuf_c_message_free_unpacked frees them, also after a failure.
 * Reads only its arguments.
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base64.h"
#include "date.h"
#include "pbjson_internal.h"
#include "utf8.h"
#include "xalloc.h"

/* One decoded scalar or message, before it is stored in a field. */
union pb_value {
  int32_t i32;
  uint32_t u32;
  int64_t i64;
  uint64_t u64;
  float f;
  double d;
  protobuf_c_boolean b;
  int e;
  char *s;
  ProtobufCBinaryData bytes;
  ProtobufCMessage *m;
};

/* ===================================================================== */
/* Reading: shared                                                       */
/* ===================================================================== */

static enum pbjson_status fail_(struct pbjson_error *err, enum pbjson_status st, const char *field,
                                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum pbjson_status fail_(struct pbjson_error *err, enum pbjson_status st, const char *field,
                                const char *fmt, ...) {
  if (err) {
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    char detail[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (field && field[0])
      snprintf(err->message, sizeof err->message, "%s: %s", field, detail);
    else
      snprintf(err->message, sizeof err->message, "%s", detail);
  }
  return st;
}

/* name matches the proto name or its lowerCamel form ("per_page"/"perPage"). */
static int name_matches_(const char *proto, const char *key, size_t klen) {
  if (strlen(proto) == klen && memcmp(proto, key, klen) == 0)
    return 1;
  size_t k = 0;
  for (const char *p = proto; *p; p++) {
    char c = *p;
    if (c == '_' && p[1]) {
      p++;
      c = (p[0] >= 'a' && p[0] <= 'z') ? (char)(p[0] - 'a' + 'A') : p[0];
    }
    if (k >= klen || key[k] != c)
      return 0;
    k++;
  }
  return k == klen;
}

static const ProtobufCFieldDescriptor *find_field_(const ProtobufCMessageDescriptor *d,
                                                   const char *key, size_t klen) {
  for (unsigned i = 0; i < d->n_fields; i++)
    if (name_matches_(d->fields[i].name, key, klen))
      return &d->fields[i];
  return NULL;
}

static void free_value_(const ProtobufCFieldDescriptor *f, union pb_value *v) {
  if (f->type == PROTOBUF_C_TYPE_STRING)
    free(v->s);
  else if (f->type == PROTOBUF_C_TYPE_BYTES)
    free(v->bytes.data);
  else if (f->type == PROTOBUF_C_TYPE_MESSAGE && v->m)
    protobuf_c_message_free_unpacked(v->m, NULL);
}

/* Frees what a singular field holds (string, bytes, message) if owned. */
static void clear_owned_(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f) {
  void *p = MEMBER(msg, f->offset);
  if (f->type == PROTOBUF_C_TYPE_STRING) {
    char *s = *(char **)p;
    /* protobuf-c points string defaults at static storage, never freed. */
    if (s && s != protobuf_c_empty_string && s != (const char *)f->default_value)
      free(s);
    *(char **)p = NULL;
  } else if (f->type == PROTOBUF_C_TYPE_BYTES) {
    ProtobufCBinaryData *b = p;
    if (b->data &&
        (!f->default_value || b->data != ((const ProtobufCBinaryData *)f->default_value)->data))
      free(b->data);
    b->data = NULL;
    b->len = 0;
  } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
    ProtobufCMessage *m = *(ProtobufCMessage **)p;
    if (m)
      protobuf_c_message_free_unpacked(m, NULL);
    *(ProtobufCMessage **)p = NULL;
  }
}

/* Stores v (ownership moves to msg) in field f: appended when repeated. */
static void store_value_(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                         union pb_value *v) {
  size_t es = pbjson_elem_size_(f->type);
  if (f->label == PROTOBUF_C_LABEL_REPEATED) {
    size_t *n = MEMBER(msg, f->quantifier_offset);
    char **arr = MEMBER(msg, f->offset);
    *arr = xrealloc(*arr, (*n + 1) * es);
    memcpy(*arr + *n * es, v, es);
    (*n)++;
    return;
  }
  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
    uint32_t *cas = MEMBER(msg, f->quantifier_offset);
    if (*cas != 0) {
      const ProtobufCFieldDescriptor *old =
          protobuf_c_message_descriptor_get_field(msg->descriptor, *cas);
      if (old)
        clear_owned_(msg, old);
    }
    *cas = f->id;
  } else {
    clear_owned_(msg, f);
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
        f->type != PROTOBUF_C_TYPE_MESSAGE)
      *(protobuf_c_boolean *)MEMBER(msg, f->quantifier_offset) = 1;
  }
  memcpy(MEMBER(msg, f->offset), v, es);
}

/* ===================================================================== */
/* Reading: text values                                                  */
/* ===================================================================== */

static int parse_i64_(const char *s, int64_t *out) {
  const char *p = s[0] == '-' ? s + 1 : s;
  if (*p < '0' || *p > '9')
    return -1;
  errno = 0;
  char *end = NULL;
  long long v = strtoll(s, &end, 10);
  if (errno || *end)
    return -1;
  *out = v;
  return 0;
}

static int parse_u64_(const char *s, uint64_t *out) {
  if (*s < '0' || *s > '9')
    return -1;
  errno = 0;
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end)
    return -1;
  *out = v;
  return 0;
}

static int parse_double_(const char *s, double *out) {
  if (strcmp(s, "NaN") == 0) {
    *out = (double)NAN;
    return 0;
  }
  if (strcmp(s, "Infinity") == 0) {
    *out = (double)INFINITY;
    return 0;
  }
  if (strcmp(s, "-Infinity") == 0) {
    *out = -(double)INFINITY;
    return 0;
  }
  const char *p = s[0] == '-' ? s + 1 : s;
  if (!((*p >= '0' && *p <= '9') || *p == '.'))
    return -1;
  if (strpbrk(s, "xXpP"))
    return -1;
  errno = 0;
  char *end = NULL;
  double v = strtod(s, &end);
  if (*end || !isfinite(v) || errno == ERANGE)
    return -1;
  *out = v;
  return 0;
}

static int parse_base64_(const char *s, ProtobufCBinaryData *out) {
  size_t cap = base64_decoded_max(strlen(s));
  uint8_t *buf = xmalloc(cap);
  long len = base64_decode(s, buf, cap);
  if (len < 0) {
    free(buf);
    return -1;
  }
  out->data = buf;
  out->len = (size_t)len;
  return 0;
}

static int two_(const char *p, int *out) {
  if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
    return -1;
  *out = (p[0] - '0') * 10 + (p[1] - '0');
  return 0;
}

/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). */
static int parse_rfc3339_(const char *s, int64_t *secs, int32_t *nanos) {
  size_t n = strlen(s);
  if (n < 20 || (s[10] != 'T' && s[10] != 't'))
    return -1;
  int32_t day;
  char date[11];
  memcpy(date, s, 10);
  date[10] = '\0';
  if (date_parse(date, &day) != 0)
    return -1;
  int hh, mm, ss;
  if (s[13] != ':' || s[16] != ':' || two_(s + 11, &hh) || two_(s + 14, &mm) || two_(s + 17, &ss) ||
      hh > 23 || mm > 59 || ss > 60)
    return -1;
  if (ss == 60)
    ss = 59;
  const char *p = s + 19;
  int32_t ns = 0;
  if (*p == '.') {
    p++;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
      if (digits < 9)
        ns = ns * 10 + (*p - '0');
      digits++;
      p++;
    }
    if (digits == 0)
      return -1;
    for (int k = digits; k < 9; k++)
      ns *= 10;
  }
  int off = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh, om;
    if (two_(p + 1, &oh) || p[3] != ':' || two_(p + 4, &om) || oh > 23 || om > 59)
      return -1;
    off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
    p += 6;
  } else {
    return -1;
  }
  if (*p)
    return -1;
  *secs = (int64_t)day * 86400 + hh * 3600 + mm * 60 + ss - off;
  *nanos = ns;
  return 0;
}

/* The prefix buf STANDARD lint puts on an enum's values, from its type
 * name: "ChangeEntity" -> "CHANGE_ENTITY_". 0, or -1 if it does not fit. */
static int enum_prefix_(const ProtobufCEnumDescriptor *ed, char *out, size_t outlen) {
  size_t n = 0;
  for (const char *c = ed->short_name; *c; c++) {
    if (n + 3 > outlen)
      return -1;
    if (c != ed->short_name && isupper((unsigned char)*c))
      out[n++] = '_';
    out[n++] = (char)toupper((unsigned char)*c);
  }
  out[n++] = '_';
  out[n] = '\0';
  return 0;
}

/* An enum value by its name ("CHANGE_ENTITY_SHOW") or by its name without
 * the type's prefix ("SHOW", as API.md writes the values). */
static const ProtobufCEnumValue *enum_by_text_(const ProtobufCEnumDescriptor *ed,
                                               const char *text) {
  const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(ed, text);
  char prefix[96], full[160];
  if (ev == NULL && enum_prefix_(ed, prefix, sizeof prefix) == 0) {
    int w = snprintf(full, sizeof full, "%s%s", prefix, text);
    if (w > 0 && (size_t)w < sizeof full)
      ev = protobuf_c_enum_descriptor_get_value_by_name(ed, full);
  }
  return ev;
}

/* "SHOW, EPISODE" (the values but the zero one, without their prefix). */
static void enum_names_(const ProtobufCEnumDescriptor *ed, char *out, size_t outlen) {
  char prefix[160];
  size_t plen = enum_prefix_(ed, prefix, sizeof prefix) == 0 ? strlen(prefix) : 0;
  size_t n = 0;
  out[0] = '\0';
  for (unsigned k = 0; k < ed->n_values; k++) {
    const char *name = ed->values[k].name;
    if (ed->values[k].value == 0)
      continue;
    if (plen && strncmp(name, prefix, plen) == 0)
      name += plen;
    int w = snprintf(out + n, outlen - n, "%s%s", n ? ", " : "", name);
    if (w < 0 || (size_t)w >= outlen - n)
      break;
    n += (size_t)w;
  }
}

static enum pbjson_status text_value_(const ProtobufCFieldDescriptor *f, const char *text,
                                      const char *path, union pb_value *v,
                                      struct pbjson_error *err);

static enum pbjson_status text_message_(const ProtobufCMessageDescriptor *d, const char *text,
                                        const char *path, ProtobufCMessage **out,
                                        struct pbjson_error *err) {
  if (pbjson_is_wrapper_(d)) {
    union pb_value inner;
    memset(&inner, 0, sizeof inner);
    enum pbjson_status st = text_value_(&d->fields[0], text, path, &inner, err);
    if (st != PBJSON_OK)
      return st;
    ProtobufCMessage *m = pbjson_message_new(d);
    store_value_(m, &d->fields[0], &inner);
    *out = m;
    return PBJSON_OK;
  }
  if (pbjson_is_timestamp_(d)) {
    int64_t secs;
    int32_t nanos;
    if (parse_rfc3339_(text, &secs, &nanos) != 0)
      return fail_(err, PBJSON_BAD_VALUE, path, "expected an RFC 3339 timestamp");
    ProtobufCMessage *m = pbjson_message_new(d);
    const ProtobufCFieldDescriptor *fs =
        protobuf_c_message_descriptor_get_field_by_name(d, "seconds");
    const ProtobufCFieldDescriptor *fn =
        protobuf_c_message_descriptor_get_field_by_name(d, "nanos");
    if (fs)
      *(int64_t *)MEMBER(m, fs->offset) = secs;
    if (fn)
      *(int32_t *)MEMBER(m, fn->offset) = nanos;
    *out = m;
    return PBJSON_OK;
  }
  return fail_(err, PBJSON_BAD_VALUE, path, "a message cannot be given as text");
}

static enum pbjson_status text_value_(const ProtobufCFieldDescriptor *f, const char *text,
                                      const char *path, union pb_value *v,
                                      struct pbjson_error *err) {
  int64_t i;
  uint64_t u;
  double d;
  switch (f->type) {
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32:
    if (parse_i64_(text, &i) || i < INT32_MIN || i > INT32_MAX)
      return fail_(err, PBJSON_BAD_VALUE, path, "expected a 32-bit integer");
    v->i32 = (int32_t)i;
    return PBJSON_OK;
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32:
    if (parse_u64_(text, &u) || u > UINT32_MAX)
      return fail_(err, PBJSON_BAD_VALUE, path, "expected an unsigned 32-bit integer");
    v->u32 = (uint32_t)u;
    return PBJSON_OK;
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64:
    if (parse_i64_(text, &i))
      return fail_(err, PBJSON_BAD_VALUE, path, "expected a 64-bit integer");
    v->i64 = i;
    return PBJSON_OK;
  case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_FIXED64:
    if (parse_u64_(text, &u))
      return fail_(err, PBJSON_BAD_VALUE, path, "expected an unsigned 64-bit integer");
    v->u64 = u;
    return PBJSON_OK;
  case PROTOBUF_C_TYPE_FLOAT:
    if (parse_double_(text, &d) || (isfinite(d) && fabs(d) > (double)FLT_MAX))
      return fail_(err, PBJSON_BAD_VALUE, path, "expected a number");
    v->f = (float)d;
    return PBJSON_OK;
  case PROTOBUF_C_TYPE_DOUBLE:
    if (parse_double_(text, &d))
      return fail_(err, PBJSON_BAD_VALUE, path, "expected a number");
    v->d = d;
    return PBJSON_OK;
  case PROTOBUF_C_TYPE_BOOL:
    if (strcmp(text, "true") == 0)
      v->b = 1;
    else if (strcmp(text, "false") == 0)
      v->b = 0;
    else
      return fail_(err, PBJSON_BAD_VALUE, path, "expected true or false");
    return PBJSON_OK;
  case PROTOBUF_C_TYPE_ENUM: {
    const ProtobufCEnumDescriptor *ed = f->descriptor;
    const ProtobufCEnumValue *ev = enum_by_text_(ed, text);
    if (!ev && parse_i64_(text, &i) == 0 && i >= INT32_MIN && i <= INT32_MAX)
      ev = protobuf_c_enum_descriptor_get_value(ed, (int)i);
    if (!ev) {
      char names[256];
      enum_names_(ed, names, sizeof names);
      return fail_(err, PBJSON_BAD_VALUE, path, "expected one of %s", names);
    }
    v->e = ev->value;
    return PBJSON_OK;
  }
  case PROTOBUF_C_TYPE_STRING:
    if (!utf8_valid(text, strlen(text)))
      return fail_(err, PBJSON_BAD_VALUE, path, "not valid UTF-8");
    v->s = xstrdup(text);
    return PBJSON_OK;
  case PROTOBUF_C_TYPE_BYTES:
    if (parse_base64_(text, &v->bytes))
      return fail_(err, PBJSON_BAD_VALUE, path, "expected base64");
    return PBJSON_OK;
  case PROTOBUF_C_TYPE_MESSAGE:
    return text_message_(f->descriptor, text, path, &v->m, err);
  }
  return fail_(err, PBJSON_BAD_VALUE, path, "unsupported type");
}

/* "1,2,3" for a repeated number, bool or enum field: each element is
 * appended (the REST list syntax beside repeating the parameter). All or
 * nothing: on a bad element nothing is appended. */
static enum pbjson_status set_list_(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                                    const char *value, const char *path, struct pbjson_error *err) {
  size_t *n = MEMBER(msg, f->quantifier_offset);
  size_t before = *n;
  const char *p = value;
  for (;;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char elem[64];
    enum pbjson_status st = PBJSON_OK;
    if (len == 0)
      st = fail_(err, PBJSON_BAD_VALUE, path, "empty element in a comma-separated list");
    else if (len >= sizeof elem)
      st = fail_(err, PBJSON_BAD_VALUE, path, "list element too long");
    union pb_value v;
    memset(&v, 0, sizeof v);
    if (st == PBJSON_OK) {
      memcpy(elem, p, len);
      elem[len] = '\0';
      st = text_value_(f, elem, path, &v, err);
    }
    if (st != PBJSON_OK) {
      *n = before; /* scalars: dropping the count drops them */
      return st;
    }
    store_value_(msg, f, &v);
    if (!e)
      return PBJSON_OK;
    p = e + 1;
  }
}

enum pbjson_status pbjson_set_field(ProtobufCMessage *msg, const char *name, const char *value,
                                    struct pbjson_error *err) {
  const char *dot = strchr(name, '.');
  size_t klen = dot ? (size_t)(dot - name) : strlen(name);
  char path[128];
  snprintf(path, sizeof path, "%.*s", (int)(klen < 100 ? klen : 100), name);
  const ProtobufCFieldDescriptor *f = find_field_(msg->descriptor, name, klen);
  if (!f)
    return fail_(err, PBJSON_UNKNOWN_FIELD, path, "unknown field");
  if (dot) {
    /* nested: "a.b" sets b of the message field a */
    const ProtobufCMessageDescriptor *sd = f->descriptor;
    if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED ||
        pbjson_is_wrapper_(sd) || pbjson_is_timestamp_(sd))
      return fail_(err, PBJSON_UNKNOWN_FIELD, path, "has no sub-fields");
    ProtobufCMessage **slot = MEMBER(msg, f->offset);
    int fresh = *slot == NULL;
    if (fresh) {
      union pb_value nv = {.m = pbjson_message_new(sd)};
      store_value_(msg, f, &nv);
    }
    enum pbjson_status st = pbjson_set_field(*slot, dot + 1, value, err);
    if (st != PBJSON_OK && err) {
      char sub[sizeof err->field];
      snprintf(sub, sizeof sub, "%s", err->field);
      snprintf(err->field, sizeof err->field, "%s.%s", path, sub);
      char m[sizeof err->message];
      snprintf(m, sizeof m, "%s", err->message);
      snprintf(err->message, sizeof err->message, "%s.%s", path, m);
    }
    return st;
  }
  if (f->label == PROTOBUF_C_LABEL_REPEATED && f->type != PROTOBUF_C_TYPE_STRING &&
      f->type != PROTOBUF_C_TYPE_BYTES && f->type != PROTOBUF_C_TYPE_MESSAGE &&
      strchr(value, ',') != NULL)
    return set_list_(msg, f, value, path, err);
  union pb_value v;
  memset(&v, 0, sizeof v);
  enum pbjson_status st = text_value_(f, value, path, &v, err);
  if (st != PBJSON_OK)
    return st;
  store_value_(msg, f, &v);
  return PBJSON_OK;
}

/* ===================================================================== */
/* Reading: JSON                                                         */
/* ===================================================================== */

static enum pbjson_status json_object_(ProtobufCMessage *msg, json_t *obj, const char *prefix,
                                       int depth, struct pbjson_error *err);

static const char *kind_name_(const json_t *j) {
  switch (json_typeof(j)) {
  case JSON_OBJECT:
    return "an object";
  case JSON_ARRAY:
    return "an array";
  case JSON_STRING:
    return "a string";
  case JSON_INTEGER:
    return "an integer";
  case JSON_REAL:
    return "a number";
  case JSON_TRUE:
  case JSON_FALSE:
    return "a boolean";
  case JSON_NULL:
    return "null";
  }
  return "a value";
}

/* Decodes one JSON value for field f (a single element when repeated). */
static enum pbjson_status json_value_(const ProtobufCFieldDescriptor *f, json_t *j,
                                      const char *path, int depth, union pb_value *v,
                                      struct pbjson_error *err) {
  char num[64];
  switch (f->type) {
  case PROTOBUF_C_TYPE_STRING:
    if (!json_is_string(j))
      return fail_(err, PBJSON_BAD_VALUE, path, "expected a string, got %s", kind_name_(j));
    return text_value_(f, json_string_value(j), path, v, err);
  case PROTOBUF_C_TYPE_BYTES:
    if (!json_is_string(j))
      return fail_(err, PBJSON_BAD_VALUE, path, "expected a base64 string");
    return text_value_(f, json_string_value(j), path, v, err);
  case PROTOBUF_C_TYPE_BOOL:
    if (!json_is_boolean(j))
      return fail_(err, PBJSON_BAD_VALUE, path, "expected true or false, got %s", kind_name_(j));
    v->b = json_is_true(j);
    return PBJSON_OK;
  case PROTOBUF_C_TYPE_ENUM:
    if (json_is_integer(j)) {
      snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
      return text_value_(f, num, path, v, err);
    }
    if (!json_is_string(j))
      return fail_(err, PBJSON_BAD_VALUE, path, "expected an enum name, got %s", kind_name_(j));
    return text_value_(f, json_string_value(j), path, v, err);
  case PROTOBUF_C_TYPE_MESSAGE: {
    const ProtobufCMessageDescriptor *sd = f->descriptor;
    if (pbjson_is_wrapper_(sd)) {
      union pb_value inner;
      memset(&inner, 0, sizeof inner);
      enum pbjson_status st = json_value_(&sd->fields[0], j, path, depth + 1, &inner, err);
      if (st != PBJSON_OK)
        return st;
      v->m = pbjson_message_new(sd);
      store_value_(v->m, &sd->fields[0], &inner);
      return PBJSON_OK;
    }
    if (pbjson_is_timestamp_(sd)) {
      if (!json_is_string(j))
        return fail_(err, PBJSON_BAD_VALUE, path, "expected an RFC 3339 timestamp string");
      return text_message_(sd, json_string_value(j), path, &v->m, err);
    }
    if (!json_is_object(j))
      return fail_(err, PBJSON_BAD_VALUE, path, "expected an object, got %s", kind_name_(j));
    v->m = pbjson_message_new(sd);
    enum pbjson_status st = json_object_(v->m, j, path, depth + 1, err);
    if (st != PBJSON_OK) {
      protobuf_c_message_free_unpacked(v->m, NULL);
      v->m = NULL;
    }
    return st;
  }
  default:
    break;
  }
  /* numbers: a JSON number or a string holding one */
  if (json_is_string(j))
    return text_value_(f, json_string_value(j), path, v, err);
  if (json_is_integer(j)) {
    snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
    return text_value_(f, num, path, v, err);
  }
  if (json_is_real(j)) {
    double d = json_real_value(j);
    if (f->type == PROTOBUF_C_TYPE_DOUBLE) {
      v->d = d;
      return PBJSON_OK;
    }
    if (f->type == PROTOBUF_C_TYPE_FLOAT)
      snprintf(num, sizeof num, "%.17g", d);
    else if (d == floor(d) && fabs(d) < 9.2e18)
      snprintf(num, sizeof num, "%lld", (long long)d);
    else
      return fail_(err, PBJSON_BAD_VALUE, path, "expected an integer");
    return text_value_(f, num, path, v, err);
  }
  return fail_(err, PBJSON_BAD_VALUE, path, "expected a number, got %s", kind_name_(j));
}

static enum pbjson_status json_object_(ProtobufCMessage *msg, json_t *obj, const char *prefix,
                                       int depth, struct pbjson_error *err) {
  if (depth > PBJSON_MAX_DEPTH)
    return fail_(err, PBJSON_TOO_DEEP, prefix, "nested too deeply");
  const char *key;
  json_t *val;
  json_object_foreach(obj, key, val) {
    char path[128];
    if (prefix[0])
      snprintf(path, sizeof path, "%s.%.60s", prefix, key);
    else
      snprintf(path, sizeof path, "%.60s", key);
    const ProtobufCFieldDescriptor *f = find_field_(msg->descriptor, key, strlen(key));
    if (!f)
      return fail_(err, PBJSON_UNKNOWN_FIELD, path, "unknown field");
    if (json_is_null(val))
      continue;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      if (!json_is_array(val))
        return fail_(err, PBJSON_BAD_VALUE, path, "expected an array, got %s", kind_name_(val));
      size_t idx;
      json_t *el;
      json_array_foreach(val, idx, el) {
        union pb_value v;
        memset(&v, 0, sizeof v);
        enum pbjson_status st = json_value_(f, el, path, depth, &v, err);
        if (st != PBJSON_OK)
          return st;
        store_value_(msg, f, &v);
      }
      continue;
    }
    union pb_value v;
    memset(&v, 0, sizeof v);
    enum pbjson_status st = json_value_(f, val, path, depth, &v, err);
    if (st != PBJSON_OK) {
      free_value_(f, &v);
      return st;
    }
    store_value_(msg, f, &v);
  }
  return PBJSON_OK;
}

enum pbjson_status pbjson_parse(ProtobufCMessage *msg, const char *json, size_t len,
                                struct pbjson_error *err) {
  json_error_t jerr;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return fail_(err, PBJSON_BAD_JSON, "", "malformed JSON at line %d, column %d: %s", jerr.line,
                 jerr.column, jerr.text);
  enum pbjson_status st;
  if (!json_is_object(root))
    st = fail_(err, PBJSON_BAD_JSON, "", "the body must be a JSON object");
  else
    st = json_object_(msg, root, "", 0, err);
  json_decref(root);
  return st;
}
