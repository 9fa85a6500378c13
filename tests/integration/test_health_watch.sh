#!/usr/bin/env bash
# grpc.health.v1.Health/Watch against tvmaze-server through python3-grpcio
# (an independent client): SERVING at once, NOT_SERVING while PostgreSQL is
# stopped, SERVING again once it is back, without a new call; an unknown
# service gets SERVICE_UNKNOWN and the stream stays open; buf curl (a second
# client, server streaming through reflection) sees SERVING first; SIGTERM
# ends open watches with UNAVAILABLE and the server exits 0. PostgreSQL is restarted at
# exit whatever happens.
set -euo pipefail
: "${TVMAZE_TEST_SERVICES_DIR:?TVMAZE_TEST_SERVICES_DIR must be set}"
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"

PY=/usr/bin/python3 # Debian's, with python3-grpcio (a pyenv python3 may shadow it)
"$PY" -c 'import grpc' 2>/dev/null || fail "python3-grpcio is not installed for $PY"
CLIENT="$S/tests/integration/health_watch_client.py"
BUF="${TVMAZE_BUF:-$S/tools/node_modules/.bin/buf}"

fresh_db health_watch_test
GP=$(port)
start_server "$GP"
SERVER_PID=${PIDS[-1]}
# a watch opened before the server listens ends at once ("connection refused")
wait_started server "$SERVER_PID"

# wait_line FILE N TEXT: until line N of FILE is TEXT (60 s at most).
wait_line() {
  for _ in $(seq 600); do
    [ "$(sed -n "${2}p" "$1")" = "$3" ] && return 0
    sleep 0.1
  done
  fail "line $2 of $1 is not '$3': $(cat "$1")"
}

"$PY" "$CLIENT" "127.0.0.1:$GP" >"$TMP/watch.out" 2>"$TMP/watch.log" &
WATCH_PID=$!
PIDS+=("$WATCH_PID")
"$PY" "$CLIENT" "127.0.0.1:$GP" no.such.Service >"$TMP/unknown.out" 2>"$TMP/unknown.log" &
PIDS+=($!)

wait_line "$TMP/watch.out" 1 SERVING
wait_line "$TMP/unknown.out" 1 SERVICE_UNKNOWN
stop_pg
wait_line "$TMP/watch.out" 2 NOT_SERVING
restore_pg
wait_line "$TMP/watch.out" 3 SERVING
[ "$(wc -l <"$TMP/unknown.out")" = 1 ] || fail "the unknown service's stream: $(cat "$TMP/unknown.out")"

# buf curl prints each message as it comes; the stream stays open, so it is
# stopped after a while (exit 124) and its output checked
timeout 3 "$BUF" curl --protocol grpc --http2-prior-knowledge -d '{}' \
  "http://127.0.0.1:$GP/grpc.health.v1.Health/Watch" >"$TMP/buf.out" 2>"$TMP/buf.log" || true
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d=={"status":"SERVING"}, d' "$TMP/buf.out" ||
  fail "buf curl Health/Watch: $(cat "$TMP/buf.out" "$TMP/buf.log")"

kill -TERM "$SERVER_PID"
rc=0
wait "$SERVER_PID" || rc=$?
[ "$rc" = 0 ] || fail "server exit status $rc after SIGTERM"
wait_line "$TMP/watch.out" 4 "END UNAVAILABLE server is shutting down; resume from the last version received"
wait_line "$TMP/unknown.out" 2 "END UNAVAILABLE server is shutting down; resume from the last version received"
echo "PASS test_health_watch"
