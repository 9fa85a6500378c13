/*
 * clientip (gateway/clientip.c): trusted-proxy lists that parse or not,
 * the peer kept when it is not trusted, the right-most untrusted
 * X-Forwarded-For hop behind trusted ones (IPv4, IPv6, CIDR), garbage hops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clientip.h"

static void test_list_valid(void **state) {
  (void)state;
  assert_true(gw_proxy_list_valid(NULL));
  assert_true(gw_proxy_list_valid(""));
  assert_true(gw_proxy_list_valid("10.0.0.1"));
  assert_true(gw_proxy_list_valid("10.0.0.1, 10.1.0.0/16,::1,fd00::/8"));
  assert_false(gw_proxy_list_valid("10.0.0.1,nope"));
  assert_false(gw_proxy_list_valid("10.0.0.0/33"));
  assert_false(gw_proxy_list_valid("::1/129"));
  assert_false(gw_proxy_list_valid("10.0.0.0/x"));
}

static void test_client_ip(void **state) {
  (void)state;
  struct gw_proxies *p = gw_proxies_create("127.0.0.1, 10.1.0.0/16, fd00::/8");
  char out[64];
  /* untrusted peer: its header is ignored */
  gw_client_ip(p, "192.0.2.7", "203.0.113.1", out, sizeof out);
  assert_string_equal(out, "192.0.2.7");
  /* trusted peer, no header */
  gw_client_ip(p, "127.0.0.1", NULL, out, sizeof out);
  assert_string_equal(out, "127.0.0.1");
  /* the right-most hop that is not trusted */
  gw_client_ip(p, "127.0.0.1", "198.51.100.9, 203.0.113.1, 10.1.2.3", out, sizeof out);
  assert_string_equal(out, "203.0.113.1");
  gw_client_ip(p, "fd00::5", "2001:db8::1", out, sizeof out);
  assert_string_equal(out, "2001:db8::1");
  /* every hop trusted: the left-most */
  gw_client_ip(p, "127.0.0.1", "10.1.0.9,10.1.0.8", out, sizeof out);
  assert_string_equal(out, "10.1.0.9");
  /* garbage stops the walk at the last good hop */
  gw_client_ip(p, "127.0.0.1", "203.0.113.1, not-an-ip", out, sizeof out);
  assert_string_equal(out, "127.0.0.1");
  gw_client_ip(p, "127.0.0.1", "203.0.113.5, , 10.1.0.1", out, sizeof out);
  assert_string_equal(out, "10.1.0.1");
  gw_proxies_destroy(p);
  /* no proxies: always the peer */
  p = gw_proxies_create(NULL);
  gw_client_ip(p, "127.0.0.1", "203.0.113.1", out, sizeof out);
  assert_string_equal(out, "127.0.0.1");
  gw_proxies_destroy(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_list_valid),
      cmocka_unit_test(test_client_ip),
  };
  return cmocka_run_group_tests_name("clientip", tests, NULL, NULL);
}
