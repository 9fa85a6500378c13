/*
 * test_rpc: round trips through the binding (the server half, rpc/rpc_server.c,
 * rpc_worker.c, rpc_call.c, rpc_builtin.c, and rpc/rpc_client.c): an in-process server with a test
 * implementation of tvmaze.v1.Auth, called through the protoc-c stubs over the client half.
 *
 * The test handler's behaviour depends on the key:
 *   "echo:S"     replies name=S
 *   "fail"       PERMISSION_DENIED "key fail is revoked"
 *   "sleep"      sleeps until 50 ms past the client's deadline, then replies
 *   "hold"       sets `held`, sleeps 300 ms, replies "held" (drain test)
 *   "big"        replies a name over the server's message limit
 *   "meta"       replies "<x-request-id>|<deadline?>|<method>|<worker ok?>"
 *   "packed:S"   replies name=S, tier=PREMIUM + an unknown field 99, packed
 *                by the handler and handed over (rpc_call_reply_packed with a
 *                release function: no copy)
 *   "packed-copy:S"  the same from the handler's stack (release NULL: copied)
 *   "packed-empty"   zero packed bytes (an empty reply)
 *   "packed-null", "packed-cut", "packed-wire", "packed-big", "packed-twice"
 *                broken packed replies (absent, cut short, a known field in
 *                the wrong wire type, over the limit, after a first reply)
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "google/protobuf/wrappers.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "rpc.h"
#include "tvmaze/v1/auth.pb-c.h"
#include "tvmaze/v1/shows.pb-c.h"
#include "tvmaze/v1/ingest.pb-c.h"

#define MAX_MSG (1024u * 1024u)
#define WORKERS 2

extern const unsigned char tvmaze_descriptor_set[];
extern const unsigned long tvmaze_descriptor_set_len;

static atomic_int inits, finis, held, stuck, release_stuck;
static int worker_tokens[WORKERS];

static void sleep_ms_(int64_t ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void *worker_init_(int index, void *user) {
  (void)user;
  atomic_fetch_add(&inits, 1);
  worker_tokens[index] = 1000 + index;
  return &worker_tokens[index];
}

static void worker_fini_(void *data, void *user) {
  (void)user;
  assert_non_null(data);
  atomic_fetch_add(&finis, 1);
}

static rpc_health_status health_(const char *service, void *worker_data, void *user) {
  (void)user;
  assert_non_null(worker_data);
  return strcmp(service, "tvmaze.v1.Shows") == 0 ? RPC_HEALTH_NOT_SERVING : RPC_HEALTH_SERVING;
}

/* Packed replies: every release through release_ (counted). */
static atomic_int releases;
static atomic_int packed_rc; /* what the last rpc_call_reply_packed returned */

static void release_(void *p) {
  atomic_fetch_add(&releases, 1);
  free(p);
}

/* CheckApiKeyResponse{name, tier PREMIUM} + unknown field 99 (varint 7),
 * packed into buf (at least 64 + strlen(name) bytes); returns the length. */
static size_t pack_reply_(const char *name, uint8_t *buf) {
  Tvmaze__V1__CheckApiKeyResponse r = TVMAZE__V1__CHECK_API_KEY_RESPONSE__INIT;
  r.name = (char *)name;
  r.tier = TVMAZE__V1__KEY_TIER__KEY_TIER_PREMIUM;
  size_t n = protobuf_c_message_pack(&r.base, buf);
  buf[n++] = 0x98; /* key (99 << 3) | 0 as a varint: 0x98 0x06 */
  buf[n++] = 0x06;
  buf[n++] = 7;
  return n;
}

/* The packed-reply keys of the test handler (see the top of the file);
 * 0 if key is not one of them. */
static int packed_reply_(rpc_call *call, const char *key,
                         Tvmaze__V1__CheckApiKeyResponse_Closure done) {
  uint8_t stack[256];
  uint8_t *heap = malloc(strlen(key) + 64);
  rpc_code rc = RPC_UNKNOWN;
  if (strncmp(key, "packed:", 7) == 0) {
    rc = rpc_call_reply_packed(call, heap, pack_reply_(key + 7, heap), release_);
  } else if (strncmp(key, "packed-copy:", 12) == 0) {
    size_t n = pack_reply_(key + 12, stack);
    rc = rpc_call_reply_packed(call, stack, n, NULL);
    memset(stack, 0, sizeof stack); /* copied: the reply must not change */
    free(heap);
  } else if (strcmp(key, "packed-empty") == 0) {
    rc = rpc_call_reply_packed(call, heap, 0, release_);
  } else if (strcmp(key, "packed-null") == 0) {
    rc = rpc_call_reply_packed(call, NULL, 5, release_);
    free(heap);
  } else if (strcmp(key, "packed-cut") == 0) {
    size_t n = pack_reply_("cut short", heap);
    rc = rpc_call_reply_packed(call, heap, n - 8, release_); /* inside the name */
  } else if (strcmp(key, "packed-wire") == 0) {
    heap[0] = 0x08; /* field 1 (name, a string) as a varint */
    heap[1] = 1;
    rc = rpc_call_reply_packed(call, heap, 2, release_);
  } else if (strcmp(key, "packed-big") == 0) {
    uint8_t *big = calloc(1, MAX_MSG + 1);
    rc = rpc_call_reply_packed(call, big, MAX_MSG + 1, release_);
    free(heap);
  } else if (strcmp(key, "packed-twice") == 0) {
    Tvmaze__V1__CheckApiKeyResponse first = TVMAZE__V1__CHECK_API_KEY_RESPONSE__INIT;
    first.name = (char *)"first";
    done(&first, call);
    rc = rpc_call_reply_packed(call, heap, pack_reply_("second", heap), release_);
  } else {
    free(heap);
    return 0;
  }
  atomic_store(&packed_rc, (int)rc);
  return 1;
}

static void auth_impl_check_api_key(Tvmaze__V1__Auth_Service *svc,
                                    const Tvmaze__V1__CheckApiKeyRequest *req,
                                    Tvmaze__V1__CheckApiKeyResponse_Closure done, void *cd) {
  (void)svc;
  rpc_call *call = cd;
  Tvmaze__V1__CheckApiKeyResponse resp = TVMAZE__V1__CHECK_API_KEY_RESPONSE__INIT;
  char buf[512];
  char *big = NULL;
  if (packed_reply_(call, req->key, done)) {
    return;
  }
  if (strncmp(req->key, "echo:", 5) == 0) {
    resp.name = req->key + 5;
    resp.tier = TVMAZE__V1__KEY_TIER__KEY_TIER_BASIC;
  } else if (strcmp(req->key, "fail") == 0) {
    rpc_call_set_status(call, RPC_PERMISSION_DENIED, "key %s is revoked", req->key);
    done(NULL, cd);
    return;
  } else if (strcmp(req->key, "sleep") == 0) {
    int64_t left = rpc_call_deadline_remaining_ms(call);
    sleep_ms_((left == INT64_MAX ? 0 : left) + 50);
    resp.name = (char *)"late";
  } else if (strcmp(req->key, "hold") == 0) {
    atomic_store(&held, 1);
    sleep_ms_(300);
    resp.name = (char *)"held";
  } else if (strcmp(req->key, "stuck") == 0) {
    /* Outlives the grace period: runs until the test releases it. */
    atomic_store(&stuck, 1);
    while (!atomic_load(&release_stuck)) {
      sleep_ms_(5);
    }
    resp.name = (char *)"too late";
  } else if (strcmp(req->key, "big") == 0) {
    big = malloc(MAX_MSG + 10);
    memset(big, 'x', MAX_MSG + 9);
    big[MAX_MSG + 9] = '\0';
    resp.name = big;
  } else if (strcmp(req->key, "meta") == 0) {
    const char *rid = rpc_call_metadata(call, "x-request-id");
    int64_t left = rpc_call_deadline_remaining_ms(call);
    const int *tok = rpc_call_worker_data(call);
    int idx = rpc_call_worker_index(call);
    snprintf(buf, sizeof buf, "%s|%s|%s|%s|%s", rid ? rid : "(none)",
             left > 0 && left <= 60000 ? "deadline" : "no-deadline", rpc_call_method(call),
             tok != NULL && *tok == 1000 + idx ? "worker-ok" : "worker-bad",
             rpc_call_peer(call) != NULL ? "peer" : "no-peer");
    resp.name = buf;
  } else {
    rpc_call_set_status(call, RPC_UNAUTHENTICATED, "unknown key");
    done(NULL, cd);
    return;
  }
  done(&resp, cd);
  free(big);
}

static Tvmaze__V1__Auth_Service auth_impl = TVMAZE__V1__AUTH__INIT(auth_impl_);
static Tvmaze__V1__Shows_Service shows_impl; /* every handler NULL */

static rpc_server *srv;
static rpc_channel *chan;
static ProtobufCService *auth;
static char target[64];

static rpc_server *make_server_grace_(int grace_ms) {
  struct rpc_server_config cfg = {
      .addr = "127.0.0.1:0",
      .workers = WORKERS,
      .max_message_bytes = MAX_MSG,
      .grace_ms = grace_ms,
      .worker_init = worker_init_,
      .worker_fini = worker_fini_,
      .health = health_,
      .descriptor_set = tvmaze_descriptor_set,
      .descriptor_set_len = tvmaze_descriptor_set_len,
  };
  char err[256];
  rpc_server *s = rpc_server_create(&cfg, err, sizeof err);
  assert_non_null(s);
  assert_int_equal(rpc_server_add_service(s, &auth_impl.base), 0);
  assert_int_equal(rpc_server_add_service(s, &auth_impl.base), -1); /* duplicate */
  tvmaze__v1__shows__init(&shows_impl, NULL);
  assert_int_equal(rpc_server_add_service(s, &shows_impl.base), 0);
  assert_int_equal(rpc_server_start(s, err, sizeof err), 0);
  assert_int_equal(rpc_server_add_service(s, &shows_impl.base), -1); /* started */
  assert_true(rpc_server_port(s) > 0);
  return s;
}

static rpc_server *make_server_(void) {
  return make_server_grace_(5000);
}

static int setup_(void **state) {
  (void)state;
  srv = make_server_();
  snprintf(target, sizeof target, "127.0.0.1:%d", rpc_server_port(srv));
  chan = rpc_channel_create(target, 8u * MAX_MSG);
  auth = rpc_client_service_create(chan, &tvmaze__v1__auth__descriptor);
  return 0;
}

static void *run_until_signal_(void *arg) {
  static int sig;
  sig = rpc_server_run_until_signal(arg);
  return &sig;
}

static int teardown_(void **state) {
  (void)state;
  rpc_client_service_destroy(auth);
  rpc_channel_destroy(chan);
  /* Stop by request through run_until_signal: returns 0, workers finish. */
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, run_until_signal_, srv), 0);
  rpc_server_request_stop(srv);
  void *ret = NULL;
  pthread_join(t, &ret);
  assert_int_equal(*(int *)ret, 0);
  rpc_server_destroy(srv);
  assert_int_equal(atomic_load(&inits), atomic_load(&finis));
  return 0;
}

/* Calls CheckApiKey(key); the caller releases ctx. */
static void check_(ProtobufCService *svc, const char *key, struct rpc_client_ctx *ctx) {
  Tvmaze__V1__CheckApiKeyRequest req = TVMAZE__V1__CHECK_API_KEY_REQUEST__INIT;
  req.key = (char *)key;
  tvmaze__v1__auth__check_api_key(
      svc, &req, (Tvmaze__V1__CheckApiKeyResponse_Closure)rpc_client_keep_reply, ctx);
}

static void test_ok_reply(void **state) {
  (void)state;
  struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(10000);
  check_(auth, "echo:hello", &ctx);
  assert_int_equal(ctx.code, RPC_OK);
  assert_string_equal(ctx.message, "");
  Tvmaze__V1__CheckApiKeyResponse *r = (Tvmaze__V1__CheckApiKeyResponse *)ctx.reply;
  assert_non_null(r);
  assert_string_equal(r->name, "hello");
  assert_int_equal(r->tier, TVMAZE__V1__KEY_TIER__KEY_TIER_BASIC);
  rpc_client_ctx_release(&ctx);
  assert_null(ctx.reply);
}

static int closure_calls;
static const ProtobufCMessage *closure_seen;
static void count_closure_(const ProtobufCMessage *reply, void *cd) {
  (void)cd;
  closure_calls++;
  closure_seen = reply;
}

static void test_reply_not_kept_is_freed(void **state) {
  (void)state;
  struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(10000);
  Tvmaze__V1__CheckApiKeyRequest req = TVMAZE__V1__CHECK_API_KEY_REQUEST__INIT;
  req.key = (char *)"echo:x";
  closure_calls = 0;
  tvmaze__v1__auth__check_api_key(auth, &req,
                                  (Tvmaze__V1__CheckApiKeyResponse_Closure)count_closure_, &ctx);
  assert_int_equal(closure_calls, 1);
  assert_non_null(closure_seen);
  assert_int_equal(ctx.code, RPC_OK);
  assert_null(ctx.reply); /* freed by the binding (LSan checks) */
}

static void test_handler_error(void **state) {
  (void)state;
  struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(10000);
  check_(auth, "fail", &ctx);
  assert_int_equal(ctx.code, RPC_PERMISSION_DENIED);
  assert_string_equal(ctx.message, "key fail is revoked");
  assert_null(ctx.reply);
  rpc_client_ctx_release(&ctx);
  check_(auth, "nobody", &ctx);
  assert_int_equal(ctx.code, RPC_UNAUTHENTICATED);
  assert_string_equal(ctx.message, "unknown key");
  rpc_client_ctx_release(&ctx);
}

static void test_deadline_exceeded(void **state) {
  (void)state;
  struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(100);
  check_(auth, "sleep", &ctx);
  assert_int_equal(ctx.code, RPC_DEADLINE_EXCEEDED);
  assert_null(ctx.reply);
  rpc_client_ctx_release(&ctx);
}

static void test_unknown_method_unimplemented(void **state) {
  (void)state;
  /* No deadline: a missing catch-all would hang here instead of failing. */
  ProtobufCService *ingest = rpc_client_service_create(chan, &tvmaze__v1__ingest__descriptor);
  struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(0);
  Tvmaze__V1__GetIngestRunRequest req = TVMAZE__V1__GET_INGEST_RUN_REQUEST__INIT;
  tvmaze__v1__ingest__get_ingest_run(
      ingest, &req, (Tvmaze__V1__GetIngestRunResponse_Closure)rpc_client_keep_reply, &ctx);
  assert_int_equal(ctx.code, RPC_UNIMPLEMENTED);
  assert_non_null(strstr(ctx.message, "/tvmaze.v1.Ingest/GetIngestRun"));
  rpc_client_ctx_release(&ctx);
  rpc_client_service_destroy(ingest);
}

static void test_null_handler_unimplemented(void **state) {
  (void)state;
  ProtobufCService *shows = rpc_client_service_create(chan, &tvmaze__v1__shows__descriptor);
  struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(10000);
  Tvmaze__V1__GetShowRequest req = TVMAZE__V1__GET_SHOW_REQUEST__INIT;
  req.id = 1;
  tvmaze__v1__shows__get_show(shows, &req,
                              (Tvmaze__V1__GetShowResponse_Closure)rpc_client_keep_reply, &ctx);
  assert_int_equal(ctx.code, RPC_UNIMPLEMENTED);
  rpc_client_ctx_release(&ctx);
  rpc_client_service_destroy(shows);
}

static void test_oversize_request(void **state) {
  (void)state;
  char *key = malloc(2 * MAX_MSG);
  memset(key, 'k', 2 * MAX_MSG - 1);
  key[2 * MAX_MSG - 1] = '\0';
  struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(10000);
  check_(auth, key, &ctx);
  assert_int_equal(ctx.code, RPC_RESOURCE_EXHAUSTED);
  rpc_client_ctx_release(&ctx);
  free(key);
  /* The server still answers afterwards. */
  check_(auth, "echo:after", &ctx);
  assert_int_equal(ctx.code, RPC_OK);
  rpc_client_ctx_release(&ctx);
}

static void test_oversize_reply(void **state) {
  (void)state;
  struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(10000);
  check_(auth, "big", &ctx);
  assert_int_equal(ctx.code, RPC_RESOURCE_EXHAUSTED);
  assert_null(ctx.reply);
  rpc_client_ctx_release(&ctx);
}

/* A fake tvmaze.v1.Auth whose CheckApiKey sends an Int64Value: field 1 as a
 * varint, which CheckApiKeyRequest (field 1 = string) cannot parse. */
static const ProtobufCMethodDescriptor garbage_methods_[] = {
    {"CheckApiKey", &google__protobuf__int64_value__descriptor,
     &tvmaze__v1__check_api_key_response__descriptor}};
static const unsigned garbage_index_[] = {0};
static const ProtobufCServiceDescriptor garbage_desc_ = {PROTOBUF_C__SERVICE_DESCRIPTOR_MAGIC,
                                                         "tvmaze.v1.Auth",
                                                         "Auth",
                                                         "Tvmaze__V1__Auth",
                                                         "tvmaze.v1",
                                                         1,
                                                         garbage_methods_,
                                                         garbage_index_};

static void test_garbage_request(void **state) {
  (void)state;
  ProtobufCService *g = rpc_client_service_create(chan, &garbage_desc_);
  Google__Protobuf__Int64Value v = GOOGLE__PROTOBUF__INT64_VALUE__INIT;
  v.value = 77;
  struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(10000);
  g->invoke(g, 0, &v.base, rpc_client_keep_reply, &ctx);
  assert_int_equal(ctx.code, RPC_INVALID_ARGUMENT);
  assert_null(ctx.reply);
  rpc_client_ctx_release(&ctx);
  rpc_client_service_destroy(g);
  check_(auth, "echo:still-alive", &ctx);
  assert_int_equal(ctx.code, RPC_OK);
  rpc_client_ctx_release(&ctx);
}

static void test_metadata_and_deadline(void **state) {
  (void)state;
  struct rpc_metadata md[] = {{"x-request-id", "req-42"}, {"x-other", "o"}};
  struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(30000);
  ctx.metadata = md;
  ctx.n_metadata = 2;
  check_(auth, "meta", &ctx);
  assert_int_equal(ctx.code, RPC_OK);
  assert_string_equal(((Tvmaze__V1__CheckApiKeyResponse *)ctx.reply)->name,
                      "req-42|deadline|/tvmaze.v1.Auth/CheckApiKey|worker-ok|peer");
  rpc_client_ctx_release(&ctx);
  /* Without deadline or metadata. */
  struct rpc_client_ctx ctx2 = RPC_CLIENT_CTX_INIT(0);
  check_(auth, "meta", &ctx2);
  assert_int_equal(ctx2.code, RPC_OK);
  assert_string_equal(((Tvmaze__V1__CheckApiKeyResponse *)ctx2.reply)->name,
                      "(none)|no-deadline|/tvmaze.v1.Auth/CheckApiKey|worker-ok|peer");
  rpc_client_ctx_release(&ctx2);
}

static void test_health(void **state) {
  (void)state;
  ProtobufCService *h = rpc_client_service_create(chan, &grpc__health__v1__health__descriptor);
  const char *names[] = {"", "tvmaze.v1.Auth", "tvmaze.v1.Shows", "grpc.health.v1.Health",
                         "no.such.Service"};
  const int want[] = {GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING,
                      GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING,
                      GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING,
                      GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING, -1};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = (char *)names[i];
    struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(10000);
    grpc__health__v1__health__check(
        h, &req, (Grpc__Health__V1__HealthCheckResponse_Closure)rpc_client_keep_reply, &ctx);
    if (want[i] < 0) {
      assert_int_equal(ctx.code, RPC_NOT_FOUND);
    } else {
      assert_int_equal(ctx.code, RPC_OK);
      assert_int_equal(((Grpc__Health__V1__HealthCheckResponse *)ctx.reply)->status, want[i]);
    }
    rpc_client_ctx_release(&ctx);
  }
  rpc_client_service_destroy(h);
}

/* Waits (up to 5 s) until releases reaches want; returns its value. */
static int releases_reach_(int want) {
  for (int i = 0; i < 500 && atomic_load(&releases) < want; i++) {
    sleep_ms_(10);
  }
  return atomic_load(&releases);
}

/* A packed reply arrives as exactly the handler's bytes (unknown field 99
 * included: repacking the client's message gives them back), taken over
 * without a copy (released once, after sending) or copied from the stack;
 * zero bytes are an empty reply. */
static void test_packed_reply(void **state) {
  (void)state;
  uint8_t want[128];
  size_t want_len = pack_reply_("from-cache", want);
  const char *keys[] = {"packed:from-cache", "packed-copy:from-cache"};
  for (size_t i = 0; i < 2; i++) {
    int before = atomic_load(&releases);
    struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(10000);
    check_(auth, keys[i], &ctx);
    assert_int_equal(ctx.code, RPC_OK);
    assert_int_equal(atomic_load(&packed_rc), RPC_OK);
    Tvmaze__V1__CheckApiKeyResponse *r = (Tvmaze__V1__CheckApiKeyResponse *)ctx.reply;
    assert_string_equal(r->name, "from-cache");
    assert_int_equal(r->tier, TVMAZE__V1__KEY_TIER__KEY_TIER_PREMIUM);
    assert_int_equal(r->base.n_unknown_fields, 1);
    uint8_t got[128];
    assert_int_equal(protobuf_c_message_get_packed_size(&r->base), want_len);
    protobuf_c_message_pack(&r->base, got);
    assert_memory_equal(got, want, want_len);
    rpc_client_ctx_release(&ctx);
    assert_int_equal(releases_reach_(before + 1 - (int)i), before + 1 - (int)i);
  }
  int before = atomic_load(&releases);
  struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(10000);
  check_(auth, "packed-empty", &ctx);
  assert_int_equal(ctx.code, RPC_OK);
  assert_string_equal(((Tvmaze__V1__CheckApiKeyResponse *)ctx.reply)->name, "");
  rpc_client_ctx_release(&ctx);
  assert_int_equal(releases_reach_(before + 1), before + 1);
}

/* Broken packed replies end the call with a status and a message, release
 * the bytes exactly once before rpc_call_reply_packed returns, and leave
 * the server serving. */
static void test_packed_reply_broken(void **state) {
  (void)state;
  const struct {
    const char *key;
    rpc_code code;    /* what the client sees */
    rpc_code rc;      /* what rpc_call_reply_packed returned */
    const char *text; /* in the status message */
    int released;
  } cases[] = {
      {"packed-null", RPC_INTERNAL, RPC_INTERNAL, "no packed reply", 0},
      {"packed-cut", RPC_INTERNAL, RPC_INTERNAL,
       "packed reply is not a tvmaze.v1.CheckApiKeyResponse: byte ", 1},
      {"packed-wire", RPC_INTERNAL, RPC_INTERNAL, "field name has wire type 0, not 2", 1},
      {"packed-big", RPC_RESOURCE_EXHAUSTED, RPC_RESOURCE_EXHAUSTED, "exceeds the limit", 1},
      {"packed-twice", RPC_OK, RPC_FAILED_PRECONDITION, "", 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int before = atomic_load(&releases);
    struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(10000);
    check_(auth, cases[i].key, &ctx);
    assert_int_equal(ctx.code, cases[i].code);
    assert_int_equal(atomic_load(&packed_rc), cases[i].rc);
    assert_non_null(strstr(ctx.message, cases[i].text));
    assert_int_equal(atomic_load(&releases), before + cases[i].released);
    if (cases[i].code == RPC_OK) {
      assert_string_equal(((Tvmaze__V1__CheckApiKeyResponse *)ctx.reply)->name, "first");
    } else {
      assert_null(ctx.reply);
    }
    rpc_client_ctx_release(&ctx);
  }
  struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(10000);
  check_(auth, "echo:still-serving", &ctx);
  assert_int_equal(ctx.code, RPC_OK);
  rpc_client_ctx_release(&ctx);
}

#define THREADS 8
#define CALLS 1000
static void *hammer_(void *arg) {
  intptr_t id = (intptr_t)arg;
  intptr_t ok = 0;
  for (int i = 0; i < CALLS; i++) {
    char key[64], want[64];
    snprintf(key, sizeof key, "echo:t%d-%d", (int)id, i);
    snprintf(want, sizeof want, "t%d-%d", (int)id, i);
    struct rpc_client_ctx ctx = RPC_CLIENT_CTX_INIT(30000);
    check_(auth, key, &ctx);
    if (ctx.code == RPC_OK &&
        strcmp(((Tvmaze__V1__CheckApiKeyResponse *)ctx.reply)->name, want) == 0) {
      ok++;
    }
    rpc_client_ctx_release(&ctx);
  }
  return (void *)ok;
}

static void test_concurrent_clients(void **state) {
  (void)state;
  pthread_t t[THREADS];
  for (intptr_t i = 0; i < THREADS; i++) {
    assert_int_equal(pthread_create(&t[i], NULL, hammer_, (void *)i), 0);
  }
  intptr_t total = 0;
  for (int i = 0; i < THREADS; i++) {
    void *ok = NULL;
    pthread_join(t[i], &ok);
    total += (intptr_t)ok;
  }
  assert_int_equal(total, THREADS * CALLS);
}

struct held_call_ {
  ProtobufCService *svc;
  struct rpc_client_ctx ctx;
  const char *key; /* NULL: "hold" */
};
static void *held_call_(void *arg) {
  struct held_call_ *h = arg;
  check_(h->svc, h->key != NULL ? h->key : "hold", &h->ctx);
  return NULL;
}

/* Drain: a call in flight when the server is destroyed still completes. */
static void test_drain_finishes_in_flight(void **state) {
  (void)state;
  rpc_server *s2 = make_server_();
  char t2[64];
  snprintf(t2, sizeof t2, "127.0.0.1:%d", rpc_server_port(s2));
  rpc_channel *c2 = rpc_channel_create(t2, 0);
  struct held_call_ h = {.svc = rpc_client_service_create(c2, &tvmaze__v1__auth__descriptor),
                         .ctx = RPC_CLIENT_CTX_INIT(30000)};
  atomic_store(&held, 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, held_call_, &h), 0);
  while (!atomic_load(&held)) {
    sleep_ms_(5);
  }
  rpc_server_destroy(s2); /* drains: waits for the held call */
  pthread_join(t, NULL);
  assert_int_equal(h.ctx.code, RPC_OK);
  assert_string_equal(((Tvmaze__V1__CheckApiKeyResponse *)h.ctx.reply)->name, "held");
  rpc_client_ctx_release(&h.ctx);
  /* After the drain the port is closed: calls fail, they do not hang. */
  check_(h.svc, "echo:x", &h.ctx);
  assert_int_equal(h.ctx.code, RPC_UNAVAILABLE);
  rpc_client_ctx_release(&h.ctx);
  rpc_client_service_destroy(h.svc);
  rpc_channel_destroy(c2);
}

static void *destroy_server_(void *arg) {
  rpc_server_destroy(arg);
  return NULL;
}

/* A handler still running when the grace period ends: the drain cancels its
 * call (the client sees it fail), the handler's late reply is dropped, and
 * the drain completes once the handler returns (no crash, no leak). */
static void test_drain_handler_outlives_grace(void **state) {
  (void)state;
  rpc_server *s2 = make_server_grace_(100);
  char t2[64];
  snprintf(t2, sizeof t2, "127.0.0.1:%d", rpc_server_port(s2));
  rpc_channel *c2 = rpc_channel_create(t2, 0);
  struct held_call_ h = {.svc = rpc_client_service_create(c2, &tvmaze__v1__auth__descriptor),
                         .ctx = RPC_CLIENT_CTX_INIT(60000)};
  h.key = "stuck";
  atomic_store(&stuck, 0);
  atomic_store(&release_stuck, 0);
  int finis_before = atomic_load(&finis);
  pthread_t client, drainer;
  assert_int_equal(pthread_create(&client, NULL, held_call_, &h), 0);
  while (!atomic_load(&stuck)) {
    sleep_ms_(5);
  }
  assert_int_equal(pthread_create(&drainer, NULL, destroy_server_, s2), 0);
  /* The client returns only once the drain has cancelled its call. */
  pthread_join(client, NULL);
  assert_int_not_equal(h.ctx.code, RPC_OK);
  assert_null(h.ctx.reply);
  atomic_store(&release_stuck, 1); /* the handler now replies, too late */
  pthread_join(drainer, NULL);
  assert_int_equal(atomic_load(&finis), finis_before + WORKERS);
  rpc_client_ctx_release(&h.ctx);
  rpc_client_service_destroy(h.svc);
  rpc_channel_destroy(c2);
}

static void test_bad_address(void **state) {
  (void)state;
  struct rpc_server_config cfg = {.addr = target}; /* in use */
  char err[256] = "";
  assert_null(rpc_server_create(&cfg, err, sizeof err));
  assert_non_null(strstr(err, target));
  cfg.addr = "127.0.0.1:notaport";
  assert_null(rpc_server_create(&cfg, err, sizeof err));
}

int main(void) {
  rpc_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ok_reply),
      cmocka_unit_test(test_reply_not_kept_is_freed),
      cmocka_unit_test(test_handler_error),
      cmocka_unit_test(test_deadline_exceeded),
      cmocka_unit_test(test_unknown_method_unimplemented),
      cmocka_unit_test(test_null_handler_unimplemented),
      cmocka_unit_test(test_oversize_request),
      cmocka_unit_test(test_oversize_reply),
      cmocka_unit_test(test_garbage_request),
      cmocka_unit_test(test_packed_reply),
      cmocka_unit_test(test_packed_reply_broken),
      cmocka_unit_test(test_metadata_and_deadline),
      cmocka_unit_test(test_health),
      cmocka_unit_test(test_concurrent_clients),
      cmocka_unit_test(test_drain_finishes_in_flight),
      cmocka_unit_test(test_drain_handler_outlives_grace),
      cmocka_unit_test(test_bad_address),
  };
  int rc = cmocka_run_group_tests(tests, setup_, teardown_);
  rpc_cleanup();
  return rc;
}
