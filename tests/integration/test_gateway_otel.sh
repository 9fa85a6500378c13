#!/usr/bin/env bash
# test_gateway_otel: the gateway's traces and metrics on the wire
# (docs/operations.md "Tracing", "Reading metrics"):
#   - bad OTEL_* values stop the gateway (and the server) at start with exit 2
#     and a message naming the variable;
#   - OTEL_TRACES_SAMPLER=always_on: one REST call is exported over OTLP/HTTP
#     (POST /v1/traces, application/x-protobuf, decoded by python3-protobuf
#     from the project's .proto files: tests/fake_otlp/otlp_receiver.py) as
#     the SERVER request span (http.* attributes, url.path without the query)
#     and the CLIENT upstream span as its child (rpc.*), service.name set (a
#     raw non-UTF-8 byte in a path still gives a span that decodes); the
#     traceparent the upstream received (tests/fake_otlp/fake_upstream.py, a
#     python3-grpcio stand-in for tvmaze-server) carries the CLIENT span's id
#     and the sampled flag; the JSON log line carries the request span's ids;
#     an incoming traceparent (sampled) makes the request span its child;
#   - the default sampler: an incoming traceparent with sampled=0 exports
#     nothing and is passed on with flag 00; 1000 requests without one are
#     exported exactly when TraceIdRatioBased(0.1) says so for their trace id
#     (the ids come from the log lines) and that is 5-20 % of them (1000, not
#     200, so that the binomial tails stay far outside the range);
#   - a collector that is down, or answers slower than the POST timeout:
#     every request still answers 200, and the drops are counted in
#     tvmaze_otel_spans_dropped_total (export_failed, queue_full);
#   - SIGTERM flushes the queued spans (a schedule delay of a minute, so only
#     the stop can have sent them);
#   - /up and /metrics are never traced;
#   - /metrics passes `promtool check metrics` with the http_* series,
#     tvmaze_gateway_api_requests_total{tier}, process_* and tvmaze_otel_*.
set -euo pipefail
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"
PY=/usr/bin/python3

# --- bad settings: exit 2, the variable named -------------------------------
bad_env() {
  local rc=0 hp
  hp=$(port)
  env "$1" TVMAZE_HTTP_ADDR=127.0.0.1:"$hp" "$B/gateway/tvmaze-gateway" >"$TMP/bad.out" 2>&1 || rc=$?
  [ "$rc" = 2 ] || fail "$1: exit $rc, want 2: $(cat "$TMP/bad.out")"
  grep -q "${1%%=*}" "$TMP/bad.out" || fail "$1: message does not name the variable: $(cat "$TMP/bad.out")"
}
bad_env OTEL_TRACES_SAMPLER=sometimes
bad_env OTEL_TRACES_SAMPLER_ARG=1.5
bad_env OTEL_EXPORTER_OTLP_ENDPOINT=collector:4318
bad_env OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=ftp://collector/v1/traces
bad_env OTEL_BSP_SCHEDULE_DELAY=soon
# the server checks the same variables at start (its spans: test_server_otel.sh)
rc=0
env OTEL_TRACES_SAMPLER_ARG=2 OTEL_TRACES_SAMPLER=traceidratio "$B/server/tvmaze-server" migrate \
  >"$TMP/bad.out" 2>&1 || rc=$?
if [ "$rc" != 2 ] || ! grep -q OTEL_TRACES_SAMPLER_ARG "$TMP/bad.out"; then
  fail "tvmaze-server with a bad OTEL_TRACES_SAMPLER_ARG: exit $rc: $(cat "$TMP/bad.out")"
fi

# (the gateways below that count spans per request run without the response
# cache: a cache hit makes no upstream call, so no CLIENT span)

# --- the stand-ins ----------------------------------------------------------
# start_receiver NAME [args]: an OTLP receiver writing $TMP/NAME.spans; sets RPORT
start_receiver() {
  local name=$1
  shift
  "$PY" "$S/tests/fake_otlp/otlp_receiver.py" --proto-root "$S/proto" --out "$TMP/$name.spans" \
    --port-file "$TMP/$name.port" "$@" 2>>"$TMP/$name-receiver.log" &
  PIDS+=($!)
  for _ in $(seq 100); do [ -s "$TMP/$name.port" ] && break; sleep 0.1; done
  [ -s "$TMP/$name.port" ] || fail "receiver $name did not start"
  RPORT=$(cat "$TMP/$name.port")
}
"$PY" "$S/tests/fake_otlp/fake_upstream.py" --out "$TMP/upstream.calls" \
  --port-file "$TMP/upstream.port" 2>>"$TMP/upstream.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$TMP/upstream.port" ] && break; sleep 0.1; done
[ -s "$TMP/upstream.port" ] || fail "fake upstream did not start"
UP=$(cat "$TMP/upstream.port")

# log_ids LOG REQUEST_ID: "trace_id span_id" of that request's http_request line
log_ids() {
  "$PY" - "$1" "$2" <<'PYEOF'
import json, sys
for line in open(sys.argv[1]):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if d.get("event") == "http_request" and d.get("request_id") == sys.argv[2]:
        print(d["trace_id"], d["span_id"])
        break
PYEOF
}
# wait_log LOG REQUEST_ID: until the request's log line is written
wait_log() {
  for _ in $(seq 100); do
    [ -n "$(log_ids "$1" "$2")" ] && return 0
    sleep 0.1
  done
  fail "no http_request line for $2 in $1"
}

# --- always_on: one call, two spans, linked ---------------------------------
start_receiver main
HP=$(port)
G=http://127.0.0.1:$HP
start_gateway "$HP" "$UP" gw1 OTEL_TRACES_SAMPLER=always_on OTEL_SERVICE_NAME=gw-test \
  "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$RPORT/" OTEL_BSP_SCHEDULE_DELAY=100
req 200 -u admin:s3cret -H 'X-Request-Id: rq-one' "$G/api/v1/tv_shows?q=secretvalue&per_page=5"
wait_log "$TMP/gw1.log" rq-one
read -r TID SID <<<"$(log_ids "$TMP/gw1.log" rq-one)"
wait_spans "$TMP/main.spans" "$TID" 2
"$PY" - "$TMP/main.spans" "$TMP/upstream.calls" "$TID" "$SID" <<'PYEOF' || fail "spans of one call"
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
calls = [json.loads(l) for l in open(sys.argv[2])]
tid, sid = sys.argv[3], sys.argv[4]
mine = [s for s in spans if s["trace_id"] == tid]
assert len(mine) == 2, mine
srv = [s for s in mine if s["kind"] == 2]
cli = [s for s in mine if s["kind"] == 3]
assert len(srv) == 1 and len(cli) == 1, mine
srv, cli = srv[0], cli[0]
for s in mine:
    assert s["path"] == "/v1/traces", s["path"]
    assert s["content_type"] == "application/x-protobuf", s["content_type"]
    assert s["resource"]["service.name"] == "gw-test", s["resource"]
    assert s["flags"] & 1 == 1, s
    assert s["end"] >= s["start"] > 0, s
    assert "secretvalue" not in json.dumps(s), s
assert srv["span_id"] == sid, (srv, sid)
assert srv["parent_span_id"] == "", srv
assert srv["name"] == "GET /api/v1/tv_shows", srv["name"]
a = srv["attrs"]
assert a["http.request.method"] == "GET", a
assert a["http.route"] == "/api/v1/tv_shows", a
assert a["http.response.status_code"] == 200, a
assert a["url.path"] == "/api/v1/tv_shows", a
assert srv["status"]["code"] == 0, srv
assert cli["parent_span_id"] == srv["span_id"], (cli, srv)
assert cli["name"] == "tvmaze.v1.Shows/ListShows", cli["name"]
a = cli["attrs"]
assert a["rpc.system"] == "grpc" and a["rpc.service"] == "tvmaze.v1.Shows", a
assert a["rpc.method"] == "ListShows" and a["rpc.grpc.status_code"] == 0, a
assert srv["start"] <= cli["start"] and cli["end"] <= srv["end"], (srv, cli)
# the upstream got the CLIENT span's id, sampled
got = [c for c in calls if c["metadata"].get("x-request-id") == "rq-one"]
assert len(got) == 1, calls
assert got[0]["method"] == "/tvmaze.v1.Shows/ListShows", got
assert got[0]["metadata"]["traceparent"] == "00-%s-%s-01" % (tid, cli["span_id"]), got
PYEOF

# an incoming sampled traceparent: the request span is its child
PARENT_TID=4bf92f3577b34da6a3ce929d0e0e4736
req 200 -u admin:s3cret -H 'X-Request-Id: rq-parent' \
  -H "traceparent: 00-$PARENT_TID-00f067aa0ba902b7-01" "$G/api/v1/tv_shows/7"
wait_spans "$TMP/main.spans" "$PARENT_TID" 2
"$PY" - "$TMP/main.spans" "$PARENT_TID" <<'PYEOF' || fail "span of an incoming traceparent"
import json, sys
mine = [json.loads(l) for l in open(sys.argv[1]) if sys.argv[2] in l]
srv = [s for s in mine if s["kind"] == 2][0]
assert srv["parent_span_id"] == "00f067aa0ba902b7", srv
assert srv["name"] == "GET /api/v1/tv_shows/{id}", srv
assert srv["attrs"]["url.path"] == "/api/v1/tv_shows/7", srv
PYEOF

# an unmatched path: the span is named by the method only, no http.route
req 404 -H 'X-Request-Id: rq-404' "$G/nope/here"
wait_log "$TMP/gw1.log" rq-404
read -r TID404 _ <<<"$(log_ids "$TMP/gw1.log" rq-404)"
wait_spans "$TMP/main.spans" "$TID404" 1
"$PY" - "$TMP/main.spans" "$TID404" <<'PYEOF' || fail "span of a 404"
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if sys.argv[2] in l][0]
assert s["name"] == "GET" and "http.route" not in s["attrs"], s
assert s["attrs"]["http.response.status_code"] == 404, s
PYEOF

# a raw non-UTF-8 byte in the path: its span still decodes (the byte is
# replaced), so it cannot make the collector refuse the batch
"$PY" - "$HP" <<'PYEOF' || fail "raw request"
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"GET /raw\xffpath HTTP/1.1\r\nHost: x\r\nX-Request-Id: rq-raw\r\nConnection: close\r\n\r\n")
reply = b""
while True:
    b = c.recv(65536)
    if not b:
        break
    reply += b
assert reply.startswith(b"HTTP/1.1 4"), reply[:100]
PYEOF
wait_log "$TMP/gw1.log" rq-raw
read -r TIDRAW _ <<<"$(log_ids "$TMP/gw1.log" rq-raw)"
wait_spans "$TMP/main.spans" "$TIDRAW" 1
grep "$TIDRAW" "$TMP/main.spans" | grep -q '"url.path": "/raw?path"' || fail "raw byte in url.path: $(grep "$TIDRAW" "$TMP/main.spans")"

# /metrics: promtool, the conventional names, the tier, process, exporter
curl -sS -o "$TMP/m1.prom" "$G/metrics" || fail "scrape"
promtool check metrics <"$TMP/m1.prom" >"$TMP/promtool.out" 2>&1 ||
  fail "promtool check metrics: $(cat "$TMP/promtool.out")"
for want in 'http_requests_total{route="/api/v1/tv_shows",method="GET",code="200"} 1' \
  'http_requests_total{route="unmatched",method="other",code="404"} ' \
  'tvmaze_gateway_api_requests_total{route="/api/v1/tv_shows",tier="operator"} 1' \
  'tvmaze_gateway_api_requests_total{route="/api/v1/tv_shows/{id}",tier="operator"} 1' \
  'tvmaze_gateway_requests_total{route="/api/v1/tv_shows",method="GET",status="200"} 1' \
  'http_request_duration_seconds_bucket{route="/api/v1/tv_shows",le="+Inf"} 1' \
  'http_request_duration_seconds_count{route="/api/v1/tv_shows"} 1' \
  'tvmaze_otel_spans_dropped_total{reason="queue_full"} 0' \
  'tvmaze_otel_spans_dropped_total{reason="export_failed"} 0'; do
  grep -qF "$want" "$TMP/m1.prom" || fail "/metrics lacks: $want"
done
for fam in process_cpu_seconds_total process_resident_memory_bytes process_open_fds \
  process_threads process_start_time_seconds; do
  grep -q "^$fam " "$TMP/m1.prom" || fail "/metrics lacks $fam"
done
grep -q 'http_request_duration_seconds_bucket{route="/api/v1/tv_shows",le="2"}' "$TMP/m1.prom" ||
  fail "no 2 s bucket (the latency alarm)"
EXPORTED=$(awk '$1 == "tvmaze_otel_spans_exported_total" { print $2 }' "$TMP/m1.prom")
in_range "$EXPORTED" 5 1000000 || fail "tvmaze_otel_spans_exported_total $EXPORTED, want >= 5"
! grep -q 'route="/nope' "$TMP/m1.prom" || fail "a raw path became a label"
# the operational routes are never traced (probes and scrapes)
req 200 -H 'X-Request-Id: rq-metrics' "$G/metrics"
wait_log "$TMP/gw1.log" rq-metrics
read -r TIDM _ <<<"$(log_ids "$TMP/gw1.log" rq-metrics)"
req 200 -u admin:s3cret -H 'X-Request-Id: rq-after-metrics' "$G/api/v1/episodes"
wait_log "$TMP/gw1.log" rq-after-metrics
read -r TIDA _ <<<"$(log_ids "$TMP/gw1.log" rq-after-metrics)"
wait_spans "$TMP/main.spans" "$TIDA" 2
[ "$(spans_of "$TMP/main.spans" "$TIDM")" = 0 ] || fail "/metrics was traced"

# --- SIGTERM flushes --------------------------------------------------------
HP2=$(port)
start_gateway "$HP2" "$UP" gw2 OTEL_TRACES_SAMPLER=always_on \
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:$RPORT/v1/traces" OTEL_BSP_SCHEDULE_DELAY=60000
req 200 -u admin:s3cret -H 'X-Request-Id: rq-flush' "http://127.0.0.1:$HP2/api/v1/episodes"
wait_log "$TMP/gw2.log" rq-flush
read -r TIDF _ <<<"$(log_ids "$TMP/gw2.log" rq-flush)"
[ "$(spans_of "$TMP/main.spans" "$TIDF")" = 0 ] || fail "spans sent before the schedule delay"
GW2_PID=${PIDS[-1]}
kill -TERM "$GW2_PID"
wait "$GW2_PID" || fail "gateway exit status $? after SIGTERM"
[ "$(spans_of "$TMP/main.spans" "$TIDF")" = 2 ] || fail "the stop did not flush the spans"
grep -q '"service.name": "tvmaze-gateway"' "$TMP/main.spans" || fail "default service.name"

# --- the default sampler ----------------------------------------------------
start_receiver ratio
HP3=$(port)
G3=http://127.0.0.1:$HP3
start_gateway "$HP3" "$UP" gw3 "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$RPORT" \
  OTEL_BSP_SCHEDULE_DELAY=100 TVMAZE_RATE_IP_LIMIT=100000 TVMAZE_RESPONSE_CACHE_TTL=0
# sampled=0 from the caller: nothing exported, the decision passed on
UNS_TID=5bf92f3577b34da6a3ce929d0e0e4737
req 200 -u admin:s3cret -H 'X-Request-Id: rq-unsampled' \
  -H "traceparent: 00-$UNS_TID-00f067aa0ba902b7-00" "$G3/api/v1/tv_shows"
"$PY" - "$TMP/upstream.calls" "$UNS_TID" <<'PYEOF' || fail "unsampled traceparent passed on"
import json, sys
c = [json.loads(l) for l in open(sys.argv[1]) if "rq-unsampled" in l][0]
tp = c["metadata"]["traceparent"]
assert tp.startswith("00-%s-" % sys.argv[2]) and tp.endswith("-00"), tp
PYEOF
# then a sampled one: once its spans are in, the earlier request's would be too
SAM_TID=6bf92f3577b34da6a3ce929d0e0e4738
req 200 -u admin:s3cret -H "traceparent: 00-$SAM_TID-00f067aa0ba902b7-01" "$G3/api/v1/tv_shows"
wait_spans "$TMP/ratio.spans" "$SAM_TID" 2
[ "$(spans_of "$TMP/ratio.spans" "$UNS_TID")" = 0 ] || fail "sampled=0 was exported"

# 1000 requests, no traceparent: exported exactly per TraceIdRatioBased(0.1)
N=1000
for i in $(seq "$N"); do
  curl -s -o /dev/null -u admin:s3cret -H "X-Request-Id: ratio-$i" "$G3/api/v1/tv_shows" || fail "ratio request $i"
done
wait_log "$TMP/gw3.log" "ratio-$N"
# a sampled marker after them, so that every earlier batch has been sent
END_TID=7bf92f3577b34da6a3ce929d0e0e4739
req 200 -u admin:s3cret -H "traceparent: 00-$END_TID-00f067aa0ba902b7-01" "$G3/api/v1/tv_shows"
wait_spans "$TMP/ratio.spans" "$END_TID" 2
"$PY" - "$TMP/gw3.log" "$TMP/ratio.spans" "$N" "$UNS_TID $SAM_TID $END_TID" <<'PYEOF' || fail "ratio sampling"
import json, sys
n = int(sys.argv[3])
parented = set(sys.argv[4].split())  # the requests that carried a traceparent
want, ratio_ids = set(), set()
for line in open(sys.argv[1]):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if d.get("event") != "http_request" or d["trace_id"] in parented:
        continue
    if d["route"] in ("/metrics", "/up"):
        continue  # never traced (the operational routes)
    # every other root request
    if str(d.get("request_id", "")).startswith("ratio-"):
        ratio_ids.add(d["trace_id"])
    tail = int(d["trace_id"][16:], 16)
    if (tail >> 1) < int(0.1 * 2**63):
        want.add(d["trace_id"])
got = set()
for line in open(sys.argv[2]):
    s = json.loads(line)
    if s["kind"] == 2 and s["parent_span_id"] == "":
        got.add(s["trace_id"])
assert len(ratio_ids) == n, len(ratio_ids)
assert got == want, (len(got), len(want), sorted(got ^ want)[:5])
sampled = len(got & ratio_ids)
frac = sampled / n
assert 0.05 <= frac <= 0.20, frac
print("sampled %d of %d (%.1f %%)" % (sampled, n, 100 * frac))
PYEOF

# --- a collector that is down, or slow --------------------------------------
DEAD=$(port) # nothing listens there
HP4=$(port)
start_gateway "$HP4" "$UP" gw4 OTEL_TRACES_SAMPLER=always_on \
  "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$DEAD" OTEL_BSP_SCHEDULE_DELAY=50 \
  OTEL_EXPORTER_OTLP_TIMEOUT=500 TVMAZE_RESPONSE_CACHE_TTL=0
for i in $(seq 20); do
  req 200 -u admin:s3cret "http://127.0.0.1:$HP4/api/v1/tv_shows"
done
for _ in $(seq 300); do
  d=$(metric "http://127.0.0.1:$HP4" 'tvmaze_otel_spans_dropped_total{reason="export_failed"}')
  [ "$d" -ge 40 ] && break
  sleep 0.1
done
[ "$d" -ge 40 ] || fail "collector down: export_failed drops $d, want >= 40 (20 requests x 2 spans)"
[ "$(metric "http://127.0.0.1:$HP4" 'tvmaze_otel_spans_exported_total')" = 0 ] || fail "exported to nobody"

start_receiver slow --delay 3
HP5=$(port)
start_gateway "$HP5" "$UP" gw5 OTEL_TRACES_SAMPLER=always_on \
  "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$RPORT" OTEL_BSP_SCHEDULE_DELAY=50 \
  OTEL_EXPORTER_OTLP_TIMEOUT=300 OTEL_BSP_MAX_QUEUE_SIZE=4 OTEL_BSP_MAX_EXPORT_BATCH_SIZE=2 \
  TVMAZE_RESPONSE_CACHE_TTL=0
for i in $(seq 30); do
  req 200 -u admin:s3cret "http://127.0.0.1:$HP5/api/v1/tv_shows"
done
for _ in $(seq 300); do
  f=$(metric "http://127.0.0.1:$HP5" 'tvmaze_otel_spans_dropped_total{reason="export_failed"}')
  [ "$f" -ge 2 ] && break
  sleep 0.1
done
q=$(metric "http://127.0.0.1:$HP5" 'tvmaze_otel_spans_dropped_total{reason="queue_full"}')
[ "$f" -ge 2 ] || fail "slow collector: export_failed drops $f, want >= 2"
[ "$q" -ge 1 ] || fail "slow collector: queue_full drops $q, want >= 1 (60 spans, a queue of 4)"
echo "ok"
