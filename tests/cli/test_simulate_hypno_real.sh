#!/usr/bin/env bash
# The sleep model against real nights: the stage shares of TST (N1, N2, N3,
# REM), TST and the number of awakenings of default simulated nights (three
# seeds) lie inside the range of the 20 expert-scored Sleep-EDF cassette
# nights (healthy adults 25-34 y, Kemp et al. 2000), all measured by the
# same sleep module (`somna hypno`).  Skips without ../shared/data.
. "$(dirname "$0")/lib.sh"
need_data sleep-edf-hypnograms/sleep-cassette/SC4001EC-Hypnogram.edf
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "SKIP: /usr/bin/python3 not available"; exit 77; }
stats() { "$SOMNA" hypno "$1" --json | "$PY" -c "
import json, sys
d = json.load(sys.stdin)
print(' '.join('%g' % d[k] for k in ('N1_pct', 'N2_pct', 'N3_pct', 'REM_pct', 'TST', 'awakenings')))"; }
for f in "$DATA"/sleep-edf-hypnograms/sleep-cassette/*-Hypnogram.edf; do
  stats "$f" >>"$TMP/real.txt" || fail "somna hypno failed on $f"
done
[ "$(wc -l <"$TMP/real.txt")" = 20 ] || fail "expected 20 real nights"
for seed in 1 2 3; do
  expect_exit 0 "$SOMNA" simulate night -o "$TMP/s$seed" --seed "$seed" --ecg-only
  stats "$TMP/s$seed/night.hypnogram.tsv" >>"$TMP/sim.txt"
done
"$PY" - "$TMP/real.txt" "$TMP/sim.txt" <<'PYEOF' || fail "simulated architecture outside the real nights' range"
import sys
names = ["N1 %", "N2 %", "N3 %", "REM %", "TST min", "awakenings"]
real = [list(map(float, l.split())) for l in open(sys.argv[1])]
sim = [list(map(float, l.split())) for l in open(sys.argv[2])]
bad = 0
for i, n in enumerate(names):
    lo, hi = min(r[i] for r in real), max(r[i] for r in real)
    vals = [s[i] for s in sim]
    ok = all(lo <= v <= hi for v in vals)
    bad += not ok
    print("%-11s real %6.1f .. %6.1f   simulated %s  %s" % (n, lo, hi, " ".join("%.1f" % v for v in vals),
                                                            "ok" if ok else "OUTSIDE"))
sys.exit(bad)
PYEOF
finish
