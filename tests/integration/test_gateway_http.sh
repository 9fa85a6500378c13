#!/usr/bin/env bash
# End-to-end REST tests: curl -> tvmaze-gateway -> tvmaze-server -> PostgreSQL
# and Redis (from TVMAZE_TEST_DATABASE_URL / TVMAZE_TEST_REDIS_URL). Covers
# every route, the error cases, auth (none, wrong, Basic, key, revoked),
# rate limits, ETag/304, /up, metrics and the OpenAPI document.
set -euo pipefail
: "${TVMAZE_TEST_REDIS_URL:?TVMAZE_TEST_REDIS_URL must be set}"
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"

clear_rate_windows
fresh_db gw_http_test
KEY=$("$B/server/tvmaze-server" keys create --name free1 --tier free)
KEY2=$("$B/server/tvmaze-server" keys create --name gone --tier premium)
"$B/server/tvmaze-server" keys revoke gone >/dev/null

# A stand-in TVMaze that answers 404 to everything, so an ingest run fails at
# once (an unreachable one would be retried with backoff for ~20 s).
mkdir "$TMP/empty"
AP=$(port)
python3 -m http.server --bind 127.0.0.1 --directory "$TMP/empty" "$AP" >"$TMP/fake_api.log" 2>&1 &
PIDS+=($!)
export TVMAZE_API_URL=http://127.0.0.1:$AP

GP=$(port); HP=$(port)
start_server "$GP"
SERVER_PID=${PIDS[-1]}
# response cache off: the server-down checks below must reach the server
start_gateway "$HP" "$GP" gw REDIS_URL="$TVMAZE_TEST_REDIS_URL" TVMAZE_RATE_IP_LIMIT=100000 \
  TVMAZE_RESPONSE_CACHE_TTL=0 TVMAZE_INGEST_METRICS_INTERVAL=1
G=http://127.0.0.1:$HP
wait_status 200 "$G/up"

# ingest runs metric: RUNS STATUS... polls /metrics (bounded, ~30 s) until the
# tvmaze_ingest_runs series of the given statuses add up to RUNS
runs_metric_is() {
  local want=$1 got=-1
  shift
  for _ in $(seq 300); do
    curl -s -o "$TMP/metrics" "$G/metrics"
    got=$(awk -v s=" $* " 'match($0, /^tvmaze_ingest_runs\{status="[A-Z]+"\} /) {
            st = substr($0, 28, RLENGTH - 30); if (index(s, " " st " ")) { n += $NF; seen = 1 } }
          END { print seen ? n : -1 }' "$TMP/metrics")
    [ "$got" = "$want" ] && return 0
    sleep 0.1
  done
  fail "tvmaze_ingest_runs{$*} is $got, want $want"
}
runs_metric_is 0 RUNNING SUCCEEDED PARTIAL FAILED
grep -q '^tvmaze_gateway_ingest_runs_up 1$' "$TMP/metrics" || fail "ingest runs up"

A=(-u admin:s3cret)

# /up and security headers
req 200 "$G/up"; json_ok; grep -q '"status":"ok"' "$TMP/body" || fail "/up body"
for h in "Strict-Transport-Security" "Content-Security-Policy: default-src 'none'" \
         "X-Content-Type-Options: nosniff" "X-Frame-Options: DENY" "Referrer-Policy: no-referrer" \
         "X-Request-Id"; do hdr "$h"; done

# every route
W="date_from=2025-06-16&date_to=2025-06-29"
for u in "/api/v1/tv_shows?$W&country=US&per_page=20" "/api/v1/episodes?$W" \
         /api/v1/analytics/shows_with_episode_stats /api/v1/analytics/top_rated_by_genre \
         /api/v1/analytics/network_performance /api/v1/analytics/monthly_trends \
         /api/v1/analytics/country_distribution /api/v1/openapi.json; do
  req 200 "${A[@]}" "$G$u"; json_ok "$u"; hdr ETag; hdr "Cache-Control: private, max-age=300"
done
req 404 "${A[@]}" "$G/api/v1/tv_shows/999999"; err_ok 5
# ingest routes
P=(-X POST -H 'Content-Type: application/json')
req 200 "${A[@]}" "$G/api/v1/ingest/runs"; json_ok
req 404 "${A[@]}" "$G/api/v1/ingest/runs/999999"; err_ok 5
req 400 "${A[@]}" "$G/api/v1/ingest/runs/abc"; err_ok 3
# one google.rpc.BadRequest field violation per bad field, from the server's trailer
req 400 "${A[@]}" "$G/api/v1/tv_shows?per_page=0&rating=11&country=USA"; err_ok 3
err_fields country rating per_page
req 400 "${A[@]}" "$G/api/v1/episodes?date_from=2030-13-01&date_to=x&page=0"; err_ok 3
err_fields date_from date_to page
req 400 "${A[@]}" "${P[@]}" -d '{"days":0}' "$G/api/v1/ingest/runs"; err_ok 3
grep -q days "$TMP/body" || fail "days=0: the message must name days"
req 400 "${A[@]}" "${P[@]}" -d '{"days":366}' "$G/api/v1/ingest/runs"; err_ok 3
req 400 "${A[@]}" "${P[@]}" -d '{"days":"x"}' "$G/api/v1/ingest/runs"; err_ok 3
req 400 "${A[@]}" "${P[@]}" -d '{"start_date":"2025-13-45","days":1}' "$G/api/v1/ingest/runs"; err_ok 3
grep -q start_date "$TMP/body" || fail "bad start_date: the message must name start_date"
# dates outside 1900-01-01..2199-12-31 (issue 19 finding 5): 400 naming the field, never 500
req 400 "${A[@]}" "${P[@]}" -d '{"start_date":"9999-12-31","days":2}' "$G/api/v1/ingest/runs"; err_ok 3
grep -q start_date "$TMP/body" || fail "start_date 9999: the message must name start_date"
req 400 "${A[@]}" "${P[@]}" -d '{"start_date":"2199-12-30","days":5}' "$G/api/v1/ingest/runs"; err_ok 3
grep -q '"days:' "$TMP/body" || fail "start_date + days past 2199: the message must name days"
for u in "/api/v1/tv_shows?date_from=9999-12-31" "/api/v1/episodes?date_from=9999-12-31" \
         "/api/v1/analytics/shows_with_episode_stats?date_from=9999-12-31" \
         "/api/v1/analytics/monthly_trends?date_from=1899-12-31"; do
  req 400 "${A[@]}" "$G$u"; err_ok 3; grep -q date_from "$TMP/body" || fail "$u: name date_from"
done
req 400 "${A[@]}" "$G/api/v1/tv_shows?date_from=2199-12-01&date_to=2200-01-01"; err_ok 3
grep -q date_to "$TMP/body" || fail "date_to 2200: name date_to"
# a run against the 404 stand-in TVMaze
req 202 "${A[@]}" "${P[@]}" -d '{"start_date":"2025-06-16","days":1}' "$G/api/v1/ingest/runs"
json_ok; hdr "Location: /api/v1/ingest/runs/"
LOC=$(hval Location)
RUN_ID=${LOC##*/}
run_is() { # FILE: the run in FILE is RUN_ID for 2025-06-16, 1 day
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["run"]
assert r["id"]==sys.argv[2] and r["start_date"]=="2025-06-16" and r["days"]==1, r
assert r["status"].startswith("RUN_STATUS_") and r["status"]!="RUN_STATUS_UNSPECIFIED", r
assert "started_at" in r, r' "$1" "$RUN_ID" || fail "run body: $(head -c 400 "$1")"
}
run_is "$TMP/body"
req 200 "${A[@]}" "$G$LOC"; run_is "$TMP/body"
# a run changes while it goes: never cached (issue 19 finding 10)
hdr "Cache-Control: no-store"; ! grep -qi '^ETag' "$TMP/hdr" || fail "run: no ETag"
# it fails at once: poll (bounded, 60 s) until it is no longer running
done_=0
for _ in $(seq 600); do
  curl -s -o "$TMP/run" "${A[@]}" "$G$LOC"
  grep -q RUN_STATUS_RUNNING "$TMP/run" || { done_=1; break; }
  sleep 0.1
done
[ "$done_" = 1 ] || fail "the run against a 404 TVMaze never finished"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["run"]
assert r["status"] in ("RUN_STATUS_FAILED","RUN_STATUS_PARTIAL"), r
assert "finished_at" in r, r' "$TMP/run" || fail "finished run: $(head -c 400 "$TMP/run")"
req 200 "${A[@]}" "$G/api/v1/ingest/runs?page=1&per_page=5"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
assert d["runs"][0]["id"]==sys.argv[2], d
assert d["pagination"]["page"]==1 and d["pagination"]["per_page"]==5 and int(d["pagination"]["total"])>=1, d' \
  "$TMP/body" "$RUN_ID" || fail "run list: $(head -c 400 "$TMP/body")"
hdr "Cache-Control: no-store"
req 400 "${A[@]}" "$G/api/v1/ingest/runs?per_page=0"; err_ok 3
# the finished run shows in /metrics (counted by the server, polled every 1 s)
runs_metric_is 1 FAILED PARTIAL
runs_metric_is 0 RUNNING SUCCEEDED

# errors
req 404 "${A[@]}" "$G/api/v1/nothing"; err_ok 5
req 405 "${A[@]}" -X DELETE "$G/api/v1/tv_shows"; err_ok 12; hdr "Allow: GET"
req 400 "${A[@]}" "$G/api/v1/tv_shows?rating=abc"; err_ok 3; grep -q rating "$TMP/body" || fail "rating named"
req 400 "${A[@]}" "$G/api/v1/tv_shows?per_page=0"; err_ok 3
req 400 "${A[@]}" "$G/api/v1/tv_shows?bogus=1"; err_ok 3
req 400 "${A[@]}" "$G/api/v1/tv_shows/abc"; err_ok 3
req 400 "${A[@]}" "${P[@]}" -d '{"days":' "$G/api/v1/ingest/runs"; err_ok 3
req 414 "${A[@]}" "$G/api/v1/tv_shows?q=$(head -c 9000 /dev/zero | tr '\0' a)"; err_ok 3
head -c 70000 /dev/zero | tr '\0' ' ' >"$TMP/big"
req 413 "${A[@]}" -X POST --data-binary @"$TMP/big" "$G/api/v1/ingest/runs"
req 400 "${A[@]}" "$G/api/v1/tv_shows?q=$(head -c 8000 /dev/zero | tr '\0' b)"; err_ok 3
# 10 KiB in q: over the URL limit, 4xx JSON whatever the characters
req 414 "${A[@]}" "$G/api/v1/tv_shows?q=$(head -c 10240 /dev/zero | tr '\0' c)"; err_ok 3
req 414 "${A[@]}" --get --data-urlencode "q=$(head -c 10240 /dev/zero | tr '\0' "'")" "$G/api/v1/tv_shows"; err_ok 3
req 414 "${A[@]}" --get --data-urlencode "q=$(python3 -c 'print("é%_"*2100, end="")')" "$G/api/v1/episodes"; err_ok 3
req 200 "${A[@]}" --get --data-urlencode "q=x'; DROP TABLE shows;--" "$G/api/v1/tv_shows"; json_ok

# auth
req 401 "$G/api/v1/tv_shows"; err_ok 16; hdr "WWW-Authenticate"
req 401 -u admin:wrong "$G/api/v1/tv_shows"; err_ok 16
req 401 -H "Authorization: Bearer nope" "$G/api/v1/tv_shows"; err_ok 16
req 401 -H "X-API-Key: $KEY2" "$G/api/v1/tv_shows"; err_ok 16
# The per-key window is a fixed minute (time / 60). The keyed requests from
# here to the 429 below take a few seconds (more under ASan): start them in
# the first half of a minute so they cannot straddle a window boundary.
sec=$((10#$(date +%S)))
if [ "$sec" -gt 30 ]; then sleep $((61 - sec)); fi
req 200 -H "Authorization: Bearer $KEY" "$G/api/v1/tv_shows"; hdr "RateLimit-Limit: 60"
req 200 -H "X-API-Key: $KEY" "$G/api/v1/tv_shows"; hdr "RateLimit-Remaining: 58"

# ETag / 304
req 200 "${A[@]}" "$G/api/v1/analytics/country_distribution"
ET=$(grep -i '^ETag:' "$TMP/hdr" | tr -d '\r' | cut -d' ' -f2)
req 304 "${A[@]}" -H "If-None-Match: $ET" "$G/api/v1/analytics/country_distribution"

# per-key limit (free: 60/min; 2 used above)
for _ in $(seq 58); do curl -s -o /dev/null -H "X-API-Key: $KEY" "$G/api/v1/analytics/country_distribution"; done
req 429 -H "X-API-Key: $KEY" "$G/api/v1/tv_shows"; err_ok 8; hdr "Retry-After"; hdr "RateLimit-Remaining: 0"

# metrics move
req 200 "$G/metrics"
grep -q 'tvmaze_gateway_requests_total{route="/api/v1/tv_shows",method="GET",status="429"} 1' "$TMP/body" || fail "metrics 429"
grep -q 'tvmaze_gateway_rate_limited_total{scope="key"} 1' "$TMP/body" || fail "metrics rate limited"
grep -q 'http_requests_total{route="/api/v1/tv_shows",method="GET",code="429"} 1' "$TMP/body" || fail "http_requests_total 429"
# usage by tier: the free key's 2 + 1 (the 429) on tv_shows, 58 on country_distribution
grep -q 'tvmaze_gateway_api_requests_total{route="/api/v1/tv_shows",tier="free"} 3' "$TMP/body" ||
  fail "api requests by tier (tv_shows): $(grep api_requests_total "$TMP/body")"
grep -q 'tvmaze_gateway_api_requests_total{route="/api/v1/analytics/country_distribution",tier="free"} 58' "$TMP/body" ||
  fail "api requests by tier (country_distribution): $(grep api_requests_total "$TMP/body")"
grep -q 'tvmaze_gateway_api_requests_total{route="/api/v1/tv_shows",tier="operator"}' "$TMP/body" ||
  fail "api requests by tier (operator)"
! grep -q 'tier="premium"' "$TMP/body" || fail "a revoked key was counted"

# OpenAPI: valid and every route described
node -e '
const SP=require(process.argv[1]); const doc=require(process.argv[2]);
const routes=require("fs").readFileSync(0,"utf8").trim().split("\n");
for (const r of routes){const [m,p]=r.split(" "); if(!doc.paths[p]||!doc.paths[p][m.toLowerCase()]){console.error("missing",r);process.exit(1);}}
SP.validate(process.argv[2]).then(()=>process.exit(0),e=>{console.error(e.message);process.exit(1);});
' "$S/tools/node_modules/@apidevtools/swagger-parser" "$S/gateway/openapi.json" < <("$B/gateway/tvmaze-gateway" --routes) || fail openapi

# bad config exits 2
set +e; TVMAZE_HTTP_ADDR=nope "$B/gateway/tvmaze-gateway" 2>/dev/null; rc=$?; set -e
[ "$rc" = 2 ] || fail "bad config exit $rc"
set +e; TVMAZE_RESPONSE_CACHE_TTL=-1 "$B/gateway/tvmaze-gateway" 2>/dev/null; rc=$?; set -e
[ "$rc" = 2 ] || fail "bad TVMAZE_RESPONSE_CACHE_TTL exit $rc"
for bad in TVMAZE_UPSTREAM_WORKERS=0 TVMAZE_UPSTREAM_QUEUE=-1 TVMAZE_HTTP_THREADS=x \
  TVMAZE_INGEST_METRICS_INTERVAL=0; do
  set +e; env "$bad" "$B/gateway/tvmaze-gateway" 2>/dev/null; rc=$?; set -e
  [ "$rc" = 2 ] || fail "bad $bad exit $rc"
done

# /up 503 when the server is down, 200 after
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
wait_status 503 "$G/up" # at the next health probe (every 1 s)
req 503 "$G/up"; json_ok
req 503 "${A[@]}" "$G/api/v1/tv_shows"; err_ok 14
# /metrics still answers; the ingest-run series are left out, marked down
runs_metric_is -1 RUNNING SUCCEEDED PARTIAL FAILED
grep -q '^tvmaze_gateway_ingest_runs_up 0$' "$TMP/metrics" || fail "ingest runs up 0 with the server down"
start_server "$GP"
wait_status 200 "$G/up"
runs_metric_is 1 FAILED PARTIAL
echo "PASS test_gateway_http"
