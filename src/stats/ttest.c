/* t-tests and standardised mean differences.
 *
 * Paired / Welch / Student t as R's t.test (Student 1908; Welch 1947 with
 * the Welch-Satterthwaite df).  Cohen's d / dz with CIs by inverting the
 * noncentral t (Steiger & Fouladi 1997); Hedges' g uses the exact
 * small-sample factor J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))
 * (Hedges 1981), as R's effectsize package.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sf_gamma.h>

#include "somna/parse.h"
#include "stats/stats_internal.h"

static double t_two_sided_p(double t, double df)
{
    return 2.0 * gsl_cdf_tdist_Q(fabs(t), df);
}

/* Fill the common part of a t-test result: estimate with its SE, t on df,
 * two-sided p and the conf-level interval estimate -/+ t_q * SE. */
static void set_t_result(somna_stats_result *r, const char *estimate_name, double estimate, double se, double df,
                         double conf)
{
    double t = estimate / se, q = gsl_cdf_tdist_Qinv((1.0 - conf) / 2.0, df);
    somna_strlcpy(r->estimate_name, estimate_name, sizeof r->estimate_name);
    somna_strlcpy(r->statistic_name, "t", sizeof r->statistic_name);
    somna_strlcpy(r->method, "t distribution", sizeof r->method);
    r->estimate = estimate;
    r->se = se;
    r->statistic = t;
    r->df = df;
    r->p = t_two_sided_p(t, df);
    r->ci_low = estimate - q * se;
    r->ci_high = estimate + q * se;
    r->conf_level = conf;
}

static double hedges_j(double m)
{
    return exp(gsl_sf_lngamma(m / 2.0) - 0.5 * log(m / 2.0) - gsl_sf_lngamma((m - 1.0) / 2.0));
}

/* differences of complete pairs into a new array (caller frees) */
static double *paired_diffs(const double *x, const double *y, size_t n, size_t *m, size_t *dropped,
                            somna_err *err)
{
    double *d = malloc((n ? n : 1) * sizeof *d);
    if (!d) {
        somna_fail(err, SOMNA_E_NOMEM, "out of memory for %zu pairs", n);
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || (y && !isfinite(y[i])))
            continue;
        d[k++] = x[i] - (y ? y[i] : 0.0);
    }
    *m = k;
    *dropped = n - k;
    return d;
}

int somna_stats_ttest_paired(const double *x, const double *y, size_t n, double conf,
                             somna_stats_result *r, somna_err *err)
{
    somna_stats_result_init(r);
    somna_strlcpy(r->test, "paired t-test", sizeof r->test);
    if (somna_stats_check_conf(conf, err))
        return SOMNA_E_ARG;
    if (somna_stats_check_range(x, n, "x", err) || (y && somna_stats_check_range(y, n, "y", err)))
        return SOMNA_E_DATA;
    size_t m, dropped;
    double *d = paired_diffs(x, y, n, &m, &dropped, err);
    if (!d)
        return SOMNA_E_NOMEM;
    r->n = m;
    r->n_dropped = dropped;
    if (m < 2) {
        free(d);
        return somna_fail(err, SOMNA_E_DATA, "paired t-test needs at least 2 complete pairs, have %zu", m);
    }
    double mean = somna_stats_mean(d, m);
    double var = somna_stats_var(d, m, mean);
    free(d);
    double se = sqrt(var / (double)m);
    /* R refuses "data are essentially constant" when se < 10 eps |mean| */
    if (!(se > 10 * 2.220446049250313e-16 * fabs(mean)) || se == 0.0)
        return somna_fail(err, SOMNA_E_DATA,
                          "paired t-test: the %zu differences are all equal (%g): zero variance, t undefined",
                          m, mean);
    double df = (double)m - 1.0;
    set_t_result(r, "mean difference", mean, se, df, conf);
    return SOMNA_OK;
}

static size_t finite_copy(const double *x, size_t n, double *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]))
            out[k++] = x[i];
    return k;
}

int somna_stats_ttest_two(const double *x, size_t nx, const double *y, size_t ny, int var_equal,
                          double conf, somna_stats_result *r, somna_err *err)
{
    somna_stats_result_init(r);
    somna_strlcpy(r->test, var_equal ? "two-sample t-test" : "Welch two-sample t-test", sizeof r->test);
    if (somna_stats_check_conf(conf, err))
        return SOMNA_E_ARG;
    if (somna_stats_check_range(x, nx, "x", err) || somna_stats_check_range(y, ny, "y", err))
        return SOMNA_E_DATA;
    double *a = malloc((nx + ny + 1) * sizeof *a);
    if (!a)
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory for %zu values", nx + ny);
    size_t mx = finite_copy(x, nx, a), my = finite_copy(y, ny, a + mx);
    r->n1 = mx;
    r->n2 = my;
    r->n = mx + my;
    r->n_dropped = (nx - mx) + (ny - my);
    if (mx < 2 || my < 2 || (var_equal && mx + my < 3)) {
        free(a);
        return somna_fail(err, SOMNA_E_DATA, "%s needs at least 2 values per group, have %zu and %zu", r->test,
                          mx, my);
    }
    double m1 = somna_stats_mean(a, mx), m2 = somna_stats_mean(a + mx, my);
    double v1 = somna_stats_var(a, mx, m1), v2 = somna_stats_var(a + mx, my, m2);
    free(a);
    double se, df;
    if (var_equal) {
        df = (double)(mx + my) - 2.0;
        double vp = ((double)(mx - 1) * v1 + (double)(my - 1) * v2) / df;
        se = sqrt(vp * (1.0 / (double)mx + 1.0 / (double)my));
    } else {
        double s1 = v1 / (double)mx, s2 = v2 / (double)my;
        se = sqrt(s1 + s2);
        df = (s1 + s2) * (s1 + s2) / (s1 * s1 / (double)(mx - 1) + s2 * s2 / (double)(my - 1));
    }
    double diff = m1 - m2;
    if (!(se > 10 * 2.220446049250313e-16 * fmax(fabs(m1), fabs(m2))) || se == 0.0)
        return somna_fail(err, SOMNA_E_DATA, "%s: both groups have zero variance (all values equal): t undefined",
                          r->test);
    set_t_result(r, "difference in means", diff, se, df, conf);
    return SOMNA_OK;
}

static void set_effect(somna_stats_effect *e, const char *name, double v, double lo, double hi)
{
    if (!e)
        return;
    somna_strlcpy(e->name, name, sizeof e->name);
    e->value = v;
    e->ci_low = lo;
    e->ci_high = hi;
}

int somna_stats_cohen_dz(const double *x, const double *y, size_t n, double conf,
                         somna_stats_effect *dz, somna_stats_effect *gz, somna_err *err)
{
    set_effect(dz, "Cohen's dz", NAN, NAN, NAN);
    set_effect(gz, "Hedges' gz", NAN, NAN, NAN);
    if (somna_stats_check_conf(conf, err))
        return SOMNA_E_ARG;
    if (somna_stats_check_range(x, n, "x", err) || (y && somna_stats_check_range(y, n, "y", err)))
        return SOMNA_E_DATA;
    size_t m, dropped;
    double *d = paired_diffs(x, y, n, &m, &dropped, err);
    if (!d)
        return SOMNA_E_NOMEM;
    if (m < 3) {
        free(d);
        return somna_fail(err, SOMNA_E_DATA, "Cohen's dz needs at least 3 complete pairs, have %zu", m);
    }
    double mean = somna_stats_mean(d, m), sd = sqrt(somna_stats_var(d, m, somna_stats_mean(d, m)));
    free(d);
    if (!(sd > 0))
        return somna_fail(err, SOMNA_E_DATA, "Cohen's dz: the differences have zero variance");
    double v = mean / sd, sn = sqrt((double)m), lo, hi;
    if (somna_stats_nct_ci(v * sn, (double)m - 1.0, conf, &lo, &hi))
        return somna_fail(err, SOMNA_E_DATA, "Cohen's dz: confidence interval not computable");
    double J = hedges_j((double)m - 1.0);
    set_effect(dz, "Cohen's dz", v, lo / sn, hi / sn);
    set_effect(gz, "Hedges' gz", v * J, lo / sn * J, hi / sn * J);
    return SOMNA_OK;
}

int somna_stats_cohen_d(const double *x, size_t nx, const double *y, size_t ny, double conf,
                        somna_stats_effect *d, somna_stats_effect *g, somna_err *err)
{
    set_effect(d, "Cohen's d", NAN, NAN, NAN);
    set_effect(g, "Hedges' g", NAN, NAN, NAN);
    if (somna_stats_check_conf(conf, err))
        return SOMNA_E_ARG;
    if (somna_stats_check_range(x, nx, "x", err) || somna_stats_check_range(y, ny, "y", err))
        return SOMNA_E_DATA;
    double *a = malloc((nx + ny + 1) * sizeof *a);
    if (!a)
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    size_t mx = finite_copy(x, nx, a), my = finite_copy(y, ny, a + mx);
    if (mx < 2 || my < 2) {
        free(a);
        return somna_fail(err, SOMNA_E_DATA, "Cohen's d needs at least 2 values per group, have %zu and %zu", mx,
                          my);
    }
    double m1 = somna_stats_mean(a, mx), m2 = somna_stats_mean(a + mx, my);
    double v1 = somna_stats_var(a, mx, m1), v2 = somna_stats_var(a + mx, my, m2);
    free(a);
    double df = (double)(mx + my) - 2.0;
    double sp = sqrt(((double)(mx - 1) * v1 + (double)(my - 1) * v2) / df);
    if (!(sp > 0))
        return somna_fail(err, SOMNA_E_DATA, "Cohen's d: pooled standard deviation is zero");
    double v = (m1 - m2) / sp, f = sqrt((double)mx * (double)my / (double)(mx + my)), lo, hi;
    if (somna_stats_nct_ci(v * f, df, conf, &lo, &hi))
        return somna_fail(err, SOMNA_E_DATA, "Cohen's d: confidence interval not computable");
    double J = hedges_j(df);
    set_effect(d, "Cohen's d", v, lo / f, hi / f);
    set_effect(g, "Hedges' g", v * J, lo / f * J, hi / f * J);
    return SOMNA_OK;
}

int somna_stats_percent_change(const double *x, const double *y, size_t n, double *mean_of_ratios,
                               double *ratio_of_means, size_t *n_used, somna_err *err)
{
    if (mean_of_ratios)
        *mean_of_ratios = NAN;
    if (ratio_of_means)
        *ratio_of_means = NAN;
    double sx = 0, sy = 0, sr = 0;
    size_t m = 0, zero = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            continue;
        m++;
        sx += x[i];
        sy += y[i];
        if (y[i] == 0.0)
            zero++;
        else
            sr += x[i] / y[i] - 1.0;
    }
    if (n_used)
        *n_used = m;
    if (m == 0)
        return somna_fail(err, SOMNA_E_DATA, "percent change: no complete pairs");
    if (sy == 0.0)
        return somna_fail(err, SOMNA_E_DATA, "percent change: the reference mean is 0, change undefined");
    if (ratio_of_means)
        *ratio_of_means = 100.0 * (sx / sy - 1.0);
    if (zero && mean_of_ratios) /* only an error when the caller asked for it */
        return somna_fail(err, SOMNA_E_DATA,
                          "percent change: %zu reference value(s) are 0, mean of ratios undefined", zero);
    if (mean_of_ratios)
        *mean_of_ratios = 100.0 * sr / (double)m;
    return SOMNA_OK;
}
