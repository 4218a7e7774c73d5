#!/usr/bin/env bash
# R-peak detection on MIT-BIH (records 100-124, channel 0): somna rpeaks vs
# the WFDB software's gqrs and wqrs, in the same run, on the same records.
#   bench/rpeaks_mitdb.sh [SOMNA_BIN] [MITDB_DIR]
# Accuracy: every detector's annotations are scored by WFDB's own bxb
# (whole record, -f 0, match window 150 ms) and by somna's evaluator
# (somna rpeaks --ref atr --test ANN); Se and +P are summed over records.
# Speed: CPU time of each program per record (perf stat task-clock when perf
# works, else user + system from bash `time`, which counts whole ms), whole
# process (start, read record, detect, write annotations), best of $REPS
# runs taken in turns; ratio = gqrs / somna.  CPU rather than wall time because the
# machine is shared: wall time mostly measures the other users' load.
# The goal is per record, so the per-record ratios are summarised too
# (lowest, median, how many records reach 5x).  Process start-up is measured
# apart (somna --version, gqrs printing its usage) and a second ratio
# without it is printed.
# Needs the WFDB software built outside the repository (WFDB_PREFIX, default
# /work/peers/wfdb-install); never fetched or built by this script.
set -u
SOMNA=${1:-${SOMNA_BIN:-build/somna}}
RATIOS=
DATA=${2:-${SOMNA_SHARED_DATA:-../shared/data}/mitdb}
WFDB_PREFIX=${WFDB_PREFIX:-/work/peers/wfdb-install}
REPS=${REPS:-3}
export PATH="$WFDB_PREFIX/bin:$PATH" LD_LIBRARY_PATH="$WFDB_PREFIX/lib:$WFDB_PREFIX/lib64:${LD_LIBRARY_PATH:-}"
for tool in gqrs wqrs bxb; do
  command -v $tool >/dev/null || { echo "bench: $tool not found (set WFDB_PREFIX)"; exit 77; }
done
[ -x "$SOMNA" ] || { echo "bench: $SOMNA not built"; exit 77; }
[ -d "$DATA" ] || { echo "bench: $DATA absent"; exit 77; }
SOMNA=$(cd "$(dirname "$SOMNA")" && pwd)/$(basename "$SOMNA")
WORK=$(mktemp -d /tmp/somna-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

if perf stat -x, -e task-clock true >/dev/null 2>&1; then CLOCK=perf; else CLOCK=time; fi
cpu_ms() { # CPU time in ms of one run of "$@"
  if [ $CLOCK = perf ]; then
    perf stat -x, -e task-clock "$@" 2>&1 >/dev/null | awk -F, '/task-clock/{t=$1; sub(/^[^0-9]*/,"",t); printf "%.2f", t}'
  else
    { TIMEFORMAT='%3U %3S'; time "$@" >/dev/null 2>&1; } 2>&1 | awk '{printf "%.1f", 1000*($1+$2)}'
  fi
}
best_ms() { # best CPU time in ms of "$@" over REPS runs
  local best= t
  for ((i = 0; i < REPS; i++)); do
    t=$(cpu_ms "$@")
    best=$(awk -v a="$best" -v d="$t" 'BEGIN{ if (a=="" || d<a) print d; else print a }')
  done
  echo "$best"
}
# bxb QRS sensitivity / positive predictivity "(a/b)" pairs -> "a b c d"
bxb_counts() {
  bxb -r "$1" -a atr "$2" -f 0 2>/dev/null |
    awk '/QRS sensitivity/ {gsub(/[()]/,"",$NF); split($NF,s,"/")}
         /QRS positive predictivity/ {gsub(/[()]/,"",$NF); split($NF,p,"/")}
         END {print s[1]+0, s[2]+0, p[1]+0, p[2]+0}'
}
ours_counts() { # somna's evaluator on annotator $2: "TP FN FP"
  "$SOMNA" rpeaks "$1" --ref atr --test "$2" --json 2>/dev/null |
    awk -F'[:,]' '/"TP"/{tp=$2} /"FN"/{fn=$2} /"FP"/{fp=$2} END{print tp+0, fn+0, fp+0}'
}

printf '%-4s %6s | %-17s | %-17s | %-17s | %8s %8s %8s %6s\n' rec beats \
  "gqrs Se/+P (bxb)" "wqrs Se/+P (bxb)" "somna Se/+P (bxb)" gqrs_ms wqrs_ms somna_ms ratio
declare -A S=()
n_rec=0
for hea in "$DATA"/1[0-2][0-9].hea; do
  rec=$(basename "$hea" .hea)
  for ext in hea dat atr; do ln -sf "$DATA/$rec.$ext" "$rec.$ext"; done
  # the three programs take turns, so a burst of the other users' load
  # falls on all of them rather than on one program's runs
  tg= tw= ts=
  for ((r = 0; r < REPS; r++)); do
    tg=$(awk -v a="$tg" -v d="$(cpu_ms gqrs -r "$rec")" 'BEGIN{ print (a == "" || d < a) ? d : a }')
    tw=$(awk -v a="$tw" -v d="$(cpu_ms wqrs -r "$rec")" 'BEGIN{ print (a == "" || d < a) ? d : a }')
    ts=$(awk -v a="$ts" -v d="$(cpu_ms "$SOMNA" rpeaks "$rec" --channel 0 --wfdb-out somna)" 'BEGIN{ print (a == "" || d < a) ? d : a }')
  done
  line="$rec"
  for ann in qrs wqrs somna; do
    read -r a b c d <<<"$(bxb_counts "$rec" "$ann")"
    read -r tp fn fp <<<"$(ours_counts "$rec" "$ann")"
    S[$ann.sa]=$(( ${S[$ann.sa]:-0} + a )); S[$ann.sb]=$(( ${S[$ann.sb]:-0} + b ))
    S[$ann.pa]=$(( ${S[$ann.pa]:-0} + c )); S[$ann.pb]=$(( ${S[$ann.pb]:-0} + d ))
    S[$ann.tp]=$(( ${S[$ann.tp]:-0} + tp )); S[$ann.fn]=$(( ${S[$ann.fn]:-0} + fn ))
    S[$ann.fp]=$(( ${S[$ann.fp]:-0} + fp ))
    line="$line $(awk -v a=$a -v b=$b -v c=$c -v d=$d 'BEGIN{printf "%.2f/%.2f", (b?100*a/b:0), (d?100*c/d:0)}')"
    nbeats=$b
  done
  S[tg]=$(awk -v x="${S[tg]:-0}" -v y="$tg" 'BEGIN{print x+y}')
  S[tw]=$(awk -v x="${S[tw]:-0}" -v y="$tw" 'BEGIN{print x+y}')
  S[ts]=$(awk -v x="${S[ts]:-0}" -v y="$ts" 'BEGIN{print x+y}')
  RATIOS="${RATIOS:-} $(awk -v g="$tg" -v s="$ts" 'BEGIN{print g/s}')"
  set -- $line
  printf '%-4s %6s |   %-15s |   %-15s |   %-15s | %8.1f %8.1f %8.1f %5.1fx\n' "$1" "$nbeats" "$2" "$3" "$4" \
    "$tg" "$tw" "$ts" "$(awk -v g="$tg" -v s="$ts" 'BEGIN{print g/s}')"
  n_rec=$((n_rec + 1))
done
echo
echo "Summed over $n_rec records (whole records, 150 ms window):"
for ann in qrs wqrs somna; do
  name=$ann; [ $ann = qrs ] && name=gqrs
  awk -v n="$name" -v sa=${S[$ann.sa]} -v sb=${S[$ann.sb]} -v pa=${S[$ann.pa]} -v pb=${S[$ann.pb]} \
      -v tp=${S[$ann.tp]} -v fn=${S[$ann.fn]} -v fp=${S[$ann.fp]} 'BEGIN{
    printf "  %-6s bxb: Se %.3f %% (%d/%d)  +P %.3f %% (%d/%d)   somna evaluator: TP %d FN %d FP %d  Se %.3f %%  +P %.3f %%\n",
      n, 100*sa/sb, sa, sb, 100*pa/pb, pa, pb, tp, fn, fp, 100*tp/(tp+fn), 100*tp/(tp+fp)}'
done
awk -v g=${S[tg]} -v w=${S[tw]} -v s=${S[ts]} -v c=$CLOCK 'BEGIN{
  printf "CPU time (%s), all records (best of runs, whole process): gqrs %.0f ms, wqrs %.0f ms, somna %.0f ms; gqrs/somna = %.2fx, wqrs/somna = %.2fx\n", c, g, w, s, g/s, w/s}'
echo "$RATIOS" | tr ' ' '\n' | awk 'NF' | sort -g | awk '{r[NR] = $1; k += ($1 >= 5)}
  END {m = NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
       printf "Per record, gqrs/somna: lowest %.2fx, median %.2fx, highest %.2fx; %d of %d records at 5x or more\n", r[1], m, r[NR], k, NR}'
# Start-up of each process alone, best of 5 x REPS runs: gqrs printing its
# usage (exec + libwfdb), somna --version (exec + its shared libraries).
NLIB=$(ldd "$SOMNA" 2>/dev/null | wc -l)
sg=$(REPS=$((5 * REPS)) best_ms gqrs -h); ss=$(REPS=$((5 * REPS)) best_ms "$SOMNA" --version)
awk -v g=${S[tg]} -v s=${S[ts]} -v sg="$sg" -v ss="$ss" -v n=$n_rec 'BEGIN{
  printf "Process start-up: gqrs %.2f ms, somna %.2f ms.  Without it (per record: time - start-up), all records: gqrs %.0f ms, somna %.0f ms; gqrs/somna = %.2fx\n", sg, ss, g - n*sg, s - n*ss, (g - n*sg)/(s - n*ss)}'
# Load-independent cost: instructions executed for one record (valgrind).
if command -v valgrind >/dev/null && [ "${BENCH_IR:-1}" = 1 ]; then
  ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
           awk '/Collected :/ {print $NF}'; }
  rec=100
  ig=$(ir gqrs -r $rec); is=$(ir "$SOMNA" rpeaks $rec --channel 0 --wfdb-out somna); iv=$(ir "$SOMNA" version)
  awk -v g="$ig" -v s="$is" -v v="$iv" -v nl="$NLIB" 'BEGIN{
    printf "Instructions, record 100 (callgrind): gqrs %.1f M, somna rpeaks %.1f M (of which %.1f M process start-up, %d shared objects); gqrs/somna = %.2fx\n", g/1e6, s/1e6, v/1e6, nl, g/s}'
fi
