/*
 * libFuzzer target: schedule JSON through ingest_parse_schedule (parse and
 * normalize, which includes html_to_text on summaries). Checks that every
 * text value of the resulting batch is valid UTF-8, that a batch survives
 * a second document merged into it, and that ingest_parse_schedule
 * (json_span, items parsed alone; without a memo, and with one: memo hits
 * the second time) gives the same status, error and rows as jansson's parse
 * of the whole document (ingest_parse_schedule_whole), with a memo that has
 * room and one that has none. Seeds: corpus/parse/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch_cmp.h"
#include "html_text.h"
#include "ingest_parse.h"
#include "utf8.h"

static void check_(const char *s) {
  if (s != NULL && !utf8_valid(s, strlen(s))) {
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ingest_parse_schedule against the whole-document parse; aborts on a
 * difference. */
static void memo_same_(const char *doc, size_t n) {
  struct row_batch p;
  char perr[256] = "", merr[256] = "", why[512];
  row_batch_init(&p);
  enum ingest_parse_status ps = ingest_parse_schedule_whole(&p, doc, n, perr, sizeof perr);
  /* no memo, a memo with room, and one without (every item is then parsed
   * in full) */
  for (int k = 0; k < 3; k++) {
    struct ingest_show_memo *m = k == 0 ? NULL : ingest_show_memo_create(k == 1 ? 1u << 20 : 0);
    for (int round = 0; round < 2; round++) {
      struct row_batch q;
      row_batch_init(&q);
      enum ingest_parse_status ms = ingest_parse_schedule(&q, m, doc, n, merr, sizeof merr);
      if (ms != ps || (ps != INGEST_PARSE_OK && strcmp(perr, merr) != 0) ||
          ingest_batch_diff(&p, &q, why, sizeof why) != 0) {
        abort();
      }
      row_batch_release(&q);
    }
    ingest_show_memo_destroy(m);
  }
  row_batch_release(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  memo_same_((const char *)data, size);
  struct row_batch b;
  row_batch_init(&b);
  char err[256];
  for (int round = 0; round < 2; round++) {
    (void)ingest_parse_schedule(&b, NULL, (const char *)data, size, err, sizeof err);
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
  row_batch_release(&b);
  char *t = html_to_text((const char *)data, size);
  check_(t);
  if (memchr(t, '\0', strlen(t)) != NULL) {
    abort();
  }
  free(t);
  return 0;
}
