#!/bin/bash
# Sleep statistics for a cohort: read + compute every night, one process.
# Prints our wall time (process start to exit, reading included) and, when
# YASA's sleepstats.py has been fetched to $YASA_DIR (outside the repo), the
# time YASA needs for the same nights in one Python process (file reading +
# sleep_statistics, imports excluded), and the ratio.
#   usage: bench/hypno_stats.sh [NIGHTS]      (default 600)
set -eu
NIGHTS=${1:-600}
BIN=${SOMNA_BIN:-build/somna}
DATA=${SOMNA_SHARED_DATA:-../shared/data}
YASA_DIR=${YASA_DIR:-/work/peers/yasa}
PY=/usr/bin/python3
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
[ -x "$BIN" ] || { echo "build the CLI first (or set SOMNA_BIN): $BIN not found" >&2; exit 1; }
[ -d "$DATA/sleep-edf-hypnograms" ] || { echo "SKIP: $DATA absent" >&2; exit 77; }

# distinct real nights: Sleep-EDF EDF+ (21), Sleep-EDF strings (39), Walch (31), YASA samples (2)
mapfile -t base < <(ls "$DATA"/sleep-edf-hypnograms/sleep-cassette/*.edf \
  "$DATA"/sleep-edf-hypnograms/sleep-telemetry/*.edf \
  "$DATA"/sleep-edf-hypnograms/skjerns_epoch_strings/*.txt \
  "$DATA"/walch-sleep-accel-psg-labels/*_psg_labels.out \
  "$DATA"/yasa-legacy-samples/*hypno_30s.txt)
files=()
while [ "${#files[@]}" -lt "$NIGHTS" ]; do
  for f in "${base[@]}"; do
    [ "${#files[@]}" -lt "$NIGHTS" ] && files+=("$f")
  done
done
epochs=$("$BIN" hypno "${files[@]}" | awk -F'\t' 'NR>1 {s += $NF} END {print s}')

best=999
bestcpu=999
TIMEFORMAT='%R %U %S'
for run in 1 2 3; do
  read -r real user sys < <( { time "$BIN" hypno "${files[@]}" > /dev/null; } 2>&1 )
  cpu=$(calc "$user + $sys")
  best=$(calc "($real < $best) ? $real : $best")
  bestcpu=$(calc "($cpu < $bestcpu) ? $cpu : $bestcpu")
done
printf 'nights: %d (%d distinct files, %d epochs in total)\n' "${#files[@]}" "${#base[@]}" "$epochs"
printf 'somna hypno:            %.3f s wall, %.3f s CPU  (%.3f ms wall per night, best of 3, process start included)\n' \
  "$best" "$bestcpu" "$(calc "1000 * $best / ${#files[@]}")"

if [ -f "$YASA_DIR/yasa_sleepstats.py" ] && [ -x "$PY" ]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  printf '%s\n' "${files[@]}" > "$tmp/files"
  cat > "$tmp/peer.py" <<'PYEOF'
import sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import mne
from yasa_sleepstats import sleep_statistics
mne.set_log_level("ERROR")
MAP = {"Sleep stage W": 0, "Sleep stage 1": 1, "Sleep stage 2": 2, "Sleep stage 3": 3,
       "Sleep stage 4": 3, "Sleep stage R": 4, "Sleep stage ?": -2, "Movement time": -1}
CH = {"W": 0, "1": 1, "2": 2, "3": 3, "4": 3, "R": 4, "?": -2, "M": -1}
LAB = {"W": 0, "N1": 1, "N2": 2, "N3": 3, "R": 4, "REM": 4}
WALCH = {0: 0, 1: 1, 2: 2, 3: 3, 4: 3, 5: 4}
def load(p):
    if p.endswith(".edf"):
        a = mne.read_annotations(p)
        return np.concatenate([[MAP[d]] * int(round(u / 30)) for d, u in zip(a.description, a.duration) if d in MAP])
    if p.endswith("psg_labels.out"):
        return np.array([WALCH[int(v)] for v in np.loadtxt(p)])
    txt = open(p).read().split()
    if len(txt) == 1:
        return np.array([CH[c] for c in txt[0]])
    v = [t for t in txt if not t.startswith("#")] if not txt[0].startswith("#") else \
        [l.strip() for l in open(p) if l.strip() and not l.startswith("#")]
    return np.array([LAB[t] if t in LAB else int(t) for t in v])
files = open(sys.argv[2]).read().split("\n")[:-1]
best, bestcpu = 1e9, 1e9
for run in range(3):
    t0, c0 = time.perf_counter(), time.process_time()
    for p in files:
        sleep_statistics(load(p), 1 / 30)
    best = min(best, time.perf_counter() - t0)
    bestcpu = min(bestcpu, time.process_time() - c0)
print(best, bestcpu)
PYEOF
  read -r peer peercpu < <("$PY" "$tmp/peer.py" "$YASA_DIR" "$tmp/files")
  printf 'YASA sleep_statistics:  %.3f s wall, %.3f s CPU  (%.3f ms wall per night, best of 3, reading included)\n' \
    "$peer" "$peercpu" "$(calc "1000 * $peer / ${#files[@]}")"
  printf 'ratio YASA / somna:     %.1f x wall, %.1f x CPU\n' "$(calc "$peer / $best")" \
    "$(calc "$peercpu / $bestcpu")"
else
  echo "YASA: not run (fetch github:raphaelvallat/yasa and copy src/yasa/sleepstats.py to $YASA_DIR/yasa_sleepstats.py)"
fi
