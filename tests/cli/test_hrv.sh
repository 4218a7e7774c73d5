#!/usr/bin/env bash
# somna hrv: get_hrv numbers on MIT-BIH 100, a hand-computed RR file, nulls
# with reasons, per-stage and per-window output, the Toolbox mode, refusals.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "$SOMNA" hrv --help
expect_grep "Usage: somna hrv" "$TMP/out"

# Hand-computed: RR 800 820 780 800 850 750 ms.  AVNN 800; SDNN sqrt(0.0058/5)
# = 34.0588 ms; successive differences 20 -40 20 50 -100 ms: RMSSD
# sqrt(14900/5) = 54.5894 ms; pNN50 = 1/5 (50 is not > 50) = 20 %; HR 75.
printf 'rr_ms\n800\n820\n780\n800\n850\n750\n' >"$TMP/rr.csv"
expect_exit 0 "$SOMNA" hrv "$TMP/rr.csv" --json
awk -F'[:,]' '
  function near(v, w, tol) { return (v - w < tol && w - v < tol) }
  /"AVNN"/ {a = near($2, 800, 1e-9)} /"SDNN"/ {s = near($2, 34.0587727, 1e-6)}
  /"RMSSD"/ {r = near($2, 54.5893763, 1e-6)} /"pNN50"/ {p = near($2, 20, 1e-9)} /"HR"/ {h = near($2, 75, 1e-9)}
  END {exit !(a && s && r && p && h)}' "$TMP/out" || fail "hand-computed RR: $(head -20 "$TMP/out")"
# 5 s of data: VLF/LF are null with a reason, never a number
expect_grep '"VLF": null' "$TMP/out"
expect_grep '"VLF": "VLF needs' "$TMP/out"
# the same intervals in seconds without a header (unit detected)
printf '0.8\n0.82\n0.78\n0.8\n0.85\n0.75\n' >"$TMP/rr.txt"
expect_exit 0 "$SOMNA" hrv "$TMP/rr.txt" --json
awk -F'[:,]' '/"AVNN"/ {v = $2} END {exit !(v - 800 < 1e-9 && 800 - v < 1e-9)}' "$TMP/out" ||
  fail "RR in seconds: AVNN $(grep AVNN "$TMP/out")"

# refusals
printf 'rr\n0.8\nabc\n' >"$TMP/bad.csv"
expect_exit 2 "$SOMNA" hrv "$TMP/bad.csv"
expect_grep "bad.csv:3" "$TMP/err"
printf 'x,y\n1,2\n' >"$TMP/nocol.csv"
expect_exit 2 "$SOMNA" hrv "$TMP/nocol.csv"
expect_grep "no RR/IBI column" "$TMP/err"
expect_exit 2 "$SOMNA" hrv "$TMP/missing.csv"
expect_exit 1 "$SOMNA" hrv "$TMP/rr.csv" --toolbox
expect_exit 1 "$SOMNA" hrv "$TMP/rr.csv" --window -5

need_data mitdb/100.atr
# get_hrv -M 100 atr (PhysioNet HRV Toolkit, numbers in issue 5): time domain
# within 0.1 %, bands within 2 %
expect_exit 0 "$SOMNA" hrv "$DATA/mitdb/100" --ann atr --json
awk -F'[:,]' '
  function rel(v, w) { d = (v - w) / w; return d < 0 ? -d : d }
  /"NN_RR"/ {e += rel($2, 0.96963) > 1e-3} /"AVNN"/ {e += rel($2, 794.999) > 1e-3}
  /"SDNN"/ {e += rel($2, 35.9699) > 1e-3} /"SDANN"/ {e += rel($2, 35.8452) > 1e-3}
  /"SDNNIDX"/ {e += rel($2, 30.7887) > 1e-3} /"RMSSD"/ {e += rel($2, 27.4969) > 1e-3}
  /"pNN50"/ {e += rel($2, 5.35055) > 1e-3} /"TOTPWR"/ {e += rel($2, 1297.09) > 0.02}
  /"ULF"/ {e += rel($2, 327.038) > 0.02} /"VLF"/ {e += rel($2, 340.738) > 0.02}
  /"LF"/ {e += rel($2, 77.4454) > 0.02} /"HF"/ {e += rel($2, 551.867) > 0.02}
  /"LF_HF"/ {e += rel($2, 0.140333) > 0.02}
  END {exit e}' "$TMP/out" || fail "mitdb 100 vs get_hrv: $(head -30 "$TMP/out")"

# --filter removes some intervals (record 100 has 33 A and 1 V beats, whose
# neighbours are already non-NN; the filter may only remove, never add)
n0=$(awk -F'[:,]' '/"n_nn"/ {print $2 + 0; exit}' "$TMP/out")
expect_exit 0 "$SOMNA" hrv "$DATA/mitdb/100" --ann atr --filter --json
n1=$(awk -F'[:,]' '/"n_nn"/ {print $2 + 0; exit}' "$TMP/out")
expect_grep '"n_filtered"' "$TMP/out"
[ "$n1" -le "$n0" ] && [ "$n1" -gt $((n0 * 9 / 10)) ] || fail "--filter: NN $n0 -> $n1"
# --welch: the HF band of the same series by another estimator stays the same order
expect_exit 0 "$SOMNA" hrv "$DATA/mitdb/100" --ann atr --welch --json
expect_grep '"psd": "welch"' "$TMP/out"
awk -F'[:,]' '/"HF":/ {v = $2} END {exit !(v > 551.867 / 2 && v < 551.867 * 2)}' "$TMP/out" ||
  fail "--welch HF $(grep '"HF":' "$TMP/out") far from the Lomb value"

# per stage: first 30 epochs W, last 31 N2 (one stage per line)
{ for i in $(seq 30); do echo W; done; for i in $(seq 31); do echo N2; done; } >"$TMP/hyp.txt"
expect_exit 0 "$SOMNA" hrv "$DATA/mitdb/100" --ann atr --hypno "$TMP/hyp.txt" --json
expect_grep '"stages"' "$TMP/out"
expect_grep '"N3": {' "$TMP/out"
expect_grep 'fewer than 2 NN intervals' "$TMP/out"
# W and N2 pool to the whole: their NN counts sum to at most the whole's
awk -F'[:,]' '/"n_nn"/ {n[++k] = $2} END {exit !(n[2] > 900 && n[4] > 900 && n[2] + n[4] <= n[1])}' "$TMP/out" ||
  fail "--hypno: stage NN counts: $(grep n_nn "$TMP/out" | tr -d ' \n')"

# per window: 30:05 record, 300-s windows -> 6 full windows + 1 partial start
expect_exit 0 "$SOMNA" hrv "$DATA/mitdb/100" --ann atr --window 300
head -1 "$TMP/out" | grep -q $'^start_s\tend_s\tn_nn\tNN_RR' || fail "--window header: $(head -1 "$TMP/out")"
[ "$(wc -l <"$TMP/out")" -ge 7 ] || fail "--window: $(wc -l <"$TMP/out") lines"

need_data nsr2db-hrv-reference/nsr2db/nsr001.ecg
# Cardiovascular Signal Toolbox demo (Fs 125 quirk, first 2 h, 300-s windows
# every 30 s): 231 windows; first window SDNN 56.8717, RMSSD 20.1209 ms
expect_exit 0 "$SOMNA" hrv "$DATA/nsr2db-hrv-reference/nsr2db/nsr001" --ann ecg --toolbox --toolbox-fs 125 \
  --max-t 7200 --window 300 --step 30
[ "$(($(wc -l <"$TMP/out") - 1))" = 231 ] || fail "toolbox: $(($(wc -l <"$TMP/out") - 1)) windows, want 231"
awk -F'\t' 'NR == 1 {for (i = 1; i <= NF; i++) c[$i] = i}
  NR == 2 {s = $c["SDNN"]; r = $c["RMSSD"];
           exit !((s / 56.8717 - 1)^2 < 0.02^2 && (r / 20.1209 - 1)^2 < 0.02^2)}' "$TMP/out" ||
  fail "toolbox first window: $(sed -n 2p "$TMP/out" | cut -c1-200)"
finish
