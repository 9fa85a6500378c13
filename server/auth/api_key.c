/*
 * api_key: finding the presented key in a call's metadata. See api_key.h.
 */
#include "api_key.h"

#include <string.h>
#include <strings.h>

int api_key_plausible(const char *k, size_t n) {
  if (n == 0 || n > API_KEY_MAX_LEN)
    return 0;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)k[i] < 0x21 || (unsigned char)k[i] > 0x7e)
      return 0;
  return 1;
}

/* The one value of header h: 1 with *v and *n set, 0 when absent, -1 when sent
 * more than once. */
static int one_value_(const rpc_call *call, const char *h, const char **v, size_t *n) {
  const char *vals[2];
  size_t lens[2];
  size_t count = rpc_call_metadata_all(call, h, vals, lens, 2);
  if (count == 0)
    return 0;
  if (count > 1)
    return -1;
  *v = vals[0];
  *n = lens[0];
  return 1;
}

enum api_key_status api_key_from_call(const rpc_call *call, const char **key, size_t *len,
                                      const char **why) {
  const char *auth = NULL, *xkey = NULL;
  size_t auth_n = 0, xkey_n = 0;
  int a = one_value_(call, "authorization", &auth, &auth_n);
  int x = one_value_(call, "x-api-key", &xkey, &xkey_n);
  if (a < 0) {
    *why = "authorization: sent more than once";
    return API_KEY_MALFORMED;
  }
  if (x < 0) {
    *why = "x-api-key: sent more than once";
    return API_KEY_MALFORMED;
  }
  if (a && x) {
    *why = "send the API key in one of authorization or x-api-key, not both";
    return API_KEY_MALFORMED;
  }
  if (a) {
    if (auth_n < 6 || strncasecmp(auth, "Bearer", 6) != 0 || (auth_n > 6 && auth[6] != ' ')) {
      *why = "authorization: must be \"Bearer <key>\"";
      return API_KEY_MALFORMED;
    }
    size_t skip = 6;
    while (skip < auth_n && auth[skip] == ' ')
      skip++;
    if (skip == auth_n) {
      *why = "authorization: Bearer with no key";
      return API_KEY_MALFORMED;
    }
    *key = auth + skip;
    *len = auth_n - skip;
  } else if (x) {
    *key = xkey;
    *len = xkey_n;
  } else {
    return API_KEY_MISSING;
  }
  if (!api_key_plausible(*key, *len)) {
    *why = "API key unknown or revoked";
    return API_KEY_MALFORMED;
  }
  return API_KEY_OK;
}

enum api_key_status api_key_relay_from_call(const rpc_call *call, const char **key, size_t *len,
                                            const char **why) {
  int r = one_value_(call, API_KEY_RELAY_HEADER, key, len);
  if (r == 0)
    return API_KEY_MISSING;
  if (r < 0 || !api_key_plausible(*key, *len)) {
    *why = API_KEY_RELAY_HEADER ": unknown or revoked";
    return API_KEY_MALFORMED;
  }
  return API_KEY_OK;
}
