/* Chin EMG tone and REM atonia index on constructed EMG whose answers are
 * known by hand: an in-band 50-Hz carrier of set amplitude per epoch or per
 * second (RMS = A/sqrt 2, rectified mean = 2A/pi), plus out-of-band sway
 * the 10-100 Hz band must remove. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_util.h"
#include "somna/emg.h"

#define FS 256.0

static double *carrier(const double *amp_per_block, size_t n_blocks, double block_s, double sway_uv, size_t *n)
{
    size_t per = (size_t)(block_s * FS);
    *n = n_blocks * per;
    double *x = malloc(*n * sizeof *x);
    for (size_t b = 0; b < n_blocks; b++)
        for (size_t i = 0; i < per; i++) {
            double t = (double)(b * per + i) / FS;
            x[b * per + i] = amp_per_block[b] * sin(2 * M_PI * 50.0 * t) + sway_uv * sin(2 * M_PI * 0.7 * t);
        }
    return x;
}

static void test_epoch_tone_and_stages(void **state)
{
    (void)state;
    /* six 30-s epochs: W 12, N2 7, N2 7.5, N3 6, REM 1, REM 1.2 uV amplitude,
     * under 60 uV of 0.7-Hz sway (movement / sweat artefact) */
    const double a[6] = {12, 7, 7.5, 6, 1, 1.2};
    size_t n;
    double *x = carrier(a, 6, 30.0, 60.0, &n);
    double *tone;
    size_t ne;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_emg_epoch_tone(x, n, FS, NULL, &tone, &ne, &err), 0);
    assert_int_equal(ne, 6);
    for (int e = 0; e < 6; e++)
        assert_close_rel(tone[e], a[e] / sqrt(2.0), 0.01); /* RMS of a sine, sway removed */
    int8_t st[6] = {SOMNA_STAGE_W, SOMNA_STAGE_N2, SOMNA_STAGE_N2, SOMNA_STAGE_N3, SOMNA_STAGE_REM, SOMNA_STAGE_REM};
    somna_hypnogram h = {.epoch_s = 30, .n_epochs = 6, .stages = st, .start_clock_s = -1};
    somna_emg_stage_summary s;
    assert_int_equal(somna_emg_by_stage(tone, ne, &h, &s, &err), 0);
    assert_int_equal(s.n_epochs[SOMNA_STAGE_N2], 2);
    assert_int_equal(s.n_epochs[SOMNA_STAGE_N1], 0);
    assert_true(isnan(s.mean[SOMNA_STAGE_N1]));
    assert_close_rel(s.mean[SOMNA_STAGE_N2], 7.25 / sqrt(2.0), 0.01);
    assert_close_rel(s.median[SOMNA_STAGE_REM], 1.1 / sqrt(2.0), 0.01);
    assert_close_rel(s.sleep_mean, (7 + 7.5 + 6 + 1 + 1.2) / 5.0 / sqrt(2.0), 0.01);
    assert_close_rel(s.nrem_mean, (7 + 7.5 + 6) / 3.0 / sqrt(2.0), 0.01);
    free(tone);
    free(x);
}

static void test_envelope_and_change(void **state)
{
    (void)state;
    /* 1-Hz envelope, two 30-s epochs: 3,4,3,4... then constant 2 */
    double env[60];
    for (int i = 0; i < 30; i++)
        env[i] = i % 2 ? 4.0 : 3.0;
    for (int i = 30; i < 60; i++)
        env[i] = 2.0;
    double *tone;
    size_t ne;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_emg_epoch_tone_envelope(env, 60, 1.0, 30.0, &tone, &ne, &err), 0);
    assert_int_equal(ne, 2);
    assert_close_rel(tone[0], sqrt((9.0 + 16.0) / 2.0), 1e-12);
    assert_close_rel(tone[1], 2.0, 1e-12);
    free(tone);
    assert_int_equal(somna_emg_epoch_tone_envelope(env, 60, 256.0, 30.0, &tone, &ne, &err), SOMNA_E_ARG);
    assert_non_null(strstr(err.msg, "raw EMG"));
    /* seed 000: sports massage lowered tone by 7.2 % */
    assert_close_rel(somna_emg_percent_change(10.0, 9.28), -7.2, 1e-12);
    assert_true(isnan(somna_emg_percent_change(0.0, 1.0)));
    assert_true(isnan(somna_emg_percent_change(NAN, 1.0)));
}

static void test_atonia_index(void **state)
{
    (void)state;
    /* one N2 epoch (5 uV, excluded) then 120 s of REM with 1-s mini-epoch
     * rectified means 0.5 uV x 84 s, 1.5 uV x 12 s, 3 uV x 24 s.
     * Ferri 2008: AI = 70 % / (100 % - 10 %) = 0.7778 */
    double a[150];
    for (int i = 0; i < 30; i++)
        a[i] = 5.0;
    for (int i = 30; i < 150; i++) {
        double m = i < 114 ? 0.5 : i < 126 ? 1.5 : 3.0;
        a[i] = m * M_PI / 2.0; /* rectified mean of A sin = 2A/pi */
    }
    size_t n;
    double *x = carrier(a, 150, 1.0, 30.0, &n);
    int8_t st[5] = {SOMNA_STAGE_N2, SOMNA_STAGE_REM, SOMNA_STAGE_REM, SOMNA_STAGE_REM, SOMNA_STAGE_REM};
    somna_hypnogram h = {.epoch_s = 30, .n_epochs = 5, .stages = st, .start_clock_s = -1};
    somna_emg_atonia ai;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_emg_atonia_index(x, n, FS, &h, NULL, 0, &ai, &err), 0);
    assert_int_equal(ai.n_mini_epochs, 120);
    assert_close_abs(ai.pct_le1, 70.0, 1e-9);
    assert_close_abs(ai.pct_1to2, 10.0, 1e-9);
    assert_close_abs(ai.index, 70.0 / 90.0, 1e-9);
    free(x);

    /* noise correction (Ferri 2010): REM at 1.5 uV everywhere except 10 s at
     * 4 uV.  Raw: nothing <= 1 uV -> AI 0.  Corrected (minus the +-30 s
     * minimum, 1.5): 110 s at 0 and 10 s at 2.5 -> AI = 91.67 / 100 */
    for (int i = 30; i < 150; i++)
        a[i] = (i >= 80 && i < 90 ? 4.0 : 1.5) * M_PI / 2.0;
    x = carrier(a, 150, 1.0, 0.0, &n);
    assert_int_equal(somna_emg_atonia_index(x, n, FS, &h, NULL, 0, &ai, &err), 0);
    assert_close_abs(ai.index, 0.0, 1e-12);
    assert_int_equal(somna_emg_atonia_index(x, n, FS, &h, NULL, 1, &ai, &err), 0);
    assert_close_abs(ai.index, 110.0 / 120.0, 1e-9);
    /* no REM: not computable */
    int8_t nrem[5] = {2, 2, 2, 2, 2};
    h.stages = nrem;
    assert_int_equal(somna_emg_atonia_index(x, n, FS, &h, NULL, 0, &ai, &err), 0);
    assert_true(isnan(ai.index));
    assert_int_equal(ai.n_mini_epochs, 0);
    free(x);
}

static void test_refusals(void **state)
{
    (void)state;
    double x[2000] = {0};
    double *tone;
    size_t ne;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    /* 20 Hz cannot hold a 10-100 Hz band */
    assert_int_equal(somna_emg_epoch_tone(x, 2000, 20.0, NULL, &tone, &ne, &err), SOMNA_E_DATA);
    assert_non_null(strstr(err.msg, "too low"));
    assert_null(tone);
    /* shorter than one epoch */
    assert_int_equal(somna_emg_epoch_tone(x, 2000, 256.0, NULL, &tone, &ne, &err), SOMNA_E_DATA);
    assert_non_null(strstr(err.msg, "shorter than one"));
}

static void test_surface_spectrum(void **state)
{
    (void)state;
    /* 2 kHz surface EMG: sines at 50, 100, 150 Hz with powers 1 : 2 : 1
     * (amplitudes a, a sqrt 2, a).  Mean frequency (50 + 200 + 150) / 4 = 100,
     * median frequency 100 (a quarter of the power each side of the middle
     * peak), band RMS = sqrt(a^2/2 * 4) = a sqrt 2.  The second 5-s window
     * has the spectrum shifted down by a third (fatigue): MNF = MDF = 66.7. */
    const double fs = 2000.0, a = 30.0;
    size_t n = (size_t)(10 * fs);
    double *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / fs, k = i < n / 2 ? 1.0 : 2.0 / 3.0;
        x[i] = a * (sin(2 * M_PI * 50 * k * t) + M_SQRT2 * sin(2 * M_PI * 100 * k * t) + sin(2 * M_PI * 150 * k * t)) +
               0.3 * sin(2 * M_PI * 3.0 * t); /* movement below the band */
    }
    somna_emg_window *w;
    size_t nw;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_emg_spectral(x, n, fs, 5.0, 20.0, 450.0, &w, &nw, &err), 0);
    assert_int_equal(nw, 2);
    assert_close_abs(w[0].t0_s, 0.0, 1e-12);
    assert_close_abs(w[1].t0_s, 5.0, 1e-12);
    assert_close_abs(w[0].mnf_hz, 100.0, 0.5);
    assert_close_abs(w[0].mdf_hz, 100.0, 2.0); /* one 4-Hz bin */
    assert_close_rel(w[0].rms, a * M_SQRT2, 0.01);
    assert_close_abs(w[1].mnf_hz, 200.0 / 3.0, 0.5);
    assert_close_abs(w[1].mdf_hz, 200.0 / 3.0, 2.0);
    free(w);
    assert_int_equal(somna_emg_spectral(x, n, fs, 5.0, 20.0, 1500.0, &w, &nw, &err), SOMNA_E_ARG);
    assert_non_null(strstr(err.msg, "band"));
    free(x);
}

static void test_surface_summary(void **state)
{
    (void)state;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    /* 14 windows of 10 s: first minute = windows 0-5, last minute = 8-13.
     * RMS 1,1,1,1,7,7 then 3 ... then 2 x 6: power mean of the first minute
     * sqrt((4 + 98) / 6) = sqrt(17), of the last 2.  MDF 100 - 2i at centre
     * (10 i + 5) s: slope -2 Hz per 10 s = -12 Hz/min; first-minute mean 95,
     * last-minute mean (84 + 74) / 2 = 79, change -16/95. */
    somna_emg_window w[14];
    for (int i = 0; i < 14; i++) {
        w[i].t0_s = 10.0 * i;
        w[i].rms = i < 4 ? 1.0 : i < 6 ? 7.0 : i < 8 ? 3.0 : 2.0;
        w[i].mdf_hz = 100.0 - 2.0 * i;
        w[i].mnf_hz = 120.0;
    }
    somna_emg_surface s;
    assert_int_equal(somna_emg_surface_summary(w, 14, 10.0, &s, &err), 0);
    assert_int_equal(s.n_compare, 6);
    assert_close_abs(s.compare_span_s, 60.0, 1e-12);
    assert_close_rel(s.rms_first, sqrt(17.0), 1e-12);
    assert_close_rel(s.rms_last, 2.0, 1e-12);
    assert_close_rel(s.rms_change_pct, 100.0 * (2.0 - sqrt(17.0)) / sqrt(17.0), 1e-12);
    assert_close_rel(s.mdf_first, 95.0, 1e-12);
    assert_close_rel(s.mdf_last, 79.0, 1e-12);
    assert_close_rel(s.mdf_change_pct, -1600.0 / 95.0, 1e-12);
    assert_close_abs(s.mnf_change_pct, 0.0, 1e-12);
    assert_close_rel(s.mdf_slope_hz_per_min, -12.0, 1e-12);
    assert_int_equal(s.n_mdf, 14);
    assert_null(s.why_rms_change);
    assert_null(s.why_slope);

    /* a window without power in the band has no MDF: it leaves the means
     * and the slope (13 points still on the line) */
    w[1].mdf_hz = NAN;
    assert_int_equal(somna_emg_surface_summary(w, 14, 10.0, &s, &err), 0);
    assert_close_rel(s.mdf_first, (100.0 + 96 + 94 + 92 + 90) / 5.0, 1e-12);
    assert_close_rel(s.mdf_slope_hz_per_min, -12.0, 1e-12);
    assert_int_equal(s.n_mdf, 13);

    /* three windows of 30 s: under two minutes, halves of one window each */
    assert_int_equal(somna_emg_surface_summary(w + 10, 3, 30.0, &s, &err), 0);
    assert_int_equal(s.n_compare, 1);
    assert_close_abs(s.rms_change_pct, 0.0, 1e-12);
    assert_close_rel(s.mdf_change_pct, 100.0 * (76.0 - 80.0) / 80.0, 1e-12);

    /* one window: nothing to compare, no slope */
    assert_int_equal(somna_emg_surface_summary(w, 1, 10.0, &s, &err), 0);
    assert_int_equal(s.n_compare, 0);
    assert_true(isnan(s.rms_change_pct) && isnan(s.compare_span_s) && isnan(s.mdf_slope_hz_per_min));
    assert_string_equal(s.why_rms_change, "fewer than two windows");
    assert_string_equal(s.why_slope, "fewer than two windows with power in the band");

    /* no power at the start: MDF missing in the first span */
    for (int i = 0; i < 6; i++)
        w[i].mdf_hz = NAN;
    assert_int_equal(somna_emg_surface_summary(w, 14, 10.0, &s, &err), 0);
    assert_true(isnan(s.mdf_change_pct));
    assert_non_null(s.why_mdf_change);
    assert_int_equal(somna_emg_surface_summary(w, 14, 0.0, &s, &err), SOMNA_E_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_epoch_tone_and_stages),
        cmocka_unit_test(test_envelope_and_change),
        cmocka_unit_test(test_atonia_index),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_surface_spectrum),
        cmocka_unit_test(test_surface_summary),
    };
    return cmocka_run_group_tests_name("emg", tests, NULL, NULL);
}
