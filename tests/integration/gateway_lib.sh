#!/usr/bin/env bash
# Helpers shared by the gateway's shell tests (sourced, not a test itself):
# a scratch dir with a cleanup trap that stops every process started here,
# free ports, stopping and restarting the test PostgreSQL, a fresh database, starting tvmaze-server / tvmaze-gateway, and
# curl assertions on status, JSON error body and headers.
#   needs: TVMAZE_BUILD_DIR, TVMAZE_SOURCE_DIR, TVMAZE_TEST_DATABASE_URL
B=${TVMAZE_BUILD_DIR:?}
# shellcheck disable=SC2034 # used by the sourcing scripts
S=${TVMAZE_SOURCE_DIR:?}
: "${TVMAZE_TEST_DATABASE_URL:?TVMAZE_TEST_DATABASE_URL must be set}"
TMP=$(mktemp -d)
PIDS=()
CLEANUP_HOOKS=()
gw_cleanup() {
  local h p
  for h in "${CLEANUP_HOOKS[@]}"; do "$h" || true; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap gw_cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$TMP"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
  exit 1
}
# stop_pg / restore_pg: stop the test PostgreSQL (TVMAZE_TEST_SERVICES_DIR)
# and start it again; a test that exits while it is stopped has it started
# by the cleanup trap.
PG_STOPPED=0
stop_pg() {
  PG_STOPPED=1
  bash "$S/scripts/services.sh" pg-stop "${TVMAZE_TEST_SERVICES_DIR:?}" >/dev/null
}
restore_pg() {
  if [ "$PG_STOPPED" = 1 ]; then
    bash "$S/scripts/services.sh" pg-start "${TVMAZE_TEST_SERVICES_DIR:?}" >/dev/null
    PG_STOPPED=0
  fi
}
CLEANUP_HOOKS+=(restore_pg)
# PY: Debian's python3, the one with python3-grpcio (a pyenv python3 may
# shadow it on PATH); the tests that drive grpcio call need_grpcio first.
PY=/usr/bin/python3
need_grpcio() { "$PY" -c 'import grpc' 2>/dev/null || fail "python3-grpcio missing for $PY"; }
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# fresh_db NAME: (re)create database NAME, migrate it, export DATABASE_URL
# and TVMAZE_API_KEY (a premium key of scope ingest, "harness": the
# gateways started here use it, and so do the CLI and the tests' own gRPC
# calls, through $KEY_HDR for buf curl).
fresh_db() {
  local base=${TVMAZE_TEST_DATABASE_URL%/*}
  psql -q "$base/postgres" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
  export DATABASE_URL=$base/$1
  "$B/server/tvmaze-server" migrate >/dev/null 2>&1 || fail "migrate $1"
  TVMAZE_API_KEY=$("$B/server/tvmaze-server" keys create --name harness --tier premium --scope ingest) ||
    fail "keys create harness"
  export TVMAZE_API_KEY
  # shellcheck disable=SC2034 # used by the sourcing scripts
  KEY_HDR="x-api-key: $TVMAZE_API_KEY"
}

# clear_rate_windows: rate-limit windows of earlier runs must not count here.
clear_rate_windows() {
  redis-cli -u "$TVMAZE_TEST_REDIS_URL" --scan --pattern 'rl:*' |
    xargs -r redis-cli -u "$TVMAZE_TEST_REDIS_URL" del >/dev/null
}

# start_server GRPC_PORT [LOGNAME]: tvmaze-server serve (no schedule; TVMaze
# at $TVMAZE_API_URL, default unreachable) with the caller's environment;
# pid appended to PIDS.
start_server() {
  TVMAZE_GRPC_ADDR=127.0.0.1:$1 TVMAZE_INGEST_AT=off TVMAZE_API_URL=${TVMAZE_API_URL:-http://127.0.0.1:9} \
    "$B/server/tvmaze-server" serve >>"$TMP/${2:-server}.log" 2>&1 &
  PIDS+=($!)
}

# wait_started LOGNAME PID: until $TMP/LOGNAME.log says server_started (60 s
# at most; migrations run first, slow under ASan); fails if PID exits.
wait_started() {
  for _ in $(seq 600); do
    grep -q '"server_started"' "$TMP/$1.log" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || fail "server $1 exited during start"
    sleep 0.1
  done
  fail "server $1 did not start"
}

# spans_of FILE TRACE_ID: how many spans of the trace FILE (an OTLP
# receiver's record, tests/fake_otlp) holds
spans_of() { grep -c "\"trace_id\": \"$2\"" "$1" || true; }
# wait_spans FILE TRACE_ID N: until FILE holds N spans of the trace (~30 s)
wait_spans() {
  for _ in $(seq 300); do
    [ "$(spans_of "$1" "$2")" -ge "$3" ] && return 0
    sleep 0.1
  done
  fail "$1: trace $2 has $(spans_of "$1" "$2") spans, want $3"
}

# start_fake DIR [ARG...]: the fake TVMaze on a free port serving the
# fixtures in DIR (ARGs: more of fake_tvmaze.py's flags), logging to
# $TMP/fake.log; waits until it answers, sets AP and FAKE (its base URL) and
# exports TVMAZE_API_URL=$FAKE for the servers started after it.
start_fake() {
  AP=$(port)
  python3 "$S/tests/fake_tvmaze/fake_tvmaze.py" --fixtures "$1" "${@:2}" --port "$AP" \
    >"$TMP/fake.log" 2>&1 &
  PIDS+=($!)
  FAKE=http://127.0.0.1:$AP
  wait_status 200 "$FAKE/_stats"
  export TVMAZE_API_URL=$FAKE
}

# start_gateway HTTP_PORT GRPC_PORT LOGNAME [VAR=VALUE...]: tvmaze-gateway with
# Basic admin:s3cret and the given extra environment; waits for it to listen.
start_gateway() {
  local hp=$1 gp=$2 log=$3
  shift 3
  env API_USERNAME=admin API_PASSWORD=s3cret "TVMAZE_HTTP_ADDR=127.0.0.1:$hp" \
    "TVMAZE_GRPC_TARGET=127.0.0.1:$gp" TVMAZE_AUTH_CACHE_TTL=0 "$@" \
    "$B/gateway/tvmaze-gateway" >>"$TMP/$log.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$hp/metrics" && return 0
    sleep 0.1
  done
  fail "gateway $log did not start"
}

# wait_status WANT URL [curl-args...]: poll (up to ~30 s) until URL answers WANT.
wait_status() {
  local want=$1 url=$2
  shift 2
  for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$@" "$url")" = "$want" ] && return 0
    sleep 0.1
  done
  fail "$url never answered $want"
}

# wait_follower BASE_URL: poll (up to ~30 s) until the gateway's change follower is up
# (its response cache is used only then: docs/gateway.md "Change feed").
wait_follower() {
  for _ in $(seq 300); do
    [ "$(metric "$1" tvmaze_gateway_follower_up)" = 1 ] && return 0
    sleep 0.1
  done
  fail "$1: the change follower never came up"
}

# req EXPECTED_STATUS curl-args... ; body in $TMP/body, headers in $TMP/hdr
req() {
  local want=$1
  shift
  local got
  got=$(curl -s -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' "$@")
  [ "$got" = "$want" ] || fail "$* -> $got, want $want: $(head -c 300 "$TMP/body")"
}
json_ok() { python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/body" || fail "not JSON: $(head -c 200 "$TMP/body")"; }
# err_ok CODE: $TMP/body is grpc-gateway's error body for CODE; its details
# are google.rpc messages in proto3 JSON with "@type", and an
# INVALID_ARGUMENT whose message names a field carries a BadRequest naming it.
err_ok() {
  python3 -c '
import json, re, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"code", "message", "details"} and d["code"] == int(sys.argv[2]), d
assert isinstance(d["details"], list), d
types = [x["@type"] for x in d["details"]]
assert all(t.startswith("type.googleapis.com/google.rpc.") for t in types), d
m = re.match(r"([A-Za-z_][A-Za-z0-9_.\[\]]*): ", d["message"])
br = [x for x in d["details"] if x["@type"] == "type.googleapis.com/google.rpc.BadRequest"]
if d["code"] == 3 and m:
    assert len(br) == 1 and br[0]["field_violations"][0]["field"] == m.group(1), d
else:
    assert br == [], d' "$TMP/body" "$1" || fail "bad error body for code $1: $(cat "$TMP/body")"
}
# err_fields FIELD...: the body's BadRequest names exactly these fields, in order
err_fields() {
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
br = [x for x in d["details"] if x["@type"] == "type.googleapis.com/google.rpc.BadRequest"]
assert len(br) == 1, d
got = [v["field"] for v in br[0]["field_violations"]]
assert got == sys.argv[2:], (got, sys.argv[2:])
assert all(v["description"] for v in br[0]["field_violations"]), d' "$TMP/body" "$@" ||
    fail "field violations, want $*: $(cat "$TMP/body")"
}
hdr() { grep -qi "^$1" "$TMP/hdr" || fail "missing header $1"; }
# hval NAME: value of header NAME in $TMP/hdr
hval() { grep -i "^$1:" "$TMP/hdr" | head -1 | tr -d '\r' | cut -d' ' -f2-; }
# metric BASE_URL PREFIX: value of the first BASE_URL/metrics sample starting with PREFIX (0 if none)
# (awk reads the whole body: exiting at the match could cut curl's write
# short, and under pipefail a callee's `x=$(metric ...)` would then fail)
metric() {
  curl -s "$1/metrics" | awk -v p="$2" '!found && index($0, p) == 1 { print $NF; found = 1 } END { if (!found) print 0 }'
}
# wait_metric BASE PREFIX VALUE: poll /metrics (up to ~60 s) until PREFIX is VALUE
wait_metric() {
  for _ in $(seq 600); do
    [ "$(metric "$1" "$2")" = "$3" ] && return 0
    sleep 0.1
  done
  fail "$1: metric $2 never reached $3 (last $(metric "$1" "$2"))"
}
# in_range VALUE LO HI: VALUE is an integer with LO <= VALUE <= HI
in_range() { [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
