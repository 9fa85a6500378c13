/*
 * log (common/log.c): the thread's trace context (log_trace_set) in JSON
 * and text lines, cleared by NULL, and per thread. stdout is redirected to
 * a temporary file for each case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>

#include <cmocka.h>

#include "log.h"

#define TID "0af7651916cd43dd8448eb211c80319c"
#define SID "b7ad6b7169203331"

/* Runs fn with stdout in a temporary file; its text into out. */
static void capture_(void (*fn)(void), char *out, size_t outlen) {
  fflush(stdout);
  FILE *f = tmpfile();
  assert_non_null(f);
  int saved = dup(STDOUT_FILENO);
  assert_true(saved >= 0);
  assert_true(dup2(fileno(f), STDOUT_FILENO) >= 0);
  fn();
  assert_true(dup2(saved, STDOUT_FILENO) >= 0);
  close(saved);
  rewind(f);
  size_t n = fread(out, 1, outlen - 1, f);
  out[n] = '\0';
  fclose(f);
}

static void json_lines_(void) {
  log_init(LOG_INFO, LOG_FORMAT_JSON);
  LOG_EVENT(LOG_INFO, "before", LF_INT("n", 1));
  log_trace_set(TID, SID);
  LOG_EVENT(LOG_INFO, "during", LF_INT("n", 2));
  log_trace_set(NULL, NULL);
  LOG_EVENT(LOG_INFO, "after", LF_INT("n", 3));
}

static void test_json(void **state) {
  (void)state;
  char out[4096];
  capture_(json_lines_, out, sizeof out);
  char *during = strstr(out, "\"event\":\"during\"");
  assert_non_null(during);
  assert_non_null(strstr(
      out, "\"event\":\"during\",\"trace_id\":\"" TID "\",\"span_id\":\"" SID "\",\"n\":2}"));
  assert_non_null(strstr(out, "\"event\":\"before\",\"n\":1}"));
  assert_non_null(strstr(out, "\"event\":\"after\",\"n\":3}"));
}

static void text_line_(void) {
  log_init(LOG_INFO, LOG_FORMAT_TEXT);
  log_trace_set(TID, SID);
  LOG_EVENT(LOG_INFO, "during", LF_INT("n", 2));
  log_trace_set(NULL, NULL);
  log_init(LOG_INFO, LOG_FORMAT_JSON);
}

static void test_text(void **state) {
  (void)state;
  char out[4096];
  capture_(text_line_, out, sizeof out);
  assert_non_null(strstr(out, "during trace_id=" TID " span_id=" SID " n=2"));
}

static void *other_thread_(void *arg) {
  (void)arg;
  LOG_EVENT(LOG_INFO, "other", LF_INT("n", 4));
  return NULL;
}

static void two_threads_(void) {
  log_init(LOG_INFO, LOG_FORMAT_JSON);
  log_trace_set(TID, SID);
  pthread_t th;
  pthread_create(&th, NULL, other_thread_, NULL);
  pthread_join(th, NULL);
  log_trace_set(NULL, NULL);
}

/* Another thread's lines do not carry this thread's context. */
static void test_per_thread(void **state) {
  (void)state;
  char out[4096];
  capture_(two_threads_, out, sizeof out);
  assert_non_null(strstr(out, "\"event\":\"other\",\"n\":4}"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json),
      cmocka_unit_test(test_text),
      cmocka_unit_test(test_per_thread),
  };
  return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
