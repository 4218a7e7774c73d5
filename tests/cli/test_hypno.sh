#!/bin/bash
# somna hypno: statistics (text, --json with exactly the documented keys),
# malformed input, lights window, --plot, --compare.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

expect_exit 0 "$SOMNA" hypno --help
expect_grep "Usage: somna hypno" "$TMP/out"
expect_exit 1 "$SOMNA" hypno
expect_exit 1 "$SOMNA" hypno --format nope x.txt
expect_exit 1 "$SOMNA" hypno --epoch abc x.txt
expect_exit 1 "$SOMNA" hypno --compare only_one.txt
expect_exit 2 "$SOMNA" hypno "$TMP/does-not-exist.txt"

# Hand-worked hypnogram (YASA integers, 30-s epochs):
# W W N1 N2 N2 W W W W W N2 ART N2 REM W N2 N2 W W
printf '0\n0\n1\n2\n2\n0\n0\n0\n0\n0\n2\n-1\n2\n4\n0\n2\n2\n0\n0\n' > "$TMP/h.txt"
expect_exit 0 "$SOMNA" hypno "$TMP/h.txt" --json
cp "$TMP/out" "$TMP/h.json"
if [ -x "$PY" ]; then
  "$PY" - "$TMP/h.json" <<'PYEOF' || fail "JSON keys/values of the hand-worked hypnogram"
import json, sys
d = json.load(open(sys.argv[1]))
keys = ["TIB","SPT","TST","WASO","SOL","SOL_persistent_5","SOL_persistent_10","Lat_N1","Lat_N2","Lat_N3",
        "Lat_REM","REM_latency_from_onset","SE","SME","N1","N2","N3","REM","W_in_SPT","N1_pct","N2_pct",
        "N3_pct","REM_pct","awakenings","awakenings_2min","SFI","stage_shifts","transition_matrix",
        "unscored_min","epoch_s","n_epochs"]
assert list(d.keys()) == keys, sorted(set(d) ^ set(keys))
want = {"TIB": 9.5, "SPT": 7.5, "TST": 4.0, "WASO": 3.0, "SOL": 1.0, "Lat_N1": 1.0, "Lat_N2": 1.5,
        "Lat_REM": 6.5, "REM_latency_from_onset": 5.5, "awakenings": 2, "awakenings_2min": 1, "SFI": 30.0,
        "stage_shifts": 8, "unscored_min": 0.5, "epoch_s": 30, "n_epochs": 19, "N2_pct": 75.0}
for k, v in want.items():
    assert abs(d[k] - v) < 1e-12, (k, d[k], v)
for k in ["Lat_N3", "SOL_persistent_5", "SOL_persistent_10"]:
    assert d[k] is None, k
assert d["transition_matrix"]["W"]["W"] == 6 and d["transition_matrix"]["N2"]["REM"] == 1
PYEOF
fi
expect_grep "Lat_N3 is null: no N3 epoch" "$TMP/err"
expect_exit 0 "$SOMNA" hypno "$TMP/h.txt"
expect_grep "^Lat_N3 *null (no N3 epoch in the window)" "$TMP/out"
expect_grep "^TST *4 min" "$TMP/out"

# window: lights-off 60 s (epoch 2), lights-on 510 s (epochs 2..16)
expect_exit 0 "$SOMNA" hypno "$TMP/h.txt" --lights-off 60 --lights-on 510 --json
expect_grep '"TIB": 7.5' "$TMP/out"
expect_grep '"SOL": 0,' "$TMP/out"
# clock times need a start time
expect_exit 2 "$SOMNA" hypno "$TMP/h.txt" --lights-off 22:00
expect_grep "no start time" "$TMP/err"
expect_exit 1 "$SOMNA" hypno "$TMP/h.txt" --lights-off 25:99

# malformed: unknown label names file and line; nothing on stdout
printf 'W\nN2\nN7\n' > "$TMP/bad.txt"
expect_exit 2 "$SOMNA" hypno "$TMP/bad.txt" --json
expect_grep "bad.txt:3: unknown stage label 'N7'" "$TMP/err"
[ -s "$TMP/out" ] && fail "output written for a malformed hypnogram"
printf 'onset,duration,stage\n0,30,W\n30,60,N2\n60,30,N2\n' > "$TMP/ovl.csv"
expect_exit 2 "$SOMNA" hypno "$TMP/ovl.csv"
expect_grep "ovl.csv: line 4: .*overlaps" "$TMP/err"
printf 'onset,duration,stage\n0,30,W\n90,30,N2\n' > "$TMP/gap.csv"
expect_exit 2 "$SOMNA" hypno "$TMP/gap.csv"
expect_grep "gap of 60 s" "$TMP/err"
expect_exit 0 "$SOMNA" hypno "$TMP/gap.csv" --fill-gaps --json
expect_grep '"unscored_min": 1' "$TMP/out"

# plot: SVG and PNG written; bad extension or directory -> exit 2, nothing written
expect_exit 0 "$SOMNA" hypno "$TMP/h.txt" --plot "$TMP/h.svg"
expect_grep "<svg" "$TMP/h.svg"
expect_exit 0 "$SOMNA" hypno "$TMP/h.txt" --plot "$TMP/h.png"
[ "$(head -c 4 "$TMP/h.png" | od -An -c | tr -d ' ')" = "211PNG" ] || fail "PNG signature"
expect_exit 2 "$SOMNA" hypno "$TMP/h.txt" --plot "$TMP/h.pdf"
expect_exit 2 "$SOMNA" hypno "$TMP/h.txt" --plot "$TMP/nodir/h.svg"
[ -e "$TMP/nodir/h.svg" ] && fail "partial plot left behind"

# compare: kappa of the hand example = 7/13
printf 'W\nW\nN1\nN2\nN2\nN3\nR\nR\nMT\n' > "$TMP/a.txt"
printf 'W\nN1\nN1\nN2\nN3\nN3\nR\nW\nN2\n' > "$TMP/b.txt"
expect_exit 0 "$SOMNA" hypno --compare "$TMP/a.txt" "$TMP/b.txt" --json
expect_grep '"kappa": 0.53846153846153' "$TMP/out"
expect_grep '"accuracy": 0.625' "$TMP/out"
expect_grep '"n_excluded": 1' "$TMP/out"
printf 'W\nN2\n' > "$TMP/short.txt"
expect_exit 2 "$SOMNA" hypno --compare "$TMP/a.txt" "$TMP/short.txt"
expect_grep "different lengths" "$TMP/err"

# --common: aligned by start clock. A = W W N2 N2 N2 from 22:00:00, B = W N2 N2 N1 from 22:00:30:
# A[2..5] vs B: 3 of 4 agree; kappa = (3/4 - 7/16) / (1 - 7/16) = 5/9
printf 'onset,duration,stage\n22:00:00,60,W\n22:01:00,90,N2\n' > "$TMP/ca.csv"
printf 'onset,duration,stage\n22:00:30,30,W\n22:01:00,60,N2\n22:02:00,30,N1\n' > "$TMP/cb.csv"
expect_exit 2 "$SOMNA" hypno --compare "$TMP/ca.csv" "$TMP/cb.csv"
expect_exit 0 "$SOMNA" hypno --compare --common "$TMP/ca.csv" "$TMP/cb.csv" --json
expect_grep '"n_epochs": 4' "$TMP/out"
expect_grep '"kappa": 0.5555555555555' "$TMP/out"
expect_grep "A from epoch 2, B from epoch 1" "$TMP/err"
expect_exit 1 "$SOMNA" hypno --common "$TMP/ca.csv"

# several files: one TSV row per night, NA for null; a bad file fails the whole table
expect_exit 0 "$SOMNA" hypno "$TMP/h.txt" "$TMP/b.txt"
[ "$(wc -l < "$TMP/out")" = 3 ] || fail "cohort table should have a header and 2 rows"
expect_grep "^file	TIB	SPT	TST" "$TMP/out"
expect_grep "h.txt	9.5	7.5	4	3	1	NA	NA	1	1.5	NA	6.5" "$TMP/out"
expect_exit 2 "$SOMNA" hypno "$TMP/h.txt" "$TMP/bad.txt"
[ -s "$TMP/out" ] && fail "partial cohort table written"
expect_exit 0 "$SOMNA" hypno --json "$TMP/h.txt" "$TMP/b.txt"
expect_grep '"file": ' "$TMP/out"

# real files (skip this part when ../shared/data is absent)
if [ -e "$DATA/noxturnal-psg-rsleep/noxturnal_events_example_unicode.csv" ]; then
  NOX="$DATA/noxturnal-psg-rsleep/noxturnal_events_example_unicode.csv"
  expect_exit 2 "$SOMNA" hypno "$NOX"
  expect_grep "line 540: gap of 30 s" "$TMP/err"
  # rsleep: TST 572.5, latency 54.5, REM latency 107; lights-off 22:40 shortens SOL by 10 min
  expect_exit 0 "$SOMNA" hypno --fill-gaps "$NOX" --json
  expect_grep '"TST": 572.5' "$TMP/out"
  expect_grep '"SOL": 54.5' "$TMP/out"
  expect_grep '"REM_latency_from_onset": 107' "$TMP/out"
  expect_exit 0 "$SOMNA" hypno --fill-gaps "$NOX" --lights-off 22:40 --json
  expect_grep '"SOL": 44.5' "$TMP/out"
  expect_exit 2 "$SOMNA" hypno --fill-gaps "$NOX" --lights-off 22:00
  expect_grep "outside the hypnogram (22:30:00 to 10:58:30)" "$TMP/err"
  expect_exit 0 "$SOMNA" hypno "$DATA/sleep-edf-hypnograms/sleep-cassette/SC4001EC-Hypnogram.edf" --json
  expect_grep '"TST": 326.5' "$TMP/out"
  expect_exit 0 "$SOMNA" hypno "$DATA/dreams-spindles/Hypnogram_excerpt1.txt" --epoch 30 --json
  expect_grep '"n_epochs": 60' "$TMP/out"
fi
finish
