# e2e_server.sh: sourced by the end-to-end shell tests (test_e2e_bufcurl.sh,
# test_cli_shows.sh). Not a test itself (no test_ prefix).
#
#   e2e_start DBNAME   fresh database DBNAME on the test PostgreSQL, migrated
#                      by tvmaze-server, loaded with tests/fixtures/
#                      query_fixture.sql; starts tvmaze-server on a free port
#                      (REDIS_URL = the test Redis). Sets: work, port, target,
#                      url, server_pid, and exports TVMAZE_API_KEY (a premium
#                      key of scope ingest, which the CLI sends) with KEY_HDR
#                      ("x-api-key: <it>", for buf curl -H). Installs an EXIT trap that stops the
#                      server and removes $work.
#   fail MSG           prints MSG and the server log, exits 1.
# Needs TVMAZE_TEST_DATABASE_URL, TVMAZE_TEST_REDIS_URL, TVMAZE_BUILD_DIR,
# TVMAZE_SOURCE_DIR (scripts/test.sh and ctest set them).
# shellcheck shell=bash

: "${TVMAZE_TEST_DATABASE_URL:?run through scripts/test.sh}"
: "${TVMAZE_TEST_REDIS_URL:?run through scripts/test.sh}"
: "${TVMAZE_BUILD_DIR:?run through ctest}"
: "${TVMAZE_SOURCE_DIR:?run through ctest}"
SERVER="$TVMAZE_BUILD_DIR/server/tvmaze-server"

work=""
server_pid=""
e2e_cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" || true
    wait "$server_pid" 2>/dev/null || true
  fi
  [ -n "$work" ] && rm -rf "$work"
}
trap e2e_cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- server log ---" >&2
  cat "$work/server.log" >&2 || true
  exit 1
}

e2e_start() {
  local db="$1"
  work="$(mktemp -d "/tmp/$db.XXXXXX")"
  psql -q -v ON_ERROR_STOP=1 "$TVMAZE_TEST_DATABASE_URL" \
    -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1 ||
    fail "cannot create database $db"
  url="${TVMAZE_TEST_DATABASE_URL%/*}/$db"
  "$SERVER" --database-url "$url" migrate >"$work/migrate.log" 2>&1 || fail "migrate failed"
  psql -q -v ON_ERROR_STOP=1 "$url" -f "$TVMAZE_SOURCE_DIR/tests/fixtures/query_fixture.sql" \
    >/dev/null || fail "fixture failed"
  TVMAZE_API_KEY="$("$SERVER" --database-url "$url" keys create --name e2e --tier premium --scope ingest)" ||
    fail "keys create failed"
  export TVMAZE_API_KEY
  # shellcheck disable=SC2034 # used by the sourcing scripts
  KEY_HDR="x-api-key: $TVMAZE_API_KEY"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  target="127.0.0.1:$port"
  DATABASE_URL="$url" REDIS_URL="$TVMAZE_TEST_REDIS_URL" TVMAZE_INGEST_AT=off \
    "$SERVER" --grpc-addr "$target" >"$work/server.log" 2>&1 &
  server_pid=$!
  # Readiness: poll the log (bounded, no timing assertion).
  for _ in $(seq 1 300); do
    grep -q '"server_started"' "$work/server.log" && return 0
    kill -0 "$server_pid" 2>/dev/null || fail "server exited during start"
    sleep 0.1
  done
  fail "server did not start"
}
