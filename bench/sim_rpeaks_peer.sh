#!/usr/bin/env bash
# Is the simulator's R-peak truth what a reference detector finds?  An 8-h
# ECG-only night (1 % premature ventricular beats, movement artefacts) is
# simulated, converted to a WFDB record with the WFDB tools, and the
# PhysioNet detector gqrs is scored against somna's truth with bxb (AAMI
# EC57 beat-by-beat, 150-ms window) — the same run also times both.
# somna rpeaks runs on the same WFDB record and on the EDF, scored the same
# way; CPU time of each detector process (best of 3, perf task-clock).
#   bench/sim_rpeaks_peer.sh
# Needs the WFDB software: WFDB_BIN (default /work/peers/wfdb-install/bin,
# built outside the repository; see the brief).  Environment: SOMNA_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
somna=${SOMNA_BIN:-build/somna}
wfdb=${WFDB_BIN:-/work/peers/wfdb-install/bin}
[ -x "$somna" ] || { echo "build somna first (cmake --build build)" >&2; exit 1; }
somna=$(readlink -f "$somna")
[ -x "$wfdb/gqrs" ] || { echo "WFDB software not found in $wfdb (set WFDB_BIN)" >&2; exit 1; }
export PATH="$wfdb:$PATH" LD_LIBRARY_PATH="$wfdb/../lib:${LD_LIBRARY_PATH:-}"
work=$(mktemp -d "${TMPDIR:-/tmp}/somna-rpeaks-peer.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
t0=$(date +%s.%N)
"$somna" simulate night -o . --name sim --ecg-only --artefacts --ectopy 0.01 --seed 11 >/dev/null
t1=$(date +%s.%N)
# one 256-Hz signal record (the EDF also holds the annotation signal)
edf2mit -i sim.edf -r multi >/dev/null 2>&1
rdsamp -r multi -H -s 0 -p | awk '{print $2}' >ecg.txt
wrsamp -F 256 -G 1000 -x 1000 -o ecg -i ecg.txt 0
awk -F'\t' 'NR > 1 { printf "    0:00.000 %8d %5s %4d %4d %4d\n", $1, $3, 0, 0, 0 }' sim.rpeaks.tsv | wrann -r ecg -a truth
t2=$(date +%s.%N)
gqrs -r ecg >/dev/null 2>&1
t3=$(date +%s.%N)
beats=$(($(wc -l <sim.rpeaks.tsv) - 1))
movements=$(awk -F'\t' '$1 == "artefact"' sim.events.tsv | wc -l)
echo "simulated: 8-h ECG, $beats beats ($(awk -F'\t' '$3 == "V"' sim.rpeaks.tsv | wc -l) ventricular), $movements movement artefacts"
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "somna simulate (8-h ECG-only night)   %.2f s\n", b - a }'
awk -v a="$t2" -v b="$t3" 'BEGIN { printf "gqrs on the same ECG                  %.2f s\n", b - a }'
echo "gqrs against somna's R-peak truth (bxb, 150-ms window):"
bxb -r ecg -a truth qrs -f 0 2>/dev/null | grep -E "QRS sensitivity|QRS positive predictivity"
# somna's detector on the same record (WFDB, format 16) and on the EDF itself
best_cpu() { # best CPU ms of 3 runs of "$@"
  local b=
  for _ in 1 2 3; do
    t=$(perf stat -x, -e task-clock "$@" 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}')
    [ -n "$t" ] || { TIMEFORMAT='%3U %3S'; t=$({ time "$@" >/dev/null 2>&1; } 2>&1 | awk '{print 1000 * ($1 + $2)}'); }
    b=$(awk -v a="$b" -v t="$t" 'BEGIN { print (a == "" || t < a) ? t : a }')
  done
  echo "$b"
}
"$somna" rpeaks ecg --wfdb-out somna >/dev/null
tg=$(best_cpu gqrs -r ecg)
ts=$(best_cpu "$somna" rpeaks ecg --wfdb-out somna)
te=$(best_cpu "$somna" rpeaks sim.edf --channel ECG -o edf.tsv)
echo "somna rpeaks against the same truth (bxb, 150-ms window):"
bxb -r ecg -a truth somna -f 0 2>/dev/null | grep -E "QRS sensitivity|QRS positive predictivity"
awk -v g="$tg" -v s="$ts" -v e="$te" 'BEGIN {
  printf "CPU ms, 8-h night: gqrs %.1f, somna rpeaks (WFDB record) %.1f, somna rpeaks (EDF) %.1f; gqrs/somna = %.1fx\n", g, s, e, g / s }'
