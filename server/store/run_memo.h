/*
 * run_memo: what the day write knows beyond the batch -- the run memo
 * (struct store_ingest_memo, one per run, see store_ingest.h for its
 * contract), the day's key index (struct day_keys) and the one tag table
 * their 64-bit keys and the SQL of the probe and the preload share.
 * No database here: the executor (store_ingest.c) reads the rows of the
 * probe and the preload and hands each to run_memo_put_row.
 *
 * Keys (common/u64map) carry their tag in the top byte, so no key is 0;
 * values are never 0 (0: unknown, also for a forgotten entry):
 *
 *   tag                      key bits              value                 held by
 *   RUN_TAG_SHOW_HASH     1  show id               row hash              memo
 *   RUN_TAG_DIST_HASH     2  kind, tvmaze_id       row hash              memo
 *   RUN_TAG_COUNTRY_HASH  3  two-letter code       row hash              memo
 *   RUN_TAG_STORED_SHOW   4  show id               1: shows has it       memo (a set), day, SQL
 *   RUN_TAG_STORED_EP     5  episode id            1: episodes has it    memo (a set), day, SQL
 *   RUN_TAG_DIST_ROW      6  kind, tvmaze_id       distributors.id       memo, day, SQL
 *   RUN_TAG_GENRE_ROW     7  (by name: genre_ids)  genres.id             memo, day, SQL
 *   RUN_TAG_BATCH_SHOW    8  show id               index + 1 in batch    day
 *   RUN_TAG_BATCH_DIST    9  kind, tvmaze_id       index + 1 in batch    day
 *
 * The probe and the preload answer rows (tag, id, kind, tvmaze_id, name)
 * with the tags above as SQL text (RUN_TAG_SQL), the preload with lists of
 * ids (day_sql.h), each id a row to run_memo_put. Tags 4-7 live in a
 * preloaded memo for the whole run; without one, the day's probe finds
 * them for the day. Genres (a few dozen) are kept by name in a list.
 * One owner thread (the run's writer).
 */
#ifndef TVMAZE_STORE_RUN_MEMO_H
#define TVMAZE_STORE_RUN_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "rows.h"
#include "u32set.h"
#include "u64map.h"

/* The tag table (above). Plain integer literals: RUN_TAG_SQL makes SQL
 * text of them. */
#define RUN_TAG_SHOW_HASH 1
#define RUN_TAG_DIST_HASH 2
#define RUN_TAG_COUNTRY_HASH 3
#define RUN_TAG_STORED_SHOW 4
#define RUN_TAG_STORED_EP 5
#define RUN_TAG_DIST_ROW 6
#define RUN_TAG_GENRE_ROW 7
#define RUN_TAG_BATCH_SHOW 8
#define RUN_TAG_BATCH_DIST 9
#define RUN_TAG_SQL_(t) #t
#define RUN_TAG_SQL(t) RUN_TAG_SQL_(t) /* RUN_TAG_SQL(RUN_TAG_DIST_ROW) is "6" */

#define RUN_TAG_MASK_ ((uint64_t)0xff << 56)

static inline uint64_t run_key_id_(int tag, int id) {
  return (uint64_t)tag << 56 | (uint32_t)id;
}
static inline uint64_t run_key_dist_(int tag, int kind, int tvmaze_id) {
  return (uint64_t)tag << 56 | (uint64_t)(kind & 0xff) << 32 | (uint32_t)tvmaze_id;
}

/* Typed keys: one constructor per (tag, key) of the table. */
static inline uint64_t run_key_show_hash(int show_id) {
  return run_key_id_(RUN_TAG_SHOW_HASH, show_id);
}
static inline uint64_t run_key_dist_hash(int kind, int tvmaze_id) {
  return run_key_dist_(RUN_TAG_DIST_HASH, kind, tvmaze_id);
}
/* Only two-byte codes (all the parser yields; the table's CHECK refuses
 * others) have a key; else 0 (never memoized). */
static inline uint64_t run_key_country_hash(const char *code) {
  if (code == NULL || code[0] == '\0' || code[1] == '\0' || code[2] != '\0') {
    return 0;
  }
  return (uint64_t)RUN_TAG_COUNTRY_HASH << 56 | (uint64_t)(unsigned char)code[0] << 8 |
         (unsigned char)code[1];
}
static inline uint64_t run_key_stored_show(int show_id) {
  return run_key_id_(RUN_TAG_STORED_SHOW, show_id);
}
static inline uint64_t run_key_stored_episode(int episode_id) {
  return run_key_id_(RUN_TAG_STORED_EP, episode_id);
}
static inline uint64_t run_key_dist_row(int kind, int tvmaze_id) {
  return run_key_dist_(RUN_TAG_DIST_ROW, kind, tvmaze_id);
}
static inline uint64_t run_key_batch_show(int show_id) {
  return run_key_id_(RUN_TAG_BATCH_SHOW, show_id);
}
static inline uint64_t run_key_batch_dist(int kind, int tvmaze_id) {
  return run_key_dist_(RUN_TAG_BATCH_DIST, kind, tvmaze_id);
}

/* genres rows by name (a few dozen: searched in order); names copied. */
struct genre_ids {
  char **names;
  long long *ids;
  size_t n, cap;
};
void genre_ids_add(struct genre_ids *g, const char *name, long long id);
/* genres.id of name, 0 if not listed. */
long long genre_ids_find(const struct genre_ids *g, const char *name);
/* Frees; g is empty after. Accepts a zeroed one. */
void genre_ids_release(struct genre_ids *g);

struct store_ingest_memo {
  struct u64map t; /* key -> row hash or row id (tags above); 0 unknown */
  /* tags RUN_TAG_STORED_SHOW and _STORED_EP: sets of ids (a run's window
   * has hundreds of thousands, at a quarter of their u64map size) */
  struct u32set stored_shows, stored_episodes;
  /* store_ingest_memo_preload ran: the sets hold every stored show id and
   * the episode ids of the run's window, t every distributor's row id,
   * genres every genre's; a day then needs no probe */
  int preloaded;
  struct genre_ids genres;
};

/* Records one row (tag, id, kind, tvmaze_id, name) of the probe into t /
 * g: tags RUN_TAG_STORED_SHOW, _STORED_EP, _DIST_ROW and _GENRE_ROW (a row
 * id <= 0 and any other tag are ignored). */
void run_memo_put_row(struct u64map *t, struct genre_ids *g, long long tag, long long id, int kind,
                      int tvmaze_id, const char *name);
/* The same into the run memo m (the preload's rows). */
void run_memo_put(struct store_ingest_memo *m, long long tag, long long id, int kind, int tvmaze_id,
                  const char *name);

/* Row hashes (change detection, common/hash.h's fold) of the normalized
 * rows; never 0. A show's covers its distributor key and genre list. */
uint64_t run_hash_country(const struct row_country *c);
uint64_t run_hash_distributor(const struct row_distributor *d);
uint64_t run_hash_show(const struct row_show *sh);

/* What the day's writer knows beyond the batch. */
struct day_keys {
  struct u64map t;                     /* this day's keys (tags above) */
  const struct store_ingest_memo *run; /* a preloaded run memo, else NULL */
  struct genre_ids genres;             /* genres rows found this day */
};

/* Indexes b's shows and distributors (RUN_TAG_BATCH_*); memo NULL or not
 * preloaded: the day's probe must fill the rest. Release with
 * day_keys_release (which accepts a zeroed struct). */
void day_keys_init(struct day_keys *x, const struct row_batch *b,
                   const struct store_ingest_memo *memo);
void day_keys_release(struct day_keys *x);
/* The day's value of key, else the run memo's. */
uint64_t day_keys_get(const struct day_keys *x, uint64_t key);
/* genres.id of name (the day's, else the run memo's), 0 if unknown. */
long long day_keys_genre(const struct day_keys *x, const char *name);

/* After a day with a preloaded memo m: its shows and episodes count as
 * stored from now on (true after COMMIT; when the day failed they may be
 * missing, and the upserts that then write them create them as well), and
 * the distributors and genres rows the day created are recorded if it
 * committed (else they may not exist). m NULL or not preloaded: nothing. */
void run_memo_learn(struct store_ingest_memo *m, const struct row_batch *b,
                    const struct day_keys *x, int committed);

/* After the day: committed, its rows' hashes (country_h, dist_h, show_h:
 * one per row of b) are what the database holds; not committed (also when
 * COMMIT's outcome is unknown), the rows of the day are forgotten. m NULL:
 * nothing. */
void run_memo_record(struct store_ingest_memo *m, const struct row_batch *b,
                     const uint64_t *country_h, const uint64_t *dist_h, const uint64_t *show_h,
                     int committed);

#endif
