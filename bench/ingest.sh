#!/usr/bin/env bash
# bench/ingest.sh: ingestion benchmark (not a test).
#
# The anchors' data set (shared/anchors/gen_data.py: 90 days, 35,000 episodes
# of 8,000 shows) converted to TVMaze schedule JSON (bench/csv_to_schedule.py),
# served as static files by nginx (gzip_static), ingested by tvmaze-server via
# `tvmaze ingest start --wait` with the client-side rate limit lifted:
#   1. first load into empty tables, REPS times (episodes/s, fetch + parse
#      included; the schedule tables and source hashes are truncated between
#      repetitions)
#   2. unchanged re-run after the last first load (episodes/s; rows written
#      must be 0)
#   3. the anchors' COPY of the same rows, REPS times into truncated tables
#      (shared/anchors/sql/schema.sql + \copy)
# Each measured run starts after a CHECKPOINT and once the machine is quiet
# (as the anchors' bench-load.sh does: QUIET_PCT, QUIET_MAX). Prints every repetition, the medians, the ratio of the medians and
# the server's peak RSS (VmHWM). The box is shared: compare within one run.
#
# Usage: bench/ingest.sh [BUILD_DIR]   (default: build)
# Env: WORK (default /tmp/ingest-bench), ANCHORS (default ../shared/anchors),
#      REPS (default 5, as the anchors' HYPERFINE_RUNS), QUIET_PCT (default 10), QUIET_MAX (default 60 s),
#      PROFILE_SQL=1 (statement durations in $WORK/svc/pg.log), PERF_OUT / PERF_RERUN_OUT=FILE
#      (perf record of the first first load / the re-run), PERF_ARGS (default "-F 999 -g -a")
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
WORK="${WORK:-/tmp/ingest-bench}"
ANCHORS="$(cd "${ANCHORS:-$ROOT/../shared/anchors}" && pwd)"
REPS="${REPS:-5}"
case "$REPS" in ''|*[!0-9]*|0*) echo "bench/ingest.sh: REPS must be a positive integer, got \"$REPS\"" >&2; exit 2 ;; esac
mkdir -p "$WORK"
# shellcheck source=bench/lib/stats.sh
. "$ROOT/bench/lib/stats.sh"

FAKE_PID="" SERVER_PID=""
cleanup() {
  set +e
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [ -n "$FAKE_PID" ] && kill -QUIT "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
  "$ROOT/scripts/services.sh" stop "$WORK/svc" >/dev/null 2>&1
  return 0
}
trap cleanup EXIT

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }

# As the anchors' scripts do (shared/anchors/env.sh): before each timed
# run, wait (up to QUIET_MAX s) until the machine is quiet, under QUIET_PCT
# % of all cores busy over 2 s, so that neither side is measured while
# autovacuum (after the previous run's truncate and load) or anything else
# still runs. Prints a line to stderr when it had to wait.
QUIET_MAX="${QUIET_MAX:-60}" QUIET_PCT="${QUIET_PCT:-10}"
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
wait_quiet() {
  local waited=0 b0 b1 pct hz ncpu
  hz="$(getconf CLK_TCK)" ncpu="$(nproc)"
  while :; do
    b0=$(busy_ticks); sleep 2; b1=$(busy_ticks)
    pct=$(((b1 - b0) * 100 / (2 * hz * ncpu)))
    if [ "$pct" -lt "$QUIET_PCT" ]; then
      [ "$waited" -gt 0 ] && log "machine quiet after ${waited}s"
      return 0
    fi
    if [ "$waited" -ge "$QUIET_MAX" ]; then
      log "WARNING: machine still ${pct}% busy after ${waited}s, measuring anyway"
      return 0
    fi
    waited=$((waited + 2))
  done
}

# shellcheck source=bench/lib/schedule.sh
. "$ROOT/bench/lib/schedule.sh"
bench_schedule_data "$ROOT" "$ANCHORS" "$WORK"

log "starting PostgreSQL"
"$ROOT/scripts/services.sh" start "$WORK/svc" >/dev/null
# shellcheck disable=SC1091
. "$WORK/svc/env"
BASE="${DATABASE_URL%/*}"
psql "$BASE/postgres" -qXc "DROP DATABASE IF EXISTS bench_ingest" -c "CREATE DATABASE bench_ingest" \
  -c "DROP DATABASE IF EXISTS bench_copy" -c "CREATE DATABASE bench_copy"
DB="$BASE/bench_ingest"
if [ -n "${PROFILE_SQL:-}" ]; then # statement durations in $WORK/svc/pg.log
  psql "$BASE/postgres" -qXc "ALTER DATABASE bench_ingest SET log_min_duration_statement = 0"
fi

bench_schedule_nginx "$WORK" "$WORK/schedule"

GRPC_PORT=$((20000 + RANDOM % 20000))
DATABASE_URL="$DB" REDIS_URL="" TVMAZE_API_URL="http://127.0.0.1:$FAKE_PORT" \
  TVMAZE_COUNTRIES="$COUNTRIES" TVMAZE_INGEST_AT=off TVMAZE_RATE_LIMIT=100000/1 \
  TVMAZE_GRPC_ADDR="127.0.0.1:$GRPC_PORT" LOG_LEVEL=warn \
  "$BUILD/server/tvmaze-server" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
export TVMAZE_GRPC_TARGET="127.0.0.1:$GRPC_PORT"
for _ in $(seq 100); do "$BUILD/client/tvmaze" health >/dev/null 2>&1 && break; sleep 0.1; done
# Every tvmaze.v1 call needs a key (docs/api.md "Keys"): an ingest-scope one
# for the CLI, created once the server has migrated the database.
TVMAZE_API_KEY="$("$BUILD/server/tvmaze-server" --database-url "$DB" keys create --name "bench-ingest-$$" --tier premium --scope ingest)"
export TVMAZE_API_KEY

# Table statistics of the schedule tables. The server's session reports its
# statistics when idle for PGSTAT_IDLE_INTERVAL (10 s): wait for that first.
writes() {
  sleep 11
  psql "$DB" -XAtc "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables WHERE relname IN ('countries','distributors','genres','shows','show_genres','episodes')"
}

ingest() { # prints the run's duration in seconds (started_at .. finished_at)
  psql "$DB" -XqAtc "CHECKPOINT" >/dev/null
  wait_quiet
  "$BUILD/client/tvmaze" --timeout 60000 ingest start --start-date "$START" --days 90 --wait >"$WORK/run-$1.txt"
  psql "$DB" -XAtc "SELECT extract(epoch FROM finished_at - started_at) FROM ingest_runs ORDER BY id DESC LIMIT 1"
}

# CPU seconds (user + system) of a process; of a process and its children
# (nginx workers); of every PostgreSQL backend of the benchmark database.
HZ="$(getconf CLK_TCK)"
cpu_s() { awk -v hz="$HZ" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat"; }
cpu_tree() {
  local pids
  pids="$1 $(cat "/proc/$1/task/$1/children" 2>/dev/null || true)"
  # shellcheck disable=SC2086,SC2046
  (cd /proc && cat $(printf '%s/stat ' $pids)) | awk -v hz="$HZ" '{t += $14 + $15} END {printf "%.1f", t / hz}'
}
cpu_pg() {
  local pm
  pm="$(head -1 "$WORK/svc/pg/postmaster.pid" 2>/dev/null || true)"
  if [ -z "$pm" ]; then echo "?"; else cpu_tree "$pm"; fi
}

log "first load ($EPISODES episodes, $(echo "$COUNTRIES" | tr ',' '\n' | wc -l) countries + web, 90 days)"
PERF_PID=""
if [ -n "${PERF_OUT:-}" ]; then # profile the server during the first load
  # shellcheck disable=SC2086 # PERF_ARGS: e.g. "-F 999 --call-graph dwarf -a" for stacks through libc
  perf record ${PERF_ARGS:--F 999 -g -a} -o "$PERF_OUT" 2>/dev/null & # system-wide by default: the writer thread starts with the run
  PERF_PID=$!
fi
T1S=()
for r in $(seq "$REPS"); do
  if [ "$r" -gt 1 ]; then
    psql "$DB" -XqAtc "TRUNCATE show_genres, episodes, shows, distributors, genres, countries, ingest_source_hashes RESTART IDENTITY CASCADE"
  fi
  T1S+=("$(ingest "first-$r")")
  if [ "$r" = 1 ]; then # CPU and profile of the first repetition
    if [ -n "$PERF_PID" ]; then
      kill -INT "$PERF_PID"
      wait "$PERF_PID" || true
    fi
    CPU1_SERVER=$(cpu_s "$SERVER_PID")
    CPU1_FAKE=$(cpu_tree "$FAKE_PID")
    CPU1_PG=$(cpu_pg)
  fi
done
T1=$(median "${T1S[@]}")
W1=$(writes)
log "unchanged re-run"
CPU0_SERVER=$(cpu_s "$SERVER_PID") CPU0_FAKE=$(cpu_tree "$FAKE_PID") CPU0_PG=$(cpu_pg)
if [ -n "${PERF_RERUN_OUT:-}" ]; then # profile the re-run (as PERF_OUT the first load)
  # shellcheck disable=SC2086
  perf record ${PERF_ARGS:--F 999 -g -a} -o "$PERF_RERUN_OUT" 2>/dev/null &
  PERF_PID=$!
fi
T2=$(ingest rerun)
if [ -n "${PERF_RERUN_OUT:-}" ]; then
  kill -INT "$PERF_PID"
  wait "$PERF_PID" || true
fi
# after - before, one decimal; "?" when either is not a number
cpu_diff() { awk -v a="$1" -v b="$2" 'BEGIN {if (a b ~ /^[0-9.]+$/) printf "%.1f", a - b; else printf "?"}' </dev/null; }
CPU2_SERVER=$(cpu_diff "$(cpu_s "$SERVER_PID")" "$CPU0_SERVER")
CPU2_FAKE=$(cpu_diff "$(cpu_tree "$FAKE_PID")" "$CPU0_FAKE")
CPU2_PG=$(cpu_diff "$(cpu_pg)" "$CPU0_PG")
W2=$(writes)
RSS_KB=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
CPU_SERVER=$(cpu_s "$SERVER_PID")
CPU_FAKE=$(cpu_tree "$FAKE_PID")
CPU_PG=$(cpu_pg)
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
# timed_copies DB TRUNCATE SCRIPT: REPS times, each into emptied tables after
# a CHECKPOINT, runs the \copy SCRIPT; prints each run's seconds, a line each.
timed_copies() {
  local t0
  for _ in $(seq "$REPS"); do
    psql "$1" -XqAtc "$2" -c "CHECKPOINT" >/dev/null
    wait_quiet
    t0=$(now)
    psql "$1" -Xq -v ON_ERROR_STOP=1 -f "$3" >/dev/null
    echo "$(now) - $t0" | bc -l
  done
}
mapfile -t TCS < <(timed_copies "$COPY_DB" \
  "TRUNCATE show_genres, episodes, shows, networks, genres, countries RESTART IDENTITY" "$WORK/copy_all.sql")
TC=$(median "${TCS[@]}")

# Then our own rows COPYed into our own schema (every index, constraint and
# trigger of the migrations): what this schema costs to fill however the
# rows arrive, so the first load's overhead over it is the pipeline's own.
# It runs after the anchor's COPY so that the anchor is measured as before
# this step existed (the one run that had it first saw the anchor's COPY at
# 0.98-1.32 s, against 1.48-1.90 s in every other run).
log "COPY of our rows into our schema (same indexes, constraints, triggers)"
OWN_DB="$BASE/bench_own"
psql "$BASE/postgres" -qXc "DROP DATABASE IF EXISTS bench_own" -c "CREATE DATABASE bench_own"
DATABASE_URL="$OWN_DB" "$BUILD/server/tvmaze-server" migrate >/dev/null 2>&1
OWN_TABLES="countries distributors genres shows show_genres episodes"
mkdir -p "$WORK/own"
: >"$WORK/own/copy.sql"
echo "SET tvmaze.episode_country_supplied = on;" >>"$WORK/own/copy.sql" # as the ingest
for t in $OWN_TABLES; do
  psql "$DB" -XqAtc "\\copy $t TO '$WORK/own/$t.copy'"
  echo "\\copy $t FROM '$WORK/own/$t.copy'" >>"$WORK/own/copy.sql"
done
mapfile -t TOS < <(timed_copies "$OWN_DB" \
  "TRUNCATE $(echo "$OWN_TABLES" | tr ' ' ',') RESTART IDENTITY CASCADE" "$WORK/own/copy.sql")
TO=$(median "${TOS[@]}")
ROWS_ALL="$(awk '$1=="rows" && $2=="TOTAL" {print $3}' "$WORK/data/MANIFEST.txt")"

printf '\n%-34s %10s %12s\n' "measure (median of $REPS)" "seconds" "episodes/s"
printf '%-34s %10.2f %12.0f\n' "first load (fetch+parse+upsert)" "$T1" "$(echo "$LOADED / $T1" | bc -l)"
printf '%-34s %10.2f %12.0f\n' "unchanged re-run" "$T2" "$(echo "$LOADED / $T2" | bc -l)"
printf '%-34s %10.2f %12.0f   (%s rows/s over all %s rows)\n' "anchor COPY (all tables)" "$TC" \
  "$(echo "$EPISODES / $TC" | bc -l)" "$(echo "$ROWS_ALL / $TC" | bc -l | cut -d. -f1)" "$ROWS_ALL"
echo
echo "episodes loaded:            $LOADED of $EPISODES"
echo "first load, each:           $(printf '%.2f s  ' "${T1S[@]}")"
echo "anchor COPY, each:          $(printf '%.2f s  ' "${TCS[@]}")"
echo "COPY into our schema, each: $(printf '%.2f s  ' "${TOS[@]}")"
echo "first load / COPY:          $(echo "$T1 / $TC" | bc -l | cut -c1-5)x   (goal <= 2; medians)"
echo "COPY ours / anchor COPY:    $(echo "$TO / $TC" | bc -l | cut -c1-5)x   (what our schema's indexes, constraints and triggers cost; medians)"
echo "first load / COPY ours:     $(echo "$T1 / $TO" | bc -l | cut -c1-5)x   (the pipeline over filling our schema; medians)"
echo "re-run / first load:        $(echo "$T2 / $T1" | bc -l | cut -c1-5)    (goal <= 0.5)"
echo "rows written by re-run:     $((W2 - W1))   (goal 0; n_tup_ins + n_tup_upd + n_tup_del of the schedule tables)"
echo "CPU, first load (1st rep):  tvmaze-server ${CPU1_SERVER} s, nginx ${CPU1_FAKE} s, PostgreSQL ${CPU1_PG} s (all sessions)"
echo "CPU, re-run:                tvmaze-server ${CPU2_SERVER} s, nginx ${CPU2_FAKE} s, PostgreSQL ${CPU2_PG} s (all sessions)"
echo "CPU, all runs:              tvmaze-server ${CPU_SERVER} s, nginx ${CPU_FAKE} s, PostgreSQL ${CPU_PG} s"
echo "peak server RSS:            $((RSS_KB / 1024)) MiB   (goal < 128)"
echo "runs: $WORK/run-first-*.txt $WORK/run-rerun.txt"
