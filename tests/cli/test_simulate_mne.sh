#!/usr/bin/env bash
# A simulated night with every optional channel reads back with MNE
# (Debian python3-mne) without a single warning: channel names, rates,
# duration, and the stage annotations equal the truth hypnogram's runs.
# Skips when /usr/bin/python3 has no mne.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c "import mne" 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 with mne not available (apt-get install python3-mne)"
  exit 77
fi
expect_exit 0 "$SOMNA" simulate night -o "$TMP/n" --nap 60 --sol 5 --seed 3 --extras --emg-envelope \
  --artefacts --line-noise 50 --ectopy 0.01
"$PY" -W error - "$TMP/n/nap.edf" "$TMP/n/nap.hypnogram.tsv" <<'PYEOF' || fail "MNE read-back failed"
import sys, warnings
import mne
import numpy as np
warnings.simplefilter("error")
raw = mne.io.read_raw_edf(sys.argv[1], preload=True, verbose="warning")
want = ["EEG C4-M1", "EEG Fpz-Cz", "EOG E1-M2", "EOG E2-M1", "EMG Chin", "ECG", "EMG Chin RMS",
        "Resp Thorax", "Temp Skin Foot", "Acc X", "Acc Y", "Acc Z"]
assert raw.ch_names == want, raw.ch_names
assert raw.info["sfreq"] == 256.0, raw.info["sfreq"]
assert abs(raw.n_times / raw.info["sfreq"] - 3600.0) < 1e-9, raw.n_times
# EEG in volts (uV in the file): background tens of microvolts
eeg = raw.get_data(picks=["EEG C4-M1"])[0]
assert 5e-6 < eeg.std() < 200e-6, eeg.std()
# stage annotations = runs of the truth hypnogram
labels = {"0": "Sleep stage W", "1": "Sleep stage 1", "2": "Sleep stage 2", "3": "Sleep stage 3", "4": "Sleep stage R"}
with open(sys.argv[2]) as f:
    stages = [l.split("\t")[2] for l in f.read().splitlines()[1:]]
runs = []
for k, s in enumerate(stages):
    if k == 0 or s != stages[k - 1]:
        runs.append([k * 30.0, 30.0, labels[s]])
    else:
        runs[-1][1] += 30.0
ann = raw.annotations
assert len(ann) == len(runs), (len(ann), len(runs))
for a, r in zip(ann, runs):
    assert abs(a["onset"] - r[0]) < 1e-6 and abs(a["duration"] - r[1]) < 1e-6 and a["description"] == r[2], (a, r)
# the 1-Hz envelope channel is the RMS of each second of the chin EMG
emg = raw.get_data(picks=["EMG Chin"])[0] * 1e6
env = raw.get_data(picks=["EMG Chin RMS"])[0][::256] * 1e6
rms = np.sqrt((emg.reshape(-1, 256) ** 2).mean(axis=1))
assert np.max(np.abs(env - rms)) < 0.05, np.max(np.abs(env - rms))
# ECG in volts, R waves around 1 mV
ecg = raw.get_data(picks=["ECG"])[0]
assert 0.5e-3 < np.percentile(ecg, 99.9) < 3e-3, np.percentile(ecg, 99.9)
print("mne ok:", len(ann), "annotations")
PYEOF
finish
