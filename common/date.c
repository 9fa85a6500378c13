/*
 * date: civil-date arithmetic (Howard Hinnant's days_from_civil algorithm).
 */
#include "date.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int32_t date_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return (int32_t)(era * 146097 + (int)doe - 719468);
}

void date_to_civil(int32_t z0, int *yy, unsigned *mm, unsigned *dd) {
  int z = z0 + 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = (unsigned)(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int y = (int)yoe + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  *yy = y + (m <= 2);
  *mm = m;
  *dd = d;
}

static int digits_(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') {
      return -1;
    }
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

int date_parse(const char *s, int32_t *day) {
  int y, m, d;
  if (s == NULL || digits_(s, 4, &y) || s[4] != '-' || digits_(s + 5, 2, &m) || s[7] != '-' ||
      digits_(s + 8, 2, &d) || s[10] != '\0') {
    return -1;
  }
  if (y < 1900 || m < 1 || m > 12 || d < 1) {
    return -1;
  }
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int max = mdays[m - 1] + (m == 2 && leap);
  if (d > max) {
    return -1;
  }
  *day = date_from_civil(y, (unsigned)m, (unsigned)d);
  return 0;
}

int date_parse_api(const char *s, int32_t *day) {
  int32_t d = 0;
  if (date_parse(s, &d) != 0 || d < DATE_API_MIN || d > DATE_API_MAX) {
    return -1;
  }
  *day = d;
  return 0;
}

void date_format(int32_t day, char out[11]) {
  int y;
  unsigned m, d;
  date_to_civil(day, &y, &m, &d);
  char buf[32];
  snprintf(buf, sizeof buf, "%04d-%02u-%02u", y % 10000, m % 100, d % 100);
  memcpy(out, buf, 10);
  out[10] = '\0';
}

int32_t date_today_utc(void) {
  time_t now = time(NULL);
  return (int32_t)(now / 86400);
}
