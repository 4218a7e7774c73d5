#!/usr/bin/env bash
# Build the libFuzzer harnesses (clang, ASan + UBSan) and run each for N seconds
# from a generated seed corpus, then report executions and crashes.
#   scripts/fuzz.sh [SECONDS] [HARNESS...]     default 600 s, every fuzz/fuzz_*.c
# Environment: SOMNA_FUZZ_BUILD (build dir, default build-fuzz), SOMNA_FUZZ_OUT
# (corpora, logs and crash artifacts, default $SOMNA_FUZZ_BUILD/fuzz-run).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
build=${SOMNA_FUZZ_BUILD:-build-fuzz}
out=${SOMNA_FUZZ_OUT:-$build/fuzz-run}
data=${SOMNA_SHARED_DATA:-../shared/data}

CC=clang cmake -S . -B "$build" -DSOMNA_FUZZ=ON -DSOMNA_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link >/dev/null
if [ $# -eq 0 ]; then
  set -- $(cd fuzz && ls fuzz_*.c | sed 's/\.c$//')
fi
cmake --build "$build" -j2 --target "$@" >/dev/null

seed() { # seed corpus per harness
  local name=$1 dir=$2
  mkdir -p "$dir"
  case $name in
    fuzz_edf) python3 fuzz/make_edf_seeds.py "$dir" ;;
    fuzz_edf_tal)
      printf '+0\x14\x14\x00+0.5\x1530\x14Lights off\x14\x00' >"$dir/tals"
      printf '+10\x14\x14\x00-2.25\x14Start\x14Two\x14\x00\x00\x00' >"$dir/texts"
      printf '+0\x14\x14\x14\x00\x00' >"$dir/nox" ;;
    fuzz_wfdb_header)
      for f in "$data"/mitdb/10[0-4].hea; do [ -e "$f" ] && cp "$f" "$dir/"; done
      printf 'rec 2 360 1000\nrec.dat 212 200 11 1024 995 -22131 0 MLII\nrec.dat 212 200 11 1024 1011 20052 0 V5\n' >"$dir/synthetic.hea" ;;
    fuzz_wfdb_ann)
      for f in "$data"/mitdb/10[0-2].atr; do [ -e "$f" ] && head -c 4096 "$f" >"$dir/$(basename "$f")"; done
      printf '\x01\x04\x00\x00' >"$dir/tiny.atr" ;;
    *) printf 'x' >"$dir/empty" ;;
  esac
}

status=0
summary=""
for name in "$@"; do
  corpus=$out/$name/corpus
  art=$out/$name/artifacts/
  rm -rf "$out/$name"
  mkdir -p "$art"
  seed "$name" "$corpus"
  log=$out/$name/fuzz.log
  # -jobs=1 runs the fuzzer in one worker process writing fuzz-0.log.
  (cd "$out/$name" && "$OLDPWD/$build/fuzz/$name" corpus -max_total_time="$secs" -jobs=1 -workers=1 \
      -artifact_prefix=artifacts/ -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 >/dev/null 2>&1) || true
  cat "$out/$name"/fuzz-*.log >"$log" 2>/dev/null || true
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s+=$2} END {print s+0}')
  crashes=$(find "$art" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  line="$name: ${secs}s, $execs executions, $crashes crashes/leaks/timeouts (log $log)"
  echo "$line"
  summary="$summary$line"$'\n'
  [ "$crashes" = 0 ] || status=1
done
printf '%s' "$summary" >"$out/summary.txt"
exit $status
