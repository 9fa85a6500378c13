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
#      (perf record of the first first load / the re-run), PERF_ARGS (default "-F 999 -g -a"),
#      HEAPTRACK_OUT=FILE (the server under heaptrack: an allocation profile; timings not comparable)
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
# shellcheck source=bench/lib/schedule.sh
. "$ROOT/bench/lib/schedule.sh"
# shellcheck source=bench/lib/ingest_bench.sh
. "$ROOT/bench/lib/ingest_bench.sh"
trap ingest_bench_cleanup EXIT
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

bench_schedule_data "$ROOT" "$ANCHORS" "$WORK"
ingest_bench_databases
bench_schedule_nginx "$WORK" "$WORK/schedule"
ingest_bench_server "$WORK/server.log" TVMAZE_COUNTRIES="$COUNTRIES"

log "first load ($EPISODES episodes, $(echo "$COUNTRIES" | tr ',' '\n' | wc -l) countries + web, 90 days)"
[ -z "${PERF_OUT:-}" ] || perf_start "$PERF_OUT" # profile the server during the first load
T1S=()
for r in $(seq "$REPS"); do
  if [ "$r" -gt 1 ]; then
    truncate_schedule
  fi
  T1S+=("$(ingest "first-$r")")
  if [ "$r" = 1 ]; then # CPU and profile of the first repetition
    perf_stop
    CPU1_SERVER=$(cpu_s "$SERVER_PID")
    CPU1_FAKE=$(cpu_tree "$FAKE_PID")
    CPU1_PG=$(cpu_pg)
  fi
done
T1=$(median "${T1S[@]}")
W1=$(writes)
log "unchanged re-run"
CPU0_SERVER=$(cpu_s "$SERVER_PID") CPU0_FAKE=$(cpu_tree "$FAKE_PID") CPU0_PG=$(cpu_pg)
[ -z "${PERF_RERUN_OUT:-}" ] || perf_start "$PERF_RERUN_OUT" # profile the re-run (as PERF_OUT the first load)
T2=$(ingest rerun)
perf_stop
CPU2_SERVER=$(cpu_diff "$(cpu_s "$SERVER_PID")" "$CPU0_SERVER")
CPU2_FAKE=$(cpu_diff "$(cpu_tree "$FAKE_PID")" "$CPU0_FAKE")
CPU2_PG=$(cpu_diff "$(cpu_pg)" "$CPU0_PG")
W2=$(writes)
RSS_KB=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
CPU_SERVER=$(cpu_s "$SERVER_PID")
CPU_FAKE=$(cpu_tree "$FAKE_PID")
CPU_PG=$(cpu_pg)
LOADED=$(psql "$DB" -XAtc "SELECT count(*) FROM episodes")

anchor_copies "$WORK/data"
TC=$(median "${TCS[@]}")
own_copies
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
