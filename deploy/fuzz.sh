#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build (deploy/sanitize.sh makes one in build-asan) for
# FUZZ_SECONDS each (default 20), starting from its seed corpus fuzz/corpus/<target>/ (copied: the
# repository's seeds never change here), and prints executions and coverage per target.
# A crash stops the run; the input is left as build-asan/fuzz-out/<target>/crash-*: fix the bug
# and add the input to fuzz/corpus/<target>/ as a regression case.
#   bash deploy/fuzz.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-asan}
SECONDS_EACH=${FUZZ_SECONDS:-20}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
printf '%-14s %10s %8s %8s\n' target executions cov features
for src in fuzz/*_fuzz.cc; do
  name=$(basename "$src" .cc)
  target=${name%_fuzz}
  bin="$BUILD/fuzz/$name"
  [ -x "$bin" ] || { echo "fuzz.sh: $bin is not built (bash deploy/sanitize.sh builds it)" >&2; exit 1; }
  work="$BUILD/fuzz-out/$target"
  rm -rf "$work"
  mkdir -p "$work/corpus"
  cp fuzz/corpus/"$target"/* "$work/corpus/" 2>/dev/null || true
  if ! (cd "$work" && "$OLDPWD/$bin" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 corpus >log.txt 2>&1); then
    echo "fuzz.sh: $target FAILED; see $work/log.txt and the crash-* input there" >&2
    tail -40 "$work/log.txt" >&2
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log.txt" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$work/log.txt" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$work/log.txt" | tail -1 | cut -d' ' -f2)
  printf '%-14s %10s %8s %8s\n' "$target" "${execs:-?}" "${cov:-?}" "${ft:-?}"
done
