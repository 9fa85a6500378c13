/*
 * html_text: see html_text.h. A single pass over the input with a small
 * state machine; no allocation beyond the output buffer.
 */
#include "html_text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strbuf.h"
#include "utf8.h"

/* Tags that end a line: the text after them starts a new line. */
static const char *const line_tags_[] = {"p",          "br", "div", "li",    "ul",     "ol",
                                         "h1",         "h2", "h3",  "h4",    "h5",     "h6",
                                         "blockquote", "hr", "tr",  "table", "section"};
/* Tags that separate words only (table cells). */
static const char *const space_tags_[] = {"td", "th"};

struct entity_ {
  const char *name;
  unsigned long cp;
};

static const struct entity_ entities_[] = {
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},      {"apos", '\''},
    {"nbsp", ' '},     {"ndash", 0x2013}, {"mdash", 0x2014}, {"hellip", 0x2026}, {"lsquo", 0x2018},
    {"rsquo", 0x2019}, {"ldquo", 0x201C}, {"rdquo", 0x201D}, {"laquo", 0xAB},    {"raquo", 0xBB},
    {"copy", 0xA9},    {"reg", 0xAE},     {"trade", 0x2122}, {"eacute", 0xE9},   {"Eacute", 0xC9},
    {"egrave", 0xE8},  {"agrave", 0xE0},  {"aacute", 0xE1},  {"iacute", 0xED},   {"oacute", 0xF3},
    {"uacute", 0xFA},  {"ntilde", 0xF1},  {"ccedil", 0xE7},  {"auml", 0xE4},     {"ouml", 0xF6},
    {"uuml", 0xFC},    {"Auml", 0xC4},    {"Ouml", 0xD6},    {"Uuml", 0xDC},     {"szlig", 0xDF},
    {"euro", 0x20AC},  {"pound", 0xA3},   {"yen", 0xA5},     {"cent", 0xA2},     {"deg", 0xB0},
    {"middot", 0xB7},  {"bull", 0x2022},  {"times", 0xD7},   {"shy", 0},
};

/* Separators are collapsed lazily: the strongest one pending is written
 * before the next visible character, never at the start (so the result is
 * trimmed). */
enum sep_ { SEP_NONE = 0, SEP_SPACE = 1, SEP_LINE = 2 };

struct out_ {
  struct strbuf b;
  enum sep_ sep; /* the separator pending */
};

static void put_sep_(struct out_ *o, enum sep_ sep) {
  if (sep > o->sep) {
    o->sep = sep;
  }
}

static void put_space_(struct out_ *o) {
  put_sep_(o, SEP_SPACE);
}

static void put_bytes_(struct out_ *o, const char *p, size_t n) {
  if (o->sep != SEP_NONE && o->b.len > 0) {
    strbuf_append_char(&o->b, o->sep == SEP_LINE ? '\n' : ' ');
  }
  o->sep = SEP_NONE;
  strbuf_append_n(&o->b, p, n);
}

static void put_cp_(struct out_ *o, unsigned long cp) {
  char enc[4];
  if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == 0xA0) {
    put_space_(o);
    return;
  }
  if (cp == 0) {
    return;
  }
  size_t n = utf8_encode(cp, enc);
  if (n == 0) {
    n = utf8_encode(0xFFFD, enc);
  }
  put_bytes_(o, enc, n);
}

/* Decodes the entity at s[0] == '&'; returns bytes consumed, 0 if none. */
static size_t entity_(const char *s, size_t n, unsigned long *cp) {
  size_t i = 1;
  if (i < n && s[i] == '#') {
    i++;
    int hex = 0;
    if (i < n && (s[i] == 'x' || s[i] == 'X')) {
      hex = 1;
      i++;
    }
    unsigned long v = 0;
    size_t digits = 0;
    while (i < n && digits < 8 &&
           (hex ? isxdigit((unsigned char)s[i]) : isdigit((unsigned char)s[i]))) {
      char c = s[i];
      int d = isdigit((unsigned char)c) ? c - '0' : (tolower((unsigned char)c) - 'a' + 10);
      v = v * (hex ? 16u : 10u) + (unsigned long)d;
      i++;
      digits++;
    }
    if (digits == 0) {
      return 0;
    }
    if (i < n && s[i] == ';') {
      i++;
    }
    if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
      v = 0xFFFD;
    }
    *cp = v;
    return i;
  }
  size_t start = i;
  while (i < n && i - start < 10 && isalnum((unsigned char)s[i])) {
    i++;
  }
  if (i == start || i >= n || s[i] != ';') {
    return 0;
  }
  size_t len = i - start;
  for (size_t k = 0; k < sizeof entities_ / sizeof entities_[0]; k++) {
    if (strlen(entities_[k].name) == len && memcmp(entities_[k].name, s + start, len) == 0) {
      *cp = entities_[k].cp;
      return i + 1;
    }
  }
  return 0;
}

static int listed_(const char *const *names, size_t n_names, const char *name, size_t len) {
  for (size_t k = 0; k < n_names; k++) {
    if (strlen(names[k]) == len && strncasecmp(names[k], name, len) == 0) {
      return 1;
    }
  }
  return 0;
}

/* The separator a tag named name[0..len) stands for. */
static enum sep_ tag_sep_(const char *name, size_t len) {
  if (listed_(line_tags_, sizeof line_tags_ / sizeof line_tags_[0], name, len)) {
    return SEP_LINE;
  }
  if (listed_(space_tags_, sizeof space_tags_ / sizeof space_tags_[0], name, len)) {
    return SEP_SPACE;
  }
  return SEP_NONE;
}

/* Skips the tag or comment at s[0] == '<'; returns bytes consumed, 0 when it
 * is not a tag (a lone '<' is text). *sep gets the separator it stands
 * for (SEP_NONE for comments and inline tags). */
static size_t tag_(const char *s, size_t n, enum sep_ *sep) {
  *sep = SEP_NONE;
  if (n >= 4 && memcmp(s, "<!--", 4) == 0) {
    for (size_t i = 4; i + 2 < n; i++) {
      if (memcmp(s + i, "-->", 3) == 0) {
        return i + 3;
      }
    }
    return n;
  }
  size_t i = 1;
  if (i < n && (s[i] == '/' || s[i] == '!')) {
    i++;
  }
  if (i >= n || !isalpha((unsigned char)s[i])) {
    return 0;
  }
  size_t name = i;
  while (i < n && isalnum((unsigned char)s[i])) {
    i++;
  }
  *sep = tag_sep_(s + name, i - name);
  char quote = 0;
  for (; i < n; i++) {
    if (quote) {
      if (s[i] == quote) {
        quote = 0;
      }
    } else if (s[i] == '"' || s[i] == '\'') {
      quote = s[i];
    } else if (s[i] == '>') {
      return i + 1;
    }
  }
  return n;
}

char *html_to_text(const char *html, size_t n) {
  struct out_ o = {.sep = SEP_NONE};
  strbuf_init(&o.b);
  size_t i = 0;
  while (i < n) {
    unsigned char c = (unsigned char)html[i];
    if (c == '<') {
      enum sep_ sep = SEP_NONE;
      size_t used = tag_(html + i, n - i, &sep);
      if (used > 0) {
        put_sep_(&o, sep);
        i += used;
        continue;
      }
      put_bytes_(&o, "<", 1);
      i++;
    } else if (c == '&') {
      unsigned long cp = 0;
      size_t used = entity_(html + i, n - i, &cp);
      if (used > 0) {
        put_cp_(&o, cp);
        i += used;
      } else {
        put_bytes_(&o, "&", 1);
        i++;
      }
    } else if (c < 0x80) {
      if (isspace(c)) {
        put_space_(&o);
      } else if (c >= 0x20 && c != 0x7F) {
        /* a run of plain visible ASCII goes out in one append */
        size_t j = i + 1;
        while (j < n && html[j] > 0x20 && html[j] < 0x7F && html[j] != '<' && html[j] != '&') {
          j++;
        }
        put_bytes_(&o, html + i, j - i);
        i = j;
        continue;
      }
      i++;
    } else {
      size_t len = utf8_sequence_length(html + i, n - i);
      if (len == 0) {
        put_cp_(&o, 0xFFFD);
        i++;
      } else if (len == 2 && c == 0xC2 && (unsigned char)html[i + 1] == 0xA0) {
        put_space_(&o); /* U+00A0 no-break space */
        i += 2;
      } else {
        put_bytes_(&o, html + i, len);
        i += len;
      }
    }
  }
  return strbuf_detach(&o.b, NULL);
}
