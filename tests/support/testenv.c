/*
 * testenv: test environment helpers. See testenv.h.
 */
#include "testenv.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *require_env_(const char *name) {
  const char *v = getenv(name);
  if (v == NULL || v[0] == '\0') {
    fprintf(stderr, "testenv: %s is not set; run the tests through scripts/test.sh\n", name);
    exit(1);
  }
  return v;
}

const char *testenv_fresh_database(const char *name) {
  static char url[512];
  const char *base = require_env_("TVMAZE_TEST_DATABASE_URL");
  PGconn *c = PQconnectdb(base);
  if (PQstatus(c) != CONNECTION_OK) {
    fprintf(stderr, "testenv: cannot connect to %s: %s", base, PQerrorMessage(c));
    exit(1);
  }
  char sql[256];
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
  PQclear(PQexec(c, sql));
  snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", name);
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    fprintf(stderr, "testenv: %s: %s", sql, PQerrorMessage(c));
    exit(1);
  }
  PQclear(r);
  PQfinish(c);
  /* Replace the database name (the path after the last '/'). */
  const char *slash = strrchr(base, '/');
  size_t keep = slash ? (size_t)(slash - base) : strlen(base);
  snprintf(url, sizeof url, "%.*s/%s", (int)keep, base, name);
  return url;
}

const char *testenv_redis_url(void) {
  return require_env_("TVMAZE_TEST_REDIS_URL");
}

const char *testenv_build_path(const char *relative) {
  static char path[1024];
  snprintf(path, sizeof path, "%s/%s", require_env_("TVMAZE_BUILD_DIR"), relative);
  return path;
}

const char *testenv_source_path(const char *relative) {
  static char path[1024];
  snprintf(path, sizeof path, "%s/%s", require_env_("TVMAZE_SOURCE_DIR"), relative);
  return path;
}

void testenv_services(const char *verb) {
  const char *dir = require_env_("TVMAZE_TEST_SERVICES_DIR");
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "bash '%s' %s '%s' >/dev/null 2>&1",
           testenv_source_path("scripts/services.sh"), verb, dir);
  int rc = system(cmd);
  if (rc != 0) {
    fprintf(stderr, "testenv: %s: exit status %d\n", cmd, rc);
    exit(1);
  }
}

int testenv_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    perror("testenv_free_port");
    exit(1);
  }
  int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

const char *testenv_api_key(const char *db_url, const char *prefix) {
  static char key[128];
  static int n;
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "DATABASE_URL='%s' '%s' keys create --name %s-%d-%d --tier premium --scope ingest",
           db_url, testenv_build_path("server/tvmaze-server"), prefix, (int)getpid(), n++);
  FILE *p = popen(cmd, "r");
  if (p == NULL || fgets(key, sizeof key, p) == NULL) {
    fprintf(stderr, "testenv: %s failed\n", cmd);
    exit(1);
  }
  if (pclose(p) != 0) {
    fprintf(stderr, "testenv: %s failed\n", cmd);
    exit(1);
  }
  key[strcspn(key, "\n")] = '\0';
  return key;
}
