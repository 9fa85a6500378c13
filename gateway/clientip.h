/*
 * clientip: the client address of a request: the peer, or, when the peer
 * is a trusted proxy (TVMAZE_TRUSTED_PROXIES: IPs and CIDRs), the
 * right-most X-Forwarded-For entry that is not itself trusted. The list is
 * parsed once into a handle owned by the daemon, read-only after, so
 * gw_client_ip is thread-safe.
 */
#ifndef TVMAZE_GATEWAY_CLIENTIP_H
#define TVMAZE_GATEWAY_CLIENTIP_H

#include <stddef.h>

struct gw_proxies;

/* 1 if every entry of a comma-separated list parses (IP or CIDR). */
int gw_proxy_list_valid(const char *list);

/* The trusted proxies of list (NULL or "": none; at most 32 entries;
 * entries that do not parse are skipped: check with gw_proxy_list_valid
 * first). list is not kept. */
struct gw_proxies *gw_proxies_create(const char *list);
void gw_proxies_destroy(struct gw_proxies *p);

/* Writes the client address of a request from peer with X-Forwarded-For
 * xff (may be NULL) to out. */
void gw_client_ip(const struct gw_proxies *p, const char *peer, const char *xff, char *out,
                  size_t outlen);

#endif
