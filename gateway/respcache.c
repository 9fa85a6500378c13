/*
 * respcache: the response cache of the read routes. See respcache.h.
 *
 * Versions: an entry holds the data version it was filled at and is a hit
 * only for a lookup at that same version (the follower's, follow.h): after
 * an ingest every entry of the old version misses at once, whatever its
 * TTL; the TTL stays as an upper bound on an entry's age.
 *
 * Expiry without a stampede: when an entry's TTL has run out, the first
 * request for it becomes its refresher (it misses and fetches from the
 * server, holding the refresh for at most refresh_s, the upstream
 * deadline), while the requests that come meanwhile still get the stale
 * body (result "stale"), for at most another TTL. So a hot key costs one
 * upstream call per TTL instead of one per connection waiting at expiry
 * (which could fill the worker queue and answer 503). A failed refresh
 * stores nothing; the next request after refresh_s tries again. Staleness
 * is bounded by twice the TTL (default 5 s; the data changes at ingest,
 * once a day, and clients are told max-age=300).
 *
 *   | table        | common/bcache.h: RC_SLOTS direct-mapped slots by key |
 *   | entry        | refcounted body + len + ETag + content type, its     |
 *   |              | gzip form (or none)                                   |
 *   |              | likewise, fresh_until,                               |
 *   |              | refresh_until (a refresher holds the key until then); |
 *   |              | the bcache drops it at fresh_until + TTL              |
 *   | replacement  | a new key evicts the slot's entry                     |
 *   | memory bound | at most RC_MAX_BYTES of bodies (the bcache's budget, |
 *   |              | REFUSE); bodies over RC_MAX_ENTRY are not cached      |
 *
 * Thread safety: one mutex guards the table and the entries' times. A hit
 * takes a reference under the lock and the pipeline hands the bytes to
 * libmicrohttpd without copying them; the reference is dropped by the
 * response's free callback once the reply is sent.
 * Tests: tests/integration/test_gateway_limits.sh ("response cache"),
 * test_gateway_suspend.sh (a refresher parked, another request stale).
 */
#include "respcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bcache.h"
#include "clock.h"
#include "xalloc.h"

#define RC_SLOTS 1024
#define RC_MAX_BYTES (8u * 1024 * 1024)
#define RC_MAX_ENTRY (512u * 1024)

struct gw_cached_body {
  atomic_uint refs;                 /* the entry's reference + one per reply in flight */
  size_t len;                       /* bytes in data */
  char etag[24];                    /* quoted strong ETag of data */
  char type[GW_RESPCACHE_TYPE_MAX]; /* content type, "" for JSON */
  char data[];                      /* the reply's body */
};

/* The table's value. */
struct entry {
  struct gw_cached_body *body; /* the entry holds one reference */
  struct gw_cached_body *gz;   /* body's gzip form (one reference), or NULL */
  int64_t fresh_until;         /* monotonic s; stale (bcache: gone) from fresh_until + TTL */
  int64_t refresh_until;       /* a refresher is fetching the key until then */
  int64_t version;             /* data version the body was filled at */
};

struct gw_respcache {
  long ttl_s;           /* 0: disabled; read-only */
  long refresh_s;       /* how long a refresher holds an expired key; read-only */
  pthread_mutex_t lock; /* guards table and its entries */
  struct bcache *table; /* NULL when disabled */
};

void gw_cached_body_release(struct gw_cached_body *b) {
  if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
    free(b);
}

const char *gw_cached_body_type(const struct gw_cached_body *b) {
  return b->type;
}

char *gw_cached_body_data(struct gw_cached_body *b, size_t *len) {
  *len = b->len;
  return b->data;
}

static void entry_free_(void *value, void *cls) {
  (void)cls;
  struct entry *e = value;
  gw_cached_body_release(e->body);
  gw_cached_body_release(e->gz);
  free(e);
}

static int64_t now_s_(void) {
  return clock_mono_ms() / 1000;
}

struct gw_respcache *gw_respcache_create(long ttl_s, long refresh_s) {
  struct gw_respcache *rc = xcalloc(1, sizeof *rc);
  rc->ttl_s = ttl_s > 0 ? ttl_s : 0;
  rc->refresh_s = refresh_s > 0 ? refresh_s : 1;
  pthread_mutex_init(&rc->lock, NULL);
  if (rc->ttl_s > 0) {
    struct bcache_config cfg = {.slots = RC_SLOTS,
                                .ways = 1,
                                .max_cost = RC_MAX_BYTES,
                                .full = BCACHE_FULL_REFUSE,
                                .free_value = entry_free_};
    rc->table = bcache_create(&cfg);
  }
  return rc;
}

void gw_respcache_destroy(struct gw_respcache *rc) {
  if (!rc)
    return;
  bcache_destroy(rc->table);
  pthread_mutex_destroy(&rc->lock);
  free(rc);
}

int gw_respcache_enabled(const struct gw_respcache *rc) {
  return rc->ttl_s > 0;
}

struct gw_cached_body *gw_respcache_get(struct gw_respcache *rc, const char *key, int64_t version,
                                        int want_gzip, char etag[24], int *refresh, int *gzipped) {
  *refresh = 0;
  *gzipped = 0;
  if (rc->ttl_s <= 0)
    return NULL;
  struct gw_cached_body *hit = NULL;
  int64_t now = now_s_();
  pthread_mutex_lock(&rc->lock);
  struct entry *e = bcache_get(rc->table, key, strlen(key), now);
  if (e && e->version != version) {
    e = NULL; /* filled at another version: a miss (the put replaces it) */
  }
  if (e) { /* fresh, or stale for at most another TTL */
    if (now < e->fresh_until || now < e->refresh_until) {
      /* fresh, or stale while another request refreshes it */
      *gzipped = want_gzip && e->gz != NULL;
      hit = *gzipped ? e->gz : e->body;
      atomic_fetch_add_explicit(&hit->refs, 1, memory_order_relaxed);
      memcpy(etag, hit->etag, 24);
      *refresh = now >= e->fresh_until ? -1 : 0;
    } else {
      e->refresh_until = now + rc->refresh_s; /* this caller refreshes it */
      *refresh = 1;
    }
  }
  pthread_mutex_unlock(&rc->lock);
  return hit;
}

/* A new body (one reference) holding a copy of data, etag and type. */
static struct gw_cached_body *body_new_(const char *data, size_t len, const char *etag,
                                        const char *type) {
  struct gw_cached_body *b = xmalloc(offsetof(struct gw_cached_body, data) + (len ? len : 1));
  atomic_init(&b->refs, 1);
  memcpy(b->data, data, len);
  b->len = len;
  snprintf(b->etag, sizeof b->etag, "%s", etag);
  snprintf(b->type, sizeof b->type, "%s", type != NULL ? type : "");
  return b;
}

void gw_respcache_put(struct gw_respcache *rc, const char *key, int64_t version, const char *body,
                      size_t len, const char *etag, const char *gz, size_t gz_len,
                      const char *gz_etag, const char *content_type) {
  if (rc->ttl_s <= 0 || len > RC_MAX_ENTRY)
    return;
  struct entry *e = xmalloc(sizeof *e);
  e->body = body_new_(body, len, etag, content_type);
  e->gz = gz != NULL ? body_new_(gz, gz_len, gz_etag, content_type) : NULL;
  e->refresh_until = 0;
  e->version = version;
  int64_t now = now_s_();
  e->fresh_until = now + rc->ttl_s;
  pthread_mutex_lock(&rc->lock);
  bcache_put(rc->table, key, strlen(key), e, len + (gz != NULL ? gz_len : 0),
             e->fresh_until + rc->ttl_s, now);
  pthread_mutex_unlock(&rc->lock);
}
