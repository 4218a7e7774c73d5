/* somna — chin EMG tone: per epoch, per stage, change between conditions,
 * REM atonia index.
 *
 * Tone of an epoch = RMS of the chin EMG band-passed 10-100 Hz (zero-phase
 * Butterworth, order 4 per edge), the band Ferri et al. used for the atonia
 * index; or, for systems that store only a 1-Hz RMS envelope channel, the
 * quadratic mean of the envelope values inside the epoch (which equals the
 * RMS of the underlying signal over the epoch when each envelope value is
 * a 1-s RMS).
 *
 * REM atonia index (Ferri et al. 2008, J Sleep Res 17:89-100): the band-
 * passed signal is rectified and averaged in 1-s mini-epochs; over REM
 *   AI = P(amp <= 1 uV) / (100 - P(1 < amp <= 2 uV)),   P in percent,
 * 0 (no atonia) .. 1 (complete atonia).  Optionally with the noise
 * correction of Ferri et al. 2010 (J Sleep Res 19:301): each mini-epoch
 * amplitude minus the minimum amplitude within +-30 s before classifying.
 * Amplitudes must be in microvolts.
 */
#ifndef SOMNA_EMG_H
#define SOMNA_EMG_H

#include <stddef.h>

#include "somna/error.h"
#include "somna/hypnogram.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct somna_emg_opts {
    double band_lo;   /* 10 Hz */
    double band_hi;   /* 100 Hz (lowered to 0.45 fs, with a warning, when fs < 222 Hz) */
    int order;        /* Butterworth order per edge, 4 */
    double epoch_s;   /* 30 */
} somna_emg_opts;

void somna_emg_opts_default(somna_emg_opts *o);

/* Band-pass a chin EMG signal (zero phase) into y (may equal x). */
int somna_emg_bandpass(const double *x, size_t n, double fs, const somna_emg_opts *o, double *y, somna_err *err);

/* Tone per whole epoch (a trailing partial epoch is dropped).  *tone is
 * malloc'd with *n_epochs values. */
int somna_emg_epoch_tone(const double *x, size_t n, double fs, const somna_emg_opts *o, double **tone,
                         size_t *n_epochs, somna_err *err);

/* Tone per epoch from a stored RMS envelope channel sampled at fs (<= 10 Hz). */
int somna_emg_epoch_tone_envelope(const double *env, size_t n, double fs, double epoch_s, double **tone,
                                  size_t *n_epochs, somna_err *err);

typedef struct somna_emg_stage_summary {
    double mean[5];      /* mean epoch tone per stage W N1 N2 N3 R; NaN when no epoch */
    double median[5];
    size_t n_epochs[5];
    double sleep_mean;   /* all sleep epochs (N1..R); NaN when none */
    double nrem_mean;    /* N1..N3 */
} somna_emg_stage_summary;

/* Combine epoch tones with a hypnogram of the same epoch length.  When the
 * counts differ the common prefix is used and a warning issued (a hypnogram
 * one epoch longer than the signal is common). */
int somna_emg_by_stage(const double *tone, size_t n_tone, const somna_hypnogram *h, somna_emg_stage_summary *s,
                       somna_err *err);

/* 100 * (value - reference) / reference; NaN when reference <= 0 or either
 * is not finite (a change from nothing is not a percentage). */
double somna_emg_percent_change(double reference, double value);

typedef struct somna_emg_atonia {
    double index;          /* AI 0..1, NaN when no REM */
    double pct_le1;        /* percent of REM mini-epochs <= 1 uV */
    double pct_1to2;       /* percent in (1, 2] uV */
    size_t n_mini_epochs;  /* 1-s REM mini-epochs used */
} somna_emg_atonia;

int somna_emg_atonia_index(const double *x, size_t n, double fs, const somna_hypnogram *h, const somna_emg_opts *o,
                           int noise_correction, somna_emg_atonia *out, somna_err *err);

/* ---- surface EMG of massaged muscles (amplitude and fatigue spectrum) ------
 * Per window of win_s seconds: Welch spectrum (Hann segments of 0.25 s,
 * half overlap; somna_dsp_welch), then inside the band [lo, hi]:
 *   rms    = sqrt(band power)                       (amplitude, signal unit)
 *   mdf_hz = frequency splitting band power in two halves (median frequency)
 *   mnf_hz = sum(f P) / sum(P)                      (mean frequency)
 * Definitions after Merletti & Parker, "Electromyography" (2004), ch. 9 and
 * De Luca 1997; typical surface band 20-450 Hz.  A window with no power
 * in the band gives NaN frequencies. */
typedef struct somna_emg_window {
    double t0_s;     /* window start */
    double rms;
    double mdf_hz;
    double mnf_hz;
} somna_emg_window;

int somna_emg_spectral(const double *x, size_t n, double fs, double win_s, double lo, double hi,
                       somna_emg_window **out, size_t *n_windows, somna_err *err);

/* Session summary of surface EMG windows (all of length win_s, in time
 * order): the first minute against the last minute -- the first m windows
 * against the last m, m = floor(60 / win_s) (at least 1); fewer than 2m
 * windows: the first half against the second half, m = n / 2 -- with RMS
 * as the power mean sqrt(mean rms^2) (the RMS over that span) and MDF/MNF
 * as plain means over the windows that have them; percent changes by
 * somna_emg_percent_change; the MDF slope is the least-squares slope of
 * mdf_hz against the window centre (t0_s + win_s / 2) in minutes over the
 * windows with an MDF (a falling MDF = fatigue, De Luca 1997).  A value
 * that cannot be computed is NaN and its reason is set (else NULL). */
typedef struct somna_emg_surface {
    size_t n_windows;
    size_t n_compare;        /* m: windows in each compared span (0 when fewer than two windows) */
    double compare_span_s;   /* m x win_s; NaN when m = 0 */
    double rms_first, rms_last, rms_change_pct;
    double mdf_first, mdf_last, mdf_change_pct;
    double mnf_first, mnf_last, mnf_change_pct;
    double mdf_slope_hz_per_min;
    size_t n_mdf;            /* windows with an MDF (points of the slope) */
    const char *why_rms_change, *why_mdf_change, *why_mnf_change, *why_slope; /* static strings or NULL */
} somna_emg_surface;

int somna_emg_surface_summary(const somna_emg_window *w, size_t n, double win_s, somna_emg_surface *out,
                              somna_err *err);

#ifdef __cplusplus
}
#endif
#endif
