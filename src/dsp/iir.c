/* Butterworth design as second-order sections, causal and zero-phase
 * filtering.  Design: Oppenheim & Schafer, Discrete-Time Signal Processing
 * (3rd ed.), 7.1 (analog prototype, pre-warping, bilinear transform);
 * zero-phase filtering with odd-extension padding and steady-state initial
 * conditions follows Gustafsson (IEEE Trans. SP 44:988, 1996) as
 * scipy.signal.sosfiltfilt does, so results agree with SciPy. */
#include "somna/dsp.h"

#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ORDER 20

typedef double _Complex cplx;

/* Analog prototype poles of an order-n Butterworth (unit cut-off). */
static void butter_prototype(int n, cplx *p)
{
    for (int k = 0; k < n; k++) {
        double m = (double)(-n + 1 + 2 * k);
        p[k] = -cexp(I * M_PI * m / (2.0 * n));
    }
}

/* Build denominator sections from digital poles: complex poles are taken
 * with their conjugates, real poles two by two, a last lone real pole
 * gives a first-order section.  Returns the number of sections written. */
static size_t pair_poles(const cplx *p, size_t np, double (*a)[3], int *first_order)
{
    size_t ns = 0;
    double reals[4 * MAX_ORDER];
    size_t nr = 0;
    for (size_t i = 0; i < np; i++) {
        double im = cimag(p[i]);
        if (fabs(im) <= 1e-12 * (cabs(p[i]) + 1e-300)) {
            reals[nr++] = creal(p[i]);
        } else if (im > 0) {
            a[ns][0] = 1.0;
            a[ns][1] = -2.0 * creal(p[i]);
            a[ns][2] = creal(p[i]) * creal(p[i]) + im * im;
            first_order[ns] = 0;
            ns++;
        }
    }
    for (size_t i = 0; i + 1 < nr; i += 2) {
        a[ns][0] = 1.0;
        a[ns][1] = -(reals[i] + reals[i + 1]);
        a[ns][2] = reals[i] * reals[i + 1];
        first_order[ns] = 0;
        ns++;
    }
    if (nr % 2) {
        a[ns][0] = 1.0;
        a[ns][1] = -reals[nr - 1];
        a[ns][2] = 0.0;
        first_order[ns] = 1;
        ns++;
    }
    return ns;
}

int somna_dsp_butter(int order, somna_dsp_band band, double f1, double f2, double fs, somna_dsp_sos *out,
                     somna_err *err)
{
    if (!out)
        return somna_fail(err, SOMNA_E_ARG, "butter: no output");
    out->n_sections = 0;
    out->coef = NULL;
    if (order < 1 || order > MAX_ORDER)
        return somna_fail(err, SOMNA_E_ARG, "butter: order %d outside 1..%d", order, MAX_ORDER);
    if (!(fs > 0) || !isfinite(fs))
        return somna_fail(err, SOMNA_E_ARG, "butter: sampling rate %g Hz is not positive", fs);
    int two_edges = band == SOMNA_DSP_BANDPASS || band == SOMNA_DSP_BANDSTOP;
    if (!(f1 > 0 && f1 < fs / 2) || (two_edges && !(f2 > f1 && f2 < fs / 2)))
        return somna_fail(err, SOMNA_E_ARG,
                          "butter: cut-off %g%s%g Hz must satisfy 0 < f1%s < fs/2 = %g Hz", f1,
                          two_edges ? "-" : "", two_edges ? f2 : f1, two_edges ? " < f2" : "", fs / 2);

    cplx proto[MAX_ORDER], p[2 * MAX_ORDER];
    butter_prototype(order, proto);
    double fs2 = 2.0 * fs;
    double w1 = fs2 * tan(M_PI * f1 / fs); /* pre-warped analog edges, rad/s */
    double w2 = two_edges ? fs2 * tan(M_PI * f2 / fs) : 0.0;
    size_t np = 0;
    cplx k = 1.0;
    switch (band) {
    case SOMNA_DSP_LOWPASS:
        for (int i = 0; i < order; i++)
            p[np++] = w1 * proto[i];
        k = pow(w1, order);
        break;
    case SOMNA_DSP_HIGHPASS: {
        cplx prod = 1.0;
        for (int i = 0; i < order; i++) {
            p[np++] = w1 / proto[i];
            prod *= -proto[i];
        }
        k = 1.0 / creal(prod);
        break;
    }
    case SOMNA_DSP_BANDPASS: {
        double bw = w2 - w1, wo = sqrt(w1 * w2);
        for (int i = 0; i < order; i++) {
            cplx h = proto[i] * bw / 2.0, r = csqrt(h * h - wo * wo);
            p[np++] = h + r;
            p[np++] = h - r;
        }
        k = pow(bw, order);
        break;
    }
    case SOMNA_DSP_BANDSTOP: {
        double bw = w2 - w1, wo = sqrt(w1 * w2);
        cplx prod = 1.0;
        for (int i = 0; i < order; i++) {
            cplx h = (bw / 2.0) / proto[i], r = csqrt(h * h - wo * wo);
            p[np++] = h + r;
            p[np++] = h - r;
            prod *= -proto[i];
        }
        k = 1.0 / creal(prod);
        break;
    }
    default:
        return somna_fail(err, SOMNA_E_ARG, "butter: unknown band type %d", (int)band);
    }

    /* Bilinear transform of poles; analog zeros: none (LP), 0 (HP, BP),
     * +-j*wo (BS).  Gain k_d = k * prod(fs2 - z) / prod(fs2 - p). */
    cplx pd[2 * MAX_ORDER], num = 1.0, den = 1.0;
    for (size_t i = 0; i < np; i++) {
        pd[i] = (fs2 + p[i]) / (fs2 - p[i]);
        den *= fs2 - p[i];
    }
    size_t nz = band == SOMNA_DSP_LOWPASS ? 0 : (size_t)order;
    if (band == SOMNA_DSP_HIGHPASS || band == SOMNA_DSP_BANDPASS) {
        for (size_t i = 0; i < nz; i++)
            num *= fs2;
    } else if (band == SOMNA_DSP_BANDSTOP) {
        double wo = sqrt(w1 * w2);
        for (int i = 0; i < order; i++)
            num *= (fs2 - I * wo) * (fs2 + I * wo);
    }
    double kd = creal(k * num / den);

    double a[2 * MAX_ORDER][3];
    int first[2 * MAX_ORDER];
    size_t ns = pair_poles(pd, np, a, first);
    out->coef = calloc(ns, sizeof *out->coef);
    if (!out->coef)
        return somna_fail(err, SOMNA_E_NOMEM, "butter: out of memory");
    /* Digital zeros: LP all at -1, HP all at +1, BP half at +1 and half at
     * -1 (one of each per section), BS on the unit circle at the notch. */
    double wd = 0;
    if (band == SOMNA_DSP_BANDSTOP) {
        double wo = sqrt(w1 * w2);
        cplx zd = (fs2 + I * wo) / (fs2 - I * wo);
        wd = carg(zd);
    }
    for (size_t s = 0; s < ns; s++) {
        double *c = out->coef[s];
        if (first[s]) {
            c[0] = 1.0;
            c[1] = band == SOMNA_DSP_HIGHPASS ? -1.0 : 1.0;
            c[2] = 0.0;
        } else if (band == SOMNA_DSP_LOWPASS) {
            c[0] = 1.0, c[1] = 2.0, c[2] = 1.0;
        } else if (band == SOMNA_DSP_HIGHPASS) {
            c[0] = 1.0, c[1] = -2.0, c[2] = 1.0;
        } else if (band == SOMNA_DSP_BANDPASS) {
            c[0] = 1.0, c[1] = 0.0, c[2] = -1.0;
        } else {
            c[0] = 1.0, c[1] = -2.0 * cos(wd), c[2] = 1.0;
        }
        c[3] = a[s][0];
        c[4] = a[s][1];
        c[5] = a[s][2];
    }
    for (int j = 0; j < 3; j++)
        out->coef[0][j] *= kd;
    out->n_sections = ns;
    return SOMNA_OK;
}

void somna_dsp_sos_free(somna_dsp_sos *sos)
{
    if (!sos)
        return;
    free(sos->coef);
    sos->coef = NULL;
    sos->n_sections = 0;
}

void somna_dsp_sosfilt(const somna_dsp_sos *sos, double *x, size_t n, double *state)
{
    for (size_t s = 0; s < sos->n_sections; s++) {
        const double *c = sos->coef[s];
        double b0 = c[0] / c[3], b1 = c[1] / c[3], b2 = c[2] / c[3], a1 = c[4] / c[3], a2 = c[5] / c[3];
        double z0 = state ? state[2 * s] : 0.0, z1 = state ? state[2 * s + 1] : 0.0;
        for (size_t i = 0; i < n; i++) {
            double xi = x[i];
            double yi = b0 * xi + z0;
            z0 = b1 * xi - a1 * yi + z1;
            z1 = b2 * xi - a2 * yi;
            x[i] = yi;
        }
        if (state) {
            state[2 * s] = z0;
            state[2 * s + 1] = z1;
        }
    }
}

/* Steady-state section states for a unit step (scipy.signal.sosfilt_zi):
 * with DC gain g = sum(b)/sum(a), the transposed direct form II states
 * that keep y = g are z1 = b2 - a2 g, z0 = b1 - a1 g + z1; later sections
 * see the step scaled by the gains before them. */
static void sos_zi(const somna_dsp_sos *sos, double *zi)
{
    double scale = 1.0;
    for (size_t s = 0; s < sos->n_sections; s++) {
        const double *c = sos->coef[s];
        double b0 = c[0] / c[3], b1 = c[1] / c[3], b2 = c[2] / c[3], a1 = c[4] / c[3], a2 = c[5] / c[3];
        double g = (b0 + b1 + b2) / (1.0 + a1 + a2);
        double z1 = b2 - a2 * g;
        double z0 = b1 - a1 * g + z1;
        zi[2 * s] = scale * z0;
        zi[2 * s + 1] = scale * z1;
        scale *= g;
    }
}

int somna_dsp_sosfiltfilt(const somna_dsp_sos *sos, const double *x, size_t n, double *y, somna_err *err)
{
    if (n < 2)
        return somna_fail(err, SOMNA_E_DATA, "filtfilt: %zu sample(s), need at least 2", n);
    size_t nb0 = 0, na0 = 0;
    for (size_t s = 0; s < sos->n_sections; s++) {
        nb0 += sos->coef[s][2] == 0.0;
        na0 += sos->coef[s][5] == 0.0;
    }
    size_t padlen = 3 * (2 * sos->n_sections + 1 - (nb0 < na0 ? nb0 : na0));
    if (padlen > n - 1)
        padlen = n - 1;
    size_t ne = n + 2 * padlen;
    double *e = malloc(ne * sizeof *e);
    double *zi = malloc((2 * sos->n_sections + 1) * sizeof *zi);
    double *st = malloc((2 * sos->n_sections + 1) * sizeof *st);
    if (!e || !zi || !st) {
        free(e), free(zi), free(st);
        return somna_fail(err, SOMNA_E_NOMEM, "filtfilt: out of memory for %zu samples", n);
    }
    for (size_t i = 0; i < padlen; i++)
        e[i] = 2.0 * x[0] - x[padlen - i];
    memcpy(e + padlen, x, n * sizeof *x);
    for (size_t i = 0; i < padlen; i++)
        e[padlen + n + i] = 2.0 * x[n - 1] - x[n - 2 - i];
    sos_zi(sos, zi);
    for (size_t i = 0; i < 2 * sos->n_sections; i++)
        st[i] = zi[i] * e[0];
    somna_dsp_sosfilt(sos, e, ne, st);
    /* backward pass on the reversed signal */
    for (size_t i = 0; i < ne / 2; i++) {
        double t = e[i];
        e[i] = e[ne - 1 - i];
        e[ne - 1 - i] = t;
    }
    for (size_t i = 0; i < 2 * sos->n_sections; i++)
        st[i] = zi[i] * e[0];
    somna_dsp_sosfilt(sos, e, ne, st);
    for (size_t i = 0; i < n; i++)
        y[i] = e[ne - 1 - padlen - i];
    free(e), free(zi), free(st);
    return SOMNA_OK;
}
