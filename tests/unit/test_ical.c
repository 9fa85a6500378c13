/*
 * Unit tests of common/ical.c: TEXT escaping, folding at 75 octets (ASCII
 * and multi-byte: no physical line over 75 octets, none splitting a UTF-8
 * sequence, unfolding gives the line back), the VCALENDAR frame and the
 * VEVENT of timed, all-day and special episodes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "date.h"
#include "ical.h"
#include "strbuf.h"
#include "utf8.h"

/* The escaped form of s. */
static void escapes_to_(const char *s, const char *want) {
  struct strbuf b;
  strbuf_init(&b);
  ical_escape_text(&b, s, strlen(s));
  assert_string_equal(b.data, want);
  strbuf_release(&b);
}

static void test_escape(void **state) {
  (void)state;
  escapes_to_("plain text", "plain text");
  escapes_to_("a\\b;c,d", "a\\\\b\\;c\\,d");
  escapes_to_("one\ntwo\r\nthree\rfour", "one\\ntwo\\nthree\\nfour");
  escapes_to_("tab\there\x01", "tab here ");
  escapes_to_("caf\xc3\xa9 \xe6\x97\xa5", "caf\xc3\xa9 \xe6\x97\xa5");
  escapes_to_("", "");
}

/* Checks that doc's lines end in CRLF, are at most 75 octets, are valid
 * UTF-8 each, and that unfolding (CRLF + space removed) gives want. */
static void folded_ok_(const char *doc, const char *want) {
  struct strbuf unf;
  strbuf_init(&unf);
  const char *p = doc;
  int first = 1;
  while (*p) {
    const char *e = strstr(p, "\r\n");
    assert_non_null(e);
    size_t n = (size_t)(e - p);
    assert_true(n <= ICAL_FOLD_OCTETS);
    assert_true(utf8_valid(p, n));
    assert_null(memchr(p, '\n', n));
    if (!first) {
      assert_int_equal(p[0], ' ');
      strbuf_append_n(&unf, p + 1, n - 1);
    } else {
      strbuf_append_n(&unf, p, n);
    }
    first = 0;
    p = e + 2;
  }
  assert_string_equal(unf.data, want);
  strbuf_release(&unf);
}

static void test_fold_ascii(void **state) {
  (void)state;
  char value[301];
  for (int i = 0; i < 300; i++) {
    value[i] = (char)('a' + i % 26);
  }
  value[300] = '\0';
  struct strbuf b;
  strbuf_init(&b);
  ical_line(&b, "SUMMARY", value);
  /* 8 + 300 octets: 75, then 74 per continuation line */
  assert_int_equal(b.data[75], '\r');
  assert_int_equal(b.data[76], '\n');
  assert_int_equal(b.data[77], ' ');
  char want[320];
  snprintf(want, sizeof want, "SUMMARY:%s", value);
  folded_ok_(b.data, want);
  /* exactly 75 octets: no fold */
  strbuf_reset(&b);
  value[75 - 8] = '\0';
  ical_line(&b, "SUMMARY", value);
  assert_int_equal(b.len, 77);
  assert_null(strstr(b.data, "\r\n "));
  strbuf_release(&b);
}

static void test_fold_multibyte(void **state) {
  (void)state;
  /* 2-, 3- and 4-byte characters at every offset against the 75th octet */
  const char *pieces[] = {"\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x93\xba"};
  for (size_t k = 0; k < 3; k++) {
    for (int lead = 0; lead < 4; lead++) {
      struct strbuf v;
      strbuf_init(&v);
      for (int i = 0; i < lead; i++) {
        strbuf_append_char(&v, 'x');
      }
      for (int i = 0; i < 60; i++) {
        strbuf_append(&v, pieces[k]);
      }
      struct strbuf b;
      strbuf_init(&b);
      ical_line(&b, "DESCRIPTION", v.data);
      assert_non_null(strstr(b.data, "\r\n "));
      struct strbuf want;
      strbuf_init(&want);
      strbuf_appendf(&want, "DESCRIPTION:%s", v.data);
      folded_ok_(b.data, want.data);
      strbuf_release(&want);
      strbuf_release(&b);
      strbuf_release(&v);
    }
  }
}

static void test_calendar_frame(void **state) {
  (void)state;
  struct strbuf b;
  strbuf_init(&b);
  ical_calendar_begin(&b);
  ical_calendar_end(&b);
  assert_string_equal(b.data, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:" ICAL_PRODID
                              "\r\nCALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\nEND:VCALENDAR\r\n");
  strbuf_release(&b);
}

static void test_timed_event(void **state) {
  (void)state;
  const char *genres[] = {"Drama", "Sci, Fi"};
  struct ical_event ev = {.episode_id = 1234,
                          .dtstamp = 1764720000, /* 2025-12-03T00:00:00Z */
                          .start = 1764727200,   /* 02:00 */
                          .runtime_min = 60,
                          .show_name = "Show; Name",
                          .has_number = 1,
                          .season = 2,
                          .number = 5,
                          .name = "Pilot, Part 1",
                          .summary = "Line one.\nLine two.",
                          .genres = genres,
                          .n_genres = 2};
  struct strbuf b;
  strbuf_init(&b);
  ical_event_write(&b, &ev);
  assert_string_equal(b.data,
                      "BEGIN:VEVENT\r\n"
                      "UID:1234@tvmaze-ingest\r\n"
                      "DTSTAMP:20251203T000000Z\r\n"
                      "DTSTART:20251203T020000Z\r\n"
                      "DURATION:PT60M\r\n"
                      "SUMMARY:Show\\; Name S02E05 Pilot\\, Part 1\r\n"
                      "DESCRIPTION:Line one.\\nLine two.\r\n"
                      "CATEGORIES:Drama,Sci\\, Fi\r\n"
                      "END:VEVENT\r\n");
  strbuf_release(&b);
}

static void test_all_day_special(void **state) {
  (void)state;
  struct ical_event ev = {.episode_id = 7,
                          .dtstamp = 0,
                          .all_day = 1,
                          .airdate = date_from_civil(2026, 12, 3),
                          .runtime_min = 45, /* no DURATION for an all-day event */
                          .show_name = "Web Show",
                          .has_number = 0,
                          .season = 1,
                          .name = "Behind the Scenes"};
  struct strbuf b;
  strbuf_init(&b);
  ical_event_write(&b, &ev);
  assert_string_equal(b.data,
                      "BEGIN:VEVENT\r\n"
                      "UID:7@tvmaze-ingest\r\n"
                      "DTSTAMP:19700101T000000Z\r\n"
                      "DTSTART;VALUE=DATE:20261203\r\n"
                      "SUMMARY:Web Show Special Behind the Scenes\r\n"
                      "END:VEVENT\r\n");
  /* two digits at least, more when needed; no trailing space without a name */
  ev.has_number = 1;
  ev.season = 12;
  ev.number = 104;
  ev.name = "";
  strbuf_reset(&b);
  ical_summary(&b, &ev);
  assert_string_equal(b.data, "Web Show S12E104");
  strbuf_release(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_escape),         cmocka_unit_test(test_fold_ascii),
      cmocka_unit_test(test_fold_multibyte), cmocka_unit_test(test_calendar_frame),
      cmocka_unit_test(test_timed_event),    cmocka_unit_test(test_all_day_special),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
