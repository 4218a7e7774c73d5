/* Hypnogram statistics against reference tools on the real hypnograms in
 * ../shared/data:
 *  - rsleep's stages_stats() on a Noxturnal export (values from rsleep's
 *    own test suite, quoted in noxturnal-psg-rsleep/README.txt);
 *  - YASA's sleep_statistics() on every Sleep-EDF hypnogram
 *    (tests/sleep/ref/yasa_sleep_statistics_sleepedf.tsv, produced by
 *    running YASA outside the repository, see tests/sleep/ref/README.md);
 *  - epoch counts stated in the data folders' README files and sleepr's
 *    REM minutes for ST7132J0.
 * Differences of definition are documented in docs/sleep-statistics.md. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "somna/hypno.h"
#include "somna/table.h"
#include "test_util.h"

#define assert_ok(call, err)                                                                                 \
    do {                                                                                                       \
        int rc_ = (call);                                                                                      \
        if (rc_ != 0)                                                                                          \
            fail_msg("%s failed (%d): %s", #call, rc_, (err).msg);                                             \
    } while (0)

static int read_hyp(const char *path, int fill_gaps, somna_hypnogram *h, somna_err *err)
{
    somna_hypno_read_opts o = {SOMNA_HYPNO_FMT_AUTO, 0, fill_gaps};
    return somna_hypno_read(path, &o, h, NULL, err);
}

static void test_rsleep_noxturnal(void **state)
{
    (void)state;
    char p[1024];
    SHARED_OR_SKIP(p, "noxturnal-psg-rsleep/noxturnal_events_example_unicode.csv");
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_hypnogram h;
    /* Stretches without a stage (4 of them) are refused by default ... */
    assert_int_not_equal(read_hyp(p, 0, &h, &err), 0);
    assert_non_null(strstr(err.msg, "line 540"));
    assert_non_null(strstr(err.msg, "gap of 30 s"));
    /* ... and are unscored epochs with --fill-gaps, as rsleep's time span implies */
    assert_ok(read_hyp(p, 1, &h, &err), err);
    somna_hypno_stats st;
    assert_ok(somna_hypno_stats_compute(&h, NULL, &st, &err), err);
    /* rsleep stages_stats(): values quoted in the data README */
    assert_close_abs(st.REM, 124.5, 1e-9);
    assert_close_abs(st.N1, 33, 1e-9);
    assert_close_abs(st.N2, 233, 1e-9);
    assert_close_abs(st.N3, 182, 1e-9);
    assert_close_abs(st.W_total, 106.5, 1e-9);        /* awa_duration: all wake */
    assert_close_abs(st.TST, 572.5, 1e-9);            /* tts */
    assert_close_abs(st.REM_pct / 100, 0.21746725, 5e-9); /* rem_tts */
    assert_close_abs(st.N1_pct / 100, 0.05764192, 5e-9);
    assert_close_abs(st.N2_pct / 100, 0.40698690, 5e-9);
    assert_close_abs(st.N3_pct / 100, 0.31790393, 5e-9);
    assert_close_abs(st.W_total / st.TST, 0.18602620, 5e-9); /* awa_tts */
    assert_close_abs(st.TIB, 748.5, 1e-9);            /* rsleep "tsp" = first to last event = our TIB */
    assert_close_abs(st.SE / 100, 0.76486306, 5e-9);  /* efficiency = tts / tsp */
    assert_close_abs(st.SOL, 54.5, 1e-9);             /* latency */
    /* rsleep's stage latencies are measured from sleep onset */
    assert_close_abs(st.Lat_N1 - st.SOL, 0, 1e-9);
    assert_close_abs(st.Lat_N2 - st.SOL, 4, 1e-9);
    assert_close_abs(st.Lat_N3 - st.SOL, 18, 1e-9);
    assert_close_abs(st.REM_latency_from_onset, 107, 1e-9);
    /* rsleep waso = tsp - latency - tts: everything after sleep onset that
     * is not sleep, i.e. our WASO + unscored time inside the sleep period
     * + wake after the final awakening.  69.5 min are unscored (748.5 min
     * spanned, 1358 stage events x 0.5 min = 679 min scored). */
    assert_close_abs(st.unscored_min, 69.5, 1e-9);
    double final_wake = st.TIB - st.SOL - st.SPT;
    assert_close_abs(st.WASO + st.unscored_min + final_wake, 121.5, 1e-9);
    somna_hypno_free(&h);
}

static int close_or_both_nan(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return fabs(a - b) <= 1e-9 * fmax(1.0, fabs(b));
}

static void test_yasa_sleepedf(void **state)
{
    (void)state;
    char dir[1024], ref[1024];
    SHARED_OR_SKIP(dir, "sleep-edf-hypnograms/README.txt");
    dir[strlen(dir) - strlen("README.txt")] = '\0';
    const char *src = getenv("SOMNA_SOURCE_DIR");
    snprintf(ref, sizeof ref, "%s/tests/sleep/ref/yasa_sleep_statistics_sleepedf.tsv", src ? src : ".");
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_table t;
    assert_ok(somna_table_read(ref, NULL, &t, &err), err);
    assert_int_equal(t.n_rows, 60); /* 20 EDF+ cassette + 1 telemetry + 39 epoch strings */
    static const char *const cols[] = {"TIB", "SPT", "WASO", "TST", "N1", "N2", "N3", "REM", "SOL", "Lat_N1",
                                       "Lat_N2", "Lat_N3", "Lat_REM", "%N1", "%N2", "%N3", "%REM", "SE", "SME"};
    size_t ci[19], cn;
    for (size_t k = 0; k < 19; k++)
        assert_ok(somna_table_require_col(&t, cols[k], &ci[k], &err), err);
    assert_ok(somna_table_require_col(&t, "n_epochs", &cn, &err), err);
    size_t compared = 0;
    for (size_t r = 0; r < t.n_rows; r++) {
        char path[2048];
        snprintf(path, sizeof path, "%s%s", dir, somna_table_cell(&t, r, 0));
        somna_hypnogram h;
        assert_ok(read_hyp(path, 0, &h, &err), err);
        double n_ref;
        assert_ok(somna_table_get_double(&t, r, cn, &n_ref, &err), err);
        if ((double)h.n_epochs != n_ref)
            fail_msg("%s: %zu epochs, YASA input had %g", path, h.n_epochs, n_ref);
        somna_hypno_stats st;
        assert_ok(somna_hypno_stats_compute(&h, NULL, &st, &err), err);
        double ours[19] = {st.TIB,    st.SPT,    st.WASO,    st.TST,    st.N1,     st.N2,     st.N3,
                           st.REM,    st.SOL,    st.Lat_N1,  st.Lat_N2, st.Lat_N3, st.Lat_REM, st.N1_pct,
                           st.N2_pct, st.N3_pct, st.REM_pct, st.SE,     st.SME};
        for (size_t k = 0; k < 19; k++) {
            double v = NAN;
            if (!somna_table_is_missing(&t, r, ci[k]))
                assert_ok(somna_table_get_double(&t, r, ci[k], &v, &err), err);
            if (!close_or_both_nan(ours[k], v))
                fail_msg("%s: %s = %.17g, YASA %.17g", path, cols[k], ours[k], v);
        }
        /* AASM REM latency = YASA's Lat_REM - SOL */
        assert_true(close_or_both_nan(st.REM_latency_from_onset, st.Lat_REM - st.SOL));
        compared++;
        somna_hypno_free(&h);
    }
    assert_int_equal(compared, 60);
    somna_table_free(&t);
}

/* Skjerns' strings drop Movement-time epochs; the data README found an
 * exact match with the EDF+ files on 13 of the 20 nights (checked here
 * independently with MNE's EDF+ reader: the 13 are the nights without
 * Movement time).  Our two readers and the comparison must see the same. */
static void test_sleepedf_strings_vs_edf(void **state)
{
    (void)state;
    char dir[1024];
    SHARED_OR_SKIP(dir, "sleep-edf-hypnograms/README.txt");
    dir[strlen(dir) - strlen("README.txt")] = '\0';
    static const char *const nights[] = {"SC4001EC", "SC4002EC", "SC4011EH", "SC4012EC", "SC4021EH",
                                         "SC4022EJ", "SC4031EC", "SC4032EP", "SC4041EC", "SC4042EC",
                                         "SC4051EC", "SC4052EC", "SC4061EC", "SC4062EC", "SC4071EC",
                                         "SC4072EH", "SC4081EC", "SC4082EP", "SC4091EC", "SC4092EC"};
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    int exact = 0;
    for (size_t i = 0; i < 20; i++) {
        char pe[2048], ps[2048];
        snprintf(pe, sizeof pe, "%ssleep-cassette/%s-Hypnogram.edf", dir, nights[i]);
        snprintf(ps, sizeof ps, "%sskjerns_epoch_strings/%.6sE0.hyp30s.txt", dir, nights[i]);
        somna_hypnogram a, b;
        assert_ok(read_hyp(pe, 0, &a, &err), err);
        assert_ok(read_hyp(ps, 0, &b, &err), err);
        int has_mt = 0;
        for (size_t k = 0; k < a.n_epochs; k++)
            has_mt |= a.stages[k] == SOMNA_STAGE_ART;
        /* the strings stop before the EDF+ files' trailing 24-h padding:
         * compare the common part */
        assert_true(b.n_epochs <= a.n_epochs);
        a.n_epochs = b.n_epochs;
        somna_hypno_agreement ag;
        assert_ok(somna_hypno_compare(&a, &b, &ag, &err), err);
        if (memcmp(a.stages, b.stages, a.n_epochs) == 0) {
            exact++;
            assert_true(ag.accuracy == 1.0);
            assert_false(has_mt);
        } else {
            assert_true(has_mt); /* only Movement-time nights differ */
            assert_true(ag.accuracy < 1.0);
        }
        somna_hypno_free(&a);
        somna_hypno_free(&b);
    }
    assert_int_equal(exact, 13);
}

/* --compare against scikit-learn (accuracy_score, cohen_kappa_score,
 * f1_score) on the 7 nights where the Sleep-EDF strings disagree with the
 * EDF+ files (tests/sleep/ref/sklearn_agreement_sleepedf.tsv, see README). */
static void test_sklearn_agreement(void **state)
{
    (void)state;
    char dir[1024], ref[1024];
    SHARED_OR_SKIP(dir, "sleep-edf-hypnograms/README.txt");
    dir[strlen(dir) - strlen("README.txt")] = '\0';
    const char *src = getenv("SOMNA_SOURCE_DIR");
    snprintf(ref, sizeof ref, "%s/tests/sleep/ref/sklearn_agreement_sleepedf.tsv", src ? src : ".");
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_table t;
    assert_ok(somna_table_read(ref, NULL, &t, &err), err);
    assert_int_equal(t.n_rows, 7);
    for (size_t r = 0; r < t.n_rows; r++) {
        char pa[2048], pb[2048];
        snprintf(pa, sizeof pa, "%s%s", dir, somna_table_cell(&t, r, 0));
        snprintf(pb, sizeof pb, "%s%s", dir, somna_table_cell(&t, r, 1));
        somna_hypnogram a, b;
        assert_ok(read_hyp(pa, 0, &a, &err), err);
        assert_ok(read_hyp(pb, 0, &b, &err), err);
        a.n_epochs = b.n_epochs; /* common part, as in the reference */
        somna_hypno_agreement ag;
        assert_ok(somna_hypno_compare(&a, &b, &ag, &err), err);
        double v[9];
        for (size_t k = 0; k < 9; k++)
            assert_ok(somna_table_get_double(&t, r, k + 2, &v[k], &err), err);
        assert_int_equal(ag.n_epochs, (size_t)v[0]);
        assert_int_equal(ag.n_excluded, (size_t)v[1]);
        assert_close_rel(ag.accuracy, v[2], 1e-12);
        assert_close_rel(ag.kappa, v[3], 1e-12);
        for (int k = 0; k < 5; k++)
            assert_close_rel(ag.f1[k], v[4 + k], 1e-12);
        somna_hypno_free(&a);
        somna_hypno_free(&b);
    }
    somna_table_free(&t);
}

static void count_stages(const somna_hypnogram *h, long c[7])
{
    for (size_t i = 0; i < h->n_epochs; i++)
        c[h->stages[i] + 2]++;
}

static void test_readme_counts(void **state)
{
    (void)state;
    char p[1024];
    SHARED_OR_SKIP(p, "dreams-subjects-hypnogram/HypnogramAASM_subject1.txt");
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_hypnogram h;
    /* DREAMS subject 1: 5768 5-s epochs, 1:1674 2:1794 3:234 4:678 5:1388 */
    assert_ok(read_hyp(p, 0, &h, &err), err);
    assert_int_equal(h.n_epochs, 5768);
    assert_true(h.epoch_s == 5.0);
    long c[7] = {0};
    count_stages(&h, c);
    assert_int_equal(c[2 + SOMNA_STAGE_N3], 1674);
    assert_int_equal(c[2 + SOMNA_STAGE_N2], 1794);
    assert_int_equal(c[2 + SOMNA_STAGE_N1], 234);
    assert_int_equal(c[2 + SOMNA_STAGE_REM], 678);
    assert_int_equal(c[2 + SOMNA_STAGE_W], 1388);
    somna_hypno_free(&h);
    /* 5768 is not a multiple of 6: aggregation to 30 s is refused */
    somna_hypno_read_opts o30 = {SOMNA_HYPNO_FMT_AUTO, 30, 0};
    assert_int_not_equal(somna_hypno_read(p, &o30, &h, NULL, &err), 0);
    assert_non_null(strstr(err.msg, "left over"));

    /* YASA legacy 6-h hypnogram: W43 N1 22 N2 318 N3 182 R155 */
    SHARED_OR_SKIP(p, "yasa-legacy-samples/data_full_6hrs_100Hz_hypno_30s.txt");
    assert_ok(read_hyp(p, 0, &h, &err), err);
    assert_int_equal(h.n_epochs, 720);
    long y[7] = {0};
    count_stages(&h, y);
    assert_int_equal(y[2], 43);
    assert_int_equal(y[3], 22);
    assert_int_equal(y[4], 318);
    assert_int_equal(y[5], 182);
    assert_int_equal(y[6], 155);
    somna_hypno_free(&h);

    /* sleepr's test: rem_minutes(ST7132J0) == 108 */
    SHARED_OR_SKIP(p, "sleep-edf-hypnograms/sleep-telemetry/ST7132JR-Hypnogram.edf");
    assert_ok(read_hyp(p, 0, &h, &err), err);
    somna_hypno_stats st;
    assert_ok(somna_hypno_stats_compute(&h, NULL, &st, &err), err);
    assert_close_abs(st.REM, 108.0, 1e-9);
    somna_hypno_free(&h);

    /* DREAMS spindle excerpts: 360 5-s epochs = 30 min each, aggregate to 60 */
    SHARED_OR_SKIP(p, "dreams-spindles/Hypnogram_excerpt1.txt");
    assert_ok(somna_hypno_read(p, &o30, &h, NULL, &err), err);
    assert_int_equal(h.n_epochs, 60);
    somna_hypno_free(&h);
}

static void test_walch_totals(void **state)
{
    (void)state;
    char p[1024];
    SHARED_OR_SKIP(p, "walch-sleep-accel-psg-labels/README.txt");
    /* 31 subjects, 25481 epochs: 0:2152 1:1761 2:12483 3:3189 4:356 5:5540
     * (counted with sort | uniq -c on the files) */
    static const char *const ids[] = {"1066528", "1360686", "1449548", "1455390", "1818471", "2598705", "2638030",
                                      "3509524", "3997827", "4018081", "4314139", "4426783", "46343",   "5132496",
                                      "5383425", "5498603", "5797046", "6220552", "759667",  "7749105", "781756",
                                      "8000685", "8173033", "8258170", "844359",  "8530312", "8686948", "8692923",
                                      "9106476", "9618981", "9961348"};
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", p);
    dir[strlen(dir) - strlen("README.txt")] = '\0';
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    long c[7] = {0};
    size_t total = 0;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char f[2048];
        snprintf(f, sizeof f, "%s%s_psg_labels.out", dir, ids[i]);
        somna_hypnogram h;
        assert_ok(read_hyp(f, 0, &h, &err), err);
        count_stages(&h, c);
        total += h.n_epochs;
        somna_hypno_free(&h);
    }
    assert_int_equal(total, 25481);
    assert_int_equal(c[2], 2152);
    assert_int_equal(c[3], 1761);
    assert_int_equal(c[4], 12483);
    assert_int_equal(c[5], 3189 + 356);
    assert_int_equal(c[6], 5540);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsleep_noxturnal),
        cmocka_unit_test(test_yasa_sleepedf),
        cmocka_unit_test(test_sleepedf_strings_vs_edf),
        cmocka_unit_test(test_sklearn_agreement),
        cmocka_unit_test(test_readme_counts),
        cmocka_unit_test(test_walch_totals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
