#!/usr/bin/env bash
# Changes/WatchChanges end to end against tvmaze-server (the hub,
# server/services/changes_hub.c), with independent clients (python3-grpcio
# with message classes from proto/, buf curl) and our CLI:
#   1. a watch from 0 gets the catch-up of a first run, then every change of
#      a second run (the fake's "feed" set) live, each once, in version
#      order, exactly what ListChanges lists; filtered watches (entity,
#      show_ids) get exactly the filtered list; heartbeats come while idle
#      (TVMAZE_CHANGES_HEARTBEAT_SECONDS=1) with the current version
#   2. list-then-watch: a watch from a ListShows reply's version sees the
#      changes after it and none before
#   3. bad input: negative, above current and expired after_version, 101
#      show_ids, an unknown entity
#   4. a second replica on the same database serves the same versions
#   5. `tvmaze changes watch` resumes by itself after the server restarts
#      (UNAVAILABLE) and exits 0 on SIGINT
#   6. a burst of 20,000 changes: all of them, in order, to a reader that
#      keeps up; RESOURCE_EXHAUSTED for one that does not read
#   7. SIGTERM with 200 open streams: every stream ends UNAVAILABLE (the
#      drain's own end, not the cancel after the grace period) and the
#      server exits 0 (the time it took is printed, not asserted)
set -euo pipefail
: "${TVMAZE_TEST_SERVICES_DIR:?TVMAZE_TEST_SERVICES_DIR must be set}"
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"

PY=/usr/bin/python3 # Debian's, with python3-grpcio
"$PY" -c 'import grpc, google.protobuf' 2>/dev/null || fail "python3-grpcio/protobuf missing for $PY"
WATCH="$S/tests/integration/changes_watch_client.py"
CLI="$B/client/tvmaze"
BUF=${TVMAZE_BUF:-$S/tools/node_modules/.bin/buf}

unset REDIS_URL
fresh_db changes_watch_test
"$PY" "$S/tests/fake_tvmaze/fake_tvmaze.py" --fixtures "$S/tests/fake_tvmaze/fixtures" \
  --port-file "$TMP/fake.port" 2>/dev/null &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$TMP/fake.port" ] && break; sleep 0.1; done
[ -s "$TMP/fake.port" ] || fail "fake TVMaze did not start"
FAKE="http://127.0.0.1:$(cat "$TMP/fake.port")"
export TVMAZE_API_URL=$FAKE TVMAZE_CHANGES_HEARTBEAT_SECONDS=1 TVMAZE_GRACE_MS=5000

GP=$(port)
T=127.0.0.1:$GP
boot() { # boot LOGNAME: start a server on $GP and wait for it
  start_server "$GP" "$1"
  SERVER_PID=${PIDS[-1]}
  wait_started "$1" "$SERVER_PID"
}
boot server
cli() { "$CLI" --target "$T" "$@"; }
ingest() { cli ingest start --start-date 2030-01-01 --days 3 --wait >/dev/null || fail "ingest"; }
# versions FILE: the versions of the change lines of a watcher's output
versions() { "$PY" -c '
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        m = json.loads(line)
        if "change" in m: print(m["change"]["version"])' "$1"; }
# listed [ARGS]: the versions ListChanges gives (every page)
listed() { cli --json changes list --all --limit 1000 "$@" | "$PY" -c '
import json, sys
for line in sys.stdin:
    for c in json.loads(line).get("changes", []): print(c["version"])'; }
# wait_count FILE N: until FILE holds N change lines (60 s at most)
wait_count() {
  for _ in $(seq 600); do
    [ "$(versions "$1" | wc -l)" -ge "$2" ] && return 0
    sleep 0.1
  done
  fail "$1 has $(versions "$1" | wc -l) changes, want $2"
}
watch_bg() { # watch_bg OUT ARGS...: a python watcher in the background
  local out=$1
  shift
  "$PY" "$WATCH" "$T" "$S/proto" "$@" >"$TMP/$out" 2>"$TMP/$out.log" &
  PIDS+=($!)
}

# 1. catch-up, then live; filters; heartbeats
ingest
listed >"$TMP/first"
N1=$(wc -l <"$TMP/first")
[ "$N1" -gt 10 ] || fail "the first run made $N1 changes"
V1=$(tail -1 "$TMP/first")
watch_bg all.out --after 0
watch_bg episodes.out --after "$V1" --entity EPISODE
SHOW=$(psql -qtA "$DATABASE_URL" -c "SELECT show_id FROM episodes ORDER BY id LIMIT 1")
watch_bg show.out --after "$V1" --show-ids "$SHOW,999999"
"$CLI" --target "$T" --json changes watch --after "$V1" >"$TMP/cli.out" 2>"$TMP/cli.log" &
CLI_PID=$!
PIDS+=("$CLI_PID")
"$BUF" curl --protocol grpc --http2-prior-knowledge -H "$KEY_HDR" -d "{\"after_version\":\"$V1\"}" \
  "http://$T/tvmaze.v1.Changes/WatchChanges" >"$TMP/buf.out" 2>"$TMP/buf.log" &
PIDS+=($!)
wait_count "$TMP/all.out" "$N1"
for _ in $(seq 100); do grep -q '"heartbeat"' "$TMP/episodes.out" && break; sleep 0.1; done
grep -q "\"heartbeat\": {\"current_version\": \"$V1\"}" "$TMP/episodes.out" ||
  fail "no heartbeat with the current version: $(head -3 "$TMP/episodes.out")"
curl -s -X POST -d '{"set": "feed"}' "$FAKE/_control" >/dev/null
ingest
listed >"$TMP/both"
listed --after "$V1" >"$TMP/second"
N2=$(wc -l <"$TMP/second")
[ "$N2" -gt 3 ] || fail "the feed run made $N2 changes"
wait_count "$TMP/all.out" $((N1 + N2))
versions "$TMP/all.out" | diff - "$TMP/both" >/dev/null || fail "watch from 0 != ListChanges"
listed --after "$V1" --entity EPISODE >"$TMP/second.ep"
wait_count "$TMP/episodes.out" "$(wc -l <"$TMP/second.ep")"
versions "$TMP/episodes.out" | diff - "$TMP/second.ep" >/dev/null || fail "entity filter"
listed --after "$V1" --show-ids "$SHOW,999999" >"$TMP/second.show"
[ -s "$TMP/second.show" ] || fail "show $SHOW did not change in the feed run"
wait_count "$TMP/show.out" "$(wc -l <"$TMP/second.show")"
versions "$TMP/show.out" | diff - "$TMP/second.show" >/dev/null || fail "show_ids filter"
for _ in $(seq 300); do [ "$(wc -l <"$TMP/cli.out")" -ge "$N2" ] && break; sleep 0.1; done
"$PY" -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)["version"])' "$TMP/cli.out" |
  diff - "$TMP/second" >/dev/null || fail "tvmaze changes watch --json != ListChanges"
for _ in $(seq 300); do
  [ "$(grep -c '"version"' "$TMP/buf.out" || true)" -ge "$N2" ] && break
  sleep 0.1
done
[ "$(grep -c '"change"' "$TMP/buf.out")" = "$N2" ] || fail "buf curl got $(grep -c '"change"' "$TMP/buf.out") changes, want $N2"
echo "ok: catch-up + live ($N1 + $N2 changes), filters, heartbeats, CLI, buf curl"

# 2. list-then-watch from a reply's version: nothing before it, everything after
LV=$(cli --json shows list --date-from 2030-01-01 --date-to 2030-01-03 | "$PY" -c '
import json, sys; print(json.load(sys.stdin)["version"])')
[ "$LV" = "$(tail -1 "$TMP/both")" ] || fail "ListShows version $LV is not the last change's"
watch_bg after_list.out --after "$LV"
for _ in $(seq 100); do grep -q '"heartbeat"' "$TMP/after_list.out" && break; sleep 0.1; done
[ "$(versions "$TMP/after_list.out" | wc -l)" = 0 ] || fail "a watch from the listing's version got old changes"
curl -s -X POST -d '{"set": "base"}' "$FAKE/_control" >/dev/null
ingest
listed --after "$LV" >"$TMP/third"
wait_count "$TMP/after_list.out" "$(wc -l <"$TMP/third")"
versions "$TMP/after_list.out" | diff - "$TMP/third" >/dev/null || fail "list-then-watch"
echo "ok: list-then-watch"

# 3. bad input
bad() { # bad WANT_CODE TEXT ARGS...
  local want=$1 text=$2
  shift 2
  "$PY" "$WATCH" "$T" "$S/proto" "$@" >"$TMP/bad.out" 2>&1 || true
  grep -q "^END $want .*$text" "$TMP/bad.out" || fail "$* -> $(cat "$TMP/bad.out"), want $want $text"
}
CUR=$(tail -1 "$TMP/third")
bad INVALID_ARGUMENT after_version --after -1
bad INVALID_ARGUMENT after_version --after $((CUR + 1))
bad INVALID_ARGUMENT show_ids --show-ids "$(seq -s, 1 101)"
bad INVALID_ARGUMENT show_ids --show-ids 0
rc=0
"$BUF" curl --protocol grpc --http2-prior-knowledge -H "$KEY_HDR" -d '{"entity":7}' \
  "http://$T/tvmaze.v1.Changes/WatchChanges" >"$TMP/bad.out" 2>&1 || rc=$?
if [ "$rc" = 0 ] || ! grep -q "entity" "$TMP/bad.out"; then fail "entity 7: $(cat "$TMP/bad.out")"; fi
psql -q "$DATABASE_URL" -c "UPDATE changes_floor SET version = $V1" >/dev/null
bad FAILED_PRECONDITION "list again" --after 0
psql -q "$DATABASE_URL" -c "UPDATE changes_floor SET version = 0" >/dev/null
echo "ok: bad input"

# 4. a second replica gives the same versions
GP2=$(port)
start_server "$GP2" server2
wait_started server2 "${PIDS[-1]}"
"$CLI" --target "127.0.0.1:$GP2" --json changes list --all --limit 1000 | "$PY" -c '
import json, sys
for line in sys.stdin:
    for c in json.loads(line).get("changes", []): print(c["version"])' |
  diff - <(listed) >/dev/null || fail "the second replica lists other versions"
kill "${PIDS[-1]}"
echo "ok: two replicas, same versions"

# 5. the CLI resumes after the server restarts, then exits 0 on SIGINT
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "server exit status $? after SIGTERM"
boot server_again
for _ in $(seq 300); do grep -q "resuming after version" "$TMP/cli.log" && break; sleep 0.1; done
grep -q "UNAVAILABLE.*resuming after version $CUR" "$TMP/cli.log" ||
  fail "the CLI did not say it resumes: $(cat "$TMP/cli.log")"
curl -s -X POST -d '{"set": "feed"}' "$FAKE/_control" >/dev/null
ingest
listed --after "$V1" >"$TMP/all_after_v1"
for _ in $(seq 300); do
  [ "$(wc -l <"$TMP/cli.out")" -ge "$(wc -l <"$TMP/all_after_v1")" ] && break
  sleep 0.1
done
"$PY" -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)["version"])' "$TMP/cli.out" |
  diff - "$TMP/all_after_v1" >/dev/null || fail "the CLI lost or repeated changes across the restart"
kill -INT "$CLI_PID"
for _ in $(seq 100); do kill -0 "$CLI_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$CLI_PID" 2>/dev/null && fail "tvmaze changes watch still runs 10 s after SIGINT"
rc=0
wait "$CLI_PID" || rc=$?
[ "$rc" = 0 ] || fail "tvmaze changes watch exit status $rc after SIGINT"
echo "ok: CLI resumes after UNAVAILABLE, SIGINT exits 0"

# 6. a burst of 20,000 changes in one commit: a reader that keeps up gets
#    all of it (the live read is paced by the queues' room, never overflows
#    them); one that does not read is cut off with RESOURCE_EXHAUSTED
BASE=$(tail -1 "$TMP/all_after_v1")
watch_bg fast.out --after "$BASE" --entity EPISODE
watch_bg stalled.out --after "$BASE" --entity EPISODE --stall 10
for _ in $(seq 100); do grep -q '"heartbeat"' "$TMP/fast.out" && break; sleep 0.1; done
psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "BEGIN" \
  -c "INSERT INTO episodes (id, show_id, name, airdate)
      SELECT 900000 + g, (SELECT min(id) FROM shows), 'Burst ' || g, '2030-01-02'
      FROM generate_series(1, 20000) g" -c "SELECT changes_commit()" -c "COMMIT" >/dev/null ||
  fail "the burst did not commit"
wait_count "$TMP/fast.out" 20000
[ "$(versions "$TMP/fast.out" | sort -u | wc -l)" = 20000 ] || fail "the fast reader got duplicates"
versions "$TMP/fast.out" | diff - <(listed --after "$BASE" --entity EPISODE) >/dev/null ||
  fail "the fast reader's burst != ListChanges"
for _ in $(seq 600); do grep -q '^END' "$TMP/stalled.out" && break; sleep 0.1; done
grep -q '^END RESOURCE_EXHAUSTED .*too slow' "$TMP/stalled.out" ||
  fail "the stalled reader: $(grep -v '^{' "$TMP/stalled.out" | head -3)"
echo "ok: a 20,000-change burst: paced to a fast reader, a stalled one cut off"

# 7. SIGTERM with 200 open streams
"$PY" "$WATCH" "$T" "$S/proto" --after "$(listed | tail -1)" --count 200 \
  >"$TMP/many.out" 2>"$TMP/many.log" &
MANY=$!
PIDS+=("$MANY")
for _ in $(seq 600); do grep -q '^OPEN' "$TMP/many.out" && break; sleep 0.1; done
grep -q '^OPEN 200$' "$TMP/many.out" || fail "200 streams did not open: $(cat "$TMP/many.out" "$TMP/many.log")"
t0=$(date +%s%N)
kill -TERM "$SERVER_PID"
rc=0
wait "$SERVER_PID" || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$rc" = 0 ] || fail "server exit status $rc with 200 open streams"
wait "$MANY" || true
grep -q '^ENDS UNAVAILABLE 200$' "$TMP/many.out" || fail "stream ends: $(cat "$TMP/many.out")"
echo "ok: SIGTERM with 200 streams: exit 0 in $ms ms, all UNAVAILABLE"
echo "PASS test_changes_watch"
