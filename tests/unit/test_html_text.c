/*
 * Unit tests of server/ingest/html_text.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "html_text.h"
#include "utf8.h"

static void expect_text_(const char *html, const char *want) {
  char *got = html_to_text(html, strlen(html));
  assert_string_equal(got, want);
  assert_true(utf8_valid(got, strlen(got)));
  free(got);
}

static void test_tags_stripped(void **state) {
  (void)state;
  expect_text_("<p><b>Bold</b> and <i>italic</i> text.</p>", "Bold and italic text.");
  expect_text_("<a href=\"x>y\">link</a>", "link");
  expect_text_("a<!-- comment <p> -->b", "ab");
  expect_text_("<table><tr><td>a</td><td>b</td></tr></table>", "a b");
}

/* <br> and paragraph ends are line breaks; a run of them is one; none at
 * either end. */
static void test_line_breaks(void **state) {
  (void)state;
  expect_text_("<p>one</p><p>two</p>", "one\ntwo");
  expect_text_("<p>one</p>\n  <p>two</p>", "one\ntwo");
  expect_text_("line<br>break<br/>again<BR />end", "line\nbreak\nagain\nend");
  expect_text_("a<br><br> <br>b", "a\nb");
  expect_text_("<ul><li>x</li><li>y</li></ul>", "x\ny");
  expect_text_("<p>a <b>bold</b>.<br>Second&nbsp;line</p>", "a bold.\nSecond line");
  expect_text_("<br><p> x </p><br>", "x");
  /* a newline of the source is whitespace, not a break */
  expect_text_("one\ntwo", "one two");
}

static void test_entities(void **state) {
  (void)state;
  expect_text_("Tom &amp; Jerry&#39;s &quot;show&quot;", "Tom & Jerry's \"show\"");
  expect_text_("&lt;b&gt; &#x27;hex&#X27;", "<b> 'hex'");
  expect_text_("caf&eacute; &mdash; &hellip;", "caf\xc3\xa9 \xe2\x80\x94 \xe2\x80\xa6");
  expect_text_("&#x1F47E;", "\xf0\x9f\x91\xbe");
  expect_text_("&unknown; & alone &#;", "&unknown; & alone &#;");
  expect_text_("&#0; &#xD800; &#1114112;", "\xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd");
}

static void test_whitespace(void **state) {
  (void)state;
  expect_text_("  a \n\t b&nbsp;&nbsp;c  ", "a b c");
  expect_text_("<p> </p>", "");
  expect_text_("", "");
  expect_text_("x\xc2\xa0y", "x y");
}

static void test_utf8(void **state) {
  (void)state;
  expect_text_("\xe6\x99\x82\xe7\xa9\xba \xf0\x9f\x9a\x80",
               "\xe6\x99\x82\xe7\xa9\xba \xf0\x9f\x9a\x80");
  expect_text_("bad\xff\xfe end", "bad\xef\xbf\xbd\xef\xbf\xbd end");
  expect_text_("cut \xe6\x99", "cut \xef\xbf\xbd\xef\xbf\xbd");
  /* embedded NUL and control bytes vanish */
  char *got = html_to_text("a\0b\x01", 4);
  assert_string_equal(got, "ab");
  free(got);
}

static void test_lone_angle(void **state) {
  (void)state;
  expect_text_("1 < 2 and 3 > 2", "1 < 2 and 3 > 2");
  expect_text_("unterminated <b", "unterminated");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tags_stripped), cmocka_unit_test(test_line_breaks),
      cmocka_unit_test(test_entities),      cmocka_unit_test(test_whitespace),
      cmocka_unit_test(test_utf8),          cmocka_unit_test(test_lone_angle),
  };
  return cmocka_run_group_tests_name("html_text", tests, NULL, NULL);
}
