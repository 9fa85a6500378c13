/*
 * arena: bump allocation in chunks. See arena.h.
 */
#include "arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define ALIGN 16u

struct arena_chunk {
  struct arena_chunk *next;
  size_t size, used;
  _Alignas(16) unsigned char data[];
};

static struct arena_chunk *chunk_new_(size_t size) {
  struct arena_chunk *c = xmalloc(sizeof *c + size);
  c->next = NULL;
  c->size = size;
  c->used = 0;
  return c;
}

void arena_init(struct arena *a, size_t chunk_size) {
  memset(a, 0, sizeof *a);
  a->chunk_size = chunk_size < 1024 ? 1024 : chunk_size;
}

void *arena_alloc(struct arena *a, size_t n) {
  if (a == NULL) {
    return xmalloc(n);
  }
  size_t need = (n + (ALIGN - 1)) & ~(size_t)(ALIGN - 1);
  if (need < n) {
    fprintf(stderr, "arena: allocation of %zu bytes overflows\n", n);
    abort();
  }
  struct arena_chunk *c = a->head;
  if (c == NULL || c->size - c->used < need) {
    if (need > a->chunk_size / 4) {
      /* Large: a chunk of its own, behind the one being filled. */
      struct arena_chunk *big = chunk_new_(need);
      big->used = need;
      a->held += need;
      if (c != NULL) {
        big->next = c->next;
        c->next = big;
      } else {
        a->head = big;
      }
      return big->data;
    }
    c = chunk_new_(a->chunk_size);
    c->next = a->head;
    a->head = c;
    a->held += a->chunk_size;
  }
  void *p = c->data + c->used;
  c->used += need;
  return p;
}

void *arena_calloc(struct arena *a, size_t count, size_t size) {
  if (a == NULL) {
    return xcalloc(count, size);
  }
  if (size != 0 && count > SIZE_MAX / size) {
    fprintf(stderr, "arena: %zu x %zu bytes overflows\n", count, size);
    abort();
  }
  void *p = arena_alloc(a, count * size);
  memset(p, 0, count * size);
  return p;
}

char *arena_strdup(struct arena *a, const char *s) {
  if (a == NULL) {
    return xstrdup(s);
  }
  size_t n = strlen(s) + 1;
  char *p = arena_alloc(a, n);
  memcpy(p, s, n);
  return p;
}

void arena_adopt(struct arena *a, void *p) {
  if (a == NULL || p == NULL) {
    return;
  }
  if (a->n_adopted == a->cap_adopted) {
    a->cap_adopted = a->cap_adopted ? a->cap_adopted * 2 : 8;
    a->adopted = xrealloc(a->adopted, a->cap_adopted * sizeof *a->adopted);
  }
  a->adopted[a->n_adopted++] = p;
}

void arena_reset(struct arena *a) {
  for (size_t i = 0; i < a->n_adopted; i++) {
    free(a->adopted[i]);
  }
  a->n_adopted = 0;
  /* Keep one regular chunk; large ones and the rest go. */
  struct arena_chunk *keep = NULL;
  struct arena_chunk *c = a->head;
  while (c != NULL) {
    struct arena_chunk *next = c->next;
    if (keep == NULL && c->size == a->chunk_size) {
      keep = c;
      keep->used = 0;
      keep->next = NULL;
    } else {
      free(c);
    }
    c = next;
  }
  a->head = keep;
  a->held = keep != NULL ? keep->size : 0;
}

size_t arena_held(const struct arena *a) {
  return a->held;
}

void arena_release(struct arena *a) {
  arena_reset(a);
  free(a->head);
  free(a->adopted);
  size_t chunk_size = a->chunk_size;
  memset(a, 0, sizeof *a);
  a->chunk_size = chunk_size;
}
