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
#     INVALID_ARGUMENT / 400 naming show_ids;
#   - gzip: a listing over 1 KiB to a client that accepts gzip is gzipped,
#     and decompresses to exactly the plain reply's bytes, cold and on a warm
#     response-cache hit (served from the cached gzip form); its ETag is the
#     plain one's with -gz, each form 304s on its own ETag only; Vary:
#     Accept-Encoding; q=0 and no header get plain bytes; a small reply and
#     the SSE change stream are never gzipped; an uncached route (openapi)
#     is gzipped on the fly.
set -euo pipefail
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"

unset REDIS_URL
fresh_db gw_schedule_test
A=(-u admin:s3cret)
BUF="${TVMAZE_BUF:-$S/tools/node_modules/.bin/buf}"

start_fake "$S/tests/fake_tvmaze/fixtures"

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

# ---- gzip -------------------------------------------------------------
wait_follower "$G"
L="$G/api/v1/tv_shows?date_from=2030-01-01&date_to=2030-01-03&per_page=100"
GZ=(-H "Accept-Encoding: gzip")
# gunzip_same GZFILE PLAINFILE: GZFILE is a gzip member of exactly PLAINFILE's bytes
gunzip_same() {
  python3 -c 'import gzip,sys; a=gzip.decompress(open(sys.argv[1],"rb").read()); b=open(sys.argv[2],"rb").read(); sys.exit(a != b)' "$1" "$2" ||
    fail "gzip body of $1 does not decompress to $2"
}
req 200 "${A[@]}" "$L"; cp "$TMP/body" "$TMP/plain"
[ -z "$(hval Content-Encoding)" ] || fail "gzip without Accept-Encoding"
[ "$(stat -c %s "$TMP/plain")" -gt 1024 ] || fail "the listing is not over 1 KiB: test data too small"
hval Vary | grep -q "Accept-Encoding" || fail "no Vary: Accept-Encoding: $(hval Vary)"
E1=$(hval ETag)
m0=$(metric "$G" 'tvmaze_gateway_response_cache_total{result="hit"}')
req 200 "${A[@]}" "${GZ[@]}" "$L"; cp "$TMP/body" "$TMP/gz1"
[ "$(hval Content-Encoding)" = gzip ] || fail "listing not gzipped: $(cat "$TMP/hdr")"
E2=$(hval ETag)
[ "$E2" = "${E1%\"}-gz\"" ] || fail "gzip ETag $E2, want $E1 with -gz"
gunzip_same "$TMP/gz1" "$TMP/plain"
[ "$(stat -c %s "$TMP/gz1")" -lt "$(stat -c %s "$TMP/plain")" ] || fail "gzip not smaller"
req 200 "${A[@]}" "${GZ[@]}" "$L"
cmp -s "$TMP/body" "$TMP/gz1" || fail "a warm gzip hit differs from the first gzip reply"
[ "$(hval ETag)" = "$E2" ] || fail "warm gzip ETag $(hval ETag)"
m1=$(metric "$G" 'tvmaze_gateway_response_cache_total{result="hit"}')
[ "$m1" -gt "$m0" ] || fail "gzip replies were not response-cache hits ($m0 -> $m1)"
req 200 "${A[@]}" -H "Accept-Encoding: deflate, gzip;q=0" "$L"
[ -z "$(hval Content-Encoding)" ] || fail "gzip despite q=0"
cmp -s "$TMP/body" "$TMP/plain" || fail "q=0 reply differs from the plain one"
req 200 "${A[@]}" -H "Accept-Encoding: br;q=1.0, *;q=0.5" "$L"
[ "$(hval Content-Encoding)" = gzip ] || fail "* did not accept gzip"
# 304: each form on its own ETag
req 304 "${A[@]}" -H "If-None-Match: $E1" "$L"
req 304 "${A[@]}" "${GZ[@]}" -H "If-None-Match: $E2" "$L"
req 200 "${A[@]}" "${GZ[@]}" -H "If-None-Match: $E1" "$L"
[ "$(hval Content-Encoding)" = gzip ] || fail "200 after a plain ETag not gzipped"
req 200 "${A[@]}" -H "If-None-Match: $E2" "$L"
[ -z "$(hval Content-Encoding)" ] || fail "plain 200 after the gzip ETag gzipped"
# small replies as they are
req 200 "${A[@]}" "${GZ[@]}" "$G/api/v1/tv_shows/602"
[ "$(stat -c %s "$TMP/body")" -le 1024 ] || fail "show 602 over 1 KiB: test data too big"
[ -z "$(hval Content-Encoding)" ] || fail "a small reply gzipped"
json_ok
# the change stream never
curl -sN -D "$TMP/sse_hdr" -o "$TMP/sse" --max-time 2 "${A[@]}" "${GZ[@]}" \
  "$G/api/v1/changes/stream?after_version=0" 2>/dev/null || true
grep -qi '^content-type: text/event-stream' "$TMP/sse_hdr" || fail "no SSE: $(cat "$TMP/sse_hdr")"
! grep -qi '^content-encoding' "$TMP/sse_hdr" || fail "SSE gzipped"
grep -q '^event: change' "$TMP/sse" || fail "SSE body not plain events: $(head -c 200 "$TMP/sse")"
# an uncached route over 1 KiB, gzipped when sent
req 200 "${A[@]}" "$G/api/v1/openapi.json"; cp "$TMP/body" "$TMP/oa"
req 200 "${A[@]}" "${GZ[@]}" "$G/api/v1/openapi.json"
[ "$(hval Content-Encoding)" = gzip ] || fail "openapi not gzipped"
gunzip_same "$TMP/body" "$TMP/oa"

echo "ok"
