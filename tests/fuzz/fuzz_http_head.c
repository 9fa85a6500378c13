/*
 * libFuzzer target for the gateway's framing check of a request head
 * (gateway/framing.h): the input is read as a raw HTTP/1.x head, a request
 * line then "name: value" lines (LF or CRLF, a line without a colon is a
 * header with an empty value), fed header by header as pipeline.c feeds
 * what libmicrohttpd parsed, then checked. Finds crashes and UB; also
 * asserts that the answer is 0, 400, 501 or 505 with a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"

#define MAX_HEADERS 128

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = malloc(size + 1);
  memcpy(buf, data, size);
  buf[size] = '\0';
  struct gw_framing f = {0};
  const char *version = NULL;
  int n = 0;
  char *line = buf;
  for (int first = 1; line != NULL && n < MAX_HEADERS; first = 0) {
    char *next = strchr(line, '\n');
    if (next != NULL)
      *next++ = '\0';
    size_t len = strlen(line);
    if (len > 0 && line[len - 1] == '\r')
      line[--len] = '\0';
    if (first) {
      char *sp = strrchr(line, ' '); /* "GET /x HTTP/1.1": the version is last */
      version = sp != NULL ? sp + 1 : NULL;
    } else if (len == 0) {
      break; /* the end of the head */
    } else {
      char *colon = strchr(line, ':');
      const char *value = "";
      if (colon != NULL) {
        *colon = '\0';
        value = colon + 1;
        while (*value == ' ' || *value == '\t')
          value++;
      }
      gw_framing_add(&f, line, value);
      n++;
    }
    line = next;
  }
  const char *why = NULL;
  unsigned status = gw_framing_check(&f, version, &why);
  if (status != 0 && status != 400 && status != 501 && status != 505)
    abort();
  if (status != 0 && why == NULL)
    abort();
  free(buf);
  return 0;
}
