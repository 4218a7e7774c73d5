#!/usr/bin/env bash
# somna simulate: usage errors, refusals without partial output, the truth
# files agree with the requested parameters and with each other, and the
# same seed gives the same bytes.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "$SOMNA" simulate --help
expect_grep "simulate night" "$TMP/out"
expect_exit 0 "$SOMNA" help simulate
expect_exit 1 "$SOMNA" simulate
expect_exit 1 "$SOMNA" simulate bogus
expect_exit 1 "$SOMNA" simulate night --line-noise 55 -o "$TMP/x"
expect_grep "50 or 60" "$TMP/err"
expect_exit 1 "$SOMNA" simulate night --seed abc -o "$TMP/x"
expect_exit 1 "$SOMNA" simulate study --design zigzag -o "$TMP/x"
expect_exit 1 "$SOMNA" simulate study --effect-sol 1,2 -o "$TMP/x"
expect_grep "2 values for 3 conditions" "$TMP/err"

# impossible night: latency + sleep longer than the time in bed -> exit 2, nothing written
expect_exit 2 "$SOMNA" simulate night -o "$TMP/bad" --sol 100 --efficiency 0.9
expect_grep "sleep-onset latency" "$TMP/err"
[ ! -e "$TMP/bad/night.edf" ] || fail "a refused night left $TMP/bad/night.edf"
expect_exit 2 "$SOMNA" simulate night -o "$TMP/bad" --nap 120
expect_grep "nap length" "$TMP/err"

# a 45-min nap, SOL 6 min, efficiency 0.7: 90 epochs, 12 wake epochs first,
# round(0.7 * 90) = 63 sleep epochs = 31.5 min
expect_exit 0 "$SOMNA" simulate night -o "$TMP/nap" --nap 45 --sol 6 --efficiency 0.7 --seed 5 --json
expect_grep '"sol_min": 6' "$TMP/out"
expect_grep '"tst_min": 31.5' "$TMP/out"
expect_grep '"tib_min": 45' "$TMP/out"
h="$TMP/nap/nap.hypnogram.tsv"
[ "$(tail -n +2 "$h" | wc -l)" = 90 ] || fail "hypnogram has $(tail -n +2 "$h" | wc -l) epochs, want 90"
first=$(awk -F'\t' 'NR > 1 && $3 >= 1 { print $1; exit }' "$h")
[ "$first" = 12 ] || fail "first sleep epoch $first, want 12"
sleep_epochs=$(awk -F'\t' 'NR > 1 && $3 >= 1' "$h" | wc -l)
[ "$sleep_epochs" = 63 ] || fail "$sleep_epochs sleep epochs, want 63"
# R peaks: strictly increasing samples, mean RR plausible (40..100 bpm)
awk -F'\t' 'NR > 2 && $1 <= prev { bad = 1 } NR > 1 { prev = $1 } END { exit bad }' "$TMP/nap/nap.rpeaks.tsv" ||
  fail "R-peak samples not increasing"
n_beats=$(tail -n +2 "$TMP/nap/nap.rpeaks.tsv" | wc -l)
[ "$n_beats" -gt 1800 ] && [ "$n_beats" -lt 4500 ] || fail "$n_beats beats in 45 min"
# spindles only in N2/N3, each 11-16 Hz and 0.5-2 s
awk -F'\t' '$1 == "spindle" && ($8 != "N2" && $8 != "N3" || $6 < 11 || $6 > 16 || $4 < 0.5 || $4 > 2) { bad = 1 }
            END { exit bad }' "$TMP/nap/nap.events.tsv" || fail "a spindle outside N2/N3 or 11-16 Hz / 0.5-2 s"

# the sleep module's statistics of the simulated hypnogram (and of the EDF+
# stage annotations) equal the parameters: SOL 22, TST round(0.82 * 960) / 2,
# N3 75, awakenings round(3/h * 393.5 min) = 20; no awakening returns into N3
expect_exit 0 "$SOMNA" simulate night -o "$TMP/hs" --seed 9 --sol 22 --efficiency 0.82 --fragmentation 3 --n3 75
for f in "$TMP/hs/night.hypnogram.tsv" "$TMP/hs/night.edf"; do
  expect_exit 0 "$SOMNA" hypno "$f" --json
  for kv in '"SOL": 22,' '"TST": 393.5,' '"N3": 75,' '"awakenings": 20,'; do
    expect_grep "$kv" "$TMP/out"
  done
done
if command -v /usr/bin/python3 >/dev/null; then
  /usr/bin/python3 -c "import json,sys; assert json.load(sys.stdin)['transition_matrix']['W']['N3'] == 0" <"$TMP/out" ||
    fail "an awakening returned straight into N3"
fi

# every nap length 20..90 min works with the defaults
for m in 20 35 50 65 90; do
  expect_exit 0 "$SOMNA" simulate night -o "$TMP/nap$m" --nap "$m" --ecg-only
done

# determinism: same seed -> same bytes; another seed -> different
expect_exit 0 "$SOMNA" simulate night -o "$TMP/nap2" --nap 45 --sol 6 --efficiency 0.7 --seed 5
cmp -s "$TMP/nap/nap.edf" "$TMP/nap2/nap.edf" || fail "same seed gave different EDF files"
cmp -s "$TMP/nap/nap.events.tsv" "$TMP/nap2/nap.events.tsv" || fail "same seed gave different events"
expect_exit 0 "$SOMNA" simulate night -o "$TMP/nap3" --nap 45 --sol 6 --efficiency 0.7 --seed 6
cmp -s "$TMP/nap/nap.edf" "$TMP/nap3/nap.edf" && fail "different seeds gave the same EDF"

# ectopy: ventricular beats appear in the truth
expect_exit 0 "$SOMNA" simulate night -o "$TMP/ect" --nap 30 --sol 5 --ectopy 0.05 --ecg-only --json
nv=$(awk -F'\t' '$3 == "V"' "$TMP/ect/nap.rpeaks.tsv" | wc -l)
[ "$nv" -gt 20 ] || fail "only $nv ventricular beats at ectopy 0.05"
expect_grep '"channels": 1' "$TMP/out"

# a small study: files, sessions per design, truth
expect_exit 0 "$SOMNA" simulate study -o "$TMP/st" --n 4 --recordings none --json
expect_grep '"sessions": 12' "$TMP/out"
for f in participants.csv sessions.csv psqi.csv rcsq.csv relaxation.csv manifest.tsv truth.json; do
  [ -s "$TMP/st/$f" ] || fail "study file $f missing"
done
expect_exit 0 "$SOMNA" simulate study -o "$TMP/par" --design parallel --n 6 --recordings none --json
expect_grep '"sessions": 6' "$TMP/out"
expect_exit 0 "$SOMNA" simulate study -o "$TMP/pp" --design prepost --n 4 --recordings none
[ "$(grep -c ',post,' "$TMP/pp/psqi.csv")" = 4 ] || fail "pre-post study: expected 4 post PSQI rows"
# crossover order is a Williams design: every condition first equally often (n = 6 -> twice)
expect_exit 0 "$SOMNA" simulate study -o "$TMP/co" --n 6 --recordings none
for c in relaxation sports control; do
  k=$(awk -F, '$3 == 1 && $5 == "'$c'"' "$TMP/co/sessions.csv" | wc -l)
  [ "$k" = 2 ] || fail "condition $c first $k times in 6 participants, want 2"
done
# drifting off on the table (seed 001's subgroup): logged per massage session,
# and with --drift-effect-sol those sessions fall asleep faster by about that much
expect_exit 0 "$SOMNA" simulate study -o "$TMP/dr" --n 30 --recordings none --drift-rate 0.4 --drift-effect-sol -6
expect_grep ",drifted_off$" "$TMP/dr/sessions.csv"
if command -v /usr/bin/python3 >/dev/null; then
  /usr/bin/python3 - "$TMP/dr/truth.json" <<'PYEOF' || fail "drift subgroup not as simulated"
import json, sys
t = json.load(open(sys.argv[1]))
ss = t["sessions"]
mass = [s for s in ss if s["condition"] != "control"]
assert all(s["drifted_off"] is None for s in ss if s["condition"] == "control")
d = [s for s in mass if s["drifted_off"]]
nd = [s for s in mass if not s["drifted_off"]]
rate = len(d) / len(mass)                      # 60 sessions: SE 0.063
assert 0.2 < rate < 0.6, rate
diff = sum(s["sol_min"] for s in d) / len(d) - sum(s["sol_min"] for s in nd) / len(nd)
assert -10 < diff < -2, diff                   # -6 min, SE ~1.3 min
PYEOF
fi
expect_exit 1 "$SOMNA" simulate study -o "$TMP/dr2" --drift-rate 1.5

# named conditions: a new name starts with no effect, a default name keeps its effects
expect_exit 0 "$SOMNA" simulate study -o "$TMP/nm" --conditions massage,sports,control --effect-sol -5,0,0 \
  --n 3 --recordings none
if command -v /usr/bin/python3 >/dev/null; then
  /usr/bin/python3 -c "
import json, sys
e = {x['condition']: x for x in json.load(open(sys.argv[1]))['effects']}
assert e['massage']['sol_min'] == -5 and e['massage']['tst_min'] == 0 and e['massage']['hf_power_ratio'] == 1
assert e['sports']['emg_tone_pct'] == -7.2 and e['control']['rcsq_points'] == 0
" "$TMP/nm/truth.json" || fail "condition effects in truth.json not as requested"
  # truth.json agrees with the questionnaire files it describes
  /usr/bin/python3 - "$TMP/co" <<'PYEOF' || fail "truth.json disagrees with rcsq.csv / relaxation.csv"
import csv, json, sys
d = sys.argv[1]
t = {s["session"]: s for s in json.load(open(d + "/truth.json"))["sessions"]}
with open(d + "/rcsq.csv") as f:
    for r in csv.DictReader(f):
        m = sum(float(r["rcsq_%d" % i]) for i in range(1, 6)) / 5
        assert abs(m - t[r["session"]]["rcsq"]) < 1e-9, (r, m)
with open(d + "/relaxation.csv") as f:
    for r in csv.DictReader(f):
        s = sum(int(r["rsq_%02d" % i]) for i in range(1, 11))
        assert s == t[r["session"]]["relaxation_" + r["timepoint"]], (r, s)
PYEOF
  # Williams design: over the 6 sequences of 3 conditions every ordered pair
  # of consecutive conditions occurs equally often (first-order carry-over balance)
  /usr/bin/python3 - "$TMP/co/sessions.csv" <<'PYEOF' || fail "crossover sequences are not carry-over balanced"
import csv, sys, collections
seq = collections.defaultdict(dict)
with open(sys.argv[1]) as f:
    for r in csv.DictReader(f):
        seq[r["participant"]][int(r["period"])] = r["condition"]
pairs = collections.Counter()
for p, s in seq.items():
    order = [s[k] for k in sorted(s)]
    assert sorted(order) == ["control", "relaxation", "sports"], order
    pairs.update(zip(order, order[1:]))
assert len(pairs) == 6 and set(pairs.values()) == {2}, pairs
PYEOF
fi
if command -v /usr/bin/python3 >/dev/null; then
  /usr/bin/python3 -c "import json,sys; t=json.load(open(sys.argv[1])); assert t['design']=='crossover' and len(t['sessions'])==18" \
    "$TMP/co/truth.json" || fail "truth.json not valid JSON with 18 sessions"
fi
finish
