/* Welch's averaged modified periodogram (Welch, IEEE Trans. Audio
 * Electroacoust. 15:70, 1967) with scipy.signal.welch's defaults: periodic
 * Hann window, constant detrend, one-sided density.  The FFTW plan, window
 * and buffers are made once per plan and reused for every signal/epoch. */
#include "somna/dsp.h"

#include <fftw3.h>
#include <math.h>
#include <stdlib.h>

struct somna_dsp_welch {
    size_t nperseg, noverlap, nfreq;
    double fs, scale;
    double *win, *freqs, *buf;
    fftw_complex *spec;
    fftw_plan plan;
};

int somna_dsp_welch_new(size_t nperseg, size_t noverlap, double fs, somna_dsp_welch **out, somna_err *err)
{
    *out = NULL;
    if (nperseg < 2 || noverlap >= nperseg)
        return somna_fail(err, SOMNA_E_ARG, "welch: need nperseg >= 2 and noverlap < nperseg (got %zu, %zu)",
                          nperseg, noverlap);
    if (!(fs > 0) || !isfinite(fs))
        return somna_fail(err, SOMNA_E_ARG, "welch: sampling rate %g Hz is not positive", fs);
    somna_dsp_welch *w = calloc(1, sizeof *w);
    if (!w)
        return somna_fail(err, SOMNA_E_NOMEM, "welch: out of memory");
    w->nperseg = nperseg;
    w->noverlap = noverlap;
    w->nfreq = nperseg / 2 + 1;
    w->fs = fs;
    w->win = malloc(nperseg * sizeof *w->win);
    w->freqs = malloc(w->nfreq * sizeof *w->freqs);
    w->buf = fftw_malloc(nperseg * sizeof *w->buf);
    w->spec = fftw_malloc(w->nfreq * sizeof *w->spec);
    if (!w->win || !w->freqs || !w->buf || !w->spec) {
        somna_dsp_welch_free(w);
        return somna_fail(err, SOMNA_E_NOMEM, "welch: out of memory for nperseg %zu", nperseg);
    }
    double s2 = 0.0;
    for (size_t i = 0; i < nperseg; i++) {
        w->win[i] = 0.5 - 0.5 * cos(2.0 * M_PI * (double)i / (double)nperseg);
        s2 += w->win[i] * w->win[i];
    }
    w->scale = 1.0 / (fs * s2);
    for (size_t k = 0; k < w->nfreq; k++)
        w->freqs[k] = (double)k * fs / (double)nperseg;
    w->plan = fftw_plan_dft_r2c_1d((int)nperseg, w->buf, w->spec, FFTW_ESTIMATE);
    if (!w->plan) {
        somna_dsp_welch_free(w);
        return somna_fail(err, SOMNA_E_NOMEM, "welch: FFTW could not plan a %zu-point transform", nperseg);
    }
    *out = w;
    return SOMNA_OK;
}

size_t somna_dsp_welch_n_freqs(const somna_dsp_welch *w) { return w->nfreq; }

const double *somna_dsp_welch_freqs(const somna_dsp_welch *w) { return w->freqs; }

int somna_dsp_welch_run(somna_dsp_welch *w, const double *x, size_t n, double *psd, somna_err *err)
{
    if (n < w->nperseg)
        return somna_fail(err, SOMNA_E_DATA, "welch: %zu samples, a segment needs %zu", n, w->nperseg);
    size_t step = w->nperseg - w->noverlap;
    size_t nseg = (n - w->nperseg) / step + 1;
    for (size_t k = 0; k < w->nfreq; k++)
        psd[k] = 0.0;
    for (size_t s = 0; s < nseg; s++) {
        const double *seg = x + s * step;
        double mean = 0.0;
        for (size_t i = 0; i < w->nperseg; i++)
            mean += seg[i];
        mean /= (double)w->nperseg;
        for (size_t i = 0; i < w->nperseg; i++)
            w->buf[i] = (seg[i] - mean) * w->win[i];
        fftw_execute(w->plan);
        for (size_t k = 0; k < w->nfreq; k++) {
            double re = w->spec[k][0], im = w->spec[k][1];
            psd[k] += re * re + im * im;
        }
    }
    for (size_t k = 0; k < w->nfreq; k++) {
        double v = psd[k] * w->scale / (double)nseg;
        /* one-sided: double all but DC and (for even nperseg) Nyquist */
        if (k > 0 && !(w->nperseg % 2 == 0 && k == w->nfreq - 1))
            v *= 2.0;
        psd[k] = v;
    }
    return SOMNA_OK;
}

void somna_dsp_welch_free(somna_dsp_welch *w)
{
    if (!w)
        return;
    if (w->plan)
        fftw_destroy_plan(w->plan);
    free(w->win);
    free(w->freqs);
    fftw_free(w->buf);
    fftw_free(w->spec);
    free(w);
}

double somna_dsp_band_power(const double *freq, const double *psd, size_t n_freqs, double lo, double hi)
{
    if (n_freqs < 2)
        return 0.0;
    double df = freq[1] - freq[0], sum = 0.0;
    for (size_t k = 0; k < n_freqs; k++)
        if (freq[k] >= lo && freq[k] < hi)
            sum += psd[k];
    return sum * df;
}
