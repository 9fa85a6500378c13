/*
 * ingest_arena: see ingest_arena.h. Each thread has a list of chunks; an
 * allocation takes the next 16-byte-aligned bytes of the current chunk (or
 * the next chunk with room, or a new one twice the size of the last); a
 * free of arena memory only counts it. At end, an arena that needed more
 * than one chunk is replaced by one chunk of their total size (none above
 * 32 MiB), so a document of the same size fits in one chunk next time.
 */
#include "ingest_arena.h"

#include <assert.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "xalloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN_ 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN_ 1
#endif
#endif
#ifdef ARENA_ASAN_
#include <sanitizer/asan_interface.h>
#define POISON_(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON_(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON_(p, n) ((void)(p), (void)(n))
#define UNPOISON_(p, n) ((void)(p), (void)(n))
#endif

#define ALIGN_ 16u
#define CHUNK_MIN_ ((size_t)1 << 20)
#define KEEP_MAX_ ((size_t)8 << 20) /* an arena grown beyond this is freed at end */

struct chunk_ {
  struct chunk_ *next;
  size_t cap;  /* bytes of data */
  size_t used; /* bytes handed out since the last reset */
  unsigned char *data;
};

/* One per thread (thread-local: no lock). */
struct arena_ {
  struct chunk_ *first, *cur, *last; /* cur: where allocations go */
  size_t live;                       /* arena allocations not yet freed */
  int active;                        /* between begin and end */
  int registered;                    /* the thread-exit destructor knows it */
  size_t held;                       /* bytes of its chunks */
  size_t peak;                       /* the most held since the last begin */
};

static _Thread_local struct arena_ tl_arena_;
static pthread_once_t once_ = PTHREAD_ONCE_INIT;
static pthread_key_t key_;

static struct chunk_ *chunk_new_(size_t cap) {
  struct chunk_ *c = xcalloc(1, sizeof *c);
  c->cap = cap;
  c->data = xmalloc(cap);
  POISON_(c->data, cap);
  return c;
}

static void chunks_free_(struct chunk_ *c) {
  while (c != NULL) {
    struct chunk_ *next = c->next;
    UNPOISON_(c->data, c->cap);
    free(c->data);
    free(c);
    c = next;
  }
}

/* Thread exit: the arena's chunks go back to malloc. */
static void thread_exit_(void *p) {
  struct arena_ *a = p;
  chunks_free_(a->first);
  a->first = a->cur = a->last = NULL;
  a->held = 0;
}

static int in_arena_(const struct arena_ *a, const void *p) {
  uintptr_t u = (uintptr_t)p;
  for (const struct chunk_ *c = a->first; c != NULL; c = c->next) {
    uintptr_t lo = (uintptr_t)c->data;
    if (u >= lo && u < lo + c->cap) {
      return 1;
    }
  }
  return 0;
}

/* Every chunk empty again, allocations from the first on. */
static void rewind_(struct arena_ *a) {
  for (struct chunk_ *c = a->first; c != NULL; c = c->next) {
    POISON_(c->data, c->used);
    c->used = 0;
  }
  a->cur = a->first;
}

static void *arena_malloc_(size_t n) {
  struct arena_ *a = &tl_arena_;
  if (!a->active) {
    return malloc(n);
  }
  size_t need = n == 0 ? ALIGN_ : (n + ALIGN_ - 1) & ~(size_t)(ALIGN_ - 1);
  if (need < n) {
    return NULL; /* overflow: jansson reports out of memory */
  }
  struct chunk_ *c = a->cur;
  while (c != NULL && c->cap - c->used < need) {
    c = c->next;
  }
  if (c == NULL) {
    size_t cap = a->last != NULL ? 2 * a->last->cap : CHUNK_MIN_;
    c = chunk_new_(cap >= need ? cap : need);
    a->held += c->cap;
    a->peak = a->held > a->peak ? a->held : a->peak;
    if (a->last != NULL) {
      a->last->next = c;
    } else {
      a->first = c;
    }
    a->last = c;
  }
  a->cur = c;
  unsigned char *p = c->data + c->used;
  c->used += need;
  a->live++;
  UNPOISON_(p, n);
  return p;
}

static void arena_free_(void *p) {
  struct arena_ *a = &tl_arena_;
  if (p == NULL) {
    return;
  }
  if (in_arena_(a, p)) {
    assert(a->live > 0);
    if (--a->live == 0) {
      rewind_(a); /* nothing live: the next value starts at the front */
    }
    return;
  }
  free(p);
}

/* The hook's scope: every jansson call of the process, on every thread
 * (ingest_arena.h); only a thread between begin and end allocates from its
 * arena. */
static void install_once_(void) {
  (void)pthread_key_create(&key_, thread_exit_);
  json_set_alloc_funcs(arena_malloc_, arena_free_);
}

void ingest_arena_install(void) {
  pthread_once(&once_, install_once_);
}

void ingest_arena_begin(void) {
  struct arena_ *a = &tl_arena_;
  ingest_arena_install();
  assert(!a->active);
  if (!a->registered) {
    a->registered = pthread_setspecific(key_, a) == 0;
  }
  a->live = 0;
  a->cur = a->first;
  a->active = 1;
  a->peak = a->held;
}

void ingest_arena_end(void) {
  struct arena_ *a = &tl_arena_;
  assert(a->active);
  assert(a->live == 0);
  a->active = 0;
  if (a->first != NULL && a->first->next != NULL) {
    size_t total = 0;
    for (struct chunk_ *c = a->first; c != NULL; c = c->next) {
      total += c->cap;
    }
    chunks_free_(a->first);
    a->first = a->cur = a->last = total <= KEEP_MAX_ ? chunk_new_(total) : NULL;
    a->held = a->first != NULL ? total : 0;
    return;
  }
  if (a->first != NULL) {
    a->first->used = 0;
    POISON_(a->first->data, a->first->cap);
    a->cur = a->first;
  }
}

size_t ingest_arena_peak(void) {
  return tl_arena_.peak;
}
