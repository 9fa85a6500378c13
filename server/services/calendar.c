/*
 * calendar: Episode + Show -> struct ical_event -> the document. See
 * calendar.h.
 */
#include "calendar.h"

#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "ical.h"
#include "strbuf.h"

static const Tvmaze__V1__Show *show_of_(const Tvmaze__V1__ListShowsResponse *shows, int32_t id) {
  for (size_t i = 0; shows != NULL && i < shows->n_shows; i++) {
    if (shows->shows[i]->id == id) {
      return shows->shows[i];
    }
  }
  return NULL;
}

static void event_of_(const Tvmaze__V1__Episode *e, const Tvmaze__V1__Show *sh, int64_t now,
                      struct ical_event *ev) {
  memset(ev, 0, sizeof *ev);
  ev->episode_id = e->id;
  ev->dtstamp = sh != NULL && sh->updated_at != NULL ? sh->updated_at->seconds : now;
  int32_t day = 0;
  int has_day = e->airdate != NULL && date_parse(e->airdate, &day) == 0;
  int timed = e->airtime != NULL && e->airtime[0] != '\0' && e->airstamp != NULL;
  if (timed || !has_day) {
    ev->start = e->airstamp != NULL ? e->airstamp->seconds : now;
    ev->runtime_min = e->runtime != NULL ? e->runtime->value : 0;
  } else {
    ev->all_day = 1;
    ev->airdate = day;
  }
  ev->show_name = sh != NULL ? sh->name : "";
  ev->has_number = e->number != NULL;
  ev->season = e->season != NULL ? e->season->value : 0;
  ev->number = e->number != NULL ? e->number->value : 0;
  ev->name = e->name;
  ev->summary = e->summary;
  if (sh != NULL) {
    ev->genres = (const char *const *)sh->genres;
    ev->n_genres = sh->n_genres;
  }
}

Tvmaze__V1__GetCalendarResponse *calendar_build(struct arena *a,
                                                const Tvmaze__V1__ListEpisodesResponse *eps,
                                                const Tvmaze__V1__ListShowsResponse *shows,
                                                int64_t now) {
  struct strbuf doc;
  strbuf_init(&doc);
  ical_calendar_begin(&doc);
  for (size_t i = 0; eps != NULL && i < eps->n_episodes; i++) {
    const Tvmaze__V1__Episode *e = eps->episodes[i];
    struct ical_event ev;
    event_of_(e, show_of_(shows, e->show_id), now, &ev);
    ical_event_write(&doc, &ev);
  }
  ical_calendar_end(&doc);
  Tvmaze__V1__GetCalendarResponse *r = arena_alloc(a, sizeof *r);
  tvmaze__v1__get_calendar_response__init(r);
  r->content_type = arena_strdup(a, CALENDAR_CONTENT_TYPE);
  r->data.len = doc.len;
  r->data.data = arena_alloc(a, doc.len ? doc.len : 1);
  memcpy(r->data.data, doc.data, doc.len);
  strbuf_release(&doc);
  return r;
}
