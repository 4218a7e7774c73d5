/* somna — statistics for massage/sleep trials, checked against R 4.2.
 *
 * Every function takes plain C arrays so the study module (and any C caller)
 * can run the tests of a results table without building tables.  Results
 * that cannot be computed are NaN in the structs and the function returns
 * SOMNA_E_DATA with a message saying why (zero variance, n < 2, empty
 * condition ...): a caller never has to guess whether a number is real.
 *
 * Conventions (all as R's stats package unless said otherwise):
 *  - two-sided tests, confidence level `conf` in (0, 1) (0.95 typical);
 *  - paired functions take x (e.g. after / condition B) and y (before /
 *    reference) and analyse d = x - y, like t.test(x, y, paired = TRUE);
 *    pairs where either value is NaN are dropped and counted in n_dropped;
 *  - two-sample functions analyse x - y (x = comparison, y = reference);
 *  - distribution functions come from GSL; exact signed-rank and rank-sum
 *    distributions use the counting recurrences behind R's psignrank/pwilcox.
 *  - GSL's default error handler aborts the process.  The somna CLI turns it
 *    off (gsl_set_error_handler_off) once at start-up; a program embedding
 *    libsomna should do the same, as GSL's manual advises for libraries, so
 *    that an edge case surfaces as NaN + SOMNA_E_DATA rather than abort().
 */
#ifndef SOMNA_STATS_H
#define SOMNA_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "somna/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SOMNA_STATS_NAME_MAX 64
#define SOMNA_STATS_METHOD_MAX 160

/* The result of one hypothesis test with its estimate. */
typedef struct somna_stats_result {
    char test[SOMNA_STATS_NAME_MAX];        /* "paired t-test", "Wilcoxon signed rank test", ... */
    char method[SOMNA_STATS_METHOD_MAX];    /* how p was obtained ("exact", "normal approximation ...") */
    char estimate_name[SOMNA_STATS_NAME_MAX]; /* "mean difference", "(pseudo)median", "odds ratio" ... */
    double estimate;   /* NaN when the test has no estimate */
    double se;         /* standard error of the estimate (t tests) */
    double ci_low, ci_high;
    double conf_level; /* achieved confidence level (exact rank CIs may not reach the requested one) */
    char statistic_name[32]; /* "t", "V", "W", "F", "X-squared", ... */
    double statistic;
    double df, df2;    /* degrees of freedom (NaN when not applicable) */
    double p;          /* two-sided p-value */
    int exact;         /* 1 when p comes from an exact distribution */
    size_t n;          /* observations (pairs, subjects, studies) used */
    size_t n1, n2;     /* group sizes for two-sample tests */
    size_t n_dropped;  /* pairs/observations dropped for missing values */
    size_t n_zero;     /* signed rank: zero differences dropped (R drops them) */
} somna_stats_result;

/* A standardised effect size with its confidence interval. */
typedef struct somna_stats_effect {
    char name[SOMNA_STATS_NAME_MAX];
    double value, ci_low, ci_high;
} somna_stats_effect;

/* Set every number to NaN, names empty. */
void somna_stats_result_init(somna_stats_result *r);

/* ---- two related samples ------------------------------------------------ */

/* Paired t-test on d = x - y: estimate = mean(d), se, t, df = n-1, p, CI.
 * Needs n >= 2 complete pairs and sd(d) > 0.  y may be NULL: one-sample
 * t-test of x against 0. */
int somna_stats_ttest_paired(const double *x, const double *y, size_t n, double conf,
                             somna_stats_result *r, somna_err *err);

/* Wilcoxon signed-rank test on d = x - y (y may be NULL: one sample against 0),
 * exactly as R's wilcox.test(x, y, paired = TRUE, conf.int = TRUE): zero
 * differences dropped; exact distribution when n < 50 without ties/zeros,
 * otherwise normal approximation with continuity and tie correction;
 * Hodges-Lehmann (pseudo)median and CI (exact: Walsh-average order statistics;
 * approximate: the roots of the standardised statistic, located exactly). */
int somna_stats_wilcoxon_signed(const double *x, const double *y, size_t n, double conf,
                                somna_stats_result *r, somna_err *err);

/* Cohen's dz = mean(d)/sd(d) and Hedges' gz = dz * J(n-1) (J the exact
 * small-sample factor, Hedges 1981), CIs by inverting the noncentral t
 * distribution of t = dz*sqrt(n) (Steiger & Fouladi 1997); gz's CI is dz's
 * scaled by J.  Either output may be NULL. */
int somna_stats_cohen_dz(const double *x, const double *y, size_t n, double conf,
                         somna_stats_effect *dz, somna_stats_effect *gz, somna_err *err);

/* Percent change from y (before/reference) to x (after), two definitions:
 * mean of ratios 100*mean(x_i/y_i - 1) and ratio of means
 * 100*(mean(x)/mean(y) - 1).  Needs every y_i != 0 (mean of ratios) and
 * mean(y) != 0.  Either output may be NULL (a zero reference value is
 * then no error when mean_of_ratios is NULL).  When only the mean of ratios
 * is undefined the function fails with SOMNA_E_DATA but *ratio_of_means is
 * still set. */
int somna_stats_percent_change(const double *x, const double *y, size_t n,
                               double *mean_of_ratios, double *ratio_of_means, size_t *n_used,
                               somna_err *err);

/* ---- two independent samples -------------------------------------------- */

/* Welch (var_equal = 0) or Student (var_equal = 1) t-test of x - y.
 * NaN values are dropped. */
int somna_stats_ttest_two(const double *x, size_t nx, const double *y, size_t ny, int var_equal,
                          double conf, somna_stats_result *r, somna_err *err);

/* Mann-Whitney U (Wilcoxon rank-sum) as R's wilcox.test(x, y, conf.int = TRUE):
 * statistic W = rank sum of x - nx(nx+1)/2; exact when nx, ny < 50 and no
 * ties, else normal with continuity and tie correction; Hodges-Lehmann
 * difference in location and CI. */
int somna_stats_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, double conf,
                             somna_stats_result *r, somna_err *err);

/* Cohen's d (pooled SD) and Hedges' g = d*J(nx+ny-2), CIs from the
 * noncentral t of t = d*sqrt(nx*ny/(nx+ny)).  Either output may be NULL. */
int somna_stats_cohen_d(const double *x, size_t nx, const double *y, size_t ny, double conf,
                        somna_stats_effect *d, somna_stats_effect *g, somna_err *err);

/* ---- k related samples --------------------------------------------------- */

/* One-way repeated-measures ANOVA on an n x k row-major matrix (subjects x
 * conditions); subjects with any NaN are dropped (complete cases, as aov
 * with Error(subject/condition) on balanced data). */
typedef struct somna_stats_rmanova_result {
    size_t n_subjects, k, n_dropped;
    double ss_condition, ss_subject, ss_error;
    double df1, df2, F, p;
    double ges;               /* generalized eta squared (Olejnik & Algina 2003) */
    double mauchly_W, mauchly_p; /* NaN when k = 2 (sphericity holds trivially) */
    double eps_gg, eps_hf;    /* Greenhouse-Geisser, Huynh-Feldt (HF may exceed 1) */
    double p_gg, p_hf;        /* p with df scaled by eps_gg, min(eps_hf, 1) */
} somna_stats_rmanova_result;

int somna_stats_rmanova(const double *y, size_t n, size_t k, somna_stats_rmanova_result *out, somna_err *err);

/* Friedman rank-sum test (R friedman.test) on an n x k matrix; incomplete
 * subjects are dropped. */
int somna_stats_friedman(const double *y, size_t n, size_t k, somna_stats_result *r, somna_err *err);

/* Multiple-comparison adjustment (R p.adjust). */
typedef enum somna_stats_padjust {
    SOMNA_STATS_PADJ_NONE = 0,
    SOMNA_STATS_PADJ_HOLM,
    SOMNA_STATS_PADJ_BH,
    SOMNA_STATS_PADJ_BONFERRONI
} somna_stats_padjust;

/* out[i] = adjusted p[i]; NaN entries are left NaN and not counted. out may alias p. */
int somna_stats_p_adjust(const double *p, size_t n, somna_stats_padjust method, double *out,
                         somna_err *err);

/* All k(k-1)/2 pairwise paired comparisons of the columns of an n x k
 * matrix (pairs with NaN dropped per comparison); pairs are ordered
 * (0,1), (0,2), ..., (1,2), ...; each result compares column b - column a.
 * p_holm / p_bh are adjusted over the family (NaN where a test failed). */
typedef enum somna_stats_pair_test { SOMNA_STATS_PAIR_T = 0, SOMNA_STATS_PAIR_WILCOXON } somna_stats_pair_test;

typedef struct somna_stats_pair {
    size_t a, b;
    somna_stats_result r;
    double p_holm, p_bh;
    int ok;                   /* 0 when this comparison could not be computed */
    char why[SOMNA_ERR_MSG_MAX];
} somna_stats_pair;

int somna_stats_pairwise(const double *y, size_t n, size_t k, somna_stats_pair_test test, double conf,
                         somna_stats_pair *pairs, somna_err *err);

/* ---- linear mixed model: y = X b + u[group] + e, u ~ N(0, tau2), e ~ N(0, sigma2) */

typedef struct somna_stats_lmm_coef {
    double estimate, se, df, t, p, ci_low, ci_high; /* df: Satterthwaite (as lmerTest) */
} somna_stats_lmm_coef;

typedef struct somna_stats_lmm {
    size_t n_obs, n_groups, p;
    double sigma2;            /* residual variance */
    double tau2;              /* random-intercept variance */
    double reml_criterion;    /* -2 * REML log-likelihood, as lme4's REMLcrit() */
    int singular;             /* tau2 estimated at 0 (boundary fit) */
    somna_stats_lmm_coef *coef; /* p entries, in column order of X */
    /* internal, for contrasts and F tests after the fit: */
    double *vcov_;             /* p x p covariance of the estimates */
    double *dvcov_;            /* 2 x p x p: its derivatives in (theta, sigma) */
    double avar_[4];           /* asymptotic covariance of (theta, sigma) */
    double *kr_vcov_;          /* p x p Kenward-Roger adjusted covariance */
    double *kr_P_;             /* 2 x p x p: KR's P_i matrices */
    double kr_W_[4];           /* KR's W (covariance of the variance components) */
} somna_stats_lmm;

/* Fit by REML (Patterson & Thompson 1971) profiling the variance ratio
 * (Bates et al. 2015, lme4); Satterthwaite df from the observed Hessian of
 * the REML deviance in lme4's (theta, sigma) parameters, as lmerTest
 * (Kuznetsova et al. 2017).  X is n x p row-major (include the intercept
 * column), group[i] in 0..n_groups-1.  CI = estimate -/+ t(df) * se.
 * Free with somna_stats_lmm_free. */
int somna_stats_lmm_fit(const double *X, const double *y, const size_t *group, size_t n, size_t p,
                        size_t n_groups, double conf, somna_stats_lmm *m, somna_err *err);
void somna_stats_lmm_free(somna_stats_lmm *m);

/* Estimate, SE, Satterthwaite df, t, p and CI of the contrast l'b (l has p
 * entries), e.g. the difference between two non-reference conditions. */
int somna_stats_lmm_contrast(const somna_stats_lmm *m, const double *l, double conf, somna_stats_lmm_coef *out,
                             somna_err *err);

/* Joint F test of L b = 0 (L is q x p row-major, e.g. every dummy of a
 * factor): F, df = q, df2 by Satterthwaite's method for multi-df contrasts
 * (Fai & Cornelius 1996), as lmerTest's anova(); r->statistic = F. */
int somna_stats_lmm_ftest(const somna_stats_lmm *m, const double *L, size_t q, somna_stats_result *r,
                          somna_err *err);

/* The same with Kenward & Roger (1997) small-sample inference, as
 * pbkrtest / lmerTest(ddf = "Kenward-Roger"): the adjusted covariance for
 * SEs and the scaled F with its approximate denominator df. */
int somna_stats_lmm_contrast_kr(const somna_stats_lmm *m, const double *l, double conf, somna_stats_lmm_coef *out,
                                somna_err *err);
int somna_stats_lmm_ftest_kr(const somna_stats_lmm *m, const double *L, size_t q, somna_stats_result *r,
                             somna_err *err);

/* ---- categorical --------------------------------------------------------- */

/* McNemar (R mcnemar.test) on a k x k row-major table of counts (rows =
 * before, cols = after); Yates correction for 2 x 2 when `correct`.  For
 * 2 x 2 also the exact p (binomial test of b vs c), in *p_exact (may be NULL;
 * NaN for k > 2), and the odds ratio b/c with its 95 % Clopper-Pearson CI. */
int somna_stats_mcnemar(const long *table, size_t k, int correct, somna_stats_result *r, double *p_exact,
                        somna_err *err);

/* Pearson chi-square test of independence (R chisq.test) on an r x c
 * table; Yates correction for 2 x 2 when `correct`.  *min_expected (may be
 * NULL) receives the smallest expected count (< 5: approximation doubtful). */
int somna_stats_chisq(const long *table, size_t nr, size_t nc, int correct, somna_stats_result *r,
                      double *min_expected, somna_err *err);

/* Fisher's exact test on a 2 x 2 table {a, b, c, d} (R fisher.test):
 * two-sided p (sum of tables no more probable), conditional MLE odds ratio
 * and its exact CI. */
int somna_stats_fisher_2x2(const long table[4], double conf, somna_stats_result *r, somna_err *err);

/* Fisher's exact test (Freeman-Halton) on an r x c table: p = probability
 * of all tables with the same margins that are no more probable than the
 * observed one (R's fisher.test for r x c).  Tables are enumerated: fails
 * with SOMNA_E_UNSUPPORTED beyond 1e8 tables. */
int somna_stats_fisher_rxc(const long *table, size_t nr, size_t nc, somna_stats_result *r, somna_err *err);

/* ---- N-of-1 randomization test ------------------------------------------- */

typedef struct somna_stats_nof1_opts {
    size_t lag;        /* nights affected by a session: the session night and lag-1 after (default 1) */
    size_t n_perm;     /* permutations; all arrangements are enumerated when there are no more */
    size_t n_boot;     /* bootstrap resamples for the percent-change CI (0 = none) */
    uint64_t seed;     /* RNG seed (MT19937): same seed, same answer */
    double conf;
} somna_stats_nof1_opts;

typedef struct somna_stats_nof1_result {
    size_t n_nights, n_on, n_off, n_sessions;
    double mean_on, mean_off, diff; /* diff = mean_on - mean_off */
    double p;                       /* two-sided randomization p */
    int exact;                      /* 1 = all arrangements enumerated */
    size_t n_perm;                  /* arrangements evaluated */
    double pct_change;              /* 100 * (mean_on / mean_off - 1) */
    double pct_ci_low, pct_ci_high; /* percentile bootstrap CI (NaN without n_boot) */
} somna_stats_nof1_result;

void somna_stats_nof1_defaults(somna_stats_nof1_opts *o);

/* y[i]: outcome of night i (NaN = missing night), session[i]: 1 if a session
 * took place on day i.  Night i is "on" when a session happened on day
 * i-j for some 0 <= j < lag.  The test re-randomizes which days had the
 * sessions (Edgington & Onghena 2007); p counts arrangements with
 * |diff| >= observed (exact) or (1 + count)/(1 + n_perm) (Monte Carlo,
 * Phipson & Smyth 2010). */
int somna_stats_nof1(const double *y, const int *session, size_t n, const somna_stats_nof1_opts *o,
                     somna_stats_nof1_result *out, somna_err *err);

/* ---- random-effects meta-analysis --------------------------------------- */

typedef enum somna_stats_meta_method { SOMNA_STATS_META_DL = 0, SOMNA_STATS_META_REML } somna_stats_meta_method;

typedef struct somna_stats_meta_result {
    size_t k;
    double mu, se, z, p, ci_low, ci_high;
    double tau2, tau, i2, h2;      /* i2 in percent, as metafor */
    double q, q_df, q_p;           /* Cochran's Q test of heterogeneity */
    double pi_low, pi_high;        /* prediction interval mu -/+ z * sqrt(se^2 + tau2) (metafor) */
    int iterations;
} somna_stats_meta_result;

/* DerSimonian & Laird (1986) or REML (Viechtbauer 2005) estimate of tau^2;
 * pooled effect with z-based CI (metafor's rma defaults). */
int somna_stats_meta(const double *yi, const double *vi, size_t k, somna_stats_meta_method method,
                     double conf, somna_stats_meta_result *out, somna_err *err);

/* ---- distributions (exposed for tests and other modules) ----------------- */

/* P(V <= q) for the Wilcoxon signed-rank statistic with n (<= 1000) ranks. */
double somna_stats_psignrank(double q, size_t n);
/* P(W <= q) for the rank-sum statistic with sizes m, n. */
double somna_stats_pwilcox(double q, size_t m, size_t n);
/* P(T <= t) for the noncentral t with df > 0 and noncentrality ncp. */
double somna_stats_pnt(double t, double df, double ncp);

#ifdef __cplusplus
}
#endif
#endif
