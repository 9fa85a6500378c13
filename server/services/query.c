/*
 * query: validation + read-through cache + store for Shows and Analytics.
 * See query.h.
 *
 * Cache freshness: the data generation is part of the key. The worker's
 * connection LISTENs on tvmaze_generation (store_generation, db.c): a hit
 * costs one Redis round trip and no PostgreSQL round trip; an ingest commit
 * (generation + 1, pg_notify) reaches the worker as a notification, read
 * from the socket without blocking before each request. Today's date (UTC)
 * is part of the key too, because defaults depend on it.
 *
 * Replies: a hit hands on the cached bytes (QUERY_REPLY_PACKED, checked
 * with rpc_packed_check), a miss with the cache up the bytes it packed for
 * the cache; without a cache the store's message (QUERY_REPLY_MESSAGE).
 * Store failures map to statuses through service_store_status (services.h).
 */
#include "query.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "cache.h"
#include "calendar.h"
#include "date.h"
#include "log.h"
#include "show_airing.h"
#include "store_analytics.h"
#include "store_shows.h"
#include "store_tz.h"
#include "strbuf.h"
#include "utf8.h"
#include "xalloc.h"

#define Q_MAX_CHARS 200
#define NAME_MAX_CHARS 100

struct qparams {
  struct shows_filter f; /* ListShows, ListEpisodes; dates for reports */
  int32_t id;            /* GetShow */
  int32_t limit;         /* reports */
  const char *genre;     /* TopRatedByGenre; NULL = all */
  char *refusal;         /* a compute may refuse the request after reading: STORE_INVALID
                            with the reason here (naming the field, refusal_len bytes)
                            becomes INVALID_ARGUMENT; NULL: it may not */
  size_t refusal_len;
};

typedef enum store_status (*compute_fn)(struct store *s, struct arena *a, const struct qparams *p,
                                        ProtobufCMessage **out);

static rpc_code fail_(char *msg, size_t msglen, rpc_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static rpc_code fail_(char *msg, size_t msglen, rpc_code code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, msglen, fmt, ap);
  va_end(ap);
  return code;
}

/* ------------------------------------------------------------------ */
/* Read-through                                                       */
/* ------------------------------------------------------------------ */

/* protobuf-c's allocator over the worker's arena (unpacking a packed reply
 * for a reader): frees wait for the reset. */
static void *pb_alloc_(void *data, size_t n) {
  return arena_alloc(data, n);
}

static void pb_free_(void *data, void *p) {
  (void)data;
  (void)p;
}

void query_reply_release(struct worker_ctx *w, struct query_reply *r) {
  free(r->packed);
  if (w->arena != NULL) {
    arena_reset(w->arena);
  } else if (r->message != NULL) {
    protobuf_c_message_free_unpacked(r->message, NULL);
  }
  memset(r, 0, sizeof *r);
}

void query_reply_send(rpc_call *call, struct worker_ctx *w, rpc_code code, struct query_reply *r,
                      const char *msg, ProtobufCClosure done) {
  if (code != RPC_OK) {
    rpc_call_set_status(call, code, "%s", msg);
    done(NULL, call);
  } else if (r->kind == QUERY_REPLY_PACKED) {
    uint8_t *bytes = r->packed;
    r->packed = NULL; /* the binding's now, freed when sent */
    rpc_call_reply_packed(call, bytes, r->packed_len, free);
  } else {
    done(r->message, call);
  }
  query_reply_release(w, r);
}

ProtobufCMessage *query_reply_message(struct worker_ctx *w, struct query_reply *r) {
  if (r->kind != QUERY_REPLY_PACKED) {
    return r->message;
  }
  ProtobufCAllocator pa = {pb_alloc_, pb_free_, w->arena};
  ProtobufCMessage *m =
      protobuf_c_message_unpack(r->type, w->arena != NULL ? &pa : NULL, r->packed_len, r->packed);
  if (m != NULL) {
    free(r->packed);
    r->packed = NULL;
    r->packed_len = 0;
    r->kind = QUERY_REPLY_MESSAGE;
    r->message = m;
  }
  return m;
}

/* How long reply m may be cached: CACHE_TTL_SECONDS, a GetShow reply only
 * until its next episode airs (then next_episode and previous_episode move). */
static int ttl_of_(const ProtobufCMessage *m) {
  if (m->descriptor == &tvmaze__v1__get_show_response__descriptor) {
    return show_airing_ttl((const Tvmaze__V1__GetShowResponse *)m, (int64_t)time(NULL),
                           CACHE_TTL_SECONDS);
  }
  return CACHE_TTL_SECONDS;
}

static rpc_code read_through_(struct worker_ctx *w, const char *method, const ProtobufCMessage *req,
                              const ProtobufCMessageDescriptor *rd, compute_fn fn,
                              const struct qparams *p, const char *what, struct query_reply *out,
                              char *msg, size_t msglen) {
  memset(out, 0, sizeof *out);
  struct strbuf key;
  strbuf_init(&key);
  enum store_status st = STORE_OK;
  int use_cache = w->cache != NULL;
  if (use_cache) {
    int64_t gen = 0;
    st = store_generation(w->store, &gen);
    if (st != STORE_OK) {
      strbuf_release(&key);
      return service_store_status(st, method, what, w->store, msg, msglen);
    }
    char today[11];
    date_format(date_today_utc(), today);
    strbuf_appendf(&key, "tvmaze:q1:%s:%lld:%s:", method, (long long)gen, today);
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *buf = xmalloc(n ? n : 1);
    protobuf_c_message_pack(req, buf);
    strbuf_append_n(&key, buf, n);
    free(buf);
    char *val = NULL;
    size_t len = 0;
    enum cache_result cr = cache_get(w->cache, key.data, key.len, &val, &len);
    if (cr == CACHE_HIT) {
      char why[160];
      if (rpc_packed_check(rd, (const uint8_t *)val, len, why, sizeof why) == 0) {
        /* the reply is these bytes: handed on as they are */
        out->kind = QUERY_REPLY_PACKED;
        out->type = rd;
        out->packed = (uint8_t *)val;
        out->packed_len = len;
        strbuf_release(&key);
        return RPC_OK;
      }
      /* a damaged entry: computed again below, and overwritten */
      LOG_EVENT(LOG_WARN, "cache_entry_damaged", LF_STR("method", method), LF_STR("error", why));
      free(val);
    }
    use_cache = cr != CACHE_DOWN;
  }
  ProtobufCMessage *m = NULL;
  st = fn(w->store, w->arena, p, &m);
  if (st == STORE_INVALID && p->refusal != NULL && p->refusal[0] != '\0') {
    strbuf_release(&key);
    return RPC_INVALID_ARGUMENT; /* the refusal is msg (query_get_calendar) */
  }
  if (st != STORE_OK) {
    strbuf_release(&key);
    return service_store_status(st, method, what, w->store, msg, msglen);
  }
  out->type = rd;
  if (!use_cache) {
    out->kind = QUERY_REPLY_MESSAGE;
    out->message = m;
    strbuf_release(&key);
    return RPC_OK;
  }
  /* Packed once, for the cache; the reply is these same bytes, so the
   * caller sends them instead of packing the tree a second time. */
  size_t n = protobuf_c_message_get_packed_size(m);
  uint8_t *buf = xmalloc(n ? n : 1);
  protobuf_c_message_pack(m, buf);
  cache_put(w->cache, key.data, key.len, buf, n, ttl_of_(m));
  if (w->arena == NULL) {
    protobuf_c_message_free_unpacked(m, NULL);
  }
  out->kind = QUERY_REPLY_PACKED;
  out->packed = buf;
  out->packed_len = n;
  strbuf_release(&key);
  return RPC_OK;
}

/* ------------------------------------------------------------------ */
/* Validation                                                         */
/* ------------------------------------------------------------------ */

/* "" -> NULL; else checks UTF-8 and length. Returns 0 or -1 (msg set). */
static int text_(const char *field, const char *s, size_t max_chars, const char **out, char *msg,
                 size_t msglen) {
  *out = NULL;
  if (s == NULL || s[0] == '\0') {
    return 0;
  }
  size_t n = strlen(s);
  if (!utf8_valid(s, n)) {
    return service_bad_field(msg, msglen, "%s: must be valid UTF-8", field);
  }
  if (utf8_length(s, n) > max_chars) {
    return service_bad_field(msg, msglen, "%s: must be at most %zu characters", field, max_chars);
  }
  *out = s;
  return 0;
}

/* The window [*from, *to]: both dates in DATE_API_MIN..DATE_API_MAX (checked
 * before any arithmetic), from <= to, at most QUERY_MAX_WINDOW_DAYS days.
 * The default date_to is date_from + QUERY_DEFAULT_WINDOW_DAYS, cut at
 * DATE_API_MAX. Returns 0 or -1 (msg names the field). */
static int window_(const char *from_s, const char *to_s, int32_t *from, int32_t *to, char *msg,
                   size_t msglen) {
  int rc = 0;
  if (from_s == NULL || from_s[0] == '\0') {
    *from = date_today_utc();
  } else if (date_parse_api(from_s, from) != 0) {
    rc = service_bad_field(msg, msglen, "date_from: must be a date YYYY-MM-DD in " DATE_API_RANGE);
  }
  if (to_s == NULL || to_s[0] == '\0') {
    if (rc == 0) {
      *to = *from > DATE_API_MAX - QUERY_DEFAULT_WINDOW_DAYS ? DATE_API_MAX
                                                             : *from + QUERY_DEFAULT_WINDOW_DAYS;
    }
  } else if (date_parse_api(to_s, to) != 0) {
    rc = service_bad_field(msg, msglen, "date_to: must be a date YYYY-MM-DD in " DATE_API_RANGE);
  }
  if (rc != 0) {
    return rc; /* the checks below need both dates */
  }
  if (*from > *to) {
    return service_bad_field(msg, msglen, "date_from: must not be after date_to");
  }
  if (*to - *from >= QUERY_MAX_WINDOW_DAYS) {
    return service_bad_field(msg, msglen, "date_to: the window may span at most %d days",
                             QUERY_MAX_WINDOW_DAYS);
  }
  return 0;
}

static int limit_(const char *field, const Google__Protobuf__Int32Value *v, int32_t def,
                  int32_t max, int32_t *out, char *msg, size_t msglen) {
  *out = def;
  if (v == NULL) {
    return 0;
  }
  if (v->value < 1 || v->value > max) {
    return service_bad_field(msg, msglen, "%s: must be 1..%d", field, (int)max);
  }
  *out = v->value;
  return 0;
}

/* tz: "" -> NULL (no zone); else one of PostgreSQL's zone names, *out its
 * spelling there (store_tz.h). Returns 0, or -1 with msg naming tz; a
 * failed read of the names sets *st (returns 0). */
static int tz_(struct store *s, const char *tz, const char **out, enum store_status *st, char *msg,
               size_t msglen) {
  *out = NULL;
  if (tz == NULL || tz[0] == '\0') {
    return 0;
  }
  *st = store_tz_lookup(s, tz, out);
  if (*st == STORE_OK && *out == NULL) {
    /* the input is not echoed: it may be anything, of any length */
    return service_bad_field(msg, msglen,
                             "tz: must be an IANA time zone name such as Europe/Berlin"
                             " (one of PostgreSQL's pg_timezone_names)");
  }
  return 0;
}

/* The filter fields common to ListShows and ListEpisodes (same numbers).
 * tz is looked up through s; when that read fails, *st is set. */
static int filter_(struct store *s, const char *date_from, const char *date_to, const char *country,
                   const char *distributor, const Google__Protobuf__DoubleValue *rating,
                   const char *genre, const char *q, const Google__Protobuf__Int32Value *page,
                   const Google__Protobuf__Int32Value *per_page, const int32_t *show_ids,
                   size_t n_show_ids, const char *tz, struct shows_filter *f, char country_buf[3],
                   enum store_status *st, char *msg, size_t msglen) {
  memset(f, 0, sizeof *f);
  /* every field is checked, so each bad one is named (one violation each) */
  int rc = window_(date_from, date_to, &f->date_from, &f->date_to, msg, msglen);
  if (country != NULL && country[0] != '\0') {
    if (strlen(country) != 2 || !((country[0] | 0x20) >= 'a' && (country[0] | 0x20) <= 'z') ||
        !((country[1] | 0x20) >= 'a' && (country[1] | 0x20) <= 'z')) {
      rc = service_bad_field(msg, msglen, "country: must be an ISO 3166-1 alpha-2 code such as US");
    } else {
      country_buf[0] = (char)(country[0] & ~0x20);
      country_buf[1] = (char)(country[1] & ~0x20);
      country_buf[2] = '\0';
      f->country = country_buf;
    }
  }
  rc |= text_("distributor", distributor, NAME_MAX_CHARS, &f->distributor, msg, msglen);
  rc |= text_("genre", genre, NAME_MAX_CHARS, &f->genre, msg, msglen);
  rc |= text_("q", q, Q_MAX_CHARS, &f->q, msg, msglen);
  if (rating != NULL) {
    if (!(rating->value >= 0.0 && rating->value <= 10.0)) {
      rc = service_bad_field(msg, msglen, "rating: must be 0..10");
    } else {
      f->has_rating = 1;
      f->min_rating = rating->value;
    }
  }
  if (service_show_ids_arg(show_ids, n_show_ids, msg, msglen) != 0) {
    rc = -1;
  } else {
    f->show_ids = show_ids;
    f->n_show_ids = n_show_ids;
  }
  rc |= service_page_args(page, per_page, &f->page, &f->per_page, msg, msglen);
  rc |= tz_(s, tz, &f->tz, st, msg, msglen);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Shows                                                              */
/* ------------------------------------------------------------------ */

static enum store_status c_list_shows_(struct store *s, struct arena *a, const struct qparams *p,
                                       ProtobufCMessage **out) {
  Tvmaze__V1__ListShowsResponse *r = NULL;
  enum store_status st = store_shows_list(s, a, &p->f, &r);
  *out = r ? &r->base : NULL;
  return st;
}

static enum store_status c_get_show_(struct store *s, struct arena *a, const struct qparams *p,
                                     ProtobufCMessage **out) {
  Tvmaze__V1__Show *show = NULL;
  int64_t version = 0;
  enum store_status st = store_show_get(s, a, p->id, &show, &version);
  memset(out, 0, sizeof *out);
  if (st == STORE_OK) {
    Tvmaze__V1__GetShowResponse *r = arena_alloc(a, sizeof *r);
    tvmaze__v1__get_show_response__init(r);
    r->show = show;
    r->version = version;
    show_airing_set(r, a, (int64_t)time(NULL));
    *out = &r->base;
  }
  return st;
}

static enum store_status c_list_episodes_(struct store *s, struct arena *a, const struct qparams *p,
                                          ProtobufCMessage **out) {
  Tvmaze__V1__ListEpisodesResponse *r = NULL;
  enum store_status st = store_episodes_list(s, a, &p->f, &r);
  *out = r ? &r->base : NULL;
  return st;
}

rpc_code query_list_shows(struct worker_ctx *w, const Tvmaze__V1__ListShowsRequest *req,
                          struct query_reply *out, char *msg, size_t msglen) {
  struct qparams p = {0};
  char cc[3];
  enum store_status st = STORE_OK;
  memset(out, 0, sizeof *out);
  msg[0] = '\0'; /* validation adds each bad field (service_bad_field) */
  int rc = filter_(w->store, req->date_from, req->date_to, req->country, req->distributor,
                   req->rating, req->genre, req->q, req->page, req->per_page, req->show_ids,
                   req->n_show_ids, req->tz, &p.f, cc, &st, msg, msglen);
  if (st != STORE_OK) {
    return service_store_status(st, "ListShows", "time zones", w->store, msg, msglen);
  }
  if (rc != 0) {
    return RPC_INVALID_ARGUMENT;
  }
  return read_through_(w, "ListShows", &req->base, &tvmaze__v1__list_shows_response__descriptor,
                       c_list_shows_, &p, "shows", out, msg, msglen);
}

rpc_code query_get_show(struct worker_ctx *w, const Tvmaze__V1__GetShowRequest *req,
                        struct query_reply *out, char *msg, size_t msglen) {
  struct qparams p = {0};
  memset(out, 0, sizeof *out);
  msg[0] = '\0'; /* validation adds each bad field (service_bad_field) */
  if (req->id <= 0) {
    return fail_(msg, msglen, RPC_INVALID_ARGUMENT, "id: must be a positive TVMaze show id");
  }
  p.id = req->id;
  char what[32];
  snprintf(what, sizeof what, "show %d", (int)req->id);
  return read_through_(w, "GetShow", &req->base, &tvmaze__v1__get_show_response__descriptor,
                       c_get_show_, &p, what, out, msg, msglen);
}

rpc_code query_list_episodes(struct worker_ctx *w, const Tvmaze__V1__ListEpisodesRequest *req,
                             struct query_reply *out, char *msg, size_t msglen) {
  struct qparams p = {0};
  char cc[3];
  enum store_status st = STORE_OK;
  memset(out, 0, sizeof *out);
  msg[0] = '\0'; /* validation adds each bad field (service_bad_field) */
  int rc = filter_(w->store, req->date_from, req->date_to, req->country, req->distributor,
                   req->rating, req->genre, req->q, req->page, req->per_page, req->show_ids,
                   req->n_show_ids, req->tz, &p.f, cc, &st, msg, msglen);
  if (st != STORE_OK) {
    return service_store_status(st, "ListEpisodes", "time zones", w->store, msg, msglen);
  }
  if (rc != 0) {
    return RPC_INVALID_ARGUMENT;
  }
  return read_through_(w, "ListEpisodes", &req->base,
                       &tvmaze__v1__list_episodes_response__descriptor, c_list_episodes_, &p,
                       "episodes", out, msg, msglen);
}

/* GetCalendar: the episodes (at most QUERY_MAX_CALENDAR_EVENTS) and their
 * shows, rendered; over the caps, refused naming date_to. */
static enum store_status c_calendar_(struct store *s, struct arena *a, const struct qparams *p,
                                     ProtobufCMessage **out) {
  *out = NULL;
  Tvmaze__V1__ListEpisodesResponse *eps = NULL;
  Tvmaze__V1__ListShowsResponse *shows = NULL;
  enum store_status st = store_calendar_read(s, a, &p->f, QUERY_MAX_CALENDAR_EVENTS, &eps, &shows);
  if (st != STORE_OK) {
    return st;
  }
  Tvmaze__V1__GetCalendarResponse *r = NULL;
  int32_t total = eps->pagination->total;
  if (total > QUERY_MAX_CALENDAR_EVENTS) {
    service_bad_field(p->refusal, p->refusal_len,
                      "date_to: the calendar would hold %d events, at most %d: narrow the window "
                      "or the filters",
                      (int)total, QUERY_MAX_CALENDAR_EVENTS);
    st = STORE_INVALID;
  } else {
    r = calendar_build(a, eps, shows, (int64_t)time(NULL));
    if (r->data.len > QUERY_MAX_CALENDAR_BYTES) {
      service_bad_field(p->refusal, p->refusal_len,
                        "date_to: the calendar would be %zu bytes, at most %d: narrow the window "
                        "or the filters",
                        r->data.len, QUERY_MAX_CALENDAR_BYTES);
      st = STORE_INVALID;
    }
  }
  if (a == NULL) {
    protobuf_c_message_free_unpacked(&eps->base, NULL);
    protobuf_c_message_free_unpacked(&shows->base, NULL);
    if (st != STORE_OK && r != NULL) {
      protobuf_c_message_free_unpacked(&r->base, NULL);
    }
  }
  *out = st == STORE_OK ? &r->base : NULL;
  return st;
}

rpc_code query_get_calendar(struct worker_ctx *w, const Tvmaze__V1__GetCalendarRequest *req,
                            struct query_reply *out, char *msg, size_t msglen) {
  struct qparams p = {0};
  char cc[3];
  memset(out, 0, sizeof *out);
  msg[0] = '\0'; /* validation adds each bad field (service_bad_field) */
  /* ListEpisodes' filters, tz included, checked by the same code (no paging) */
  enum store_status st = STORE_OK;
  int rc = filter_(w->store, req->date_from, req->date_to, req->country, req->distributor,
                   req->rating, req->genre, req->q, NULL, NULL, req->show_ids, req->n_show_ids,
                   req->tz, &p.f, cc, &st, msg, msglen);
  if (st != STORE_OK) {
    return service_store_status(st, "GetCalendar", "time zones", w->store, msg, msglen);
  }
  if (rc != 0) {
    return RPC_INVALID_ARGUMENT;
  }
  p.refusal = msg;
  p.refusal_len = msglen;
  return read_through_(w, "GetCalendar", &req->base, &tvmaze__v1__get_calendar_response__descriptor,
                       c_calendar_, &p, "calendar", out, msg, msglen);
}

/* ------------------------------------------------------------------ */
/* Analytics                                                          */
/* ------------------------------------------------------------------ */

static enum store_status c_show_stats_(struct store *s, struct arena *a, const struct qparams *p,
                                       ProtobufCMessage **out) {
  Tvmaze__V1__ShowsWithEpisodeStatsResponse *r = NULL;
  enum store_status st = store_an_show_stats(s, a, p->f.date_from, p->f.date_to, p->limit, &r);
  *out = r ? &r->base : NULL;
  return st;
}

static enum store_status c_top_by_genre_(struct store *s, struct arena *a, const struct qparams *p,
                                         ProtobufCMessage **out) {
  Tvmaze__V1__TopRatedByGenreResponse *r = NULL;
  enum store_status st = store_an_top_by_genre(s, a, p->genre, p->limit, &r);
  *out = r ? &r->base : NULL;
  return st;
}

static enum store_status c_network_perf_(struct store *s, struct arena *a, const struct qparams *p,
                                         ProtobufCMessage **out) {
  Tvmaze__V1__NetworkPerformanceResponse *r = NULL;
  enum store_status st = store_an_network_perf(s, a, p->limit, &r);
  *out = r ? &r->base : NULL;
  return st;
}

static enum store_status c_monthly_(struct store *s, struct arena *a, const struct qparams *p,
                                    ProtobufCMessage **out) {
  Tvmaze__V1__MonthlyTrendsResponse *r = NULL;
  enum store_status st = store_an_monthly(s, a, p->f.date_from, p->f.date_to, &r);
  *out = r ? &r->base : NULL;
  return st;
}

static enum store_status c_countries_(struct store *s, struct arena *a, const struct qparams *p,
                                      ProtobufCMessage **out) {
  (void)p;
  Tvmaze__V1__CountryDistributionResponse *r = NULL;
  enum store_status st = store_an_countries(s, a, &r);
  *out = r ? &r->base : NULL;
  return st;
}

rpc_code query_show_stats(struct worker_ctx *w, const Tvmaze__V1__ShowsWithEpisodeStatsRequest *req,
                          struct query_reply *out, char *msg, size_t msglen) {
  struct qparams p = {0};
  memset(out, 0, sizeof *out);
  msg[0] = '\0'; /* validation adds each bad field (service_bad_field) */
  if ((window_(req->date_from, req->date_to, &p.f.date_from, &p.f.date_to, msg, msglen) |
       limit_("limit", req->limit, 100, 1000, &p.limit, msg, msglen)) != 0) {
    return RPC_INVALID_ARGUMENT;
  }
  return read_through_(w, "ShowsWithEpisodeStats", &req->base,
                       &tvmaze__v1__shows_with_episode_stats_response__descriptor, c_show_stats_,
                       &p, "report", out, msg, msglen);
}

rpc_code query_top_by_genre(struct worker_ctx *w, const Tvmaze__V1__TopRatedByGenreRequest *req,
                            struct query_reply *out, char *msg, size_t msglen) {
  struct qparams p = {0};
  memset(out, 0, sizeof *out);
  msg[0] = '\0'; /* validation adds each bad field (service_bad_field) */
  if ((limit_("limit", req->limit, 10, 100, &p.limit, msg, msglen) |
       text_("genre", req->genre, NAME_MAX_CHARS, &p.genre, msg, msglen)) != 0) {
    return RPC_INVALID_ARGUMENT;
  }
  return read_through_(w, "TopRatedByGenre", &req->base,
                       &tvmaze__v1__top_rated_by_genre_response__descriptor, c_top_by_genre_, &p,
                       "report", out, msg, msglen);
}

rpc_code query_network_perf(struct worker_ctx *w, const Tvmaze__V1__NetworkPerformanceRequest *req,
                            struct query_reply *out, char *msg, size_t msglen) {
  struct qparams p = {0};
  memset(out, 0, sizeof *out);
  msg[0] = '\0'; /* validation adds each bad field (service_bad_field) */
  if (limit_("limit", req->limit, 100, 1000, &p.limit, msg, msglen) != 0) {
    return RPC_INVALID_ARGUMENT;
  }
  return read_through_(w, "NetworkPerformance", &req->base,
                       &tvmaze__v1__network_performance_response__descriptor, c_network_perf_, &p,
                       "report", out, msg, msglen);
}

rpc_code query_monthly(struct worker_ctx *w, const Tvmaze__V1__MonthlyTrendsRequest *req,
                       struct query_reply *out, char *msg, size_t msglen) {
  struct qparams p = {0};
  memset(out, 0, sizeof *out);
  msg[0] = '\0'; /* validation adds each bad field (service_bad_field) */
  if (window_(req->date_from, req->date_to, &p.f.date_from, &p.f.date_to, msg, msglen) != 0) {
    return RPC_INVALID_ARGUMENT;
  }
  return read_through_(w, "MonthlyTrends", &req->base,
                       &tvmaze__v1__monthly_trends_response__descriptor, c_monthly_, &p, "report",
                       out, msg, msglen);
}

rpc_code query_countries(struct worker_ctx *w, const Tvmaze__V1__CountryDistributionRequest *req,
                         struct query_reply *out, char *msg, size_t msglen) {
  struct qparams p = {0};
  memset(out, 0, sizeof *out);
  msg[0] = '\0'; /* validation adds each bad field (service_bad_field) */
  return read_through_(w, "CountryDistribution", &req->base,
                       &tvmaze__v1__country_distribution_response__descriptor, c_countries_, &p,
                       "report", out, msg, msglen);
}
