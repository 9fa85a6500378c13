/*
 * respcache: the gateway's in-process response cache ("microcache") for the
 * read routes (gw_route.cache: Shows and Analytics GETs). A 200 reply's JSON
 * body and ETag are kept for TVMAZE_RESPONSE_CACHE_TTL seconds under the
 * request target exactly as received (path + query), so a hot listing skips
 * the gRPC call, the protobuf decode and the JSON encode. Auth, rate limits,
 * headers, logs and metrics still run for every request (daemon.c): only the
 * body is reused. Staleness is bounded by the TTL (default 5 s; the data
 * changes at ingest, once a day, and clients are told max-age=300).
 *
 *   | table        | direct-mapped, RC_SLOTS slots by FNV-1a of the key   |
 *   | slot         | key (malloc), body (malloc), len, ETag, expiry (s)   |
 *   | replacement  | a new key evicts the slot's entry                     |
 *   | memory bound | at most RC_MAX_BYTES of bodies; larger bodies or a    |
 *   |              | full budget: not cached (counted as a skip)            |
 *
 * Thread safety: one mutex guards the table; a hit copies the body out under
 * it (the slot may be replaced as soon as the lock is released).
 * Tests: tests/integration/test_gateway_limits.sh ("response cache").
 */
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "strbuf.h"
#include "xalloc.h"

#define RC_SLOTS 1024
#define RC_MAX_BYTES (8u * 1024 * 1024)
#define RC_MAX_ENTRY (512u * 1024)

struct rc_slot {
  char *key;      /* request target; NULL = empty */
  char *body;     /* JSON reply */
  size_t len;     /* bytes in body */
  char etag[24];  /* quoted strong ETag of body */
  time_t expires; /* CLOCK_MONOTONIC seconds */
};

static pthread_mutex_t lock_ = PTHREAD_MUTEX_INITIALIZER; /* guards slots_, bytes_ */
static struct rc_slot *slots_;
static size_t bytes_;
static long ttl_s_; /* 0: disabled (read-only after init) */

static time_t now_s_(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec;
}

static struct rc_slot *slot_of_(const char *key) {
  uint32_t h = 2166136261u;
  for (const char *p = key; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  return &slots_[h % RC_SLOTS];
}

/* Empties s; caller holds lock_. */
static void clear_(struct rc_slot *s) {
  bytes_ -= s->key ? s->len : 0;
  free(s->key);
  free(s->body);
  memset(s, 0, sizeof *s);
}

void gw_respcache_init(long ttl_s) {
  ttl_s_ = ttl_s;
  if (ttl_s_ > 0)
    slots_ = xcalloc(RC_SLOTS, sizeof *slots_);
}

void gw_respcache_shutdown(void) {
  pthread_mutex_lock(&lock_);
  for (size_t i = 0; slots_ && i < RC_SLOTS; i++)
    clear_(&slots_[i]);
  free(slots_);
  slots_ = NULL;
  ttl_s_ = 0;
  pthread_mutex_unlock(&lock_);
}

int gw_respcache_enabled(void) {
  return ttl_s_ > 0;
}

int gw_respcache_get(const char *key, struct strbuf *body, char etag[24]) {
  if (ttl_s_ <= 0)
    return 0;
  int hit = 0;
  time_t now = now_s_();
  pthread_mutex_lock(&lock_);
  struct rc_slot *s = slot_of_(key);
  if (s->key && strcmp(s->key, key) == 0) {
    if (now < s->expires) {
      strbuf_reset(body);
      strbuf_append_n(body, s->body, s->len);
      memcpy(etag, s->etag, 24);
      hit = 1;
    } else {
      clear_(s);
    }
  }
  pthread_mutex_unlock(&lock_);
  return hit;
}

void gw_respcache_put(const char *key, const char *body, size_t len, const char *etag) {
  if (ttl_s_ <= 0 || len > RC_MAX_ENTRY)
    return;
  time_t now = now_s_();
  pthread_mutex_lock(&lock_);
  struct rc_slot *s = slot_of_(key);
  clear_(s);
  if (bytes_ + len <= RC_MAX_BYTES) {
    s->key = xstrdup(key);
    s->body = xmalloc(len ? len : 1);
    memcpy(s->body, body, len);
    s->len = len;
    snprintf(s->etag, sizeof s->etag, "%s", etag);
    s->expires = now + ttl_s_;
    bytes_ += len;
  }
  pthread_mutex_unlock(&lock_);
}
