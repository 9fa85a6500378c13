#!/usr/bin/env bash
# What schedule users asked for (issue 16), over the fake TVMaze's base
# fixtures ingested by a real tvmaze-server, read through buf curl (gRPC)
# and a tvmaze-gateway (REST):
#   - fidelity: show 501 (TVMaze runtime null, averageRuntime 50) answers no
#     runtime and average_runtime 50; 502 runtime 45 and no average_runtime;
#     603's genres in TVMaze's order [Drama, Crime], not sorted, in GetShow,
#     ListShows and the change feed; <br> and paragraph ends in summaries are
#     line breaks;
#   - show_ids on ListShows and ListEpisodes: the filtered reply is the
#     unfiltered one restricted to those shows (gRPC, and REST in both list
#     syntaxes, 100 repeated ids included); 101 ids, -1, 1,,2, abc and 0 are
#     INVALID_ARGUMENT / 400 naming show_ids.
set -euo pipefail
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"

unset REDIS_URL
fresh_db gw_schedule_test
A=(-u admin:s3cret)
BUF="${TVMAZE_BUF:-$S/tools/node_modules/.bin/buf}"

AP=$(port)
python3 "$S/tests/fake_tvmaze/fake_tvmaze.py" --fixtures "$S/tests/fake_tvmaze/fixtures" \
  --port "$AP" >"$TMP/fake.log" 2>&1 &
PIDS+=($!)
wait_status 200 "http://127.0.0.1:$AP/_stats"
export TVMAZE_API_URL=http://127.0.0.1:$AP

GP=$(port)
start_server "$GP"
wait_started server "${PIDS[-1]}"
HP=$(port)
start_gateway "$HP" "$GP" gw TVMAZE_RATE_IP_LIMIT=100000
G=http://127.0.0.1:$HP
TVMAZE_GRPC_TARGET=127.0.0.1:$GP "$B/client/tvmaze" ingest start --start-date 2030-01-01 --days 3 \
  --wait >"$TMP/run.log" 2>&1 || fail "ingest run: $(cat "$TMP/run.log")"

# call METHOD JSON: buf curl's reply (proto JSON, lowerCamelCase names)
call() {
  timeout 60 "$BUF" curl --protocol grpc --http2-prior-knowledge -H "$KEY_HDR" -d "$2" \
    "http://127.0.0.1:$GP/tvmaze.v1.$1" || fail "buf curl $1 $2: exit $?"
}
# check EXPR FILE: python3 evaluates EXPR over the JSON document `r` in FILE
check() {
  python3 -c '
import json, sys
r = json.load(open(sys.argv[2]))
assert eval(sys.argv[1]), sys.argv[1]' "$1" "$2" || fail "check $1 on: $(head -c 600 "$2")"
}
# get PATH: REST GET through the gateway; body in $TMP/body
get() { req 200 "${A[@]}" "$G$1"; }

# ---- fidelity ---------------------------------------------------------
call Shows/GetShow '{"id": 501}' >"$TMP/g501"
check '"runtime" not in r["show"] and r["show"]["averageRuntime"] == 50' "$TMP/g501"
check 'r["show"]["summary"] == "Stranger Things & friends\u0027 adventure.\nSecond line \U0001F47E \"quoted\" \u00e9t\u00e9"' "$TMP/g501"
call Shows/GetShow '{"id": 502}' >"$TMP/g502"
check 'r["show"]["runtime"] == 45 and "averageRuntime" not in r["show"]' "$TMP/g502"
check 'r["show"]["summary"].endswith(" ok\nnext paragraph")' "$TMP/g502"
call Shows/GetShow '{"id": 603}' >"$TMP/g603"
check 'r["show"]["genres"] == ["Drama", "Crime"]' "$TMP/g603"
call Shows/ListShows '{"date_from": "2030-01-01", "date_to": "2030-01-03", "per_page": 100}' >"$TMP/ls"
check '{s["id"]: s.get("genres") for s in r["shows"]}[603] == ["Drama", "Crime"]' "$TMP/ls"
check '[s for s in r["shows"] if s["id"] == 501][0].get("runtime") is None' "$TMP/ls"
call Changes/ListChanges '{"show_ids": [603], "entity": "CHANGE_ENTITY_SHOW"}' >"$TMP/ch"
check 'r["changes"][0]["show"]["genres"] == ["Drama", "Crime"]' "$TMP/ch"

get /api/v1/tv_shows/501
check '"runtime" not in r["show"] and r["show"]["average_runtime"] == 50' "$TMP/body"
check '"\n" in r["show"]["summary"]' "$TMP/body"
get /api/v1/tv_shows/603
check 'r["show"]["genres"] == ["Drama", "Crime"]' "$TMP/body"
get "/api/v1/tv_shows?date_from=2030-01-01&date_to=2030-01-03&per_page=100"
check '{s["id"]: s.get("genres") for s in r["shows"]}[603] == ["Drama", "Crime"]' "$TMP/body"
check '[s for s in r["shows"] if s["id"] == 501][0]["average_runtime"] == 50' "$TMP/body"
get "/api/v1/changes?show_ids=603&entity=SHOW"
check 'r["changes"][0]["show"]["genres"] == ["Drama", "Crime"]' "$TMP/body"
get "/api/v1/changes?show_ids=501&entity=SHOW"
check '"runtime" not in r["changes"][0]["show"] and r["changes"][0]["show"]["average_runtime"] == 50' "$TMP/body"

# ---- show_ids ---------------------------------------------------------
W='"date_from": "2030-01-01", "date_to": "2030-01-03", "per_page": 100'
call Shows/ListEpisodes "{$W}" >"$TMP/all_e"
call Shows/ListEpisodes "{$W, \"show_ids\": [603, 501]}" >"$TMP/some_e"
python3 - "$TMP/all_e" "$TMP/some_e" <<'PY' || fail "ListEpisodes show_ids: $(cat "$TMP/some_e")"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
want = [e["id"] for e in a["episodes"] if e["showId"] in (501, 603)]
assert want and len(want) < len(a["episodes"]), want
assert [e["id"] for e in b["episodes"]] == want, b
assert b["pagination"]["total"] == len(want), b["pagination"]
PY
call Shows/ListShows "{$W, \"show_ids\": [603, 501, 999999]}" >"$TMP/some_s"
check 'sorted(s["id"] for s in r["shows"]) == [501, 603]' "$TMP/some_s"
# REST: comma list, repeated parameter, and 100 repeated ids (99 unknown)
get "/api/v1/episodes?date_from=2030-01-01&date_to=2030-01-03&per_page=100&show_ids=501,603"
cp "$TMP/body" "$TMP/rest_comma"
get "/api/v1/episodes?date_from=2030-01-01&date_to=2030-01-03&per_page=100&show_ids=501&show_ids=603"
cmp -s "$TMP/body" "$TMP/rest_comma" || fail "show_ids=1,2 and show_ids=1&show_ids=2 differ"
python3 - "$TMP/all_e" "$TMP/body" <<'PY' || fail "REST show_ids: $(head -c 400 "$TMP/body")"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert [e["id"] for e in b["episodes"]] == [e["id"] for e in a["episodes"] if e["showId"] in (501, 603)]
PY
many=$(python3 -c 'print("&".join("show_ids=%d" % i for i in [603] + list(range(800000, 800099))))')
get "/api/v1/tv_shows?date_from=2030-01-01&date_to=2030-01-03&$many"
check '[s["id"] for s in r["shows"]] == [603]' "$TMP/body"
# bad input: 400 naming show_ids (REST), INVALID_ARGUMENT over gRPC
over=$(python3 -c 'print("&".join("show_ids=%d" % i for i in range(1, 102)))')
for qs in "$over" "show_ids=$(seq -s, 1 101)" "show_ids=-1" "show_ids=1,,2" "show_ids=abc" "show_ids=0"; do
  for route in tv_shows episodes; do
    req 400 "${A[@]}" "$G/api/v1/$route?$qs"
    check 'r["code"] == 3 and "show_ids" in r["message"]' "$TMP/body"
  done
done
for m in ListShows ListEpisodes; do
  for ids in "$(seq -s, 1 101)" "-1" "0"; do
    rc=0
    timeout 60 "$BUF" curl --protocol grpc --http2-prior-knowledge -H "$KEY_HDR" \
      -d "{\"show_ids\": [$ids]}" "http://127.0.0.1:$GP/tvmaze.v1.Shows/$m" >/dev/null 2>"$TMP/err" || rc=$?
    [ "$rc" = 24 ] || fail "$m show_ids [$ids]: exit $rc, want 24 (INVALID_ARGUMENT)"
    grep -q show_ids "$TMP/err" || fail "$m show_ids [$ids]: message does not name show_ids: $(cat "$TMP/err")"
  done
done

echo "ok"
