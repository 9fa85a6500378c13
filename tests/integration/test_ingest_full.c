/*
 * Integration tests of full mode (TVMAZE_SCHEDULE_SOURCE=full:
 * server/ingest/ingest_full.c) against fresh PostgreSQL databases and the
 * fake TVMaze's /schedule/full (every item of the fixture set, the show
 * under _embedded.show, shuffled so that days interleave;
 * tests/fake_tvmaze/fake_tvmaze.py): the same rows and change records as a
 * daily run over the fixture countries, an unchanged re-run that writes
 * nothing, a document cut in the middle that fails the run's days with the
 * reason and leaves the stored days as they were. Shared helpers in
 * tests/support/ingest_env.h.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base64.h"
#include "date.h"
#include "ingest_env.h"
#include "ingest_run.h"
#include "json_stream.h"
#include "strbuf.h"
#include "store_ingest.h"

#define DAYS_ 3

static int setup_(void **state) {
  (void)state;
  itest_fresh_start("tvmaze_test_ingest_full");
  return 0;
}

static struct ingest_fetch_config full_cfg_(void) {
  struct ingest_fetch_config c = itest_fetch_cfg();
  c.source = INGEST_SOURCE_FULL;
  return c;
}

/* Each table's rows as one text, one canonical line per row, sorted: no
 * surrogate ids (distributors and genres by their natural keys), no
 * timestamps of the writes. */
static const char *const dumps_[] = {
    "SELECT to_jsonb(t)::text FROM countries t",
    "SELECT (to_jsonb(t) - 'id')::text FROM distributors t",
    "SELECT (to_jsonb(t) - 'id')::text FROM genres t",
    ("SELECT (to_jsonb(t) - 'created_at' - 'updated_at' - 'distributor_id' || "
     "jsonb_build_object('dist', (SELECT jsonb_build_array(d.kind, d.tvmaze_id) "
     "FROM distributors d WHERE d.id = t.distributor_id)))::text FROM shows t"),
    ("SELECT jsonb_build_array(t.show_id, g.name, t.position)::text FROM show_genres t "
     "JOIN genres g ON g.id = t.genre_id"),
    "SELECT (to_jsonb(t) - 'created_at' - 'updated_at')::text FROM episodes t",
    "SELECT (to_jsonb(t) - 'version' - 'changed_at')::text FROM changes t",
};
#define N_DUMPS_ (sizeof dumps_ / sizeof dumps_[0])

static void dump_all_(char *out[N_DUMPS_]) {
  for (size_t i = 0; i < N_DUMPS_; i++) {
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(string_agg(x, E'\\n' ORDER BY x), '') FROM (%s) q(x)", dumps_[i]);
    out[i] = itest_qs(sql);
    assert_non_null(out[i]);
  }
}

static void dump_free_(char *d[N_DUMPS_]) {
  for (size_t i = 0; i < N_DUMPS_; i++) {
    free(d[i]);
    d[i] = NULL;
  }
}

static void assert_same_dumps_(char *a[N_DUMPS_], char *b[N_DUMPS_], const char *what) {
  for (size_t i = 0; i < N_DUMPS_; i++) {
    if (strcmp(a[i], b[i]) != 0) {
      fail_msg("%s: %s differs:\n--- expected\n%s\n--- got\n%s", what, dumps_[i], a[i], b[i]);
    }
  }
}

/* The tables now equal before's dump (freed), or the test fails on what. */
static void assert_rows_as_(char *before[N_DUMPS_], const char *what) {
  char *now[N_DUMPS_];
  dump_all_(now);
  assert_same_dumps_(before, now, what);
  dump_free_(before);
  dump_free_(now);
}

static void assert_days_(const Tvmaze__V1__IngestRun *run, int status, int skipped) {
  assert_int_equal(run->n_day_results, DAYS_);
  for (size_t i = 0; i < DAYS_; i++) {
    assert_int_equal(run->day_results[i]->status, status);
    assert_int_equal(run->day_results[i]->skipped, skipped);
  }
}

static long long full_requests_(const char *key) {
  json_t *stats = itest_fake_call("/_stats", NULL);
  long long n = 0;
  if (key != NULL) {
    n = json_integer_value(json_object_get(stats, key));
  } else {
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(stats, "log"), i, e) {
      n += strcmp(json_string_value(json_object_get(e, "path")), "/schedule/full") == 0;
    }
  }
  json_decref(stats);
  return n;
}

/* A full run stores what a daily run over the fixture countries stores,
 * row by row, in two fresh databases, with one request. */
static void test_full_equals_daily(void **state) {
  (void)state;
  Tvmaze__V1__IngestRun *run = NULL;
  itest_fresh_db("tvmaze_test_ingest_full_daily");
  itest_run_sync(DAYS_, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  /* daily mode has no download progress */
  assert_int_equal(run->bytes_downloaded + run->bytes_total + run->items_seen, 0);
  long long daily_seen = (long long)run->episodes_seen;
  itest_run_free(&run);
  char *daily[N_DUMPS_];
  dump_all_(daily);
  assert_true(itest_q("SELECT count(*) FROM episodes") > 0);
  assert_true(itest_q("SELECT count(*) FROM changes") > 0);

  itest_fresh_db("tvmaze_test_ingest_full_full");
  struct ingest_fetch_config fc = full_cfg_();
  itest_run_sync_cfg(&fc, DAYS_, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_int_equal(run->days_done, DAYS_);
  assert_int_equal(run->requests, 1);
  assert_int_equal(run->episodes_seen, daily_seen);
  assert_int_equal(run->episodes_created, daily_seen);
  assert_days_(run, STORE_DAY_SUCCEEDED, 0);
  /* the download's progress ends at the whole response and every item */
  assert_true(run->bytes_total > 0);
  assert_int_equal(run->bytes_downloaded, run->bytes_total);
  assert_int_equal(full_requests_(NULL), 1);
  json_t *doc = itest_fake_call("/schedule/full", NULL);
  assert_int_equal(run->items_seen, (long long)json_array_size(doc));
  assert_true(run->items_seen > 0);
  json_decref(doc);
  itest_run_free(&run);
  /* one body hash per day, under the source "full" */
  assert_int_equal(itest_q("SELECT count(*) FROM ingest_source_hashes WHERE source = 'full'"),
                   DAYS_);
  char *full[N_DUMPS_];
  dump_all_(full);
  assert_same_dumps_(daily, full, "full run vs daily run");
  dump_free_(daily);
  dump_free_(full);
}

/* Only the items of the run's window are kept. */
static void test_full_window(void **state) {
  (void)state;
  Tvmaze__V1__IngestRun *run = NULL;
  struct ingest_fetch_config fc = full_cfg_();
  itest_run_sync_cfg(&fc, 2, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_int_equal(run->n_day_results, 2);
  itest_run_free(&run);
  assert_true(itest_q("SELECT count(*) FROM episodes") > 0);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE airdate > '2030-01-02'"), 0);
  /* the fixtures have episodes on the third day: the window dropped them */
  json_t *stats = itest_fake_call("/schedule/full", NULL);
  size_t i, third = 0;
  json_t *e;
  json_array_foreach(stats, i, e) {
    third += strcmp(json_string_value(json_object_get(e, "airdate")), "2030-01-03") == 0;
  }
  json_decref(stats);
  assert_true(third > 0);
}

/* An unchanged re-run writes nothing: every day skipped by its digest, no
 * table row, no change record, the data generation unchanged. */
static void test_full_rerun_writes_nothing(void **state) {
  (void)state;
  Tvmaze__V1__IngestRun *run = NULL;
  struct ingest_fetch_config fc = full_cfg_();
  itest_run_sync_cfg(&fc, DAYS_, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  itest_run_free(&run);
  long long before[ITEST_N_TABLES], after[ITEST_N_TABLES];
  itest_writes_all(before);
  long long changes = itest_q("SELECT count(*) FROM changes");
  long long gen = itest_q("SELECT generation FROM data_generation");
  assert_true(changes > 0);

  itest_run_sync_cfg(&fc, DAYS_, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_int_equal(run->days_done, DAYS_);
  assert_int_equal(run->episodes_created + run->episodes_updated + run->episodes_removed, 0);
  assert_int_equal(run->shows_created + run->shows_updated, 0);
  assert_days_(run, STORE_DAY_SUCCEEDED, 1);
  itest_run_free(&run);
  itest_writes_all(after);
  for (size_t i = 0; i < ITEST_N_TABLES; i++) {
    if (after[i] != before[i]) {
      fail_msg("%s: %lld rows written by an unchanged full re-run", itest_tables[i],
               after[i] - before[i]);
    }
  }
  assert_int_equal(itest_q("SELECT count(*) FROM changes"), changes);
  assert_int_equal(itest_q("SELECT generation FROM data_generation"), gen);
}

/* A cut document fails every day of the run (no day of it is complete
 * before its end) with the reason; the days stored by the earlier run stay
 * exactly as they were, with no change record. */
static void bad_run_cfg_(const struct ingest_fetch_config *cfg, const char *fault,
                         const char *reason) {
  Tvmaze__V1__IngestRun *run = NULL;
  struct ingest_fetch_config fc = *cfg;
  json_decref(itest_fake_call("/_reset", "{}")); /* the base set, whatever ran before */
  itest_run_sync_cfg(&fc, DAYS_, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  itest_run_free(&run);
  char *before[N_DUMPS_];
  dump_all_(before);

  itest_fake_control("{\"set\": \"changed\"}"); /* a whole document would change rows */
  itest_fake_control(fault);
  itest_run_sync_cfg(&fc, DAYS_, &run);
  assert_int_equal(run->status, STORE_RUN_FAILED);
  assert_int_equal(run->days_done, DAYS_); /* finished days, failed ones too (as daily mode) */
  assert_days_(run, STORE_DAY_FAILED, 0);
  for (size_t i = 0; i < DAYS_; i++) {
    const char *err = run->day_results[i]->error;
    assert_non_null(err);
    if (strstr(err, run->day_results[i]->date) == NULL || strstr(err, "full schedule") == NULL ||
        strstr(err, reason) == NULL) {
      fail_msg("day %s: error \"%s\" lacks the date, \"full schedule\" or \"%s\"",
               run->day_results[i]->date, err, reason);
    }
  }
  itest_run_free(&run);
  assert_rows_as_(before, "rows after a cut document");
  /* the stored days no longer match the document: no validators kept */
  assert_int_equal(itest_q("SELECT count(*) FROM ingest_full_validators"), 0);

  /* the whole document again: the changed rows are written */
  json_decref(itest_fake_call("/_reset", "{}"));
  itest_fake_control("{\"set\": \"changed\"}");
  itest_run_sync_cfg(&fc, DAYS_, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_true(run->episodes_updated + run->shows_updated > 0);
  itest_run_free(&run);
}

static void cut_run_(const char *fault, const char *reason) {
  struct ingest_fetch_config fc = full_cfg_();
  fc.max_retries = 1;
  bad_run_cfg_(&fc, fault, reason);
}

/* cut_run_ with the fault {"match": "/schedule/full", "times": -1, key: value}
 * (value: jansson's json_pack format fmt, then its argument). */
static void bad_body_(const char *key, const char *fmt, const void *value, const char *reason) {
  json_t *f = json_pack("{s:s, s:i}", "match", "/schedule/full", "times", -1);
  json_t *v = fmt[0] == 's' ? json_string(value) : json_integer(*(const long long *)value);
  json_object_set_new(f, key, v);
  json_t *c = json_pack("{s:[o]}", "faults", f);
  char *body = json_dumps(c, JSON_COMPACT);
  json_decref(c);
  cut_run_(body, reason);
  free(body);
}

/* A document that is an object, not an array (an API error shape). */
static void test_full_not_an_array(void **state) {
  (void)state;
  bad_body_("body", "s", "{\"name\":\"Not Found\",\"status\":404}", "not a JSON array");
}

/* A 200 whose body is an HTML error page (a proxy's, a maintenance page). */
static void test_full_html_page(void **state) {
  (void)state;
  json_t *f = json_pack("{s:s, s:i, s:s, s:s}", "match", "/schedule/full", "times", -1, "body",
                        "<html><body><h1>502 Bad Gateway</h1></body></html>", "ctype",
                        "text/html; charset=utf-8");
  json_t *c = json_pack("{s:[o]}", "faults", f);
  char *body = json_dumps(c, JSON_COMPACT);
  json_decref(c);
  cut_run_(body, "HTML page");
  free(body);
  /* the same page as JSON's Content-Type: the splitter names the byte */
  bad_body_("body", "s", "<html><body>maintenance</body></html>", "not a JSON array");
}

/* One item of 64 MB (a string): the splitter stops at its item bound
 * (JSON_STREAM_MAX_ITEM, 4 MiB), so the item is never held whole. */
static void test_full_giant_item(void **state) {
  (void)state;
  long long n = 64LL << 20;
  char reason[64];
  snprintf(reason, sizeof reason, "larger than %zu bytes", JSON_STREAM_MAX_ITEM);
  bad_body_("giant_item", "I", &n, reason);
}

/* Nesting deeper than the splitter follows (JSON_SPAN_MAX_DEPTH). */
static void test_full_deep_nesting(void **state) {
  (void)state;
  enum { DEPTH = 100000 };
  char *doc = malloc(2 * DEPTH + 3);
  assert_non_null(doc);
  doc[0] = '[';
  memset(doc + 1, '[', DEPTH);
  memset(doc + 1 + DEPTH, ']', DEPTH);
  doc[1 + 2 * DEPTH] = ']';
  doc[2 + 2 * DEPTH] = '\0';
  bad_body_("body", "s", doc, "nesting deeper than");
  free(doc);
}

struct drip_run_ {
  struct store *s;
  const struct ingest_fetch_config *fc;
  long long id;
};

static void *drip_run_fn_(void *arg) {
  struct drip_run_ *d = arg;
  (void)ingest_run_execute(d->s, d->fc, d->id, date_from_civil(2030, 1, 1), DAYS_, NULL);
  return NULL;
}

/* A body that never ends (half the document, then a space every 50 ms,
 * below the low-speed limit): the run's download progress moves while no
 * day is done, then the whole-transfer timeout fails every day with the
 * reason, the stored rows as they were. */
static void test_full_slow_drip(void **state) {
  (void)state;
  struct ingest_fetch_config fc = full_cfg_();
  fc.max_retries = 0;
  fc.full_timeout_ms = 3000;
  fc.full_low_speed_bps = 1 << 20;
  Tvmaze__V1__IngestRun *run = NULL;
  itest_run_sync_cfg(&fc, DAYS_, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  itest_run_free(&run);
  char *before[N_DUMPS_];
  dump_all_(before);
  itest_fake_control("{\"set\": \"changed\"}");
  itest_fake_control(
      "{\"faults\": [{\"match\": \"/schedule/full\", \"times\": -1, "
      "\"drip\": 0.5}]}");
  struct drip_run_ d = {.fc = &fc};
  d.s = itest_begin(DAYS_, &d.id);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, drip_run_fn_, &d), 0);
  /* mid-download: bytes and items recorded, no Content-Length, no day done */
  itest_wait_for(
      "SELECT count(*) FROM ingest_runs WHERE status = 1 AND days_done = 0 AND "
      "bytes_downloaded > 0 AND items_seen > 0 AND bytes_total = 0",
      1);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(store_ingest_run_get(d.s, NULL, d.id, &run), STORE_OK);
  store_close(d.s);
  assert_int_equal(run->status, STORE_RUN_FAILED);
  assert_days_(run, STORE_DAY_FAILED, 0);
  for (size_t i = 0; i < DAYS_; i++) {
    const char *err = run->day_results[i]->error;
    if (strstr(err, "full schedule") == NULL || strstr(err, "Timeout was reached") == NULL) {
      fail_msg("day %s: error \"%s\" does not say the transfer timed out",
               run->day_results[i]->date, err);
    }
  }
  assert_true(run->items_seen > 0 && run->bytes_downloaded > 0);
  itest_run_free(&run);
  assert_rows_as_(before, "rows after a body that never ends");
}

/* The fixture document (as the fake parses it back) with extra, items as
 * raw JSON text appended ("" for none), served for /schedule/full from now
 * on (the fault body_b64: the bytes need not be UTF-8). */
static void serve_doc_with_(const char *extra) {
  json_t *doc = itest_fake_call("/schedule/full", NULL);
  char *text = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  size_t n = strlen(text);
  assert_true(n > 2 && text[n - 1] == ']');
  struct strbuf raw, b64;
  strbuf_init(&raw);
  strbuf_init(&b64);
  strbuf_append_n(&raw, text, n - 1);
  strbuf_append(&raw, extra);
  strbuf_append_char(&raw, ']');
  free(text);
  base64_encode(&b64, (const uint8_t *)raw.data, raw.len);
  json_t *f = json_pack("{s:s, s:i, s:s#}", "match", "/schedule/full", "times", -1, "body_b64",
                        b64.data, b64.len);
  json_t *c = json_pack("{s:[o]}", "faults", f);
  char *body = json_dumps(c, JSON_COMPACT);
  json_decref(c);
  itest_fake_control(body);
  free(body);
  strbuf_release(&raw);
  strbuf_release(&b64);
}

/* A run of the fixture document with extra appended (serve_doc_with_) after
 * a run of the plain one: *out gets it; the rows must stay those of the
 * plain run (its items are the same). */
static void extra_items_run_(const char *extra, int status, Tvmaze__V1__IngestRun **out) {
  Tvmaze__V1__IngestRun *run = NULL;
  struct ingest_fetch_config fc = full_cfg_();
  itest_run_sync_cfg(&fc, DAYS_, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  long long plain_items = run->items_seen;
  itest_run_free(&run);
  char *before[N_DUMPS_];
  dump_all_(before);
  serve_doc_with_(extra);
  itest_run_sync_cfg(&fc, DAYS_, out);
  assert_int_equal((*out)->status, status);
  assert_true((*out)->items_seen > plain_items);
  assert_int_equal((*out)->days_done, DAYS_);
  assert_rows_as_(before, "rows after a document with bad items");
}

/* Items without an id (or with a show without one) are skipped as daily
 * mode skips them (ingest_parse.c: items_skipped): the run succeeds with
 * the other items' rows. */
static void test_full_items_missing_ids(void **state) {
  (void)state;
  Tvmaze__V1__IngestRun *run = NULL;
  extra_items_run_(
      ",{\"airdate\":\"2030-01-01\",\"name\":\"no id\","
      "\"_embedded\":{\"show\":{\"id\":999001,\"name\":\"S\"}}}"
      ",{\"id\":999002,\"airdate\":\"2030-01-02\",\"name\":\"no show id\","
      "\"_embedded\":{\"show\":{\"name\":\"S\"}}}",
      STORE_RUN_SUCCEEDED, &run);
  for (size_t i = 0; i < DAYS_; i++) {
    assert_int_equal(run->day_results[i]->status, STORE_DAY_SUCCEEDED);
  }
  itest_run_free(&run);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE id = 999002"), 0);
  assert_int_equal(itest_q("SELECT count(*) FROM shows WHERE id = 999001"), 0);
}

/* An item whose bytes are not UTF-8 fails its own day with the parser's
 * reason (the splitter decodes nothing); the other days are written: the
 * run is PARTIAL, nothing of the bad day half-written. */
static void test_full_invalid_utf8(void **state) {
  (void)state;
  Tvmaze__V1__IngestRun *run = NULL;
  extra_items_run_(
      ",{\"id\":999003,\"airdate\":\"2030-01-02\",\"name\":\"bad \xff\xfe\","
      "\"_embedded\":{\"show\":{\"id\":999004,\"name\":\"S\"}}}",
      STORE_RUN_PARTIAL, &run);
  for (size_t i = 0; i < DAYS_; i++) {
    const Tvmaze__V1__DayResult *d = run->day_results[i];
    if (strcmp(d->date, "2030-01-02") != 0) {
      assert_int_equal(d->status, STORE_DAY_SUCCEEDED);
      continue;
    }
    assert_int_equal(d->status, STORE_DAY_FAILED);
    if (strstr(d->error, "full schedule") == NULL || strstr(d->error, "invalid UTF-8") == NULL) {
      fail_msg("day %s: error \"%s\" does not name the invalid UTF-8", d->date, d->error);
    }
  }
  itest_run_free(&run);
  assert_int_equal(itest_q("SELECT count(*) FROM episodes WHERE id = 999003"), 0);
}

/* The connection closes in the middle of the (gzip) body, every attempt. */
static void test_full_cut_transfer(void **state) {
  (void)state;
  cut_run_("{\"faults\": [{\"match\": \"/schedule/full\", \"times\": -1, \"cut\": 0.5}]}",
           "gave up after 2 attempts");
}

/* A complete response whose document stops in the middle. */
static void test_full_truncated_document(void **state) {
  (void)state;
  cut_run_("{\"faults\": [{\"match\": \"/schedule/full\", \"times\": -1, \"truncate\": 0.5}]}",
           "truncated");
}

/* The last /schedule/full request's field (If-None-Match "inm" or
 * If-Modified-Since "ims"), malloc'd. */
static char *last_full_header_(const char *field) {
  json_t *stats = itest_fake_call("/_stats", NULL);
  json_t *log = json_object_get(stats, "log"), *e;
  size_t i;
  char *v = NULL;
  json_array_foreach(log, i, e) {
    if (strcmp(json_string_value(json_object_get(e, "path")), "/schedule/full") == 0) {
      free(v);
      v = strdup(json_string_value(json_object_get(e, field)));
    }
  }
  json_decref(stats);
  assert_non_null(v);
  return v;
}

/* Conditional GET: the document's validators are stored once its days are
 * written and sent by the next run; the fake's 304 ends that run as an
 * unchanged re-run (every day skipped, nothing written, no body parsed). A
 * day new to the window, or a changed document, gets a whole document. */
static void test_full_not_modified(void **state) {
  (void)state;
  Tvmaze__V1__IngestRun *run = NULL;
  struct ingest_fetch_config fc = full_cfg_();
  itest_run_sync_cfg(&fc, DAYS_, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  itest_run_free(&run);
  char *inm = last_full_header_("inm");
  assert_string_equal(inm, ""); /* nothing stored yet: unconditional */
  free(inm);
  char *etag = itest_qs("SELECT etag FROM ingest_full_validators");
  char *lm = itest_qs("SELECT last_modified FROM ingest_full_validators");
  assert_non_null(etag);
  assert_non_null(lm);
  assert_true(etag[0] == '"' && lm[0] != '\0');
  assert_int_equal(full_requests_("not_modified"), 0);
  long long before[ITEST_N_TABLES], after[ITEST_N_TABLES];
  itest_writes_all(before);
  long long changes = itest_q("SELECT count(*) FROM changes");

  itest_run_sync_cfg(&fc, DAYS_, &run);
  assert_int_equal(full_requests_("not_modified"), 1);
  inm = last_full_header_("inm");
  char *ims = last_full_header_("ims");
  assert_string_equal(inm, etag);
  assert_string_equal(ims, lm);
  free(inm);
  free(ims);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_int_equal(run->requests, 1);
  assert_int_equal(run->days_done, DAYS_);
  assert_int_equal(run->episodes_created + run->episodes_updated + run->episodes_removed, 0);
  assert_true(run->episodes_unchanged > 0); /* the stored counts of the skipped days */
  assert_days_(run, STORE_DAY_SUCCEEDED, 1);
  itest_run_free(&run);
  itest_writes_all(after);
  for (size_t i = 0; i < ITEST_N_TABLES; i++) {
    if (after[i] != before[i]) {
      fail_msg("%s: %lld rows written after a 304", itest_tables[i], after[i] - before[i]);
    }
  }
  assert_int_equal(itest_q("SELECT count(*) FROM changes"), changes);
  char *etag2 = itest_qs("SELECT etag FROM ingest_full_validators");
  assert_string_equal(etag2, etag); /* kept */
  free(etag2);

  /* a day the stored document did not cover: no validators sent */
  itest_run_sync_cfg(&fc, DAYS_ + 1, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  itest_run_free(&run);
  inm = last_full_header_("inm");
  assert_string_equal(inm, "");
  free(inm);
  assert_int_equal(full_requests_("not_modified"), 1);

  /* a changed document: the validators go out, a 200 comes back */
  itest_fake_control("{\"set\": \"changed\"}");
  itest_run_sync_cfg(&fc, DAYS_, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_true(run->episodes_updated > 0);
  itest_run_free(&run);
  inm = last_full_header_("inm");
  assert_string_equal(inm, etag);
  free(inm);
  assert_int_equal(full_requests_("not_modified"), 1);
  etag2 = itest_qs("SELECT etag FROM ingest_full_validators");
  assert_non_null(etag2);
  assert_string_not_equal(etag2, etag);
  free(etag2);
  free(etag);
  free(lm);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_full_equals_daily, setup_),
      cmocka_unit_test_setup(test_full_window, setup_),
      cmocka_unit_test_setup(test_full_rerun_writes_nothing, setup_),
      cmocka_unit_test_setup(test_full_cut_transfer, setup_),
      cmocka_unit_test_setup(test_full_truncated_document, setup_),
      cmocka_unit_test_setup(test_full_not_modified, setup_),
      cmocka_unit_test_setup(test_full_not_an_array, setup_),
      cmocka_unit_test_setup(test_full_html_page, setup_),
      cmocka_unit_test_setup(test_full_giant_item, setup_),
      cmocka_unit_test_setup(test_full_deep_nesting, setup_),
      cmocka_unit_test_setup(test_full_slow_drip, setup_),
      cmocka_unit_test_setup(test_full_items_missing_ids, setup_),
      cmocka_unit_test_setup(test_full_invalid_utf8, setup_),
  };
  return cmocka_run_group_tests(tests, itest_fake_group_setup, itest_fake_group_teardown);
}
