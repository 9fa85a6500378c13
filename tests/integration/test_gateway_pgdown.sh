#!/usr/bin/env bash
# /up and the API while only PostgreSQL is down: the server keeps running,
# /up is 503 (the load balancer takes the replica out), API calls are 503
# UNAVAILABLE JSON; once PostgreSQL is back the same server process recovers
# and /up is 200 again, with no restart. PostgreSQL is restarted at exit
# whatever happens.
set -euo pipefail
: "${TVMAZE_TEST_SERVICES_DIR:?TVMAZE_TEST_SERVICES_DIR must be set}"
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"


unset REDIS_URL # no query cache: every listing must reach PostgreSQL
fresh_db gw_pgdown_test
GP=$(port); HP=$(port); G=http://127.0.0.1:$HP
A=(-u admin:s3cret)
start_server "$GP"
SERVER_PID=${PIDS[-1]}
start_gateway "$HP" "$GP" gw TVMAZE_RATE_IP_LIMIT=100000 TVMAZE_RESPONSE_CACHE_TTL=0
wait_status 200 "$G/up"
req 200 "${A[@]}" "$G/api/v1/tv_shows?date_from=2025-06-16&date_to=2025-06-29"; json_ok

stop_pg
wait_status 503 "$G/up" # at the next health probe (every 1 s)
req 503 "$G/up"; json_ok
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["status"]=="unavailable" and d["upstream"]=="NOT_SERVING", d' "$TMP/body" ||
  fail "/up body while PostgreSQL is down: $(cat "$TMP/body")"
hdr "Cache-Control: no-store"
req 503 "${A[@]}" "$G/api/v1/tv_shows?date_from=2025-06-16&date_to=2025-06-29"; err_ok 14
req 503 "${A[@]}" "$G/api/v1/analytics/monthly_trends"; err_ok 14
# the gateway and the server themselves stay up
req 200 "$G/metrics"
kill -0 "$SERVER_PID" || fail "server exited while PostgreSQL was down"

restore_pg
wait_status 200 "$G/up"
req 200 "$G/up"; grep -q '"status":"ok"' "$TMP/body" || fail "/up body after recovery"
req 200 "${A[@]}" "$G/api/v1/tv_shows?date_from=2025-06-16&date_to=2025-06-29"; json_ok
req 200 "${A[@]}" "$G/api/v1/analytics/monthly_trends"; json_ok
kill -0 "$SERVER_PID" || fail "server is not the same process"
echo "PASS test_gateway_pgdown"
