/*
 * libFuzzer target: the streaming splitter of full mode (json_stream.h),
 * the second entry point next to fuzz_parse. The input's first byte seeds
 * the chunk sizes (1..64 bytes, then random); the rest is the document,
 * fed in those chunks and, again, in one piece. Both must give the same
 * items (bytes and boundaries) and the same result and message; every item
 * lies inside the document and within the item bound. Seeds:
 * corpus/parse/ (schedule documents are /schedule/full-shaped arrays).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_stream.h"
#include "strbuf.h"

#define MAX_ITEM_ 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every item, each prefixed by its length. */
static int item_(const char *p, size_t n, void *user) {
  if (n == 0 || n > MAX_ITEM_) {
    abort();
  }
  strbuf_append_n(user, (const char *)&n, sizeof n);
  strbuf_append_n(user, p, n);
  return 0;
}

/* Splits doc[0..n) in chunks (chunk 0: one piece); the result of finish
 * (or of the failing feed), items in *out, the message in err. */
static int split_(const char *doc, size_t n, unsigned seed, struct strbuf *out, char *err,
                  size_t errlen) {
  struct json_stream js;
  int rc = 0;
  json_stream_init(&js, MAX_ITEM_, item_, out);
  for (size_t off = 0; off < n && rc == 0;) {
    size_t k = n - off;
    if (seed != 0) {
      seed = seed * 1103515245u + 12345u;
      size_t c = 1 + (seed >> 16) % 64;
      k = c < k ? c : k;
    }
    rc = json_stream_feed(&js, doc + off, k) != 0 ? -1 : 0;
    off += k;
  }
  if (rc == 0) {
    rc = json_stream_finish(&js) != 0 ? -2 : 0;
  }
  strncpy(err, js.err, errlen - 1);
  err[errlen - 1] = '\0';
  json_stream_release(&js);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const char *doc = (const char *)data + 1;
  size_t n = size - 1;
  struct strbuf a, b;
  char ea[512], eb[512];
  strbuf_init(&a);
  strbuf_init(&b);
  int ra = split_(doc, n, 0, &a, ea, sizeof ea);
  int rb = split_(doc, n, 1u + data[0], &b, eb, sizeof eb);
  if (ra != rb || a.len != b.len || (a.len > 0 && memcmp(a.data, b.data, a.len) != 0) ||
      (ra != 0 && strcmp(ea, eb) != 0)) {
    abort();
  }
  strbuf_release(&a);
  strbuf_release(&b);
  return 0;
}
