/* Rank tests as R's wilcox.test and friedman.test.
 *
 * Wilcoxon signed-rank (Wilcoxon 1945) and rank-sum / Mann-Whitney U
 * (Mann & Whitney 1947): exact null distributions when small and untied,
 * otherwise the normal approximation with tie-corrected variance and
 * continuity correction (Lehmann 1975, ch. 1-4).  Hodges-Lehmann (1963)
 * estimates and Bauer (1972) confidence intervals from Walsh averages or
 * pairwise differences.  Friedman (1937) with the tie correction.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "somna/parse.h"
#include "stats/stats_internal.h"

#define EXACT_LIMIT 50 /* R: exact when n < 50 */

/* ---- normal-approximation statistic as a function of a shift d ---------- */

typedef struct shift_fn {
    const double *x; /* signed rank: the non-zero differences; rank sum: x */
    size_t nx;
    const double *y; /* rank sum only */
    size_t ny;
    int correct;
    double *buf, *rk; /* scratch, nx + ny */
} shift_fn;

/* Standardised signed-rank statistic of x - d (R's W(d) in wilcox.test). */
static double signed_W(const shift_fn *f, double d)
{
    size_t m = 0;
    for (size_t i = 0; i < f->nx; i++) {
        double v = f->x[i] - d;
        if (v != 0.0)
            f->buf[m++] = v;
    }
    double *a = f->buf + f->nx; /* |v| */
    for (size_t i = 0; i < m; i++)
        a[i] = fabs(f->buf[i]);
    double tie;
    if (somna_stats_rank(a, m, f->rk, &tie) < 0)
        return NAN;
    double s = 0.0;
    for (size_t i = 0; i < m; i++)
        if (f->buf[i] > 0)
            s += f->rk[i];
    double nn = (double)m;
    double z = s - nn * (nn + 1) / 4.0;
    double sigma = sqrt(nn * (nn + 1) * (2 * nn + 1) / 24.0 - tie / 48.0);
    double corr = f->correct ? (z > 0 ? 0.5 : (z < 0 ? -0.5 : 0.0)) : 0.0;
    return (z - corr) / sigma;
}

/* Standardised rank-sum statistic of (x - d, y). */
static double ranksum_W(const shift_fn *f, double d)
{
    size_t N = f->nx + f->ny;
    for (size_t i = 0; i < f->nx; i++)
        f->buf[i] = f->x[i] - d;
    for (size_t j = 0; j < f->ny; j++)
        f->buf[f->nx + j] = f->y[j];
    double tie;
    if (somna_stats_rank(f->buf, N, f->rk, &tie) < 0)
        return NAN;
    double s = 0.0;
    for (size_t i = 0; i < f->nx; i++)
        s += f->rk[i];
    double nx = (double)f->nx, ny = (double)f->ny;
    double z = s - nx * (nx + 1) / 2.0 - nx * ny / 2.0;
    double corr = f->correct ? (z > 0 ? 0.5 : (z < 0 ? -0.5 : 0.0)) : 0.0;
    double sigma = sqrt((nx * ny / 12.0) * ((nx + ny + 1) - tie / ((nx + ny) * (nx + ny - 1))));
    return (z - corr) / sigma;
}

/* W(d) is a non-increasing step function of d.  Locate where it crosses zq:
 * the midpoint of the set {d : W(d) == zq} when that set is an interval,
 * else the jump point, to ~1e-12 of the range (R runs uniroot to 1e-4). */
static double step_root(double (*W)(const shift_fn *, double), const shift_fn *f, double lo, double hi,
                        double zq)
{
    double Wlo = W(f, lo) - zq, Whi = W(f, hi) - zq;
    if (Wlo <= 0)
        return lo;
    if (Whi >= 0)
        return hi;
    /* a: last point with W > zq; b: first point with W < zq */
    double a1 = lo, b1 = hi; /* bracket for boundary {W > zq} -> {W <= zq} */
    for (int it = 0; it < 200 && b1 - a1 > 1e-13 * fmax(1.0, fabs(a1) + fabs(b1)); it++) {
        double m = 0.5 * (a1 + b1);
        if (W(f, m) - zq > 0)
            a1 = m;
        else
            b1 = m;
    }
    double a2 = lo, b2 = hi; /* boundary {W >= zq} -> {W < zq} */
    for (int it = 0; it < 200 && b2 - a2 > 1e-13 * fmax(1.0, fabs(a2) + fabs(b2)); it++) {
        double m = 0.5 * (a2 + b2);
        if (W(f, m) - zq >= 0)
            a2 = m;
        else
            b2 = m;
    }
    return 0.25 * (a1 + b1 + a2 + b2);
}

static double sgn_signif2(double v)
{
    /* R's signif(v, 2) for the reported achieved confidence */
    if (v == 0.0 || !isfinite(v))
        return v;
    double e = floor(log10(fabs(v))) - 1.0;
    double f = pow(10.0, e);
    return round(v / f) * f;
}

static double z_upper(double a) { return gsl_cdf_ugaussian_Qinv(a); }
static double z_lower(double a) { return gsl_cdf_ugaussian_Pinv(a); }

static double two_sided_normal_p(double z)
{
    double lo = gsl_cdf_ugaussian_P(z), hi = gsl_cdf_ugaussian_Q(z);
    double p = 2.0 * (lo < hi ? lo : hi);
    return p > 1.0 ? 1.0 : p;
}

/* Normal-approximation CI and estimate shared by both rank tests (R's
 * alpha-doubling when the requested level is out of reach). */
static void approx_ci(double (*W)(const shift_fn *, double), shift_fn *f, double mumin, double mumax,
                      double conf, int signed_test, double median_fallback, somna_stats_result *r)
{
    double Wmin = W(f, mumin), Wmax = W(f, mumax);
    r->conf_level = conf;
    if (!isfinite(Wmin) || !isfinite(Wmax)) {
        /* every observation tied: R reports NaN limits and the midrange */
        r->estimate = (mumin + mumax) / 2.0;
        somna_strlcpy(r->estimate_name, "midrange", sizeof r->estimate_name);
        r->conf_level = 0.0;
        return;
    }
    double alpha = 1.0 - conf;
    if (signed_test) {
        while (alpha < 1.0 && (Wmin - z_upper(alpha / 2) < 0 || Wmax - z_lower(alpha / 2) > 0))
            alpha *= 2.0;
        if (alpha >= 1.0 || 1.0 - conf < alpha * 0.75)
            r->conf_level = 1.0 - fmin(1.0, alpha);
    }
    if (alpha < 1.0) {
        r->ci_low = step_root(W, f, mumin, mumax, z_upper(alpha / 2));
        r->ci_high = step_root(W, f, mumin, mumax, z_lower(alpha / 2));
    } else {
        r->ci_low = r->ci_high = median_fallback;
    }
    f->correct = 0; /* R estimates the location without continuity correction */
    r->estimate = step_root(W, f, mumin, mumax, 0.0);
    f->correct = 1;
}

int somna_stats_wilcoxon_signed(const double *x, const double *y, size_t n, double conf,
                                somna_stats_result *r, somna_err *err)
{
    somna_stats_result_init(r);
    somna_strlcpy(r->test, "Wilcoxon signed rank test", sizeof r->test);
    somna_strlcpy(r->statistic_name, "V", sizeof r->statistic_name);
    somna_strlcpy(r->estimate_name, "(pseudo)median", sizeof r->estimate_name);
    if (somna_stats_check_conf(conf, err))
        return SOMNA_E_ARG;
    size_t cap = n + 1;
    double *d = malloc(cap * sizeof *d), *buf = malloc(2 * cap * sizeof *buf), *rk = malloc(cap * sizeof *rk);
    double *w = NULL;
    int rc = SOMNA_OK;
    if (!d || !buf || !rk) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory for %zu pairs", n);
        goto done;
    }
    size_t m = 0, zeros = 0, complete = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || (y && !isfinite(y[i])))
            continue;
        complete++;
        double v = x[i] - (y ? y[i] : 0.0);
        if (v == 0.0)
            zeros++;
        else
            d[m++] = v;
    }
    r->n_dropped = n - complete;
    r->n_zero = zeros;
    r->n = m;
    if (m == 0) {
        rc = somna_fail(err, SOMNA_E_DATA,
                        "Wilcoxon signed rank test: no non-zero differences among %zu complete pairs", complete);
        goto done;
    }
    for (size_t i = 0; i < m; i++)
        buf[i] = fabs(d[i]);
    double tie;
    int ties = somna_stats_rank(buf, m, rk, &tie);
    if (ties < 0) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        goto done;
    }
    double V = 0.0, nn = (double)m;
    for (size_t i = 0; i < m; i++)
        if (d[i] > 0)
            V += rk[i];
    r->statistic = V;
    double alpha = 1.0 - conf;
    if (m < EXACT_LIMIT && !ties && zeros == 0) {
        r->exact = 1;
        somna_strlcpy(r->method, "exact distribution", sizeof r->method);
        double p = V > nn * (nn + 1) / 4.0 ? somna_stats_signrank_upper(V - 1, m) : somna_stats_psignrank(V, m);
        r->p = fmin(1.0, 2.0 * p);
        size_t nw = m * (m + 1) / 2;
        w = malloc(nw * sizeof *w);
        if (!w) {
            rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory for %zu Walsh averages", nw);
            goto done;
        }
        size_t k = 0;
        for (size_t i = 0; i < m; i++)
            for (size_t j = i; j < m; j++)
                w[k++] = (d[i] + d[j]) / 2.0;
        qsort(w, nw, sizeof *w, somna_stats_cmp_double);
        double qu = somna_stats_qsignrank(alpha / 2.0, m);
        if (qu == 0)
            qu = 1;
        size_t iqu = (size_t)qu, iql = nw - iqu;
        double achieved = 2.0 * somna_stats_psignrank(qu - 1, m);
        r->ci_low = w[iqu - 1];
        r->ci_high = w[iql];
        r->conf_level = achieved - alpha > alpha / 2 ? 1.0 - sgn_signif2(achieved) : conf;
        r->estimate = somna_stats_median_sorted(w, nw);
    } else {
        double z = V - nn * (nn + 1) / 4.0;
        double sigma = sqrt(nn * (nn + 1) * (2 * nn + 1) / 24.0 - tie / 48.0);
        double corr = z > 0 ? 0.5 : (z < 0 ? -0.5 : 0.0);
        r->p = two_sided_normal_p((z - corr) / sigma);
        snprintf(r->method, sizeof r->method, "normal approximation with continuity correction%s%s",
                 ties ? ", tie-corrected variance" : "",
                 zeros ? (m < EXACT_LIMIT ? " (exact impossible: zero differences)" : "")
                       : (ties && m < EXACT_LIMIT ? " (exact impossible: ties)" : ""));
        shift_fn f = {d, m, NULL, 0, 1, buf, rk};
        double mn = d[0], mx = d[0];
        for (size_t i = 1; i < m; i++) {
            mn = fmin(mn, d[i]);
            mx = fmax(mx, d[i]);
        }
        double *s = buf; /* median of the non-zero differences for R's fallback */
        memcpy(s, d, m * sizeof *s);
        qsort(s, m, sizeof *s, somna_stats_cmp_double);
        double med = somna_stats_median_sorted(s, m);
        approx_ci(signed_W, &f, mn, mx, conf, 1, med, r);
    }
done:
    free(d);
    free(buf);
    free(rk);
    free(w);
    return rc;
}

int somna_stats_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, double conf,
                             somna_stats_result *r, somna_err *err)
{
    somna_stats_result_init(r);
    somna_strlcpy(r->test, "Wilcoxon rank sum test (Mann-Whitney U)", sizeof r->test);
    somna_strlcpy(r->statistic_name, "W", sizeof r->statistic_name);
    somna_strlcpy(r->estimate_name, "difference in location", sizeof r->estimate_name);
    if (somna_stats_check_conf(conf, err))
        return SOMNA_E_ARG;
    size_t cap = nx + ny + 1;
    double *a = malloc(cap * sizeof *a), *buf = malloc(cap * sizeof *buf), *rk = malloc(cap * sizeof *rk);
    double *diffs = NULL;
    int rc = SOMNA_OK;
    if (!a || !buf || !rk) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory for %zu values", cap);
        goto done;
    }
    size_t mx = 0, my = 0;
    for (size_t i = 0; i < nx; i++)
        if (isfinite(x[i]))
            a[mx++] = x[i];
    for (size_t j = 0; j < ny; j++)
        if (isfinite(y[j]))
            a[mx + my++] = y[j];
    r->n1 = mx;
    r->n2 = my;
    r->n = mx + my;
    r->n_dropped = nx + ny - mx - my;
    if (mx == 0 || my == 0) {
        rc = somna_fail(err, SOMNA_E_DATA, "Mann-Whitney test: a group has no values (%zu and %zu)", mx, my);
        goto done;
    }
    double tie;
    int ties = somna_stats_rank(a, mx + my, rk, &tie);
    if (ties < 0) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        goto done;
    }
    double fx = (double)mx, fy = (double)my, W = 0.0;
    for (size_t i = 0; i < mx; i++)
        W += rk[i];
    W -= fx * (fx + 1) / 2.0;
    r->statistic = W;
    double alpha = 1.0 - conf;
    if (mx < EXACT_LIMIT && my < EXACT_LIMIT && !ties) {
        r->exact = 1;
        somna_strlcpy(r->method, "exact distribution", sizeof r->method);
        double p = W > fx * fy / 2.0 ? somna_stats_wilcox_upper(W - 1, mx, my) : somna_stats_pwilcox(W, mx, my);
        r->p = fmin(1.0, 2.0 * p);
        size_t nd = mx * my;
        diffs = malloc(nd * sizeof *diffs);
        if (!diffs) {
            rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory for %zu differences", nd);
            goto done;
        }
        size_t k = 0;
        for (size_t i = 0; i < mx; i++)
            for (size_t j = 0; j < my; j++)
                diffs[k++] = a[i] - a[mx + j];
        qsort(diffs, nd, sizeof *diffs, somna_stats_cmp_double);
        double qu = somna_stats_qwilcox(alpha / 2.0, mx, my);
        if (qu == 0)
            qu = 1;
        size_t iqu = (size_t)qu, iql = nd - iqu;
        double achieved = 2.0 * somna_stats_pwilcox(qu - 1, mx, my);
        r->ci_low = diffs[iqu - 1];
        r->ci_high = diffs[iql];
        /* R rounds the achieved level to 2 digits for the signed-rank CI but
         * not for the rank-sum CI */
        r->conf_level = achieved - alpha > alpha / 2 ? 1.0 - achieved : conf;
        r->estimate = somna_stats_median_sorted(diffs, nd);
    } else {
        double z = W - fx * fy / 2.0;
        double sigma = sqrt((fx * fy / 12.0) * ((fx + fy + 1) - tie / ((fx + fy) * (fx + fy - 1))));
        if (!(sigma > 0)) {
            rc = somna_fail(err, SOMNA_E_DATA, "Mann-Whitney test: all %zu values are equal, no ranking possible",
                            mx + my);
            goto done;
        }
        double corr = z > 0 ? 0.5 : (z < 0 ? -0.5 : 0.0);
        r->p = two_sided_normal_p((z - corr) / sigma);
        snprintf(r->method, sizeof r->method, "normal approximation with continuity correction%s",
                 ties ? ", tie-corrected variance" : "");
        double xmin = a[0], xmax = a[0], ymin = a[mx], ymax = a[mx];
        for (size_t i = 0; i < mx; i++) {
            xmin = fmin(xmin, a[i]);
            xmax = fmax(xmax, a[i]);
        }
        for (size_t j = 0; j < my; j++) {
            ymin = fmin(ymin, a[mx + j]);
            ymax = fmax(ymax, a[mx + j]);
        }
        shift_fn f = {a, mx, a + mx, my, 1, buf, rk};
        approx_ci(ranksum_W, &f, xmin - ymax, xmax - ymin, conf, 0, NAN, r);
    }
done:
    free(a);
    free(buf);
    free(rk);
    free(diffs);
    return rc;
}

int somna_stats_friedman(const double *y, size_t n, size_t k, somna_stats_result *r, somna_err *err)
{
    somna_stats_result_init(r);
    somna_strlcpy(r->test, "Friedman rank sum test", sizeof r->test);
    somna_strlcpy(r->statistic_name, "Friedman chi-squared", sizeof r->statistic_name);
    somna_strlcpy(r->estimate_name, "Kendall's W", sizeof r->estimate_name);
    somna_strlcpy(r->method, "chi-squared approximation", sizeof r->method);
    if (k < 2)
        return somna_fail(err, SOMNA_E_DATA, "Friedman test needs at least 2 conditions, have %zu", k);
    double *rk = malloc(k * sizeof *rk), *R = calloc(k, sizeof *R);
    if (!rk || !R) {
        free(rk);
        free(R);
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    }
    size_t used = 0;
    double tie_total = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double *row = y + i * k;
        int ok = 1;
        for (size_t j = 0; j < k; j++)
            if (!isfinite(row[j]))
                ok = 0;
        if (!ok)
            continue;
        double tie;
        if (somna_stats_rank(row, k, rk, &tie) < 0) {
            free(rk);
            free(R);
            return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        }
        tie_total += tie;
        for (size_t j = 0; j < k; j++)
            R[j] += rk[j];
        used++;
    }
    r->n = used;
    r->n_dropped = n - used;
    double fn = (double)used, fk = (double)k;
    double denom = fn * fk * (fk + 1) - tie_total / (fk - 1);
    if (used < 2 || !(denom > 0)) {
        free(rk);
        free(R);
        if (used < 2)
            return somna_fail(err, SOMNA_E_DATA, "Friedman test needs at least 2 complete subjects, have %zu", used);
        return somna_fail(err, SOMNA_E_DATA, "Friedman test: every subject has equal values in all conditions");
    }
    double s = 0.0;
    for (size_t j = 0; j < k; j++) {
        double dd = R[j] - fn * (fk + 1) / 2.0;
        s += dd * dd;
    }
    free(rk);
    free(R);
    r->statistic = 12.0 * s / denom;
    r->df = fk - 1;
    r->p = gsl_cdf_chisq_Q(r->statistic, r->df);
    r->estimate = r->statistic / (fn * (fk - 1)); /* Kendall's W (coefficient of concordance) */
    return SOMNA_OK;
}
