/* somna — PhysioNet WFDB records: header (.hea), signal files and MIT-format
 * annotation files.
 *
 * Reference: WFDB Programmer's Guide (Moody), header(5), signal(5), annot(5).
 * A record is named as WFDB names it: "path/100" reads path/100.hea, the
 * signal files it lists (relative to the header's directory) and
 * path/100.<annotator>.  Physical values follow rdsamp -p:
 *   physical = (adu - baseline) / gain, gain 0 meaning 200 adu/unit;
 * the invalid-sample value (WFDB_INVALID_SAMPLE, -32768 for 16-bit formats)
 * decodes to NaN.
 */
#ifndef SOMNA_WFDB_H
#define SOMNA_WFDB_H

#include <stddef.h>
#include <stdint.h>

#include "somna/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct somna_wfdb_signal {
    char file[256];          /* signal file name as written in the header */
    int format;              /* 8, 16, 61, 80, 160, 212, 310, 311, 24, 32 ... */
    int samples_per_frame;   /* 1 unless the header says "212x2" */
    int skew;
    int64_t byte_offset;
    double gain;             /* adu per physical unit (200 if the header gives 0) */
    int baseline;
    char units[32];          /* "mV" if absent */
    int adc_resolution;
    int adc_zero;
    int initial_value;
    int checksum;
    int block_size;
    char description[128];
} somna_wfdb_signal;

typedef struct somna_wfdb_record {
    char name[256];          /* record name without directory */
    char dir[1024];          /* directory of the header ("." if none) */
    int n_signals;
    double fs;               /* frame frequency, Hz (250 if absent) */
    double counter_fs;
    double base_counter;
    int64_t n_samples;       /* samples per signal (frames); 0 if unknown */
    char base_time[32];      /* "HH:MM:SS" or "" */
    char base_date[32];      /* "DD/MM/YYYY" or "" */
    somna_wfdb_signal *signals;
    char *info;              /* '#' comment lines joined by '\n' (may be NULL) */
} somna_wfdb_record;

/* Decoded value of a sample the file marks invalid (each format's most
 * negative code, e.g. -2048 in format 212); read_physical gives NaN. */
#define SOMNA_WFDB_INVALID INT32_MIN

/* Parse record.hea ("path/100" or "path/100.hea"), map its signal files and
 * check their sizes; every refusal names the file, line and field.  A
 * signal file shorter than the header's sample count is tolerated with a
 * warning and n_samples is reduced to the frames the files hold. */
int somna_wfdb_open(const char *record, somna_wfdb_record **out, somna_err *err);
void somna_wfdb_close(somna_wfdb_record *rec);

/* Samples of signal `sig`: n_samples * samples_per_frame. */
int64_t somna_wfdb_signal_length(const somna_wfdb_record *rec, int sig);
/* Sampling rate of signal `sig` in Hz: fs * samples_per_frame. */
double somna_wfdb_signal_fs(const somna_wfdb_record *rec, int sig);

/* Decode samples [first, first+n) of signal `sig` as raw adu or physical
 * units.  Indices count the signal's own samples (frames when
 * samples_per_frame is 1); skew is applied as WFDB does (in whole frames),
 * and samples the skew moves past the end of the file are invalid. */
int somna_wfdb_read_adu(const somna_wfdb_record *rec, int sig, int64_t first, int64_t n, int32_t *out,
                        somna_err *err);
int somna_wfdb_read_physical(const somna_wfdb_record *rec, int sig, int64_t first, int64_t n, double *out,
                             somna_err *err);
/* The adu as doubles, NaN for the invalid code: for consumers that do not
 * depend on gain and baseline (R-peak detection) and skip the division. */
int somna_wfdb_read_codes(const somna_wfdb_record *rec, int sig, int64_t first, int64_t n, double *out,
                          somna_err *err);

/* 16-bit checksum of all n_samples of a signal as the header's checksum
 * field defines it (sum of the adu, modulo 65536).  Returns SOMNA_OK and
 * *computed; *matches is 1 when it equals the header value. */
int somna_wfdb_checksum(const somna_wfdb_record *rec, int sig, int *computed, int *matches, somna_err *err);

/* ---- MIT annotation files -------------------------------------------------*/
typedef struct somna_wfdb_annotation {
    int64_t sample;          /* time in samples (frame counter) */
    int type;                /* anntyp code (1 = NORMAL 'N', ...) */
    int subtype;             /* signed char in the file */
    int chan;                /* unsigned char */
    int num;                 /* signed char */
    char *aux;               /* NULL, or aux bytes with aux[aux_len] = '\0' */
    size_t aux_len;
} somna_wfdb_annotation;

/* Read/write record.annotator.  The writer uses the same encoding rules as
 * WFDB's putann (SKIP for long intervals, NUM/SUB/CHN only when they change,
 * AUX after its annotation) so a read-then-write round trip is byte-exact. */
int somna_wfdb_ann_read(const char *record, const char *annotator, somna_wfdb_annotation **out, size_t *count,
                        somna_err *err);
int somna_wfdb_ann_read_file(const char *path, somna_wfdb_annotation **out, size_t *count, somna_err *err);
/* The number of annotations in a file, every byte checked as by
 * somna_wfdb_ann_read_file, nothing kept (no allocation per annotation). */
int somna_wfdb_ann_count_file(const char *path, size_t *count, somna_err *err);
/* Parse an annotation file already in memory; `name` is used in messages. */
int somna_wfdb_ann_parse(const void *data, size_t len, const char *name, somna_wfdb_annotation **out,
                         size_t *count, somna_err *err);
int somna_wfdb_ann_write(const char *record, const char *annotator, const somna_wfdb_annotation *ann,
                         size_t count, somna_err *err);
int somna_wfdb_ann_write_file(const char *path, const somna_wfdb_annotation *ann, size_t count,
                              somna_err *err);
void somna_wfdb_ann_free(somna_wfdb_annotation *ann, size_t count);

/* Annotation code helpers (WFDB ecgcodes.h semantics). */
const char *somna_wfdb_ann_mnemonic(int type);  /* "N", "V", "+", ... or "?" */
int somna_wfdb_ann_code(const char *mnemonic);   /* inverse, -1 if unknown */
int somna_wfdb_is_beat(int type);                /* isqrs(): a QRS annotation */

#ifdef __cplusplus
}
#endif
#endif
