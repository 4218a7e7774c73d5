/* DSP kernels against SciPy 1.10 (Debian 12 python3-scipy): the expected
 * values below were produced by scipy.signal.butter(..., output='sos') +
 * sosfiltfilt, resample_poly, welch and scipy.interpolate.CubicSpline
 * (bc_type='natural') on the same deterministic test signal, and the fast
 * Lomb periodogram is checked against the direct textbook formula. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "somna/dsp.h"
#include "test_util.h"

#define N_SIG 500

/* sin 10 Hz + 0.5 sin 50 Hz + 0.1 t ramp + 0.3 cos 0.5 Hz */
static void test_signal(double fs, double *x)
{
    for (int i = 0; i < N_SIG; i++) {
        double t = i / fs;
        x[i] = sin(2 * M_PI * 10 * t) + 0.5 * sin(2 * M_PI * 50 * t) + 0.1 * t + 0.3 * cos(2 * M_PI * 0.5 * t);
    }
}

static const int idx[6] = {0, 1, 100, 250, 498, 499};

static void check_filtfilt(int order, somna_dsp_band band, double f1, double f2, double fs, const double *want)
{
    double x[N_SIG], y[N_SIG];
    test_signal(fs, x);
    somna_dsp_sos sos;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_dsp_butter(order, band, f1, f2, fs, &sos, &err), 0);
    assert_int_equal(somna_dsp_sosfiltfilt(&sos, x, N_SIG, y, &err), 0);
    for (int k = 0; k < 6; k++)
        assert_close_abs(y[idx[k]], want[k], 1e-9);
    somna_dsp_sos_free(&sos);
}

static void test_butter_filtfilt(void **state)
{
    (void)state;
    const double bp[6] = {0.10250095204055804, 0.2848057442573212, -0.985028761781687,
                          -0.34412370957110544, -0.38803860731641915, -0.3015117458380274};
    const double hp[6] = {0.31197083736704934, 0.8904118955471824, -0.0493247656437355,
                          -0.00337624378821752, -0.5243926294661836, -0.16436940612177525};
    const double lp[6] = {0.3007986475330612, 0.5766987264764284, 0.13270509831248528,
                          -0.2000000000000024, -0.04388063588121858, -0.22578766469340686};
    const double bs[6] = {0.284593092595897, 0.5025967529663352, -0.7643532963897045,
                          -0.44464800777740354, -0.4988056683995011, -0.25037118701538424};
    const double lp1[6] = {0.32886105560868356, 0.5076790463293658, -0.6099662698940911,
                           -0.4385753001523195, -0.406528957038815, -0.23190203464156794};
    check_filtfilt(4, SOMNA_DSP_BANDPASS, 5, 15, 360, bp);
    check_filtfilt(3, SOMNA_DSP_HIGHPASS, 0.7, 0, 100, hp);
    check_filtfilt(5, SOMNA_DSP_LOWPASS, 40, 0, 250, lp);
    check_filtfilt(2, SOMNA_DSP_BANDSTOP, 45, 55, 360, bs);
    check_filtfilt(1, SOMNA_DSP_LOWPASS, 20, 0, 360, lp1);
}

static void test_butter_rejects(void **state)
{
    (void)state;
    somna_dsp_sos sos;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_dsp_butter(4, SOMNA_DSP_LOWPASS, 200, 0, 360, &sos, &err), SOMNA_E_ARG);
    assert_non_null(strstr(err.msg, "fs/2"));
    assert_int_equal(somna_dsp_butter(0, SOMNA_DSP_LOWPASS, 20, 0, 360, &sos, &err), SOMNA_E_ARG);
    assert_int_equal(somna_dsp_butter(2, SOMNA_DSP_BANDPASS, 20, 10, 360, &sos, &err), SOMNA_E_ARG);
}

/* Streaming: filtering in chunks with carried state equals one pass. */
static void test_sosfilt_streaming(void **state)
{
    (void)state;
    double x[N_SIG], a[N_SIG], b[N_SIG];
    test_signal(360, x);
    somna_dsp_sos sos;
    assert_int_equal(somna_dsp_butter(3, SOMNA_DSP_BANDPASS, 5, 30, 360, &sos, NULL), 0);
    memcpy(a, x, sizeof x);
    memcpy(b, x, sizeof x);
    somna_dsp_sosfilt(&sos, a, N_SIG, NULL);
    double st[6] = {0};
    somna_dsp_sosfilt(&sos, b, 123, st);
    somna_dsp_sosfilt(&sos, b + 123, N_SIG - 123, st);
    for (int i = 0; i < N_SIG; i++)
        assert_close_abs(a[i], b[i], 1e-12);
    somna_dsp_sos_free(&sos);
}

static void test_resample(void **state)
{
    (void)state;
    double x[N_SIG];
    test_signal(360, x);
    double *y;
    size_t ny;
    assert_int_equal(somna_dsp_resample(x, N_SIG, 360, 125, &y, &ny, NULL), 0);
    assert_int_equal(ny, 174);
    const int ri[5] = {0, 1, 50, 100, 173};
    const double rw[5] = {0.41595839124077144, 1.0479074452897612, 0.13270665674882604, -0.1627099098664043,
                          -0.36410340811496744};
    for (int k = 0; k < 5; k++)
        assert_close_abs(y[ri[k]], rw[k], 1e-10);
    free(y);
    assert_int_equal(somna_dsp_resample(x, N_SIG, 360, 720, &y, &ny, NULL), 0);
    assert_int_equal(ny, 1000);
    assert_close_abs(y[0], 0.3001552411788181, 1e-10);
    assert_close_abs(y[1], 0.5822600220703265, 1e-10);
    assert_close_abs(y[500], -0.9375374034116136, 1e-10);
    assert_close_abs(y[999], -0.1281481440827717, 1e-10);
    free(y);
}

static void test_welch(void **state)
{
    (void)state;
    double x[N_SIG];
    test_signal(100, x);
    somna_dsp_welch *w;
    assert_int_equal(somna_dsp_welch_new(128, 64, 100, &w, NULL), 0);
    assert_int_equal(somna_dsp_welch_n_freqs(w), 65);
    double psd[65];
    assert_int_equal(somna_dsp_welch_run(w, x, N_SIG, psd, NULL), 0);
    const double *f = somna_dsp_welch_freqs(w);
    assert_close_abs(f[13], 10.15625, 1e-12);
    assert_close_rel(psd[0], 0.003009553072209575, 1e-9);
    assert_close_rel(psd[1], 0.019029658134782513, 1e-9);
    assert_close_rel(psd[13], 0.40513333011609126, 1e-9);
    assert_true(psd[64] < 1e-10);
    /* a segment longer than the signal is refused, not garbage */
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_dsp_welch_run(w, x, 100, psd, &err), SOMNA_E_DATA);
    somna_dsp_welch_free(w);
}

static void test_band_power_parseval(void **state)
{
    (void)state;
    /* white-ish deterministic noise: total band power ~ variance */
    enum { N = 4096 };
    double *x = malloc(N * sizeof *x);
    uint32_t s = 12345;
    double mean = 0, var = 0;
    for (int i = 0; i < N; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (double)(s >> 8) / 16777216.0 - 0.5;
        mean += x[i];
    }
    mean /= N;
    for (int i = 0; i < N; i++)
        var += (x[i] - mean) * (x[i] - mean);
    var /= N;
    somna_dsp_welch *w;
    assert_int_equal(somna_dsp_welch_new(256, 128, 64, &w, NULL), 0);
    double psd[129];
    assert_int_equal(somna_dsp_welch_run(w, x, N, psd, NULL), 0);
    double bp = somna_dsp_band_power(somna_dsp_welch_freqs(w), psd, 129, 0, 33);
    assert_close_rel(bp, var, 0.05);
    somna_dsp_welch_free(w);
    free(x);
}

static void test_spline(void **state)
{
    (void)state;
    const double xs[6] = {0, 1, 2.5, 3, 4.5, 6.0}, ys[6] = {1, 3, 2, -1, 0.5, 2};
    somna_dsp_spline sp;
    assert_int_equal(somna_dsp_spline_init(&sp, xs, ys, 6, NULL), 0);
    assert_close_abs(somna_dsp_spline_eval(&sp, 0.5), 2.0222882615156017, 1e-12);
    assert_close_abs(somna_dsp_spline_eval(&sp, 2.7), 0.7711381872213956, 1e-12);
    assert_close_abs(somna_dsp_spline_eval(&sp, 4.0), -0.9849210280116669, 1e-12);
    assert_close_abs(somna_dsp_spline_eval(&sp, 5.9), 1.9802262946453144, 1e-12);
    for (int k = 0; k < 6; k++)
        assert_close_abs(somna_dsp_spline_eval(&sp, xs[k]), ys[k], 1e-12);
    double g[3];
    somna_dsp_spline_eval_grid(&sp, 0.5, 2.2, 3, g); /* 0.5, 2.7, 4.9 */
    assert_close_abs(g[0], 2.0222882615156017, 1e-12);
    assert_close_abs(g[1], 0.7711381872213956, 1e-12);
    somna_dsp_spline_free(&sp);
    const double bad[3] = {0, 2, 1};
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_dsp_spline_init(&sp, bad, ys, 3, &err), SOMNA_E_DATA);
    assert_non_null(strstr(err.msg, "increasing"));
}

/* Fast (Press-Rybicki) vs direct Lomb on an irregular RR-like series with a
 * 0.1 Hz and a 0.25 Hz rhythm: band sums agree to 1 %, the peak is where
 * the sine is, and the total is close to the variance. */
static void test_lomb_fast_vs_direct(void **state)
{
    (void)state;
    enum { N = 600 };
    double t[N], y[N], tt = 0, mean = 0, var = 0;
    uint32_t s = 777;
    for (int i = 0; i < N; i++) {
        s = s * 1664525u + 1013904223u;
        double jitter = ((double)(s >> 8) / 16777216.0 - 0.5) * 0.1;
        y[i] = 0.8 + 0.03 * sin(2 * M_PI * 0.1 * tt) + 0.02 * sin(2 * M_PI * 0.25 * tt) + jitter * 0.2;
        tt += y[i];
        t[i] = tt;
        mean += y[i];
    }
    mean /= N;
    for (int i = 0; i < N; i++)
        var += (y[i] - mean) * (y[i] - mean);
    var /= (N - 1);
    double *f, *p;
    size_t nf;
    assert_int_equal(somna_dsp_lomb(t, y, N, 4.0, 2.0, &f, &p, &nf, NULL), 0);
    assert_int_equal(nf, 2 * N); /* nout = 4N, half of it returned */
    double *pd = malloc(nf * sizeof *pd);
    assert_int_equal(somna_dsp_lomb_direct(t, y, N, f, nf, 4.0 * N, pd, NULL), 0);
    double lf = 0, lfd = 0, hf = 0, hfd = 0, tot = 0;
    size_t kmax = 0;
    for (size_t k = 0; k < nf; k++) {
        if (f[k] >= 0.04 && f[k] <= 0.15)
            lf += p[k], lfd += pd[k];
        if (f[k] >= 0.15 && f[k] <= 0.4)
            hf += p[k], hfd += pd[k];
        tot += p[k];
        if (p[k] > p[kmax])
            kmax = k;
    }
    /* the uniform-grid recurrence equals the textbook formula evaluated at
     * the same frequencies presented out of order (non-uniform path) */
    double fr[5] = {f[300], f[10], f[100], f[1000], f[50]}, pr[5];
    assert_int_equal(somna_dsp_lomb_direct(t, y, N, fr, 5, 4.0 * N, pr, NULL), 0);
    assert_close_rel(pr[0], pd[300], 1e-9);
    assert_close_rel(pr[1], pd[10], 1e-9);
    assert_close_rel(pr[2], pd[100], 1e-9);
    assert_close_rel(pr[3], pd[1000], 1e-9);
    assert_close_rel(pr[4], pd[50], 1e-9);
    assert_close_rel(lf, lfd, 0.01);
    assert_close_rel(hf, hfd, 0.01);
    assert_close_abs(f[kmax], 0.1, 0.003);
    assert_close_rel(tot, var, 0.1);
    free(f);
    free(p);
    free(pd);
}

/* Envelope vs scipy.signal.hilbert (abs) on an AM test signal, even and
 * odd lengths. */
static void test_envelope(void **state)
{
    (void)state;
    double x[500], e[500];
    for (int i = 0; i < 500; i++) {
        double t = i / 100.0;
        x[i] = sin(2 * M_PI * 10 * t) * (1 + 0.5 * sin(2 * M_PI * 0.5 * t)) + 0.2 * cos(2 * M_PI * 3 * t);
    }
    assert_int_equal(somna_dsp_envelope(x, 500, e, NULL), 0);
    assert_close_abs(e[0], 1.036506134456106, 1e-10);
    assert_close_abs(e[1], 1.1210456615394815, 1e-10);
    assert_close_abs(e[100], 1.0198130527122333, 1e-10);
    assert_close_abs(e[250], 1.513277797817921, 1e-10);
    assert_close_abs(e[499], 0.9549455818687578, 1e-10);
    assert_int_equal(somna_dsp_envelope(x, 499, e, NULL), 0);
    assert_close_abs(e[0], 1.1783990451122917, 1e-10);
    assert_close_abs(e[250], 1.5138483215400462, 1e-10);
    assert_close_abs(e[498], 1.1098428294663754, 1e-10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_butter_filtfilt), cmocka_unit_test(test_butter_rejects),
        cmocka_unit_test(test_sosfilt_streaming), cmocka_unit_test(test_resample),
        cmocka_unit_test(test_welch),           cmocka_unit_test(test_band_power_parseval),
        cmocka_unit_test(test_spline),          cmocka_unit_test(test_lomb_fast_vs_direct),
        cmocka_unit_test(test_envelope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
