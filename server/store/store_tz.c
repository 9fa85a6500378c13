/*
 * store_tz: pg_timezone_names read once, looked up in memory. See store_tz.h.
 */
#include "store_tz.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static const char SQL_TZ_NAMES[] = "SELECT name FROM pg_timezone_names";

static pthread_mutex_t lock_ = PTHREAD_MUTEX_INITIALIZER;
static char **names_;   /* sorted by ascii_casecmp_; set once, then read-only */
static size_t n_names_; /* > 0 once loaded */

/* strcasecmp over ASCII alone (zone names are ASCII; no locale). */
static int ascii_casecmp_(const char *a, const char *b) {
  for (;; a++, b++) {
    int ca = (unsigned char)*a, cb = (unsigned char)*b;
    ca = ca >= 'A' && ca <= 'Z' ? ca + 32 : ca;
    cb = cb >= 'A' && cb <= 'Z' ? cb + 32 : cb;
    if (ca != cb || ca == 0) {
      return ca - cb;
    }
  }
}

static int cmp_names_(const void *a, const void *b) {
  return ascii_casecmp_(*(char *const *)a, *(char *const *)b);
}

static int cmp_key_(const void *key, const void *elem) {
  return ascii_casecmp_(key, *(char *const *)elem);
}

/* Reads the names through s (lock_ held). */
static enum store_status load_(struct store *s) {
  enum store_status st = STORE_OK;
  PGresult *r = store_exec(s, "tz_names", SQL_TZ_NAMES, 0, NULL, &st);
  if (r == NULL) {
    return st;
  }
  int n = PQntuples(r);
  if (n == 0) { /* no zones at all: every name unknown, read again next time */
    PQclear(r);
    return STORE_OK;
  }
  char **v = xcalloc((size_t)n, sizeof *v);
  for (int i = 0; i < n; i++) {
    v[i] = xstrdup(PQgetvalue(r, i, 0));
  }
  PQclear(r);
  qsort(v, (size_t)n, sizeof *v, cmp_names_);
  names_ = v;
  n_names_ = (size_t)n;
  return STORE_OK;
}

enum store_status store_tz_lookup(struct store *s, const char *name, const char **canon) {
  *canon = NULL;
  enum store_status st = STORE_OK;
  pthread_mutex_lock(&lock_);
  if (n_names_ == 0) {
    st = load_(s);
  }
  pthread_mutex_unlock(&lock_);
  if (st != STORE_OK || strnlen(name, STORE_TZ_MAX_NAME + 1) > STORE_TZ_MAX_NAME) {
    return st;
  }
  char *const *hit = bsearch(name, names_, n_names_, sizeof *names_, cmp_key_);
  *canon = hit != NULL ? *hit : NULL;
  return STORE_OK;
}
