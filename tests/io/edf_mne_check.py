"""Read an EDF+ written by somna with MNE (the reference EDF reader of the
Python EEG world) and compare with what somna decoded.
Usage: edf_mne_check.py FILE.edf VALUES.f64 UNIT...
VALUES.f64 holds, per data signal, its samples (little-endian float64) as
somna reads them.  Any warning from MNE fails the check."""
import sys
import warnings

warnings.simplefilter("error")  # "MNE reads it back without warnings"

import mne  # noqa: E402
import numpy as np  # noqa: E402

path, values, units = sys.argv[1], sys.argv[2], sys.argv[3:]
nsig = len(units)
raw = mne.io.read_raw_edf(path, preload=True, verbose="warning")
assert len(raw.ch_names) == nsig, raw.ch_names
data = raw.get_data()  # SI units: MNE turns uV into V (x 1e-6), mV into V (x 1e-3)
expected = np.fromfile(values, dtype="<f8").reshape(nsig, -1)
to_file_units = {"uV": 1e6, "mV": 1e3}
bad = 0
for i, unit in enumerate(units):
    x = data[i] * to_file_units[unit]
    ref = expected[i]
    diff = np.abs(x - ref)
    tol = 1e-9 * np.maximum(np.abs(ref), 1e-3 * (np.max(ref) - np.min(ref)))
    if np.any(diff > tol):
        j = int(np.argmax(diff - tol))
        print("signal", raw.ch_names[i], "sample", j, "MNE", x[j], "somna", ref[j])
        bad += 1
ann = [(round(a["onset"], 6), round(a["duration"], 6), a["description"]) for a in raw.annotations]
want = [(1.0, 0.0, "Lights off"), (12.5, 20.0, "Sleep stage W"), (20.0, 0.5, "Arousal")]
if ann != want:
    print("annotations: MNE", ann, "expected", want)
    bad += 1
sys.exit(1 if bad else 0)
