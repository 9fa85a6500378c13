/*
 * sha256: SHA-256 through OpenSSL's EVP, with the algorithm fetched from
 * the provider once per process (EVP_sha256() makes every EVP_Digest fetch
 * it again: about two thirds of a short digest's cost).
 *
 * Thread-safe. Tests: through its users (test_keys, test_ingest_parse).
 */
#ifndef TVMAZE_SHA256_H
#define TVMAZE_SHA256_H

#include <stddef.h>

#include <openssl/evp.h>

#define SHA256_LEN 32

/* The fetched SHA-256 (EVP_sha256() if the fetch failed), for EVP_Digest*
 * calls of several parts. */
const EVP_MD *sha256_md(void);

/* out = SHA-256 of p[0..n). */
void sha256(const void *p, size_t n, unsigned char out[SHA256_LEN]);

#endif
