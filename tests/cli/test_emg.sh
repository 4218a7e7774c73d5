#!/usr/bin/env bash
# somna emg: chin EMG tone per epoch and stage, REM atonia index (units),
# surface EMG RMS / median frequency / fatigue slope, a simulated night, and
# refusals.  Expected values are computed by hand from the constructed
# signals (a sine of amplitude A has RMS A/sqrt 2 and rectified mean 2A/pi).
. "$(dirname "$0")/lib.sh"

expect_exit 0 "$SOMNA" emg --help
expect_grep "Usage: somna emg" "$TMP/out"

# jnum FILE SECTION KEY: the number after "KEY": inside the JSON object named
# SECTION ("" = top level) of somna's pretty-printed --json output
jnum() {
  awk -v sec="$2" -v key="$3" '
    /": \{$/ { match($0, /"[^"]*"/); cur = substr($0, RSTART + 1, RLENGTH - 2); next }
    /^ *\},?$/ { cur = ""; next }
    cur == sec && index($0, "\"" key "\": ") { sub(/.*": /, ""); sub(/,$/, ""); print; exit }' "$1"
}
# near VALUE WANT TOL: |VALUE - WANT| <= TOL
near() { awk -v v="$1" -v w="$2" -v t="$3" 'BEGIN { d = v - w; if (d < 0) d = -d; exit !(v != "" && d <= t) }'; }
# check NAME VALUE WANT TOL
check() { near "$2" "$3" "$4" || fail "$1: got '$2', expected $3 +- $4"; }

# ---- chin: 50-Hz sine, A = 20 uV for 120 s at 256 Hz, halved in the 4th
# epoch.  Tone = A/sqrt 2 = 14.1421 (W, N2, N2), A/(2 sqrt 2) = 7.0711 (REM);
# the 10-100 Hz band-pass passes 50 Hz with unit gain, tolerance 1 % as in
# tests/emg.  Mean tone (3 x 14.1421 + 7.0711) / 4 = 12.3744.
awk 'BEGIN { pi = atan2(0, -1); print "Chin"
  for (i = 0; i < 256 * 120; i++) { a = i >= 256 * 90 ? 10 : 20; printf "%.9g\n", a * sin(2 * pi * 50 * i / 256) } }' \
  >"$TMP/chin.txt"
printf 'W\nN2\nN2\nR\n' >"$TMP/chin.hyp"
expect_exit 0 "$SOMNA" emg "$TMP/chin.txt" --fs 256 --hypno "$TMP/chin.hyp" --json
j=$TMP/out
check "n_epochs" "$(jnum "$j" "" n_epochs)" 4 0
check "mean tone" "$(jnum "$j" "" mean_tone)" 12.3744 0.124
check "W tone" "$(jnum "$j" W mean)" 14.1421 0.141
check "N2 tone" "$(jnum "$j" N2 mean)" 14.1421 0.141
check "REM tone" "$(jnum "$j" REM mean)" 7.0711 0.071
check "W count" "$(jnum "$j" W n_epochs)" 1 0
check "N2 count" "$(jnum "$j" N2 n_epochs)" 2 0
check "REM count" "$(jnum "$j" REM n_epochs)" 1 0
check "N1 count" "$(jnum "$j" N1 n_epochs)" 0 0
# sleep = (2 x 14.1421 + 7.0711) / 3 = 11.7851; NREM = N2 only
check "sleep mean" "$(jnum "$j" "" sleep_mean)" 11.7851 0.118
check "NREM mean" "$(jnum "$j" "" nrem_mean)" 14.1421 0.141
expect_grep '"median": null' "$j"
expect_grep '"stages.N1": "no N1 epoch"' "$j"
expect_grep '"unit": null' "$j"
# human-readable summary names the channel and says the unit is unknown
expect_exit 0 "$SOMNA" emg "$TMP/chin.txt" --fs 256 --hypno "$TMP/chin.hyp"
expect_grep "^channel    Chin (256 Hz, unit not given)" "$TMP/out"
expect_grep "^REM .* 1 " "$TMP/out"
# -o: one line per epoch (epoch, start_s, tone, stage)
expect_exit 0 "$SOMNA" emg "$TMP/chin.txt" --fs 256 --hypno "$TMP/chin.hyp" -o "$TMP/epochs.tsv"
head -1 "$TMP/epochs.tsv" | grep -q $'^epoch\tstart_s\ttone\tstage$' || fail "-o header: $(head -1 "$TMP/epochs.tsv")"
[ "$(wc -l <"$TMP/epochs.tsv")" = 5 ] || fail "-o: $(wc -l <"$TMP/epochs.tsv") lines, expected 5"
awk -F'\t' 'NR == 5 { exit !($1 == 3 && $2 == 90 && $4 == "REM" && $3 > 7.0 && $3 < 7.142) }' "$TMP/epochs.tsv" ||
  fail "-o REM line: $(sed -n 5p "$TMP/epochs.tsv")"
# a 1-Hz RMS envelope (values 3, 4 alternating, then 2): quadratic mean per
# epoch sqrt((9 + 16) / 2) = 3.5355, then 2
awk 'BEGIN { print "EMG Chin RMS"; for (i = 0; i < 60; i++) print (i < 30 ? (i % 2 ? 4 : 3) : 2) }' >"$TMP/env.txt"
expect_exit 0 "$SOMNA" emg "$TMP/env.txt" --fs 1 -o "$TMP/env.tsv"
expect_grep "stored RMS envelope" "$TMP/out"
awk -F'\t' 'NR == 2 { a = $3 } NR == 3 { b = $3 } END { exit !(a > 3.53553 && a < 3.53554 && b == 2) }' \
  "$TMP/env.tsv" || fail "envelope tones: $(cat "$TMP/env.tsv")"

# ---- REM atonia index (Ferri 2008): one N2 epoch, then 90 s of REM with 1-s
# rectified means 0.5 uV x 60 s, 1.5 uV x 15 s, 3 uV x 15 s: 66.67 % <= 1 uV,
# 16.67 % in (1, 2] -> AI = 66.67 / (100 - 16.67) = 0.8.  The same signal
# written in mV must give the same index once converted.
atonia_signal() { # SCALE (divisor) > file
  awk -v scale="$1" 'BEGIN { pi = atan2(0, -1); print "EMG"
    for (s = 0; s < 120; s++) {
      m = s < 30 ? 5 * 2 / pi : s < 90 ? 0.5 : s < 105 ? 1.5 : 3; a = m * pi / 2
      for (i = 0; i < 256; i++) printf "%.9g\n", a * sin(2 * pi * 50 * (s * 256 + i) / 256) / scale } }'
}
atonia_signal 1 >"$TMP/at_uv.txt"
atonia_signal 1000 >"$TMP/at_mv.txt"
printf 'N2\nR\nR\nR\n' >"$TMP/at.hyp"
expect_exit 0 "$SOMNA" emg "$TMP/at_uv.txt" --fs 256 --hypno "$TMP/at.hyp" --atonia --unit uV --json
check "AI (uV)" "$(jnum "$TMP/out" atonia index)" 0.8 1e-9
check "AI %<=1" "$(jnum "$TMP/out" atonia pct_le1_uV)" 66.6667 1e-3
check "AI %(1,2]" "$(jnum "$TMP/out" atonia pct_1to2_uV)" 16.6667 1e-3
check "AI mini-epochs" "$(jnum "$TMP/out" atonia n_mini_epochs)" 90 0
expect_exit 0 "$SOMNA" emg "$TMP/at_mv.txt" --fs 256 --hypno "$TMP/at.hyp" --atonia --unit mV --json
check "AI (mV x 1000)" "$(jnum "$TMP/out" atonia index)" 0.8 1e-9
# tone is reported in the signal's own unit: N2 = 5 uV amplitude -> 3.5355 uV = 0.0035355 mV
check "N2 tone in mV" "$(jnum "$TMP/out" N2 mean)" 0.0035355 0.000036
expect_grep '"unit": "mV"' "$TMP/out"
# the same in mV read as if microvolts: every mini-epoch <= 1 -> AI 1
expect_exit 0 "$SOMNA" emg "$TMP/at_mv.txt" --fs 256 --hypno "$TMP/at.hyp" --atonia --unit uV --json
check "AI (mV taken as uV)" "$(jnum "$TMP/out" atonia index)" 1 1e-12
# no unit (text files carry none): refused, naming the signal
expect_exit 2 "$SOMNA" emg "$TMP/at_mv.txt" --fs 256 --hypno "$TMP/at.hyp" --atonia
expect_grep "signal 'EMG' has no unit" "$TMP/err"
[ -s "$TMP/out" ] && fail "refused atonia wrote to stdout"
# noise correction (Ferri 2010): REM at 1.5 uV except 10 s at 4 uV.  Raw:
# nothing <= 1 -> AI 0.  Minus the +-30 s minimum (1.5): 80 s at 0, 10 s at
# 2.5 -> AI = (80/90) / (100 % - 0) = 0.8889
awk 'BEGIN { pi = atan2(0, -1); print "EMG"
  for (s = 0; s < 120; s++) { m = s < 30 ? 5 : s >= 60 && s < 70 ? 4 : 1.5; a = m * pi / 2
    for (i = 0; i < 256; i++) printf "%.9g\n", a * sin(2 * pi * 50 * (s * 256 + i) / 256) } }' >"$TMP/nc.txt"
expect_exit 0 "$SOMNA" emg "$TMP/nc.txt" --fs 256 --hypno "$TMP/at.hyp" --atonia --unit uV --json
check "AI raw" "$(jnum "$TMP/out" atonia index)" 0 1e-12
expect_exit 0 "$SOMNA" emg "$TMP/nc.txt" --fs 256 --hypno "$TMP/at.hyp" --atonia --noise-correction --unit uV --json
check "AI noise-corrected" "$(jnum "$TMP/out" atonia index)" 0.888889 1e-5
# no REM epoch: the index is null with a reason, not a number
printf 'N2\nN2\nN2\nN2\n' >"$TMP/norem.hyp"
expect_exit 0 "$SOMNA" emg "$TMP/at_uv.txt" --fs 256 --hypno "$TMP/norem.hyp" --atonia --unit uV --json
expect_grep '"index": null' "$TMP/out"
expect_grep '"atonia": "no REM epoch"' "$TMP/out"
# a unit that is not a voltage (WFDB header 'mmHg'; 30 s of zeros, checksum
# 0) is refused with the unit named; --unit overrides it
printf 'odd 1 256 7680\nodd.dat 16 1000(0)/mmHg 16 0 0 0 0 EMG chin\n' >"$TMP/odd.hea"
head -c 15360 /dev/zero >"$TMP/odd.dat"
printf 'R\n' >"$TMP/r.hyp"
expect_exit 2 "$SOMNA" emg "$TMP/odd" --hypno "$TMP/r.hyp" --atonia
expect_grep "signal 'EMG chin' has unit 'mmHg'" "$TMP/err"
expect_exit 0 "$SOMNA" emg "$TMP/odd" --hypno "$TMP/r.hyp" --atonia --unit uV --json
check "AI of silence" "$(jnum "$TMP/out" atonia index)" 1 0

# invalid samples (WFDB code -32768 reads as NaN): 90 s of the 20-uV sine
# (gain 1000 adu/uV) with one invalid sample in epoch 1: that epoch's tone is
# NA/null and left out of the stages and the atonia index, the others stay
# A/sqrt 2; checksum = 16-bit sum of the samples
perl -e 'my @x; for my $i (0 .. 256 * 90 - 1) { push @x, int(20000 * sin(2 * 3.14159265358979 * 50 * $i / 256) + ($i % 2 ? 0.5 : -0.5)) }
  $x[256 * 45] = -32768; my $s = 0; $s += $_ for @x; $s %= 65536; $s -= 65536 if $s >= 32768;
  open(my $h, ">", "$ARGV[0].dat") or die; binmode $h; print $h pack("s<*", @x); close $h;
  open($h, ">", "$ARGV[0].hea") or die; print $h "inv 1 256 23040\ninv.dat 16 1000(0)/uV 16 0 $x[0] $s 0 EMG chin\n"' "$TMP/inv"
printf 'R\nN2\nR\n' >"$TMP/inv.hyp"
expect_exit 0 "$SOMNA" emg "$TMP/inv" --hypno "$TMP/inv.hyp" --atonia -o "$TMP/inv.tsv" --json
expect_grep "has 1 invalid samples" "$TMP/err"
awk -F'\t' 'NR == 2 { a = $3 } NR == 3 { b = $3 } NR == 4 { c = $3 }
  END { exit !(a > 14 && a < 14.284 && b == "NA" && c > 14 && c < 14.284) }' "$TMP/inv.tsv" ||
  fail "invalid samples: $(cat "$TMP/inv.tsv")"
check "invalid: N2 epochs" "$(jnum "$TMP/out" N2 n_epochs)" 0 0
check "invalid: REM epochs" "$(jnum "$TMP/out" REM n_epochs)" 2 0
check "invalid: atonia mini-epochs" "$(jnum "$TMP/out" atonia n_mini_epochs)" 60 0

# ---- surface: 100-Hz sine at 1000 Hz, A = 50 for 60 s then 0.9 A for 60 s;
# 10-s windows, first minute vs last minute: RMS 35.355 -> 31.820 (-10 %),
# MDF 100 Hz (within a 4-Hz Welch bin of 0.25-s segments), slope 0
awk 'BEGIN { pi = atan2(0, -1); print "EMG trapezius"
  for (i = 0; i < 120000; i++) { a = i >= 60000 ? 45 : 50; printf "%.9g\n", a * sin(2 * pi * 100 * i / 1000) } }' \
  >"$TMP/sf.txt"
expect_exit 0 "$SOMNA" emg "$TMP/sf.txt" --fs 1000 --surface --unit uV --json
j=$TMP/out
check "surface windows" "$(jnum "$j" "" n_windows)" 12 0
check "surface RMS first" "$(jnum "$j" first rms)" 35.3553 0.354
check "surface RMS last" "$(jnum "$j" last rms)" 31.8198 0.318
check "surface RMS change" "$(jnum "$j" "" rms_change_pct)" -10 1
check "surface MDF first" "$(jnum "$j" first mdf_hz)" 100 4
check "surface MDF last" "$(jnum "$j" last mdf_hz)" 100 4
check "surface MDF slope" "$(jnum "$j" "" mdf_slope_hz_per_min)" 0 0.1
# -o: 12 windows + header; --from/--to: 30-90 s -> 6 windows, first/last
# 30 s halves (3 windows each): 50 -> 45, still -10 %
expect_exit 0 "$SOMNA" emg "$TMP/sf.txt" --fs 1000 --surface -o "$TMP/win.tsv"
[ "$(wc -l <"$TMP/win.tsv")" = 13 ] || fail "surface -o: $(wc -l <"$TMP/win.tsv") lines"
head -1 "$TMP/win.tsv" | grep -q $'^start_s\tend_s\trms\tmdf_hz\tmnf_hz$' || fail "surface -o header"
expect_exit 0 "$SOMNA" emg "$TMP/sf.txt" --fs 1000 --surface --from 30 --to 90 --json
check "range windows" "$(jnum "$TMP/out" "" n_windows)" 6 0
check "range from" "$(jnum "$TMP/out" "" from_s)" 30 0
check "range RMS change" "$(jnum "$TMP/out" "" rms_change_pct)" -10 1
# a chirp falling linearly from 150 to 80 Hz over 2 min: MDF slope
# -35 Hz/min; first-minute windows centre on 132.5 Hz, last on 97.5 Hz
awk 'BEGIN { pi = atan2(0, -1); print "EMG"
  for (i = 0; i < 120000; i++) { t = i / 1000; printf "%.9g\n", 40 * sin(2 * pi * (150 * t - 70 / 240 * t * t)) } }' \
  >"$TMP/chirp.txt"
expect_exit 0 "$SOMNA" emg "$TMP/chirp.txt" --fs 1000 --surface --json
check "chirp slope" "$(jnum "$TMP/out" "" mdf_slope_hz_per_min)" -35 1
check "chirp MDF first" "$(jnum "$TMP/out" first mdf_hz)" 132.5 2
check "chirp MDF last" "$(jnum "$TMP/out" last mdf_hz)" 97.5 2
# 400 Hz sampling: the 450-Hz upper edge is lowered to 180 Hz with a warning
awk 'BEGIN { pi = atan2(0, -1); print "EMG"; for (i = 0; i < 8000; i++) printf "%.9g\n", sin(2 * pi * 60 * i / 400) }' \
  >"$TMP/s400.txt"
expect_exit 0 "$SOMNA" emg "$TMP/s400.txt" --fs 400 --surface --json
expect_grep "lowered from 450 to 180 Hz" "$TMP/err"
check "lowered band MDF" "$(jnum "$TMP/out" first mdf_hz)" 60 4
# one window: no first/last comparison, nulls with reasons
expect_exit 0 "$SOMNA" emg "$TMP/s400.txt" --fs 400 --surface --window 20 --json
expect_grep '"rms_change_pct": null' "$TMP/out"
expect_grep '"rms_change_pct": "fewer than two windows"' "$TMP/out"

# ---- refusals: one message naming the problem, no partial output
expect_exit 2 "$SOMNA" emg "$TMP/nonexistent.edf" -o "$TMP/none.tsv"
expect_grep "nonexistent.edf" "$TMP/err"
[ -e "$TMP/none.tsv" ] && fail "failed run left $TMP/none.tsv"
expect_exit 2 "$SOMNA" emg "$TMP/chin.txt" --fs 256 --channel Leg
expect_grep "no signal 'Leg' (have: 1=Chin)" "$TMP/err"
awk 'BEGIN { print "EEG,ECG"; for (i = 0; i < 7680; i++) print "0,0" }' >"$TMP/noemg.txt"
expect_exit 2 "$SOMNA" emg "$TMP/noemg.txt" --fs 256
expect_grep "choose one with --channel (have: 1=EEG, 2=ECG)" "$TMP/err"
expect_exit 2 "$SOMNA" emg "$TMP/chin.txt" --fs 50 --surface
expect_grep "surface EMG needs at least 100 Hz" "$TMP/err"
expect_exit 2 "$SOMNA" emg "$TMP/chin.txt" --fs 256 --hypno "$TMP/chin.hyp" -o "$TMP/no/such/dir/e.tsv"
[ -e "$TMP/no" ] && fail "-o into a missing directory created something"
[ -s "$TMP/out" ] && fail "-o into a missing directory printed a summary"
expect_exit 2 "$SOMNA" emg "$TMP/sf.txt" --fs 1000 --surface --to 500
expect_grep "lasts 120 s; --to 500 s is outside it" "$TMP/err"
# usage errors
expect_exit 1 "$SOMNA" emg "$TMP/chin.txt" --fs 256 --atonia
expect_exit 1 "$SOMNA" emg "$TMP/chin.txt" --fs 256 --hypno "$TMP/chin.hyp" --noise-correction
expect_exit 1 "$SOMNA" emg "$TMP/chin.txt" --fs 256 --surface --hypno "$TMP/chin.hyp"
expect_exit 1 "$SOMNA" emg "$TMP/chin.txt" --fs 256 --window 5
expect_exit 1 "$SOMNA" emg "$TMP/chin.txt" --fs 256 --surface --band 450-20
expect_exit 1 "$SOMNA" emg "$TMP/chin.txt" --fs 256 --unit furlong
expect_exit 1 "$SOMNA" emg "$TMP/chin.txt" --fs 256 --json -o -

# ---- a simulated night (docs/simulation.md): chin EMG tone N1 8, N2 6, N3 5,
# REM 0.9 uV RMS of 10-100 Hz noise plus a 0.5-uV floor and REM twitches;
# the stored 1-s envelope is the RMS of the EMG as written
"$SOMNA" simulate night -o "$TMP/sim" --seed 3 --emg-envelope >/dev/null 2>"$TMP/err" ||
  fail "simulate night: $(cat "$TMP/err")"
expect_exit 0 "$SOMNA" emg "$TMP/sim/night.edf" --hypno "$TMP/sim/night.hypnogram.tsv" --atonia --json
j=$TMP/out
expect_grep '"channel": "EMG Chin"' "$j"
expect_grep '"unit": "uV"' "$j"
check "sim epochs" "$(jnum "$j" "" n_epochs)" 960 0
check "sim N1 tone" "$(jnum "$j" N1 mean)" 8 0.4
check "sim N2 tone" "$(jnum "$j" N2 mean)" 6 0.3
check "sim N3 tone" "$(jnum "$j" N3 mean)" 5 0.25
rem=$(jnum "$j" REM mean) n2=$(jnum "$j" N2 mean)
awk -v r="$rem" -v n="$n2" 'BEGIN { exit !(r > 0.9 && r < 1.5 && r < n / 4) }' || fail "sim REM tone $rem vs N2 $n2"
# REM counts equal the truth hypnogram's
nrem=$(awk -F'\t' 'NR > 1 && $3 == 4' "$TMP/sim/night.hypnogram.tsv" | wc -l)
check "sim REM epochs" "$(jnum "$j" REM n_epochs)" "$nrem" 0
# atonia: REM mini-epochs are ~0.8 uV rectified; nearly none above 2 uV
ai=$(jnum "$j" atonia index)
awk -v a="$ai" 'BEGIN { exit !(a > 0.9 && a <= 1) }' || fail "sim atonia index $ai"
# the 1-Hz envelope channel gives the same N2 tone within 5 %
expect_exit 0 "$SOMNA" emg "$TMP/sim/night.edf" --channel "EMG Chin RMS" --hypno "$TMP/sim/night.hypnogram.tsv" --json
expect_grep '"tone": "envelope"' "$TMP/out"
check "sim N2 tone from the envelope" "$(jnum "$TMP/out" N2 mean)" "$n2" "$(awk -v n="$n2" 'BEGIN { print 0.05 * n }')"
finish
