#!/usr/bin/env bash
# Change streams never take the connections /up needs (docs/gateway.md
# "Change feed", TVMAZE_STREAM_LIMIT): with a cap of 3, three open SSE
# streams leave /up (the load balancer's health check) and the API
# answering 200; a fourth stream gets 503 UNAVAILABLE with Retry-After and
# a message naming TVMAZE_STREAM_LIMIT (counted in /metrics); once a stream
# ends its slot serves a new one. Real curl -> tvmaze-gateway ->
# tvmaze-server -> PostgreSQL. curl's --max-time only ends streams that
# never end by themselves; it is no latency assertion.
set -euo pipefail
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"

unset REDIS_URL
fresh_db gw_stream_limit_test
A=(-u admin:s3cret)
GP=$(port)
start_server "$GP"
HP=$(port)
start_gateway "$HP" "$GP" gw TVMAZE_STREAM_LIMIT=3 TVMAZE_HTTP_PER_IP_CONNECTIONS=0 \
  TVMAZE_STREAM_HEARTBEAT_MS=1000
G=http://127.0.0.1:$HP
ST=/api/v1/changes/stream
wait_status 200 "$G/up"
wait_follower "$G"
[ "$(metric "$G" tvmaze_gateway_sse_streams_limit)" = 3 ] || fail "stream limit metric: $(metric "$G" tvmaze_gateway_sse_streams_limit)"

# three streams fill the cap
STREAMS=()
for i in 1 2 3; do
  curl -s -N --max-time 120 "${A[@]}" -o "$TMP/stream$i" "$G$ST?after_version=0" &
  STREAMS+=($!)
  PIDS+=($!)
done
wait_metric "$G" 'tvmaze_gateway_sse_streams ' 3

# the health check and the API still answer
req 200 "$G/up"
json_ok
req 200 "${A[@]}" "$G/api/v1/changes?limit=1"
json_ok

# one more stream: the clear refusal, at once (no stream body)
req 503 --max-time 30 "${A[@]}" "$G$ST?after_version=0"
err_ok 14
grep -q 'TVMAZE_STREAM_LIMIT' "$TMP/body" || fail "refusal does not name the limit: $(cat "$TMP/body")"
grep -q 'at most 3 change streams' "$TMP/body" || fail "refusal does not say the cap: $(cat "$TMP/body")"
[ "$(hval Retry-After)" = 1 ] || fail "Retry-After: $(hval Retry-After)"
req 503 --max-time 30 -H 'Accept: application/x-ndjson' "${A[@]}" "$G$ST"
err_ok 14
[ "$(metric "$G" tvmaze_gateway_sse_refused_total)" = 2 ] || fail "refused_total: $(metric "$G" tvmaze_gateway_sse_refused_total)"
req 200 "$G/up"

# the open streams are unharmed: each got its heartbeats meanwhile
for i in 1 2 3; do
  for _ in $(seq 300); do
    grep -q '^event: heartbeat' "$TMP/stream$i" && break
    sleep 0.1
  done
  grep -q '^event: heartbeat' "$TMP/stream$i" || fail "stream $i got no heartbeat: $(head -c 300 "$TMP/stream$i")"
done

# a stream that ends frees its slot
kill "${STREAMS[0]}"
wait "${STREAMS[0]}" 2>/dev/null || true
wait_metric "$G" 'tvmaze_gateway_sse_streams ' 2
curl -s -N --max-time 120 "${A[@]}" -o "$TMP/stream4" "$G$ST?after_version=0" &
PIDS+=($!)
wait_metric "$G" 'tvmaze_gateway_sse_streams ' 3
req 200 "$G/up"

# a bad limit is refused at start, naming the variable
if env TVMAZE_STREAM_LIMIT=0 "$B/gateway/tvmaze-gateway" >"$TMP/bad.log" 2>&1; then
  fail "TVMAZE_STREAM_LIMIT=0 started"
fi
grep -q 'TVMAZE_STREAM_LIMIT' "$TMP/bad.log" || fail "bad limit message: $(cat "$TMP/bad.log")"
echo OK
