#!/usr/bin/env bash
# somna report: a crossover study built through the CLI (Sleep-EDF hypnograms
# processed into sleep statistics, session log, HRV/EMG measures, RCSQ), the
# HTML report checked for content and escaping, and rendered in headless
# Chromium: no console errors, a screenshot that is not blank.
. "$(dirname "$0")/lib.sh"
need_data sleep-edf-hypnograms/sleep-cassette/SC4001EC-Hypnogram.edf
H="$DATA/sleep-edf-hypnograms/sleep-cassette"
DB="$TMP/s.db"
cat >"$TMP/study.txt" <<'T'
name = Nap <crossover> & "massage" study
design = crossover
seed = 11
psqi_min = 5
condition = control | No massage | control | 0
condition = relax | Relaxation <b>massage</b> | swedish | 30 | light | whole body
T
printf 'participant,age,sex,psqi,contraindications\nP1,30,F,8,\nP2,41,M,7,\nP3,25,F,6,\nP4,37,M,9,\nP5,50,F,3,\nP6,44,M,10,dvt\n' >"$TMP/screen.csv"
{ echo "participant,period,kind,hypnogram"
  for s in 0 1 2 3; do
    echo "P$((s + 1)),1,night,$(ls "$H"/SC40${s}1*-Hypnogram.edf)"
    echo "P$((s + 1)),2,night,$(ls "$H"/SC40${s}2*-Hypnogram.edf)"
  done; } >"$TMP/manifest.csv"
printf 'participant,condition,period,minutes,therapist,drifted_off\nP1,relax,1,30,T1,yes\nP2,relax,2,30,T2,no\nP3,relax,1,30,T1,yes\nP4,relax,2,30,T2,yes\n' >"$TMP/sessions.csv"
printf 'participant,period,measure,value\nP1,1,HF,820\nP1,2,HF,610\nP2,1,HF,400\nP2,2,HF,520\nP3,1,HF,1000\nP3,2,HF,700\nP4,1,HF,300\nP4,2,HF,390\nP1,1,EMG_tone,5.1\nP1,2,EMG_tone,5.6\nP2,1,EMG_tone,6.0\nP2,2,EMG_tone,5.5\nP3,1,EMG_tone,4.4\nP3,2,EMG_tone,4.9\nP4,1,EMG_tone,7.0\nP4,2,EMG_tone,6.4\n' >"$TMP/hrv.csv"
printf 'participant,period,RCSQ\nP1,1,72\nP1,2,60\nP2,1,55\nP2,2,66\nP3,1,80\nP3,2,61\nP4,1,50\nP4,2,64\n' >"$TMP/rcsq.csv"

expect_exit 0 "$SOMNA" study init --db "$DB" "$TMP/study.txt"
expect_exit 0 "$SOMNA" study enrol --db "$DB" --csv "$TMP/screen.csv"
expect_exit 0 "$SOMNA" study randomize --db "$DB"
expect_exit 0 "$SOMNA" study import --db "$DB" manifest "$TMP/manifest.csv"
expect_exit 0 "$SOMNA" study process --db "$DB"
expect_grep "8 processed, 0 failed" "$TMP/out"
expect_exit 0 "$SOMNA" study process --db "$DB"   # nothing new the second time
expect_grep "^0 new recording" "$TMP/out"
expect_exit 0 "$SOMNA" study import --db "$DB" sessions "$TMP/sessions.csv"
expect_exit 0 "$SOMNA" study import --db "$DB" measures "$TMP/hrv.csv"
expect_exit 0 "$SOMNA" study import --db "$DB" questionnaire "$TMP/rcsq.csv" --instrument RCSQ
# recordings carry their SHA-256 (sha256sum is the independent check)
expect_exit 0 "$SOMNA" study export --db "$DB" --table recordings
want=$(sha256sum "$H"/SC4001E*-Hypnogram.edf | cut -d' ' -f1)
expect_grep "$want" "$TMP/out"

expect_exit 1 "$SOMNA" report --db "$DB"
expect_exit 0 "$SOMNA" report --help
expect_exit 0 "$SOMNA" report --db "$DB" -o "$TMP/report.html"
R="$TMP/report.html"
expect_grep "Nap &lt;crossover&gt; &amp; &quot;massage&quot; study" "$R"
expect_grep "Relaxation &lt;b&gt;massage&lt;/b&gt;" "$R"
grep -q "<b>massage</b>" "$R" && fail "unescaped text from the database in the report"
grep -Eiq '(src|href)=["'"'"']?(https?:)?//' "$R" && fail "report references the network"
grep -qi "<script" "$R" && fail "report contains a script"
expect_grep "Participant flow" "$R"
expect_grep "Forest plot" "$R"
expect_grep "Heart-rate variability" "$R"
expect_grep "Muscle tone (EMG)" "$R"
expect_grep "Hypnograms" "$R"
[ "$(grep -o '<svg' "$R" | wc -l)" -ge 30 ] || fail "expected >= 30 inline SVG figures, got $(grep -o '<svg' "$R" | wc -l)"
expect_grep "PSQI global 3 &lt;= 5" "$R"
# the session log says who drifted off (3 of 4 sessions): the subgroup table is there
expect_grep "Subgroup: drifted off during the massage" "$R"
expect_grep "(3 sessions)" "$R"
# by hand: RCSQ pairs of those who drifted off (72,60) (80,61) (64,50): differences 12 19 14, mean 15,
# SD 3.606, CI 15 -/+ t(2, .975) * 3.606 / sqrt(3) = [6.04, 23.96]; % change 100 * (72 / 57 - 1) = 26.3
expect_grep 'RCSQ</td><td class="l">relax vs control</td><td>3</td><td>15.0 \[6.0, 24.0\]</td><td>26.3</td>' "$R"
expect_exit 0 "$SOMNA" report --db "$DB" -o "$TMP/report.md" --format md
# by hand: relax 72 66 80 64 (mean 70.5, SD 7.19), control 60 55 61 50 (56.5, 5.07); differences
# 12 11 19 14: mean 14, SD 3.559, CI 14 -/+ t(3, .975) * 3.559 / 2 = [8.34, 19.66]
expect_grep "^| RCSQ | relax | 70.5 ± 7.2 | control | 56.5 ± 5.1 | 14.0 \[8.3, 19.7\] | 24.8 | paired-t |" "$TMP/report.md"
# failure leaves no partial report
expect_exit 2 "$SOMNA" report --db "$TMP/none.db" -o "$TMP/bad.html"
[ -e "$TMP/bad.html" ] && fail "partial report left behind"

CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
  echo "note: chromium not installed, rendering check skipped"
else
  PROFILE=$(mktemp -d "$TMP/chrome.XXXXXX")
  timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$PROFILE" \
    --enable-logging=stderr --v=0 --window-size=1300,2400 --screenshot="$TMP/shot.png" "file://$R" \
    >"$TMP/chrome.out" 2>"$TMP/chrome.err" || fail "chromium exited $?"
  grep -E "CONSOLE|Uncaught|Failed to load resource|net::ERR" "$TMP/chrome.err" &&
    fail "console errors while rendering the report"
  [ -s "$TMP/shot.png" ] || fail "no screenshot"
  /usr/bin/python3 - "$TMP/shot.png" <<'PY' || fail "screenshot looks blank"
import sys, struct, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
w, h = struct.unpack(">II", data[16:24])
assert (w, h) == (1300, 2400), (w, h)
# walk the PNG chunks; a blank page compresses to almost nothing
pos, idat = 8, b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
assert len(idat) > 50000, len(idat)
raw = zlib.decompress(idat)
assert len(set(raw[::97])) > 20, "too few distinct pixel values"
PY
  [ -n "${SOMNA_KEEP_SCREENSHOT:-}" ] && cp "$TMP/shot.png" "$SOMNA_KEEP_SCREENSHOT"
fi
# lights off/on of the manifest reach the sleep statistics: the study's numbers
# equal `somna hypno` given the same clock times
printf 'participant,condition,period,lights_off,lights_on,hypnogram\nP1,control,1,23:00,07:00,%s\n' \
  "$(ls "$H"/SC4001E*-Hypnogram.edf)" >"$TMP/lights.csv"
printf 'name = L\ndesign = crossover\nseed = 1\ncondition = control | c | control\ncondition = relax | r | swedish\n' >"$TMP/l.txt"
expect_exit 0 "$SOMNA" study init --db "$TMP/l.db" "$TMP/l.txt"
expect_exit 0 "$SOMNA" study enrol --db "$TMP/l.db" --id P1
expect_exit 0 "$SOMNA" study import --db "$TMP/l.db" manifest "$TMP/lights.csv"
expect_exit 0 "$SOMNA" study process --db "$TMP/l.db"
expect_exit 0 "$SOMNA" study export --db "$TMP/l.db" --table outcomes --format json
cp "$TMP/out" "$TMP/l.json"
expect_exit 0 "$SOMNA" hypno "$(ls "$H"/SC4001E*-Hypnogram.edf)" --lights-off 23:00:00 --lights-on 07:00:00 --json
/usr/bin/python3 - "$TMP/l.json" "$TMP/out" <<'PY' || fail "study sleep statistics differ from somna hypno with the same lights"
import json, sys
rows = {r["measure"]: r["value"] for r in json.load(open(sys.argv[1]))}
h = json.load(open(sys.argv[2]))
for k in ("TIB", "TST", "SOL", "WASO", "SE", "N3", "REM", "Lat_REM"):
    assert rows[k] == h[k], (k, rows[k], h[k])
assert rows["TIB"] == 480
PY
finish
