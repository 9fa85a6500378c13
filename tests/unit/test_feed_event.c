/*
 * feed_event (gateway/feed_event.c): a change as an SSE event (event,
 * id = version, data = the change's JSON on one line) and as an NDJSON line
 * {"result": {"change": ...}}; a heartbeat in both forms; a summary with a
 * newline stays on the data line (JSON escapes it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "feed_event.h"

static void test_change(void **state) {
  (void)state;
  Tvmaze__V1__Episode ep = TVMAZE__V1__EPISODE__INIT;
  ep.id = 7;
  ep.show_id = 601;
  ep.summary = (char *)"line one\nline two";
  Tvmaze__V1__Change c = TVMAZE__V1__CHANGE__INIT;
  c.version = 1796224159396626;
  c.entity = TVMAZE__V1__CHANGE_ENTITY__CHANGE_ENTITY_EPISODE;
  c.op = TVMAZE__V1__CHANGE_OP__CHANGE_OP_UPDATED;
  c.id = 7;
  c.show_id = 601;
  c.episode = &ep;
  struct gw_feed_ev *e = gw_feed_ev_change(&c);
  size_t len;
  const char *sse = gw_feed_ev_text(e, 0, &len);
  char buf[1024];
  assert_true(len < sizeof buf);
  memcpy(buf, sse, len);
  buf[len] = '\0';
  const char *want =
      "event: change\nid: 1796224159396626\ndata: {\"version\":\"1796224159396626\",";
  assert_memory_equal(buf, want, strlen(want));
  assert_non_null(strstr(buf, "\"summary\":\"line one\\nline two\""));
  assert_int_equal(buf[len - 1], '\n');
  assert_int_equal(buf[len - 2], '\n');
  assert_null(memchr(buf + strlen(want), '\n', len - strlen(want) - 2)); /* one data line */
  const char *nd = gw_feed_ev_text(e, 1, &len);
  memcpy(buf, nd, len);
  buf[len] = '\0';
  const char *want_nd = "{\"result\":{\"change\":{\"version\":\"1796224159396626\",";
  assert_memory_equal(buf, want_nd, strlen(want_nd));
  assert_string_equal(buf + len - 4, "}}}\n");
  assert_true(gw_feed_ev_size(e) > len);
  struct gw_feed_ev *r = gw_feed_ev_ref(e);
  gw_feed_ev_unref(e);
  gw_feed_ev_unref(r);
  gw_feed_ev_unref(NULL);
}

static void test_heartbeat(void **state) {
  (void)state;
  struct gw_feed_ev *e = gw_feed_ev_heartbeat(42);
  size_t len;
  const char *sse = gw_feed_ev_text(e, 0, &len);
  const char *want = "event: heartbeat\ndata: {\"current_version\":\"42\"}\n\n";
  assert_int_equal(len, strlen(want));
  assert_memory_equal(sse, want, len);
  const char *nd = gw_feed_ev_text(e, 1, &len);
  const char *want_nd = "{\"result\":{\"heartbeat\":{\"current_version\":\"42\"}}}\n";
  assert_int_equal(len, strlen(want_nd));
  assert_memory_equal(nd, want_nd, len);
  gw_feed_ev_unref(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_change),
      cmocka_unit_test(test_heartbeat),
  };
  return cmocka_run_group_tests_name("feed_event", tests, NULL, NULL);
}
