/* somna — one view over every recording format (EDF/EDF+/BDF, WFDB, text).
 *
 * Commands that take "FILE|RECORD" (info, rpeaks, hrv, ...) open it here;
 * the format is detected from the content (EDF/BDF magic) or name (a WFDB
 * record's .hea), or forced.  Signals are read in physical units.
 */
#ifndef SOMNA_RECORDING_H
#define SOMNA_RECORDING_H

#include <stddef.h>
#include <stdint.h>

#include "somna/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum somna_rec_kind {
    SOMNA_REC_AUTO = 0,
    SOMNA_REC_EDF,           /* EDF, EDF+, BDF, BDF+ */
    SOMNA_REC_WFDB,
    SOMNA_REC_TEXT           /* delimited text, one column per channel */
} somna_rec_kind;

typedef struct somna_rec_signal {
    char label[128];
    char unit[32];
    double fs;
    int64_t n_samples;
    double phys_min, phys_max;  /* declared range (NaN if the format has none) */
    double units_per_code;      /* physical units per stored code step (see somna_rec_read_codes);
                                   negative when the file's scale is inverted; 1 for text */
} somna_rec_signal;

typedef struct somna_rec_open_opts {
    somna_rec_kind kind;     /* AUTO to detect */
    double text_fs;          /* sampling rate for text signals (required for text) */
} somna_rec_open_opts;

typedef struct somna_recording somna_recording;

int somna_rec_open(const char *path, const somna_rec_open_opts *opts, somna_recording **out, somna_err *err);
void somna_rec_close(somna_recording *rec);

const char *somna_rec_format(const somna_recording *rec);   /* "EDF+C", "WFDB", "text", ... */
/* Start as "YYYY-MM-DDTHH:MM:SS" (or "" if unknown). */
const char *somna_rec_start(const somna_recording *rec);
double somna_rec_duration(const somna_recording *rec);      /* seconds */
int somna_rec_n_signals(const somna_recording *rec);        /* data signals only */
const somna_rec_signal *somna_rec_signal_info(const somna_recording *rec, int sig);
size_t somna_rec_n_annotations(const somna_recording *rec);
/* Signal by label (case-insensitive, tried first) or by its number as
 * `somna info` lists it, counting from 1 ("3" = the third data signal);
 * returns the 0-based index, or -1 if none. */
int somna_rec_find_signal(const somna_recording *rec, const char *label_or_index);
int somna_rec_read(somna_recording *rec, int sig, int64_t first, int64_t n, double *out, somna_err *err);
/* The same samples as the file stores them (WFDB adu, EDF digital values;
 * text: the values), as doubles, NaN for WFDB's invalid-sample code:
 * physical = units_per_code * code + offset.  For consumers invariant to
 * gain and offset (R-peak detection), which so skip the conversion. */
int somna_rec_read_codes(somna_recording *rec, int sig, int64_t first, int64_t n, double *out, somna_err *err);

#ifdef __cplusplus
}
#endif
#endif
