/*
 * calendar: the iCalendar document of Shows/GetCalendar from the episodes
 * and shows store_calendar_read found: each Episode and its Show mapped to
 * a struct ical_event (common/ical.h, API.md "Calendar"), the document
 * written by ical.c. No I/O; thread-safe.
 *
 *   event field   from
 *   UID           episode id
 *   DTSTAMP       the show's updated_at, else now (the time of the call)
 *   DTSTART       the airstamp (UTC); all-day from the airdate when the
 *                 episode has no airtime (or no airstamp)
 *   DURATION      the episode's runtime (timed events only)
 *   SUMMARY       show name, S<season>E<number> or Special, episode name
 *   DESCRIPTION   the episode's plain-text summary
 *   CATEGORIES    the show's genres, in TVMaze's order
 */
#ifndef TVMAZE_SERVICES_CALENDAR_H
#define TVMAZE_SERVICES_CALENDAR_H

#include <stdint.h>

#include "arena.h"
#include "tvmaze/v1/shows.pb-c.h"

#define CALENDAR_CONTENT_TYPE "text/calendar; charset=utf-8"

/* The reply for eps (in their order) with their shows (an episode whose
 * show is missing gets an empty show name and no genres), built in a (NULL:
 * the heap). now: Unix seconds. */
Tvmaze__V1__GetCalendarResponse *calendar_build(struct arena *a,
                                                const Tvmaze__V1__ListEpisodesResponse *eps,
                                                const Tvmaze__V1__ListShowsResponse *shows,
                                                int64_t now);

#endif
