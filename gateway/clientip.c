/*
 * clientip: trusted proxies and the client address behind them. See
 * clientip.h. Tests: tests/integration/test_gateway_limits.sh
 * ("X-Forwarded-For").
 */
#include "clientip.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define MAX_PROXIES 32

/* A trusted proxy: address + prefix length. */
struct proxy {
  int family;
  unsigned char addr[16];
  int bits;
};

/* Written by create only; read-only after (no lock). */
struct gw_proxies {
  struct proxy list[MAX_PROXIES];
  int n;
};

static int parse_proxy_(const char *s, size_t n, struct proxy *out) {
  char buf[64];
  if (n == 0 || n >= sizeof buf)
    return -1;
  memcpy(buf, s, n);
  buf[n] = '\0';
  char *slash = strchr(buf, '/');
  if (slash)
    *slash = '\0';
  if (inet_pton(AF_INET, buf, out->addr) == 1) {
    out->family = AF_INET;
    out->bits = 32;
  } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
    out->family = AF_INET6;
    out->bits = 128;
  } else {
    return -1;
  }
  if (slash) {
    char *end;
    long b = strtol(slash + 1, &end, 10);
    if (*end || b < 0 || b > out->bits)
      return -1;
    out->bits = (int)b;
  }
  return 0;
}

/* Calls fn on each trimmed entry of a comma-separated list until it
 * returns non-zero; returns that, or 0. */
static int each_entry_(const char *list, int (*fn)(const char *s, size_t n, void *cls), void *cls) {
  const char *p = list;
  while (p && *p) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    while (n && *p == ' ') {
      p++;
      n--;
    }
    int r = fn(p, n, cls);
    if (r)
      return r;
    p = e ? e + 1 : p + n;
  }
  return 0;
}

static int invalid_(const char *s, size_t n, void *cls) {
  (void)cls;
  struct proxy tmp;
  return parse_proxy_(s, n, &tmp) != 0;
}

int gw_proxy_list_valid(const char *list) {
  return !each_entry_(list, invalid_, NULL);
}

static int add_(const char *s, size_t n, void *cls) {
  struct gw_proxies *p = cls;
  if (p->n >= MAX_PROXIES)
    return 1;
  if (parse_proxy_(s, n, &p->list[p->n]) == 0)
    p->n++;
  return 0;
}

struct gw_proxies *gw_proxies_create(const char *list) {
  struct gw_proxies *p = xcalloc(1, sizeof *p);
  each_entry_(list, add_, p);
  return p;
}

void gw_proxies_destroy(struct gw_proxies *p) {
  free(p);
}

static int trusted_(const struct gw_proxies *ps, const char *ip) {
  unsigned char a[16];
  int fam;
  if (inet_pton(AF_INET, ip, a) == 1)
    fam = AF_INET;
  else if (inet_pton(AF_INET6, ip, a) == 1)
    fam = AF_INET6;
  else
    return 0;
  for (int i = 0; i < ps->n; i++) {
    const struct proxy *p = &ps->list[i];
    if (p->family != fam)
      continue;
    int bits = p->bits, k = 0, match = 1;
    for (; bits >= 8; bits -= 8, k++)
      if (a[k] != p->addr[k])
        match = 0;
    if (match && bits > 0) {
      unsigned char mask = (unsigned char)(0xff << (8 - bits));
      match = (a[k] & mask) == (p->addr[k] & mask);
    }
    if (match)
      return 1;
  }
  return 0;
}

void gw_client_ip(const struct gw_proxies *p, const char *peer, const char *xff, char *out,
                  size_t outlen) {
  snprintf(out, outlen, "%s", peer);
  if (!xff || !trusted_(p, peer))
    return;
  /* walk X-Forwarded-For from the right, skipping trusted hops */
  size_t n = strlen(xff);
  while (n > 0) {
    size_t end = n;
    while (n > 0 && xff[n - 1] != ',')
      n--;
    size_t start = n;
    while (start < end && xff[start] == ' ')
      start++;
    size_t e = end;
    while (e > start && xff[e - 1] == ' ')
      e--;
    char hop[64];
    if (e - start == 0 || e - start >= sizeof hop)
      return;
    memcpy(hop, xff + start, e - start);
    hop[e - start] = '\0';
    unsigned char tmp[16];
    if (inet_pton(AF_INET, hop, tmp) != 1 && inet_pton(AF_INET6, hop, tmp) != 1)
      return;
    snprintf(out, outlen, "%s", hop);
    if (!trusted_(p, hop))
      return;
    if (n > 0)
      n--; /* skip the comma */
  }
}
