/*
 * rpc_tls: TLS for both halves of the binding on gRPC core's own SSL
 * credentials (see rpc.h "TLS" and rpc_tls_impl.h).
 *
 * Files are read whole (at most 1 MiB each) and checked with libcrypto
 * before gRPC sees them, so a bad file is a message naming its setting
 * instead of a failed handshake later: a certificate file must hold at
 * least one PEM certificate, the first (the leaf) inside its validity
 * period; a key file one unencrypted PEM private key, the leaf's key; a CA
 * file at least one PEM certificate.
 *
 * Server renewal: gRPC calls the certificate-config fetcher (fetch_) for
 * every new connection. It stats the files (cheap) and compares with what
 * it last loaded; on a change it loads and checks them again and hands gRPC
 * a new config (GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW) only when they
 * pass. Files caught half-written (a cert that no longer matches the key,
 * a truncated PEM) fail the check: the previous config stays in use
 * (RELOAD_UNCHANGED, so gRPC keeps its handshaker and logs nothing), that
 * state of the files is remembered and not tried again, and the next change
 * (the write completing) is tried. Connections already open keep their
 * session; new ones get the new certificate. A Kubernetes Secret volume
 * swaps a symlink, which stat follows: the inode changes.
 *
 * Client renewal: gRPC's own file watcher (experimental TLS credentials in
 * 1.51) re-reads the CA and the client pair every RPC_TLS_CLIENT_REFRESH_S
 * seconds; our check runs once, at creation.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "rpc_tls_impl.h"
#include "xalloc.h"

#define MAX_PEM_BYTES (1024 * 1024)
/* seconds between a client's looks at its files */
#define RPC_TLS_CLIENT_REFRESH_S 10

enum { F_CERT, F_KEY, F_CA, N_FILES };

/* The three files' contents (NUL-terminated; NULL when not configured). */
struct pem_ {
  char *text[N_FILES];
};

static void pem_free_(struct pem_ *p) {
  for (int i = 0; i < N_FILES; i++) {
    free(p->text[i]);
    p->text[i] = NULL;
  }
}

static const char *path_(const struct rpc_tls_files *t, int f) {
  return f == F_CERT ? t->cert : f == F_KEY ? t->key : t->ca;
}

static const char *name_(const struct rpc_tls_files *t, int f) {
  const char *n = f == F_CERT ? t->cert_name : f == F_KEY ? t->key_name : t->ca_name;
  return n != NULL ? n : f == F_CERT ? "certificate" : f == F_KEY ? "private key" : "CA";
}

/* Reads path whole into *out (malloc'd, NUL-terminated). -1 with a message. */
static int read_file_(const struct rpc_tls_files *t, int f, char **out, char *err, size_t errlen) {
  const char *path = path_(t, f);
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) {
    snprintf(err, errlen, "%s (%s): cannot read: %s", name_(t, f), path, strerror(errno));
    return -1;
  }
  char *buf = xmalloc(MAX_PEM_BYTES + 1);
  size_t n = fread(buf, 1, MAX_PEM_BYTES + 1, fp);
  int rerr = ferror(fp);
  fclose(fp);
  if (rerr || n > MAX_PEM_BYTES) {
    snprintf(err, errlen, "%s (%s): %s", name_(t, f), path,
             rerr ? "cannot read (is it a directory?)" : "larger than 1 MiB");
    free(buf);
    return -1;
  }
  buf[n] = '\0';
  *out = buf;
  return 0;
}

/* "Nov 25 12:00:00 2026 GMT" */
static void time_str_(const ASN1_TIME *t, char *out, size_t outlen) {
  BIO *b = BIO_new(BIO_s_mem());
  out[0] = '\0';
  if (b != NULL && ASN1_TIME_print(b, t) == 1) {
    int n = BIO_read(b, out, (int)outlen - 1);
    out[n > 0 ? n : 0] = '\0';
  }
  BIO_free(b);
}

/* Parses the certificates of file f; returns the first (the caller frees
 * it), or NULL with a message. check_time: the first must be valid now. */
static X509 *certs_(const struct rpc_tls_files *t, int f, const char *pem, int check_time,
                    char *err, size_t errlen) {
  BIO *b = BIO_new_mem_buf(pem, -1);
  X509 *first = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
  BIO_free(b);
  if (first == NULL) {
    snprintf(err, errlen, "%s (%s): no PEM certificate in the file", name_(t, f), path_(t, f));
    return NULL;
  }
  if (check_time) {
    char when[64];
    if (X509_cmp_current_time(X509_get0_notAfter(first)) <= 0) {
      time_str_(X509_get0_notAfter(first), when, sizeof when);
      snprintf(err, errlen, "%s (%s): the certificate expired on %s", name_(t, f), path_(t, f),
               when);
      X509_free(first);
      return NULL;
    }
    if (X509_cmp_current_time(X509_get0_notBefore(first)) >= 0) {
      time_str_(X509_get0_notBefore(first), when, sizeof when);
      snprintf(err, errlen, "%s (%s): the certificate is not valid before %s", name_(t, f),
               path_(t, f), when);
      X509_free(first);
      return NULL;
    }
  }
  return first;
}

/* A passphrase callback that gives none: an encrypted key fails instead of
 * prompting on the terminal. */
static int no_passphrase_(char *buf, int size, int rwflag, void *u) {
  (void)buf;
  (void)size;
  (void)rwflag;
  (void)u;
  return -1;
}

/* Checks that the key in pem is the private key of leaf. */
static int key_(const struct rpc_tls_files *t, const char *pem, X509 *leaf, char *err,
                size_t errlen) {
  BIO *b = BIO_new_mem_buf(pem, -1);
  EVP_PKEY *k = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase_, NULL) : NULL;
  BIO_free(b);
  int rc = 0;
  if (k == NULL) {
    snprintf(err, errlen, "%s (%s): no unencrypted PEM private key in the file", name_(t, F_KEY),
             t->key);
    rc = -1;
  } else if (X509_check_private_key(leaf, k) != 1) {
    snprintf(err, errlen, "%s (%s): the private key does not match the certificate of %s (%s)",
             name_(t, F_KEY), t->key, name_(t, F_CERT), t->cert);
    rc = -1;
  }
  EVP_PKEY_free(k);
  return rc;
}

/* Reads and checks the configured files into *p (see the file comment).
 * -1 with a message, *p empty. */
static int load_(const struct rpc_tls_files *t, int server, struct pem_ *p, char *err,
                 size_t errlen) {
  memset(p, 0, sizeof *p);
  X509 *leaf = NULL;
  int rc = -1;
  if (server && (t->cert == NULL || t->key == NULL)) {
    snprintf(err, errlen, "TLS needs both %s and %s", name_(t, F_CERT), name_(t, F_KEY));
    goto out;
  }
  if (!server && t->ca == NULL) {
    snprintf(err, errlen, "%s is required for TLS", name_(t, F_CA));
    goto out;
  }
  if ((t->cert == NULL) != (t->key == NULL)) {
    snprintf(err, errlen, "%s and %s go together: set both or neither", name_(t, F_CERT),
             name_(t, F_KEY));
    goto out;
  }
  for (int f = 0; f < N_FILES; f++) {
    if (path_(t, f) != NULL && read_file_(t, f, &p->text[f], err, errlen) != 0) {
      goto out;
    }
  }
  if (p->text[F_CA] != NULL) {
    X509 *ca = certs_(t, F_CA, p->text[F_CA], 0, err, errlen);
    if (ca == NULL) {
      goto out;
    }
    X509_free(ca);
  }
  if (p->text[F_CERT] != NULL) {
    leaf = certs_(t, F_CERT, p->text[F_CERT], 1, err, errlen);
    if (leaf == NULL || key_(t, p->text[F_KEY], leaf, err, errlen) != 0) {
      goto out;
    }
  }
  rc = 0;
out:
  X509_free(leaf);
  ERR_clear_error();
  if (rc != 0) {
    pem_free_(p);
  }
  return rc;
}

int rpc_tls_files_check(const struct rpc_tls_files *tls, int server, char *err, size_t errlen) {
  struct pem_ p;
  if (load_(tls, server, &p, err, errlen) != 0) {
    return -1;
  }
  pem_free_(&p);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Server: the certificate-config fetcher                             */
/* ------------------------------------------------------------------ */

/* What stat says of a file; all zero for a file not configured or absent. */
struct file_sig_ {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  struct timespec ctime;
};

struct rpc_tls_watch_ {
  pthread_mutex_t lock;             /* guards everything below but the constants */
  struct rpc_tls_files files;       /* constant: points into strings */
  char *strings[6];                 /* owned copies of files' paths and names */
  rpc_tls_reload_fn reloaded;       /* constant */
  void *user;                       /* constant */
  struct file_sig_ in_use[N_FILES]; /* the files gRPC has now */
  struct file_sig_ failed[N_FILES]; /* the last state that failed the check */
  int have_failed;
  grpc_ssl_server_certificate_config *first; /* the initial config, until fetched */
};

static void sigs_(const struct rpc_tls_files *t, struct file_sig_ s[N_FILES]) {
  memset(s, 0, N_FILES * sizeof *s);
  for (int f = 0; f < N_FILES; f++) {
    struct stat st;
    if (path_(t, f) != NULL && stat(path_(t, f), &st) == 0) {
      s[f] = (struct file_sig_){.dev = st.st_dev,
                                .ino = st.st_ino,
                                .size = st.st_size,
                                .mtime = st.st_mtim,
                                .ctime = st.st_ctim};
    }
  }
}

static int sigs_equal_(const struct file_sig_ *a, const struct file_sig_ *b) {
  for (int f = 0; f < N_FILES; f++) {
    if (a[f].dev != b[f].dev || a[f].ino != b[f].ino || a[f].size != b[f].size ||
        a[f].mtime.tv_sec != b[f].mtime.tv_sec || a[f].mtime.tv_nsec != b[f].mtime.tv_nsec ||
        a[f].ctime.tv_sec != b[f].ctime.tv_sec || a[f].ctime.tv_nsec != b[f].ctime.tv_nsec) {
      return 0;
    }
  }
  return 1;
}

static grpc_ssl_server_certificate_config *config_(const struct pem_ *p) {
  grpc_ssl_pem_key_cert_pair pair = {.private_key = p->text[F_KEY], .cert_chain = p->text[F_CERT]};
  /* gRPC 1.51 asserts (a debug assert, live in Debian's build) that a
   * fetched config has root certificates, even when no client certificate
   * is asked for; without a client CA it gets the server's own chain,
   * never used then (GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE). Copies the
   * strings. */
  const char *roots = p->text[F_CA] != NULL ? p->text[F_CA] : p->text[F_CERT];
  return grpc_ssl_server_certificate_config_create(roots, &pair, 1);
}

/* Loads the files as they are on disk now; the config, or NULL with err. */
static grpc_ssl_server_certificate_config *reload_(struct rpc_tls_watch_ *w,
                                                   struct file_sig_ sig[N_FILES], char *err,
                                                   size_t errlen) {
  struct pem_ p;
  sigs_(&w->files, sig);
  if (load_(&w->files, 1, &p, err, errlen) != 0) {
    return NULL;
  }
  grpc_ssl_server_certificate_config *c = config_(&p);
  pem_free_(&p);
  return c;
}

static grpc_ssl_certificate_config_reload_status fetch_(
    void *user, grpc_ssl_server_certificate_config **config) {
  struct rpc_tls_watch_ *w = user;
  grpc_ssl_certificate_config_reload_status st = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
  pthread_mutex_lock(&w->lock);
  if (w->first != NULL) {
    *config = w->first;
    w->first = NULL;
    st = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
    goto out;
  }
  struct file_sig_ now[N_FILES];
  sigs_(&w->files, now);
  if (sigs_equal_(now, w->in_use) || (w->have_failed && sigs_equal_(now, w->failed))) {
    goto out;
  }
  char err[512];
  grpc_ssl_server_certificate_config *c = reload_(w, now, err, sizeof err);
  if (c == NULL) {
    memcpy(w->failed, now, sizeof now);
    w->have_failed = 1;
    if (w->reloaded != NULL) {
      w->reloaded(err, w->user);
    }
    goto out;
  }
  memcpy(w->in_use, now, sizeof now);
  w->have_failed = 0;
  *config = c;
  st = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
  if (w->reloaded != NULL) {
    w->reloaded(NULL, w->user);
  }
out:
  pthread_mutex_unlock(&w->lock);
  return st;
}

struct rpc_tls_watch_ *rpc_tls_watch_create_(const struct rpc_tls_files *tls,
                                             rpc_tls_reload_fn reloaded, void *user,
                                             grpc_server_credentials **creds, char *err,
                                             size_t errlen) {
  struct rpc_tls_watch_ *w = xcalloc(1, sizeof *w);
  pthread_mutex_init(&w->lock, NULL);
  const char *src[6] = {tls->cert, tls->key, tls->ca, tls->cert_name, tls->key_name, tls->ca_name};
  for (int i = 0; i < 6; i++) {
    w->strings[i] = src[i] != NULL ? xstrdup(src[i]) : NULL;
  }
  w->files = (struct rpc_tls_files){.cert = w->strings[0],
                                    .key = w->strings[1],
                                    .ca = w->strings[2],
                                    .cert_name = w->strings[3],
                                    .key_name = w->strings[4],
                                    .ca_name = w->strings[5]};
  w->reloaded = reloaded;
  w->user = user;
  w->first = reload_(w, w->in_use, err, errlen);
  if (w->first == NULL) {
    rpc_tls_watch_destroy_(w);
    return NULL;
  }
  grpc_ssl_server_credentials_options *opts =
      grpc_ssl_server_credentials_create_options_using_config_fetcher(
          tls->ca != NULL ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
          fetch_, w);
  *creds = grpc_ssl_server_credentials_create_with_options(opts); /* takes opts */
  return w;
}

void rpc_tls_watch_destroy_(struct rpc_tls_watch_ *w) {
  if (w == NULL) {
    return;
  }
  if (w->first != NULL) {
    grpc_ssl_server_certificate_config_destroy(w->first);
  }
  for (int i = 0; i < 6; i++) {
    free(w->strings[i]);
  }
  pthread_mutex_destroy(&w->lock);
  free(w);
}

/* ------------------------------------------------------------------ */
/* Client                                                             */
/* ------------------------------------------------------------------ */

grpc_channel_credentials *rpc_tls_channel_creds_(const struct rpc_tls_files *tls, char *err,
                                                 size_t errlen) {
  if (rpc_tls_files_check(tls, 0, err, errlen) != 0) {
    return NULL;
  }
  /* gRPC's file watcher re-reads the files every RPC_TLS_CLIENT_REFRESH_S
   * seconds, so a renewed client certificate or CA reaches a long-lived
   * client (the gateway) without a restart; the server's certificate is
   * checked against the CA and the target's host name. */
  grpc_tls_certificate_provider *files = grpc_tls_certificate_provider_file_watcher_create(
      tls->key, tls->cert, tls->ca, RPC_TLS_CLIENT_REFRESH_S);
  grpc_tls_credentials_options *opts = grpc_tls_credentials_options_create();
  grpc_tls_credentials_options_set_certificate_provider(opts, files); /* takes a ref */
  grpc_tls_certificate_provider_release(files);
  grpc_tls_credentials_options_watch_root_certs(opts);
  if (tls->cert != NULL) {
    grpc_tls_credentials_options_watch_identity_key_cert_pairs(opts);
  }
  grpc_tls_credentials_options_set_verify_server_cert(opts, 1);
  grpc_tls_certificate_verifier *host = grpc_tls_certificate_verifier_host_name_create();
  grpc_tls_credentials_options_set_certificate_verifier(opts, host); /* takes a ref */
  grpc_tls_certificate_verifier_release(host);
  return grpc_tls_credentials_create(opts); /* takes opts */
}
