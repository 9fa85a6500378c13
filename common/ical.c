/*
 * ical: RFC 5545 content lines, TEXT escaping and the VEVENT of an episode.
 * See ical.h.
 */
#include "ical.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "date.h"

/* Bytes of the character starting at s[0] (n bytes left): the lead byte and
 * the continuation bytes after it (at most 3), so a fold never lands inside
 * a sequence, even a malformed one. */
static size_t char_octets_(const char *s, size_t n) {
  size_t k = 1;
  if ((unsigned char)s[0] >= 0xC0) {
    while (k < n && k < 4 && ((unsigned char)s[k] & 0xC0) == 0x80) {
      k++;
    }
  }
  return k;
}

void ical_line(struct strbuf *out, const char *name_params, const char *value) {
  size_t nlen = strlen(name_params), vlen = strlen(value);
  size_t col = 0;
  for (int part = 0; part < 3; part++) {
    const char *s = part == 0 ? name_params : part == 1 ? ":" : value;
    size_t n = part == 0 ? nlen : part == 1 ? 1 : vlen;
    for (size_t i = 0; i < n;) {
      size_t k = char_octets_(s + i, n - i);
      if (col + k > ICAL_FOLD_OCTETS) {
        strbuf_append(out, "\r\n ");
        col = 1;
      }
      strbuf_append_n(out, s + i, k);
      col += k;
      i += k;
    }
  }
  strbuf_append(out, "\r\n");
}

void ical_escape_text(struct strbuf *out, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\\' || c == ';' || c == ',') {
      strbuf_append_char(out, '\\');
      strbuf_append_char(out, (char)c);
    } else if (c == '\r' || c == '\n') {
      strbuf_append(out, "\\n");
      if (c == '\r' && i + 1 < len && s[i + 1] == '\n') {
        i++; /* CRLF is one line break */
      }
    } else if (c < 0x20 || c == 0x7F) {
      strbuf_append_char(out, ' '); /* CONTROL is not TEXT (RFC 5545 3.3.11) */
    } else {
      strbuf_append_char(out, (char)c);
    }
  }
}

void ical_text_line(struct strbuf *out, const char *name, const char *text) {
  struct strbuf v;
  strbuf_init(&v);
  ical_escape_text(&v, text, strlen(text));
  ical_line(out, name, v.data ? v.data : "");
  strbuf_release(&v);
}

void ical_calendar_begin(struct strbuf *out) {
  ical_line(out, "BEGIN", "VCALENDAR");
  ical_line(out, "VERSION", "2.0");
  ical_line(out, "PRODID", ICAL_PRODID);
  ical_line(out, "CALSCALE", "GREGORIAN");
  ical_line(out, "METHOD", "PUBLISH");
}

void ical_calendar_end(struct strbuf *out) {
  ical_line(out, "END", "VCALENDAR");
}

void ical_utc(int64_t unix_s, char out[17]) {
  time_t t = (time_t)unix_s;
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(out, 17, "%04d%02d%02dT%02d%02d%02dZ", (tm.tm_year + 1900) % 10000, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int present_(const char *s) {
  return s != NULL && s[0] != '\0';
}

void ical_summary(struct strbuf *out, const struct ical_event *ev) {
  strbuf_append(out, ev->show_name ? ev->show_name : "");
  if (ev->has_number) {
    strbuf_appendf(out, " S%02dE%02d", (int)ev->season, (int)ev->number);
  } else {
    strbuf_append(out, " Special");
  }
  if (present_(ev->name)) {
    strbuf_append_char(out, ' ');
    strbuf_append(out, ev->name);
  }
}

void ical_event_write(struct strbuf *out, const struct ical_event *ev) {
  char v[64];
  ical_line(out, "BEGIN", "VEVENT");
  snprintf(v, sizeof v, "%" PRId32 "@tvmaze-ingest", ev->episode_id);
  ical_line(out, "UID", v);
  ical_utc(ev->dtstamp, v);
  ical_line(out, "DTSTAMP", v);
  if (ev->all_day) {
    int y;
    unsigned m, d;
    date_to_civil(ev->airdate, &y, &m, &d);
    snprintf(v, sizeof v, "%04d%02u%02u", y, m, d);
    ical_line(out, "DTSTART;VALUE=DATE", v);
  } else {
    ical_utc(ev->start, v);
    ical_line(out, "DTSTART", v);
    if (ev->runtime_min > 0) {
      snprintf(v, sizeof v, "PT%" PRId32 "M", ev->runtime_min);
      ical_line(out, "DURATION", v);
    }
  }
  struct strbuf s;
  strbuf_init(&s);
  ical_summary(&s, ev);
  ical_text_line(out, "SUMMARY", s.data ? s.data : "");
  if (present_(ev->summary)) {
    ical_text_line(out, "DESCRIPTION", ev->summary);
  }
  if (ev->n_genres > 0) {
    /* a list of TEXT: each value escaped (its commas too), joined by ',' */
    strbuf_reset(&s);
    for (size_t i = 0; i < ev->n_genres; i++) {
      if (i > 0) {
        strbuf_append_char(&s, ',');
      }
      ical_escape_text(&s, ev->genres[i], strlen(ev->genres[i]));
    }
    ical_line(out, "CATEGORIES", s.data ? s.data : "");
  }
  strbuf_release(&s);
  ical_line(out, "END", "VEVENT");
}
