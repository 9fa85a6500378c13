/*
 * rpc_reflection: answers grpc.reflection.v1 / v1alpha ServerReflectionInfo
 * requests from an embedded FileDescriptorSet (parsed with the protoc-c code
 * of google/protobuf/descriptor.proto).
 *
 * Index: every file once (name, serialized FileDescriptorProto, dependency
 * indexes) and every fully-qualified symbol the files declare (messages and
 * their nested messages and enums, enums, services, service methods) with
 * the index of the file that declares it. file_by_filename and
 * file_containing_symbol answer the file followed by its transitive
 * dependencies. Read-only after creation.
 */
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "rpc_internal.h"
#include "xalloc.h"

struct symbol_ {
  char *name;  /* "tvmaze.v1.Shows.ListShows" */
  size_t file; /* index in files */
};

struct file_ {
  const char *name;       /* in set */
  ProtobufCBinaryData pb; /* serialized FileDescriptorProto (owned) */
  size_t *deps;           /* indexes of dependencies found in the set */
  size_t n_deps;
};

struct rpc_reflection {
  Google__Protobuf__FileDescriptorSet *set;
  struct file_ *files;
  size_t n_files;
  struct symbol_ *syms;
  size_t n_syms, cap_syms;
  char **services;
  size_t n_services;
};

static void add_symbol_(struct rpc_reflection *r, char *name, size_t file) {
  if (r->n_syms == r->cap_syms) {
    r->cap_syms = r->cap_syms ? r->cap_syms * 2 : 64;
    r->syms = xrealloc(r->syms, r->cap_syms * sizeof *r->syms);
  }
  r->syms[r->n_syms].name = name;
  r->syms[r->n_syms].file = file;
  r->n_syms++;
}

static char *join_(const char *prefix, const char *name) {
  return prefix[0] ? xasprintf("%s.%s", prefix, name) : xstrdup(name);
}

static void index_message_(struct rpc_reflection *r, const Google__Protobuf__DescriptorProto *m,
                           const char *prefix, size_t file) {
  char *full = join_(prefix, m->name ? m->name : "");
  add_symbol_(r, full, file);
  for (size_t i = 0; i < m->n_nested_type; i++) {
    index_message_(r, m->nested_type[i], full, file);
  }
  for (size_t i = 0; i < m->n_enum_type; i++) {
    add_symbol_(r, join_(full, m->enum_type[i]->name ? m->enum_type[i]->name : ""), file);
  }
}

static size_t find_file_(const struct rpc_reflection *r, const char *name) {
  for (size_t i = 0; i < r->n_files; i++) {
    if (strcmp(r->files[i].name, name) == 0) {
      return i;
    }
  }
  return SIZE_MAX;
}

struct rpc_reflection *rpc_reflection_create(const uint8_t *set, size_t set_len,
                                             const char *const *services, size_t n_services) {
  Google__Protobuf__FileDescriptorSet *fds =
      google__protobuf__file_descriptor_set__unpack(NULL, set_len, set);
  if (fds == NULL) {
    return NULL;
  }
  struct rpc_reflection *r = xcalloc(1, sizeof *r);
  r->set = fds;
  r->n_files = fds->n_file;
  r->files = xcalloc(r->n_files ? r->n_files : 1, sizeof *r->files);
  for (size_t i = 0; i < fds->n_file; i++) {
    const Google__Protobuf__FileDescriptorProto *f = fds->file[i];
    struct file_ *fi = &r->files[i];
    fi->name = f->name ? f->name : "";
    fi->pb.len = protobuf_c_message_get_packed_size(&f->base);
    fi->pb.data = xmalloc(fi->pb.len ? fi->pb.len : 1);
    protobuf_c_message_pack(&f->base, fi->pb.data);
    const char *pkg = f->package ? f->package : "";
    for (size_t k = 0; k < f->n_message_type; k++) {
      index_message_(r, f->message_type[k], pkg, i);
    }
    for (size_t k = 0; k < f->n_enum_type; k++) {
      add_symbol_(r, join_(pkg, f->enum_type[k]->name ? f->enum_type[k]->name : ""), i);
    }
    for (size_t k = 0; k < f->n_service; k++) {
      const Google__Protobuf__ServiceDescriptorProto *s = f->service[k];
      char *sname = join_(pkg, s->name ? s->name : "");
      add_symbol_(r, sname, i);
      for (size_t m = 0; m < s->n_method; m++) {
        add_symbol_(r, join_(sname, s->method[m]->name ? s->method[m]->name : ""), i);
      }
    }
  }
  for (size_t i = 0; i < r->n_files; i++) {
    const Google__Protobuf__FileDescriptorProto *f = fds->file[i];
    r->files[i].deps = xcalloc(f->n_dependency ? f->n_dependency : 1, sizeof(size_t));
    for (size_t k = 0; k < f->n_dependency; k++) {
      size_t d = find_file_(r, f->dependency[k]);
      if (d != SIZE_MAX) {
        r->files[i].deps[r->files[i].n_deps++] = d;
      }
    }
  }
  r->n_services = n_services;
  r->services = xcalloc(n_services ? n_services : 1, sizeof *r->services);
  for (size_t i = 0; i < n_services; i++) {
    r->services[i] = xstrdup(services[i]);
  }
  return r;
}

void rpc_reflection_destroy(struct rpc_reflection *r) {
  if (r == NULL) {
    return;
  }
  for (size_t i = 0; i < r->n_files; i++) {
    free(r->files[i].pb.data);
    free(r->files[i].deps);
  }
  free(r->files);
  for (size_t i = 0; i < r->n_syms; i++) {
    free(r->syms[i].name);
  }
  free(r->syms);
  for (size_t i = 0; i < r->n_services; i++) {
    free(r->services[i]);
  }
  free(r->services);
  if (r->set != NULL) {
    google__protobuf__file_descriptor_set__free_unpacked(r->set, NULL);
  }
  free(r);
}

/* Appends file i and (depth first) its dependencies not yet in `seen`. */
static void collect_(const struct rpc_reflection *r, size_t i, unsigned char *seen,
                     ProtobufCBinaryData *out, size_t *n) {
  if (seen[i]) {
    return;
  }
  seen[i] = 1;
  out[(*n)++] = r->files[i].pb;
  for (size_t k = 0; k < r->files[i].n_deps; k++) {
    collect_(r, r->files[i].deps[k], seen, out, n);
  }
}

static size_t find_symbol_(const struct rpc_reflection *r, const char *name) {
  if (name[0] == '.') {
    name++;
  }
  for (size_t i = 0; i < r->n_syms; i++) {
    if (strcmp(r->syms[i].name, name) == 0) {
      return r->syms[i].file;
    }
  }
  return SIZE_MAX;
}

int rpc_reflection_answer(const struct rpc_reflection *r, const uint8_t *req, size_t req_len,
                          uint8_t **out, size_t *out_len) {
  Grpc__Reflection__V1__ServerReflectionRequest *rq =
      grpc__reflection__v1__server_reflection_request__unpack(NULL, req_len, req);
  if (rq == NULL) {
    return -1;
  }
  Grpc__Reflection__V1__ServerReflectionResponse resp =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
  Grpc__Reflection__V1__FileDescriptorResponse fdr =
      GRPC__REFLECTION__V1__FILE_DESCRIPTOR_RESPONSE__INIT;
  Grpc__Reflection__V1__ListServiceResponse lsr = GRPC__REFLECTION__V1__LIST_SERVICE_RESPONSE__INIT;
  Grpc__Reflection__V1__ExtensionNumberResponse enr =
      GRPC__REFLECTION__V1__EXTENSION_NUMBER_RESPONSE__INIT;
  Grpc__Reflection__V1__ErrorResponse er = GRPC__REFLECTION__V1__ERROR_RESPONSE__INIT;
  Grpc__Reflection__V1__ServiceResponse *svcs = NULL;
  Grpc__Reflection__V1__ServiceResponse **svcp = NULL;
  ProtobufCBinaryData *files = NULL;
  unsigned char *seen = NULL;
  char *errmsg = NULL;
  resp.valid_host = rq->host;
  resp.original_request = rq;

  size_t file = SIZE_MAX;
  switch (rq->message_request_case) {
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
    svcs = xcalloc(r->n_services ? r->n_services : 1, sizeof *svcs);
    svcp = xcalloc(r->n_services ? r->n_services : 1, sizeof *svcp);
    for (size_t i = 0; i < r->n_services; i++) {
      grpc__reflection__v1__service_response__init(&svcs[i]);
      svcs[i].name = r->services[i];
      svcp[i] = &svcs[i];
    }
    lsr.n_service = r->n_services;
    lsr.service = svcp;
    resp.message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
    resp.list_services_response = &lsr;
    break;
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
    file = find_file_(r, rq->file_by_filename);
    if (file == SIZE_MAX) {
      errmsg = xasprintf("file not found: %s", rq->file_by_filename);
    }
    break;
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
    file = find_symbol_(r, rq->file_containing_symbol);
    if (file == SIZE_MAX) {
      errmsg = xasprintf("symbol not found: %s", rq->file_containing_symbol);
    }
    break;
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
    if (find_symbol_(r, rq->all_extension_numbers_of_type) == SIZE_MAX) {
      errmsg = xasprintf("type not found: %s", rq->all_extension_numbers_of_type);
    } else {
      /* The contract declares no extensions. */
      enr.base_type_name = rq->all_extension_numbers_of_type;
      resp.message_response_case =
          GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
      resp.all_extension_numbers_response = &enr;
    }
    break;
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
    errmsg = xasprintf("extension not found");
    break;
  default:
    errmsg = xasprintf("unsupported reflection request");
    er.error_code = RPC_INVALID_ARGUMENT;
    break;
  }
  if (file != SIZE_MAX) {
    files = xcalloc(r->n_files, sizeof *files);
    seen = xcalloc(r->n_files, 1);
    size_t n = 0;
    collect_(r, file, seen, files, &n);
    fdr.n_file_descriptor_proto = n;
    fdr.file_descriptor_proto = files;
    resp.message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
    resp.file_descriptor_response = &fdr;
  } else if (errmsg != NULL) {
    if (er.error_code == 0) {
      er.error_code = RPC_NOT_FOUND;
    }
    er.error_message = errmsg;
    resp.message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
    resp.error_response = &er;
  }
  *out_len = protobuf_c_message_get_packed_size(&resp.base);
  *out = xmalloc(*out_len ? *out_len : 1);
  protobuf_c_message_pack(&resp.base, *out);
  free(errmsg);
  free(files);
  free(seen);
  free(svcs);
  free(svcp);
  grpc__reflection__v1__server_reflection_request__free_unpacked(rq, NULL);
  return 0;
}
