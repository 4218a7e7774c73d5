# somna info: usage handling, and the numbers on real recordings checked
# against independent references:
#   - EDF: numpy decoding the raw int16 bytes with the EDF spec's formula
#     physical = pmin + (d - dmin) * (pmax - pmin) / (dmax - dmin);
#   - WFDB: the WFDB software's rdsamp -P (physical units) and rdann.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
WFDB_BIN=${WFDB_BIN:-/work/peers/wfdb-install/bin}

expect_exit 0 "$SOMNA" info --help
expect_grep "Usage: somna info FILE|RECORD" "$TMP/out"
expect_exit 1 "$SOMNA" info
expect_grep "missing FILE|RECORD" "$TMP/err"
expect_exit 1 "$SOMNA" info --fs abc x.txt
expect_grep "option --fs: 'abc' is not a number" "$TMP/err"
expect_exit 1 "$SOMNA" info --bogus x.edf
expect_exit 2 "$SOMNA" info "$TMP/does-not-exist"
expect_grep "does-not-exist: no such file, and no WFDB header" "$TMP/err"

need_data dreams-spindles/excerpt3.edf
EDF=$DATA/dreams-spindles/excerpt3.edf
expect_exit 0 "$SOMNA" info "$EDF"
expect_grep "^format	EDF$" "$TMP/out"
expect_grep "^start	2003-11-17T03:27:00$" "$TMP/out"
expect_grep "^duration_s	1800$" "$TMP/out"
expect_grep "^signals	20$" "$TMP/out"
expect_grep "^1	O1-A1	50	UV	90000	-730	503$" "$TMP/out"
expect_grep "^16	hypnogram	1	stade	1800	1	5$" "$TMP/out"

if $PY -c 'import numpy' 2>/dev/null; then
  expect_exit 0 "$SOMNA" info --stats --json "$EDF"
  $PY - "$EDF" "$TMP/out" <<'PY' || fail "EDF --stats differs from the numpy reference"
import json, sys
import numpy as np
path, js = sys.argv[1], json.load(open(sys.argv[2]))
d = open(path, "rb").read()
ns = int(d[252:256]); nrec = int(d[236:244]); hb = 256 + 256 * ns
def col(off, w, i): return d[256 + off * ns + i * w: 256 + off * ns + (i + 1) * w].decode().strip()
spr = [int(col(216, 8, i)) for i in range(ns)]
raw = np.frombuffer(d[hb:hb + 2 * sum(spr) * nrec], dtype="<i2").reshape(nrec, sum(spr))
assert js["format"] == "EDF" and js["start"] == "2003-11-17T03:27:00" and js["duration_s"] == 1800
assert js["annotations"] == 0 and len(js["signals"]) == ns
bad = 0
for i in range(ns):
    pmin, pmax = float(col(104, 8, i)), float(col(112, 8, i))
    dmin, dmax = float(col(120, 8, i)), float(col(128, 8, i))
    o = sum(spr[:i])
    dig = raw[:, o:o + spr[i]].reshape(-1).astype(np.float64)
    x = pmin + (dig - dmin) * (pmax - pmin) / (dmax - dmin)
    s = js["signals"][i]
    assert s["label"] == col(0, 16, i) and s["n_samples"] == x.size and s["fs"] == spr[i] / 2
    scale = abs(pmax - pmin)
    for key, ref in (("mean", x.mean()), ("sd", x.std(ddof=1)), ("min", x.min()), ("max", x.max())):
        if abs(s[key] - ref) > 1e-9 * max(abs(ref), 1e-3 * scale):
            print("signal", i + 1, key, s[key], "numpy", ref); bad += 1
sys.exit(1 if bad else 0)
PY
else
  echo "note: /usr/bin/python3 with numpy absent: EDF --stats reference check skipped"
fi

# Text export, one column with a header line; the rate comes from --fs.
TXT=$DATA/dreams-spindles/excerpt1_C3-A1_100Hz.txt
if [ -e "$TXT" ]; then
  expect_exit 2 "$SOMNA" info "$TXT"
  expect_grep "a text signal file needs its sampling rate" "$TMP/err"
  expect_exit 0 "$SOMNA" info --fs 100 --stats --json "$TXT"
  expect_grep '"format": "text"' "$TMP/out"
  expect_grep '"duration_s": 1800' "$TMP/out"
  if $PY -c 'import numpy' 2>/dev/null; then
    $PY - "$TXT" "$TMP/out" <<'PY' || fail "text --stats differs from numpy"
import json, sys
import numpy as np
x = np.loadtxt(sys.argv[1], skiprows=1)
s = json.load(open(sys.argv[2]))["signals"][0]
assert s["label"] == "C3-A1" and s["n_samples"] == x.size == 180000 and s["fs"] == 100
bad = [k for k, ref in (("mean", x.mean()), ("sd", x.std(ddof=1)), ("min", x.min()), ("max", x.max()))
       if abs(s[k] - ref) > 1e-9 * max(abs(ref), 1.0)]
print(bad) if bad else None
sys.exit(1 if bad else 0)
PY
  fi
fi

need_data noxturnal-psg-rsleep/subject1.edf
expect_exit 0 "$SOMNA" info --json "$DATA/noxturnal-psg-rsleep/subject1.edf"
expect_grep '"format": "EDF+C"' "$TMP/out"
expect_grep '"start": "2018-02-06T01:36:50"' "$TMP/out"
expect_grep '"duration_s": 120' "$TMP/out"
[ "$(grep -c '"label"' "$TMP/out")" = 89 ] || fail "subject1.edf: expected 89 data signals"
expect_grep '"label": "C3-M2"' "$TMP/out"
# one warning line for all the non-ASCII header bytes, not one per signal
[ "$(grep -c 'non-ASCII' "$TMP/err")" = 1 ] || fail "subject1.edf: expected one non-ASCII warning: $(cat "$TMP/err")"

need_data mitdb/100.hea
expect_exit 0 "$SOMNA" info --stats --json "$DATA/mitdb/100"
expect_grep '"format": "WFDB"' "$TMP/out"
expect_grep '"n_samples": 650000' "$TMP/out"
expect_grep '"fs": 360' "$TMP/out"
expect_grep '"label": "MLII"' "$TMP/out"
if [ -x "$WFDB_BIN/rdsamp" ] && [ -x "$WFDB_BIN/rdann" ] && $PY -c 'import numpy' 2>/dev/null; then
  n_ann=$(cd "$DATA/mitdb" && "$WFDB_BIN/rdann" -r 100 -a atr | wc -l)
  expect_grep "\"annotations\": $n_ann" "$TMP/out"
  (cd "$DATA/mitdb" && "$WFDB_BIN/rdsamp" -r 100 -P -c) >"$TMP/rdsamp.csv"
  $PY - "$TMP/rdsamp.csv" "$TMP/out" <<'PY' || fail "WFDB --stats differs from rdsamp -P"
import json, sys
import numpy as np
x = np.loadtxt(sys.argv[1], delimiter=",")
js = json.load(open(sys.argv[2]))
bad = 0
for i, s in enumerate(js["signals"]):
    v = x[:, i + 1]
    for key, ref in (("mean", v.mean()), ("sd", v.std(ddof=1)), ("min", v.min()), ("max", v.max())):
        if abs(s[key] - ref) > 1e-9 * max(abs(ref), 1.0):
            print(s["label"], key, s[key], "rdsamp", ref); bad += 1
sys.exit(1 if bad else 0)
PY
else
  echo "note: WFDB software or numpy absent: rdsamp/rdann reference check skipped"
fi
finish
