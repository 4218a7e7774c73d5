#!/usr/bin/env python3
"""Write a small seed corpus of valid EDF / EDF+C / EDF+D / BDF+ files for
fuzz_edf (layout per Kemp 1992 and Kemp & Olivan 2003).  Usage: make_edf_seeds.py DIR"""
import os
import struct
import sys


def field(s, w):
    b = s.encode("latin-1") if isinstance(s, str) else s
    return b[:w].ljust(w, b" ")


def edf(signals, n_records, duration, reserved="", bdf=False, tals=None, declared=None):
    """signals: list of (label, spr, pmin, pmax, dmin, dmax); tals(r) -> bytes for the
    annotation signal (label 'EDF Annotations') of record r."""
    ns = len(signals)
    h = (b"\xffBIOSEMI" if bdf else field("0", 8)) + field("X X X X", 80)
    h += field("Startdate 02-JAN-2024 X X X", 80) + field("02.01.24", 8) + field("23.59.58", 8)
    h += field(str(256 * (ns + 1)), 8) + field(reserved, 44)
    h += field(str(n_records if declared is None else declared), 8) + field(repr(duration).rstrip("0").rstrip("."), 8)
    h += field(str(ns), 4)
    cols = [(0, 16), (None, 80), (None, 8), (2, 8), (3, 8), (4, 8), (5, 8), (None, 80), (1, 8), (None, 32)]
    for idx, w in cols:
        for s in signals:
            h += field("" if idx is None else str(s[idx]), w)
    bps = 3 if bdf else 2
    data = b""
    for r in range(n_records):
        for i, s in enumerate(signals):
            if s[0].endswith("Annotations"):
                t = tals(r)
                data += t.ljust(s[1] * bps, b"\x00")
            else:
                for k in range(s[1]):
                    v = ((r * 131 + k * 17 + i * 7) % 200) - 100
                    data += struct.pack("<i", v)[:3] if bdf else struct.pack("<h", v)
    return h + data


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    eeg = ("EEG Fpz-Cz", 8, -250, 250, -32768, 32767)
    emg = ("EMG", 4, -100.5, 100.5, -2048, 2047)
    ann = ("EDF Annotations", 30, -1, 1, -32768, 32767)
    seeds = {
        "plain.edf": edf([eeg, emg], 3, 1.0),
        "neg1.edf": edf([eeg], 2, 0.5, declared=-1),
        "plusc.edf": edf([eeg, emg, ann], 3, 1.0, "EDF+C",
                         tals=lambda r: b"+%d\x14\x14\x00" % r + (b"+0.5\x1530\x14Lights off\x14\x00" if r == 0 else b"")),
        "plusd.edf": edf([eeg, ann], 3, 2.0, "EDF+D",
                         tals=lambda r: b"+%d\x14\x14\x00" % (r * 10) + b"-1.25\x14Start\x14Two\x14\x00"),
        "bdfplus.bdf": edf([("EEG", 4, -8000, 8000, -8388608, 8388607), ("BDF Annotations", 12, -1, 1, -8388608, 8388607)],
                           2, 1.0, "BDF+C", bdf=True, tals=lambda r: b"+%d\x14\x14\x00" % r),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
