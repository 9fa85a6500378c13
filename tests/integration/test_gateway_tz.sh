#!/usr/bin/env bash
# tz on the listings (issue 16, API.md "Time zones") end to end: a real
# tvmaze-server on tests/fixtures/query_fixture.sql plus an episode every
# 5 hours around America/Los_Angeles' DST start (2030-03-10), read through a
# tvmaze-gateway (REST), buf curl (gRPC) and the CLI:
#   - REST /api/v1/episodes and /api/v1/tv_shows with tz=America/Los_Angeles,
#     Pacific/Auckland, Asia/Tokyo: exactly the episodes whose airstamp falls
#     on a window date in the zone, in order, with local_airdate /
#     local_airtime, against expectations python3's zoneinfo computes here
#     from the airstamps of a plain (wide) listing; none without airstamp;
#     the same URL twice (the response cache) and another zone: each its own
#     answer; tz= (empty) is the plain listing;
#   - gRPC (buf curl): the same local fields; a bad tz is INVALID_ARGUMENT
#     (exit 24) with a google.rpc.BadRequest violation of field tz;
#   - REST bad tz: 200 characters, ../../etc/passwd, UTC+25, an unknown
#     zone, non-ASCII, a quote: 400 naming tz (BadRequest details), beside
#     another bad field;
#   - CLI: --tz shows LOCAL DATE / LOCAL TIME; a bad zone exits 1 naming tz.
set -euo pipefail
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"

unset REDIS_URL
fresh_db gw_tz_test
psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -f "$S/tests/fixtures/query_fixture.sql" >/dev/null ||
  fail "fixture"
psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" >/dev/null <<'SQL' || fail "tz episodes"
INSERT INTO episodes (id, show_id, name, season, number, type, airdate, airtime, airstamp, runtime)
SELECT 7000 + g, 101 + g % 3, 'dst ' || g, 5, g, 'regular',
       (t AT TIME ZONE 'America/New_York')::date, to_char(t AT TIME ZONE 'America/New_York', 'HH24:MI'),
       t, 30
FROM generate_series(0, 30) g,
     LATERAL (SELECT TIMESTAMPTZ '2030-03-08 00:30:00+00' + g * INTERVAL '5 hours' AS t) x;
INSERT INTO episodes (id, show_id, name, type, airdate, airstamp)
VALUES (7100, 101, 'no stamp', 'regular', '2030-03-09', NULL);
SQL
A=(-u admin:s3cret)
BUF="${TVMAZE_BUF:-$S/tools/node_modules/.bin/buf}"

GP=$(port)
start_server "$GP"
wait_started server "${PIDS[-1]}"
HP=$(port)
start_gateway "$HP" "$GP" gw TVMAZE_RATE_IP_LIMIT=100000
G=http://127.0.0.1:$HP

# all PATH: every page of a REST listing (per_page 100) as one JSON list of
# its "episodes" (or "shows") into FILE
all() {
  local path=$1 key=$2 out=$3 page=1
  : >"$TMP/pages"
  while :; do
    req 200 "${A[@]}" "$G$path&per_page=100&page=$page"
    cat "$TMP/body" >>"$TMP/pages"
    echo >>"$TMP/pages"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if len(d[sys.argv[2]]) == 100 else 1)' \
      "$TMP/body" "$key" || break
    page=$((page + 1))
  done
  python3 -c '
import json, sys
out = []
for line in open(sys.argv[1]):
    if line.strip():
        out += json.loads(line)[sys.argv[2]]
json.dump(out, open(sys.argv[3], "w"))' "$TMP/pages" "$key" "$out"
}

# 1. REST: tz windows against zoneinfo over the plain listing's airstamps.
all "/api/v1/episodes?date_from=2030-02-01&date_to=2030-05-31" episodes "$TMP/plain.json"
# expect ZONE FROM TO: the tz listings (episodes and shows) equal what
# zoneinfo says of the plain listing's airstamps
expect() {
  all "/api/v1/episodes?date_from=$2&date_to=$3&tz=$1" episodes "$TMP/tz.json"
  all "/api/v1/tv_shows?date_from=$2&date_to=$3&tz=$1" shows "$TMP/tzshows.json"
  python3 - "$1" "$2" "$3" "$TMP/plain.json" "$TMP/tz.json" "$TMP/tzshows.json" <<'PY' ||
import json, sys
from datetime import datetime
from zoneinfo import ZoneInfo
zone, lo, hi = sys.argv[1], sys.argv[2], sys.argv[3]
plain, got, shows = (json.load(open(p)) for p in sys.argv[4:7])
z = ZoneInfo(zone)
want = []
for e in plain:
    if "airstamp" not in e:
        continue
    t = datetime.fromisoformat(e["airstamp"].replace("Z", "+00:00"))
    loc = t.astimezone(z)
    d = loc.strftime("%Y-%m-%d")
    if lo <= d <= hi:
        want.append((t, e["id"], e["show_id"], d, loc.strftime("%H:%M")))
want.sort()
assert want, "empty window: the test would prove nothing"
utc = sorted((t, i) for t, i, *_ in want)
by_utc = [e["id"] for e in plain if "airstamp" in e and lo <= e["airstamp"][:10] <= hi]
assert sorted(by_utc) != sorted(i for _, i in utc), "zone %s does not move the window" % zone
assert [e["id"] for e in got] == [w[1] for w in want], ([e["id"] for e in got], want)
for e, w in zip(got, want):
    assert e["local_airdate"] == w[3] and e["local_airtime"] == w[4], (e, w)
first = {}
for t, i, sid, d, hm in want:
    first.setdefault(sid, (t, sid))
order = [sid for _, sid in sorted(first.values())]
assert [s["id"] for s in shows] == order, ([s["id"] for s in shows], order)
for s in shows:
    mine = [w for w in want if w[2] == s["id"]]
    assert [e["id"] for e in s["episodes"]] == [w[1] for w in mine], (s["id"], mine)
    assert [e["local_airdate"] for e in s["episodes"]] == [w[3] for w in mine]
print("ok:", zone, lo, hi, len(want), "episodes,", len(order), "shows")
PY
    fail "tz $1 $2..$3"
}
expect America/Los_Angeles 2030-03-09 2030-03-10
expect Pacific/Auckland 2030-03-09 2030-03-10
expect Asia/Tokyo 2030-02-28 2030-03-02
# the no-airstamp episode is in the plain window of its day, in no tz window
req 200 "${A[@]}" "$G/api/v1/episodes?date_from=2030-03-09&date_to=2030-03-09&per_page=100"
grep -q '"id":7100' "$TMP/body" || fail "7100 missing from the plain window"
! grep -q '"local_airdate"' "$TMP/body" || fail "local fields without tz"
cp "$TMP/body" "$TMP/plain_day"
req 200 "${A[@]}" "$G/api/v1/episodes?date_from=2030-03-09&date_to=2030-03-09&per_page=100&tz="
cmp -s "$TMP/body" "$TMP/plain_day" || fail "tz= is not the plain listing"
for z in America/Los_Angeles America/Los_Angeles Asia/Tokyo; do # twice: the cached copy
  req 200 "${A[@]}" "$G/api/v1/episodes?date_from=2030-03-09&date_to=2030-03-09&per_page=100&tz=$z"
  ! grep -q '"id":7100' "$TMP/body" || fail "no-airstamp episode in the $z window"
  python3 -c 'import json,sys; assert all(e["local_airdate"] == "2030-03-09" for e in json.load(open(sys.argv[1]))["episodes"])' \
    "$TMP/body" || fail "$z: local dates: $(head -c 300 "$TMP/body")"
  cp "$TMP/body" "$TMP/day_${z//\//_}"
done
! cmp -s "$TMP/day_Asia_Tokyo" "$TMP/day_America_Los_Angeles" || fail "two zones, one answer"
echo "ok: REST tz windows"

# 2. gRPC through buf curl.
bufcurl() { timeout 60 "$BUF" curl --protocol grpc --http2-prior-knowledge -H "$KEY_HDR" "$@"; }
bufcurl -d '{"date_from":"2030-02-28","date_to":"2030-03-02","tz":"Asia/Tokyo","per_page":100}' \
  "http://127.0.0.1:$GP/tvmaze.v1.Shows/ListEpisodes" >"$TMP/grpc.json" || fail "buf curl ListEpisodes tz"
all "/api/v1/episodes?date_from=2030-02-28&date_to=2030-03-02&tz=Asia/Tokyo" episodes "$TMP/tz.json"
python3 - "$TMP/grpc.json" "$TMP/tz.json" <<'PY' || fail "gRPC tz reply: $(head -c 400 "$TMP/grpc.json")"
import json, sys
g = json.load(open(sys.argv[1]))["episodes"]
r = json.load(open(sys.argv[2]))
assert [(e["id"], e["localAirdate"], e["localAirtime"]) for e in g] == \
    [(e["id"], e["local_airdate"], e["local_airtime"]) for e in r], (g, r)
assert any(e["id"] == 1041 and e["localAirdate"] == "2030-02-28" for e in g), g
PY
# bad_grpc TZ: INVALID_ARGUMENT with one BadRequest violation, field tz
bad_grpc() {
  local rc=0
  bufcurl -d "$(python3 -c 'import json,sys; print(json.dumps({"tz": sys.argv[1]}))' "$1")" \
    "http://127.0.0.1:$GP/tvmaze.v1.Shows/$2" >/dev/null 2>"$TMP/err" || rc=$?
  [ "$rc" -eq 24 ] || fail "gRPC $2 tz=$1: exit $rc, want 24: $(cat "$TMP/err")"
  grep -q '"message": "tz: ' "$TMP/err" || fail "gRPC tz message: $(cat "$TMP/err")"
  python3 "$(dirname "$0")/bufcurl_violations.py" "$TMP/err" tz || fail "gRPC tz details: $(cat "$TMP/err")"
}
LONG=$(head -c 200 /dev/zero | tr '\0' Z)
for z in "$LONG" ../../etc/passwd UTC+25 Mars/Olympus_Mons; do bad_grpc "$z" ListEpisodes; done
bad_grpc UTC+25 ListShows
echo "ok: gRPC tz"

# 3. REST bad tz: 400 naming tz, never 5xx.
for path in /api/v1/episodes /api/v1/tv_shows; do
  for z in "$LONG" ..%2F..%2Fetc%2Fpasswd ../../etc/passwd UTC%2B25 Mars%2FOlympus_Mons %C3%A9t%C3%A9 'Europe/Berlin%27;--'; do
    req 400 "${A[@]}" "$G$path?tz=$z"
    err_ok 3
    grep -q '"message":"tz: ' "$TMP/body" || grep -q '"message":"tz:' "$TMP/body" ||
      fail "$path tz=$z: $(cat "$TMP/body")"
  done
  req 400 "${A[@]}" "$G$path?tz=UTC%2B25&per_page=0"
  err_fields per_page tz
done
echo "ok: REST bad tz"

# 4. CLI --tz.
CLI=(env TVMAZE_GRPC_TARGET="127.0.0.1:$GP" "$B/client/tvmaze")
"${CLI[@]}" episodes list --date-from 2030-02-28 --date-to 2030-02-28 --tz Asia/Tokyo >"$TMP/cli" 2>&1 ||
  fail "cli --tz: $(cat "$TMP/cli")"
grep -Eq '^ID +SHOW +EPISODE +LOCAL DATE +LOCAL TIME +NAME' "$TMP/cli" || fail "cli header: $(cat "$TMP/cli")"
grep -Eq '^1041 +105 +S1E1 +2030-02-28 +06:00 +E1' "$TMP/cli" || fail "cli 1041: $(cat "$TMP/cli")"
"${CLI[@]}" shows list --date-from 2030-02-28 --date-to 2030-02-28 --tz Asia/Tokyo >"$TMP/cli" 2>&1 ||
  fail "cli shows --tz: $(cat "$TMP/cli")"
grep -Eq '^105 +Epsilon .* 2030-02-28 ' "$TMP/cli" || fail "cli shows: $(cat "$TMP/cli")"
rc=0
"${CLI[@]}" episodes list --tz UTC+25 >"$TMP/cli" 2>&1 || rc=$?
if [ "$rc" -ne 1 ] || ! grep -q 'INVALID_ARGUMENT: tz: ' "$TMP/cli"; then
  fail "cli bad tz: exit $rc: $(cat "$TMP/cli")"
fi
echo "ok: CLI --tz"
