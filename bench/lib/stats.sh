#!/usr/bin/env bash
# bench/lib/stats.sh: figures of repeated measurements, for the bench scripts
# (sourced by bench/ingest.sh, bench/query.sh and bench/http.sh).

# median X...: the median of the numbers (the mean of the middle two for an
# even count), at full precision; the caller formats it.
median() {
  printf '%s\n' "$@" | sort -g |
    awk '{v[NR] = $1} END {printf "%.10g\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
