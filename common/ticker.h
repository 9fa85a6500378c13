/*
 * ticker: a thread that calls a function at once and then every interval
 * until it is stopped -- the shape of the gateway's health probe, ingest-run
 * counter and connection sweep. The function runs on the ticker's thread
 * without any lock of the ticker's; what it shares with other threads it
 * guards itself. Stopping wakes the thread from its wait, so a stop takes
 * at most one call of the function.
 */
#ifndef TVMAZE_TICKER_H
#define TVMAZE_TICKER_H

#include <stddef.h>

struct ticker;

/* Starts the thread: fn(user) now, then every interval_ms (> 0). Returns
 * the ticker, or NULL with "cannot start the <what> thread" in err. user
 * must outlive the ticker. */
struct ticker *ticker_start(long interval_ms, void (*fn)(void *user), void *user, const char *what,
                            char *err, size_t errlen);

/* Stops the thread (waits for a call in progress) and frees. After it
 * returns fn runs no more. Accepts NULL. */
void ticker_stop(struct ticker *t);

#endif
