/*
 * metrics_http: a Prometheus text listener on "host:port" (GET /metrics),
 * one libmicrohttpd thread, the body written by a render callback. Used by
 * metrics.c; knows no metric of its own.
 */
#ifndef TVMAZE_SERVER_METRICS_HTTP_H
#define TVMAZE_SERVER_METRICS_HTTP_H

#include <stddef.h>

struct strbuf;
struct metrics_http;

/* Writes the exposition into b; runs on the listener's thread only. */
typedef void (*metrics_http_render_fn)(void *user, struct strbuf *b);

/* Binds addr ("host:port", "[v6]:port"; port 0 picks one) and serves it
 * from a thread of its own. Returns the listener, or NULL with a message in
 * err and errno set (EADDRINUSE: port in use; EINVAL: the host does not
 * resolve). *port gets the bound port (may be NULL). user must outlive the
 * listener. */
struct metrics_http *metrics_http_start(const char *addr, metrics_http_render_fn render, void *user,
                                        int *port, char *err, size_t errlen);

/* Stops serving (no render call runs after it returns) and frees. Accepts
 * NULL. */
void metrics_http_stop(struct metrics_http *h);

#endif
