#!/usr/bin/env bash
# The gateway's threading (docs/gateway.md "Threading"): requests that need
# the server wait on upstream workers with their connections suspended, so
# a server that does not answer (stopped with SIGSTOP) ties up only those
# requests:
#   - /metrics, cached listings, 401 and 404 are still answered meanwhile;
#   - /up needs no worker: it answers at once from the health state, which
#     turns 503 once a probe of the stopped server misses its 2 s deadline;
#   - with every worker busy and the queue full, a request needing the server
#     is a 503 JSON error with Retry-After at once, never a hang;
#   - once the server runs again the parked requests complete with 200, and
#     a keep-alive connection goes on after a suspended request;
#   - an expired response-cache entry is refreshed by one request while the
#     others get the stale body (no stampede of upstream calls).
# The server is continued at exit whatever happens. Curl's --max-time values
# only keep a broken gateway from hanging the test; they are not latency
# assertions.
set -euo pipefail
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"

unset REDIS_URL # in-process rate limits: no Redis claims in the worker queue
fresh_db gw_suspend_test
GP=$(port); HP=$(port); G=http://127.0.0.1:$HP
A=(-u admin:s3cret)
start_server "$GP"
SERVER_PID=${PIDS[-1]}
STOPPED=0
continue_server() { [ "$STOPPED" = 0 ] || kill -CONT "$SERVER_PID" 2>/dev/null || true; }
CLEANUP_HOOKS+=(continue_server)
start_gateway "$HP" "$GP" gw TVMAZE_UPSTREAM_WORKERS=2 TVMAZE_UPSTREAM_QUEUE=2 \
  TVMAZE_UPSTREAM_TIMEOUT_MS=60000 TVMAZE_RESPONSE_CACHE_TTL=3600 TVMAZE_RATE_IP_LIMIT=100000
wait_status 200 "$G/up"
wait_follower "$G" # the response cache follows its version
U="/api/v1/tv_shows?date_from=2025-06-16&date_to=2025-06-29"
req 200 "${A[@]}" "$G$U"; json_ok; cp "$TMP/body" "$TMP/cached"
req 200 "$G/metrics"
grep -q '^tvmaze_gateway_upstream_workers{state="idle"} 2$' "$TMP/body" || fail "metrics: 2 idle workers"
grep -q '^tvmaze_gateway_upstream_queue_full_total 0$' "$TMP/body" || fail "metrics: queue_full 0"

# wait_metric PREFIX VALUE: poll /metrics (up to ~30 s) until the sample PREFIX is VALUE
wait_metric() {
  for _ in $(seq 300); do
    [ "$(metric "$G" "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  fail "metric $1 never reached $2 (last $(metric "$G" "$1"))"
}

# --- the server stops answering: two requests occupy both workers ----------
kill -STOP "$SERVER_PID"; STOPPED=1
BG=()
for p in 2 3; do
  curl -s -o "$TMP/bg$p.body" -w '%{http_code}' --max-time 90 "${A[@]}" "$G$U&page=$p" >"$TMP/bg$p.code" &
  BG+=($!); PIDS+=($!)
done
wait_metric 'tvmaze_gateway_upstream_workers{state="busy"}' 2 # /metrics answers meanwhile
# a third waits in the queue (bound 2)
curl -s -o "$TMP/bg4.body" -w '%{http_code}' --max-time 90 "${A[@]}" "$G$U&page=4" >"$TMP/bg4.code" &
BG+=($!); PIDS+=($!)
wait_metric 'tvmaze_gateway_upstream_queue_length' 1
# /up takes no worker: answered at once from the health state, 503 once the
# background probe of the stopped server has missed its 2 s deadline
wait_status 503 "$G/up"
req 503 --max-time 2 "$G/up"
grep -q '"upstream":"DEADLINE_EXCEEDED"' "$TMP/body" || fail "/up body: $(cat "$TMP/body")"
[ "$(metric "$G" tvmaze_gateway_upstream_queue_length)" = 1 ] || fail "/up queued"
# fill the queue
curl -s -o "$TMP/bg5.body" -w '%{http_code}' --max-time 90 "${A[@]}" "$G$U&page=5" >"$TMP/bg5.code" &
BG+=($!); PIDS+=($!)
wait_metric 'tvmaze_gateway_upstream_queue_length' 2

# answered on the HTTP threads while the upstream hangs
req 200 --max-time 20 "${A[@]}" "$G$U"; cmp -s "$TMP/body" "$TMP/cached" || fail "cached body while stalled"
req 401 --max-time 20 "$G$U"; err_ok 16
req 404 --max-time 20 "${A[@]}" "$G/api/v1/nope"; err_ok 5
req 400 --max-time 20 "${A[@]}" "$G$U&per_page=abc"; err_ok 3 # bad input needs no worker
req 200 --max-time 20 "$G/metrics"

# one more request needing the server: no room, 503 at once, not queued
req 503 --max-time 20 "${A[@]}" "$G$U&page=7"; err_ok 14; hdr Retry-After
grep -q 'too many upstream calls' "$TMP/body" || fail "503 message: $(cat "$TMP/body")"
req 503 --max-time 2 "$G/up" # /up needs no worker: the health state, at once
[ "$(metric "$G" tvmaze_gateway_upstream_queue_full_total)" = 1 ] || fail "metrics: queue_full 1"

# --- the server runs again: the parked requests complete ---------------------
kill -CONT "$SERVER_PID"; STOPPED=0
for pid in "${BG[@]}"; do wait "$pid" || fail "background curl $pid failed"; done
for p in 2 3 4 5; do
  [ "$(cat "$TMP/bg$p.code")" = 200 ] || fail "parked request page=$p: $(cat "$TMP/bg$p.code") $(head -c 200 "$TMP/bg$p.body")"
  TMP_BODY=$TMP/bg$p.body python3 -c 'import json,os; json.load(open(os.environ["TMP_BODY"]))' || fail "page=$p: not JSON"
done
wait_metric 'tvmaze_gateway_upstream_workers{state="busy"}' 0
wait_status 200 "$G/up"

# keep-alive: a suspended (uncached) request, then a cached one, on one connection
python3 - "$HP" "$U&page=6" <<'PY' || fail "keep-alive after a suspended request"
import base64, http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=20)
auth = {"Authorization": "Basic " + base64.b64encode(b"admin:s3cret").decode()}
bodies = []
for _ in range(2):
    c.request("GET", sys.argv[2], headers=auth)
    r = c.getresponse()
    assert r.status == 200, r.status
    bodies.append(json.loads(r.read()))
    assert not r.will_close
assert bodies[0] == bodies[1]
PY
[ "$(metric "$G" 'tvmaze_gateway_response_cache_total{result="hit"}')" = 2 ] || fail "metrics: 2 cache hits"

# --- expired cache entry: one refresher, the others get the stale body ------
HPS=$(port); GS=http://127.0.0.1:$HPS
start_gateway "$HPS" "$GP" gw_stale TVMAZE_RESPONSE_CACHE_TTL=3 TVMAZE_UPSTREAM_TIMEOUT_MS=60000 \
  TVMAZE_RATE_IP_LIMIT=100000
wait_follower "$GS"
STALE='tvmaze_gateway_response_cache_total{result="stale"}'
ok=0
# An entry is stale for one TTL (3 s) after it expires; should this box be
# too slow to get the stale request in within that, try again (bounded).
for attempt in 1 2 3; do
  V="$U&per_page=$((10 + attempt))"
  req 200 "${A[@]}" "$GS$V"; cp "$TMP/body" "$TMP/fresh"
  sleep 3.2 # past the TTL (whole seconds)
  kill -STOP "$SERVER_PID"; STOPPED=1
  curl -s -o "$TMP/refresh.body" -w '%{http_code}' --max-time 90 "${A[@]}" "$GS$V" >"$TMP/refresh.code" &
  RP=$!; PIDS+=($!)
  for _ in $(seq 300); do # the refresher is on a worker, parked on the stopped server
    [ "$(metric "$GS" 'tvmaze_gateway_upstream_workers{state="busy"}')" = 1 ] && break
    sleep 0.05
  done
  before=$(metric "$GS" "$STALE")
  code=$(curl -s -o "$TMP/body" -w '%{http_code}' --max-time 5 "${A[@]}" "$GS$V" || true)
  kill -CONT "$SERVER_PID"; STOPPED=0
  wait "$RP" || fail "refresher curl failed"
  [ "$(cat "$TMP/refresh.code")" = 200 ] || fail "refresher: $(cat "$TMP/refresh.code")"
  if [ "$code" = 200 ] && [ "$(metric "$GS" "$STALE")" = $((before + 1)) ]; then
    cmp -s "$TMP/body" "$TMP/fresh" || fail "stale body differs"
    ok=1
    break
  fi
done
[ "$ok" = 1 ] || fail "no stale hit while an expired entry was refreshed"
# the refresher stored a fresh entry: a plain hit now
hits=$(metric "$GS" 'tvmaze_gateway_response_cache_total{result="hit"}')
req 200 "${A[@]}" "$GS$V"
[ "$(metric "$GS" 'tvmaze_gateway_response_cache_total{result="hit"}')" = $((hits + 1)) ] || fail "no hit after the refresh"

echo "PASS test_gateway_suspend"
