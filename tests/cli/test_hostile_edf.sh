# Hostile input: malformed EDF/BDF files (and a few WFDB records) given to
# `somna info --stats`.  Each must exit 2 with one precise message on stderr,
# nothing on stdout, and no crash (this script also runs against the
# ASan+UBSan build, where a leak or overflow aborts).  Tolerated deviations
# exit 0 with a warning.  The corpus is generated here byte by byte.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 not available"; exit 77; }

python3 - "$TMP" <<'PY'
import os, struct, sys
out = sys.argv[1]

def f(s, w):
    b = s.encode("latin-1") if isinstance(s, str) else s
    return b[:w].ljust(w, b" ")

def edf(sigs, nrec=1, dur="1", reserved="", ns_field=None, hb_field=None, nrec_field=None, data=None,
        version=b"0       "):
    ns = len(sigs)
    h = version + f("X X X X", 80) + f("Startdate 05-MAR-2021 X X X", 80) + f("05.03.21", 8) + f("22.10.05", 8)
    h += f(hb_field if hb_field is not None else str(256 * (ns + 1)), 8) + f(reserved, 44)
    h += f(nrec_field if nrec_field is not None else str(nrec), 8) + f(dur, 8)
    h += f(ns_field if ns_field is not None else str(ns), 4)
    for idx, w in [(0, 16), (None, 80), (None, 8), (2, 8), (3, 8), (4, 8), (5, 8), (None, 80), (1, 8), (None, 32)]:
        for s in sigs:
            h += f("" if idx is None else str(s[idx]), w)
    if data is None:
        data = b""
        for r in range(nrec):
            for s in sigs:
                if s[0] == "EDF Annotations":
                    data += (b"+%d\x14\x14\x00" % r).ljust(2 * s[1], b"\x00")
                else:
                    data += b"".join(struct.pack("<h", (r * 7 + k) % 50) for k in range(s[1]))
    return h + data

eeg = ("EEG Fpz-Cz", 4, -100, 100, -2048, 2047)
ann = ("EDF Annotations", 8, -1, 1, -32768, 32767)
files = {
    "empty.edf": b"",
    "short.edf": edf([eeg])[:100],
    "trunc_sighdr.edf": edf([eeg, eeg])[:600],
    "trunc_record.edf": edf([eeg], nrec=1)[:512 + 5],
    "trunc_zero_records.edf": edf([eeg], nrec=3, data=b""),
    "lying_header_bytes.edf": edf([eeg], hb_field="99999999"),
    "zero_signals.edf": edf([eeg], ns_field="0"),
    "negative_signals.edf": edf([eeg], ns_field="-4"),
    "absurd_signals.edf": edf([eeg], ns_field="9999", hb_field="2560000"),
    "absurd_spr.edf": edf([("EEG", 99999999, -1, 1, -10, 10)], data=b"\x00" * 64),
    "zero_spr.edf": edf([("EEG", 0, -1, 1, -10, 10)], data=b""),
    "negative_records.edf": edf([eeg], nrec_field="-5"),
    "digmin_eq_digmax.edf": edf([eeg, ("EEG Pz-Oz", 4, -1, 1, 100, 100)]),
    "physmin_eq_physmax.edf": edf([("ECG", 4, 5, 5, 0, 10)]),
    "physmin_junk.edf": edf([("ECG", 4, "1,5", 5, 0, 10)]),
    "not_edf.edf": edf([eeg], version=b"1.0     "),
    "tal_no_sign.edf": edf([eeg, ann], reserved="EDF+C",
                            data=struct.pack("<4h", 1, 2, 3, 4) + b"0\x14\x14\x00".ljust(16, b"\x00")),
    "tal_unterminated.edf": edf([eeg, ann], reserved="EDF+C",
                                 data=struct.pack("<4h", 1, 2, 3, 4) + b"+0\x14abcdefghijklm"),
    "tal_bad_duration.edf": edf([eeg, ann], reserved="EDF+C",
                                 data=struct.pack("<4h", 1, 2, 3, 4) + b"+0\x15x\x14\x14\x00".ljust(16, b"\x00")),
    "edfd_backwards.edf": edf([eeg, ann], nrec=2, reserved="EDF+D",
                               data=struct.pack("<4h", 1, 2, 3, 4) + b"+5\x14\x14\x00".ljust(16, b"\x00")
                               + struct.pack("<4h", 1, 2, 3, 4) + b"+5.5\x14\x14\x00".ljust(16, b"\x00")),
    "bdf_trunc.bdf": edf([("EEG", 4, -1, 1, -8388608, 8388607)], version=b"\xffBIOSEMI", data=b"\x00" * 5),
    "bdf_badmagic.bdf": edf([("EEG", 4, -1, 1, -8388608, 8388607)], version=b"\xffBIOSEMX", data=b"\x00" * 12),
    # tolerated: record count -1 / lying, trailing bytes, non-ASCII label
    "ok_nrec_minus1.edf": edf([eeg], nrec=3, nrec_field="-1"),
    "ok_nrec_lies.edf": edf([eeg], nrec=2, nrec_field="99999999"),
    "ok_non_ascii.edf": edf([("1 Imp\xe9dance", 4, -100, 100, -2048, 2047)]),
}
for name, data in files.items():
    with open(os.path.join(out, name), "wb") as fh:
        fh.write(data)

# WFDB: a header naming a missing signal file, a junk sampling rate, and one
# claiming 10^12 samples over a 64-byte signal file (tolerated, as WFDB does).
with open(os.path.join(out, "nodat.hea"), "w") as fh:
    fh.write("nodat 1 360 1000\nnodat.dat 212 200 11 1024 0 0 0 MLII\n")
with open(os.path.join(out, "badfs.hea"), "w") as fh:
    fh.write("badfs 1 fast 1000\nbadfs.dat 16 200 16 0 0 0 0 ECG\n")
with open(os.path.join(out, "badfs.dat"), "wb") as fh:
    fh.write(b"\x00" * 64)
with open(os.path.join(out, "huge.hea"), "w") as fh:
    fh.write("huge 1 360 999999999999\nhuge.dat 16 200 16 0 0 0 0 ECG\n")
with open(os.path.join(out, "huge.dat"), "wb") as fh:
    fh.write(b"\x00" * 64)
PY

# refuse NAME 'exact message after "somna info: PATH: "'
refuse() {
  local name=$1 msg=$2
  expect_exit 2 "$SOMNA" info --stats "$TMP/$name"
  grep -qF -- "somna info: $TMP/$name: $msg" "$TMP/err" || fail "$name: message '$msg' not in: $(cat "$TMP/err")"
  [ "$(grep -c . "$TMP/err")" = 1 ] || fail "$name: expected one line on stderr: $(cat "$TMP/err")"
  [ ! -s "$TMP/out" ] || fail "$name: partial output on stdout"
}
refuse empty.edf "file is 0 bytes, shorter than the 256-byte EDF header (empty file)"
refuse short.edf "file is 100 bytes, shorter than the 256-byte EDF header (truncated)"
refuse trunc_sighdr.edf "file is 600 bytes, shorter than its 768-byte header (2 signals): truncated"
refuse trunc_record.edf "file ends inside the first data record (5 data bytes, a record is 8 bytes): truncated"
refuse trunc_zero_records.edf "header declares 3 data records but the file ends after the header: truncated"
refuse lying_header_bytes.edf "number of header bytes is 99999999, but 1 signals need 256 + 256 x 1 = 512"
refuse zero_signals.edf "number of signals (header bytes 253-256) is 0; a recording needs at least 1"
refuse negative_signals.edf "number of signals (header bytes 253-256) is -4; a recording needs at least 1"
refuse absurd_signals.edf "file is 520 bytes, shorter than its 2560000-byte header (9999 signals): truncated"
refuse absurd_spr.edf "file ends inside the first data record (64 data bytes, a record is 199999998 bytes): truncated"
refuse zero_spr.edf "signal 1 (EEG): number of samples per data record is 0; must be >= 1"
refuse negative_records.edf "number of data records (header bytes 237-244) is -5; must be >= 0 (or -1 while recording)"
refuse digmin_eq_digmax.edf "signal 2 (EEG Pz-Oz): digital minimum 100 >= digital maximum 100"
refuse physmin_eq_physmax.edf "signal 1 (ECG): physical minimum 5 == physical maximum 5"
refuse physmin_junk.edf "signal 1 (ECG): physical minimum '1,5' is not a number"
refuse not_edf.edf "not an EDF or BDF file: version field (bytes 1-8) is '1.0', expected '0' (EDF) or 0xFF 'BIOSEMI' (BDF)"
refuse tal_no_sign.edf "data record 1, signal 2 (EDF Annotations): TAL at byte 0: onset must start with '+' or '-', found byte 0x30"
refuse tal_unterminated.edf "data record 1, signal 2 (EDF Annotations): TAL at byte 0 is not terminated by 0x14 0x00 before the end of the annotation signal"
refuse tal_bad_duration.edf "data record 1, signal 2 (EDF Annotations): TAL at byte 0: duration 'x' is not a number"
refuse bdf_trunc.bdf "file ends inside the first data record (5 data bytes, a record is 12 bytes): truncated"
refuse bdf_badmagic.bdf "not an EDF or BDF file: version field (bytes 1-8) is '\\xffBIOSEMX', expected"
refuse edfd_backwards.edf "data record 2 starts at 5.5 s, before data record 1 ends (6 s)"

# WFDB records: exit 2, one message naming the record's file.
for rec in nodat badfs; do
  expect_exit 2 "$SOMNA" info --stats "$TMP/$rec"
  grep -q "$rec" "$TMP/err" || fail "$rec: message does not name the record: $(cat "$TMP/err")"
  [ ! -s "$TMP/out" ] || fail "$rec: partial output on stdout"
done

# Tolerated deviations: exit 0, a warning, and the right record count.
expect_exit 0 "$SOMNA" info --json "$TMP/huge"
expect_grep "huge.hea" "$TMP/err"
expect_grep '"n_samples": 32' "$TMP/out"
expect_exit 0 "$SOMNA" info --json "$TMP/ok_nrec_minus1.edf"
expect_grep "number of data records is -1 (file not closed by its writer); using the 3 complete records" "$TMP/err"
expect_grep '"n_samples": 12' "$TMP/out"
expect_exit 0 "$SOMNA" info --json "$TMP/ok_nrec_lies.edf"
expect_grep "header declares 99999999 data records but the file holds 2 complete records; reading 2" "$TMP/err"
expect_grep '"n_samples": 8' "$TMP/out"
expect_exit 0 "$SOMNA" info "$TMP/ok_non_ascii.edf"
expect_grep "header text with non-ASCII bytes, kept as they are (1 field): signal 1 label" "$TMP/err"
finish
