#!/usr/bin/env bash
# somna study: surface EMG recorded during massage sessions (sessions file
# column `emg`) -> session measures sEMG_* -> analysis by design, crossover
# and parallel; a night's own chin EMG file (manifest column `emg`) wins
# over the PSG's EMG.
#
# Each session file is a WFDB record (format 16, 100 adu/uV) of a 100-Hz
# sine sampled at 1000 Hz for 4 min whose amplitude falls linearly,
# A(t) = 50 uV (1 - k t).  The power mean of A over [a, b] is
#   M(a, b) = ((1 - k a)^3 - (1 - k b)^3) / (3 k (b - a)),
# and k is chosen (bisection below) so that the last-minute RMS is the
# first-minute RMS x (1 - d): d = 0.10 for massage, 0 for control.  The
# expected RMS change is 100 (sqrt(M(180, 240) / M(0, 60)) - 1), computed
# here from k, and the massage-control contrast is its difference.
. "$(dirname "$0")/lib.sh"
command -v perl >/dev/null || { echo "SKIP: perl (writes the binary WFDB test records) not available"; exit 77; }
DB="$TMP/semg.db"
mkdir -p "$TMP/semg"

# slope k for a fall d (awk bisection on the ratio of power means)
slope_for() {
  awk -v d="$1" 'function M(k, a, b) { return k == 0 ? 1 : ((1 - k * a) ^ 3 - (1 - k * b) ^ 3) / (3 * k * (b - a)) }
    BEGIN { if (d == 0) { print 0; exit } lo = 0; hi = 1 / 240
      for (it = 0; it < 200; it++) { k = (lo + hi) / 2; r = sqrt(M(k, 180, 240) / M(k, 0, 60))
        if (r > 1 - d) lo = k; else hi = k }
      printf "%.17g\n", (lo + hi) / 2 }'
}
# expected RMS change of a session with fall d, from the power means (by hand, not from somna)
change_for() {
  awk -v k="$(slope_for "$1")" 'function M(k, a, b) { return k == 0 ? 1 : ((1 - k * a) ^ 3 - (1 - k * b) ^ 3) / (3 * k * (b - a)) }
    BEGIN { printf "%.10f %.10f\n", 100 * (sqrt(M(k, 180, 240) / M(k, 0, 60)) - 1), 50 * sqrt(M(k, 0, 60) / 2) }'
}
near() { awk -v v="$1" -v w="$2" -v t="$3" 'BEGIN { d = v - w; if (d < 0) d = -d; exit !(v != "" && d <= t) }'; }

# write_rec NAME K: the WFDB record $TMP/semg/NAME (.hea + .dat)
write_rec() {
  perl -e 'my ($base, $k) = @ARGV; my $pi = atan2(0, -1); my @x;
    for my $i (0 .. 239999) { my $t = $i / 1000; my $v = 100 * 50 * (1 - $k * $t) * sin(2 * $pi * 100 * $t);
      push @x, $v < 0 ? int($v - 0.5) : int($v + 0.5) }
    open(my $d, ">:raw", "$base.dat") or die; print $d pack("s<*", @x); close $d;
    (my $rec = $base) =~ s{.*/}{};
    open(my $h, ">", "$base.hea") or die; print $h "$rec 1 1000 240000\n$rec.dat 16 100/uV 16 0 0 0 0 EMG trapezius\n"' \
    "$TMP/semg/$1" "$2"
}
# crossover: P1-P3 control then massage, P4-P6 massage then control; the
# fall d of each session (participant:period:condition:d)
spec="P1:1:control:0.00 P1:2:massage:0.08 P2:1:control:0.02 P2:2:massage:0.10 P3:1:control:0.01 P3:2:massage:0.12
P4:1:massage:0.09 P4:2:control:0.03 P5:1:massage:0.11 P5:2:control:0.00 P6:1:massage:0.10 P6:2:control:0.02"
printf 'participant,condition,period,minutes,emg\n' >"$TMP/sessions.csv"
: >"$TMP/expected.txt"
for s in $spec; do
  IFS=: read -r p per cond d <<<"$s"
  write_rec "${p}_$per" "$(slope_for "$d")"
  read -r chg rms0 <<<"$(change_for "$d")"
  near "$chg" "$(awk -v d="$d" 'BEGIN { print -100 * d }')" 1e-6 || fail "test construction: d=$d gives $chg %"
  echo "$p $per $cond $chg $rms0" >>"$TMP/expected.txt"
  printf '%s,%s,%s,%s,semg/%s_%s.hea\n' "$p" "$cond" "$per" "$([ "$cond" = massage ] && echo 30 || echo 0)" "$p" "$per" \
    >>"$TMP/sessions.csv"
done
# massage - control per participant, averaged: the crossover contrast
WANT_X=$(awk '{ v[$1, $3] = $4; p[$1] = 1 } END { for (q in p) { s += v[q, "massage"] - v[q, "control"]; n++ } printf "%.10f\n", s / n }' "$TMP/expected.txt")
# P7's file is not a recording: its run fails, the others are processed
echo "not a recording" >"$TMP/semg/broken.edf"
printf 'P7,control,1,0,semg/broken.edf\n' >>"$TMP/sessions.csv"

cat >"$TMP/study.txt" <<'T'
name = Massage and muscle tone
design = crossover
seed = 7
condition = control | No massage | control | 0
condition = massage | Swedish massage | swedish | 30 | moderate | back
outcomes = sEMG_RMS_change_pct, sEMG_MDF_change_pct, SOL
T
{ echo "participant,age,sex,psqi,contraindications"; for i in 1 2 3 4 5 6 7; do echo "P$i,3$i,F,8,"; done; } >"$TMP/screen.csv"
expect_exit 0 "$SOMNA" study init --db "$DB" "$TMP/study.txt"
expect_exit 0 "$SOMNA" study enrol --db "$DB" --csv "$TMP/screen.csv"
expect_exit 0 "$SOMNA" study import --db "$DB" sessions "$TMP/sessions.csv"
expect_exit 0 "$SOMNA" study export --db "$DB" --table nights
# one session occasion per session with a file, condition and period from the session
[ "$(grep -c ',session,session [12],' "$TMP/out")" = 13 ] || fail "session occasions: $(cat "$TMP/out")"
expect_grep '^P4,massage,1,session,session 1,1,' "$TMP/out"
expect_exit 0 "$SOMNA" study export --db "$DB" --table recordings
[ "$(grep -c ',semg,' "$TMP/out")" = 13 ] || fail "semg recordings: $(cat "$TMP/out")"

"$SOMNA" study process --db "$DB" >"$TMP/out" 2>"$TMP/err"
[ $? = 0 ] || fail "process exit status $?: $(cat "$TMP/err")"
expect_grep "13 new recording(s): 12 processed, 1 failed, 84 measure rows written" "$TMP/out"
expect_grep "broken.edf" "$TMP/err"
expect_exit 0 "$SOMNA" study export --db "$DB" --table process_log
expect_grep "failed.*broken.edf" "$TMP/out"
# re-running does nothing new (ok and failed runs are not repeated)
expect_exit 0 "$SOMNA" study process --db "$DB"
expect_grep "^0 new recording(s)" "$TMP/out"

expect_exit 0 "$SOMNA" study export --db "$DB" --table outcomes
cp "$TMP/out" "$TMP/outcomes.csv"
# per session, against the design: RMS change -10 % (massage) / 0 (control),
# first-minute RMS, MDF 100 Hz without change, no MDF slope
python3 - "$TMP/outcomes.csv" "$TMP/expected.txt" <<'PY' || fail "session measures"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
want = {}
for line in open(sys.argv[2]):
    p, per, cond, chg, rms0 = line.split()
    want[p, per] = (cond, float(chg), float(rms0))
semg = [r for r in rows if r["measure"].startswith("sEMG_")]
assert len(semg) == 12 * 7, len(semg)
for r in semg:
    assert r["kind"] == "session" and r["source"] == "semg", r
    cond, chg, rms0 = want[r["participant"], r["period"]]
    assert r["condition"] == cond, r
    v = float(r["value"])
    m = r["measure"]
    if m == "sEMG_RMS_change_pct":
        assert abs(v - chg) < 0.05, (r, chg)
    elif m == "sEMG_RMS_first":
        assert abs(v / rms0 - 1) < 0.01, (r, rms0)
    elif m in ("sEMG_MDF_first", "sEMG_MDF_last"):
        assert abs(v - 100) < 0.5, r
    elif m == "sEMG_MDF_change_pct":
        assert abs(v) < 0.1, r
    elif m == "sEMG_MDF_slope":
        assert abs(v) < 0.05, r
PY

# analysis by design (outcomes of the study file): the massage-control
# contrast is the hand value; MDF does not change; the SOL imported onto a
# session occasion is not analysed (a sleep outcome never comes from one)
printf 'participant,condition,period,kind,occasion,measure,value\nP1,control,1,session,session 1,SOL,10\n' >"$TMP/m.csv"
expect_exit 0 "$SOMNA" study import --db "$DB" measures "$TMP/m.csv"
expect_exit 0 "$SOMNA" study analyze --db "$DB" --json
python3 - "$TMP/out" "$WANT_X" <<'PY' || fail "crossover analysis: $(head -c 1500 "$TMP/out")"
import json, sys
a = json.load(open(sys.argv[1]))
eff = {x["measure"]: x for x in a["effects"] if x["condition"] == "massage"}
e = eff["sEMG_RMS_change_pct"]
assert e["test"] == "paired-t" and e["n"] == 6, e
assert abs(e["estimate"] - float(sys.argv[2])) < 0.5, (e["estimate"], sys.argv[2])
assert abs(eff["sEMG_MDF_change_pct"]["estimate"]) < 0.2, eff["sEMG_MDF_change_pct"]
assert not any(c["measure"] == "SOL" and c["n"] > 0 for c in a["cells"]), a["cells"]
PY
near "$WANT_X" -8.6666666667 1e-6 || fail "test construction: crossover contrast $WANT_X"
# --outcome analyses the named measures instead of the study file's
expect_exit 0 "$SOMNA" study analyze --db "$DB" --json --outcome ' sEMG_RMS_change_pct '
python3 - "$TMP/out" "$WANT_X" <<'PY' || fail "--outcome: $(head -c 800 "$TMP/out")"
import json, sys
a = json.load(open(sys.argv[1]))
assert {x["measure"] for x in a["effects"]} == {"sEMG_RMS_change_pct"}, a["effects"]
e = [x for x in a["effects"] if x["condition"] == "massage"][0]
assert abs(e["estimate"] - float(sys.argv[2])) < 0.5, e
PY
expect_exit 2 "$SOMNA" study analyze --db "$DB" --outcome 'sEMG_RMS_change_pct,,SOL'
expect_grep "empty measure name" "$TMP/err"
[ -s "$TMP/out" ] && fail "--outcome refused but wrote: $(head -c 200 "$TMP/out")"

# ---- parallel design: one session each, 3 massage + 3 control ------------------------------------------
D2="$TMP/par.db"
sed -e 's/^design = crossover/design = parallel/' -e 's/^name = .*/name = Parallel tone/' "$TMP/study.txt" >"$TMP/par.txt"
printf 'participant,condition,start,emg\n' >"$TMP/par_sessions.csv"
# the first three control sessions' files to P1-P3, the first three massage sessions' to P4-P6
i=0
: >"$TMP/par_expected.txt"
while read -r p per cond chg rms0; do
  [ "$cond" = control ] && [ "$i" -lt 3 ] || continue
  echo "$cond $chg" >>"$TMP/par_expected.txt"
  i=$((i + 1))
  printf 'P%s,control,2026-03-0%s 18:00,semg/%s_%s.hea\n' "$i" "$i" "$p" "$per" >>"$TMP/par_sessions.csv"
done <"$TMP/expected.txt"
while read -r p per cond chg rms0; do
  [ "$cond" = massage ] && [ "$i" -lt 6 ] || continue
  echo "$cond $chg" >>"$TMP/par_expected.txt"
  i=$((i + 1))
  printf 'P%s,massage,2026-03-0%s 18:00,semg/%s_%s.hea\n' "$i" "$i" "$p" "$per" >>"$TMP/par_sessions.csv"
done <"$TMP/expected.txt"
WANT_P=$(awk '{ s[$1] += $2; n[$1]++ } END { printf "%.10f\n", s["massage"] / n["massage"] - s["control"] / n["control"] }' "$TMP/par_expected.txt")
expect_exit 0 "$SOMNA" study init --db "$D2" "$TMP/par.txt"
expect_exit 0 "$SOMNA" study enrol --db "$D2" --csv "$TMP/screen.csv"
expect_exit 0 "$SOMNA" study import --db "$D2" sessions "$TMP/par_sessions.csv"
expect_exit 0 "$SOMNA" study export --db "$D2" --table nights
# no period: the participant's first session is occasion "session 1" for all
[ "$(grep -c ',NA,session,session 1,1,' "$TMP/out")" = 6 ] || fail "parallel session occasions: $(cat "$TMP/out")"
expect_exit 0 "$SOMNA" study process --db "$D2"
expect_grep "6 new recording(s): 6 processed, 0 failed, 42 measure rows written" "$TMP/out"
expect_exit 0 "$SOMNA" study analyze --db "$D2" --json
python3 - "$TMP/out" "$WANT_P" <<'PY' || fail "parallel analysis: $(head -c 1500 "$TMP/out")"
import json, sys
a = json.load(open(sys.argv[1]))
e = [x for x in a["effects"] if x["measure"] == "sEMG_RMS_change_pct" and x["condition"] == "massage"][0]
assert e["test"] == "welch" and e["n"] == 6, e
assert abs(e["estimate"] - float(sys.argv[2])) < 0.5, (e["estimate"], sys.argv[2])
PY

# ---- a night's own chin EMG file wins over the PSG's EMG ---------------------------------------------------
# chin file: a 50-Hz sine of amplitude 20 uV for 2 epochs, then 10 uV for 2;
# tone = RMS in 10-100 Hz = A / sqrt(2): W 14.14, N2 7.07 (the PSG's EMG says 0)
D3="$TMP/chin.db"
perl -e 'my $pi = atan2(0, -1); my @x; for my $i (0 .. 256 * 120 - 1) { my $a = $i < 256 * 60 ? 20 : 10;
  my $v = 100 * $a * sin(2 * $pi * 50 * $i / 256); push @x, $v < 0 ? int($v - 0.5) : int($v + 0.5) }
  open(my $d, ">:raw", "$ARGV[0]/chin.dat") or die; print $d pack("s<*", @x);
  open(my $h, ">", "$ARGV[0]/chin.hea") or die; print $h "chin 1 256 30720\nchin.dat 16 100/uV 16 0 0 0 0 EMG Chin\n";
  open($d, ">:raw", "$ARGV[0]/psg.dat") or die; print $d pack("s<*", (0) x (256 * 120 * 2));
  open($h, ">", "$ARGV[0]/psg.hea") or die;
  print $h "psg 2 256 30720\npsg.dat 16 100/uV 16 0 0 0 0 EEG C4\npsg.dat 16 100/uV 16 0 0 0 0 EMG Chin\n"' "$TMP"
printf 'W\nW\nN2\nN2\n' >"$TMP/chin.hyp"
printf 'participant,condition,period,hypnogram,psg,emg\nP1,control,1,chin.hyp,psg.hea,chin.hea\n' >"$TMP/manifest.csv"
expect_exit 0 "$SOMNA" study init --db "$D3" "$TMP/study.txt"
expect_exit 0 "$SOMNA" study enrol --db "$D3" --csv "$TMP/screen.csv"
expect_exit 0 "$SOMNA" study import --db "$D3" manifest "$TMP/manifest.csv"
expect_exit 0 "$SOMNA" study process --db "$D3"
expect_exit 0 "$SOMNA" study export --db "$D3" --table outcomes
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  $c["measure"] == "EMG_tone_W" { w = $c["value"]; nw++ } $c["measure"] == "EMG_tone_N2" { n2 = $c["value"] }
  END { exit !(nw == 1 && w > 14.0 && w < 14.3 && n2 > 7.0 && n2 < 7.15) }' "$TMP/out" ||
  fail "chin tone from the emg file: $(grep EMG_tone "$TMP/out")"
expect_exit 0 "$SOMNA" study export --db "$D3" --table process_log
expect_grep "chin EMG from the night's emg file" "$TMP/out"
finish
