/*
 * key_cache: API-key records cached in process, cleared on NOTIFY. See
 * key_cache.h.
 *
 * Threads: the listener thread owns its store (LISTEN api_keys) and polls
 * its socket (at most 250 ms at a time, so destroy is quick); workers get
 * and put under `lock`. The listener clears under the same lock, so a get
 * after the clear returned never sees an entry from before it.
 */
#include "key_cache.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_key.h"
#include "bcache.h"
#include "clock.h"
#include "log.h"
#include "xalloc.h"

#define SLOTS 1024
#define WAYS 4
#define POLL_MS 250
#define RETRY_MS 1000
#define MEMO_TTL_MS 1000

struct key_cache {
  char *database_url; /* read-only */
  pthread_t thread;
  atomic_int stop;
  pthread_mutex_t lock;   /* guards cache, listening; epoch's writes */
  struct bcache *cache;   /* digest -> struct store_key_record */
  _Atomic uint64_t epoch; /* clears so far (the memo reads it without the lock) */
  int listening;          /* the listener's LISTEN is in place */
  uint64_t id;            /* unique per cache created (the memo's owner) */
};

/* The last key this thread resolved (see the top of the file). */
struct memo_ {
  uint64_t id;    /* the cache's (0: empty) */
  uint64_t epoch; /* the cache's epoch when filled */
  int64_t until;  /* monotonic ms */
  size_t len;
  char key[API_KEY_MAX_LEN];
  struct store_key_record rec;
};
static _Thread_local struct memo_ memo_;
static _Atomic uint64_t next_id_ = 1;

/* Constant time in n: 1 when a[0..n) == b[0..n). */
static int same_bytes_(const char *a, const char *b, size_t n) {
  unsigned char d = 0;
  for (size_t i = 0; i < n; i++)
    d |= (unsigned char)(a[i] ^ b[i]);
  return d == 0;
}

/* Fills this thread's memo with key's record as of epoch. */
static void memo_fill_(const struct key_cache *kc, uint64_t epoch, const char *key, size_t len,
                       const struct store_key_record *rec, int64_t now) {
  if (len > sizeof memo_.key) {
    memo_.id = 0;
    return;
  }
  memo_.id = kc->id;
  memo_.epoch = epoch;
  memo_.until = now + MEMO_TTL_MS;
  memo_.len = len;
  memcpy(memo_.key, key, len);
  memo_.rec = *rec;
}

static void record_free_(void *value, void *cls) {
  (void)cls;
  free(value);
}

/* Drops every entry; listening as given. */
static void clear_(struct key_cache *kc, int listening) {
  pthread_mutex_lock(&kc->lock);
  bcache_clear(kc->cache);
  atomic_fetch_add(&kc->epoch, 1);
  kc->listening = listening;
  pthread_mutex_unlock(&kc->lock);
}

static void *run_(void *arg) {
  struct key_cache *kc = arg;
  struct store *s = NULL;
  int64_t retry_at = 0;
  while (!atomic_load(&kc->stop)) {
    if (s == NULL) {
      if (clock_mono_ms() < retry_at) {
        usleep(POLL_MS * 1000);
        continue;
      }
      s = store_open(kc->database_url);
      if (store_keys_listen(s) != STORE_OK) {
        store_close(s);
        s = NULL;
        retry_at = clock_mono_ms() + RETRY_MS;
        continue;
      }
      clear_(kc, 1); /* from now on every revoke is heard */
      LOG_EVENT(LOG_DEBUG, "key_cache_listening", LF_STR("channel", "api_keys"));
    }
    struct pollfd fd = {.fd = store_socket(s), .events = POLLIN};
    if (fd.fd >= 0)
      poll(&fd, 1, POLL_MS);
    int changed = store_keys_changed(s);
    if (changed != 0)
      clear_(kc, changed > 0);
    if (changed < 0) {
      LOG_EVENT(LOG_WARN, "key_cache_listener_lost", LF_STR("error", store_last_error(s)));
      store_close(s);
      s = NULL;
      retry_at = clock_mono_ms() + RETRY_MS;
    }
  }
  store_close(s);
  return NULL;
}

struct key_cache *key_cache_create(const char *database_url) {
  struct key_cache *kc = xcalloc(1, sizeof *kc);
  kc->database_url = xstrdup(database_url);
  kc->id = atomic_fetch_add(&next_id_, 1);
  pthread_mutex_init(&kc->lock, NULL);
  struct bcache_config cfg = {.slots = SLOTS, .ways = WAYS, .free_value = record_free_};
  kc->cache = bcache_create(&cfg);
  if (pthread_create(&kc->thread, NULL, run_, kc) != 0) {
    LOG_EVENT(LOG_ERROR, "key_cache_thread", LF_STR("error", "pthread_create failed"));
    abort();
  }
  return kc;
}

void key_cache_destroy(struct key_cache *kc) {
  if (kc == NULL)
    return;
  atomic_store(&kc->stop, 1);
  pthread_join(kc->thread, NULL);
  bcache_destroy(kc->cache);
  pthread_mutex_destroy(&kc->lock);
  free(kc->database_url);
  free(kc);
}

int key_cache_memo_get(struct key_cache *kc, const char *key, size_t len,
                       struct store_key_record *out) {
  if (memo_.id != kc->id || memo_.len != len || memo_.epoch != atomic_load(&kc->epoch) ||
      clock_mono_ms() >= memo_.until || !same_bytes_(memo_.key, key, len))
    return 0;
  *out = memo_.rec;
  return 1;
}

int key_cache_get(struct key_cache *kc, const unsigned char digest[STORE_KEY_DIGEST_LEN],
                  const char *key, size_t len, struct store_key_record *out) {
  int hit = 0;
  int64_t now = clock_mono_ms();
  pthread_mutex_lock(&kc->lock);
  if (kc->listening) {
    const struct store_key_record *r = bcache_get(kc->cache, digest, STORE_KEY_DIGEST_LEN, now);
    if (r != NULL) {
      *out = *r;
      hit = 1;
      memo_fill_(kc, atomic_load(&kc->epoch), key, len, r, now);
    }
  }
  pthread_mutex_unlock(&kc->lock);
  return hit;
}

uint64_t key_cache_epoch(struct key_cache *kc) {
  return atomic_load(&kc->epoch);
}

void key_cache_put(struct key_cache *kc, const unsigned char digest[STORE_KEY_DIGEST_LEN],
                   const char *key, size_t len, const struct store_key_record *rec,
                   uint64_t epoch) {
  struct store_key_record *copy = xmalloc(sizeof *copy);
  *copy = *rec;
  int64_t now = clock_mono_ms();
  pthread_mutex_lock(&kc->lock);
  if (kc->listening && kc->epoch == epoch) {
    bcache_put(kc->cache, digest, STORE_KEY_DIGEST_LEN, copy, 0, now + KEY_CACHE_TTL_MS, now);
    copy = NULL;
    memo_fill_(kc, epoch, key, len, rec, now);
  }
  pthread_mutex_unlock(&kc->lock);
  free(copy);
}
