/*
 * respcache: the gateway's in-process response cache ("microcache") for the
 * read routes (gw_route.cache: Shows and Analytics GETs). A 200 reply's JSON
 * body and ETag are kept for TVMAZE_RESPONSE_CACHE_TTL seconds under the
 * request target exactly as received (path + query), so a hot listing skips
 * the gRPC call, the protobuf decode and the JSON encode. Auth, rate limits,
 * headers, logs and metrics still run for every request (daemon.c): only the
 * body is reused. Staleness is bounded by twice the TTL (default 5 s; the
 * data changes at ingest, once a day, and clients are told max-age=300).
 *
 * Expiry without a stampede: when an entry's TTL has run out, the first
 * request for it becomes its refresher (it misses and fetches from the
 * server, holding the refresh for at most refresh_s, the upstream
 * deadline), while the requests that come meanwhile still get the stale
 * body (result "stale"), for at most another TTL. So a hot key costs one
 * upstream call per TTL instead of one per connection waiting at expiry
 * (which could fill the worker queue and answer 503). A failed refresh
 * stores nothing; the next request after refresh_s tries again.
 *
 *   | table        | direct-mapped, RC_SLOTS slots by FNV-1a of the key   |
 *   | slot         | key (malloc), refcounted body + len + ETag, expiry, |
 *   |              | refresh_until (a refresher holds the key until then) |
 *   | replacement  | a new key evicts the slot's entry                     |
 *   | memory bound | at most RC_MAX_BYTES of bodies; larger bodies or a    |
 *   |              | full budget: not cached (counted as a skip)            |
 *
 * Thread safety: one mutex guards the table. Bodies are immutable and
 * refcounted (struct gw_cached_body): a hit takes a reference under the lock
 * and the daemon hands the bytes to libmicrohttpd without copying them; the
 * reference is dropped by the response's free callback once the reply is
 * sent, so a slot may be replaced or expire while replies still use it.
 * Tests: tests/integration/test_gateway_limits.sh ("response cache").
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "hash.h"
#include "strbuf.h"
#include "xalloc.h"

#define RC_SLOTS 1024
#define RC_MAX_BYTES (8u * 1024 * 1024)
#define RC_MAX_ENTRY (512u * 1024)

struct gw_cached_body {
  atomic_uint refs; /* the slot's reference + one per reply in flight */
  size_t len;       /* bytes in data */
  char etag[24];    /* quoted strong ETag of data */
  char data[];      /* JSON reply */
};

struct rc_slot {
  char *key;                   /* request target; NULL = empty */
  struct gw_cached_body *body; /* refcounted; the slot holds one reference */
  time_t expires;              /* CLOCK_MONOTONIC seconds; stale until expires + TTL */
  time_t refresh_until;        /* a refresher is fetching the key until then */
};

static pthread_mutex_t lock_ = PTHREAD_MUTEX_INITIALIZER; /* guards slots_, bytes_ */
static struct rc_slot *slots_;
static size_t bytes_;
static long ttl_s_;     /* 0: disabled (read-only after init) */
static long refresh_s_; /* how long a refresher holds an expired key (read-only) */

static time_t now_s_(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec;
}

static struct rc_slot *slot_of_(const char *key) {
  return &slots_[hash_fnv1a32_str(key) % RC_SLOTS];
}

/* Empties s; caller holds lock_. */
static void clear_(struct rc_slot *s) {
  if (s->key)
    bytes_ -= s->body->len;
  free(s->key);
  gw_respcache_release(s->body);
  memset(s, 0, sizeof *s);
}

void gw_respcache_release(struct gw_cached_body *b) {
  if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
    free(b);
}

char *gw_cached_body_data(struct gw_cached_body *b, size_t *len) {
  *len = b->len;
  return b->data;
}

void gw_respcache_init(long ttl_s, long refresh_s) {
  ttl_s_ = ttl_s;
  refresh_s_ = refresh_s > 0 ? refresh_s : 1;
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

struct gw_cached_body *gw_respcache_get(const char *key, char etag[24], int *refresh) {
  *refresh = 0;
  if (ttl_s_ <= 0)
    return NULL;
  struct gw_cached_body *hit = NULL;
  time_t now = now_s_();
  pthread_mutex_lock(&lock_);
  struct rc_slot *s = slot_of_(key);
  if (s->key && strcmp(s->key, key) == 0) {
    if (now < s->expires || (now < s->expires + ttl_s_ && now < s->refresh_until)) {
      hit = s->body; /* fresh, or stale while another request refreshes it */
      atomic_fetch_add_explicit(&hit->refs, 1, memory_order_relaxed);
      memcpy(etag, hit->etag, 24);
      *refresh = now >= s->expires ? -1 : 0;
    } else if (now < s->expires + ttl_s_) {
      s->refresh_until = now + refresh_s_; /* this caller refreshes it */
      *refresh = 1;
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
    s->body = xmalloc(offsetof(struct gw_cached_body, data) + (len ? len : 1));
    atomic_init(&s->body->refs, 1);
    memcpy(s->body->data, body, len);
    s->body->len = len;
    snprintf(s->body->etag, sizeof s->body->etag, "%s", etag);
    s->expires = now + ttl_s_;
    bytes_ += len;
  }
  pthread_mutex_unlock(&lock_);
}
