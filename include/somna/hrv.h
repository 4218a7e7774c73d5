/* somna — heart-rate variability from beat times.
 *
 * Definitions: Task Force of the ESC/NASPE, Circulation 93:1043 (1996);
 * numbers reproduce the PhysioNet HRV Toolkit (get_hrv: statnn + lomb +
 * pwr) by default, and the PhysioNet Cardiovascular Signal Toolbox (Vest et
 * al. 2018) in its compatibility mode.  docs/hrv.md spells out every
 * definition and where the anchors differ.
 *
 * The unit of input is the interval: the time between two consecutive
 * beats, tagged NN when both beats are normal (and, with the optional
 * filter, plausible).  Intervals keep their order and a flag telling
 * whether they directly follow the previous one, so that subsets (a sleep
 * stage, a window) never bridge gaps in successive differences.
 */
#ifndef SOMNA_HRV_H
#define SOMNA_HRV_H

#include <stddef.h>
#include <stdint.h>

#include "somna/error.h"
#include "somna/hypnogram.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct somna_hrv_ivl {
    double t;   /* time of the interval's ending beat, s */
    double rr;  /* interval, s */
    int nn;     /* 1: both beats normal (and kept by the filter) */
    int succ;   /* 1: directly follows the previous interval of the array */
} somna_hrv_ivl;

typedef struct somna_hrv_series {
    size_t n;
    somna_hrv_ivl *ivl;
    size_t n_all; /* intervals before any selection (denominator of NN/RR) */
} somna_hrv_series;

/* From beat times (s, ascending) and normal flags.  As get_hrv, the first
 * interval (first to second beat) is counted in NN/RR but not used. */
int somna_hrv_from_beats(const double *t, const int *normal, size_t n_beats, somna_hrv_series *s, somna_err *err);

/* From an RR/IBI list (s): beat times are the running sum starting at t0;
 * every interval counts as NN (an RR file has no labels).  Intervals <= 0
 * are refused with their index. */
int somna_hrv_from_rr(const double *rr, size_t n, double t0, somna_hrv_series *s, somna_err *err);

void somna_hrv_series_free(somna_hrv_series *s);

/* The Cardiovascular Signal Toolbox's way (Vest et al. 2018, HEAD
 * eec46e7: Main_HRV_Analysis + RRIntervalPreprocess with its defaults):
 * intervals between ALL consecutive annotation times `sample` / fs (the
 * Toolbox's demo does not drop non-beat marks), times = running (floating
 * point) sum of the intervals from the first annotation, only t < max_t_s
 * (0 = all); then intervals shorter
 * than one sample and >= 2 s removed, "spikes" removed (differing by
 * >= 20 % from both the median of the 5 previous and of the 5 next
 * intervals), then intervals < 60/160 s.  Every kept interval is NN and
 * successive differences bridge removed ones, as in the Toolbox. */
int somna_hrv_toolbox_series(const int64_t *sample, size_t n, double fs, double max_t_s, somna_hrv_series *s,
                             somna_err *err);

/* Outlier/ectopic filter in the manner of the HRV Toolkit's filtnn: an NN
 * interval outside [lo_s, hi_s], or differing by more than `ratio` from the
 * mean of the NN intervals in a window of `window` intervals centred on it
 * (itself excluded), becomes non-NN.  Toolkit values: 0.2, 20, 0.4, 2.0.
 * Returns the number of intervals removed. */
size_t somna_hrv_filter(somna_hrv_series *s, double ratio, size_t window, double lo_s, double hi_s);

/* Keep intervals whose ending beat lies in [t0, t1) (the first kept one
 * no longer "follows" anything).  dst is a new series. */
int somna_hrv_select_time(const somna_hrv_series *src, double t0, double t1, somna_hrv_series *dst,
                          somna_err *err);

/* Keep intervals lying entirely inside epochs of `stage` (both beats in
 * epochs of that stage, hypnogram epoch 0 starting at time `offset_s` of
 * the beat clock).  Adjacent kept intervals stay successive only when they
 * were successive in src, so gaps are never bridged. */
int somna_hrv_select_stage(const somna_hrv_series *src, const somna_hypnogram *h, double offset_s, int stage,
                           somna_hrv_series *dst, somna_err *err);

typedef enum somna_hrv_psd {
    SOMNA_HRV_LOMB = 0, /* Lomb periodogram of the NN series (get_hrv) */
    SOMNA_HRV_WELCH     /* Welch on a 4 Hz natural-spline resample */
} somna_hrv_psd;

typedef struct somna_hrv_opts {
    somna_hrv_psd psd;
    double seg_s;         /* SDANN/SDNNIDX segment length, 300 s */
    double pnn_s;         /* pNNx threshold, 0.050 s */
    double ulf[2], vlf[2], lf[2], hf[2]; /* bands, Hz (Task Force) */
    double welch_fs;      /* resampling rate for Welch, 4 Hz */
    double welch_seg_s;   /* Welch segment, 256 s (shorter series: one segment) */
    int toolbox_compat;   /* Cardiovascular Signal Toolbox conventions (docs/hrv.md) */
} somna_hrv_opts;

void somna_hrv_default_opts(somna_hrv_opts *o);

enum {
    SOMNA_HRV_NN_RR, SOMNA_HRV_AVNN, SOMNA_HRV_SDNN, SOMNA_HRV_SDANN, SOMNA_HRV_SDNNIDX, SOMNA_HRV_RMSSD,
    SOMNA_HRV_PNN50, SOMNA_HRV_HR, SOMNA_HRV_TOTPWR, SOMNA_HRV_ULF, SOMNA_HRV_VLF, SOMNA_HRV_LF, SOMNA_HRV_HF,
    SOMNA_HRV_LF_HF, SOMNA_HRV_LFNU, SOMNA_HRV_HFNU, SOMNA_HRV_SD1, SOMNA_HRV_SD2, SOMNA_HRV_SAMPEN,
    SOMNA_HRV_DFA_A1, SOMNA_HRV_DFA_A2, SOMNA_HRV_N_MEASURES
};

/* JSON key of measure i ("NN_RR", "AVNN", ..., "DFA_a2") and its unit. */
const char *somna_hrv_key(int i);
const char *somna_hrv_unit(int i);

typedef struct somna_hrv_result {
    double v[SOMNA_HRV_N_MEASURES];          /* NaN when not computable */
    const char *why[SOMNA_HRV_N_MEASURES];   /* reason when NaN (static text) */
    size_t n_nn;                             /* NN intervals used */
    size_t n_rr;                             /* all intervals in the span */
    double span_s;                           /* first to last NN interval end */
} somna_hrv_result;

/* Every measure on a series.  Units: ms, ms^2, bpm, % (docs/hrv.md).
 * Fails only on allocation failure; too little data gives NaN + reason. */
int somna_hrv_compute(const somna_hrv_series *s, const somna_hrv_opts *o, somna_hrv_result *r, somna_err *err);

/* Nonlinear building blocks (x: NN intervals). */
double somna_hrv_sampen(const double *x, size_t n, int m, double r);  /* Richman & Moorman 2000 */
/* DFA (Peng et al. 1995) scaling exponent over box sizes [smin, smax]. */
double somna_hrv_dfa(const double *x, size_t n, size_t smin, size_t smax);

#ifdef __cplusplus
}
#endif
#endif
