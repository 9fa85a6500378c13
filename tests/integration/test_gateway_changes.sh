#!/usr/bin/env bash
# The gateway's change feed (docs/gateway.md "Change feed"): curl and python
# clients -> two tvmaze-gateways -> one tvmaze-server -> PostgreSQL, with
# the fake TVMaze:
#   - SSE from after_version=0 sees every change once, in order, across a
#     server restart (the follower resumes from its last version); NDJSON
#     ({"result": ...} per line); a heartbeat; Last-Event-ID resumes (and
#     wins over after_version); show_ids and entity filters; the headers
#     for proxies (no-cache, X-Accel-Buffering: no, never gzip);
#   - bad input before the stream starts: 400 naming the field, an expired
#     cursor 400 with code 9;
#   - the response cache follows the version: after a run that changes a
#     show's rating reports SUCCEEDED, a read of the show at once has the new
#     rating on both gateways (default TTL, no override); while the server is
#     down (the follower too) the cache is bypassed (metrics);
#   - 200 SSE clients while a run changes episodes all get the same changes
#     in order; a client that does not read is cut off after what was
#     queued and resumes with Last-Event-ID;
#   - SIGTERM with open streams: the gateway exits 0 (bounded wait).
# curl's --max-time values only end streams that never end by themselves;
# they are not latency assertions.
set -euo pipefail
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"

unset REDIS_URL
fresh_db gw_changes_test
A=(-u admin:s3cret)

# fixtures: the base/changed sets plus a big day (2031-01-01: 1,000 shows with
# 4 KB summaries, ~9 MB of events: more than the kernel buffers) for the slow client
FIX=$TMP/fix
cp -r "$S/tests/fake_tvmaze/fixtures" "$FIX"
python3 - "$FIX" <<'EOF'
import json, sys
US = {"name": "United States", "code": "US", "timezone": "America/New_York"}
for s in ("base", "changed"):
    items = []
    for i in range(1000):
        show = {"id": 50000 + i, "name": "Big Show %d" % i, "type": "Scripted", "language": "English",
                "genres": ["Drama"], "status": "Running", "runtime": 60, "averageRuntime": 60,
                "premiered": "2020-01-01", "ended": None, "officialSite": None,
                "rating": {"average": 6.0}, "weight": 50,
                "network": {"id": 9, "name": "BIG", "country": US, "officialSite": None},
                "webChannel": None, "image": None, "summary": "<p>%s</p>" % ("show %d " % i * 400),
                "updated": 1900000000}
        items.append({"id": 900000 + i, "name": "Pilot %d" % i, "season": 1, "number": 1,
                      "type": "regular", "airdate": "2031-01-01", "airtime": "20:00",
                      "airstamp": "2031-01-02T01:00:00+00:00", "runtime": 60,
                      "rating": {"average": None}, "image": None,
                      "summary": "<p>%s</p>" % ("episode %d " % i * 350), "show": show})
    with open("%s/%s/US-2031-01-01.json" % (sys.argv[1], s), "w") as f:
        json.dump(items, f)
EOF
start_fake "$FIX"

GP=$(port)
start_server "$GP"
SERVER_PID=${PIDS[-1]}
H1=$(port); H2=$(port)
start_gateway "$H1" "$GP" gw1 TVMAZE_RATE_IP_LIMIT=100000 TVMAZE_HTTP_PER_IP_CONNECTIONS=0 \
  TVMAZE_STREAM_HEARTBEAT_MS=1000
GW1_PID=${PIDS[-1]}
start_gateway "$H2" "$GP" gw2 TVMAZE_RATE_IP_LIMIT=100000 TVMAZE_HTTP_PER_IP_CONNECTIONS=0
G1=http://127.0.0.1:$H1; G2=http://127.0.0.1:$H2
ST=/api/v1/changes/stream

# wait_grep FILE PATTERN: poll (up to ~60 s) until FILE holds a line PATTERN
wait_grep() {
  for _ in $(seq 600); do
    grep -qx -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "$1 never got a line $2: $(tail -c 300 "$1")"
}
# run_ingest START DAYS: start a run through gw1, poll it until SUCCEEDED
run_ingest() {
  req 202 "${A[@]}" -H 'Content-Type: application/json' \
    -d "{\"start_date\":\"$1\",\"days\":$2}" "$G1/api/v1/ingest/runs"
  local loc
  loc=$(hval Location)
  for _ in $(seq 1200); do
    curl -s -o "$TMP/run" "${A[@]}" "$G1$loc"
    grep -q RUN_STATUS_SUCCEEDED "$TMP/run" && return 0
    grep -q 'RUN_STATUS_FAILED\|RUN_STATUS_PARTIAL' "$TMP/run" && fail "run $loc: $(cat "$TMP/run")"
    sleep 0.1
  done
  fail "run $loc never finished"
}
# versions AFTER [QUERY]: the versions of every change after AFTER (ListChanges pages), one a line
versions() {
  local after=$1 q=${2:-}
  while :; do
    curl -s "${A[@]}" "$G2/api/v1/changes?after_version=$after&limit=1000$q" >"$TMP/page"
    python3 -c 'import json,sys; [print(c["version"]) for c in json.load(open(sys.argv[1])).get("changes",[])]' "$TMP/page"
    local next
    next=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("next_after_version","0"))' "$TMP/page")
    [ "$next" = "$after" ] && return 0
    after=$next
  done
}
current() { curl -s "${A[@]}" "$G2/api/v1/changes?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("current_version","0"))'; }
# sse_ids FILE: the ids of the change events in FILE
sse_ids() { sed -n 's/^id: //p' "$1" | tr -d '\r'; }
rating() { # BASE: show 601's rating
  curl -s "${A[@]}" "$1/api/v1/tv_shows/601" | python3 -c 'import json,sys; print(float(json.load(sys.stdin)["show"].get("rating", "nan")))'
}

wait_metric "$G1" tvmaze_gateway_follower_up 1
wait_metric "$G2" tvmaze_gateway_follower_up 1

# --- a stream from the start follows everything that comes -------------------
curl -sN "${A[@]}" "$G1$ST?after_version=0" >"$TMP/sse_all" 2>/dev/null &
PIDS+=($!)
run_ingest 2030-01-01 3
V1=$(current)
[ "$V1" -gt 0 ] || fail "no changes after the first run"
wait_grep "$TMP/sse_all" "id: $V1"
versions 0 >"$TMP/list1"
sse_ids "$TMP/sse_all" >"$TMP/got1"
diff "$TMP/list1" "$TMP/got1" >/dev/null || fail "SSE ids != ListChanges: $(diff "$TMP/list1" "$TMP/got1" | head)"
grep -q '^event: change$' "$TMP/sse_all" || fail "no event: change"
FIRST=$(head -1 "$TMP/list1")
grep -q "^data: {\"version\":\"$FIRST\"," "$TMP/sse_all" || fail "data is not the change's JSON: $(head -c 300 "$TMP/sse_all")"

# headers for proxies, never gzip (a stream would wait for the compressor)
curl -sN -D "$TMP/hdr" -o "$TMP/sse_h" --max-time 2 -H 'Accept-Encoding: gzip' "${A[@]}" \
  "$G1$ST?after_version=$V1" 2>/dev/null || true
grep -qi '^Content-Type: text/event-stream' "$TMP/hdr" || fail "SSE content type: $(cat "$TMP/hdr")"
grep -qi '^Cache-Control: no-cache' "$TMP/hdr" || fail "SSE Cache-Control"
grep -qi '^X-Accel-Buffering: no' "$TMP/hdr" || fail "SSE X-Accel-Buffering"
! grep -qi '^Content-Encoding' "$TMP/hdr" || fail "SSE compressed"
# a heartbeat (gw1: every 1 s while idle) carries the current version
grep -q "^event: heartbeat$" "$TMP/sse_h" || fail "no heartbeat: $(cat "$TMP/sse_h")"
grep -q "^data: {\"current_version\":\"$V1\"}$" "$TMP/sse_h" || fail "heartbeat data: $(cat "$TMP/sse_h")"

# NDJSON, as grpc-gateway streams
curl -sN -D "$TMP/hdr" -o "$TMP/nd" --max-time 3 -H 'Accept: application/x-ndjson' "${A[@]}" \
  "$G1$ST?after_version=0" 2>/dev/null || true
grep -qi '^Content-Type: application/x-ndjson' "$TMP/hdr" || fail "NDJSON content type"
python3 - "$TMP/nd" "$TMP/list1" <<'EOF' || fail "NDJSON body: $(head -c 300 "$TMP/nd")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert all(set(l) == {"result"} for l in lines), lines[:2]
got = [l["result"]["change"]["version"] for l in lines if "change" in l["result"]]
want = [v.strip() for v in open(sys.argv[2])]
assert got == want, (got, want)
assert any("heartbeat" in l["result"] for l in lines), "no heartbeat line"
EOF

# Last-Event-ID resumes after it (and wins over after_version)
MID=$(sed -n "$(($(wc -l <"$TMP/list1") / 2))p" "$TMP/list1")
curl -sN -o "$TMP/sse_r" --max-time 3 -H "Last-Event-ID: $MID" "${A[@]}" "$G1$ST?after_version=0" 2>/dev/null || true
awk -v m="$MID" '$1 > m' "$TMP/list1" >"$TMP/want_r"
sse_ids "$TMP/sse_r" | diff "$TMP/want_r" - >/dev/null || fail "Last-Event-ID $MID: $(sse_ids "$TMP/sse_r" | head)"

# filters
curl -sN -o "$TMP/sse_f" --max-time 3 "${A[@]}" "$G1$ST?after_version=0&show_ids=601,999999" 2>/dev/null || true
versions 0 "&show_ids=601,999999" >"$TMP/want_f"
[ -s "$TMP/want_f" ] || fail "no changes of show 601"
sse_ids "$TMP/sse_f" | diff "$TMP/want_f" - >/dev/null || fail "show_ids filter"
others=$(grep '^data: {"version"' "$TMP/sse_f" | grep -vc '"show_id":601' || true)
[ "$others" = 0 ] || fail "$others changes of another show"
curl -sN -o "$TMP/sse_e" --max-time 3 "${A[@]}" "$G1$ST?entity=SHOW" 2>/dev/null || true
versions 0 "&entity=SHOW" >"$TMP/want_e"
sse_ids "$TMP/sse_e" | diff "$TMP/want_e" - >/dev/null || fail "entity filter"

# --- bad input: 400 naming the field before any stream starts -----------------
bad() { # FIELD curl-args...: 400, code 3, message naming FIELD
  local field=$1
  shift
  req 400 "${A[@]}" "$@"; err_ok 3
  grep -q "$field" "$TMP/body" || fail "$*: does not name $field: $(cat "$TMP/body")"
}
bad after_version "$G1$ST?after_version=-1"
bad after_version "$G1$ST?after_version=abc"
bad after_version "$G1$ST?after_version=$((V1 + 1000))"
bad Last-Event-ID -H 'Last-Event-ID: x1' "$G1$ST"
bad Last-Event-ID -H "Last-Event-ID: $((V1 + 1000))" "$G1$ST"
bad show_ids "$G1$ST?show_ids=1,x"
bad show_ids "$G1$ST?show_ids=$(seq -s, 1 101)"
bad entity "$G1$ST?entity=MOVIE"
req 401 "$G1$ST"
# an expired cursor (the log pruned past it): 400 with FAILED_PRECONDITION's code
psql -q "$DATABASE_URL" -c "UPDATE changes_floor SET version = $V1" >/dev/null
req 400 "${A[@]}" "$G1$ST?after_version=1"; err_ok 9
grep -q "list again" "$TMP/body" || fail "expired: $(cat "$TMP/body")"
psql -q "$DATABASE_URL" -c "UPDATE changes_floor SET version = 0" >/dev/null

# --- the response cache follows the version -----------------------------------
[ "$(rating "$G1")" = 7.5 ] || fail "gw1 rating before"
[ "$(rating "$G2")" = 7.5 ] || fail "gw2 rating before"
HIT='tvmaze_gateway_response_cache_total{result="hit"}'
BYPASS='tvmaze_gateway_response_cache_total{result="bypass"}'
h=$(metric "$G2" "$HIT")
[ "$(rating "$G2")" = 7.5 ] || fail "gw2 rating again"
[ "$(metric "$G2" "$HIT")" = $((h + 1)) ] || fail "gw2: the second read was no cache hit"

# the server restarts: the followers are down meanwhile and the cache is bypassed
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
wait_metric "$G2" tvmaze_gateway_follower_up 0
b=$(metric "$G2" "$BYPASS")
req 503 "${A[@]}" "$G2/api/v1/tv_shows/601" # not the cached body: every read goes upstream
[ "$(metric "$G2" "$BYPASS")" = $((b + 1)) ] || fail "gw2: no bypass while the follower is down"
start_server "$GP"
SERVER_PID=${PIDS[-1]}
wait_metric "$G1" tvmaze_gateway_follower_up 1
wait_metric "$G2" tvmaze_gateway_follower_up 1
[ "$(metric "$G2" tvmaze_gateway_follower_reconnects_total)" -ge 1 ] || fail "gw2: no reconnect counted"

# 200 SSE clients follow the next run (and the stream from before the restart goes on)
rm -f "$TMP/until"
python3 "$S/tests/integration/sse_client.py" many "$G1$ST?after_version=$V1" --clients 200 \
  --until-file "$TMP/until" --out "$TMP/many.json" >"$TMP/many.log" 2>&1 &
MANY=$!
PIDS+=("$MANY")
wait_metric "$G1" tvmaze_gateway_sse_streams 201
curl -s -o /dev/null -X POST -d '{"set": "changed"}' "$FAKE/_control"
run_ingest 2030-01-01 3
# at once, on both gateways: the new rating (gw2's entry was filled at the old version)
[ "$(rating "$G2")" = 8.0 ] || fail "gw2 served a stale rating after the run"
[ "$(rating "$G1")" = 8.0 ] || fail "gw1 served a stale rating after the run"
V2=$(current)
[ "$V2" -gt "$V1" ] || fail "the second run changed nothing"
echo "$V2" >"$TMP/until.tmp" && mv "$TMP/until.tmp" "$TMP/until"
wait "$MANY" || fail "200 clients: $(cat "$TMP/many.log")"
python3 - "$TMP/many.json" "$V1" "$V2" <<'EOF' || fail "200 clients did not get the run's changes"
import json, sys
ids = json.load(open(sys.argv[1]))["ids"]
assert len(ids) == 200 and ids[0] and ids[0][-1] == int(sys.argv[3]) and ids[0][0] > int(sys.argv[2]), ids[0]
EOF
versions "$V1" | python3 -c 'import json,sys; want=[int(l) for l in sys.stdin]; got=json.load(open(sys.argv[1]))["ids"][0]; assert got == want, (got, want)' "$TMP/many.json" ||
  fail "200 clients' ids != ListChanges"
wait_grep "$TMP/sse_all" "id: $V2"
versions 0 >"$TMP/list2"
sse_ids "$TMP/sse_all" | diff "$TMP/list2" - >/dev/null || fail "the stream across the restart lost or repeated a change"

# --- a client that does not read is cut off; it resumes with Last-Event-ID ----
rm -f "$TMP/go"
python3 "$S/tests/integration/sse_client.py" slow 127.0.0.1 "$H2" "$ST?after_version=$V2" \
  --go "$TMP/go" >"$TMP/slow.json" 2>"$TMP/slow.log" &
SLOW=$!
PIDS+=("$SLOW")
wait_metric "$G2" tvmaze_gateway_sse_streams 1
run_ingest 2031-01-01 1
V3=$(current)
wait_metric "$G2" tvmaze_gateway_sse_cut_total 1
touch "$TMP/go"
wait "$SLOW" || fail "slow client: $(cat "$TMP/slow.log")"
LAST=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ended"], d; print(d["last_id"] or sys.argv[2])' "$TMP/slow.json" "$V2") ||
  fail "the slow client's stream was not ended: $(cat "$TMP/slow.json")"
[ "$LAST" -lt "$V3" ] || fail "the slow client got everything ($LAST of $V3): not cut"
curl -sN -o "$TMP/sse_s" --max-time 5 -H "Last-Event-ID: $LAST" "${A[@]}" "$G2$ST" 2>/dev/null || true
versions "$LAST" >"$TMP/want_s"
sse_ids "$TMP/sse_s" | diff "$TMP/want_s" - >/dev/null || fail "resume after the cut: $(sse_ids "$TMP/sse_s" | wc -l) of $(wc -l <"$TMP/want_s")"

# --- SIGTERM with open streams: exits 0 without waiting for them -------------
curl -sN -o /dev/null "${A[@]}" "$G1$ST?after_version=$V3" 2>/dev/null &
PIDS+=($!)
wait_metric "$G1" tvmaze_gateway_sse_streams 2
kill -TERM "$GW1_PID"
for _ in $(seq 200); do kill -0 "$GW1_PID" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$GW1_PID" 2>/dev/null || fail "gw1 still running 20 s after SIGTERM with open streams"
rc=0; wait "$GW1_PID" || rc=$?
[ "$rc" = 0 ] || fail "gw1 exit $rc after SIGTERM"
echo "test_gateway_changes: OK"
