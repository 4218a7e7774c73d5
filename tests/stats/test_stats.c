/* Statistics against R 4.2: every expected value comes from
 * tests/r/stats_reference.R (output committed as tests/r/stats_expected.txt,
 * which also holds the input data).  Tolerance 1e-8 relative, 1e-6 for the
 * mixed models; the rank-test confidence limits of the normal approximation
 * are compared to 2e-4 absolute because R locates them with uniroot(tol =
 * 1e-4) while somna locates the step exactly. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "somna/parse.h"
#include "somna/stats.h"
#include "test_util.h"

#define REL 1e-8
#define REL_LMM 1e-6
#define MAXV 64

typedef struct entry {
    char a[48], b[48];
    size_t n;
    double v[MAXV];
} entry;

static entry *E;
static size_t nE;

static int load(void **state)
{
    (void)state;
    char path[1024];
    const char *src = getenv("SOMNA_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/r/stats_expected.txt", src ? src : ".");
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s (set SOMNA_SOURCE_DIR)\n", path);
        return -1;
    }
    E = calloc(512, sizeof *E);
    char line[8192];
    while (fgets(line, sizeof line, f) && nE < 512) {
        if (line[0] == '#')
            continue;
        char *tok[MAXV + 2];
        size_t nt = 0;
        for (char *q = line; *q && nt < MAXV + 2;) {
            while (*q == ' ' || *q == '\n')
                *q++ = '\0';
            if (!*q)
                break;
            tok[nt++] = q;
            while (*q && *q != ' ' && *q != '\n')
                q++;
        }
        if (nt < 2)
            continue;
        entry *e = &E[nE++];
        somna_strlcpy(e->a, tok[0], sizeof e->a);
        somna_strlcpy(e->b, tok[1], sizeof e->b);
        for (size_t i = 2; i < nt; i++) {
            double v = NAN;
            if (strcmp(tok[i], "NA") != 0 && somna_parse_double_str(tok[i], &v) != 0)
                v = NAN;
            e->v[e->n++] = v;
        }
    }
    fclose(f);
    return 0;
}

static int unload(void **state)
{
    (void)state;
    free(E);
    return 0;
}

static const double *get(const char *a, const char *b, size_t *n)
{
    if (n)
        *n = 0;
    for (size_t i = 0; i < nE; i++)
        if (strcmp(E[i].a, a) == 0 && strcmp(E[i].b, b) == 0) {
            if (n)
                *n = E[i].n;
            return E[i].v;
        }
    fail_msg("expected value %s %s missing from tests/r/stats_expected.txt", a, b);
    return NULL;
}

static double ex(const char *a, const char *b, size_t i)
{
    size_t n;
    const double *v = get(a, b, &n);
    assert_true(i < n);
    return v[i];
}

static const double *data(const char *name, size_t *n) { return get("data", name, n); }

/* compare a somna_stats_result with R's htest outputs for `case` */
static void check_htest(const char *c, const somna_stats_result *r, int ci_exactness)
{
    assert_close_rel(r->statistic, ex(c, "statistic", 0), REL);
    assert_close_rel(r->p, ex(c, "p", 0), REL);
    size_t n;
    for (size_t i = 0; i < nE; i++)
        if (strcmp(E[i].a, c) == 0 && strcmp(E[i].b, "df") == 0)
            assert_close_rel(r->df, E[i].v[0], REL);
    (void)n;
    if (ci_exactness == 1) {
        assert_close_rel(r->estimate, ex(c, "estimate", 0), REL);
        assert_close_rel(r->ci_low, ex(c, "ci", 0), REL);
        assert_close_rel(r->ci_high, ex(c, "ci", 1), REL);
        assert_close_rel(r->conf_level, ex(c, "conf_level", 0), 1e-12);
    } else if (ci_exactness == 2) {
        /* the limits are jump points of a step function (unique) */
        assert_close_abs(r->ci_low, ex(c, "ci", 0), 2e-4);
        assert_close_abs(r->ci_high, ex(c, "ci", 1), 2e-4);
        assert_close_rel(r->conf_level, ex(c, "conf_level", 0), 1e-12);
    }
}

/* Without the exact distribution R's location estimate is uniroot's answer
 * on a step function that is exactly zero on a whole interval, so any point
 * of that interval is the estimate.  Ours is the interval's midpoint: check
 * that R's value gives the same rank statistic as ours (or is within 2e-4). */
static void same_flat_piece_signed(const double *a, const double *b, size_t n, double ours, double theirs)
{
    if (fabs(ours - theirs) <= 2e-4)
        return;
    double d1[128], d2[128];
    assert_true(n <= 128);
    for (size_t i = 0; i < n; i++) {
        d1[i] = a[i] - b[i] - ours;
        d2[i] = a[i] - b[i] - theirs;
    }
    somna_stats_result r1, r2;
    assert_int_equal(somna_stats_wilcoxon_signed(d1, NULL, n, 0.95, &r1, NULL), 0);
    assert_int_equal(somna_stats_wilcoxon_signed(d2, NULL, n, 0.95, &r2, NULL), 0);
    assert_true(r1.n == r2.n);
    assert_close_rel(r1.statistic, (double)r1.n * ((double)r1.n + 1) / 4.0, 1e-15);
    assert_close_rel(r2.statistic, (double)r2.n * ((double)r2.n + 1) / 4.0, 1e-15);
}

static void same_flat_piece_ranksum(const double *x, size_t nx, const double *y, size_t ny, double ours,
                                    double theirs)
{
    if (fabs(ours - theirs) <= 2e-4)
        return;
    double x1[128], x2[128];
    assert_true(nx <= 128);
    for (size_t i = 0; i < nx; i++) {
        x1[i] = x[i] - ours;
        x2[i] = x[i] - theirs;
    }
    somna_stats_result r1, r2;
    assert_int_equal(somna_stats_mann_whitney(x1, nx, y, ny, 0.95, &r1, NULL), 0);
    assert_int_equal(somna_stats_mann_whitney(x2, nx, y, ny, 0.95, &r2, NULL), 0);
    assert_true(r1.statistic == r2.statistic);
}

static void paired_case(const char *c, int w_exact)
{
    char an[64], bn[64], k[64];
    snprintf(an, sizeof an, "%s_after", c);
    snprintf(bn, sizeof bn, "%s_before", c);
    size_t n, m;
    const double *a = data(an, &n), *b = data(bn, &m);
    assert_int_equal(n, m);
    somna_stats_result r;
    assert_int_equal(somna_stats_ttest_paired(a, b, n, 0.95, &r, NULL), 0);
    snprintf(k, sizeof k, "%s_t", c);
    check_htest(k, &r, 1);
    assert_close_rel(r.se, ex(k, "se", 0), REL);
    assert_close_rel(r.df, ex(k, "df", 0), REL);
    assert_int_equal(somna_stats_wilcoxon_signed(a, b, n, 0.95, &r, NULL), 0);
    snprintf(k, sizeof k, "%s_w", c);
    assert_int_equal(r.exact, w_exact);
    check_htest(k, &r, w_exact ? 1 : 2);
    if (!w_exact)
        same_flat_piece_signed(a, b, n, r.estimate, ex(k, "estimate", 0));
    somna_stats_effect dz, gz;
    if (n >= 3) {
        assert_int_equal(somna_stats_cohen_dz(a, b, n, 0.95, &dz, &gz, NULL), 0);
        for (size_t i = 0; i < 3; i++) {
            double gv[3] = {dz.value, dz.ci_low, dz.ci_high}, hv[3] = {gz.value, gz.ci_low, gz.ci_high};
            assert_close_rel(gv[i], ex(c, "dz", i), REL);
            assert_close_rel(hv[i], ex(c, "gz", i), REL);
        }
    }
}

static void test_paired_no_ties_exact(void **s)
{
    (void)s;
    paired_case("pt1", 1);
    size_t n;
    const double *a = data("pt1_after", &n), *b = data("pt1_before", &n);
    double mr, rm;
    size_t used;
    assert_int_equal(somna_stats_percent_change(a, b, n, &mr, &rm, &used, NULL), 0);
    assert_close_rel(mr, ex("pt1", "pct_mean_ratios", 0), REL);
    assert_close_rel(rm, ex("pt1", "pct_ratio_means", 0), REL);
    assert_int_equal(used, n);
}

static void test_paired_ties_zeros(void **s)
{
    (void)s;
    paired_case("pt2", 0);
    size_t n;
    const double *a = data("pt2_after", &n), *b = data("pt2_before", &n);
    somna_stats_result r;
    assert_int_equal(somna_stats_wilcoxon_signed(a, b, n, 0.95, &r, NULL), 0);
    assert_int_equal(r.n_zero, 2); /* pairs 2 (12 - 12) and 5 (9 - 9) */
    assert_int_equal(r.n, 8);
}

static void test_paired_n2(void **s)
{
    (void)s;
    paired_case("pt3", 1);
}

static void test_paired_all_equal(void **s)
{
    (void)s;
    size_t n;
    const double *a = data("pt6_after", &n), *b = data("pt6_before", &n);
    somna_stats_result r;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    /* R's t.test stops ("data are essentially constant"): so do we */
    assert_true(ex("pt6_t", "error", 0) == 1.0);
    assert_int_equal(somna_stats_ttest_paired(a, b, n, 0.95, &r, &err), SOMNA_E_DATA);
    assert_true(isnan(r.p));
    assert_int_equal(somna_stats_wilcoxon_signed(a, b, n, 0.95, &r, NULL), 0);
    assert_close_rel(r.statistic, ex("pt6_w", "statistic", 0), REL);
    assert_close_rel(r.p, ex("pt6_w", "p", 0), REL);
    assert_close_rel(r.estimate, ex("pt6_w", "estimate", 0), REL);
    assert_true(isnan(ex("pt6_w", "ci", 0)) && isnan(r.ci_low) && isnan(r.ci_high));
}

static void test_wilcoxon_exact_boundary(void **s)
{
    (void)s;
    size_t n;
    const double *a = data("pt7_after", &n);
    assert_int_equal(n, 50);
    somna_stats_result r;
    assert_int_equal(somna_stats_wilcoxon_signed(a, NULL, 49, 0.95, &r, NULL), 0);
    assert_true(r.exact); /* R: exact when n < 50 */
    check_htest("pt7_w49", &r, 1);
    assert_int_equal(somna_stats_wilcoxon_signed(a, NULL, 50, 0.95, &r, NULL), 0);
    assert_false(r.exact);
    check_htest("pt7_w50", &r, 2);
    const double *zero = data("pt7_before", &n);
    same_flat_piece_signed(a, zero, 50, r.estimate, ex("pt7_w50", "estimate", 0));
}

static void test_paired_large_normal(void **s)
{
    (void)s;
    paired_case("pt4", 0);
}

static void test_paired_missing(void **s)
{
    (void)s;
    paired_case("pt5", 0); /* 1.1 twice: ties, and R widens the CI to 90 % */
    size_t n;
    const double *a = data("pt5_after", &n), *b = data("pt5_before", &n);
    somna_stats_result r;
    assert_int_equal(somna_stats_ttest_paired(a, b, n, 0.95, &r, NULL), 0);
    assert_int_equal(r.n, 6);
    assert_int_equal(r.n_dropped, 3);
}

static void two_case(const char *c, int mw_mode, double drel)
{
    char xn[64], yn[64], k[64];
    snprintf(xn, sizeof xn, "%s_x", c);
    snprintf(yn, sizeof yn, "%s_y", c);
    size_t nx, ny;
    const double *x = data(xn, &nx), *y = data(yn, &ny);
    somna_stats_result r;
    assert_int_equal(somna_stats_ttest_two(x, nx, y, ny, 0, 0.95, &r, NULL), 0);
    snprintf(k, sizeof k, "%s_welch", c);
    check_htest(k, &r, 1);
    assert_close_rel(r.se, ex(k, "se", 0), REL);
    assert_int_equal(somna_stats_ttest_two(x, nx, y, ny, 1, 0.95, &r, NULL), 0);
    snprintf(k, sizeof k, "%s_student", c);
    check_htest(k, &r, 1);
    assert_int_equal(somna_stats_mann_whitney(x, nx, y, ny, 0.95, &r, NULL), 0);
    snprintf(k, sizeof k, "%s_mw", c);
    assert_int_equal(r.exact, mw_mode == 1);
    check_htest(k, &r, mw_mode);
    if (mw_mode == 2)
        same_flat_piece_ranksum(x, nx, y, ny, r.estimate, ex(k, "estimate", 0));
    somna_stats_effect d, g;
    assert_int_equal(somna_stats_cohen_d(x, nx, y, ny, 0.95, &d, &g, NULL), 0);
    double dv[3] = {d.value, d.ci_low, d.ci_high}, gv[3] = {g.value, g.ci_low, g.ci_high};
    for (size_t i = 0; i < 3; i++) {
        assert_close_rel(dv[i], ex(c, "d", i), drel);
        assert_close_rel(gv[i], ex(c, "g", i), drel);
    }
}

static void test_two_groups(void **s)
{
    (void)s;
    two_case("tg1", 1, REL);
    two_case("tg2", 2, REL); /* ties + a missing value */
    /* n = 2 per group: R's pt() warns that full precision was not reached
     * for the noncentral limits, so those are compared at 1e-6 */
    two_case("tg3", 1, 1e-6);
}

static void load_rm(double *Y, size_t *n, size_t *k)
{
    *n = 10;
    *k = 4;
    for (size_t i = 0; i < 10; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "rm_row%zu", i + 1);
        size_t m;
        const double *row = data(nm, &m);
        assert_int_equal(m, 4);
        memcpy(Y + i * 4, row, 4 * sizeof *Y);
    }
}

static void test_rmanova(void **s)
{
    (void)s;
    double Y[40];
    size_t n, k;
    load_rm(Y, &n, &k);
    somna_stats_rmanova_result o;
    assert_int_equal(somna_stats_rmanova(Y, n, k, &o, NULL), 0);
    assert_int_equal(o.n_subjects, 9);
    assert_int_equal(o.n_dropped, 1);
    assert_close_rel(o.F, ex("rm", "F", 0), REL);
    assert_close_rel(o.df1, ex("rm", "df", 0), REL);
    assert_close_rel(o.df2, ex("rm", "df", 1), REL);
    assert_close_rel(o.p, ex("rm", "p", 0), REL);
    assert_close_rel(o.ges, ex("rm", "ges", 0), REL);
    assert_close_rel(o.ss_condition, ex("rm", "ss", 0), REL);
    assert_close_rel(o.ss_subject, ex("rm", "ss", 1), REL);
    assert_close_rel(o.ss_error, ex("rm", "ss", 2), REL);
    assert_close_rel(o.mauchly_W, ex("rm", "mauchly", 0), REL);
    assert_close_rel(o.mauchly_p, ex("rm", "mauchly", 1), REL);
    assert_close_rel(o.eps_gg, ex("rm", "gg", 0), REL);
    assert_close_rel(o.p_gg, ex("rm", "gg", 1), REL);
    assert_close_rel(o.eps_hf, ex("rm", "hf", 0), REL);
    assert_close_rel(o.p_hf, ex("rm", "hf", 1), REL);

    somna_stats_result r;
    assert_int_equal(somna_stats_friedman(Y, n, k, &r, NULL), 0);
    check_htest("fr", &r, 0);
    assert_int_equal(r.n, 9);
}

static void test_pairwise(void **s)
{
    (void)s;
    double Y[40];
    size_t n, k;
    load_rm(Y, &n, &k);
    somna_stats_pair pr[6];
    assert_int_equal(somna_stats_pairwise(Y, n, k, SOMNA_STATS_PAIR_T, 0.95, pr, NULL), 0);
    for (size_t i = 0; i < 6; i++) {
        assert_true(pr[i].ok);
        assert_close_rel(pr[i].r.p, ex("pw_t", "raw", i), REL);
        assert_close_rel(pr[i].p_holm, ex("pw_t", "holm", i), REL);
        assert_close_rel(pr[i].p_bh, ex("pw_t", "BH", i), REL);
    }
    assert_int_equal(somna_stats_pairwise(Y, n, k, SOMNA_STATS_PAIR_WILCOXON, 0.95, pr, NULL), 0);
    for (size_t i = 0; i < 6; i++) {
        assert_close_rel(pr[i].r.p, ex("pw_w", "raw", i), REL);
        assert_close_rel(pr[i].p_holm, ex("pw_w", "holm", i), REL);
        assert_close_rel(pr[i].p_bh, ex("pw_w", "BH", i), REL);
    }
}

static void test_p_adjust(void **s)
{
    (void)s;
    size_t n;
    const double *p = data("padj_p", &n);
    double out[16];
    const char *names[] = {"holm", "BH", "bonferroni"};
    somna_stats_padjust m[] = {SOMNA_STATS_PADJ_HOLM, SOMNA_STATS_PADJ_BH, SOMNA_STATS_PADJ_BONFERRONI};
    for (size_t j = 0; j < 3; j++) {
        assert_int_equal(somna_stats_p_adjust(p, n, m[j], out, NULL), 0);
        for (size_t i = 0; i < n; i++) {
            double e = ex("padj", names[j], i);
            if (isnan(e))
                assert_true(isnan(out[i]));
            else
                assert_close_rel(out[i], e, REL);
        }
    }
}

static void check_lmm(const char *c, const somna_stats_lmm *m)
{
    for (size_t j = 0; j < m->p; j++) {
        char key[32];
        snprintf(key, sizeof key, "coef%zu", j);
        const somna_stats_lmm_coef *k = &m->coef[j];
        assert_close_rel(k->estimate, ex(c, key, 0), REL_LMM);
        assert_close_rel(k->se, ex(c, key, 1), REL_LMM);
        assert_close_rel(k->df, ex(c, key, 2), REL_LMM);
        assert_close_rel(k->t, ex(c, key, 3), REL_LMM);
        assert_close_rel(k->p, ex(c, key, 4), REL_LMM);
    }
    assert_close_rel(m->sigma2, ex(c, "var", 0), REL_LMM);
    assert_close_rel(m->tau2, ex(c, "var", 1), REL_LMM);
    assert_close_rel(m->reml_criterion, ex(c, "reml", 0), REL_LMM);
}

/* Kenward-Roger: every coefficient (t with adjusted SE) and the F tests of
 * the given term column blocks, against pbkrtest through lmerTest */
static void check_kr(const char *c, const somna_stats_lmm *m, const size_t *term_start, const size_t *term_q,
                     size_t nterms)
{
    for (size_t j = 0; j < m->p; j++) {
        char key[32];
        snprintf(key, sizeof key, "coef%zu", j);
        double l[16] = {0};
        l[j] = 1.0;
        somna_stats_lmm_coef k;
        assert_int_equal(somna_stats_lmm_contrast_kr(m, l, 0.95, &k, NULL), 0);
        assert_close_rel(k.estimate, ex(c, key, 0), REL_LMM);
        assert_close_rel(k.se, ex(c, key, 1), REL_LMM);
        assert_close_rel(k.df, ex(c, key, 2), REL_LMM);
        assert_close_rel(k.t, ex(c, key, 3), REL_LMM);
        assert_close_rel(k.p, ex(c, key, 4), REL_LMM);
    }
    for (size_t t = 0; t < nterms; t++) {
        char key[32];
        snprintf(key, sizeof key, "F%zu", t + 1);
        double L[64] = {0};
        for (size_t r = 0; r < term_q[t]; r++)
            L[r * m->p + term_start[t] + r] = 1.0;
        somna_stats_result r;
        assert_int_equal(somna_stats_lmm_ftest_kr(m, L, term_q[t], &r, NULL), 0);
        assert_close_rel(r.statistic, ex(c, key, 0), REL_LMM);
        assert_close_rel(r.df, ex(c, key, 1), 1e-15);
        assert_close_rel(r.df2, ex(c, key, 2), REL_LMM);
        assert_close_rel(r.p, ex(c, key, 3), REL_LMM);
    }
}

static void test_lmm_crossover_unbalanced(void **s)
{
    (void)s;
    size_t n, n2;
    const double *id = data("lmm1_id", &n), *cond = data("lmm1_cond", &n2), *per = data("lmm1_period", &n2),
                 *y = data("lmm1_y", &n2);
    double X[64 * 4];
    size_t g[64];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++) {
        X[i * 4 + 0] = 1.0;
        X[i * 4 + 1] = cond[i] == 2.0;
        X[i * 4 + 2] = cond[i] == 3.0;
        X[i * 4 + 3] = per[i];
        g[i] = (size_t)id[i] - 1;
    }
    somna_stats_lmm m;
    assert_int_equal(somna_stats_lmm_fit(X, y, g, n, 4, 15, 0.95, &m, NULL), 0);
    check_lmm("lmm1", &m);
    assert_close_rel(m.coef[1].ci_low, ex("lmm1", "ci1", 0), REL_LMM);
    assert_close_rel(m.coef[1].ci_high, ex("lmm1", "ci1", 1), REL_LMM);
    assert_int_equal(m.n_groups, 15);
    /* omnibus F of condition (2 dummies) and of period, as lmerTest's anova() */
    double L[2 * 4] = {0, 1, 0, 0, 0, 0, 1, 0};
    somna_stats_result r;
    assert_int_equal(somna_stats_lmm_ftest(&m, L, 2, &r, NULL), 0);
    assert_close_rel(r.statistic, ex("lmm1_F", "cond", 0), REL_LMM);
    assert_close_rel(r.df, ex("lmm1_F", "cond", 1), 1e-15);
    assert_close_rel(r.df2, ex("lmm1_F", "cond", 2), REL_LMM);
    assert_close_rel(r.p, ex("lmm1_F", "cond", 3), REL_LMM);
    double Lp[4] = {0, 0, 0, 1};
    assert_int_equal(somna_stats_lmm_ftest(&m, Lp, 1, &r, NULL), 0);
    assert_close_rel(r.statistic, ex("lmm1_F", "period", 0), REL_LMM);
    assert_close_rel(r.df2, ex("lmm1_F", "period", 2), REL_LMM);
    assert_close_rel(r.p, ex("lmm1_F", "period", 3), REL_LMM);
    size_t ts[2] = {1, 3}, tq[2] = {2, 1};
    check_kr("m1_kr", &m, ts, tq, 2);
    /* condition 3 - condition 2 */
    double l[4] = {0, -1, 1, 0};
    somna_stats_lmm_coef c;
    assert_int_equal(somna_stats_lmm_contrast(&m, l, 0.95, &c, NULL), 0);
    double want[5] = {c.estimate, c.se, c.df, c.t, c.p};
    for (size_t i = 0; i < 5; i++)
        assert_close_rel(want[i], ex("lmm1_contrast", "c3_c2", i), REL_LMM);
    somna_stats_lmm_free(&m);
}

static void test_lmm_dose_response(void **s)
{
    (void)s;
    size_t n, n2;
    const double *id = data("lmm2_id", &n), *mins = data("lmm2_min", &n2), *y = data("lmm2_y", &n2);
    double X[64 * 2];
    size_t g[64];
    for (size_t i = 0; i < n; i++) {
        X[i * 2] = 1.0;
        X[i * 2 + 1] = mins[i];
        g[i] = (size_t)id[i] - 1;
    }
    somna_stats_lmm m;
    assert_int_equal(somna_stats_lmm_fit(X, y, g, n, 2, 12, 0.95, &m, NULL), 0);
    check_lmm("lmm2", &m);
    size_t ts[1] = {1}, tq[1] = {1};
    check_kr("m2_kr", &m, ts, tq, 1);
    somna_stats_lmm_free(&m);
}

static void lmm_factor_case(const char *c, size_t ngroups, int singular)
{
    char b1[32], b2[32], b3[32];
    snprintf(b1, sizeof b1, "%s_id", c);
    snprintf(b2, sizeof b2, "%s_cond", c);
    snprintf(b3, sizeof b3, "%s_y", c);
    size_t n, n2;
    const double *id = data(b1, &n), *cond = data(b2, &n2), *y = data(b3, &n2);
    double X[64 * 3];
    size_t g[64];
    size_t k = 1;
    for (size_t i = 0; i < n; i++)
        if ((size_t)cond[i] > k)
            k = (size_t)cond[i];
    for (size_t i = 0; i < n; i++) {
        X[i * k] = 1.0;
        for (size_t l = 2; l <= k; l++)
            X[i * k + l - 1] = cond[i] == (double)l;
        g[i] = (size_t)id[i] - 1;
    }
    somna_stats_lmm m;
    assert_int_equal(somna_stats_lmm_fit(X, y, g, n, k, ngroups, 0.95, &m, NULL), 0);
    assert_int_equal(m.singular, singular);
    if (singular) {
        /* R reports exactly 0; compare the rest as usual */
        assert_true(m.tau2 == 0.0);
        for (size_t j = 0; j < m.p; j++) {
            char key[32];
            snprintf(key, sizeof key, "coef%zu", j);
            assert_close_rel(m.coef[j].estimate, ex(c, key, 0), REL_LMM);
            assert_close_rel(m.coef[j].se, ex(c, key, 1), REL_LMM);
            assert_close_rel(m.coef[j].df, ex(c, key, 2), REL_LMM);
            assert_close_rel(m.coef[j].p, ex(c, key, 4), REL_LMM);
        }
        assert_close_rel(m.sigma2, ex(c, "var", 0), REL_LMM);
        assert_close_rel(m.reml_criterion, ex(c, "reml", 0), REL_LMM);
    } else {
        check_lmm(c, &m);
    }
    if (strcmp(c, "lmm3") == 0) {
        size_t ts[1] = {1}, tq[1] = {2};
        check_kr("m3_kr", &m, ts, tq, 1);
        /* balanced: both condition contrasts have df 14, lmerTest returns it */
        double L[2 * 3] = {0, 1, 0, 0, 0, 1};
        somna_stats_result r;
        assert_int_equal(somna_stats_lmm_ftest(&m, L, 2, &r, NULL), 0);
        assert_close_rel(r.statistic, ex("lmm3_F", "cond", 0), REL_LMM);
        assert_close_rel(r.df2, ex("lmm3_F", "cond", 2), REL_LMM);
        assert_close_rel(r.p, ex("lmm3_F", "cond", 3), REL_LMM);
    }
    somna_stats_lmm_free(&m);
}

static void test_lmm_balanced_and_singular(void **s)
{
    (void)s;
    lmm_factor_case("lmm3", 8, 0);
    lmm_factor_case("lmm4", 6, 1);
}

/* Theory, not R: with complete pairs and a positive subject variance the
 * REML random-intercept model reproduces the paired t-test exactly (the
 * condition contrast is within-subject; its t is the paired t, df = n - 1). */
static void test_lmm_equals_paired_t(void **s)
{
    (void)s;
    size_t n;
    const double *a = data("pt1_after", &n), *b = data("pt1_before", &n);
    double X[48], y[24];
    size_t g[24];
    for (size_t i = 0; i < n; i++) {
        X[4 * i] = 1.0;
        X[4 * i + 1] = 0.0;
        X[4 * i + 2] = 1.0;
        X[4 * i + 3] = 1.0;
        y[2 * i] = b[i];
        y[2 * i + 1] = a[i];
        g[2 * i] = g[2 * i + 1] = i;
    }
    somna_stats_lmm m;
    assert_int_equal(somna_stats_lmm_fit(X, y, g, 2 * n, 2, n, 0.95, &m, NULL), 0);
    assert_false(m.singular);
    assert_close_rel(m.coef[1].estimate, ex("pt1_t", "estimate", 0), 1e-10);
    assert_close_rel(m.coef[1].t, ex("pt1_t", "statistic", 0), 1e-8);
    assert_close_rel(m.coef[1].df, (double)n - 1.0, 1e-8);
    assert_close_rel(m.coef[1].p, ex("pt1_t", "p", 0), 1e-8);
    somna_stats_lmm_free(&m);
}

static void test_mann_whitney_large(void **s)
{
    (void)s;
    size_t nx, ny;
    const double *x = data("tg4_x", &nx), *y = data("tg4_y", &ny);
    somna_stats_result r;
    assert_int_equal(somna_stats_mann_whitney(x, nx, y, ny, 0.95, &r, NULL), 0);
    assert_false(r.exact);
    check_htest("tg4_mw", &r, 2);
    same_flat_piece_ranksum(x, nx, y, ny, r.estimate, ex("tg4_mw", "estimate", 0));
}

static void test_two_conditions_within(void **s)
{
    (void)s;
    double Y[2 * 12];
    for (size_t i = 0; i < 12; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "rm2_row%zu", i + 1);
        size_t m;
        const double *row = data(nm, &m);
        assert_int_equal(m, 2);
        Y[i * 2] = row[0];
        Y[i * 2 + 1] = row[1];
    }
    somna_stats_rmanova_result o;
    assert_int_equal(somna_stats_rmanova(Y, 12, 2, &o, NULL), 0);
    assert_close_rel(o.F, ex("rm2", "F", 0), REL);
    assert_close_rel(o.p, ex("rm2", "p", 0), REL);
    assert_close_rel(o.ges, ex("rm2", "ges", 0), REL);
    assert_true(isnan(o.mauchly_W) && isnan(o.mauchly_p));
    assert_close_rel(o.eps_gg, 1.0, 1e-15); /* one contrast: sphericity holds */
    somna_stats_result r;
    assert_int_equal(somna_stats_friedman(Y, 12, 2, &r, NULL), 0);
    check_htest("fr2", &r, 0);
}

static void to_long(const double *v, size_t n, long *t)
{
    for (size_t i = 0; i < n; i++)
        t[i] = (long)v[i];
}

static void test_categorical(void **s)
{
    (void)s;
    size_t n;
    long t[16];
    somna_stats_result r;
    double pe, emin;
    {
        const double *v_ = data("mc2", &n);
        to_long(v_, n, t);
    }
    assert_int_equal(somna_stats_mcnemar(t, 2, 1, &r, &pe, NULL), 0);
    check_htest("mc2", &r, 0);
    assert_close_rel(pe, ex("mc2", "exact_p", 0), REL);
    assert_close_rel(r.ci_low, ex("mc2", "exact_ci", 0), REL);
    assert_close_rel(r.ci_high, ex("mc2", "exact_ci", 1), REL);
    {
        const double *v_ = data("mc3", &n);
        to_long(v_, n, t);
    }
    assert_int_equal(somna_stats_mcnemar(t, 3, 1, &r, &pe, NULL), 0);
    check_htest("mc3", &r, 0);
    {
        const double *v_ = data("ch22", &n);
        to_long(v_, n, t);
    }
    assert_int_equal(somna_stats_chisq(t, 2, 2, 1, &r, &emin, NULL), 0);
    check_htest("ch22", &r, 0);
    assert_close_rel(r.estimate, ex("ch22", "cramer", 0), REL);
    {
        const double *v_ = data("ch23", &n);
        to_long(v_, n, t);
    }
    assert_int_equal(somna_stats_chisq(t, 2, 3, 1, &r, &emin, NULL), 0);
    check_htest("ch23", &r, 0);
    {
        const double *v_ = data("fi", &n);
        to_long(v_, n, t);
    }
    assert_int_equal(somna_stats_fisher_2x2(t, 0.95, &r, NULL), 0);
    assert_close_rel(r.p, ex("fi", "p", 0), REL);
    assert_close_rel(r.estimate, ex("fi", "estimate", 0), REL);
    assert_close_rel(r.ci_low, ex("fi", "ci", 0), REL);
    assert_close_rel(r.ci_high, ex("fi", "ci", 1), REL);
    /* and within R's own uniroot tolerance of fisher.test itself */
    assert_close_rel(r.estimate, ex("fi", "r_fisher", 0), 1e-3);
    /* r x c by enumeration vs R's network algorithm; the 2 x 2 case agrees
     * with the 2 x 2 routine */
    double p22 = r.p;
    assert_int_equal(somna_stats_fisher_rxc(t, 2, 2, &r, NULL), 0);
    assert_close_rel(r.p, p22, 1e-12);
    {
        const double *v_ = data("ch23", &n);
        to_long(v_, n, t);
    }
    assert_int_equal(somna_stats_fisher_rxc(t, 2, 3, &r, NULL), 0);
    assert_close_rel(r.p, ex("fi23", "p", 0), REL);
    {
        const double *v_ = data("fi33", &n);
        to_long(v_, n, t);
    }
    assert_int_equal(somna_stats_fisher_rxc(t, 3, 3, &r, NULL), 0);
    assert_close_rel(r.p, ex("fi33", "p", 0), REL);
}

static void nof1_case(const char *ycol, size_t lag, const char *c)
{
    size_t n, m;
    const double *y = data(ycol, &n), *sv = data("n1_s", &m);
    int sess[32];
    for (size_t i = 0; i < m; i++)
        sess[i] = (int)sv[i];
    somna_stats_nof1_opts o;
    somna_stats_nof1_defaults(&o);
    o.lag = lag;
    o.n_boot = 0;
    somna_stats_nof1_result r;
    assert_int_equal(somna_stats_nof1(y, sess, n, &o, &r, NULL), 0);
    assert_true(r.exact);
    assert_close_rel(r.diff, ex(c, "res", 0), REL);
    assert_close_rel(r.p, ex(c, "res", 1), REL);
    assert_close_rel(r.mean_on, ex(c, "res", 2), REL);
    assert_close_rel(r.mean_off, ex(c, "res", 3), REL);
    assert_int_equal(r.n_perm, (size_t)ex(c, "res", 4));
}

static void test_nof1_exact(void **s)
{
    (void)s;
    nof1_case("n1_y", 1, "n1_lag1");
    nof1_case("n1_y", 2, "n1_lag2");
    nof1_case("n1_ym", 2, "n1_miss");
}

static void test_nof1_monte_carlo_reproducible(void **s)
{
    (void)s;
    size_t n;
    const double *y = data("n1_y", &n), *sv = data("n1_s", &n);
    int sess[32];
    for (size_t i = 0; i < n; i++)
        sess[i] = (int)sv[i];
    somna_stats_nof1_opts o;
    somna_stats_nof1_defaults(&o);
    o.n_perm = 500; /* < 1001 arrangements: Monte Carlo */
    o.seed = 12345;
    somna_stats_nof1_result a, b;
    assert_int_equal(somna_stats_nof1(y, sess, n, &o, &a, NULL), 0);
    assert_int_equal(somna_stats_nof1(y, sess, n, &o, &b, NULL), 0);
    assert_false(a.exact);
    assert_true(a.p == b.p && a.pct_ci_low == b.pct_ci_low && a.pct_ci_high == b.pct_ci_high);
    /* exact p is 1/1001; the Monte Carlo p can only be >= 1/(B+1) */
    assert_true(a.p >= 1.0 / 501.0 && a.p < 0.02);
    /* percent change 100*(16.5/28 - 1) = -41.07 %; the CI must bracket it */
    assert_close_rel(a.pct_change, 100.0 * (16.5 / 28.0 - 1.0), 1e-12);
    assert_true(a.pct_ci_low < a.pct_change && a.pct_change < a.pct_ci_high);
    o.seed = 54321;
    assert_int_equal(somna_stats_nof1(y, sess, n, &o, &b, NULL), 0);
    assert_true(a.pct_ci_low != b.pct_ci_low);
}

static void test_meta(void **s)
{
    (void)s;
    size_t k;
    const double *yi = data("meta_yi", &k), *vi = data("meta_vi", &k);
    const char *cases[] = {"meta_DL", "meta_REML"};
    for (int m = 0; m < 2; m++) {
        somna_stats_meta_result o;
        assert_int_equal(somna_stats_meta(yi, vi, k, m ? SOMNA_STATS_META_REML : SOMNA_STATS_META_DL, 0.95, &o, NULL),
                         0);
        double got[13] = {o.mu, o.se, o.z, o.p, o.ci_low, o.ci_high, o.tau2, o.i2, o.h2, o.q, o.q_p, o.pi_low, o.pi_high};
        for (size_t i = 0; i < 13; i++)
            assert_close_rel(got[i], ex(cases[m], "res", i), REL);
    }
    {
        double y2[2] = {-0.3, 0.1}, v2[2] = {0.02, 0.05};
        somna_stats_meta_result o2;
        assert_int_equal(somna_stats_meta(y2, v2, 2, SOMNA_STATS_META_DL, 0.95, &o2, NULL), 0);
        double got[5] = {o2.mu, o2.se, o2.tau2, o2.i2, o2.q};
        for (size_t i = 0; i < 5; i++)
            assert_close_rel(got[i], ex("meta2_DL", "res", i), REL);
    }
    const double *yh = data("metah_yi", &k), *vh = data("metah_vi", &k);
    somna_stats_meta_result o;
    assert_int_equal(somna_stats_meta(yh, vh, k, SOMNA_STATS_META_REML, 0.95, &o, NULL), 0);
    assert_close_rel(o.mu, ex("metah_REML", "res", 0), REL);
    assert_close_rel(o.se, ex("metah_REML", "res", 1), REL);
    assert_true(o.tau2 == 0.0 && o.i2 == 0.0);
}

static void test_distributions(void **s)
{
    (void)s;
    assert_close_rel(somna_stats_psignrank(10, 12), ex("dist", "psignrank", 0), REL);
    assert_close_rel(somna_stats_psignrank(3, 5), ex("dist", "psignrank", 1), REL);
    assert_close_rel(somna_stats_psignrank(600, 49), ex("dist", "psignrank", 2), REL);
    assert_close_rel(somna_stats_psignrank(0, 2), ex("dist", "psignrank", 3), REL);
    assert_close_rel(somna_stats_pwilcox(20, 9, 12), ex("dist", "pwilcox", 0), REL);
    assert_close_rel(somna_stats_pwilcox(0, 3, 4), ex("dist", "pwilcox", 1), REL);
    assert_close_rel(somna_stats_pwilcox(1200, 49, 49), ex("dist", "pwilcox", 2), REL);
    assert_close_rel(somna_stats_pwilcox(7, 2, 8), ex("dist", "pwilcox", 3), REL);
    double t[5] = {2.1, -0.7, 4.2, 0.5, 12}, df[5] = {11, 5, 30, 2, 20}, nc[5] = {1.3, 0.4, 3.9, -1.2, 10};
    for (size_t i = 0; i < 5; i++)
        assert_close_rel(somna_stats_pnt(t[i], df[i], nc[i]), ex("dist", "pnt", i), 1e-10);
}

/* ---- degenerate inputs: clear errors, NaN results, never garbage ---- */

static void test_degenerate(void **s)
{
    (void)s;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_stats_result r;
    double a[4] = {3, 4, 5, 6}, b[4] = {1, 2, 3, 4};
    /* all differences equal: zero variance */
    assert_int_equal(somna_stats_ttest_paired(a, b, 4, 0.95, &r, &err), SOMNA_E_DATA);
    assert_true(isnan(r.statistic) && isnan(r.p));
    assert_non_null(strstr(err.msg, "zero variance"));
    /* n < 2 */
    assert_int_equal(somna_stats_ttest_paired(a, b, 1, 0.95, &r, &err), SOMNA_E_DATA);
    assert_non_null(strstr(err.msg, "at least 2"));
    /* all values equal in both groups */
    double c[3] = {2, 2, 2};
    assert_int_equal(somna_stats_ttest_two(c, 3, c, 3, 0, 0.95, &r, &err), SOMNA_E_DATA);
    assert_true(isnan(r.p));
    assert_int_equal(somna_stats_mann_whitney(c, 3, c, 3, 0.95, &r, &err), SOMNA_E_DATA);
    /* every difference zero */
    assert_int_equal(somna_stats_wilcoxon_signed(c, c, 3, 0.95, &r, &err), SOMNA_E_DATA);
    assert_non_null(strstr(err.msg, "no non-zero"));
    /* a condition with no data: no complete subject */
    double Y[6] = {1, NAN, 2, 2, NAN, 3};
    somna_stats_rmanova_result o;
    assert_int_equal(somna_stats_rmanova(Y, 3, 2, &o, &err), SOMNA_E_DATA);
    assert_true(isnan(o.F) && isnan(o.p));
    assert_int_equal(somna_stats_friedman(Y, 3, 2, &r, &err), SOMNA_E_DATA);
    /* mixed model with an empty condition column: rank deficient */
    double X[8] = {1, 0, 1, 0, 1, 0, 1, 0}, y[4] = {1, 2, 3, 5};
    size_t g[4] = {0, 0, 1, 1};
    somna_stats_lmm m;
    assert_int_equal(somna_stats_lmm_fit(X, y, g, 4, 2, 2, 0.95, &m, &err), SOMNA_E_DATA);
    assert_non_null(strstr(err.msg, "rank deficient"));
    assert_null(m.coef);
    /* meta with one study; Fisher with an empty row; McNemar without discordant pairs */
    somna_stats_meta_result mo;
    assert_int_equal(somna_stats_meta(a, b, 1, SOMNA_STATS_META_DL, 0.95, &mo, &err), SOMNA_E_DATA);
    assert_true(isnan(mo.mu));
    long t0[4] = {0, 0, 3, 4};
    assert_int_equal(somna_stats_fisher_2x2(t0, 0.95, &r, &err), SOMNA_E_DATA);
    long t1[4] = {5, 0, 0, 7};
    assert_int_equal(somna_stats_mcnemar(t1, 2, 1, &r, NULL, &err), SOMNA_E_DATA);
    /* percent change with a zero reference value: only the mean of ratios is undefined */
    double after[3] = {2, 3, 4}, before[3] = {0, 2, 4}, mr, rm;
    assert_int_equal(somna_stats_percent_change(after, before, 3, &mr, &rm, NULL, &err), SOMNA_E_DATA);
    assert_true(isnan(mr));
    assert_close_rel(rm, 50.0, 1e-15); /* 100 * (9/6 - 1) */
    assert_int_equal(somna_stats_percent_change(after, before, 3, NULL, &rm, NULL, &err), 0);
    /* Friedman when every subject has the same value in all conditions */
    double eq[6] = {4, 4, 4, 7, 7, 7};
    assert_int_equal(somna_stats_friedman(eq, 2, 3, &r, &err), SOMNA_E_DATA);
    assert_non_null(strstr(err.msg, "equal values"));
    assert_true(isnan(r.statistic) && isnan(r.p));
    /* RM-ANOVA when every subject changes identically: residual variance 0 */
    double par[6] = {1, 2, 3, 4, 5, 6};
    assert_int_equal(somna_stats_rmanova(par, 2, 3, &o, &err), SOMNA_E_DATA);
    assert_non_null(strstr(err.msg, "residual variance is zero"));
    /* mixed model with a single participant */
    double Xi[4] = {1, 1, 1, 1}, yi[4] = {1, 2, 4, 3};
    size_t g1[4] = {0, 0, 0, 0};
    assert_int_equal(somna_stats_lmm_fit(Xi, yi, g1, 4, 1, 1, 0.95, &m, &err), SOMNA_E_DATA);
    assert_non_null(strstr(err.msg, "at least 2 participants"));
    /* N-of-1 without any session day */
    double ny[4] = {1, 2, 3, 4};
    int ns[4] = {0, 0, 0, 0};
    somna_stats_nof1_result no;
    assert_int_equal(somna_stats_nof1(ny, ns, 4, NULL, &no, &err), SOMNA_E_DATA);
    assert_true(isnan(no.p));
    /* values whose squares overflow: refused, not turned into Inf/NaN results */
    double huge[3] = {1e300, -1e300, 5}, zero3[3] = {0, 0, 0};
    assert_int_equal(somna_stats_ttest_paired(huge, zero3, 3, 0.95, &r, &err), SOMNA_E_DATA);
    assert_non_null(strstr(err.msg, "too large"));
    assert_true(isnan(r.p));
    /* bad confidence level */
    assert_int_equal(somna_stats_ttest_paired(a, b, 4, 1.5, &r, &err), SOMNA_E_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paired_no_ties_exact),
        cmocka_unit_test(test_paired_ties_zeros),
        cmocka_unit_test(test_paired_n2),
        cmocka_unit_test(test_paired_all_equal),
        cmocka_unit_test(test_wilcoxon_exact_boundary),
        cmocka_unit_test(test_paired_large_normal),
        cmocka_unit_test(test_paired_missing),
        cmocka_unit_test(test_two_groups),
        cmocka_unit_test(test_rmanova),
        cmocka_unit_test(test_pairwise),
        cmocka_unit_test(test_p_adjust),
        cmocka_unit_test(test_lmm_crossover_unbalanced),
        cmocka_unit_test(test_lmm_dose_response),
        cmocka_unit_test(test_lmm_balanced_and_singular),
        cmocka_unit_test(test_lmm_equals_paired_t),
        cmocka_unit_test(test_mann_whitney_large),
        cmocka_unit_test(test_two_conditions_within),
        cmocka_unit_test(test_categorical),
        cmocka_unit_test(test_nof1_exact),
        cmocka_unit_test(test_nof1_monte_carlo_reproducible),
        cmocka_unit_test(test_meta),
        cmocka_unit_test(test_distributions),
        cmocka_unit_test(test_degenerate),
    };
    return cmocka_run_group_tests(tests, load, unload);
}
