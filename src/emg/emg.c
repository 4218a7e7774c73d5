/* somna emg — chin EMG tone per epoch and stage, REM atonia index.
 *
 * Band: 10-100 Hz as Ferri et al. 2008 (J Sleep Res 17:89); Butterworth
 * band-pass applied forward and backward (no phase shift, squared
 * magnitude response).  Atonia index per Ferri 2008, optional noise
 * correction per Ferri et al. 2010 (J Sleep Res 19:301).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "somna/dsp.h"
#include "somna/emg.h"

void somna_emg_opts_default(somna_emg_opts *o)
{
    o->band_lo = 10.0;
    o->band_hi = 100.0;
    o->order = 4;
    o->epoch_s = 30.0;
}

int somna_emg_bandpass(const double *x, size_t n, double fs, const somna_emg_opts *o, double *y, somna_err *err)
{
    somna_emg_opts d;
    if (!o) {
        somna_emg_opts_default(&d);
        o = &d;
    }
    if (!(fs > 0.0))
        return somna_fail(err, SOMNA_E_ARG, "emg: sampling rate %g Hz is not positive", fs);
    double hi = o->band_hi;
    if (hi >= 0.45 * fs) {
        hi = 0.45 * fs;
        if (hi <= o->band_lo * 1.5)
            return somna_fail(err, SOMNA_E_DATA,
                              "emg: sampling rate %g Hz is too low for a %g-%g Hz tone band (need >= %g Hz)", fs,
                              o->band_lo, o->band_hi, 2.2 * o->band_hi);
        somna_warn(err, "emg: sampling rate %g Hz: tone band upper edge lowered from %g to %g Hz", fs, o->band_hi, hi);
    }
    if (n < 64)
        return somna_fail(err, SOMNA_E_DATA, "emg: %zu samples are too few to filter", n);
    somna_dsp_sos sos;
    int rc = somna_dsp_butter(o->order, SOMNA_DSP_BANDPASS, o->band_lo, hi, fs, &sos, err);
    if (rc)
        return rc;
    rc = somna_dsp_sosfiltfilt(&sos, x, n, y, err);
    somna_dsp_sos_free(&sos);
    return rc;
}

int somna_emg_epoch_tone(const double *x, size_t n, double fs, const somna_emg_opts *o, double **tone,
                         size_t *n_epochs, somna_err *err)
{
    *tone = NULL;
    *n_epochs = 0;
    somna_emg_opts d;
    if (!o) {
        somna_emg_opts_default(&d);
        o = &d;
    }
    double per = o->epoch_s * fs;
    if (!(per >= 1.0) || fabs(per - round(per)) > 1e-9)
        return somna_fail(err, SOMNA_E_ARG, "emg: epoch of %g s at %g Hz is not a whole number of samples",
                          o->epoch_s, fs);
    size_t spe = (size_t)llround(per), ne = n / spe;
    if (ne == 0)
        return somna_fail(err, SOMNA_E_DATA, "emg: signal of %zu samples is shorter than one %g-s epoch", n,
                          o->epoch_s);
    double *y = malloc(n * sizeof *y);
    double *t = malloc(ne * sizeof *t);
    if (!y || !t) {
        free(y);
        free(t);
        return somna_fail(err, SOMNA_E_NOMEM, "emg: out of memory");
    }
    int rc = somna_emg_bandpass(x, n, fs, o, y, err);
    if (rc) {
        free(y);
        free(t);
        return rc;
    }
    for (size_t e = 0; e < ne; e++) {
        double acc = 0.0;
        const double *p = y + e * spe;
        for (size_t i = 0; i < spe; i++)
            acc += p[i] * p[i];
        t[e] = sqrt(acc / (double)spe);
    }
    free(y);
    *tone = t;
    *n_epochs = ne;
    return SOMNA_OK;
}

int somna_emg_epoch_tone_envelope(const double *env, size_t n, double fs, double epoch_s, double **tone,
                                  size_t *n_epochs, somna_err *err)
{
    *tone = NULL;
    *n_epochs = 0;
    if (!(fs > 0.0 && fs <= 10.0))
        return somna_fail(err, SOMNA_E_ARG, "emg: envelope rate %g Hz is outside (0, 10] (is this the raw EMG?)", fs);
    double per = epoch_s * fs;
    if (!(per >= 1.0) || fabs(per - round(per)) > 1e-9)
        return somna_fail(err, SOMNA_E_ARG, "emg: epoch of %g s at %g Hz is not a whole number of samples", epoch_s,
                          fs);
    size_t spe = (size_t)llround(per), ne = n / spe;
    if (ne == 0)
        return somna_fail(err, SOMNA_E_DATA, "emg: envelope of %zu samples is shorter than one epoch", n);
    double *t = malloc(ne * sizeof *t);
    if (!t)
        return somna_fail(err, SOMNA_E_NOMEM, "emg: out of memory");
    for (size_t e = 0; e < ne; e++) {
        double acc = 0.0;
        for (size_t i = 0; i < spe; i++) {
            double v = env[e * spe + i];
            acc += v * v;
        }
        t[e] = sqrt(acc / (double)spe);
    }
    *tone = t;
    *n_epochs = ne;
    return SOMNA_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int somna_emg_by_stage(const double *tone, size_t n_tone, const somna_hypnogram *h, somna_emg_stage_summary *s,
                       somna_err *err)
{
    for (int k = 0; k < 5; k++) {
        s->mean[k] = s->median[k] = NAN;
        s->n_epochs[k] = 0;
    }
    s->sleep_mean = s->nrem_mean = NAN;
    if (!h || !h->stages)
        return somna_fail(err, SOMNA_E_ARG, "emg: no hypnogram");
    size_t n = n_tone < h->n_epochs ? n_tone : h->n_epochs;
    if (n_tone != h->n_epochs)
        somna_warn(err, "emg: %zu EMG epochs but %zu hypnogram epochs; using the first %zu", n_tone, h->n_epochs, n);
    double *buf = malloc((n ? n : 1) * sizeof *buf);
    if (!buf)
        return somna_fail(err, SOMNA_E_NOMEM, "emg: out of memory");
    double sleep_sum = 0.0, nrem_sum = 0.0;
    size_t sleep_n = 0, nrem_n = 0;
    for (int k = 0; k < 5; k++) {
        size_t m = 0;
        double sum = 0.0;
        for (size_t e = 0; e < n; e++)
            if (h->stages[e] == k && isfinite(tone[e])) {
                buf[m++] = tone[e];
                sum += tone[e];
            }
        s->n_epochs[k] = m;
        if (m == 0)
            continue;
        s->mean[k] = sum / (double)m;
        qsort(buf, m, sizeof *buf, cmp_double);
        s->median[k] = m % 2 ? buf[m / 2] : 0.5 * (buf[m / 2 - 1] + buf[m / 2]);
        if (k >= SOMNA_STAGE_N1) {
            sleep_sum += sum;
            sleep_n += m;
        }
        if (k >= SOMNA_STAGE_N1 && k <= SOMNA_STAGE_N3) {
            nrem_sum += sum;
            nrem_n += m;
        }
    }
    free(buf);
    if (sleep_n)
        s->sleep_mean = sleep_sum / (double)sleep_n;
    if (nrem_n)
        s->nrem_mean = nrem_sum / (double)nrem_n;
    return SOMNA_OK;
}

double somna_emg_percent_change(double reference, double value)
{
    if (!isfinite(reference) || !isfinite(value) || !(reference > 0.0))
        return NAN;
    return 100.0 * (value - reference) / reference;
}

int somna_emg_atonia_index(const double *x, size_t n, double fs, const somna_hypnogram *h, const somna_emg_opts *o,
                           int noise_correction, somna_emg_atonia *out, somna_err *err)
{
    out->index = out->pct_le1 = out->pct_1to2 = NAN;
    out->n_mini_epochs = 0;
    somna_emg_opts d;
    if (!o) {
        somna_emg_opts_default(&d);
        o = &d;
    }
    if (!h || !h->stages || !(h->epoch_s > 0.0))
        return somna_fail(err, SOMNA_E_ARG, "emg: atonia index needs a hypnogram");
    size_t sps = (size_t)llround(fs);
    if (fabs(fs - (double)sps) > 1e-9 || sps == 0)
        return somna_fail(err, SOMNA_E_ARG, "emg: atonia index needs an integer sampling rate, not %g Hz", fs);
    size_t n_sec = n / sps;
    double *y = malloc(n * sizeof *y);
    double *amp = malloc((n_sec ? n_sec : 1) * sizeof *amp);
    if (!y || !amp) {
        free(y);
        free(amp);
        return somna_fail(err, SOMNA_E_NOMEM, "emg: out of memory");
    }
    int rc = somna_emg_bandpass(x, n, fs, o, y, err);
    if (rc) {
        free(y);
        free(amp);
        return rc;
    }
    for (size_t s = 0; s < n_sec; s++) {
        double acc = 0.0;
        for (size_t i = 0; i < sps; i++)
            acc += fabs(y[s * sps + i]);
        amp[s] = acc / (double)sps;
    }
    free(y);
    size_t le1 = 0, mid = 0, used = 0;
    for (size_t s = 0; s < n_sec; s++) {
        size_t e = (size_t)((double)s / h->epoch_s);
        if (e >= h->n_epochs || h->stages[e] != SOMNA_STAGE_REM)
            continue;
        double a = amp[s];
        if (noise_correction) {
            size_t lo = s >= 30 ? s - 30 : 0, hi = s + 30 < n_sec ? s + 30 : n_sec - 1;
            double mn = amp[lo];
            for (size_t j = lo; j <= hi; j++)
                mn = amp[j] < mn ? amp[j] : mn;
            a -= mn;
        }
        used++;
        if (a <= 1.0)
            le1++;
        else if (a <= 2.0)
            mid++;
    }
    free(amp);
    out->n_mini_epochs = used;
    if (used == 0)
        return SOMNA_OK; /* no REM: index not computable (NaN) */
    out->pct_le1 = 100.0 * (double)le1 / (double)used;
    out->pct_1to2 = 100.0 * (double)mid / (double)used;
    double denom = 100.0 - out->pct_1to2;
    out->index = denom > 0.0 ? out->pct_le1 / denom : NAN;
    return SOMNA_OK;
}

int somna_emg_spectral(const double *x, size_t n, double fs, double win_s, double lo, double hi,
                       somna_emg_window **out, size_t *n_windows, somna_err *err)
{
    *out = NULL;
    *n_windows = 0;
    if (!(fs > 0.0) || !(win_s > 0.0))
        return somna_fail(err, SOMNA_E_ARG, "emg: sampling rate %g Hz and window %g s must be positive", fs, win_s);
    if (!(lo >= 0.0 && lo < hi && hi <= fs / 2.0))
        return somna_fail(err, SOMNA_E_ARG, "emg: band %g-%g Hz is not inside 0..%g Hz (half of %g Hz)", lo, hi,
                          fs / 2.0, fs);
    size_t per = (size_t)llround(win_s * fs);
    size_t seg = (size_t)llround(0.25 * fs);
    if (seg > per)
        seg = per;
    if (seg < 16)
        return somna_fail(err, SOMNA_E_DATA, "emg: window of %g s at %g Hz is too short for a spectrum", win_s, fs);
    size_t nw = per ? n / per : 0;
    if (nw == 0)
        return somna_fail(err, SOMNA_E_DATA, "emg: signal of %zu samples is shorter than one %g-s window", n, win_s);
    somna_dsp_welch *w;
    int rc = somna_dsp_welch_new(seg, seg / 2, fs, &w, err);
    if (rc)
        return rc;
    size_t nf = somna_dsp_welch_n_freqs(w);
    const double *f = somna_dsp_welch_freqs(w);
    double *psd = malloc(nf * sizeof *psd);
    somna_emg_window *res = malloc(nw * sizeof *res);
    if (!psd || !res) {
        free(psd);
        free(res);
        somna_dsp_welch_free(w);
        return somna_fail(err, SOMNA_E_NOMEM, "emg: out of memory");
    }
    const double df = f[1] - f[0];
    for (size_t k = 0; k < nw && !rc; k++) {
        rc = somna_dsp_welch_run(w, x + k * per, per, psd, err);
        if (rc)
            break;
        double total = 0.0, moment = 0.0;
        for (size_t i = 0; i < nf; i++)
            if (f[i] >= lo && f[i] <= hi) {
                total += psd[i];
                moment += f[i] * psd[i];
            }
        somna_emg_window *o = &res[k];
        o->t0_s = (double)(k * per) / fs;
        o->rms = sqrt(total * df);
        o->mnf_hz = total > 0.0 ? moment / total : NAN;
        o->mdf_hz = NAN;
        if (total > 0.0) {
            /* walk the cumulative power; interpolate inside the bin that crosses half */
            double cum = 0.0;
            for (size_t i = 0; i < nf; i++) {
                if (!(f[i] >= lo && f[i] <= hi))
                    continue;
                if (cum + psd[i] >= 0.5 * total) {
                    double frac = psd[i] > 0.0 ? (0.5 * total - cum) / psd[i] : 0.0;
                    o->mdf_hz = f[i] - 0.5 * df + frac * df;
                    break;
                }
                cum += psd[i];
            }
        }
    }
    free(psd);
    somna_dsp_welch_free(w);
    if (rc) {
        free(res);
        return rc;
    }
    *out = res;
    *n_windows = nw;
    return SOMNA_OK;
}

/* Power mean of the RMS, plain means of the frequencies, over windows [i0, i1). */
static void surface_span(const somna_emg_window *w, size_t i0, size_t i1, double *rms, double *mdf, double *mnf)
{
    double p = 0.0, f = 0.0, g = 0.0;
    size_t np = 0, nf = 0, ng = 0;
    for (size_t i = i0; i < i1; i++) {
        if (isfinite(w[i].rms)) {
            p += w[i].rms * w[i].rms;
            np++;
        }
        if (isfinite(w[i].mdf_hz)) {
            f += w[i].mdf_hz;
            nf++;
        }
        if (isfinite(w[i].mnf_hz)) {
            g += w[i].mnf_hz;
            ng++;
        }
    }
    *rms = np ? sqrt(p / (double)np) : NAN;
    *mdf = nf ? f / (double)nf : NAN;
    *mnf = ng ? g / (double)ng : NAN;
}

/* The reason a percent change from a to b is not computable. */
static const char *surface_why(size_t m, double a, double b, double change)
{
    if (isfinite(change))
        return NULL;
    if (m == 0)
        return "fewer than two windows";
    if (!isfinite(a) || !isfinite(b))
        return "no power in the band in a compared span";
    return "no power in the band at the start (a change from nothing is not a percentage)";
}

int somna_emg_surface_summary(const somna_emg_window *w, size_t n, double win_s, somna_emg_surface *out,
                              somna_err *err)
{
    memset(out, 0, sizeof *out);
    if (!(win_s > 0.0))
        return somna_fail(err, SOMNA_E_ARG, "emg: window length %g s must be positive", win_s);
    if (n > 0 && !w)
        return somna_fail(err, SOMNA_E_ARG, "emg: no windows given");
    out->n_windows = n;
    size_t m = (size_t)floor(60.0 / win_s + 1e-9);
    if (m < 1)
        m = 1;
    if (2 * m > n)
        m = n / 2;
    out->n_compare = m;
    out->compare_span_s = m ? (double)m * win_s : NAN;
    out->rms_first = out->rms_last = out->mdf_first = out->mdf_last = out->mnf_first = out->mnf_last = NAN;
    if (m > 0) {
        surface_span(w, 0, m, &out->rms_first, &out->mdf_first, &out->mnf_first);
        surface_span(w, n - m, n, &out->rms_last, &out->mdf_last, &out->mnf_last);
    }
    out->rms_change_pct = somna_emg_percent_change(out->rms_first, out->rms_last);
    out->mdf_change_pct = somna_emg_percent_change(out->mdf_first, out->mdf_last);
    out->mnf_change_pct = somna_emg_percent_change(out->mnf_first, out->mnf_last);
    out->why_rms_change = surface_why(m, out->rms_first, out->rms_last, out->rms_change_pct);
    out->why_mdf_change = surface_why(m, out->mdf_first, out->mdf_last, out->mdf_change_pct);
    out->why_mnf_change = surface_why(m, out->mnf_first, out->mnf_last, out->mnf_change_pct);

    /* least squares of mdf on the window centre in minutes */
    double sx = 0.0, sy = 0.0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(w[i].mdf_hz) && isfinite(w[i].t0_s)) {
            sx += (w[i].t0_s + 0.5 * win_s) / 60.0;
            sy += w[i].mdf_hz;
            k++;
        }
    out->n_mdf = k;
    out->mdf_slope_hz_per_min = NAN;
    if (k >= 2) {
        double mx = sx / (double)k, my = sy / (double)k, sxx = 0.0, sxy = 0.0;
        for (size_t i = 0; i < n; i++)
            if (isfinite(w[i].mdf_hz) && isfinite(w[i].t0_s)) {
                double dx = (w[i].t0_s + 0.5 * win_s) / 60.0 - mx;
                sxx += dx * dx;
                sxy += dx * (w[i].mdf_hz - my);
            }
        if (sxx > 0.0)
            out->mdf_slope_hz_per_min = sxy / sxx;
    }
    if (!isfinite(out->mdf_slope_hz_per_min))
        out->why_slope = "fewer than two windows with power in the band";
    return SOMNA_OK;
}
