#!/usr/bin/env bash
# test_sigterm_load: SIGTERM while the real tvmaze-server is busy (regression
# test of the drain race in rpc/rpc_worker.c: a worker still holding accepted
# calls in its queue when the queues were shut down hit
# `call.cc:1732 assertion failed: grpc_cq_begin_op(cq_, notify_tag)`).
#
# Fresh database (fixture + 20,000 extra episodes so ListShows takes a few
# milliseconds in PostgreSQL), server without REDIS_URL (every call reaches
# PostgreSQL), 2 workers. Each of ROUNDS rounds (default 12) starts h2load
# with 2 connections x 64 concurrent ListShows streams (plus a second h2load
# on Health/Check), sends SIGTERM once h2load has run for a moment, kills
# the clients in some rounds right after the signal (connections dropping
# mid-drain), and asserts: exit status 0, a server_stopped log line, no
# "assertion failed" (or any other crash text) on stderr.
# Needs TVMAZE_TEST_DATABASE_URL, TVMAZE_BUILD_DIR, TVMAZE_SOURCE_DIR.
set -euo pipefail

: "${TVMAZE_TEST_DATABASE_URL:?run through scripts/test.sh}"
: "${TVMAZE_BUILD_DIR:?run through ctest}"
: "${TVMAZE_SOURCE_DIR:?run through ctest}"
SERVER="$TVMAZE_BUILD_DIR/server/tvmaze-server"
ROUNDS="${ROUNDS:-12}"
db=tvmaze_test_sigterm_load

command -v h2load >/dev/null || {
  echo "FAIL: h2load (nghttp2-client) not installed" >&2
  exit 1
}

work="$(mktemp -d /tmp/test_sigterm_load.XXXXXX)"
server_pid=""
load_pids=()
cleanup() {
  for p in "${load_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/server.*; do
    [ -f "$f" ] && { echo "--- $f ---" >&2; tail -n 30 "$f" >&2; }
  done
  exit 1
}

psql -q -v ON_ERROR_STOP=1 "$TVMAZE_TEST_DATABASE_URL" \
  -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1 ||
  fail "cannot create database $db"
url="${TVMAZE_TEST_DATABASE_URL%/*}/$db"
"$SERVER" --database-url "$url" migrate >"$work/migrate.log" 2>&1 || fail "migrate failed"
psql -q -v ON_ERROR_STOP=1 "$url" -f "$TVMAZE_SOURCE_DIR/tests/fixtures/query_fixture.sql" \
  >/dev/null || fail "fixture failed"
psql -q -v ON_ERROR_STOP=1 "$url" -c "
  INSERT INTO episodes (id, show_id, name, season, number, type, airdate, airtime, airstamp,
                        runtime, rating)
  SELECT 100000 + i, 101 + i % 5, 'E' || i, 1, i, 'regular',
         DATE '2030-03-01' + (i % 28), '20:00',
         TIMESTAMPTZ '2030-03-01 20:00+00' + (i % 28) * INTERVAL '1 day', 60, 7.5
  FROM generate_series(1, 20000) AS i; ANALYZE;" >/dev/null || fail "bulk episodes failed"

# ListShowsRequest{date_from: "2030-03-01", date_to: "2030-03-31", q: "a"}
# and HealthCheckRequest{}, each behind the 5-byte gRPC frame prefix.
/usr/bin/python3 - "$work" <<'PYEOF'
import struct, sys
def s(field, v):
    b = v.encode()
    return bytes([field << 3 | 2, len(b)]) + b
msg = s(1, "2030-03-01") + s(2, "2030-03-31") + s(7, "a")
open(sys.argv[1] + "/list.bin", "wb").write(b"\0" + struct.pack(">I", len(msg)) + msg)
open(sys.argv[1] + "/health.bin", "wb").write(b"\0\0\0\0\0")
PYEOF

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

for round in $(seq 1 "$ROUNDS"); do
  port="$(free_port)"
  : >"$work/server.out"
  env -u REDIS_URL DATABASE_URL="$url" TVMAZE_INGEST_AT=off TVMAZE_WORKERS=2 \
    "$SERVER" --grpc-addr "127.0.0.1:$port" >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 1 300); do
    grep -q '"server_started"' "$work/server.out" && break
    kill -0 "$server_pid" 2>/dev/null || fail "round $round: server exited during start"
    sleep 0.1
  done
  grep -q '"server_started"' "$work/server.out" || fail "round $round: server did not start"

  load_pids=()
  h2load -D 30 -c 2 -m 64 -t 1 -d "$work/list.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:$port/tvmaze.v1.Shows/ListShows" \
    >"$work/h2load-list.out" 2>&1 &
  load_pids+=($!)
  h2load -D 30 -c 1 -m 32 -t 1 -d "$work/health.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:$port/grpc.health.v1.Health/Check" \
    >"$work/h2load-health.out" 2>&1 &
  load_pids+=($!)
  # Let the load build up: wait until PostgreSQL sees queries (bounded).
  for _ in $(seq 1 50); do
    n="$(psql -At "$url" -c "SELECT count(*) FROM pg_stat_activity
          WHERE datname = '$db' AND state = 'active' AND query ILIKE '%episodes%'" 2>/dev/null || echo 0)"
    [ "${n:-0}" -gt 0 ] && break
    sleep 0.1
  done
  sleep "0.$((round % 5))"
  kill -TERM "$server_pid"
  if [ $((round % 2)) -eq 0 ]; then
    # Clients vanish mid-drain: their calls are cancelled, connections close.
    for p in "${load_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  fi
  rc=0
  wait "$server_pid" || rc=$?
  server_pid=""
  for p in "${load_pids[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  load_pids=()
  if grep -qiE 'assertion failed|AddressSanitizer|runtime error|Segmentation' "$work/server.err"; then
    fail "round $round: crash text on stderr"
  fi
  [ "$rc" -eq 0 ] || fail "round $round: exit status $rc after SIGTERM, want 0"
  grep -q '"server_stopped"' "$work/server.out" || fail "round $round: no server_stopped line"
  echo "ok: round $round: SIGTERM under load, exit 0"
done

psql -q "$TVMAZE_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
echo "ok: $ROUNDS rounds of SIGTERM under load"
