/* End to end on the real CBT-I diary trial (../shared/data/sleep-diary-
 * intervention-sleeps): init -> wide import -> analyze, and the analysis's
 * numbers compared with
 *   (1) the statistics engine called directly on participant means built
 *       here from the CSV, independently of the database, and
 *   (2) R 4.2 (t.test, wilcox.test, lme4 + lmerTest), whose script and
 *       output are committed in tests/study/r/ (cbti.R, cbti_expected.csv). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "somna/db.h"
#include "somna/stats.h"
#include "somna/study.h"
#include "somna/table.h"
#include "test_util.h"

#define CSV_REL "sleep-diary-intervention-sleeps/dataset.csv"

static const char *src_path(char *buf, size_t size, const char *rel)
{
    const char *root = getenv("SOMNA_SOURCE_DIR");
    snprintf(buf, size, "%s/%s", root ? root : ".", rel);
    return buf;
}

static void run_analysis(const char *csv, somna_study_analysis *a)
{
    char desc[1024], dbp[512], name[64];
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_study_desc d;
    if (somna_study_desc_read(src_path(desc, sizeof desc, "tests/study/data/cbti-study.txt"), &d, &err))
        fail_msg("%s", err.msg);
    snprintf(name, sizeof name, "cbti_%d.db", (int)getpid());
    test_tmp_path(dbp, sizeof dbp, name);
    unlink(dbp);
    somna_db *db;
    int64_t sid = 0;
    if (somna_db_open(&db, dbp, &err) || somna_study_init(db, &d, &sid, &err))
        fail_msg("%s", err.msg);
    somna_study_import_opts io;
    memset(&io, 0, sizeof io);
    io.group_col = "Sleeps1Edu2";
    io.group_map = "1=sleeps,2=edu";
    io.visits = "2,3,4,5,6,7";
    somna_study_import_stats st;
    if (somna_study_import(db, sid, SOMNA_STUDY_IMPORT_WIDE, csv, &io, &st, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(st.rows, 42);
    if (somna_study_analyze(db, sid, NULL, a, &err))
        fail_msg("%s", err.msg);
    somna_db_close(db);
    unlink(dbp);
}

static const somna_study_effect *effect_of(const somna_study_analysis *a, const char *m)
{
    for (size_t i = 0; i < a->n_effects; i++)
        if (strcmp(a->effects[i].measure, m) == 0)
            return &a->effects[i];
    fail_msg("no effect for %s", m);
    return NULL;
}

/* (1) the statistics engine on participant means computed here. */
static void test_cbti_equals_stats_engine(void **state)
{
    (void)state;
    char csv[1024];
    SHARED_OR_SKIP(csv, CSV_REL);
    somna_study_analysis a;
    run_analysis(csv, &a);
    somna_table t;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    if (somna_table_read(csv, NULL, &t, &err))
        fail_msg("%s", err.msg);
    size_t cg;
    assert_int_equal(somna_table_require_col(&t, "Sleeps1Edu2", &cg, &err), 0);
    static const char *const measures[] = {"SE", "WASO", "AWAN", "TST", "ISI", "PHQ"};
    for (size_t m = 0; m < 6; m++) {
        int weekly = m < 4;
        double x[64], y[64];
        size_t nx = 0, ny = 0;
        for (size_t r = 0; r < t.n_rows; r++) {
            double s = 0;
            int n = 0;
            for (int v = weekly ? 2 : 5; v <= 7; v += weekly ? 1 : 2) {
                char col[32];
                snprintf(col, sizeof col, "%s_%d", measures[m], v);
                long c = somna_table_col(&t, col);
                assert_true(c >= 0);
                double val;
                if (somna_table_is_missing(&t, r, (size_t)c))
                    continue;
                assert_int_equal(somna_table_get_double(&t, r, (size_t)c, &val, &err), 0);
                s += val;
                n++;
            }
            if (!n)
                continue;
            if (strcmp(somna_table_cell(&t, r, cg), "1") == 0)
                x[nx++] = s / n;
            else
                y[ny++] = s / n;
        }
        somna_stats_result w, mw;
        somna_stats_effect d;
        assert_int_equal(somna_stats_ttest_two(x, nx, y, ny, 0, 0.95, &w, &err), 0);
        assert_int_equal(somna_stats_mann_whitney(x, nx, y, ny, 0.95, &mw, &err), 0);
        assert_int_equal(somna_stats_cohen_d(x, nx, y, ny, 0.95, &d, NULL, &err), 0);
        const somna_study_effect *e = effect_of(&a, measures[m]);
        assert_int_equal(e->n, (int)(nx + ny));
        /* same numbers; only the order of summation may differ */
        assert_close_rel(e->diff, w.estimate, 1e-12);
        assert_close_rel(e->statistic, w.statistic, 1e-12);
        assert_close_rel(e->df, w.df, 1e-12);
        assert_close_rel(e->p, w.p, 1e-12);
        assert_close_rel(e->p_nonparam, mw.p, 1e-12);
        assert_close_rel(e->effect, d.value, 1e-12);
        assert_close_rel(e->effect_ci_low, d.ci_low, 1e-12);
    }
    somna_table_free(&t);
    somna_study_analysis_free(&a);
}

/* (2) R 4.2 on the same data. */
static void test_cbti_equals_r(void **state)
{
    (void)state;
    char csv[1024], ref[1024];
    SHARED_OR_SKIP(csv, CSV_REL);
    somna_study_analysis a;
    run_analysis(csv, &a);
    somna_table t;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    if (somna_table_read(src_path(ref, sizeof ref, "tests/study/r/cbti_expected.csv"), NULL, &t, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(t.n_rows, 6);
    for (size_t r = 0; r < t.n_rows; r++) {
        const somna_study_effect *e = effect_of(&a, somna_table_cell(&t, r, 0));
        double v;
#define COL(name, field, tol)                                                                                          \
    do {                                                                                                               \
        size_t c_;                                                                                                     \
        assert_int_equal(somna_table_require_col(&t, name, &c_, &err), 0);                                             \
        assert_int_equal(somna_table_get_double(&t, r, c_, &v, &err), 0);                                              \
        assert_close_rel(field, v, tol);                                                                               \
    } while (0)
        COL("n", (double)e->n, 0);
        COL("mean", e->mean, 1e-10);
        COL("sd", e->sd, 1e-10);
        COL("ref_mean", e->ref_mean, 1e-10);
        COL("ref_sd", e->ref_sd, 1e-10);
        COL("estimate", e->diff, 1e-10);
        COL("ci_low", e->diff_ci_low, 1e-10);
        COL("ci_high", e->diff_ci_high, 1e-10);
        COL("t", e->statistic, 1e-10);
        COL("df", e->df, 1e-10);
        COL("p", e->p, 1e-10);
        COL("p_mw", e->p_nonparam, 1e-10);
        COL("d", e->effect, 1e-10);
        COL("p_holm", e->p_adj, 1e-10);
        /* mixed model (lme4/lmerTest use numerical optimisation and Hessians) */
        COL("lmm_estimate", e->lmm_estimate, 1e-6);
        COL("lmm_se", e->lmm_se, 1e-6);
        COL("lmm_df", e->lmm_df, 1e-6);
        COL("lmm_p", e->p_lmm, 1e-6);
#undef COL
    }
    somna_table_free(&t);
    somna_study_analysis_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cbti_equals_stats_engine),
        cmocka_unit_test(test_cbti_equals_r),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
