/*
 * ingest_arena: a per-thread bump allocator for jansson's values while one
 * schedule document is parsed.
 *
 * jansson allocates every value, object slot, key and string separately
 * (json_set_alloc_funcs takes only malloc and free), and the parse of a
 * document frees them all again: malloc/free were about a quarter of the
 * server's CPU in the ingest benchmark. Between ingest_arena_begin and
 * ingest_arena_end on a thread, jansson's allocations on that thread come
 * from the thread's arena and its frees of arena memory cost nothing except
 * that the last one (no arena allocation live) rewinds it, so a caller
 * that frees each value before making the next (ingest_parse: one item at
 * a time) reuses the same memory; end resets the arena (the memory, up to
 * 8 MiB, is kept for the next document).
 *
 * The allocation functions are process-wide (jansson keeps one pair), so
 * they would serve every other jansson user too: in tvmaze-server there is
 * none (the read side decodes genres with common/json_strs.h, not jansson),
 * but a thread without an active arena (a test, a future user) gets
 * malloc, and a free of memory outside the calling thread's arena goes to
 * free. Hence the rule:
 * every jansson value made between begin and end on a thread is freed
 * (json_decref) on that thread before end, and nothing it pointed to is
 * used after end (ingest_parse copies every string it keeps). Debug builds
 * assert that no arena allocation is live at end; ASan builds poison the
 * arena after end, so a use after the reset is reported.
 *
 * Thread safety: per thread; install is idempotent and thread-safe, but the
 * server installs before any other thread uses jansson (it swaps jansson's
 * function pointers). The arena's memory is freed when its thread exits.
 * Tests: tests/unit/test_ingest_parse.c (arena cases), every parse test.
 */
#ifndef TVMAZE_INGEST_ARENA_H
#define TVMAZE_INGEST_ARENA_H

#include <stddef.h>

/* Makes jansson allocate through the arena functions (once per process). */
void ingest_arena_install(void);

/* From now on this thread's jansson allocations come from its arena.
 * Installs if needed. Not nestable. */
void ingest_arena_begin(void);

/* Every arena allocation of this thread must be freed already; resets the
 * arena and returns this thread to malloc. */
void ingest_arena_end(void);

/* The most memory (bytes of chunks) this thread's arena held between the
 * last ingest_arena_begin and now (tests). */
size_t ingest_arena_peak(void);

#endif
