/*
 * arena: a bump allocator for data that dies together, such as the reply
 * tree of one request (hundreds of small strings and messages): allocation
 * is a pointer bump, and arena_reset frees everything at once instead of
 * one free() per node.
 *
 *   struct arena a;
 *   arena_init(&a, 64 * 1024);
 *   Show *s = arena_alloc(&a, sizeof *s);  ... build, use ...
 *   arena_reset(&a);                       (keeps one chunk for the next use)
 *   arena_release(&a);                     (at the end)
 *
 * A NULL arena means the heap: arena_alloc(NULL, n) is xmalloc(n) and the
 * caller frees as usual, so code can build either way. Memory is 16-byte
 * aligned. Out of memory aborts (xalloc.h). Not thread-safe.
 */
#ifndef TVMAZE_COMMON_ARENA_H
#define TVMAZE_COMMON_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
  struct arena_chunk *head; /* chunk being filled; older ones behind it */
  size_t chunk_size;        /* usable bytes of a regular chunk */
  void **adopted;           /* heap blocks freed at reset */
  size_t n_adopted, cap_adopted;
  size_t held; /* bytes of the chunks held (not counting adopted blocks) */
};

void arena_init(struct arena *a, size_t chunk_size);
/* n bytes (uninitialized); a NULL: xmalloc. */
void *arena_alloc(struct arena *a, size_t n);
/* count * size zeroed bytes; a NULL: xcalloc. Aborts on overflow. */
void *arena_calloc(struct arena *a, size_t count, size_t size);
/* Copy of s; a NULL: xstrdup. */
char *arena_strdup(struct arena *a, const char *s);
/* Takes over a malloc'd block: freed at the next reset or release. a NULL:
 * nothing (the caller keeps ownership). */
void arena_adopt(struct arena *a, void *p);
/* Frees everything allocated or adopted since the last reset; keeps one
 * regular chunk. */
void arena_reset(struct arena *a);
/* Bytes of chunk memory the arena holds now (what its allocations cost,
 * alignment and unused chunk tails included; adopted blocks not counted). */
size_t arena_held(const struct arena *a);
/* Frees everything, chunks included. The arena may be initialized again. */
void arena_release(struct arena *a);

#endif
