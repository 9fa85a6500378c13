/*
 * trace: request and trace ids (splitmix64 streams), X-Request-Id and
 * traceparent checks. See trace.h. Tests: tests/integration/
 * test_gateway_http.sh (X-Request-Id kept or generated).
 */
#include "trace.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define GOLDEN 0x9e3779b97f4a7c15ULL

static uint64_t mix_(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void gw_idgen_init(struct gw_idgen *g) {
  uint64_t seed;
  if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    seed = (uint64_t)t.tv_sec * 1000000007u ^ (uint64_t)t.tv_nsec ^ (uintptr_t)&t;
  }
  atomic_init(&g->state, seed);
}

/* One identity's private stream, seeded by one step of the generator. */
struct stream {
  uint64_t s;
};

static struct stream stream_(struct gw_idgen *g) {
  uint64_t s = atomic_fetch_add_explicit(&g->state, GOLDEN, memory_order_relaxed);
  return (struct stream){mix_(s + GOLDEN)};
}

static uint64_t next_(struct stream *st) {
  return mix_(st->s += GOLDEN);
}

/* Writes 2 * nbytes random hex digits and a NUL to out. */
static void random_hex_(struct stream *st, char *out, size_t nbytes) {
  static const char hex[] = "0123456789abcdef";
  uint64_t v = 0;
  for (size_t i = 0; i < nbytes; i++) {
    if (i % 8 == 0)
      v = next_(st);
    unsigned char c = (unsigned char)(v >> (i % 8 * 8));
    out[2 * i] = hex[c >> 4];
    out[2 * i + 1] = hex[c & 15];
  }
  out[2 * nbytes] = '\0';
}

static int is_hex_(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return 1;
}

static int valid_request_id_(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 128)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.' || c == ':'))
      return 0;
  }
  return 1;
}

void gw_trace_init(struct gw_idgen *g, struct gw_trace *t, const char *xrid,
                   const char *traceparent) {
  struct stream st = stream_(g);
  t->deadline_ms = 0;
  if (xrid && valid_request_id_(xrid))
    snprintf(t->request_id, sizeof t->request_id, "%s", xrid);
  else
    random_hex_(&st, t->request_id, 16);
  char trace_id[33], span[17];
  if (traceparent && strlen(traceparent) == 55 && strncmp(traceparent, "00-", 3) == 0 &&
      is_hex_(traceparent + 3, 32) && traceparent[35] == '-') {
    memcpy(trace_id, traceparent + 3, 32);
  } else if (strlen(t->request_id) == 32 && is_hex_(t->request_id, 32)) {
    memcpy(trace_id, t->request_id, 32);
  } else {
    random_hex_(&st, trace_id, 16);
  }
  trace_id[32] = '\0';
  random_hex_(&st, span, 8);
  span[16] = '\0';
  snprintf(t->traceparent, sizeof t->traceparent, "00-%s-%s-01", trace_id, span);
}

void gw_trace_new(struct gw_idgen *g, struct gw_trace *t) {
  gw_trace_init(g, t, NULL, NULL);
}
