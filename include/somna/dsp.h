/* somna — signal processing shared by every signal module (sleep EEG, ECG,
 * EMG, actigraphy).
 *
 * Every kernel follows FFTW's plan/execute split: the expensive part
 * (filter coefficients, FIR taps, FFT plans, windows) is built once by a
 * *_new/design call and then applied to as many signals, epochs or channels
 * as needed.  Plans are immutable after creation except where stated (Welch
 * holds scratch buffers, so one Welch plan per thread).
 *
 * Conventions: frequencies in Hz, sampling rates in Hz, arrays of double,
 * lengths as size_t.  Functions that can fail return SOMNA_OK or SOMNA_E_*
 * and leave a message in `err`.  Results are checked against SciPy
 * (signal.butter(output='sos'), sosfiltfilt, resample_poly, welch,
 * CubicSpline(bc_type='natural')) and, for the Lomb periodogram, against
 * the PhysioNet HRV Toolkit (get_hrv) in tests/dsp/test_dsp.c.
 */
#ifndef SOMNA_DSP_H
#define SOMNA_DSP_H

#include <stddef.h>

#include "somna/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- IIR filters: Butterworth as second-order sections -------------------
 * Design: analog Butterworth prototype, frequency pre-warping and the
 * bilinear transform (Oppenheim & Schafer, Discrete-Time Signal Processing,
 * 3rd ed., 7.1), the same construction as scipy.signal.butter.  Sections
 * avoid the coefficient sensitivity of high-order direct forms. */
typedef enum somna_dsp_band {
    SOMNA_DSP_LOWPASS = 0,
    SOMNA_DSP_HIGHPASS,
    SOMNA_DSP_BANDPASS,
    SOMNA_DSP_BANDSTOP
} somna_dsp_band;

typedef struct somna_dsp_sos {
    size_t n_sections;
    /* n_sections rows of b0 b1 b2 a0 a1 a2 (a0 = 1), as scipy's sos array */
    double (*coef)[6];
} somna_dsp_sos;

/* Butterworth of `order` (1..20).  f1 is the cut-off (low/high pass) or the
 * lower edge (band pass/stop), f2 the upper edge (ignored for low/high
 * pass); 0 < f1 < f2 < fs/2.  A band filter of order N has N sections. */
int somna_dsp_butter(int order, somna_dsp_band band, double f1, double f2, double fs, somna_dsp_sos *out,
                     somna_err *err);
void somna_dsp_sos_free(somna_dsp_sos *sos);

/* Causal filtering in place (transposed direct form II per section).
 * `state` holds 2 * n_sections values carried between calls, so a long
 * signal can be filtered chunk by chunk (streaming); zero it to start at
 * rest, or pass NULL for a single call from rest. */
void somna_dsp_sosfilt(const somna_dsp_sos *sos, double *x, size_t n, double *state);

/* Zero-phase forward-backward filtering, exactly as scipy.signal.sosfiltfilt
 * with its defaults: odd extension of padlen = 3 * (2 * n_sections + 1 -
 * min(#b2 == 0, #a2 == 0)) samples at each end (less if the signal is
 * shorter), initial state = steady state for the edge value (sosfilt_zi).
 * x and y may be the same array.  Fails (SOMNA_E_DATA) only if n < 2. */
int somna_dsp_sosfiltfilt(const somna_dsp_sos *sos, const double *x, size_t n, double *y, somna_err *err);

/* ---- Rational resampling (polyphase FIR) ----------------------------------
 * Upsample by `up`, low-pass, downsample by `down`, as
 * scipy.signal.resample_poly(x, up, down) with its default Kaiser window
 * (beta 5.0, half length 10 * max(up, down) taps) and zero padding.  The
 * output has ceil(n * up / down) samples, sample 0 aligned with input 0. */
typedef struct somna_dsp_resampler somna_dsp_resampler;

int somna_dsp_resampler_new(int up, int down, somna_dsp_resampler **out, somna_err *err);
size_t somna_dsp_resampler_out_len(const somna_dsp_resampler *r, size_t n_in);
/* y must hold somna_dsp_resampler_out_len(r, n) values. */
void somna_dsp_resampler_run(const somna_dsp_resampler *r, const double *x, size_t n, double *y);
void somna_dsp_resampler_free(somna_dsp_resampler *r);

/* Convenience: resample from fs_in to fs_out (their ratio reduced to a
 * fraction up/down with up, down <= 1000).  *y is malloc'd. */
int somna_dsp_resample(const double *x, size_t n, double fs_in, double fs_out, double **y, size_t *ny,
                       somna_err *err);

/* ---- Welch power spectral density (FFTW) ----------------------------------
 * Welch (1967): segments of nperseg samples overlapping by noverlap, each
 * mean-removed ("constant" detrend), Hann-windowed (periodic), one-sided
 * density in unit^2/Hz, averaged — scipy.signal.welch's defaults. */
typedef struct somna_dsp_welch somna_dsp_welch;

int somna_dsp_welch_new(size_t nperseg, size_t noverlap, double fs, somna_dsp_welch **out, somna_err *err);
size_t somna_dsp_welch_n_freqs(const somna_dsp_welch *w);      /* nperseg / 2 + 1 */
const double *somna_dsp_welch_freqs(const somna_dsp_welch *w); /* k * fs / nperseg */
/* psd receives n_freqs values.  Fails (SOMNA_E_DATA) if n < nperseg. */
int somna_dsp_welch_run(somna_dsp_welch *w, const double *x, size_t n, double *psd, somna_err *err);
void somna_dsp_welch_free(somna_dsp_welch *w);

/* Power in [lo, hi) from a density on a uniform frequency grid: the sum of
 * psd * df over bins with lo <= f < hi (rectangle rule, as the HRV Toolkit
 * sums Lomb bins).  Returns 0 when no bin falls in the band. */
double somna_dsp_band_power(const double *freq, const double *psd, size_t n_freqs, double lo, double hi);

/* ---- Envelope (analytic signal) --------------------------------------------
 * |x + i H(x)| with the Hilbert transform taken in the frequency domain
 * (one-sided spectrum doubled, Marple, IEEE Trans. SP 47:2600, 1999), as
 * scipy.signal.hilbert; whole-signal FFT (FFTW), out may alias x. */
int somna_dsp_envelope(const double *x, size_t n, double *out, somna_err *err);

/* ---- Natural cubic spline -------------------------------------------------
 * Interpolating spline with zero second derivative at both ends (de Boor,
 * A Practical Guide to Splines, ch. IV); x strictly increasing. */
typedef struct somna_dsp_spline {
    size_t n;
    double *x, *y, *m;  /* knots, values, second derivatives */
} somna_dsp_spline;

int somna_dsp_spline_init(somna_dsp_spline *s, const double *x, const double *y, size_t n, somna_err *err);
/* Value at t (the end polynomials extend beyond the knots). */
double somna_dsp_spline_eval(const somna_dsp_spline *s, double t);
/* Values at t0, t0 + dt, ... (n_out points), one pass over the knots. */
void somna_dsp_spline_eval_grid(const somna_dsp_spline *s, double t0, double dt, size_t n_out, double *out);
void somna_dsp_spline_free(somna_dsp_spline *s);

/* ---- Lomb periodogram of unevenly sampled data -----------------------------
 * Press & Rybicki, Astrophys. J. 338:277 (1989) fast algorithm (extirpolation
 * to a regular grid, 4 points, then two FFTs), as used by the PhysioNet HRV
 * Toolkit's `lomb` (ofac 4, hifac 2).  Frequencies are k * df for
 * k = 1 .. nout/2 with df = 1 / (ofac * (t_max - t_min)) and
 * nout = floor(0.5 * ofac * hifac * n), i.e. up to half the mean sampling
 * rate when hifac = 2.  power[k] is the classical Lomb periodogram
 * (Scargle 1982, unnormalised, y mean removed) divided by nout, so that the
 * values sum to about the variance of y — the HRV Toolkit's scaling: a band
 * power is the plain sum of power over the band's frequencies.
 * freq and power are malloc'd (n_freqs values).  Needs n >= 4 and
 * t_max > t_min. */
int somna_dsp_lomb(const double *t, const double *y, size_t n, double ofac, double hifac, double **freq,
                   double **power, size_t *n_freqs, somna_err *err);

/* Same periodogram evaluated directly at the given frequencies with the
 * O(n * n_freqs) textbook formula (Scargle 1982 with Lomb's tau), scaled
 * by 1 / nout as above.  Exact (no extirpolation); on a uniform frequency
 * grid the trigonometric sums use the angle-addition recurrence, so the
 * cost is a few multiplications per (point, frequency). */
int somna_dsp_lomb_direct(const double *t, const double *y, size_t n, const double *freq, size_t n_freqs,
                          double nout, double *power, somna_err *err);

#ifdef __cplusplus
}
#endif
#endif
