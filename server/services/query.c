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
 */
#include "query.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cache.h"
#include "date.h"
#include "log.h"
#include "store_analytics.h"
#include "store_shows.h"
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

static rpc_code store_fail_(struct worker_ctx *w, enum store_status st, const char *method,
                            const char *what, char *msg, size_t msglen) {
  switch (st) {
  case STORE_UNAVAILABLE:
    return fail_(msg, msglen, RPC_UNAVAILABLE, "database unavailable; retry later");
  case STORE_NOT_FOUND:
    return fail_(msg, msglen, RPC_NOT_FOUND, "%s not found", what);
  default:
    LOG_EVENT(LOG_ERROR, "store_error", LF_STR("method", method),
              LF_STR("status", store_status_name(st)), LF_STR("error", store_last_error(w->store)));
    return fail_(msg, msglen, RPC_INTERNAL, "internal error while reading %s", what);
  }
}

/* ------------------------------------------------------------------ */
/* Read-through                                                       */
/* ------------------------------------------------------------------ */

/* The packed reply `val` (malloc'd, len bytes; taken over) as a message of
 * type rd that holds it verbatim as one unknown field: the first field's tag
 * + everything after it. protobuf-c packs unknown fields as tag + data, so
 * packing gives back exactly `val`, without unpacking ~24 KB into hundreds
 * of allocations and packing them again. NULL if val does not start with a
 * valid tag (the caller then unpacks). */
static ProtobufCMessage *opaque_(struct arena *a, const ProtobufCMessageDescriptor *rd, char *val,
                                 size_t len) {
  if (len == 0) {
    free(val);
    ProtobufCMessage *m = arena_alloc(a, rd->sizeof_message);
    rd->message_init(m);
    return m;
  }
  uint64_t key = 0;
  size_t n = 0;
  for (int shift = 0; n < len && n < 5; shift += 7) {
    uint8_t b = (uint8_t)val[n++];
    key |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      break;
    }
  }
  uint32_t wire = (uint32_t)(key & 7);
  uint32_t tag = (uint32_t)(key >> 3);
  if (n == 0 || n >= len || ((uint8_t)val[n - 1] & 0x80) || tag == 0 ||
      !(wire == PROTOBUF_C_WIRE_TYPE_VARINT || wire == PROTOBUF_C_WIRE_TYPE_64BIT ||
        wire == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED || wire == PROTOBUF_C_WIRE_TYPE_32BIT)) {
    return NULL;
  }
  memmove(val, val + n, len - n);
  ProtobufCMessage *m = arena_alloc(a, rd->sizeof_message);
  rd->message_init(m);
  ProtobufCMessageUnknownField *uf = arena_alloc(a, sizeof *uf);
  uf->tag = tag;
  uf->wire_type = (ProtobufCWireType)wire;
  uf->len = len - n;
  uf->data = (uint8_t *)val;
  m->n_unknown_fields = 1;
  m->unknown_fields = uf;
  arena_adopt(a, val); /* heap (a NULL): freed with m by free_unpacked */
  return m;
}

/* protobuf-c's allocator over the worker's arena (unpacking a cached reply
 * when it cannot stay opaque): frees wait for the reset. */
static void *pb_alloc_(void *data, size_t n) {
  return arena_alloc(data, n);
}

static void pb_free_(void *data, void *p) {
  (void)data;
  (void)p;
}

void query_release(struct worker_ctx *w, ProtobufCMessage *m) {
  if (w->arena != NULL) {
    arena_reset(w->arena);
  } else if (m != NULL) {
    protobuf_c_message_free_unpacked(m, NULL);
  }
}

static rpc_code read_through_(struct worker_ctx *w, const char *method, const ProtobufCMessage *req,
                              const ProtobufCMessageDescriptor *rd, compute_fn fn,
                              const struct qparams *p, const char *what, ProtobufCMessage **out,
                              char *msg, size_t msglen) {
  *out = NULL;
  struct strbuf key;
  strbuf_init(&key);
  enum store_status st = STORE_OK;
  int use_cache = w->cache != NULL;
  if (use_cache) {
    int64_t gen = 0;
    st = store_generation(w->store, &gen);
    if (st != STORE_OK) {
      strbuf_release(&key);
      return store_fail_(w, st, method, what, msg, msglen);
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
      *out = w->opaque_replies ? opaque_(w->arena, rd, val, len) : NULL;
      if (*out == NULL) {
        ProtobufCAllocator pa = {pb_alloc_, pb_free_, w->arena};
        *out =
            protobuf_c_message_unpack(rd, w->arena != NULL ? &pa : NULL, len, (const uint8_t *)val);
        free(val);
      }
      if (*out != NULL) {
        strbuf_release(&key);
        return RPC_OK;
      }
    }
    use_cache = cr != CACHE_DOWN;
  }
  st = fn(w->store, w->arena, p, out);
  if (st != STORE_OK) {
    strbuf_release(&key);
    return store_fail_(w, st, method, what, msg, msglen);
  }
  if (use_cache) {
    size_t n = protobuf_c_message_get_packed_size(*out);
    uint8_t *buf = xmalloc(n ? n : 1);
    protobuf_c_message_pack(*out, buf);
    cache_put(w->cache, key.data, key.len, buf, n, CACHE_TTL_SECONDS);
    /* the reply is these bytes: handed on opaque, the binding copies them
     * instead of packing the tree a second time */
    ProtobufCMessage *o = w->opaque_replies ? opaque_(w->arena, rd, (char *)buf, n) : NULL;
    if (o != NULL) {
      if (w->arena == NULL) {
        protobuf_c_message_free_unpacked(*out, NULL);
      }
      *out = o;
    } else {
      free(buf);
    }
  }
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
    fail_(msg, msglen, 0, "%s: must be valid UTF-8", field);
    return -1;
  }
  if (utf8_length(s, n) > max_chars) {
    fail_(msg, msglen, 0, "%s: must be at most %zu characters", field, max_chars);
    return -1;
  }
  *out = s;
  return 0;
}

static int window_(const char *from_s, const char *to_s, int32_t *from, int32_t *to, char *msg,
                   size_t msglen) {
  if (from_s == NULL || from_s[0] == '\0') {
    *from = date_today_utc();
  } else if (date_parse(from_s, from) != 0) {
    fail_(msg, msglen, 0, "date_from: must be a date YYYY-MM-DD");
    return -1;
  }
  if (to_s == NULL || to_s[0] == '\0') {
    *to = *from + QUERY_DEFAULT_WINDOW_DAYS;
  } else if (date_parse(to_s, to) != 0) {
    fail_(msg, msglen, 0, "date_to: must be a date YYYY-MM-DD");
    return -1;
  }
  if (*from > *to) {
    fail_(msg, msglen, 0, "date_from: must not be after date_to");
    return -1;
  }
  if (*to - *from >= QUERY_MAX_WINDOW_DAYS) {
    fail_(msg, msglen, 0, "date_to: the window may span at most %d days", QUERY_MAX_WINDOW_DAYS);
    return -1;
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
    fail_(msg, msglen, 0, "%s: must be 1..%d", field, (int)max);
    return -1;
  }
  *out = v->value;
  return 0;
}

/* The filter fields common to ListShows and ListEpisodes (same numbers). */
static int filter_(const char *date_from, const char *date_to, const char *country,
                   const char *distributor, const Google__Protobuf__DoubleValue *rating,
                   const char *genre, const char *q, const Google__Protobuf__Int32Value *page,
                   const Google__Protobuf__Int32Value *per_page, struct shows_filter *f,
                   char country_buf[3], char *msg, size_t msglen) {
  memset(f, 0, sizeof *f);
  if (window_(date_from, date_to, &f->date_from, &f->date_to, msg, msglen) != 0) {
    return -1;
  }
  if (country != NULL && country[0] != '\0') {
    if (strlen(country) != 2 || !((country[0] | 0x20) >= 'a' && (country[0] | 0x20) <= 'z') ||
        !((country[1] | 0x20) >= 'a' && (country[1] | 0x20) <= 'z')) {
      fail_(msg, msglen, 0, "country: must be an ISO 3166-1 alpha-2 code such as US");
      return -1;
    }
    country_buf[0] = (char)(country[0] & ~0x20);
    country_buf[1] = (char)(country[1] & ~0x20);
    country_buf[2] = '\0';
    f->country = country_buf;
  }
  if (text_("distributor", distributor, NAME_MAX_CHARS, &f->distributor, msg, msglen) != 0 ||
      text_("genre", genre, NAME_MAX_CHARS, &f->genre, msg, msglen) != 0 ||
      text_("q", q, Q_MAX_CHARS, &f->q, msg, msglen) != 0) {
    return -1;
  }
  if (rating != NULL) {
    if (!(rating->value >= 0.0 && rating->value <= 10.0)) {
      fail_(msg, msglen, 0, "rating: must be 0..10");
      return -1;
    }
    f->has_rating = 1;
    f->min_rating = rating->value;
  }
  return service_page_args(page, per_page, &f->page, &f->per_page, msg, msglen);
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
  enum store_status st = store_show_get(s, a, p->id, &show);
  *out = NULL;
  if (st == STORE_OK) {
    Tvmaze__V1__GetShowResponse *r = arena_alloc(a, sizeof *r);
    tvmaze__v1__get_show_response__init(r);
    r->show = show;
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
                          Tvmaze__V1__ListShowsResponse **out, char *msg, size_t msglen) {
  struct qparams p = {0};
  char cc[3];
  *out = NULL;
  if (filter_(req->date_from, req->date_to, req->country, req->distributor, req->rating, req->genre,
              req->q, req->page, req->per_page, &p.f, cc, msg, msglen) != 0) {
    return RPC_INVALID_ARGUMENT;
  }
  return read_through_(w, "ListShows", &req->base, &tvmaze__v1__list_shows_response__descriptor,
                       c_list_shows_, &p, "shows", (ProtobufCMessage **)out, msg, msglen);
}

rpc_code query_get_show(struct worker_ctx *w, const Tvmaze__V1__GetShowRequest *req,
                        Tvmaze__V1__GetShowResponse **out, char *msg, size_t msglen) {
  struct qparams p = {0};
  *out = NULL;
  if (req->id <= 0) {
    return fail_(msg, msglen, RPC_INVALID_ARGUMENT, "id: must be a positive TVMaze show id");
  }
  p.id = req->id;
  char what[32];
  snprintf(what, sizeof what, "show %d", (int)req->id);
  return read_through_(w, "GetShow", &req->base, &tvmaze__v1__get_show_response__descriptor,
                       c_get_show_, &p, what, (ProtobufCMessage **)out, msg, msglen);
}

rpc_code query_list_episodes(struct worker_ctx *w, const Tvmaze__V1__ListEpisodesRequest *req,
                             Tvmaze__V1__ListEpisodesResponse **out, char *msg, size_t msglen) {
  struct qparams p = {0};
  char cc[3];
  *out = NULL;
  if (filter_(req->date_from, req->date_to, req->country, req->distributor, req->rating, req->genre,
              req->q, req->page, req->per_page, &p.f, cc, msg, msglen) != 0) {
    return RPC_INVALID_ARGUMENT;
  }
  return read_through_(w, "ListEpisodes", &req->base,
                       &tvmaze__v1__list_episodes_response__descriptor, c_list_episodes_, &p,
                       "episodes", (ProtobufCMessage **)out, msg, msglen);
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
                          Tvmaze__V1__ShowsWithEpisodeStatsResponse **out, char *msg,
                          size_t msglen) {
  struct qparams p = {0};
  *out = NULL;
  if (window_(req->date_from, req->date_to, &p.f.date_from, &p.f.date_to, msg, msglen) != 0 ||
      limit_("limit", req->limit, 100, 1000, &p.limit, msg, msglen) != 0) {
    return RPC_INVALID_ARGUMENT;
  }
  return read_through_(w, "ShowsWithEpisodeStats", &req->base,
                       &tvmaze__v1__shows_with_episode_stats_response__descriptor, c_show_stats_,
                       &p, "report", (ProtobufCMessage **)out, msg, msglen);
}

rpc_code query_top_by_genre(struct worker_ctx *w, const Tvmaze__V1__TopRatedByGenreRequest *req,
                            Tvmaze__V1__TopRatedByGenreResponse **out, char *msg, size_t msglen) {
  struct qparams p = {0};
  *out = NULL;
  if (limit_("limit", req->limit, 10, 100, &p.limit, msg, msglen) != 0 ||
      text_("genre", req->genre, NAME_MAX_CHARS, &p.genre, msg, msglen) != 0) {
    return RPC_INVALID_ARGUMENT;
  }
  return read_through_(w, "TopRatedByGenre", &req->base,
                       &tvmaze__v1__top_rated_by_genre_response__descriptor, c_top_by_genre_, &p,
                       "report", (ProtobufCMessage **)out, msg, msglen);
}

rpc_code query_network_perf(struct worker_ctx *w, const Tvmaze__V1__NetworkPerformanceRequest *req,
                            Tvmaze__V1__NetworkPerformanceResponse **out, char *msg,
                            size_t msglen) {
  struct qparams p = {0};
  *out = NULL;
  if (limit_("limit", req->limit, 100, 1000, &p.limit, msg, msglen) != 0) {
    return RPC_INVALID_ARGUMENT;
  }
  return read_through_(w, "NetworkPerformance", &req->base,
                       &tvmaze__v1__network_performance_response__descriptor, c_network_perf_, &p,
                       "report", (ProtobufCMessage **)out, msg, msglen);
}

rpc_code query_monthly(struct worker_ctx *w, const Tvmaze__V1__MonthlyTrendsRequest *req,
                       Tvmaze__V1__MonthlyTrendsResponse **out, char *msg, size_t msglen) {
  struct qparams p = {0};
  *out = NULL;
  if (window_(req->date_from, req->date_to, &p.f.date_from, &p.f.date_to, msg, msglen) != 0) {
    return RPC_INVALID_ARGUMENT;
  }
  return read_through_(w, "MonthlyTrends", &req->base,
                       &tvmaze__v1__monthly_trends_response__descriptor, c_monthly_, &p, "report",
                       (ProtobufCMessage **)out, msg, msglen);
}

rpc_code query_countries(struct worker_ctx *w, const Tvmaze__V1__CountryDistributionRequest *req,
                         Tvmaze__V1__CountryDistributionResponse **out, char *msg, size_t msglen) {
  struct qparams p = {0};
  *out = NULL;
  return read_through_(w, "CountryDistribution", &req->base,
                       &tvmaze__v1__country_distribution_response__descriptor, c_countries_, &p,
                       "report", (ProtobufCMessage **)out, msg, msglen);
}
