#!/usr/bin/env bash
# The real tvmaze-server killed (SIGKILL) mid-run: whole days only, and the run
# FAILED after a restart; then `tvmaze ingest start --wait` completes the data;
# then full mode's download progress shown by the CLI mid-download.
# Needs TVMAZE_BUILD_DIR, TVMAZE_SOURCE_DIR, TVMAZE_TEST_DATABASE_URL.
set -euo pipefail
BUILD="${TVMAZE_BUILD_DIR:?}"
SRC="${TVMAZE_SOURCE_DIR:?}"
BASE="${TVMAZE_TEST_DATABASE_URL:?}"
BASE="${BASE%/*}"
DB="$BASE/tvmaze_test_ingest_server"
TMP="$(mktemp -d)"
FAKE_PID="" SERVER_PID=""
cleanup() {
  set +e
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
  rm -rf "$TMP"
  return 0
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
q() { psql "$DB" -XAtc "$1"; }

psql "$BASE/postgres" -qXc "DROP DATABASE IF EXISTS tvmaze_test_ingest_server WITH (FORCE)" \
  -c "CREATE DATABASE tvmaze_test_ingest_server" 2>/dev/null
python3 "$SRC/tests/fake_tvmaze/fake_tvmaze.py" --fixtures "$SRC/tests/fake_tvmaze/fixtures" \
  --port-file "$TMP/port" 2>/dev/null &
FAKE_PID=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
FAKE="http://127.0.0.1:$(cat "$TMP/port")"
# day 1 lands at once, days 2 and 3 hang until the kill
curl -fsS -d '{"faults": [{"match": "date=2030-01-02", "delay": 20, "times": -1},
  {"match": "date=2030-01-03", "delay": 20, "times": -1}]}' "$FAKE/_control" >/dev/null

PORT=$((30000 + RANDOM % 20000))
export TVMAZE_GRPC_TARGET="127.0.0.1:$PORT"
start_server() {
  DATABASE_URL="$DB" REDIS_URL="" TVMAZE_API_URL="$FAKE" TVMAZE_INGEST_AT=off \
    TVMAZE_GRPC_ADDR="127.0.0.1:$PORT" "$BUILD/server/tvmaze-server" >>"$TMP/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do "$BUILD/client/tvmaze" health >/dev/null 2>&1 && return 0; sleep 0.1; done
  cat "$TMP/server.log" >&2
  fail "server did not come up"
}
wait_sql() { # sql expected
  for _ in $(seq 600); do [ "$(q "$1")" = "$2" ] && return 0; sleep 0.1; done
  fail "waiting for $1 = $2 (got $(q "$1"))"
}

start_server
# the CLI's key (every tvmaze.v1 call needs one; StartIngest scope ingest)
TVMAZE_API_KEY="$(DATABASE_URL="$DB" "$BUILD/server/tvmaze-server" keys create --name ingest-server \
  --tier premium --scope ingest)" || fail "keys create"
export TVMAZE_API_KEY
"$BUILD/client/tvmaze" ingest start --start-date 2030-01-01 --days 3 | grep -q "started run 1" ||
  fail "run 1 did not start"
wait_sql "SELECT days_done >= 1 FROM ingest_runs WHERE id = 1" t
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
[ "$(q "SELECT status FROM ingest_runs WHERE id = 1")" = 1 ] || fail "run not left RUNNING"
[ "$(q "SELECT days_done < 3 FROM ingest_runs WHERE id = 1")" = t ] || fail "run finished before the kill"
# whole days only: pending days have no episodes, succeeded days all of theirs
[ "$(q "SELECT count(*) FROM ingest_run_days d JOIN episodes e ON e.airdate = d.date WHERE d.status = 1")" = 0 ] ||
  fail "rows of an unfinished day"
[ "$(q "SELECT count(*) FROM episodes WHERE airdate = '2030-01-01'")" = 4 ] || fail "day 1 incomplete"

start_server
wait_sql "SELECT status FROM ingest_runs WHERE id = 1" 4
# exit status 1: the run FAILED
"$BUILD/client/tvmaze" ingest status 1 >"$TMP/status.txt" && fail "status of a FAILED run exits 0"
grep -q "error: interrupted" "$TMP/status.txt" || fail "no interrupted error: $(cat "$TMP/status.txt")"
curl -fsS -d '{}' "$FAKE/_reset" >/dev/null
"$BUILD/client/tvmaze" ingest start --start-date 2030-01-01 --days 3 --wait >"$TMP/wait.txt" ||
  { cat "$TMP/wait.txt"; fail "second run did not succeed"; }
grep -q "run 2  SUCCEEDED" "$TMP/wait.txt" || fail "unexpected output: $(cat "$TMP/wait.txt")"
[ "$(q "SELECT count(*) FROM episodes")" = 8 ] || fail "episodes after the second run"
# day 1 was committed by run 1 with its body hashes: run 2 skipped it
"$BUILD/client/tvmaze" ingest status 2 >"$TMP/status2.txt" || fail "status 2: $(cat "$TMP/status2.txt")"
grep -q "skipped 1 of 3 days (bodies unchanged since stored): 2030-01-01$" "$TMP/status2.txt" ||
  fail "no skipped day in: $(cat "$TMP/status2.txt")"
"$BUILD/client/tvmaze" --json ingest status 2 >"$TMP/status2.json"
python3 -c '
import json, sys
days = json.load(open(sys.argv[1]))["run"]["day_results"]
assert [d.get("skipped", False) for d in days] == [True, False, False], days
' "$TMP/status2.json" || fail "skipped in JSON: $(cat "$TMP/status2.json")"
"$BUILD/client/tvmaze" ingest list >"$TMP/list.txt"
[ "$(grep -c "FAILED\|SUCCEEDED" "$TMP/list.txt")" = 2 ] || fail "list: $(cat "$TMP/list.txt")"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "server exit status $?"
SERVER_PID=""

# full mode: while /schedule/full downloads (half the document, then a body
# that never ends: the fake's drip) no day is done, but the run's download
# progress moves and the CLI's status shows it
curl -fsS -d '{}' "$FAKE/_reset" >/dev/null
curl -fsS -d '{"faults": [{"match": "/schedule/full", "times": -1, "drip": 0.5}]}' \
  "$FAKE/_control" >/dev/null
TVMAZE_SCHEDULE_SOURCE=full start_server
"$BUILD/client/tvmaze" ingest start --start-date 2030-01-01 --days 3 | grep -q "started run 3" ||
  fail "run 3 did not start"
wait_sql "SELECT bytes_downloaded > 0 AND items_seen > 0 AND days_done = 0 FROM ingest_runs WHERE id = 3" t
"$BUILD/client/tvmaze" ingest status 3 >"$TMP/status3.txt" || fail "status 3: $(cat "$TMP/status3.txt")"
grep -Eq "^  downloaded /schedule/full: [0-9]+\.[0-9] MiB, [0-9,]+ items$" "$TMP/status3.txt" ||
  fail "no download progress in: $(cat "$TMP/status3.txt")"
"$BUILD/client/tvmaze" --json ingest status 3 >"$TMP/status3.json"
python3 -c '
import json, sys
run = json.load(open(sys.argv[1]))["run"]
assert int(run["bytes_downloaded"]) > 0 and int(run["items_seen"]) > 0, run
assert int(run.get("bytes_total", "0")) == 0, run  # no Content-Length while dripping
' "$TMP/status3.json" || fail "progress in JSON: $(cat "$TMP/status3.json")"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "server exit status $?"
SERVER_PID=""
# `ingest start --wait` shows the same download progress while no day is
# done (not a terminal: a line every 10 polls); SIGTERM (as Ctrl-C) stops
# the waiting with 128 + 15 and says how to follow the run, which goes on
TVMAZE_SCHEDULE_SOURCE=full start_server
"$BUILD/client/tvmaze" ingest start --start-date 2030-01-01 --days 3 --wait >"$TMP/wait4.txt" 2>&1 &
WAIT_PID=$!
DL_LINE="^run 4: downloading /schedule/full: [0-9]*\.[0-9] MiB, [0-9,]* items$"
for _ in $(seq 300); do
  grep -q "$DL_LINE" "$TMP/wait4.txt" && break
  sleep 0.1
done
kill -TERM "$WAIT_PID"
rc=0
wait "$WAIT_PID" || rc=$?
grep -q "$DL_LINE" "$TMP/wait4.txt" || fail "no download line from --wait: $(cat "$TMP/wait4.txt")"
[ "$rc" = 143 ] || fail "--wait stopped by SIGTERM: exit $rc, not 143"
grep -q "stopped waiting; run 4 goes on (tvmaze ingest status 4)" "$TMP/wait4.txt" ||
  fail "no stop message: $(cat "$TMP/wait4.txt")"
[ "$(q "SELECT status FROM ingest_runs WHERE id = 4")" = 1 ] || fail "run 4 is not running on"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "server exit status $?"
SERVER_PID=""
echo "ok"
