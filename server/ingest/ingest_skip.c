/*
 * ingest_skip: see ingest_skip.h.
 */
#include "ingest_skip.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "ingest_parse.h"
#include "sha256.h"
#include "xalloc.h"

int ingest_skip_hash_body(const char *doc, size_t len, unsigned char out[STORE_INGEST_HASH_LEN]) {
  char prefix[64];
  int pn =
      snprintf(prefix, sizeof prefix, "tvmaze-ingest normalize %d\n", INGEST_NORMALIZE_VERSION);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  unsigned int n = 0;
  int ok = ctx != NULL && EVP_DigestInit_ex(ctx, sha256_md(), NULL) == 1 &&
           EVP_DigestUpdate(ctx, prefix, (size_t)pn) == 1 && EVP_DigestUpdate(ctx, doc, len) == 1 &&
           EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == STORE_INGEST_HASH_LEN;
  EVP_MD_CTX_free(ctx);
  return ok;
}

void ingest_skip_hash_day(const struct ingest_fetched_day *d, struct store_ingest_source_hash **out,
                          size_t *n) {
  struct store_ingest_source_hash *h = xcalloc(d->n_docs + 1, sizeof *h);
  *n = d->n_docs;
  for (size_t i = 0; i < d->n_docs; i++) {
    snprintf(h[i].source, sizeof h[i].source, "%s", d->sources[i]);
    if (!ingest_skip_hash_body(d->docs[i], d->doc_len[i], h[i].hash)) {
      *n = 0;
      break;
    }
  }
  *out = h;
}

int ingest_skip_unchanged(const struct store_ingest_stored_hash *stored, size_t n_stored,
                          const char *date, const struct store_ingest_source_hash *hashes, size_t n,
                          long long *episodes, long long *shows) {
  size_t matched = 0, of_date = 0;
  long long eps = 0, sh = 0;
  for (size_t i = 0; i < n_stored; i++) {
    const struct store_ingest_stored_hash *r = &stored[i];
    if (strcmp(r->date, date) != 0) {
      continue;
    }
    of_date++;
    eps = r->day_episodes;
    sh = r->day_shows;
    for (size_t j = 0; j < n; j++) {
      if (strcmp(r->h.source, hashes[j].source) == 0 &&
          memcmp(r->h.hash, hashes[j].hash, STORE_INGEST_HASH_LEN) == 0) {
        matched++;
        break;
      }
    }
  }
  if (n == 0 || of_date != n || matched != n) {
    return 0;
  }
  *episodes = eps;
  *shows = sh;
  return 1;
}
