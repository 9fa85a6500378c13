/*
 * sha256: see sha256.h.
 */
#include "sha256.h"

#include <pthread.h>

static EVP_MD *md_;
static pthread_once_t once_ = PTHREAD_ONCE_INIT;

static void fetch_(void) {
  md_ = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *sha256_md(void) {
  pthread_once(&once_, fetch_);
  return md_ != NULL ? md_ : EVP_sha256();
}

void sha256(const void *p, size_t n, unsigned char out[SHA256_LEN]) {
  unsigned int len = 0;
  EVP_Digest(p, n, out, &len, sha256_md(), NULL);
}
