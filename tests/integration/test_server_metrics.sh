#!/usr/bin/env bash
# test_server_metrics: the real tvmaze-server's exporter (server/metrics/,
# docs/operations.md "Reading metrics"):
#   - GET /metrics is text format 0.0.4 that `promtool check metrics` passes,
#     every registered method at 0 for OK from the start, every ingest status
#     at 0, the freshness read from ingest_runs, the data version, process_*;
#     other paths 404, other methods 405;
#   - three calls (ListShows OK, GetShow NotFound, ListShows InvalidArgument)
#     move started/handled/handling by exactly those calls and nothing else;
#   - PostgreSQL stopped: a call answers Unavailable and is counted so, the
#     error counter grows, the worker's connection leaves "idle"; back up:
#     the reconnect is counted;
#   - an ingest run (fake TVMaze): runs_total{SUCCEEDED}, the freshness and
#     the data version move;
#   - a bad TVMAZE_METRICS_ADDR (syntax, or a port in use) exits 2 with a
#     message naming it; "off" serves no exporter.
# One worker, so the pool gauges are exact. PostgreSQL is restarted at exit
# whatever happens.
set -euo pipefail
: "${TVMAZE_TEST_SERVICES_DIR:?TVMAZE_TEST_SERVICES_DIR must be set}"
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"
PY=/usr/bin/python3


unset REDIS_URL # no query cache: every call reaches PostgreSQL
fresh_db server_metrics_test
psql -q "$DATABASE_URL" -c "INSERT INTO ingest_runs (status, start_date, days, owner, finished_at)
  VALUES (2, '2025-01-01', 1, 'test', to_timestamp(1750000000)),
         (4, '2025-01-02', 1, 'test', to_timestamp(1760000000))" >/dev/null

python3 "$S/tests/fake_tvmaze/fake_tvmaze.py" --fixtures "$S/tests/fake_tvmaze/fixtures" \
  --port-file "$TMP/fake.port" 2>/dev/null &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$TMP/fake.port" ] && break; sleep 0.1; done
[ -s "$TMP/fake.port" ] || fail "fake TVMaze did not start"

GP=$(port)
MP=$(port)
M=http://127.0.0.1:$MP/metrics
TVMAZE_API_URL="http://127.0.0.1:$(cat "$TMP/fake.port")" TVMAZE_WORKERS=1 \
  TVMAZE_METRICS_ADDR=127.0.0.1:$MP start_server "$GP"
for _ in $(seq 1 300); do
  grep -q '"server_started"' "$TMP/server.log" && break
  sleep 0.1
done
grep -q '"metrics_listening"' "$TMP/server.log" || fail "no metrics_listening in the log"

# call METHOD HEX -> the gRPC code name (python3-grpcio, raw request bytes)
call() {
  "$PY" - "$GP" "$1" "$2" <<'EOF'
import os, sys, grpc
port, method, hexbytes = sys.argv[1], sys.argv[2], sys.argv[3]
ch = grpc.insecure_channel("127.0.0.1:" + port)
f = ch.unary_unary(method, request_serializer=None, response_deserializer=None)
try:
    f(bytes.fromhex(hexbytes), timeout=20, metadata=(("x-api-key", os.environ["TVMAZE_API_KEY"]),))
    print("OK")
except grpc.RpcError as e:
    print(e.code().name)
EOF
}

# scrape NAME: body to $TMP/NAME.prom, headers checked, promtool passes
scrape() {
  curl -sS -D "$TMP/$1.hdr" -o "$TMP/$1.prom" "$M" || fail "scrape $1"
  grep -qi '^content-type: text/plain; version=0.0.4' "$TMP/$1.hdr" ||
    fail "scrape $1: content type: $(cat "$TMP/$1.hdr")"
  promtool check metrics <"$TMP/$1.prom" >"$TMP/$1.promtool" 2>&1 ||
    fail "promtool check metrics ($1): $(cat "$TMP/$1.promtool")"
}

# check A B 'python assertions over a (dict before), b (dict after), d(series)'
check() {
  "$PY" - "$TMP/$1.prom" "$TMP/$2.prom" "$3" <<'EOF' || fail "$4"
import sys
def load(p):
    out = {}
    for line in open(p):
        if line.startswith("#") or not line.strip():
            continue
        k, v = line.rsplit(" ", 1)
        out[k] = float(v)
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
def d(k):
    return b.get(k, 0) - a.get(k, 0)
def moved(prefix):
    return {k: d(k) for k in set(a) | set(b) if k.startswith(prefix) and d(k) != 0}
def h(method, code=None, svc="tvmaze.v1.Shows"):
    s = 'grpc_type="unary",grpc_service="%s",grpc_method="%s"' % (svc, method)
    return s if code is None else s + ',grpc_code="%s"' % code
try:
    exec(sys.argv[3])
except AssertionError as e:
    import traceback
    line = traceback.extract_tb(e.__traceback__)[-1].lineno
    print("assertion failed: %s: %s" % (sys.argv[3].splitlines()[line - 1].strip(), e),
          file=sys.stderr)
    sys.exit(1)
EOF
}

scrape start
# What exists from the start.
check start start '
for m in ["ListShows", "GetShow", "ListEpisodes"]:
    assert b["grpc_server_handled_total{" + h(m, "OK") + "}"] == 0, m
    assert b["grpc_server_started_total{" + h(m) + "}"] == 0, m
    assert b["grpc_server_handling_seconds_count{" + h(m) + "}"] == 0, m
    assert b["grpc_server_handling_seconds_bucket{" + h(m) + ",le=\"+Inf\"}"] == 0, m
assert "grpc_server_handled_total{" + h("CheckApiKey", "OK", "tvmaze.v1.Auth") + "}" in b
assert "grpc_server_handled_total{" + h("MonthlyTrends", "OK", "tvmaze.v1.Analytics") + "}" in b
assert "grpc_server_handled_total{" + h("StartIngest", "OK", "tvmaze.v1.Ingest") + "}" in b
for st in ["SUCCEEDED", "PARTIAL", "FAILED"]:
    assert b["tvmaze_ingest_runs_total{status=\"%s\"}" % st] == 0, st
assert b["tvmaze_ingest_last_success_timestamp_seconds"] == 1750000000, b.get("tvmaze_ingest_last_success_timestamp_seconds")
assert b["tvmaze_data_version"] > 0
assert b["tvmaze_db_pool_max_connections"] == 1
assert b["tvmaze_db_pool_connections{state=\"in_use\"}"] == 0
for k in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
          "process_start_time_seconds", "process_threads", "tvmaze_db_errors_total",
          "tvmaze_db_reconnects_total"]:
    assert k in b, k
assert b["process_resident_memory_bytes"] > 1e6 and b["process_threads"] >= 2
' "series missing or wrong at start"
echo "ok: series at 0 from the start, freshness from ingest_runs, promtool passes"

# Other paths and methods.
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MP/")" = 404 ] || fail "/ not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MP/metricsx")" = 404 ] ||
  fail "/metricsx not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x "$M")" = 405 ] || fail "POST not 405"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$M")" = 405 ] || fail "DELETE not 405"
echo "ok: 404 for other paths, 405 for other methods"

# Three calls, each code checked at the client.
[ "$(call /tvmaze.v1.Shows/ListShows "")" = OK ] || fail "ListShows {} not OK"
[ "$(call /tvmaze.v1.Shows/GetShow 08bf843d)" = NOT_FOUND ] || fail "GetShow 999999 not NOT_FOUND"
# date_from = "nope"
[ "$(call /tvmaze.v1.Shows/ListShows 0a046e6f7065)" = INVALID_ARGUMENT ] ||
  fail "ListShows date_from=nope not INVALID_ARGUMENT"
# health checks are not tvmaze.v1 calls: not counted
[ "$(call /grpc.health.v1.Health/Check "")" = OK ] || fail "Health/Check"
scrape calls
check start calls '
want = {
    "grpc_server_handled_total{" + h("ListShows", "OK") + "}": 1,
    "grpc_server_handled_total{" + h("ListShows", "InvalidArgument") + "}": 1,
    "grpc_server_handled_total{" + h("GetShow", "NotFound") + "}": 1,
}
got = moved("grpc_server_handled_total")
assert got == want, got
got = moved("grpc_server_started_total")
assert got == {"grpc_server_started_total{" + h("ListShows") + "}": 2,
               "grpc_server_started_total{" + h("GetShow") + "}": 1}, got
assert d("grpc_server_handling_seconds_count{" + h("ListShows") + "}") == 2
assert d("grpc_server_handling_seconds_count{" + h("GetShow") + "}") == 1
assert d("grpc_server_handling_seconds_bucket{" + h("ListShows") + ",le=\"10\"}") == 2
assert d("grpc_server_handling_seconds_sum{" + h("ListShows") + "}") > 0
counts = {k: v for k, v in b.items() if k.startswith("grpc_server_handling_seconds_count")}
assert sum(counts.values()) == 3, counts
assert b["tvmaze_db_pool_connections{state=\"idle\"}"] == 1
assert b["tvmaze_db_pool_connections{state=\"in_use\"}"] == 0
' "counters after three calls"
echo "ok: handled/started/handling moved by exactly the three calls"

# PostgreSQL down.
stop_pg
[ "$(call /tvmaze.v1.Shows/ListShows "")" = UNAVAILABLE ] || fail "ListShows not UNAVAILABLE"
sleep 0.6 # past the store's reconnect spacing: the next call tries again
[ "$(call /tvmaze.v1.Shows/ListShows "")" = UNAVAILABLE ] || fail "ListShows not UNAVAILABLE"
scrape down
check calls down '
got = moved("grpc_server_handled_total")
assert got == {"grpc_server_handled_total{" + h("ListShows", "Unavailable") + "}": 2}, got
assert d("tvmaze_db_errors_total") >= 2, d("tvmaze_db_errors_total")
assert b["tvmaze_db_pool_connections{state=\"idle\"}"] == 0
assert b["tvmaze_db_pool_connections{state=\"in_use\"}"] == 0
# the freshness keeps its last value read while the database is away
assert b["tvmaze_ingest_last_success_timestamp_seconds"] == 1750000000
' "series while PostgreSQL is down"
echo "ok: PostgreSQL down: Unavailable counted, errors up, no idle connection"

restore_pg
for _ in $(seq 1 100); do
  [ "$(call /tvmaze.v1.Shows/ListShows "")" = OK ] && break
  sleep 0.2
done
scrape up
check down up '
assert d("grpc_server_handled_total{" + h("ListShows", "OK") + "}") >= 1
assert d("tvmaze_db_reconnects_total") >= 1, d("tvmaze_db_reconnects_total")
assert b["tvmaze_db_pool_connections{state=\"idle\"}"] == 1
' "series after PostgreSQL came back"
echo "ok: PostgreSQL back: reconnect counted, the connection idle again"

# An ingest run: ended SUCCEEDED, the freshness and the data version move
# (read again once the exporter's 5 s cache has expired).
# The runner's session died with the PostgreSQL restart: its first statement
# answers UNAVAILABLE and reconnects, so the start is retried.
for _ in 1 2 3 4 5; do
  TVMAZE_GRPC_TARGET=127.0.0.1:$GP timeout 120 "$B/client/tvmaze" ingest start \
    --start-date 2030-01-01 --days 1 --wait >"$TMP/ingest.txt" 2>&1 && break
  grep -q UNAVAILABLE "$TMP/ingest.txt" || fail "ingest run: $(cat "$TMP/ingest.txt")"
  sleep 0.6
done
grep -q "SUCCEEDED" "$TMP/ingest.txt" || fail "ingest run: $(cat "$TMP/ingest.txt")"
sleep 5.2
scrape ingest
check up ingest '
assert d("tvmaze_ingest_runs_total{status=\"SUCCEEDED\"}") == 1
assert d("tvmaze_ingest_runs_total{status=\"FAILED\"}") == 0
assert d("tvmaze_ingest_runs_total{status=\"PARTIAL\"}") == 0
assert d("grpc_server_handled_total{" + h("StartIngest", "OK", "tvmaze.v1.Ingest") + "}") == 1
assert d("grpc_server_handled_total{" + h("StartIngest", "Unavailable", "tvmaze.v1.Ingest") + "}") >= 0
assert b["tvmaze_ingest_last_success_timestamp_seconds"] > 1760000000
assert d("tvmaze_data_version") > 0, d("tvmaze_data_version")
' "series after an ingest run"
echo "ok: an ingest run: runs_total, freshness and data version moved"

# Bad addresses: exit 2 with a message naming the variable.
rc=0
TVMAZE_METRICS_ADDR=nonsense "$B/server/tvmaze-server" serve >"$TMP/bad1.log" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "TVMAZE_METRICS_ADDR=nonsense: exit $rc, want 2"
grep -q 'TVMAZE_METRICS_ADDR' "$TMP/bad1.log" || fail "no message naming TVMAZE_METRICS_ADDR"
rc=0
TVMAZE_GRPC_ADDR=127.0.0.1:$(port) TVMAZE_INGEST_AT=off TVMAZE_METRICS_ADDR=127.0.0.1:$MP \
  timeout 60 "$B/server/tvmaze-server" serve >"$TMP/bad2.log" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "TVMAZE_METRICS_ADDR on a port in use: exit $rc, want 2"
grep -q 'TVMAZE_METRICS_ADDR: cannot listen' "$TMP/bad2.log" || fail "no message for a port in use"
echo "ok: bad TVMAZE_METRICS_ADDR exits 2"

# off: no exporter.
GP2=$(port)
TVMAZE_METRICS_ADDR=off start_server "$GP2" off
for _ in $(seq 1 300); do
  grep -q '"server_started"' "$TMP/off.log" && break
  sleep 0.1
done
grep -q '"server_started"' "$TMP/off.log" || fail "server with metrics off did not start"
! grep -q '"metrics_listening"' "$TMP/off.log" || fail "metrics off still listens"
echo "ok: TVMAZE_METRICS_ADDR=off serves no exporter"
echo "PASS"
