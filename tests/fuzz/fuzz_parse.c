/*
 * libFuzzer target: schedule JSON through ingest_parse_schedule (parse and
 * normalize, which includes html_to_text on summaries). Checks that every
 * text value of the resulting batch is valid UTF-8 and that a batch survives
 * a second document merged into it. Seeds: corpus/parse/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "html_text.h"
#include "ingest_parse.h"
#include "utf8.h"

static void check_(const char *s) {
  if (s != NULL && !utf8_valid(s, strlen(s))) {
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct ingest_batch b;
  ingest_batch_init(&b);
  char err[256];
  for (int round = 0; round < 2; round++) {
    (void)ingest_parse_schedule(&b, (const char *)data, size, err, sizeof err);
  }
  for (size_t i = 0; i < b.n_shows; i++) {
    check_(b.shows[i].name);
    check_(b.shows[i].summary);
    for (size_t g = 0; g < b.shows[i].n_genres; g++) {
      check_(b.shows[i].genres[g]);
    }
  }
  for (size_t i = 0; i < b.n_episodes; i++) {
    check_(b.episodes[i].name);
    check_(b.episodes[i].summary);
    if (b.episodes[i].id <= 0) {
      abort();
    }
  }
  ingest_batch_release(&b);
  char *t = html_to_text((const char *)data, size);
  check_(t);
  if (memchr(t, '\0', strlen(t)) != NULL) {
    abort();
  }
  free(t);
  return 0;
}
