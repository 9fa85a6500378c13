#!/usr/bin/env bash
# bench/ingest.sh: ingestion benchmark (not a test).
#
# The anchors' data set (shared/anchors/gen_data.py: 90 days, 35,000 episodes
# of 8,000 shows) converted to TVMaze schedule JSON (bench/csv_to_schedule.py),
# served by tests/fake_tvmaze/fake_tvmaze.py, ingested by tvmaze-server via
# `tvmaze ingest start --wait` with the client-side rate limit lifted:
#   1. first load into an empty database      (episodes/s, fetch + parse included)
#   2. unchanged re-run                        (episodes/s; rows written must be 0)
#   3. the anchors' COPY of the same rows      (shared/anchors/sql/schema.sql + \copy)
# and prints the ratios and the server's peak RSS (VmHWM).
#
# Usage: bench/ingest.sh [BUILD_DIR]   (default: build)
# Env: WORK (default /tmp/ingest-bench), ANCHORS (default /work/shared/anchors)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
WORK="${WORK:-/tmp/ingest-bench}"
ANCHORS="${ANCHORS:-/work/shared/anchors}"
mkdir -p "$WORK"

FAKE_PID="" SERVER_PID=""
cleanup() {
  set +e
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
  "$ROOT/scripts/services.sh" stop "$WORK/svc" >/dev/null 2>&1
  return 0
}
trap cleanup EXIT

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }

if [ ! -f "$WORK/data/MANIFEST.txt" ]; then
  log "generating data"
  python3 "$ANCHORS/gen_data.py" "$WORK/data" >/dev/null
fi
if [ ! -f "$WORK/countries.txt" ]; then
  log "converting CSV to schedule JSON"
  python3 "$ROOT/bench/csv_to_schedule.py" "$WORK/data" "$WORK/schedule" >"$WORK/countries.txt"
fi
COUNTRIES="$(awk '{print $1}' "$WORK/countries.txt" | paste -sd, -)"
EPISODES="$(awk '$1=="rows" && $2=="episodes" {print $3}' "$WORK/data/MANIFEST.txt")"
START="$(awk -F'[ =]' '{print $4}' "$WORK/data/MANIFEST.txt" | head -1)"

log "starting PostgreSQL"
"$ROOT/scripts/services.sh" start "$WORK/svc" >/dev/null
# shellcheck disable=SC1091
. "$WORK/svc/env"
BASE="${DATABASE_URL%/*}"
psql "$BASE/postgres" -qXc "DROP DATABASE IF EXISTS bench_ingest" -c "CREATE DATABASE bench_ingest" \
  -c "DROP DATABASE IF EXISTS bench_copy" -c "CREATE DATABASE bench_copy"
DB="$BASE/bench_ingest"

rm -f "$WORK/fake.port"
python3 "$ROOT/tests/fake_tvmaze/fake_tvmaze.py" --fixtures "$WORK/schedule" --fixtures-flat \
  --port-file "$WORK/fake.port" 2>/dev/null &
FAKE_PID=$!
for _ in $(seq 50); do [ -s "$WORK/fake.port" ] && break; sleep 0.1; done
FAKE_PORT="$(cat "$WORK/fake.port")"

GRPC_PORT=$((20000 + RANDOM % 20000))
DATABASE_URL="$DB" REDIS_URL="" TVMAZE_API_URL="http://127.0.0.1:$FAKE_PORT" \
  TVMAZE_COUNTRIES="$COUNTRIES" TVMAZE_INGEST_AT=off TVMAZE_RATE_LIMIT=100000/1 \
  TVMAZE_GRPC_ADDR="127.0.0.1:$GRPC_PORT" LOG_LEVEL=warn \
  "$BUILD/server/tvmaze-server" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
export TVMAZE_GRPC_TARGET="127.0.0.1:$GRPC_PORT"
for _ in $(seq 100); do "$BUILD/client/tvmaze" health >/dev/null 2>&1 && break; sleep 0.1; done

# Table statistics of the schedule tables. The server's session reports its
# statistics when idle for PGSTAT_IDLE_INTERVAL (10 s): wait for that first.
writes() {
  sleep 11
  psql "$DB" -XAtc "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables WHERE relname IN ('countries','distributors','genres','shows','show_genres','episodes')"
}

ingest() { # prints the run's duration in seconds (started_at .. finished_at)
  "$BUILD/client/tvmaze" --timeout 60000 ingest start --start-date "$START" --days 90 --wait >"$WORK/run-$1.txt"
  psql "$DB" -XAtc "SELECT extract(epoch FROM finished_at - started_at) FROM ingest_runs ORDER BY id DESC LIMIT 1"
}

log "first load ($EPISODES episodes, $(echo "$COUNTRIES" | tr ',' '\n' | wc -l) countries + web, 90 days)"
T1=$(ingest first)
W1=$(writes)
log "unchanged re-run"
T2=$(ingest rerun)
W2=$(writes)
RSS_KB=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat"; }
CPU_SERVER=$(cpu_s "$SERVER_PID")
CPU_FAKE=$(cpu_s "$FAKE_PID")
LOADED=$(psql "$DB" -XAtc "SELECT count(*) FROM episodes")

log "anchor: COPY of the same rows (shared/anchors/sql/schema.sql)"
COPY_DB="$BASE/bench_copy"
psql "$COPY_DB" -Xq -f "$ANCHORS/sql/schema.sql" >/dev/null 2>&1
{
  echo "\\copy countries (id, code, name, timezone) FROM '$WORK/data/countries.csv' WITH (FORMAT csv, HEADER true)"
  echo "\\copy networks (id, kind, tvmaze_id, name, country_id, official_site) FROM '$WORK/data/networks.csv' WITH (FORMAT csv, HEADER true)"
  echo "\\copy genres (id, name) FROM '$WORK/data/genres.csv' WITH (FORMAT csv, HEADER true)"
  echo "\\copy shows (id, tvmaze_id, name, type, language, status, runtime, premiered, rating, weight, summary, image_url, network_id) FROM '$WORK/data/shows.csv' WITH (FORMAT csv, HEADER true)"
  echo "\\copy show_genres (show_id, genre_id) FROM '$WORK/data/show_genres.csv' WITH (FORMAT csv, HEADER true)"
  echo "\\copy episodes (tvmaze_id, show_id, name, season, number, airdate, airtime, airstamp, runtime, rating, summary) FROM '$WORK/data/episodes.csv' WITH (FORMAT csv, HEADER true)"
} >"$WORK/copy_all.sql"
psql "$COPY_DB" -XqAtc "CHECKPOINT" >/dev/null
T0=$(now)
psql "$COPY_DB" -Xq -v ON_ERROR_STOP=1 -f "$WORK/copy_all.sql"
TC=$(echo "$(now) - $T0" | bc -l)
ROWS_ALL="$(awk '$1=="rows" && $2=="TOTAL" {print $3}' "$WORK/data/MANIFEST.txt")"

printf '\n%-34s %10s %12s\n' "measure" "seconds" "episodes/s"
printf '%-34s %10.2f %12.0f\n' "first load (fetch+parse+upsert)" "$T1" "$(echo "$LOADED / $T1" | bc -l)"
printf '%-34s %10.2f %12.0f\n' "unchanged re-run" "$T2" "$(echo "$LOADED / $T2" | bc -l)"
printf '%-34s %10.2f %12.0f   (%s rows/s over all %s rows)\n' "anchor COPY (all tables)" "$TC" \
  "$(echo "$EPISODES / $TC" | bc -l)" "$(echo "$ROWS_ALL / $TC" | bc -l | cut -d. -f1)" "$ROWS_ALL"
echo
echo "episodes loaded:            $LOADED of $EPISODES"
echo "first load / COPY:          $(echo "$T1 / $TC" | bc -l | cut -c1-5)x   (goal <= 2)"
echo "re-run / first load:        $(echo "$T2 / $T1" | bc -l | cut -c1-5)    (goal <= 0.5)"
echo "rows written by re-run:     $((W2 - W1))   (goal 0; n_tup_ins + n_tup_upd + n_tup_del of the schedule tables)"
echo "CPU over both runs:         tvmaze-server ${CPU_SERVER} s, fake TVMaze (python) ${CPU_FAKE} s"
echo "peak server RSS:            $((RSS_KB / 1024)) MiB   (goal < 128)"
echo "runs: $WORK/run-first.txt $WORK/run-rerun.txt"
