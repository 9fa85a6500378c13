/*
 * metrics_http: a Prometheus text listener -- libmicrohttpd on one internal
 * thread, GET /metrics only (404 for other paths, 405 for other methods),
 * whose body a render callback writes. It knows no metric: metrics.c owns
 * it and hands it metrics_render. The socket is bound here (getaddrinfo,
 * then handed to libmicrohttpd) so a bad address fails with the system's
 * reason. See metrics_http.h.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <netinet/in.h>

#include "metrics_http.h"
#include "promtext.h"
#include "strbuf.h"
#include "xalloc.h"

struct metrics_http {
  struct MHD_Daemon *daemon;
  metrics_http_render_fn render; /* called on the listener's thread */
  void *user;
};

static enum MHD_Result send_(struct MHD_Connection *con, unsigned status, const char *type,
                             char *body, size_t len, int allow_get) {
  struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
  if (r == NULL) {
    free(body);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  if (allow_get) {
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET");
  }
  enum MHD_Result ret = MHD_queue_response(con, status, r);
  MHD_destroy_response(r);
  return ret;
}

/* A short text/plain answer (404, 405). */
static enum MHD_Result send_text_(struct MHD_Connection *con, unsigned status, const char *msg,
                                  int allow_get) {
  size_t len = strlen(msg);
  char *p = malloc(len + 1);
  if (p == NULL) {
    return MHD_NO;
  }
  memcpy(p, msg, len + 1);
  return send_(con, status, "text/plain; charset=utf-8", p, len, allow_get);
}

static enum MHD_Result access_(void *cls, struct MHD_Connection *con, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_len, void **req_cls) {
  (void)version;
  (void)upload;
  (void)upload_len;
  (void)req_cls;
  struct metrics_http *h = cls;
  if (strcmp(url, "/metrics") != 0) {
    return send_text_(con, MHD_HTTP_NOT_FOUND, "not found: the exporter serves GET /metrics\n", 0);
  }
  if (strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
    return send_text_(con, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: GET /metrics only\n",
                      1);
  }
  struct strbuf b;
  strbuf_init(&b);
  h->render(h->user, &b);
  size_t n = 0;
  char *body = strbuf_detach(&b, &n);
  return send_(con, MHD_HTTP_OK, PROMTEXT_CONTENT_TYPE, body, n, 0);
}

/* A bound, listening socket for "host:port" ("[v6]:port"), or -1 with err. */
static int bind_(const char *addr, char *err, size_t errlen) {
  const char *colon = strrchr(addr, ':');
  if (colon == NULL || colon == addr || colon[1] == '\0') {
    snprintf(err, errlen, "expected HOST:PORT, got \"%s\"", addr);
    return -1;
  }
  char host[256];
  size_t hlen = (size_t)(colon - addr);
  if (addr[0] == '[' && hlen >= 2 && addr[hlen - 1] == ']') {
    addr++;
    hlen -= 2;
  }
  if (hlen >= sizeof host) {
    snprintf(err, errlen, "host too long in \"%s\"", addr);
    return -1;
  }
  memcpy(host, addr, hlen);
  host[hlen] = '\0';
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *res = NULL;
  int gai = getaddrinfo(host, colon + 1, &hints, &res);
  if (gai != 0) {
    snprintf(err, errlen, "cannot resolve \"%s\": %s", host, gai_strerror(gai));
    errno = EINVAL;
    return -1;
  }
  int fd = -1;
  int saved = 0;
  for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      saved = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 64) != 0) {
      saved = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) {
    snprintf(err, errlen, "cannot listen on \"%s:%s\": %s", host, colon + 1, strerror(saved));
    errno = saved;
  }
  return fd;
}

struct metrics_http *metrics_http_start(const char *addr, metrics_http_render_fn render, void *user,
                                        int *port, char *err, size_t errlen) {
  int fd = bind_(addr, err, errlen);
  if (fd < 0) {
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  int bound = 0;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
    bound = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                     : ntohs(((struct sockaddr_in *)&ss)->sin_port);
  }
  struct metrics_http *h = xcalloc(1, sizeof *h);
  h->render = render;
  h->user = user;
  /* One internal thread: scrapes are rare and small; the renderer's
   * database connection belongs to that thread. */
  h->daemon =
      MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL, access_, h,
                       MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
                       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
  if (h->daemon == NULL) {
    close(fd);
    free(h);
    snprintf(err, errlen, "cannot start the HTTP listener on \"%s\"", addr);
    return NULL;
  }
  if (port != NULL) {
    *port = bound;
  }
  return h;
}

void metrics_http_stop(struct metrics_http *h) {
  if (h == NULL) {
    return;
  }
  MHD_stop_daemon(h->daemon); /* closes the listening socket */
  free(h);
}
