#!/usr/bin/env bash
# End to end on a simulated crossover (somna simulate study, seed-000 shape):
# enrol -> sessions -> manifest -> process (hypnograms -> sleep statistics,
# R-peak files -> HRV) -> RCSQ items scored -> analyze -> report.  The
# simulated effects must lie inside the 95 % CIs of our estimates: with 8
# contrasts, one miss is expected about a third of the time, so at most one
# is allowed (the seed is fixed, so the test is deterministic); the large
# simulated effects must also come out significant with the right sign.
. "$(dirname "$0")/lib.sh"
"$SOMNA" simulate study --help >/dev/null 2>&1 || { echo "SKIP: somna simulate study not available"; exit 77; }
S="$TMP/sim"
DB="$TMP/s.db"
expect_exit 0 "$SOMNA" simulate study -o "$S" --n 15 --recordings ecg --seed 3
cat >"$TMP/study.txt" <<'T'
name = Simulated seed-000 crossover
design = crossover
seed = 3
psqi_min = 5
condition = relaxation | Relaxation massage | swedish | 30 | light | whole body
condition = sports | Sports massage | sports | 30 | firm | legs
condition = control | No massage | control | 0
outcomes = SOL, TST, N3, HF, RMSSD, RCSQ
T
expect_exit 0 "$SOMNA" study init --db "$DB" "$TMP/study.txt"
expect_exit 0 "$SOMNA" study enrol --db "$DB" --csv "$S/participants.csv"
expect_grep "15 screened, 15 enrolled" "$TMP/out"
expect_exit 0 "$SOMNA" study import --db "$DB" sessions "$S/sessions.csv"
expect_exit 0 "$SOMNA" study import --db "$DB" manifest "$S/manifest.tsv"
expect_exit 0 "$SOMNA" study process --db "$DB"
expect_grep "90 processed, 0 failed" "$TMP/out"
expect_exit 0 "$SOMNA" study import --db "$DB" questionnaire "$S/rcsq.csv" --instrument rcsq
expect_exit 0 "$SOMNA" study analyze --db "$DB" --json
cp "$TMP/out" "$TMP/analysis.json"
/usr/bin/python3 - "$TMP/analysis.json" "$S/truth.json" <<'PY' || fail "simulated effects not recovered"
import json, sys
a = json.load(open(sys.argv[1])); t = json.load(open(sys.argv[2]))
truth = {e["condition"]: e for e in t["effects"]}
keys = {"SOL": "sol_min", "TST": "tst_min", "N3": "n3_min", "RCSQ": "rcsq_points"}
bad = 0
for e in a["effects"]:
    k = keys.get(e["measure"])
    if not k or e["reference"] != "control":   # the 8 contrasts vs the reference
        continue
    want = truth[e["condition"]][k] - truth[e["reference"]][k]
    ok = e["ci_low"] <= want <= e["ci_high"]
    print(f'{e["measure"]:5} {e["condition"]:10} true {want:+.2f}  estimate {e["estimate"]:+.2f} '
          f'[{e["ci_low"]:+.2f}, {e["ci_high"]:+.2f}]  p={e["p"]:.3g}  {"ok" if ok else "MISSED"}')
    bad += not ok
# HF power: the simulated ratio is inside the CI of the ratio of means? (reported as % change)
hf = [e for e in a["effects"] if e["measure"] == "HF" and e["condition"] == "relaxation"][0]
print("HF relaxation: %% change %.1f (simulated %+.0f %%)" % (hf["pct_change"], 100 * (truth["relaxation"]["hf_power_ratio"] - 1)))
assert hf["p"] < 0.05 and hf["pct_change"] > 0
sig = {(e["measure"], e["condition"]): e for e in a["effects"]}
for m, c, sign in [("SOL", "relaxation", -1), ("N3", "relaxation", 1), ("RCSQ", "relaxation", 1)]:
    e = sig[(m, c)]
    assert e["p"] < 0.05 and e["estimate"] * sign > 0, (m, c, e["p"], e["estimate"])
# every pair of conditions: sports vs relaxation is the difference of the two
# contrasts vs control (complete data), and the mixed model re-levelled on
# relaxation gives the difference of the two coefficients
for m in keys:
    pair = [e for e in a["effects"] if e["measure"] == m and e["condition"] == "sports" and e["reference"] == "relaxation"][0]
    s_c = [e for e in a["effects"] if e["measure"] == m and e["condition"] == "sports" and e["reference"] == "control"][0]
    r_c = [e for e in a["effects"] if e["measure"] == m and e["condition"] == "relaxation" and e["reference"] == "control"][0]
    assert abs(pair["estimate"] - (s_c["estimate"] - r_c["estimate"])) < 1e-9, (m, pair["estimate"])
    want = s_c["lmm_estimate"] - r_c["lmm_estimate"]
    assert abs(pair["lmm_estimate"] - want) <= 1e-6 * max(1, abs(want)), (m, pair["lmm_estimate"], want)
print("misses:", bad, "of 8")
sys.exit(1 if bad > 1 else 0)
PY
expect_exit 0 "$SOMNA" report --db "$DB" -o "$TMP/report.html"
expect_grep "Hypnograms" "$TMP/report.html"
# ---- full PSG recordings: chin EMG tone per stage and ECG-detected HRV ----------------------------
F="$TMP/full"
expect_exit 0 "$SOMNA" simulate study -o "$F" --n 3 --seed 5
cut -f1-7 "$F/manifest.tsv" >"$F/manifest_nobeats.tsv"   # without the truth R-peak files
for m in manifest_nobeats manifest; do
  expect_exit 0 "$SOMNA" study init --db "$TMP/$m.db" "$TMP/study.txt"
  expect_exit 0 "$SOMNA" study enrol --db "$TMP/$m.db" --csv "$F/participants.csv"
  expect_exit 0 "$SOMNA" study import --db "$TMP/$m.db" manifest "$F/$m.tsv"
  expect_exit 0 "$SOMNA" study process --db "$TMP/$m.db"
  expect_grep ", 0 failed" "$TMP/out"
  expect_exit 0 "$SOMNA" study export --db "$TMP/$m.db" --table outcomes
  cp "$TMP/out" "$TMP/$m.csv"
done
[ "$(grep -c ',EMG_tone_N2,emg,' "$TMP/manifest_nobeats.csv")" = 9 ] || fail "EMG tone missing for some nights"
# HF from detected R peaks agrees with HF from the simulator's true R peaks (same nights)
/usr/bin/python3 - "$TMP/manifest_nobeats.csv" "$TMP/manifest.csv" <<'PY' || fail "detected-beat HRV differs from true-beat HRV"
import csv, sys
def hf(path, source):
    return {(r["participant"], r["occasion"]): float(r["value"]) for r in csv.DictReader(open(path))
            if r["measure"] == "HF" and r["source"] == source}
det, true = hf(sys.argv[1], "hrv-detected"), hf(sys.argv[2], "hrv")
assert len(det) == 9 and det.keys() == true.keys(), (len(det), len(true))
worst = max(abs(det[k] / true[k] - 1) for k in det)
print("HF detected vs true beats: worst relative difference %.4f over %d nights" % (worst, len(det)))
assert worst < 0.02
PY
finish
