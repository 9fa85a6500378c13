#!/usr/bin/env bash
# bench/world.sh: world-wide full-mode ingest benchmark (issue 18; not a test;
# docs/benchmarks.md "World (full mode)", docs/ingest.md "Full mode").
#
# The anchors' 90-day data set scaled SCALE times (bench/world_data.py: the
# anchors' gen_data.py run SCALE times with successive seeds, the copies
# merged with fresh ids; at 8x ~280,000 episodes of 64,000 shows) written as
# one /schedule/full document (bench/csv_to_schedule.py --full: every item
# with _embedded.show, in a shuffled order so the days interleave, airdates
# in the run's 90-day window from START, as bench/ingest.sh arranges),
# served as a static file by nginx (bench/lib/schedule.sh: gzip_static,
# nginx's own ETag and Last-Modified), ingested by tvmaze-server in full mode
# (TVMAZE_SCHEDULE_SOURCE=full) via `tvmaze ingest start --wait` with the
# client-side rate limit lifted:
#   1. first load into empty tables, REPS times (download, split, spill,
#      parse and upsert: started_at .. finished_at of the run; the schedule
#      tables, source hashes and stored validators are truncated between
#      repetitions)
#   2. unchanged re-runs after the last first load, REPS times each, in
#      pairs: one with the stored validators (a conditional GET answered 304:
#      no body at all) and one with the validators forgotten (the row of
#      ingest_full_validators deleted: the whole document downloaded, split
#      and spilled, every day skipped on its stored digest). Rows written by
#      all of them must be 0 (the script fails otherwise), and each run must
#      have taken the path it is meant to measure (the server's
#      ingest_full_document line: not_modified 1 / 0).
#   3. the anchors' COPY of the same rows into their schema, and our rows
#      COPYed into our schema, REPS times each (as bench/ingest.sh)
# Peak server RSS (VmHWM) is reset before every run (/proc/PID/clear_refs)
# and read after it, so each run has its own peak. Each measured run starts
# after a CHECKPOINT once the machine is quiet (QUIET_PCT, QUIET_MAX). Prints
# every repetition, the medians, their ratios with the spread (the smallest
# and largest ratio of any two runs), the peaks against the document's size.
# The box is shared: compare within one run.
#
# Usage: bench/world.sh [BUILD_DIR]   (default: build)
# Env: SCALE (default 8: the issue's world; 1 is the anchors' own data set, for
#      quick runs), WORK (default /tmp/world-bench-x$SCALE: the data set is kept
#      there and reused), ANCHORS (default ../shared/anchors), REPS (default 5),
#      QUIET_PCT, QUIET_MAX, PROFILE_SQL=1, PERF_OUT / PERF_RERUN_OUT=FILE (perf
#      record of the first first load / the first re-run without validators),
#      PERF_ARGS, HEAPTRACK_OUT=FILE (see bench/ingest.sh)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
SCALE="${SCALE:-8}"
REPS="${REPS:-5}"
for v in SCALE REPS; do
  case "${!v}" in '' | *[!0-9]* | 0*) echo "bench/world.sh: $v must be a positive integer, got \"${!v}\"" >&2; exit 2 ;; esac
done
WORK="${WORK:-/tmp/world-bench-x$SCALE}"
ANCHORS="$(cd "${ANCHORS:-$ROOT/../shared/anchors}" && pwd)"
mkdir -p "$WORK/tmp"
# shellcheck source=bench/lib/stats.sh
. "$ROOT/bench/lib/stats.sh"
# shellcheck source=bench/lib/schedule.sh
. "$ROOT/bench/lib/schedule.sh"
# shellcheck source=bench/lib/ingest_bench.sh
. "$ROOT/bench/lib/ingest_bench.sh"
trap ingest_bench_cleanup EXIT
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# ---------------------------------------------------------------- data
if ! grep -qs "scale=$SCALE\$" "$WORK/data/MANIFEST.txt" 2>/dev/null; then
  log "generating data (the anchors' data set x$SCALE)"
  rm -f "$WORK/schedule/full.json.gz"
  python3 "$ROOT/bench/world_data.py" "$ANCHORS/gen_data.py" "$WORK/data" "$SCALE" >/dev/null
fi
if [ ! -f "$WORK/schedule/full.json.gz" ]; then
  log "writing the /schedule/full document"
  mkdir -p "$WORK/schedule"
  python3 "$ROOT/bench/csv_to_schedule.py" "$WORK/data" --full "$WORK/schedule/full.json" >"$WORK/full.txt"
  printf '[]' >"$WORK/schedule/empty.json"
  log "pre-compressing it"
  gzip -kf6 "$WORK/schedule/full.json" "$WORK/schedule/empty.json"
fi
START="$(awk -F'[ =]' '{print $4}' "$WORK/data/MANIFEST.txt" | head -1)"
EPISODES="$(awk '$1=="rows" && $2=="episodes" {print $3}' "$WORK/data/MANIFEST.txt")"
SHOWS="$(awk '$1=="rows" && $2=="shows" {print $3}' "$WORK/data/MANIFEST.txt")"
DOC_BYTES="$(stat -c %s "$WORK/schedule/full.json")"
GZ_BYTES="$(stat -c %s "$WORK/schedule/full.json.gz")"

ingest_bench_databases
bench_schedule_nginx "$WORK" "$WORK/schedule"
# LOG_LEVEL=info: the run's ingest_full_document line (bytes, items, kept,
# not_modified) says which path a run took; the spill file under $WORK/tmp.
ingest_bench_server "$WORK/server.log" TVMAZE_SCHEDULE_SOURCE=full LOG_LEVEL=info TMPDIR="$WORK/tmp"

hwm_reset() { echo 5 >"/proc/$SERVER_PID/clear_refs"; }
hwm_mib() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$SERVER_PID/status"; }
# field F of the server's last ingest_full_document line
doc_field() { grep '"ingest_full_document"' "$WORK/server.log" | tail -1 | sed -n "s/.*\"$1\":\\([0-9]*\\).*/\\1/p"; }
# run NAME NOT_MODIFIED: one measured run that must succeed with the
# document's not_modified flag NOT_MODIFIED; sets T (its seconds) and HWM.
run() {
  local st
  hwm_reset
  T=$(ingest "$1")
  HWM=$(hwm_mib)
  st=$(psql "$DB" -XAtc "SELECT status FROM ingest_runs ORDER BY id DESC LIMIT 1")
  [ "$st" = 2 ] || die "run $1: status $st, not succeeded (2): $(cat "$WORK/run-$1.txt")"
  [ "$(doc_field not_modified)" = "$2" ] || die "run $1: not_modified $(doc_field not_modified), expected $2"
}

# ---------------------------------------------------------------- 1. first load
log "first load ($EPISODES episodes of $SHOWS shows, one document of $((DOC_BYTES / 1048576)) MiB, $((GZ_BYTES / 1048576)) MiB gzip)"
[ -z "${PERF_OUT:-}" ] || perf_start "$PERF_OUT"
T1S=() H1S=()
for r in $(seq "$REPS"); do
  [ "$r" = 1 ] || truncate_schedule ingest_full_validators
  run "first-$r" 0
  T1S+=("$T") H1S+=("$HWM")
  LOADED=$(psql "$DB" -XAtc "SELECT count(*) FROM episodes")
  [ "$LOADED" = "$EPISODES" ] || die "first load $r: $LOADED episodes, expected $EPISODES"
  log "first load $r: ${T1S[-1]} s, peak RSS ${HWM} MiB"
  if [ "$r" = 1 ]; then
    perf_stop
    CPU1_SERVER=$(cpu_s "$SERVER_PID") CPU1_FAKE=$(cpu_tree "$FAKE_PID") CPU1_PG=$(cpu_pg)
  fi
done
DOC_ITEMS=$(doc_field items) DOC_KEPT=$(doc_field kept) DOC_READ=$(doc_field bytes)
T1=$(median "${T1S[@]}")

# ---------------------------------------------------------------- 2. re-runs
W1=$(writes)
log "unchanged re-runs: with validators (304) and with them forgotten (digest skip)"
T3S=() H3S=() TDS=() HDS=()
CPUD_SERVER=0
for r in $(seq "$REPS"); do
  run "rerun-304-$r" 1
  T3S+=("$T") H3S+=("$HWM")
  psql "$DB" -XqAtc "DELETE FROM ingest_full_validators"
  c0=$(cpu_s "$SERVER_PID")
  [ "$r" != 1 ] || [ -z "${PERF_RERUN_OUT:-}" ] || perf_start "$PERF_RERUN_OUT"
  run "rerun-digest-$r" 0
  perf_stop
  TDS+=("$T") HDS+=("$HWM")
  CPUD_SERVER=$(cpu_diff "$(cpu_s "$SERVER_PID")" "$c0")
  log "re-run $r: 304 ${T3S[-1]} s (peak ${H3S[-1]} MiB), digest skip ${TDS[-1]} s (peak ${HWM} MiB)"
done
W2=$(writes)
T3=$(median "${T3S[@]}") TD=$(median "${TDS[@]}")
CPU_SERVER=$(cpu_s "$SERVER_PID") CPU_FAKE=$(cpu_tree "$FAKE_PID") CPU_PG=$(cpu_pg)

# ---------------------------------------------------------------- 3. COPY
anchor_copies "$WORK/data"
TC=$(median "${TCS[@]}")
own_copies
TO=$(median "${TOS[@]}")
ROWS_ALL="$(awk '$1=="rows" && $2=="TOTAL" {print $3}' "$WORK/data/MANIFEST.txt")"

# ---------------------------------------------------------------- report
# ratio A B: the medians' ratio; ratios_spread "A..." "B...": the smallest and
# largest ratio of a run of A to a run of B
ratio() { echo "$1 / $2" | bc -l | awk '{printf "%.3f", $1}'; }
ratios_spread() {
  local a b lo="" hi="" q
  for a in $1; do
    for b in $2; do
      q=$(echo "$a / $b" | bc -l)
      if [ -z "$lo" ] || [ "$(echo "$q < $lo" | bc -l)" = 1 ]; then lo=$q; fi
      if [ -z "$hi" ] || [ "$(echo "$q > $hi" | bc -l)" = 1 ]; then hi=$q; fi
    done
  done
  printf '%.3f-%.3f' "$lo" "$hi"
}
max_of() { printf '%s\n' "$@" | sort -g | tail -1; }
PEAK=$(max_of "${H1S[@]}" "${H3S[@]}" "${HDS[@]}")
DOC_MIB=$(echo "$DOC_BYTES / 1048576" | bc -l)
ROWS_RERUN=$((W2 - W1))

printf '\n%-40s %9s %13s %12s\n' "measure (median of $REPS, SCALE=$SCALE)" "seconds" "spread" "episodes/s"
printf '%-40s %9.2f %13s %12.0f\n' "first load (download+spill+parse+upsert)" "$T1" "$(spread "${T1S[@]}")" "$(echo "$EPISODES / $T1" | bc -l)"
printf '%-40s %9.2f %13s %12.0f\n' "unchanged re-run, 304" "$T3" "$(spread "${T3S[@]}")" "$(echo "$EPISODES / $T3" | bc -l)"
printf '%-40s %9.2f %13s %12.0f\n' "unchanged re-run, validators forgotten" "$TD" "$(spread "${TDS[@]}")" "$(echo "$EPISODES / $TD" | bc -l)"
printf '%-40s %9.2f %13s %12.0f   (%s rows/s over all %s rows)\n' "anchor COPY (all tables)" "$TC" "$(spread "${TCS[@]}")" \
  "$(echo "$EPISODES / $TC" | bc -l)" "$(echo "$ROWS_ALL / $TC" | bc -l | cut -d. -f1)" "$ROWS_ALL"
printf '%-40s %9.2f %13s\n' "COPY of our rows into our schema" "$TO" "$(spread "${TOS[@]}")"
echo
echo "document:                     $DOC_ITEMS items ($DOC_KEPT in the window), $(printf '%.1f' "$DOC_MIB") MiB ($DOC_READ bytes read), $((GZ_BYTES / 1048576)) MiB on the wire (gzip)"
echo "data set:                     $EPISODES episodes, $SHOWS shows, $ROWS_ALL rows in all (x$SCALE the anchors'), start $START"
echo "first load, each:             $(printf '%.2f s  ' "${T1S[@]}")"
echo "re-run 304, each:             $(printf '%.2f s  ' "${T3S[@]}")"
echo "re-run digest skip, each:     $(printf '%.2f s  ' "${TDS[@]}")"
echo "anchor COPY, each:            $(printf '%.2f s  ' "${TCS[@]}")"
echo "COPY into our schema, each:   $(printf '%.2f s  ' "${TOS[@]}")"
echo "first load / COPY:            $(ratio "$T1" "$TC")x   (spread $(ratios_spread "${T1S[*]}" "${TCS[*]}"); goal <= 1.5)"
echo "first load / COPY ours:       $(ratio "$T1" "$TO")x   (spread $(ratios_spread "${T1S[*]}" "${TOS[*]}"); the pipeline over filling our schema)"
echo "COPY ours / anchor COPY:      $(ratio "$TO" "$TC")x   (what our schema's indexes, constraints and triggers cost)"
echo "re-run 304 / first load:      $(ratio "$T3" "$T1")    (spread $(ratios_spread "${T3S[*]}" "${T1S[*]}"); goal <= 0.3)"
echo "re-run digest / first load:   $(ratio "$TD" "$T1")    (spread $(ratios_spread "${TDS[*]}" "${T1S[*]}"); goal <= 0.3)"
echo "rows written by the re-runs:  $ROWS_RERUN   (goal 0; n_tup_ins + n_tup_upd + n_tup_del of the schedule tables over all $((2 * REPS)) re-runs)"
echo "peak server RSS, first loads: $(printf '%s  ' "${H1S[@]}")MiB"
echo "peak server RSS, re-runs:     304 $(printf '%s  ' "${H3S[@]}")MiB; digest $(printf '%s  ' "${HDS[@]}")MiB"
echo "peak server RSS, largest:     $PEAK MiB   (goal < 128); document / peak: $(echo "$DOC_MIB / $PEAK" | bc -l | awk '{printf "%.2f", $1}')x (goal > 4)"
echo "CPU, first load (1st rep):    tvmaze-server ${CPU1_SERVER} s, nginx ${CPU1_FAKE} s, PostgreSQL ${CPU1_PG} s (all sessions)"
echo "CPU, last digest re-run:      tvmaze-server ${CPUD_SERVER} s"
echo "CPU, all runs:                tvmaze-server ${CPU_SERVER} s, nginx ${CPU_FAKE} s, PostgreSQL ${CPU_PG} s"
echo "runs: $WORK/run-*.txt, server log $WORK/server.log"
[ "$ROWS_RERUN" = 0 ] || die "the unchanged re-runs wrote $ROWS_RERUN rows (expected 0)"
