#!/usr/bin/env bash
# somna rpeaks on MIT-BIH record 100 (reference beats 100.atr): detection,
# outputs (-o TSV, --wfdb-out), EC57 evaluation, and refusals.
. "$(dirname "$0")/lib.sh"
need_data mitdb/100.hea

expect_exit 0 "$SOMNA" rpeaks --help
expect_grep "Usage: somna rpeaks" "$TMP/out"

# Record 100 has 2273 reference beats; AAMI-style goal Se, +P >= 99.5 %.
expect_exit 0 "$SOMNA" rpeaks "$DATA/mitdb/100" --ref atr --json
awk -F'[:,]' '/"TP"/{tp=$2} /"FN"/{fn=$2} /"FP"/{fp=$2}
  END{ if (tp+fn != 2273) exit 1; if (tp/(tp+fn) < 0.995 || tp/(tp+fp) < 0.995) exit 1 }' "$TMP/out" ||
  fail "record 100: evaluation off: $(cat "$TMP/out")"

# -o: header + one line per beat; time = sample / 360
expect_exit 0 "$SOMNA" rpeaks "$DATA/mitdb/100" -o "$TMP/peaks.tsv" --json
nb=$(awk -F'[:,]' '/"n_beats"/{print $2+0}' "$TMP/out")
[ "$(wc -l <"$TMP/peaks.tsv")" = $((nb + 1)) ] || fail "-o: $(wc -l <"$TMP/peaks.tsv") lines for $nb beats"
head -1 "$TMP/peaks.tsv" | grep -q $'^sample\ttime_s$' || fail "-o header: $(head -1 "$TMP/peaks.tsv")"
awk -F'\t' 'NR>1 && ($2 - $1/360 > 1e-6 || $1/360 - $2 > 1e-6) {bad=1} END{exit bad}' "$TMP/peaks.tsv" ||
  fail "-o: time column is not sample/360"

# --wfdb-out writes RECORD.NAME; read back as a test annotator it scores the same
for ext in hea dat atr; do ln -s "$DATA/mitdb/100.$ext" "$TMP/100.$ext"; done
expect_exit 0 "$SOMNA" rpeaks "$TMP/100" --wfdb-out det --ref atr --json
tp1=$(awk -F'[:,]' '/"TP"/{print $2+0}' "$TMP/out")
[ -s "$TMP/100.det" ] || fail "--wfdb-out: no $TMP/100.det"
expect_exit 0 "$SOMNA" rpeaks "$TMP/100" --test det --ref atr --json
tp2=$(awk -F'[:,]' '/"TP"/{print $2+0}' "$TMP/out")
[ "$tp1" = "$tp2" ] || fail "--wfdb-out round trip: TP $tp1 vs $tp2"

# --from 300 (EC57): fewer reference beats counted
expect_exit 0 "$SOMNA" rpeaks "$DATA/mitdb/100" --ref atr --from 300 --json
awk -F'[:,]' '/"TP"/{tp=$2} /"FN"/{fn=$2} END{ exit !(tp+fn < 2273 && tp+fn > 1800) }' "$TMP/out" ||
  fail "--from 300 did not restrict the comparison"

# refusals: one message naming the problem, no partial output
expect_exit 2 "$SOMNA" rpeaks "$TMP/nonexistent" -o "$TMP/none.tsv"
[ -e "$TMP/none.tsv" ] && fail "failed run left $TMP/none.tsv"
expect_grep "nonexistent" "$TMP/err"
expect_exit 2 "$SOMNA" rpeaks "$DATA/mitdb/100" --channel EEG
expect_grep "no signal 'EEG'" "$TMP/err"
expect_exit 2 "$SOMNA" rpeaks "$DATA/mitdb/100" --ref nosuchann
expect_exit 1 "$SOMNA" rpeaks "$DATA/mitdb/100" --from abc
expect_exit 1 "$SOMNA" rpeaks "$DATA/mitdb/100" --bogus
expect_exit 1 "$SOMNA" rpeaks

need_data noxturnal-psg-rsleep/subject1.edf
# A real PSG (Nox, EDF+, 89 signals, ECG at 200 Hz, 2 min): the ECG lead is
# found by its label, and the mean heart rate agrees with the device's own
# "Heart Rate" channel (signal 48: mean 67.79 bpm over the 2 min, somna info --stats).
expect_exit 0 "$SOMNA" rpeaks "$DATA/noxturnal-psg-rsleep/subject1.edf" --json
expect_grep '"channel": "ECG"' "$TMP/out"
awk -F'[:,]' '/"mean_hr_bpm"/ {v = $2} END {exit !(v > 67.79 * 0.99 && v < 67.79 * 1.01)}' "$TMP/out" ||
  fail "subject1.edf: mean HR $(grep mean_hr "$TMP/out") vs device 67.79"
finish
