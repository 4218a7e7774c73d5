/* Rational resampling by a polyphase FIR: the windowed-sinc design of
 * scipy.signal.resample_poly (firwin with a Kaiser window, beta 5, half
 * length 10 * max(up, down); Kaiser, "Nonrecursive digital filter design
 * using the I0-sinh window function", ISCAS 1974), applied directly in the
 * polyphase form (Crochiere & Rabiner, Multirate DSP, 1983) so no zero is
 * ever multiplied. */
#include "somna/dsp.h"

#include <math.h>
#include <stdlib.h>

struct somna_dsp_resampler {
    int up, down;
    size_t half_len;
    size_t n_taps;
    double *h; /* n_taps, scaled by up */
};

/* Modified Bessel function of the first kind, order 0 (power series). */
static double bessel_i0(double x)
{
    double sum = 1.0, term = 1.0, q = x * x / 4.0;
    for (int k = 1; k < 500; k++) {
        term *= q / ((double)k * (double)k);
        sum += term;
        if (term < 1e-17 * sum)
            break;
    }
    return sum;
}

static int gcd_int(int a, int b)
{
    while (b) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int somna_dsp_resampler_new(int up, int down, somna_dsp_resampler **out, somna_err *err)
{
    *out = NULL;
    if (up < 1 || down < 1 || up > 100000 || down > 100000)
        return somna_fail(err, SOMNA_E_ARG, "resample: factors up=%d down=%d must be in 1..100000", up, down);
    int g = gcd_int(up, down);
    up /= g;
    down /= g;
    somna_dsp_resampler *r = calloc(1, sizeof *r);
    if (!r)
        return somna_fail(err, SOMNA_E_NOMEM, "resample: out of memory");
    r->up = up;
    r->down = down;
    int max_rate = up > down ? up : down;
    r->half_len = 10 * (size_t)max_rate;
    r->n_taps = 2 * r->half_len + 1;
    r->h = malloc(r->n_taps * sizeof *r->h);
    if (!r->h) {
        free(r);
        return somna_fail(err, SOMNA_E_NOMEM, "resample: out of memory");
    }
    double fc = 1.0 / max_rate; /* cut-off relative to the Nyquist rate */
    double beta = 5.0, i0b = bessel_i0(beta), sum = 0.0;
    double alpha = 0.5 * (double)(r->n_taps - 1);
    for (size_t i = 0; i < r->n_taps; i++) {
        double m = (double)i - alpha;
        double arg = fc * m;
        double sinc = arg == 0.0 ? 1.0 : sin(M_PI * arg) / (M_PI * arg);
        double ratio = 2.0 * (double)i / (double)(r->n_taps - 1) - 1.0;
        double w = bessel_i0(beta * sqrt(fmax(0.0, 1.0 - ratio * ratio))) / i0b;
        r->h[i] = fc * sinc * w;
        sum += r->h[i];
    }
    for (size_t i = 0; i < r->n_taps; i++)
        r->h[i] = r->h[i] / sum * up;
    *out = r;
    return SOMNA_OK;
}

size_t somna_dsp_resampler_out_len(const somna_dsp_resampler *r, size_t n_in)
{
    size_t num = n_in * (size_t)r->up;
    return num / (size_t)r->down + (num % (size_t)r->down != 0);
}

/* y[m] = sum_j x[j] h[m*down + half_len - j*up]: the filter centred on
 * output m in the upsampled time base (zero-delay alignment). */
void somna_dsp_resampler_run(const somna_dsp_resampler *r, const double *x, size_t n, double *y)
{
    size_t n_out = somna_dsp_resampler_out_len(r, n);
    long up = r->up, down = r->down, hl = (long)r->half_len, nt = (long)r->n_taps;
    for (size_t m = 0; m < n_out; m++) {
        long c = (long)m * down + hl; /* index into h when j = 0 */
        /* valid j: 0 <= c - j*up < nt  ->  j in ((c - nt)/up, c/up] */
        long jmax = c / up;
        long jmin = c - nt + 1 <= 0 ? 0 : (c - nt + 1 + up - 1) / up;
        if (jmax > (long)n - 1)
            jmax = (long)n - 1;
        double acc = 0.0;
        for (long j = jmin; j <= jmax; j++)
            acc += x[j] * r->h[c - j * up];
        y[m] = acc;
    }
}

void somna_dsp_resampler_free(somna_dsp_resampler *r)
{
    if (!r)
        return;
    free(r->h);
    free(r);
}

int somna_dsp_resample(const double *x, size_t n, double fs_in, double fs_out, double **y, size_t *ny,
                       somna_err *err)
{
    *y = NULL;
    *ny = 0;
    if (!(fs_in > 0) || !(fs_out > 0) || !isfinite(fs_in) || !isfinite(fs_out))
        return somna_fail(err, SOMNA_E_ARG, "resample: rates %g -> %g Hz must be positive", fs_in, fs_out);
    /* best fraction up/down ~ fs_out/fs_in with both <= 1000 */
    double ratio = fs_out / fs_in;
    int best_up = 1, best_down = 1;
    double best_e = INFINITY;
    for (int down = 1; down <= 1000; down++) {
        double u = round(ratio * down);
        if (u < 1 || u > 1000)
            continue;
        double e = fabs(u / down - ratio);
        if (e < best_e - 1e-15) {
            best_e = e, best_up = (int)u, best_down = down;
            if (e <= 1e-12 * ratio)
                break;
        }
    }
    if (best_e > 1e-6 * ratio)
        return somna_fail(err, SOMNA_E_UNSUPPORTED,
                          "resample: %g -> %g Hz is not a ratio of integers up to 1000", fs_in, fs_out);
    somna_dsp_resampler *r;
    int rc = somna_dsp_resampler_new(best_up, best_down, &r, err);
    if (rc)
        return rc;
    size_t no = somna_dsp_resampler_out_len(r, n);
    double *o = malloc((no ? no : 1) * sizeof *o);
    if (!o) {
        somna_dsp_resampler_free(r);
        return somna_fail(err, SOMNA_E_NOMEM, "resample: out of memory for %zu samples", no);
    }
    somna_dsp_resampler_run(r, x, n, o);
    somna_dsp_resampler_free(r);
    *y = o;
    *ny = no;
    return SOMNA_OK;
}
