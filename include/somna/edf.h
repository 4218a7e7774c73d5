/* somna — EDF, EDF+ (continuous and discontinuous) and BDF/BDF+ recordings.
 *
 * Reference: Kemp et al. 1992 (EDF), Kemp & Olivan 2003 (EDF+), BioSemi BDF.
 * Samples are decoded to physical units with the header's calibration
 *   physical = gain * digital + offset,
 *   gain = (phys_max - phys_min) / (dig_max - dig_min),
 *   offset = phys_max - gain * dig_max
 * (the same arithmetic as EDFlib, so values agree to rounding).
 * The file is memory-mapped and decoded record by record, never one
 * syscall per sample.  EDF+D record onsets come from each record's first
 * TAL; a gap is never treated as continuous.
 */
#ifndef SOMNA_EDF_H
#define SOMNA_EDF_H

#include <stddef.h>
#include <stdint.h>

#include "somna/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum somna_edf_format {
    SOMNA_EDF = 0,      /* plain EDF (16-bit) */
    SOMNA_EDFPLUS_C,    /* EDF+ continuous */
    SOMNA_EDFPLUS_D,    /* EDF+ discontinuous */
    SOMNA_BDF,          /* BioSemi 24-bit */
    SOMNA_BDFPLUS_C,
    SOMNA_BDFPLUS_D
} somna_edf_format;

const char *somna_edf_format_name(somna_edf_format f); /* "EDF", "EDF+C", ... */

typedef struct somna_edf_signal {
    char label[17];          /* trailing blanks removed; non-ASCII kept as bytes */
    char transducer[81];
    char unit[9];
    char prefilter[81];
    double phys_min, phys_max;
    int32_t dig_min, dig_max;
    int32_t samples_per_record;
    double fs;               /* samples_per_record / record_duration (0 if duration 0) */
    double gain, offset;     /* physical = gain * digital + offset */
    int64_t n_samples;       /* samples_per_record * n_records (0 for annotation signals) */
    int is_annotation;       /* "EDF Annotations" / "BDF Annotations" signal */
} somna_edf_signal;

typedef struct somna_edf_annotation {
    double onset;            /* seconds from the file start time */
    double duration;         /* seconds; < 0 when the TAL gave none */
    char *text;              /* UTF-8, NUL-terminated */
} somna_edf_annotation;

typedef struct somna_edf_header {
    somna_edf_format format;
    char patient[81];
    char recording[81];
    int start_year, start_month, start_day;  /* 4-digit year (EDF "yy" 85..99 -> 19yy) */
    int start_hour, start_minute, start_second;
    double start_subsecond;  /* EDF+: fraction from the first TAL, else 0 */
    int64_t n_records;       /* as used (after leniency corrections) */
    double record_duration;  /* seconds */
    int n_signals;           /* including annotation signals */
    somna_edf_signal *signals;
    double *record_onsets;   /* n_records onsets in seconds (i * duration unless EDF+D) */
    double duration_s;       /* end of last record - start */
} somna_edf_header;

typedef struct somna_edf somna_edf;

/* Open and validate; the header is checked field by field and every
 * refusal names the field (and signal) at fault.  Tolerated deviations
 * (n_records = -1 or disagreeing with the file size, non-ASCII label bytes,
 * ...) are reported through somna_warn. */
int somna_edf_open(const char *path, somna_edf **out, somna_err *err);
/* Same over a caller's buffer holding a whole file (kept alive until
 * close); `name` is used in messages.  Used by the fuzz harness and tests. */
int somna_edf_open_buffer(const void *data, size_t len, const char *name, somna_edf **out, somna_err *err);
void somna_edf_close(somna_edf *edf);
const somna_edf_header *somna_edf_get_header(const somna_edf *edf);

/* Index of the first signal whose label matches (case-insensitive, blanks
 * trimmed), or -1. */
int somna_edf_find_signal(const somna_edf *edf, const char *label);

/* Decode samples [first, first+n) of signal `sig` into physical units.
 * Sample indices count stored samples (for EDF+D use record_onsets to map
 * to time).  Fails for annotation signals or out-of-range requests. */
int somna_edf_read_physical(somna_edf *edf, int sig, int64_t first, int64_t n, double *out, somna_err *err);
int somna_edf_read_digital(somna_edf *edf, int sig, int64_t first, int64_t n, int32_t *out, somna_err *err);

/* Time-range helper: samples of signal `sig` whose time lies in
 * [t0, t1) seconds from the header's start date/time (the clock of EDF+
 * TAL onsets and of record_onsets; sample k of record r lies at
 * record_onsets[r] + k * record_duration / samples_per_record, so EDF+D
 * gaps hold no samples); allocates *out (caller frees), sets *n. */
int somna_edf_read_range(somna_edf *edf, int sig, double t0, double t1, double **out, int64_t *n, somna_err *err);

/* All annotations of all annotation signals, in file order (record
 * time-keeping TALs excluded). */
const somna_edf_annotation *somna_edf_annotations(const somna_edf *edf, size_t *count);

/* ---- Writer (EDF+C or BDF+C) ------------------------------------------------
 * Streaming: open with the signal layout, then append whole data records
 * (each signal's samples_per_record values, physical units), then close.
 * Annotations are collected and written into the "EDF Annotations" signal,
 * which is sized at open from `max_annotation_bytes_per_record`.
 * Physical values outside [phys_min, phys_max] are clipped. */
typedef struct somna_edf_signal_spec {
    const char *label;
    const char *unit;
    const char *transducer;  /* may be NULL */
    const char *prefilter;   /* may be NULL */
    int32_t samples_per_record;
    double phys_min, phys_max;
    int32_t dig_min, dig_max; /* 0,0 = full range of the format */
} somna_edf_signal_spec;

typedef struct somna_edf_writer_spec {
    int bdf;                  /* 0 = EDF+C (16-bit), 1 = BDF+C (24-bit) */
    const char *patient;      /* EDF+ patient field, e.g. "X X X X" */
    const char *recording;    /* EDF+ recording field without the "Startdate" part; may be NULL */
    int start_year, start_month, start_day, start_hour, start_minute, start_second;
    double record_duration;   /* seconds, e.g. 1.0 */
    int n_signals;            /* data signals (the annotation signal is added) */
    const somna_edf_signal_spec *signals;
    int max_annotation_bytes_per_record; /* 0 = default (enough for a few per record) */
} somna_edf_writer_spec;

typedef struct somna_edf_writer somna_edf_writer;

int somna_edf_writer_open(const char *path, const somna_edf_writer_spec *spec, somna_edf_writer **out,
                          somna_err *err);
/* data[s] points at signal s's samples_per_record physical values. */
int somna_edf_writer_put_record(somna_edf_writer *w, const double *const *data, somna_err *err);
int somna_edf_writer_add_annotation(somna_edf_writer *w, double onset, double duration, const char *text,
                                    somna_err *err);
/* Writes pending annotations, fixes n_records in the header, renames the
 * temporary file into place.  On failure nothing is left under `path`. */
int somna_edf_writer_close(somna_edf_writer *w, somna_err *err);
void somna_edf_writer_abort(somna_edf_writer *w);

#ifdef __cplusplus
}
#endif
#endif
