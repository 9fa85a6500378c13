/*
 * framing: strict HTTP/1.1 framing of a request head. See framing.h.
 */
#include "framing.h"

#include <string.h>
#include <strings.h>

static int tchar_(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

void gw_framing_add(struct gw_framing *f, const char *key, const char *value) {
  if (key[0] == '\0')
    f->bad_name = 1;
  for (const char *k = key; *k; k++)
    if (!tchar_((unsigned char)*k))
      f->bad_name = 1;
  if (strcasecmp(key, "Host") == 0) {
    f->host++;
  } else if (strcasecmp(key, "Content-Length") == 0) {
    f->content_length++;
    f->cl = value;
  } else if (strcasecmp(key, "Transfer-Encoding") == 0) {
    f->transfer_encoding++;
    f->te = value;
  }
}

unsigned gw_framing_check(const struct gw_framing *f, const char *version, const char **why) {
  if (version == NULL || (strcmp(version, "HTTP/1.1") != 0 && strcmp(version, "HTTP/1.0") != 0)) {
    *why = "HTTP version not supported: HTTP/1.0 and HTTP/1.1 only";
    return 505;
  }
  if (f->bad_name) {
    *why = "malformed header name";
    return 400;
  }
  if (f->host > 1 || (f->host == 0 && strcmp(version, "HTTP/1.1") == 0)) {
    *why = "Host: exactly one is required";
    return 400;
  }
  if (f->content_length > 1) {
    *why = "Content-Length: at most one";
    return 400;
  }
  if (f->cl != NULL && (f->cl[0] == '\0' || strspn(f->cl, "0123456789") != strlen(f->cl))) {
    *why = "Content-Length: must be digits only";
    return 400;
  }
  if (f->transfer_encoding > 0 && f->content_length > 0) {
    *why = "Content-Length and Transfer-Encoding together";
    return 400;
  }
  if (f->transfer_encoding > 1 || (f->te != NULL && strcasecmp(f->te, "chunked") != 0)) {
    *why = "Transfer-Encoding: only chunked is implemented";
    return 501;
  }
  return 0;
}
