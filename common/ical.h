/*
 * ical: an RFC 5545 (iCalendar) writer for Shows/GetCalendar, free of
 * service types: the caller maps its rows to struct ical_event.
 *
 *   - content lines end in CRLF and are folded (RFC 5545 3.1) so that no
 *     line is longer than ICAL_FOLD_OCTETS octets, the line break excluded:
 *     a fold is CRLF + one space (the space counts toward the next line),
 *     and never splits a UTF-8 sequence (the cut moves back to the lead
 *     byte of the sequence it would split);
 *   - TEXT values are escaped (3.3.11): backslash, ';' and ',' get a
 *     backslash, a line break (LF, CRLF or a lone CR) becomes "\n", other
 *     control characters (not allowed in TEXT) become a space;
 *   - one VCALENDAR (VERSION 2.0, PRODID, CALSCALE GREGORIAN, METHOD
 *     PUBLISH) around the events; each event as API.md "Calendar" says (see
 *     ical_event).
 *
 * Pure functions over a strbuf; thread-safe. Tests: tests/unit/test_ical.c.
 */
#ifndef TVMAZE_COMMON_ICAL_H
#define TVMAZE_COMMON_ICAL_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define ICAL_FOLD_OCTETS 75
#define ICAL_PRODID "-//tvmaze-ingest//calendar//EN"

/* One VEVENT (one episode). Strings are borrowed UTF-8; NULL or "" means
 * absent. */
struct ical_event {
  int32_t episode_id;        /* UID <episode_id>@tvmaze-ingest */
  int64_t dtstamp;           /* Unix seconds: DTSTAMP (UTC) */
  int all_day;               /* 1: DTSTART;VALUE=DATE from airdate, no DURATION */
  int64_t start;             /* all_day == 0: Unix seconds (DTSTART in UTC) */
  int32_t airdate;           /* all_day == 1: day number (date.h) */
  int32_t runtime_min;       /* > 0: DURATION PT<n>M (timed events only) */
  const char *show_name;     /* SUMMARY: <show> S01E02 <name>, or <show> Special <name> */
  int has_number;            /* 0: a special (the Special form) */
  int32_t season;            /* two digits at least */
  int32_t number;            /* two digits at least */
  const char *name;          /* the episode's name */
  const char *summary;       /* DESCRIPTION, plain text */
  const char *const *genres; /* CATEGORIES, in order */
  size_t n_genres;
};

/* Appends one content line "<name_params>:<value>" (value already in its
 * final form: escaped if TEXT), folded, with its CRLF. */
void ical_line(struct strbuf *out, const char *name_params, const char *value);

/* Appends s (len bytes) escaped as an RFC 5545 TEXT value (no folding). */
void ical_escape_text(struct strbuf *out, const char *s, size_t len);

/* Appends the content line "<name>:<escaped text>" (ical_escape_text, then
 * ical_line). */
void ical_text_line(struct strbuf *out, const char *name, const char *text);

/* "BEGIN:VCALENDAR" and its properties / "END:VCALENDAR". */
void ical_calendar_begin(struct strbuf *out);
void ical_calendar_end(struct strbuf *out);

/* Appends the VEVENT of ev. */
void ical_event_write(struct strbuf *out, const struct ical_event *ev);

/* The event's SUMMARY text, unescaped ("Show S01E02 Name"), appended to out. */
void ical_summary(struct strbuf *out, const struct ical_event *ev);

/* Unix seconds as a UTC DATE-TIME "YYYYMMDDTHHMMSSZ" (out: 17 bytes). */
void ical_utc(int64_t unix_s, char out[17]);

#endif
