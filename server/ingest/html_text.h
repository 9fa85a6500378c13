/*
 * html_text: TVMaze summaries (small HTML fragments) to plain text.
 *
 * Tags are removed. A line break (<br>) and the start or end of a block
 * (p, div, li, ul, ol, h1-h6, blockquote, hr, tr, table, section) become a
 * line break ("\n"), so paragraphs stay lines of their own; table cells
 * (td, th) become a space; inline tags (b, i, em, a, span, ...) vanish.
 * Comments are removed. Named entities (the common HTML set) and numeric
 * ones (&#39; &#x27;) are decoded; unknown entities are kept as written.
 * Runs of whitespace in the text (incl. newlines of the source and the
 * decoded &nbsp;) become one space; a run of separators becomes the
 * strongest of them, so "</p><p>" or "<br> <br>" give one line break, and
 * the result is trimmed (no break or space at either end). Malformed UTF-8 bytes and
 * invalid code points become U+FFFD, so the output is always valid UTF-8 and
 * never contains NUL. Tests: tests/unit/test_html_text.c.
 */
#ifndef TVMAZE_INGEST_HTML_TEXT_H
#define TVMAZE_INGEST_HTML_TEXT_H

#include <stddef.h>

/* Plain text of html[0..n). Returns a new string (free()); never NULL
 * (aborts on out of memory). Thread-safe. */
char *html_to_text(const char *html, size_t n);

#endif
