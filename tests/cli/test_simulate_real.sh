#!/usr/bin/env bash
# The simulated EEG/EOG against real recordings (../shared/data/yasa-legacy-samples:
# a spindle-rich N2 EEG excerpt, an N3 excerpt and 14 min of REM EOG from
# YASA's tutorials).  Same measures on both sides (Welch, 4-s Hann
# segments): N2 amplitude and delta / sigma shares of 0.5-30 Hz power, N3
# delta share, REM EOG amplitude and E1/E2 (LOC/ROC) correlation.  The real
# excerpts are short single recordings, so tolerances are generous; they
# catch a simulator whose EEG is off by a factor, not a fine mismatch.
# Skips without the shared data or /usr/bin/python3 with numpy, scipy, mne.
. "$(dirname "$0")/lib.sh"
need_data yasa-legacy-samples/data_N2_spindles_15sec_200Hz.txt
PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c "import numpy, scipy, mne" 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 with numpy, scipy and mne not available"
  exit 77
fi
expect_exit 0 "$SOMNA" simulate night -o "$TMP/n" --seed 2
"$PY" - "$TMP/n" "$DATA/yasa-legacy-samples" <<'PYEOF' || fail "simulated EEG/EOG too far from the real samples"
import sys
import numpy as np
from scipy.signal import welch
import mne

sim, real = sys.argv[1], sys.argv[2]

def shares(x, fs):
    f, p = welch(x, fs, nperseg=4 * fs)
    tot = p[(f >= 0.5) & (f <= 30)].sum()
    return p[(f >= 0.5) & (f <= 2)].sum() / tot, p[(f >= 11) & (f <= 16)].sum() / tot

r_n2 = np.loadtxt(real + "/data_N2_spindles_15sec_200Hz.txt")
r_n3 = np.loadtxt(real + "/data_N3_no-spindles_30sec_100Hz.txt")
with np.load(real + "/data_EOGs_REM_256Hz.npz") as z:
    r_eog = z["data"]
r_n2_delta, r_n2_sigma = shares(r_n2, 200)
r_n3_delta, _ = shares(r_n3, 100)

raw = mne.io.read_raw_edf(sim + "/night.edf", preload=True, verbose="error")
stage = np.loadtxt(sim + "/night.hypnogram.tsv", skiprows=1, usecols=2, dtype=int)
fs = 256
def epochs(ch, s):
    x = raw.get_data(picks=[ch])[0] * 1e6
    return [x[k * 30 * fs:(k + 1) * 30 * fs] for k in range(1, len(stage)) if stage[k] == s and stage[k - 1] == s]
n2 = epochs("EEG Fpz-Cz", 2)
n2c = epochs("EEG C4-M1", 2)
n3 = epochs("EEG Fpz-Cz", 3)
s_n2_rms = np.mean([e.std() for e in n2])
s_n2_delta, _ = shares(np.concatenate(n2[:60]), fs)
_, s_n2_sigma = shares(np.concatenate(n2c[:60]), fs)
s_n3_delta, _ = shares(np.concatenate(n3[:60]), fs)
e1 = raw.get_data(picks=["EOG E1-M2"])[0] * 1e6
e2 = raw.get_data(picks=["EOG E2-M1"])[0] * 1e6
rem = np.concatenate([np.arange(k * 30 * fs, (k + 1) * 30 * fs) for k in range(len(stage)) if stage[k] == 4])
s_eog_rms = (e1[rem].std() + e2[rem].std()) / 2
s_eog_r = np.corrcoef(e1[rem], e2[rem])[0, 1]
r_eog_rms = r_eog.std(axis=1).mean()
r_eog_r = np.corrcoef(r_eog)[0, 1]

rows = [("N2 RMS (uV)", s_n2_rms, r_n2.std()), ("N2 delta share", s_n2_delta, r_n2_delta),
        ("N2 sigma share", s_n2_sigma, r_n2_sigma), ("N3 delta share", s_n3_delta, r_n3_delta),
        ("REM EOG RMS (uV)", s_eog_rms, r_eog_rms), ("REM EOG E1/E2 r", s_eog_r, r_eog_r)]
for name, s, r in rows:
    print("%-18s simulated %8.3f   real %8.3f" % (name, s, r))
assert 1 / 1.5 < s_n2_rms / r_n2.std() < 1.5
assert abs(s_n2_delta - r_n2_delta) < 0.15
assert 0.5 < s_n2_sigma / r_n2_sigma < 2.0
assert s_n3_delta >= r_n3_delta - 0.05          # at least as delta-dominated as the real N3 excerpt
assert 1 / 1.5 < s_eog_rms / r_eog_rms < 1.5
assert abs(s_eog_r - r_eog_r) < 0.15
PYEOF
finish
