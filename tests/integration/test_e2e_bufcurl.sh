#!/usr/bin/env bash
# test_e2e_bufcurl: Shows and Analytics of the real tvmaze-server through an
# independent gRPC client, buf curl, which resolves every type by server
# reflection (no proto files) and speaks proto3 JSON:
#   - ListShows (March 2030 window of tests/fixtures/query_fixture.sql):
#     shows in order, episodes inside, pagination, wrappers as bare values;
#   - GetShow, ListEpisodes, each Analytics report (a value computed by hand);
#   - status codes via buf curl's exit status (= gRPC code x 8):
#     per_page=0 -> INVALID_ARGUMENT (24), unknown id -> NOT_FOUND (40);
#   - Changes/ListChanges after a change committed as the ingest commits
#     (changes_commit): the record, the versions of ListShows / GetShow /
#     ListEpisodes equal to current_version, bad input (after_version,
#     limit, show_ids, entity: 24; all four at once: one BadRequest violation
#     each, as StartIngest with two bad fields), an expired cursor (FAILED_PRECONDITION:
#     72, for ListChanges and WatchChanges);
#   - PostgreSQL stopped under the running server: Health NOT_SERVING and
#     ListShows UNAVAILABLE (112); started again: SERVING and a correct
#     answer, same server process.
# Needs TVMAZE_TEST_SERVICES_DIR as well (scripts/test.sh).
set -euo pipefail
: "${TVMAZE_TEST_SERVICES_DIR:?run through scripts/test.sh}"
# shellcheck source=tests/integration/e2e_server.sh
. "$(dirname "$0")/e2e_server.sh"
BUF="${TVMAZE_BUF:-$TVMAZE_SOURCE_DIR/tools/node_modules/.bin/buf}"
pg_stopped=0
services() { bash "$TVMAZE_SOURCE_DIR/scripts/services.sh" "$1" "$TVMAZE_TEST_SERVICES_DIR"; }
restore_pg() { if [ "$pg_stopped" -eq 1 ]; then services pg-start || true; fi; e2e_cleanup; }
trap restore_pg EXIT

e2e_start tvmaze_test_e2e_bufcurl
base="http://$target"
bufcurl() { timeout 60 "$BUF" curl --protocol grpc --http2-prior-knowledge -H "$KEY_HDR" "$@"; }
# call METHOD JSON: prints the reply; fails the test on a non-zero exit.
call() { bufcurl -d "$2" "$base/$1" || fail "buf curl $1 $2: exit $?"; }
# violations FILE FIELD...: one BadRequest violation per FIELD, in order
# (bufcurl_violations.py).
violations() { python3 "$(dirname "$0")/bufcurl_violations.py" "$@"; }
# code METHOD JSON: prints buf curl's exit status.
code() {
  local rc=0
  bufcurl -d "$2" "$base/$1" >/dev/null 2>"$work/err" || rc=$?
  echo "$rc"
}
# jq-free JSON checks: python3 evaluates an expression over the reply `r`
# (buf curl prints lowerCamelCase JSON names; keys are mapped back to the
# proto field names first).
check() {
  python3 -c '
import json, re, sys
def snake(v):
    if isinstance(v, dict):
        return {re.sub("([A-Z])", lambda m: "_" + m.group(1).lower(), k): snake(x) for k, x in v.items()}
    if isinstance(v, list):
        return [snake(x) for x in v]
    return v
r = snake(json.load(sys.stdin))
assert eval(sys.argv[1]), sys.argv[1]' "$1" || fail "check $1 on: $2"
}

# 1. ListShows: March 2030 -> 102, 101, 103, 104 by first airing.
out="$(call tvmaze.v1.Shows/ListShows '{"date_from":"2030-03-01","date_to":"2030-03-31"}')"
check '[s["id"] for s in r["shows"]] == [102, 101, 103, 104]' "$out" <<<"$out"
check 'r["pagination"] == {"page": 1, "per_page": 20, "total": 4, "total_pages": 1}' "$out" <<<"$out"
check 'r["shows"][1]["name"] == "Alpha Drama" and r["shows"][1]["rating"] == 8.5' "$out" <<<"$out"
check '[e["id"] for e in r["shows"][1]["episodes"]] == [1001, 1002]' "$out" <<<"$out"
check '"rating" not in r["shows"][2]' "$out" <<<"$out" # 103 has no rating: wrapper absent
check 'r["shows"][1]["distributor"]["country"]["code"] == "US"' "$out" <<<"$out"
out="$(call tvmaze.v1.Shows/ListShows \
  '{"date_from":"2030-03-01","date_to":"2030-03-31","country":"US","per_page":1,"page":2}')"
check '[s["id"] for s in r["shows"]] == [101] and r["pagination"]["total"] == 2' "$out" <<<"$out"
echo "ok: ListShows"

# 2. Errors: exit status = gRPC code x 8.
rc="$(code tvmaze.v1.Shows/ListShows '{"per_page":0}')"
[ "$rc" -eq 24 ] || fail "per_page=0: exit $rc, want 24 (INVALID_ARGUMENT)"
grep -q "per_page" "$work/err" || fail "per_page=0 message: $(cat "$work/err")"
# google.rpc details: buf curl decodes the grpc-status-details-bin trailer
# into its JSON error (detail type + bytes; the BadRequest bytes are read
# here); one violation per bad field
rc="$(code tvmaze.v1.Shows/ListShows '{"per_page":0,"rating":11,"country":"USA"}')"
[ "$rc" -eq 24 ] || fail "three bad fields: exit $rc, want 24"
violations "$work/err" country rating per_page || fail "buf curl details: $(cat "$work/err")"
grep -q "per_page: must be 1..100" "$work/err" || fail "per_page description: $(cat "$work/err")"
# ... and python3-grpcio reads the same trailer (the Status decoded by hand)
/usr/bin/python3 - "$target" "$KEY_HDR" <<'PY' || fail "grpcio details"
import sys, grpc
target, hdr = sys.argv[1], sys.argv[2]
k, v = [x.strip() for x in hdr.split(":", 1)]
def fields(b):  # protobuf wire format: (number, value) of varint and length fields
    i, out = 0, []
    while i < len(b):
        key, i = varint(b, i)
        if key & 7 == 0:
            val, i = varint(b, i)
        else:
            n, i = varint(b, i)
            val, i = b[i:i + n], i + n
        out.append((key >> 3, val))
    return out
def varint(b, i):
    r = s = 0
    while True:
        r |= (b[i] & 0x7f) << s
        s += 7
        i += 1
        if b[i - 1] < 0x80:
            return r, i
ch = grpc.insecure_channel(target)
call = ch.unary_unary("/tvmaze.v1.Analytics/ShowsWithEpisodeStats")
try:  # date_from 2030-13-01 (field 1) and limit 0 (field 3, an Int32Value)
    call(b"\x0a\x0a2030-13-01\x1a\x02\x08\x00", metadata=((k.lower(), v),), timeout=10)
    sys.exit("no error")
except grpc.RpcError as e:
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.code()
    det = dict(e.trailing_metadata()).get("grpc-status-details-bin")
    st = fields(det)
    assert (1, 3) in st and (2, e.details().encode()) in st, st
    anys = [dict(fields(x)) for n, x in st if n == 3]
    assert [a[1] for a in anys] == [b"type.googleapis.com/google.rpc.BadRequest"], anys
    viol = [dict(fields(x)) for n, x in fields(anys[0][2]) if n == 1]
    assert [x[1] for x in viol] == [b"date_from", b"limit"], viol
    print("ok: grpcio decodes BadRequest", viol)
PY
rc="$(code tvmaze.v1.Shows/ListEpisodes '{"date_from":"2030-13-01"}')"
[ "$rc" -eq 24 ] || fail "bad date: exit $rc, want 24"
# a NUL inside a string (protobuf-c would cut it there): INVALID_ARGUMENT naming the field
rc="$(code tvmaze.v1.Shows/ListShows '{"q":"a\u0000b"}')"
[ "$rc" -eq 24 ] || fail "q with a NUL: exit $rc, want 24"
grep -q "q: must not contain a NUL" "$work/err" || fail "q NUL message: $(cat "$work/err")"
# dates past API.md's range: INVALID_ARGUMENT, never INTERNAL
rc="$(code tvmaze.v1.Analytics/MonthlyTrends '{"date_from":"9999-12-31"}')"
[ "$rc" -eq 24 ] || fail "MonthlyTrends 9999-12-31: exit $rc, want 24"
rc="$(code tvmaze.v1.Shows/GetShow '{"id":999}')"
[ "$rc" -eq 40 ] || fail "GetShow 999: exit $rc, want 40 (NOT_FOUND)"
echo "ok: INVALID_ARGUMENT and NOT_FOUND"

# 3. GetShow, ListEpisodes.
out="$(call tvmaze.v1.Shows/GetShow '{"id":101}')"
check 'r["show"]["id"] == 101 and len(r["show"]["episodes"]) == 3' "$out" <<<"$out"
check 'sorted(r["show"]["genres"]) == ["Crime", "Drama"]' "$out" <<<"$out"
out="$(call tvmaze.v1.Shows/ListEpisodes \
  '{"date_from":"2030-03-01","date_to":"2030-03-31","per_page":5}')"
check 'len(r["episodes"]) == 5 and r["pagination"]["total"] == 8' "$out" <<<"$out"
check '[e["id"] for e in r["episodes"]][:2] == [1011, 1012]' "$out" <<<"$out"
echo "ok: GetShow, ListEpisodes"

# 4. Analytics (values by hand from the fixture, see test_query_analytics.c).
out="$(call tvmaze.v1.Analytics/ShowsWithEpisodeStats \
  '{"date_from":"2030-03-01","date_to":"2030-03-31"}')"
check 'r["shows"][0]["show_id"] == 104 and r["shows"][0]["episode_count"] == 3' "$out" <<<"$out"
out="$(call tvmaze.v1.Analytics/TopRatedByGenre '{"genre":"Drama"}')"
check '[s["show_id"] for s in r["genres"][0]["shows"]] == [104, 101, 105]' "$out" <<<"$out"
out="$(call tvmaze.v1.Analytics/NetworkPerformance '{}')"
check 'r["distributors"][0]["distributor"]["name"] == "NBC" and r["distributors"][0]["average_rating"] == 6.83' "$out" <<<"$out"
out="$(call tvmaze.v1.Analytics/MonthlyTrends '{"date_from":"2030-03-01","date_to":"2030-03-31"}')"
check 'r["months"] == [{"month": "2030-03", "episode_count": 8, "show_count": 4, "average_runtime": 46.88}]' "$out" <<<"$out"
out="$(call tvmaze.v1.Analytics/CountryDistribution '{}')"
check '[c.get("country", {}).get("code") for c in r["countries"]] == ["US", "GB", None]' "$out" <<<"$out"
echo "ok: the five Analytics reports"

# 5. Changes: one change committed as the ingest commits it (after the
# version the seeded rows left: their episodes' inserts made records too).
v0="$(psql -XAtc "SELECT generation FROM data_generation" "$url")"
psql -q -v ON_ERROR_STOP=1 "$url" \
  -c "BEGIN; UPDATE shows SET rating = 8.6 WHERE id = 101; SELECT changes_commit(); COMMIT" \
  >/dev/null || fail "cannot commit a change"
out="$(call tvmaze.v1.Changes/ListChanges "{\"after_version\":\"$v0\"}")"
check 'len(r["changes"]) == 1 and r["changes"][0]["id"] == 101' "$out" <<<"$out"
check 'r["changes"][0]["entity"] == "CHANGE_ENTITY_SHOW" and r["changes"][0]["op"] == "CHANGE_OP_UPDATED"' "$out" <<<"$out"
check 'r["changes"][0]["fields"] == ["rating"] and r["changes"][0]["show"]["rating"] == 8.6' "$out" <<<"$out"
check 'r["next_after_version"] == r["current_version"] == r["changes"][0]["version"]' "$out" <<<"$out"
cur="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["currentVersion"])' <<<"$out")"
out="$(call tvmaze.v1.Shows/ListShows '{"date_from":"2030-03-01","date_to":"2030-03-31"}')"
check "r['version'] == '$cur' and r['shows'][1]['rating'] == 8.6" "$out" <<<"$out"
out="$(call tvmaze.v1.Shows/GetShow '{"id":101}')"
check "r['version'] == '$cur'" "$out" <<<"$out"
out="$(call tvmaze.v1.Shows/ListEpisodes '{"date_from":"2030-03-01","date_to":"2030-03-31"}')"
check "r['version'] == '$cur'" "$out" <<<"$out"
out="$(call tvmaze.v1.Changes/ListChanges "{\"after_version\":\"$cur\"}")"
check '"changes" not in r and r["next_after_version"] == r["current_version"]' "$out" <<<"$out"
for bad in '{"after_version":"-1"}:after_version' "{\"after_version\":\"$((cur + 1))\"}:after_version" \
  '{"limit":0}:limit' '{"limit":1001}:limit' '{"show_ids":[0]}:show_ids' '{"entity":7}:entity'; do
  rc="$(code tvmaze.v1.Changes/ListChanges "${bad%:*}")"
  [ "$rc" -eq 24 ] || fail "ListChanges ${bad%:*}: exit $rc, want 24 (INVALID_ARGUMENT)"
  grep -q "${bad##*:}" "$work/err" || fail "ListChanges ${bad%:*} message: $(cat "$work/err")"
done
psql -q -v ON_ERROR_STOP=1 "$url" \
  -c "UPDATE changes SET changed_at = now() - interval '31 days'" -c "SELECT changes_prune(30)" \
  >/dev/null || fail "cannot prune"
# every bad field at once, one violation each
rc="$(code tvmaze.v1.Changes/ListChanges '{"after_version":"-1","limit":0,"show_ids":[0],"entity":7}')"
[ "$rc" -eq 24 ] || fail "ListChanges, four bad fields: exit $rc, want 24"
violations "$work/err" after_version limit show_ids entity || fail "ListChanges details: $(cat "$work/err")"
rc="$(code tvmaze.v1.Ingest/StartIngest '{"start_date":"2030-02-30","days":0}')"
[ "$rc" -eq 24 ] || fail "StartIngest, two bad fields: exit $rc, want 24"
violations "$work/err" start_date days || fail "StartIngest details: $(cat "$work/err")"
rc="$(code tvmaze.v1.Changes/ListChanges '{"after_version":"1"}')"
[ "$rc" -eq 72 ] || fail "expired after_version: exit $rc, want 72 (FAILED_PRECONDITION)"
grep -q "TVMAZE_CHANGES_RETENTION_DAYS" "$work/err" || fail "expired message: $(cat "$work/err")"
rc="$(code tvmaze.v1.Changes/WatchChanges '{}')"
[ "$rc" -eq 72 ] || fail "WatchChanges from an expired version: exit $rc, want 72 (FAILED_PRECONDITION)"
grep -q "list again" "$work/err" || fail "expired WatchChanges message: $(cat "$work/err")"
echo "ok: ListChanges, versions, bad input, expired cursor"

# 6. PostgreSQL stopped under the running server, then started.
health() { bufcurl -d '{}' "$base/grpc.health.v1.Health/Check" 2>/dev/null || true; }
services pg-stop
pg_stopped=1
st=""
for _ in $(seq 1 100); do
  st="$(health)"
  grep -q NOT_SERVING <<<"$st" && break
  sleep 0.2
done
grep -q NOT_SERVING <<<"$st" || fail "health while PostgreSQL is down: $st"
rc="$(code tvmaze.v1.Shows/ListShows '{"date_from":"2030-03-03","date_to":"2030-03-30"}')"
[ "$rc" -eq 112 ] || fail "ListShows while PostgreSQL is down: exit $rc, want 112 (UNAVAILABLE)"
services pg-start
pg_stopped=0
for _ in $(seq 1 100); do
  st="$(health)"
  grep -q '"SERVING"' <<<"$st" && break
  sleep 0.2
done
grep -q '"SERVING"' <<<"$st" || fail "health after PostgreSQL restart: $st"
rc=1
for _ in $(seq 1 50); do
  rc="$(code tvmaze.v1.Shows/ListShows '{"date_from":"2030-03-03","date_to":"2030-03-30"}')"
  [ "$rc" -eq 0 ] && break
  sleep 0.2
done
[ "$rc" -eq 0 ] || fail "ListShows after PostgreSQL restart: exit $rc"
kill -0 "$server_pid" || fail "server died"
echo "ok: NOT_SERVING/UNAVAILABLE while PostgreSQL is down, SERVING after, same server"
