/*
 * runstats: the ingest-run counts of /metrics. The gateway has no
 * database; a thread of the handle's own asks the server
 * (Ingest/CountIngestRuns) every period and keeps the answer, so a scrape
 * never waits for the server nor takes an upstream worker. One handle per
 * gateway, owned by the daemon.
 *
 *   tvmaze_ingest_runs{status="RUNNING|SUCCEEDED|PARTIAL|FAILED"}  gauge, the
 *       server's counts at the last successful call (at most a period old);
 *       omitted until the first success and while the last call failed
 *   tvmaze_gateway_ingest_runs_up  gauge, 1 when the last call succeeded
 *
 * Thread safety: gw_runstats_render is thread-safe and never blocks.
 */
#ifndef TVMAZE_GATEWAY_RUNSTATS_H
#define TVMAZE_GATEWAY_RUNSTATS_H

#include <stddef.h>

struct strbuf;
struct gw_upstream;
struct gw_runstats;

/* Starts the thread that calls the server every period_s seconds (2 s
 * deadline), the first call at once. up is borrowed and must outlive the
 * handle. NULL with err set when the thread cannot start. */
struct gw_runstats *gw_runstats_start(struct gw_upstream *up, long period_s, char *err,
                                      size_t errlen);
/* Stops and joins the thread (at most one call's deadline) and frees rs
 * (NULL: no-op). */
void gw_runstats_stop(struct gw_runstats *rs);
/* Appends the two series above from the last answer. */
void gw_runstats_render(struct gw_runstats *rs, struct strbuf *out);

#endif
