/* somna — R-peak (QRS) detection in one ECG lead, and beat-by-beat
 * evaluation against reference annotations (AAMI EC57 / WFDB bxb).
 *
 * The detector combines ideas from the literature rather than copying one
 * program: QRS-band energy with two moving averages (Elgendi, PLoS ONE
 * 8:e73557, 2013), Pan & Tompkins' (IEEE TBME 32:230, 1985) adaptive
 * learning, refractory period, T-wave rejection and search-back for missed
 * beats, and the final position refined to the true extremum of the ECG
 * (baseline removed locally by the line joining the window ends) with the
 * lead's polarity detected from the data (so inverted leads work).  All numbers that shape its behaviour are in
 * somna_rpeaks_params, filled by somna_rpeaks_default_params(): nothing is
 * tuned per record.  Works at 100 Hz .. 2 kHz.
 */
#ifndef SOMNA_RPEAKS_H
#define SOMNA_RPEAKS_H

#include <stddef.h>
#include <stdint.h>

#include "somna/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct somna_rpeaks_params {
    double band_lo_hz, band_hi_hz; /* QRS energy band (Butterworth, zero-phase)      8, 20   */
    int band_order;                /* per pass                                          2       */
    double qrs_win_s;              /* short moving average ~ QRS duration              0.097   */
    double beat_win_s;             /* long moving average ~ one beat                   0.611   */
    double offset_beta;            /* threshold offset: beta x local mean energy       0.08    */
    double offset_win_s;           /* window of that local mean                        10      */
    double min_block_frac;         /* block must last >= frac x qrs_win                 1.0     */
    double refractory_s;           /* no second QRS within                              0.25    */
    double twave_s;                /* candidate this close after a QRS ...              0.36    */
    double twave_slope_ratio;      /* ... with max slope below ratio x previous: T wave 0.5    */
    double searchback_factor;      /* gap > factor x mean RR triggers search-back       1.66    */
    double searchback_beta;        /* threshold offset used in search-back              0.0     */
    double searchback_min_frac;    /* a search-back beat needs >= this x median energy  0.15   */
    double refine_s;               /* half window for the extremum refinement           0.08    */
    double flat_s;                 /* flat (constant or NaN) stretches this long: no beats 0.5  */
} somna_rpeaks_params;

void somna_rpeaks_default_params(somna_rpeaks_params *p);

/* Detect R peaks in ecg[0..n) sampled at fs (physical units; NaN marks
 * missing samples).  *peaks (malloc'd, ascending sample indices) receives
 * *n_peaks beats.  `polarity` (may be NULL) receives +1 or -1: the sign of
 * the dominant QRS deflection found.  p may be NULL for the defaults. */
int somna_rpeaks_detect(const double *ecg, size_t n, double fs, const somna_rpeaks_params *p, int64_t **peaks,
                        size_t *n_peaks, int *polarity, somna_err *err);

/* The same detector pulling its input: `read` must fill out[0..n) with
 * samples [first, first + n) of the lead (NaN for missing samples).  It is
 * called in order over the whole signal in chunks of 2048 reduced-rate
 * samples (6144 at 360 Hz), then again around each long gap that needs a
 * search-back, then for short windows (+-refine_s) around each beat.  The
 * detector works in windows of 16384 reduced-rate samples (2.3 min at
 * 120 Hz) plus margins, so its memory (~1.2 MB) does not grow with the
 * recording, except a search-back over a long gap, which holds that gap.
 * Results equal somna_rpeaks_detect's. */
typedef int (*somna_rpeaks_reader)(void *ctx, int64_t first, int64_t n, double *out, somna_err *err);
int somna_rpeaks_detect_stream(somna_rpeaks_reader read, void *ctx, int64_t n, double fs,
                               const somna_rpeaks_params *p, int64_t **peaks, size_t *n_peaks, int *polarity,
                               somna_err *err);

/* ---- evaluation ------------------------------------------------------------
 * AAMI EC57:2012 / WFDB bxb beat-by-beat comparison: a detection matches a
 * reference beat when they are within `window_s` (0.150 s); each beat is
 * matched at most once, closest pairs first.  Only beats with sample >=
 * from (and < to, if to > 0) are counted (EC57 starts at 5 min). */
typedef struct somna_rpeaks_eval {
    size_t tp, fn, fp;
    double se;          /* TP / (TP + FN), NaN if no reference beat */
    double ppv;         /* TP / (TP + FP) ("+P"), NaN if no detection */
    double err_mean_ms; /* mean of detection - reference over matches, ms */
    double err_sd_ms;   /* its standard deviation (n - 1), ms */
} somna_rpeaks_eval;

int somna_rpeaks_evaluate(const int64_t *ref, size_t n_ref, const int64_t *test, size_t n_test, double fs,
                          int64_t from, int64_t to, double window_s, somna_rpeaks_eval *out, somna_err *err);

/* ---- loading -----------------------------------------------------------------
 * One ECG channel of a recording (anything somna_rec_open reads: WFDB
 * record, EDF/BDF, text with text_fs).  channel: a label (case-insensitive)
 * or a 0-based signal number (WFDB's convention); NULL picks the first signal whose label names an ECG
 * lead (ECG, EKG, MLII, II, V1..V6, ...) or else signal 0.  *x is malloc'd;
 * label (may be NULL) receives the chosen signal's label. */
int somna_rpeaks_load_ecg(const char *path, const char *channel, double text_fs, double **x, size_t *n,
                          double *fs, char *label, size_t label_size, somna_err *err);

/* Detect in one lead of a recording without holding it in memory at full
 * rate (somna_rpeaks_detect_stream over somna_rec_read); the lead is chosen
 * as by somna_rpeaks_load_ecg.  fs, n_samples, polarity and label (may be
 * NULL) describe what was analysed. */
int somna_rpeaks_detect_file(const char *path, const char *channel, double text_fs, const somna_rpeaks_params *p,
                             int64_t **peaks, size_t *n_peaks, double *fs, int64_t *n_samples, int *polarity,
                             char *label, size_t label_size, somna_err *err);

/* Beat annotations of a WFDB record: sample indices, the NORMAL flag
 * (type N) of each QRS annotation (isqrs), and the record's sampling rate
 * (from its header).  Non-beat annotations are skipped. */
int somna_rpeaks_load_beats(const char *record, const char *annotator, int64_t **sample, int **normal,
                            size_t *n, double *fs, somna_err *err);

#ifdef __cplusplus
}
#endif
#endif
