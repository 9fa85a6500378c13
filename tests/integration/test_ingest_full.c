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
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ingest_env.h"
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
  itest_run_free(&run);
  assert_int_equal(full_requests_(NULL), 1);
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
static void cut_run_(const char *fault, const char *reason) {
  Tvmaze__V1__IngestRun *run = NULL;
  struct ingest_fetch_config fc = full_cfg_();
  fc.max_retries = 1;
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
  char *after[N_DUMPS_];
  dump_all_(after);
  assert_same_dumps_(before, after, "rows after a cut document");
  /* the stored days no longer match the document: no validators kept */
  assert_int_equal(itest_q("SELECT count(*) FROM ingest_full_validators"), 0);
  dump_free_(before);
  dump_free_(after);

  /* the whole document again: the changed rows are written */
  json_decref(itest_fake_call("/_reset", "{}"));
  itest_fake_control("{\"set\": \"changed\"}");
  itest_run_sync_cfg(&fc, DAYS_, &run);
  assert_int_equal(run->status, STORE_RUN_SUCCEEDED);
  assert_true(run->episodes_updated + run->shows_updated > 0);
  itest_run_free(&run);
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
  };
  return cmocka_run_group_tests(tests, itest_fake_group_setup, itest_fake_group_teardown);
}
