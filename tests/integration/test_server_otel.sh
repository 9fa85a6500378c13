#!/usr/bin/env bash
# test_server_otel: tvmaze-server's spans on the wire, with a real server,
# PostgreSQL and Redis (server/trace/, docs/operations.md "Tracing"):
#   - OTEL_TRACES_SAMPLER=always_on on the gateway and the server: one REST
#     call gives the gateway's request and upstream spans, the server's
#     SERVER span "tvmaze.v1.Shows/ListShows" as the child of the upstream
#     span (rpc.* attributes, status code 0), and under the server span
#     every SQL statement (db.system postgresql, db.operation) and the cache
#     calls (a miss, then the set); service.name on each resource; no
#     request value anywhere in the spans;
#   - the default sampler: a gRPC call whose traceparent has sampled=0
#     exports nothing from the server; a sampled traceparent makes the
#     server span its child;
#   - StartIngest: its log line carries the server span's trace_id and
#     span_id; the run is a root span "ingest.run" with an "ingest.day" per
#     day (the day's SQL under it) and a CLIENT span "GET" per TVMaze
#     request (HTTP status 200);
#   - /metrics passes `promtool check metrics` with tvmaze_otel_*;
#   - a collector that is down: every call still answers, and the server's
#     drops are counted in tvmaze_otel_spans_dropped_total{export_failed}.
set -euo pipefail
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"
PY=/usr/bin/python3
: "${TVMAZE_TEST_REDIS_URL:?TVMAZE_TEST_REDIS_URL must be set}"

fresh_db server_otel_test
export REDIS_URL=$TVMAZE_TEST_REDIS_URL TVMAZE_LOCAL_CACHE_MB=0

"$PY" "$S/tests/fake_otlp/otlp_receiver.py" --proto-root "$S/proto" --out "$TMP/main.spans" \
  --port-file "$TMP/recv.port" 2>>"$TMP/receiver.log" &
PIDS+=($!)
python3 "$S/tests/fake_tvmaze/fake_tvmaze.py" --fixtures "$S/tests/fake_tvmaze/fixtures" \
  --port-file "$TMP/fake.port" 2>/dev/null &
PIDS+=($!)
for f in recv fake; do
  for _ in $(seq 100); do [ -s "$TMP/$f.port" ] && break; sleep 0.1; done
  [ -s "$TMP/$f.port" ] || fail "$f did not start"
done
RPORT=$(cat "$TMP/recv.port")

# wait_started LOG: until the server in LOG serves
wait_started() {
  for _ in $(seq 300); do
    grep -q '"server_started"' "$TMP/$1.log" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "server $1 did not start"
}
# call PORT METHOD HEX [TRACEPARENT] -> the gRPC code name (python3-grpcio)
call() {
  "$PY" - "$@" <<'EOF'
import os, sys, grpc
port, method, hexbytes = sys.argv[1], sys.argv[2], sys.argv[3]
md = [("x-api-key", os.environ["TVMAZE_API_KEY"])]
md += [("traceparent", sys.argv[4])] if len(sys.argv) > 4 else []
ch = grpc.insecure_channel("127.0.0.1:" + port)
f = ch.unary_unary(method, request_serializer=None, response_deserializer=None)
try:
    f(bytes.fromhex(hexbytes), timeout=20, metadata=md)
    print("OK")
except grpc.RpcError as e:
    print(e.code().name)
EOF
}

GP=$(port)
MP=$(port)
TVMAZE_API_URL="http://127.0.0.1:$(cat "$TMP/fake.port")" TVMAZE_METRICS_ADDR=127.0.0.1:$MP \
  OTEL_TRACES_SAMPLER=always_on OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$RPORT \
  OTEL_BSP_SCHEDULE_DELAY=100 start_server "$GP" server
wait_started server
HP=$(port)
start_gateway "$HP" "$GP" gw OTEL_TRACES_SAMPLER=always_on OTEL_SERVICE_NAME=gw-test \
  "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$RPORT" OTEL_BSP_SCHEDULE_DELAY=100 \
  TVMAZE_RESPONSE_CACHE_TTL=0

# --- one REST call: gateway -> server -> SQL and cache ------------------------
# (a distributor nobody has: the cache key is new, so a miss and a set)
SECRET="nobody-$RANDOM-$$"
req 200 -u admin:s3cret -H 'X-Request-Id: rq-srv' \
  "http://127.0.0.1:$HP/api/v1/tv_shows?distributor=$SECRET"
TID=""
for _ in $(seq 100); do
  TID=$("$PY" -c '
import json, sys
for l in open(sys.argv[1]):
    try:
        d = json.loads(l)
    except ValueError:
        continue
    if d.get("event") == "http_request" and d.get("request_id") == "rq-srv":
        print(d["trace_id"])
' "$TMP/gw.log")
  [ -n "$TID" ] && break
  sleep 0.1
done
[ -n "$TID" ] || fail "no http_request line for rq-srv"
# the gateway's request span ends last; the server's span after its children
# (one queue per process, sent in order): both in = the whole trace is in
for _ in $(seq 300); do
  grep "\"trace_id\": \"$TID\"" "$TMP/main.spans" 2>/dev/null | grep '"kind": 2' |
    grep -q '"tvmaze.v1.Shows/ListShows"' &&
    [ "$(grep "\"trace_id\": \"$TID\"" "$TMP/main.spans" | grep -c '"gw-test"')" = 2 ] && break
  sleep 0.1
done
"$PY" - "$TMP/main.spans" "$TID" "$SECRET" <<'PYEOF' || fail "spans of one REST call"
import json, sys
tid, secret = sys.argv[2], sys.argv[3]
mine = [json.loads(l) for l in open(sys.argv[1]) if tid in l]
mine = [s for s in mine if s["trace_id"] == tid]
gw = [s for s in mine if s["resource"]["service.name"] == "gw-test"]
srv = [s for s in mine if s["resource"]["service.name"] == "tvmaze-server"]
assert len(gw) == 2, gw
assert len(gw) + len(srv) == len(mine), mine
up = [s for s in gw if s["kind"] == 3][0]
server = [s for s in srv if s["kind"] == 2]
assert len(server) == 1, srv
server = server[0]
assert server["name"] == "tvmaze.v1.Shows/ListShows", server
assert server["parent_span_id"] == up["span_id"], (server, up)
a = server["attrs"]
assert a["rpc.system"] == "grpc" and a["rpc.service"] == "tvmaze.v1.Shows", a
assert a["rpc.method"] == "ListShows" and a["rpc.grpc.status_code"] == 0, a
assert server["status"]["code"] == 0, server
assert up["start"] <= server["start"] and server["end"] <= up["end"], (up, server)
kids = [s for s in srv if s is not server]
for s in kids:
    assert s["parent_span_id"] == server["span_id"], s
    assert s["kind"] == 3, s
    assert server["start"] <= s["start"] and s["end"] <= server["end"], (server, s)
sql = [s for s in kids if s["attrs"].get("db.system") == "postgresql"]
assert len(sql) >= 1, kids
for s in sql:
    op = s["attrs"]["db.operation"]
    assert op.isalpha() and op.isupper(), s  # a keyword, never SQL text or a value
assert any(s["attrs"]["db.operation"] in ("SELECT", "WITH") for s in sql), sql
cache = [s for s in kids if s["attrs"].get("db.system") == "redis"]
assert [s["name"] for s in cache] == ["cache.get", "cache.set"], cache
get = cache[0]["attrs"]
assert get["tvmaze.cache.result"] == "miss" and get["tvmaze.cache.layer"] == "redis", get
assert len(sql) + len(cache) == len(kids), kids
for s in mine:
    assert secret not in json.dumps(s), s
print("server span + %d SQL spans (%s) + 2 cache spans" % (len(sql), ", ".join(s["name"] for s in sql)))
PYEOF
echo "ok: gateway -> server -> SQL and cache in one trace"

# --- gRPC: sampled=0 exports nothing; a sampled parent is honoured --------
# (the default sampler, parentbased_traceidratio: always_on ignores parents)
GP3=$(port)
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$RPORT OTEL_BSP_SCHEDULE_DELAY=100 \
  start_server "$GP3" server3
wait_started server3
UNS=5bf92f3577b34da6a3ce929d0e0e4731
[ "$(call "$GP3" /tvmaze.v1.Shows/ListShows "" "00-$UNS-00f067aa0ba902b7-00")" = OK ] ||
  fail "unsampled call"
SAM=6bf92f3577b34da6a3ce929d0e0e4732
[ "$(call "$GP3" /tvmaze.v1.Shows/GetShow 0801 "00-$SAM-00f067aa0ba902b7-01")" = NOT_FOUND ] ||
  fail "sampled call"
wait_spans "$TMP/main.spans" "$SAM" 2
[ "$(spans_of "$TMP/main.spans" "$UNS")" = 0 ] || fail "a sampled=0 call was exported"
"$PY" - "$TMP/main.spans" "$SAM" <<'PYEOF' || fail "span of a sampled traceparent"
import json, sys
mine = [json.loads(l) for l in open(sys.argv[1]) if sys.argv[2] in l]
s = [x for x in mine if x["kind"] == 2][0]
assert s["parent_span_id"] == "00f067aa0ba902b7", s
assert s["name"] == "tvmaze.v1.Shows/GetShow", s
assert s["attrs"]["rpc.grpc.status_code"] == 5, s  # NOT_FOUND: a client error, status unset
assert s["status"]["code"] == 0, s
PYEOF
echo "ok: sampled=0 exports nothing; a sampled parent is the server span's parent"

# --- StartIngest: log ids, the run's root span, days, SQL under days -------
TVMAZE_GRPC_TARGET=127.0.0.1:$GP timeout 120 "$B/client/tvmaze" ingest start \
  --start-date 2030-01-01 --days 2 --wait >"$TMP/ingest.txt" 2>&1 ||
  fail "ingest run: $(cat "$TMP/ingest.txt")"
grep -q SUCCEEDED "$TMP/ingest.txt" || fail "ingest run: $(cat "$TMP/ingest.txt")"
read -r ITID ISID <<<"$("$PY" -c '
import json, sys
for l in open(sys.argv[1]):
    try:
        d = json.loads(l)
    except ValueError:
        continue
    if d.get("event") == "ingest_start_requested":
        print(d["trace_id"], d["span_id"])
' "$TMP/server.log")"
[ -n "${ISID:-}" ] || fail "ingest_start_requested has no trace ids: $(grep ingest_start "$TMP/server.log")"
wait_spans "$TMP/main.spans" "$ITID" 1
# the run's span ends after its days and requests (their spans are queued first)
for _ in $(seq 300); do grep -q '"ingest.run"' "$TMP/main.spans" && break; sleep 0.1; done
"$PY" - "$TMP/main.spans" "$ITID" "$ISID" <<'PYEOF' || fail "spans of an ingest run"
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
call = [s for s in spans if s["span_id"] == sys.argv[3]]
assert len(call) == 1 and call[0]["name"] == "tvmaze.v1.Ingest/StartIngest", call
assert call[0]["trace_id"] == sys.argv[2], call
run = [s for s in spans if s["name"] == "ingest.run"]
assert len(run) == 1, run
run = run[0]
assert run["parent_span_id"] == "", run
assert run["attrs"]["tvmaze.ingest.status"] == "SUCCEEDED", run
assert run["attrs"]["tvmaze.ingest.days"] == 2, run
trace = [s for s in spans if s["trace_id"] == run["trace_id"]]
days = [s for s in trace if s["name"] == "ingest.day"]
assert sorted(d["attrs"]["tvmaze.ingest.date"] for d in days) == ["2030-01-01", "2030-01-02"], days
for d in days:
    assert d["parent_span_id"] == run["span_id"], d
    assert d["attrs"]["tvmaze.ingest.requests"] >= 1, d
day_ids = {d["span_id"] for d in days}
sql_days = [s for s in trace if s["parent_span_id"] in day_ids]
assert sql_days and all(s["attrs"]["db.system"] == "postgresql" for s in sql_days), sql_days
gets = [s for s in trace if s["name"] == "GET"]
for g in gets:
    assert g["parent_span_id"] == run["span_id"] and g["kind"] == 3, g
    assert g["attrs"]["http.response.status_code"] == 200 and g["status"]["code"] == 0, g
    assert g["attrs"]["tvmaze.ingest.date"] in ("2030-01-01", "2030-01-02"), g
assert len(gets) == sum(d["attrs"]["tvmaze.ingest.requests"] for d in days), (gets, days)
sql_run = [s for s in trace if s["parent_span_id"] == run["span_id"] and s["name"] not in ("ingest.day", "GET")]
assert sql_run and all(s["attrs"]["db.system"] == "postgresql" for s in sql_run), sql_run
print("ingest.run + %d days + %d TVMaze requests + %d SQL under days, %d under the run" % (len(days), len(gets), len(sql_days), len(sql_run)))
PYEOF
echo "ok: StartIngest log ids; ingest.run > ingest.day > SQL"

# --- /metrics -----------------------------------------------------------------
curl -sS -o "$TMP/m.prom" "http://127.0.0.1:$MP/metrics" || fail "scrape"
promtool check metrics <"$TMP/m.prom" >"$TMP/promtool.out" 2>&1 ||
  fail "promtool check metrics: $(cat "$TMP/promtool.out")"
EXPORTED=$(awk '$1 == "tvmaze_otel_spans_exported_total" { print $2 }' "$TMP/m.prom")
in_range "$EXPORTED" 6 1000000 || fail "server tvmaze_otel_spans_exported_total $EXPORTED"
grep -qF 'tvmaze_otel_spans_dropped_total{reason="export_failed"} 0' "$TMP/m.prom" ||
  fail "drops with a live collector: $(grep dropped "$TMP/m.prom")"

# --- a collector that is down ---------------------------------------------------
DEAD=$(port)
GP2=$(port)
MP2=$(port)
TVMAZE_METRICS_ADDR=127.0.0.1:$MP2 OTEL_TRACES_SAMPLER=always_on \
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$DEAD OTEL_BSP_SCHEDULE_DELAY=50 \
  OTEL_EXPORTER_OTLP_TIMEOUT=500 start_server "$GP2" server2
wait_started server2
for i in $(seq 20); do
  [ "$(call "$GP2" /tvmaze.v1.Shows/ListShows "")" = OK ] || fail "call $i with the collector down"
done
d=0
for _ in $(seq 300); do
  d=$(metric "http://127.0.0.1:$MP2" 'tvmaze_otel_spans_dropped_total{reason="export_failed"}')
  [ "$d" -ge 40 ] && break
  sleep 0.1
done
[ "$d" -ge 40 ] || fail "collector down: export_failed drops $d, want >= 40 (20 calls x server + SQL)"
[ "$(metric "http://127.0.0.1:$MP2" 'tvmaze_otel_spans_exported_total')" = 0 ] || fail "exported to nobody"
echo "ok: a collector that is down: calls answer, drops counted"
echo "ok"
