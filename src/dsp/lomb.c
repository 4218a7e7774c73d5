/* Lomb periodogram of unevenly sampled data.
 * Fast version: Press & Rybicki, "Fast algorithm for spectral analysis of
 * unevenly sampled data", Astrophys. J. 338:277-280 (1989): the data (and a
 * unit series at doubled positions) are extirpolated onto a regular grid
 * with 4-point Lagrange weights, two real FFTs give the trigonometric sums
 * at every frequency, and Lomb's tau is applied through half-angle
 * identities.  This is the algorithm (and the ofac/hifac/MACC settings) of
 * the PhysioNet HRV Toolkit's `lomb`, here in double precision with FFTW.
 * Direct version: Scargle, Astrophys. J. 263:835 (1982), eq. 10. */
#include "somna/dsp.h"

#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LOMB_MACC 4 /* extirpolation points (Press & Rybicki use 4) */

/* Add y at fractional grid position pos (0-based) into yy[0..n) with
 * Lagrange weights over the LOMB_MACC nearest grid points. */
static void extirpolate(double y, double *yy, long n, double pos)
{
    long ip = (long)pos;
    if ((double)ip == pos) {
        yy[ip] += y;
        return;
    }
    long ilo = ip - (LOMB_MACC / 2 - 1);
    if (ilo < 0)
        ilo = 0;
    if (ilo > n - LOMB_MACC)
        ilo = n - LOMB_MACC;
    for (long j = ilo; j < ilo + LOMB_MACC; j++) {
        double w = 1.0;
        for (long i = ilo; i < ilo + LOMB_MACC; i++)
            if (i != j)
                w *= (pos - (double)i) / (double)(j - i);
        yy[j] += y * w;
    }
}

int somna_dsp_lomb(const double *t, const double *y, size_t n, double ofac, double hifac, double **freq,
                   double **power, size_t *n_freqs, somna_err *err)
{
    *freq = *power = NULL;
    *n_freqs = 0;
    if (n < 4)
        return somna_fail(err, SOMNA_E_DATA, "lomb: %zu point(s), need at least 4", n);
    if (!(ofac >= 1) || !(hifac > 0) || ofac * hifac * (double)n > 1e9)
        return somna_fail(err, SOMNA_E_ARG, "lomb: bad oversampling %g / high-frequency factor %g", ofac, hifac);
    double tmin = t[0], tmax = t[0], mean = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(t[i]) || !isfinite(y[i]))
            return somna_fail(err, SOMNA_E_DATA, "lomb: point %zu is not finite", i);
        tmin = fmin(tmin, t[i]);
        tmax = fmax(tmax, t[i]);
        mean += y[i];
    }
    mean /= (double)n;
    double tspan = tmax - tmin;
    if (!(tspan > 0))
        return somna_fail(err, SOMNA_E_DATA, "lomb: all %zu points at the same time", n);

    size_t nout = (size_t)(0.5 * ofac * hifac * (double)n);
    size_t nfreqt = (size_t)(ofac * hifac * (double)n * LOMB_MACC);
    size_t nfreq = 64;
    while (nfreq < nfreqt)
        nfreq <<= 1;
    size_t ndim = nfreq << 1;
    size_t nres = nout / 2;

    double *w1 = fftw_malloc(ndim * sizeof *w1), *w2 = fftw_malloc(ndim * sizeof *w2);
    fftw_complex *c1 = fftw_malloc((ndim / 2 + 1) * sizeof *c1), *c2 = fftw_malloc((ndim / 2 + 1) * sizeof *c2);
    double *f = malloc((nres ? nres : 1) * sizeof *f), *p = malloc((nres ? nres : 1) * sizeof *p);
    fftw_plan pl1 = NULL, pl2 = NULL;
    int rc = SOMNA_OK;
    if (!w1 || !w2 || !c1 || !c2 || !f || !p) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "lomb: out of memory for %zu points", n);
        goto done;
    }
    pl1 = fftw_plan_dft_r2c_1d((int)ndim, w1, c1, FFTW_ESTIMATE);
    pl2 = fftw_plan_dft_r2c_1d((int)ndim, w2, c2, FFTW_ESTIMATE);
    if (!pl1 || !pl2) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "lomb: FFTW could not plan %zu points", ndim);
        goto done;
    }
    for (size_t j = 0; j < ndim; j++)
        w1[j] = w2[j] = 0.0;
    double fac = (double)ndim / (tspan * ofac), fndim = (double)ndim;
    for (size_t i = 0; i < n; i++) {
        double ck = fmod((t[i] - tmin) * fac, fndim);
        double ckk = fmod(2.0 * ck, fndim);
        extirpolate(y[i] - mean, w1, (long)ndim, ck);
        extirpolate(1.0, w2, (long)ndim, ckk);
    }
    fftw_execute(pl1);
    fftw_execute(pl2);
    double df = 1.0 / (tspan * ofac), dn = (double)n;
    for (size_t j = 1; j <= nres; j++) {
        /* FFTW's forward sign is e^{-i}: sine sums are minus the imaginary part */
        double cy = c1[j][0], sy = -c1[j][1];
        double c2w = c2[j][0], s2w = -c2[j][1];
        double hypo = sqrt(c2w * c2w + s2w * s2w);
        double hc2wt = hypo > 0 ? 0.5 * c2w / hypo : 0.5;
        double hs2wt = hypo > 0 ? 0.5 * s2w / hypo : 0.0;
        double cwt = sqrt(0.5 + hc2wt);
        double swt = sqrt(fmax(0.0, 0.5 - hc2wt));
        if (!(hs2wt > 0))
            swt = -swt;
        double den = 0.5 * dn + hc2wt * c2w + hs2wt * s2w;
        double ct = cwt * cy + swt * sy, st = cwt * sy - swt * cy;
        double cterm = den > 0 ? ct * ct / den : 0.0;
        double sterm = dn - den > 0 ? st * st / (dn - den) : 0.0;
        f[j - 1] = (double)j * df;
        p[j - 1] = (cterm + sterm) / (double)nout;
    }
    *freq = f;
    *power = p;
    *n_freqs = nres;
    f = p = NULL;
done:
    if (pl1)
        fftw_destroy_plan(pl1);
    if (pl2)
        fftw_destroy_plan(pl2);
    fftw_free(w1);
    fftw_free(w2);
    fftw_free(c1);
    fftw_free(c2);
    free(f);
    free(p);
    return rc;
}

/* Uniform grid f_k = f_0 + k df: the four trigonometric sums per
 * frequency are accumulated point by point with the angle-addition
 * recurrence (one rotation per frequency step), which replaces four libm
 * calls per (point, frequency) by a few multiplications.  Lomb's tau then
 * follows from the half-angle identities:
 *   sum cos^2(w(t - tau)) = n/2 + (cos 2w tau C2 + sin 2w tau S2)/2. */
static void lomb_uniform(const double *t, const double *d, size_t n, double f0, double df, size_t nf, double nout,
                         double *power, double *acc)
{
    double *yc = acc, *ys = acc + nf, *c2 = acc + 2 * nf, *s2 = acc + 3 * nf;
    memset(acc, 0, 4 * nf * sizeof *acc);
    for (size_t i = 0; i < n; i++) {
        double a0 = 2.0 * M_PI * f0 * t[i], da = 2.0 * M_PI * df * t[i];
        double c = cos(a0), s = sin(a0), cd = cos(da), sd = sin(da);
        for (size_t k = 0; k < nf; k++) {
            yc[k] += d[i] * c;
            ys[k] += d[i] * s;
            c2[k] += c * c - s * s;
            s2[k] += 2.0 * c * s;
            double cn = c * cd - s * sd;
            s = s * cd + c * sd;
            c = cn;
        }
    }
    for (size_t k = 0; k < nf; k++) {
        double h = hypot(c2[k], s2[k]);
        double cos2wt = h > 0 ? c2[k] / h : 1.0, sin2wt = h > 0 ? s2[k] / h : 0.0; /* 2 w tau */
        /* cos(w tau), sin(w tau) from the half angle, sign of sin from sin 2w tau */
        double cwt = sqrt(fmax(0.0, 0.5 * (1.0 + cos2wt))), swt = sqrt(fmax(0.0, 0.5 * (1.0 - cos2wt)));
        if (sin2wt < 0)
            swt = -swt;
        double cc = 0.5 * (double)n + 0.5 * (cos2wt * c2[k] + sin2wt * s2[k]);
        double ss = (double)n - cc;
        double ycos = cwt * yc[k] + swt * ys[k], ysin = cwt * ys[k] - swt * yc[k];
        power[k] = ((cc > 0 ? ycos * ycos / cc : 0.0) + (ss > 0 ? ysin * ysin / ss : 0.0)) / nout;
    }
}

int somna_dsp_lomb_direct(const double *t, const double *y, size_t n, const double *freq, size_t n_freqs,
                          double nout, double *power, somna_err *err)
{
    if (n < 2)
        return somna_fail(err, SOMNA_E_DATA, "lomb: %zu point(s), need at least 2", n);
    double mean = 0.0;
    for (size_t i = 0; i < n; i++)
        mean += y[i];
    mean /= (double)n;
    int uniform = n_freqs >= 3;
    double df = uniform ? freq[1] - freq[0] : 0.0;
    for (size_t k = 2; uniform && k < n_freqs; k++)
        if (fabs(freq[k] - (freq[0] + (double)k * df)) > 1e-9 * fabs(freq[n_freqs - 1]))
            uniform = 0;
    if (uniform) {
        double *d = malloc(n * sizeof *d), *acc = malloc(4 * n_freqs * sizeof *acc);
        if (!d || !acc) {
            free(d), free(acc);
            return somna_fail(err, SOMNA_E_NOMEM, "lomb: out of memory");
        }
        for (size_t i = 0; i < n; i++)
            d[i] = y[i] - mean;
        lomb_uniform(t, d, n, freq[0], df, n_freqs, nout, power, acc);
        free(d), free(acc);
        return SOMNA_OK;
    }
    for (size_t k = 0; k < n_freqs; k++) {
        double w = 2.0 * M_PI * freq[k];
        double s2 = 0.0, c2 = 0.0;
        for (size_t i = 0; i < n; i++) {
            s2 += sin(2.0 * w * t[i]);
            c2 += cos(2.0 * w * t[i]);
        }
        double tau = atan2(s2, c2) / (2.0 * w);
        double yc = 0.0, ys = 0.0, cc = 0.0, ss = 0.0;
        for (size_t i = 0; i < n; i++) {
            double a = w * (t[i] - tau), c = cos(a), s = sin(a), d = y[i] - mean;
            yc += d * c;
            ys += d * s;
            cc += c * c;
            ss += s * s;
        }
        power[k] = ((cc > 0 ? yc * yc / cc : 0.0) + (ss > 0 ? ys * ys / ss : 0.0)) / nout;
    }
    return SOMNA_OK;
}
