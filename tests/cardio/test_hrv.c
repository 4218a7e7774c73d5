/* HRV against the PhysioNet references:
 *  - get_hrv -M 100 atr (PhysioNet HRV Toolkit), numbers quoted in issue 5:
 *    NN/RR 0.96963, AVNN 794.999, SDNN 35.9699, SDANN 35.8452, SDNNIDX
 *    30.7887, rMSSD 27.4969, pNN50 5.35055, TOTPWR 1297.09, ULF 327.038,
 *    VLF 340.738, LF 77.4454, HF 551.867, LF/HF 0.140333;
 *  - the Cardiovascular Signal Toolbox reference windows for nsr001
 *    (../shared/data/nsr2db-hrv-reference/reference_output), reproduced in
 *    the Toolbox compatibility mode;
 *  - hand-computed values on tiny series for the definitions. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "somna/hrv.h"
#include "somna/table.h"
#include "somna/wfdb.h"
#include "test_util.h"

/* Beats (times, N flags) of a WFDB record's reference annotations. */
static void load_beats(const char *record, const char *ann, double fs, double **t, int **nrm, size_t *nb)
{
    somna_wfdb_annotation *a;
    size_t na;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    if (somna_wfdb_ann_read(record, ann, &a, &na, &err))
        fail_msg("%s", err.msg);
    *t = malloc(na * sizeof **t);
    *nrm = malloc(na * sizeof **nrm);
    *nb = 0;
    for (size_t i = 0; i < na; i++)
        if (somna_wfdb_is_beat(a[i].type)) {
            (*t)[*nb] = (double)a[i].sample / fs;
            (*nrm)[*nb] = a[i].type == 1; /* NORMAL */
            (*nb)++;
        }
    somna_wfdb_ann_free(a, na);
}

static void test_get_hrv_mitdb100(void **state)
{
    (void)state;
    char path[1024];
    SHARED_OR_SKIP(path, "mitdb/100.atr");
    path[strlen(path) - 4] = '\0';
    double *t;
    int *nrm;
    size_t nb;
    load_beats(path, "atr", 360.0, &t, &nrm, &nb);
    somna_hrv_series s;
    assert_int_equal(somna_hrv_from_beats(t, nrm, nb, &s, NULL), 0);
    somna_hrv_result r;
    assert_int_equal(somna_hrv_compute(&s, NULL, &r, NULL), 0);
    /* time domain within 0.1 % */
    assert_close_rel(r.v[SOMNA_HRV_NN_RR], 0.96963, 1e-3);
    assert_close_rel(r.v[SOMNA_HRV_AVNN], 794.999, 1e-3);
    assert_close_rel(r.v[SOMNA_HRV_SDNN], 35.9699, 1e-3);
    assert_close_rel(r.v[SOMNA_HRV_SDANN], 35.8452, 1e-3);
    assert_close_rel(r.v[SOMNA_HRV_SDNNIDX], 30.7887, 1e-3);
    assert_close_rel(r.v[SOMNA_HRV_RMSSD], 27.4969, 1e-3);
    assert_close_rel(r.v[SOMNA_HRV_PNN50], 5.35055, 1e-3);
    /* band powers within 2 % */
    assert_close_rel(r.v[SOMNA_HRV_TOTPWR], 1297.09, 0.02);
    assert_close_rel(r.v[SOMNA_HRV_ULF], 327.038, 0.02);
    assert_close_rel(r.v[SOMNA_HRV_VLF], 340.738, 0.02);
    assert_close_rel(r.v[SOMNA_HRV_LF], 77.4454, 0.02);
    assert_close_rel(r.v[SOMNA_HRV_HF], 551.867, 0.02);
    assert_close_rel(r.v[SOMNA_HRV_LF_HF], 0.140333, 0.02);
    print_message("100: AVNN %.4f SDNN %.4f SDANN %.4f SDNNIDX %.4f RMSSD %.4f pNN50 %.5f | TOT %.3f ULF %.3f "
                  "VLF %.3f LF %.4f HF %.3f\n",
                  r.v[SOMNA_HRV_AVNN], r.v[SOMNA_HRV_SDNN], r.v[SOMNA_HRV_SDANN], r.v[SOMNA_HRV_SDNNIDX],
                  r.v[SOMNA_HRV_RMSSD], r.v[SOMNA_HRV_PNN50], r.v[SOMNA_HRV_TOTPWR], r.v[SOMNA_HRV_ULF],
                  r.v[SOMNA_HRV_VLF], r.v[SOMNA_HRV_LF], r.v[SOMNA_HRV_HF]);
    somna_hrv_series_free(&s);
    free(t);
    free(nrm);
}

/* Toolbox compatibility: every nsr001 window of the reference CSV within
 * 1e-4 (the issue asks for 2 %) for SDNN, RMSSD, pNN50, LF, HF, SD1, SD2,
 * and also NNmean, ULF, VLF, total power and the Toolbox's SampEn.  The demo used Fs = 125
 * (not the header's 128) and the first 2 h: reproduced on purpose. */
static void test_toolbox_nsr001(void **state)
{
    (void)state;
    char rec[1024], csv[1024];
    SHARED_OR_SKIP(rec, "nsr2db-hrv-reference/nsr2db/nsr001.ecg");
    SHARED_OR_SKIP(csv, "nsr2db-hrv-reference/reference_output/NSR_HRV_allwindows_allpatients.csv");
    somna_wfdb_annotation *a;
    size_t na;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    if (somna_wfdb_ann_read_file(rec, &a, &na, &err))
        fail_msg("%s", err.msg);
    int64_t *smp = malloc(na * sizeof *smp);
    for (size_t i = 0; i < na; i++)
        smp[i] = a[i].sample;
    somna_hrv_series s;
    assert_int_equal(somna_hrv_toolbox_series(smp, na, 125.0, 7200.0, &s, &err), 0);
    somna_table tab;
    if (somna_table_read(csv, NULL, &tab, &err))
        fail_msg("%s", err.msg);
    enum { NC = 12 };
    const char *cols[NC] = {"SDNN",   "RMSSD", "pnn50", "lf",     "hf",    "SD1",
                            "SD2",    "NNmean", "ulf",  "vlf",    "ttlpwr", "SampEn"};
    const int ms[NC] = {SOMNA_HRV_SDNN, SOMNA_HRV_RMSSD, SOMNA_HRV_PNN50, SOMNA_HRV_LF,     SOMNA_HRV_HF,
                        SOMNA_HRV_SD1,  SOMNA_HRV_SD2,   SOMNA_HRV_AVNN,  SOMNA_HRV_ULF,    SOMNA_HRV_VLF,
                        SOMNA_HRV_TOTPWR, SOMNA_HRV_SAMPEN};
    size_t col[NC], cpat, cts;
    for (int c = 0; c < NC; c++)
        assert_int_equal(somna_table_require_col(&tab, cols[c], &col[c], &err), 0);
    assert_int_equal(somna_table_require_col(&tab, "patID", &cpat, &err), 0);
    assert_int_equal(somna_table_require_col(&tab, "t_start", &cts, &err), 0);
    somna_hrv_opts o;
    somna_hrv_default_opts(&o);
    o.toolbox_compat = 1;
    size_t nwin = 0, bad = 0;
    double worst[NC] = {0};
    for (size_t row = 0; row < tab.n_rows; row++) {
        if (strcmp(somna_table_cell(&tab, row, cpat), "nsr001") != 0)
            continue;
        double t0;
        assert_int_equal(somna_table_get_double(&tab, row, cts, &t0, &err), 0);
        somna_hrv_series w;
        assert_int_equal(somna_hrv_select_time(&s, t0, t0 + 300, &w, &err), 0);
        somna_hrv_result r;
        assert_int_equal(somna_hrv_compute(&w, &o, &r, &err), 0);
        for (int c = 0; c < NC; c++) {
            double want;
            assert_int_equal(somna_table_get_double(&tab, row, col[c], &want, &err), 0);
            if (ms[c] == SOMNA_HRV_PNN50)
                want *= 100; /* the Toolbox reports a fraction, we report % */
            double got = r.v[ms[c]];
            double rel = fabs(got - want) / fmax(fabs(want), 1e-12);
            if (rel > worst[c])
                worst[c] = rel;
            /* the issue asks for 2 %; the CSV prints 5-6 digits and we match
             * them, so hold every window to 1e-4 */
            if (!(rel <= 1e-4)) {
                bad++;
                if (bad < 10)
                    print_message("t=%g %s: got %.6g want %.6g\n", t0, cols[c], got, want);
            }
        }
        somna_hrv_series_free(&w);
        nwin++;
    }
    print_message("nsr001: %zu windows, worst rel. diff SDNN %.2g RMSSD %.2g pNN50 %.2g LF %.2g HF %.2g SD1 %.2g "
                  "SD2 %.2g NNmean %.2g ULF %.2g VLF %.2g TOTPWR %.2g SampEn %.2g\n",
                  nwin, worst[0], worst[1], worst[2], worst[3], worst[4], worst[5], worst[6], worst[7], worst[8],
                  worst[9], worst[10], worst[11]);
    assert_int_equal(nwin, 231);
    assert_int_equal(bad, 0);
    somna_table_free(&tab);
    somna_hrv_series_free(&s);
    somna_wfdb_ann_free(a, na);
    free(smp);
}

/* The frequency domain on 16 more MIT-BIH records against the WFDB
 * software's own `lomb` (the program get_hrv runs), fed the NN series that
 * ann2rr gives: ann2rr -r REC -a atr -i s8 -v s8 -w -W | awk 'NR>2 && $1=="N"
 * && $3=="N" {print $4, $2}' | lomb - ; band power = sum of amplitude^2 over
 * the band (pwr), x 1e6 for ms^2.  Records whose beats are mostly paced or
 * bundle-branch (no N-N pairs: 107, 109, 111, 118, 124) or with < 1000 NN
 * intervals are left out.  Both the NN count and the bands must agree. */
static void test_lomb_vs_wfdb_mitdb(void **state)
{
    (void)state;
    static const struct {
        const char *rec;
        size_t n_nn;
        double ulf, vlf, lf, hf;
    } ref[] = {
        {"100", 2203, 327.339, 340.549, 77.2476, 551.682},
        {"101", 1853, 2499.45, 959.619, 497.98, 1120.2},
        {"103", 2078, 294.947, 985.129, 249.155, 654.168},
        {"105", 2478, 583.361, 122.885, 127.518, 628.433},
        {"106", 1082, 4718.92, 7406, 3213.91, 3659.05},
        {"108", 1715, 4604.58, 1902.17, 1781.88, 2446.28},
        {"112", 2533, 197.413, 111.004, 31.08, 23.972},
        {"113", 1781, 692.957, 2124.79, 2637.49, 4028.74},
        {"114", 1767, 8145.09, 1106.94, 329.267, 1529.97},
        {"115", 1951, 455.795, 3174.62, 1831.61, 1810.58},
        {"116", 2192, 308.879, 85.0814, 41.119, 68.6496},
        {"117", 1531, 206.487, 958.38, 226.659, 357.098},
        {"119", 1098, 218.666, 847.886, 648.246, 680.796},
        {"121", 1857, 6176.95, 1321.04, 178.061, 121.455},
        {"122", 2474, 396.285, 948.732, 122.784, 75.5766},
        {"123", 1510, 441.946, 4078.55, 6525.47, 2944.66},
    };
    for (size_t k = 0; k < sizeof ref / sizeof ref[0]; k++) {
        char path[1024], rel[64];
        snprintf(rel, sizeof rel, "mitdb/%s.atr", ref[k].rec);
        SHARED_OR_SKIP(path, rel);
        path[strlen(path) - 4] = '\0';
        double *t;
        int *nrm;
        size_t nb;
        load_beats(path, "atr", 360.0, &t, &nrm, &nb);
        somna_hrv_series s;
        assert_int_equal(somna_hrv_from_beats(t, nrm, nb, &s, NULL), 0);
        somna_hrv_result r;
        assert_int_equal(somna_hrv_compute(&s, NULL, &r, NULL), 0);
        assert_int_equal(r.n_nn, ref[k].n_nn);
        /* lomb prints 6 significant digits (%g) */
        assert_close_rel(r.v[SOMNA_HRV_ULF], ref[k].ulf, 1e-4);
        assert_close_rel(r.v[SOMNA_HRV_VLF], ref[k].vlf, 1e-4);
        assert_close_rel(r.v[SOMNA_HRV_LF], ref[k].lf, 1e-4);
        assert_close_rel(r.v[SOMNA_HRV_HF], ref[k].hf, 1e-4);
        somna_hrv_series_free(&s);
        free(t);
        free(nrm);
    }
}

/* Sample entropy by hand (Richman & Moorman 2000, m = 2, r = 0.5):
 * x = 1 2 3 1 2 3 1 2 4 has 7 templates of length 2; matching pairs B = 5
 * ([1,2] x3 -> 3 pairs, [2,3] -> 1, [3,1] -> 1); of these, A = 3 stay
 * within r at length 3, so SampEn = -ln(3/5). */
static void test_sampen_by_hand(void **state)
{
    (void)state;
    const double x[9] = {1, 2, 3, 1, 2, 3, 1, 2, 4};
    assert_close_rel(somna_hrv_sampen(x, 9, 2, 0.5), -log(3.0 / 5.0), 1e-12);
    const double p[6] = {1, 2, 1, 2, 1, 2}; /* periodic: every match extends, SampEn 0 */
    assert_close_abs(somna_hrv_sampen(p, 6, 2, 0.5), 0.0, 1e-12);
    const double q[6] = {1, 2, 3, 1, 2, 4}; /* no match extends: undefined */
    assert_true(isnan(somna_hrv_sampen(q, 6, 2, 0.5)));
}

/* DFA (Peng et al. 1995): white noise scales with alpha = 0.5, its running
 * sum (Brownian motion) with alpha = 1.5 (over 12..64 beats; at 4..11 beats
 * DFA-1 is biased upward on white noise, a known small-scale effect).  Exact
 * values from an independent numpy implementation (np.polyfit per box, same
 * xorshift64 + Box-Muller series): 0.619326504108823, 0.4929381779632603,
 * 1.5430799203229584. */
static void test_dfa_scaling(void **state)
{
    (void)state;
    enum { N = 8192 };
    double *w = malloc(N * sizeof *w), *b = malloc(N * sizeof *b);
    uint64_t s = 88172645463325252ull;
    double acc = 0;
    for (int i = 0; i < N; i++) {
        double u1, u2;
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        u1 = ((double)(s >> 11) + 0.5) / 9007199254740992.0;
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        u2 = ((double)(s >> 11) + 0.5) / 9007199254740992.0;
        w[i] = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
        acc += w[i];
        b[i] = acc;
    }
    assert_close_rel(somna_hrv_dfa(w, N, 4, 11), 0.619326504108823, 1e-9);
    assert_close_rel(somna_hrv_dfa(w, N, 12, 64), 0.4929381779632603, 1e-9);
    assert_close_rel(somna_hrv_dfa(b, N, 12, 64), 1.5430799203229584, 1e-9);
    assert_close_abs(somna_hrv_dfa(w, N, 12, 64), 0.5, 0.05);
    assert_close_abs(somna_hrv_dfa(b, N, 12, 64), 1.5, 0.1);
    assert_true(isnan(somna_hrv_dfa(w, 10, 4, 11))); /* too short */
    free(w);
    free(b);
}

/* filtnn-style filter: a 1.2 s interval among 0.8 s ones is > 20 % off its
 * neighbours' mean, 2.5 s is beyond 2.0 s; 0.85 s (6 %) stays. */
static void test_filter_rule(void **state)
{
    (void)state;
    double rr[40];
    for (int i = 0; i < 40; i++)
        rr[i] = 0.8;
    rr[10] = 1.2, rr[20] = 2.5, rr[30] = 0.85;
    somna_hrv_series s;
    assert_int_equal(somna_hrv_from_rr(rr, 40, 0.0, &s, NULL), 0);
    assert_int_equal(somna_hrv_filter(&s, 0.2, 20, 0.4, 2.0), 2);
    assert_false(s.ivl[10].nn);
    assert_false(s.ivl[20].nn);
    assert_true(s.ivl[30].nn);
    assert_true(s.ivl[11].nn);
    somna_hrv_result r;
    assert_int_equal(somna_hrv_compute(&s, NULL, &r, NULL), 0);
    assert_int_equal(r.n_nn, 38);
    /* successive differences skip the removed intervals: only 0.8->0.85->0.8
     * differ, RMSSD = sqrt(2 * 0.05^2 / n_pairs) with 35 pairs (39 pairs of
     * neighbours minus 4 that touch a removed interval) */
    assert_close_rel(r.v[SOMNA_HRV_RMSSD], 1000 * sqrt(2 * 0.05 * 0.05 / 35), 1e-9);
    somna_hrv_series_free(&s);
}

/* Stage selection keeps intervals lying inside epochs of the stage and
 * never makes a difference across a gap. */
static void test_select_stage_no_bridging(void **state)
{
    (void)state;
    double rr[100];
    for (int i = 0; i < 100; i++)
        rr[i] = 1.0 + 0.01 * (i % 3); /* beats near 1 s apart from t = 0 */
    somna_hrv_series s, st;
    assert_int_equal(somna_hrv_from_rr(rr, 100, 0.0, &s, NULL), 0);
    int8_t stages[4] = {SOMNA_STAGE_N2, SOMNA_STAGE_W, SOMNA_STAGE_N2, SOMNA_STAGE_W};
    somna_hypnogram h = {30.0, 4, stages, -1, ""};
    assert_int_equal(somna_hrv_select_stage(&s, &h, 0.0, SOMNA_STAGE_N2, &st, NULL), 0);
    size_t breaks = 0;
    for (size_t i = 0; i < st.n; i++) {
        double tb = st.ivl[i].t - st.ivl[i].rr, te = st.ivl[i].t;
        int eb = (int)(tb / 30), ee = (int)(te / 30);
        assert_true(eb == ee && (eb == 0 || eb == 2));
        breaks += st.ivl[i].succ == 0;
    }
    assert_int_equal(breaks, 2); /* the first kept interval, and the one after the W epoch */
    somna_hrv_series_free(&st);
    somna_hrv_series_free(&s);
}

/* --welch: 4 Hz natural spline + Welch (Hann, 1024-sample segments, 50 %
 * overlap) against SciPy: CubicSpline(bc_type='natural') on the same grid
 * and scipy.signal.welch, band sums x df x 1e6. */
static void test_welch_vs_scipy(void **state)
{
    (void)state;
    enum { N = 600 };
    double rr[N], tt = 0;
    for (int i = 0; i < N; i++) {
        rr[i] = 0.8 + 0.05 * sin(2 * M_PI * 0.1 * tt) + 0.03 * sin(2 * M_PI * 0.25 * tt) +
                0.02 * sin(2 * M_PI * 0.02 * tt);
        tt += rr[i];
    }
    somna_hrv_series s;
    assert_int_equal(somna_hrv_from_rr(rr, N, 0.0, &s, NULL), 0);
    somna_hrv_opts o;
    somna_hrv_default_opts(&o);
    o.psd = SOMNA_HRV_WELCH;
    somna_hrv_result r;
    assert_int_equal(somna_hrv_compute(&s, &o, &r, NULL), 0);
    assert_close_rel(r.v[SOMNA_HRV_ULF], 0.18467242346153398, 1e-6);
    assert_close_rel(r.v[SOMNA_HRV_VLF], 200.06724985080118, 1e-6);
    assert_close_rel(r.v[SOMNA_HRV_LF], 1249.3543835864239, 1e-6);
    assert_close_rel(r.v[SOMNA_HRV_HF], 445.705211549698, 1e-6);
    somna_hrv_series_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_hrv_mitdb100),
        cmocka_unit_test(test_toolbox_nsr001),
        cmocka_unit_test(test_lomb_vs_wfdb_mitdb),
        cmocka_unit_test(test_sampen_by_hand),
        cmocka_unit_test(test_dfa_scaling),
        cmocka_unit_test(test_filter_rule),
        cmocka_unit_test(test_select_stage_no_bridging),
        cmocka_unit_test(test_welch_vs_scipy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
