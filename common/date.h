/*
 * date: ISO 8601 calendar dates as day numbers (days since 1970-01-01, UTC),
 * the form every date on the wire ("2026-11-25") is checked and computed in.
 */
#ifndef TVMAZE_COMMON_DATE_H
#define TVMAZE_COMMON_DATE_H

#include <stdint.h>

/* Parses exactly "YYYY-MM-DD" (a real calendar date, years 1900..9999).
 * Returns 0 and sets *day, or -1 (out-param unchanged). */
int date_parse(const char *s, int32_t *day);

/* The range every date of the public API lies in (API.md): 1900-01-01 ..
 * 2199-12-31, as day numbers. Checked before any arithmetic, so a date the
 * API accepts plus a window of at most 366 days stays a four-digit year. */
#define DATE_API_MIN (-25567)
#define DATE_API_MAX 84005
#define DATE_API_RANGE "1900-01-01..2199-12-31"

/* date_parse, then DATE_API_MIN..DATE_API_MAX. Returns 0 and sets *day, or
 * -1 (out-param unchanged). Tested through tests/integration/test_query_shows.c. */
int date_parse_api(const char *s, int32_t *day);

/* Writes "YYYY-MM-DD" (11 bytes with NUL) for a day number. */
void date_format(int32_t day, char out[11]);

/* Today in UTC as a day number. */
int32_t date_today_utc(void);

/* Day number from a civil date (proleptic Gregorian). */
int32_t date_from_civil(int y, unsigned m, unsigned d);
void date_to_civil(int32_t day, int *y, unsigned *m, unsigned *d);

#endif
