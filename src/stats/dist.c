/* Distributions not in GSL: exact Wilcoxon signed-rank and rank-sum laws
 * and the noncentral t.
 *
 * Signed rank: the number of subsets of {1..n} with sum v is built by the
 * subset-sum recurrence c_n(v) = c_{n-1}(v) + c_{n-1}(v - n) (Wilcoxon 1945;
 * the recurrence R's csignrank uses).  Rank sum: the number of arrangements
 * with Mann-Whitney count u obeys f_{m,n}(u) = f_{m-1,n}(u - n) + f_{m,n-1}(u)
 * (Mann & Whitney 1947).  Both only add non-negative numbers, so tails are
 * accurate to rounding; tails are summed directly rather than as 1 - cdf.
 * Noncentral t: Poisson mixture of incomplete beta functions (Guenther 1978,
 * Lenth 1989 AS 243) with GSL's regularized incomplete beta.
 */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_gamma.h>

#include "stats/stats_internal.h"

#define SIGNRANK_MAX_N 1000

/* counts c[0..n(n+1)/2]; caller frees. */
static double *signrank_counts(size_t n, size_t *len)
{
    size_t top = n * (n + 1) / 2;
    double *c = calloc(top + 1, sizeof *c);
    if (!c)
        return NULL;
    c[0] = 1.0;
    size_t cur = 0;
    for (size_t i = 1; i <= n; i++) {
        cur += i;
        for (size_t v = cur; v >= i; v--) {
            c[v] += c[v - i];
            if (v == i)
                break;
        }
    }
    *len = top + 1;
    return c;
}

/* tail = 0: P(V <= q); tail = 1: P(V > q). */
static double signrank_tail(double q, size_t n, int upper)
{
    if (n > SIGNRANK_MAX_N)
        return NAN;
    double top = (double)(n * (n + 1) / 2);
    q = floor(q + 1e-7);
    if (q < 0)
        return upper ? 1.0 : 0.0;
    if (q >= top)
        return upper ? 0.0 : 1.0;
    size_t len;
    double *c = signrank_counts(n, &len);
    if (!c)
        return NAN;
    double s = 0.0;
    size_t qi = (size_t)q;
    if (!upper)
        for (size_t v = 0; v <= qi; v++)
            s += c[v];
    else
        for (size_t v = qi + 1; v < len; v++)
            s += c[v];
    free(c);
    return ldexp(s, -(int)n);
}

double somna_stats_psignrank(double q, size_t n) { return signrank_tail(q, n, 0); }

double somna_stats_signrank_upper(double q, size_t n) { return signrank_tail(q, n, 1); }

double somna_stats_qsignrank(double p, size_t n)
{
    size_t len;
    double *c = signrank_counts(n, &len);
    if (!c)
        return NAN;
    double f = ldexp(1.0, -(int)n), acc = 0.0;
    p -= 10 * 2.220446049250313e-16; /* R's guard against rounding at exact steps */
    size_t q = 0;
    for (; q < len; q++) {
        acc += c[q] * f;
        if (acc >= p)
            break;
    }
    free(c);
    return (double)q;
}

/* f[u] for u = 0..m*n: number of arrangements with Mann-Whitney count u
 * (x group of size m above y values).  Caller frees. */
static double *wilcox_counts(size_t m, size_t n, size_t *len)
{
    size_t L = m * n + 1;
    double *f = calloc((m + 1) * L, sizeof *f);
    if (!f)
        return NULL;
    for (size_t i = 0; i <= m; i++)
        f[i * L] = 1.0; /* f_{i,0}(0) = 1 */
    for (size_t j = 1; j <= n; j++) {
        for (size_t i = 1; i <= m; i++) {
            double *fi = f + i * L, *fp = f + (i - 1) * L;
            size_t umax = i * j;
            for (size_t u = umax + 1; u-- > j;)
                fi[u] += fp[u - j];
        }
    }
    double *out = malloc(L * sizeof *out);
    if (out)
        for (size_t u = 0; u < L; u++)
            out[u] = f[m * L + u];
    free(f);
    *len = L;
    return out;
}

static double wilcox_tail(double q, size_t m, size_t n, int upper, double *qout, double pq)
{
    size_t len;
    double *f = wilcox_counts(m, n, &len);
    if (!f)
        return NAN;
    /* total = choose(m+n, n) */
    double total = 0.0;
    for (size_t u = 0; u < len; u++)
        total += f[u];
    double res = NAN;
    if (qout) {
        /* quantile: smallest q with P(W <= q) >= pq */
        double acc = 0.0;
        pq -= 10 * 2.220446049250313e-16;
        size_t u = 0;
        for (; u < len; u++) {
            acc += f[u] / total;
            if (acc >= pq)
                break;
        }
        *qout = (double)u;
    } else {
        q = floor(q + 1e-7);
        if (q < 0)
            res = upper ? 1.0 : 0.0;
        else if (q >= (double)(len - 1))
            res = upper ? 0.0 : 1.0;
        else {
            size_t qi = (size_t)q;
            double s = 0.0;
            if (!upper)
                for (size_t u = 0; u <= qi; u++)
                    s += f[u];
            else
                for (size_t u = qi + 1; u < len; u++)
                    s += f[u];
            res = s / total;
        }
    }
    free(f);
    return res;
}

double somna_stats_pwilcox(double q, size_t m, size_t n) { return wilcox_tail(q, m, n, 0, NULL, 0); }

double somna_stats_wilcox_upper(double q, size_t m, size_t n) { return wilcox_tail(q, m, n, 1, NULL, 0); }

double somna_stats_qwilcox(double p, size_t m, size_t n)
{
    double q = NAN;
    wilcox_tail(0, m, n, 0, &q, p);
    return q;
}

/* Regularized incomplete beta without GSL's error handler: for the tiny
 * series terms, underflow is an expected outcome (the term is 0), not an
 * error that may abort the host program. */
static double beta_inc_quiet(double a, double b, double x)
{
    gsl_sf_result r;
    int status = gsl_sf_beta_inc_e(a, b, x, &r);
    if (status == GSL_SUCCESS)
        return r.val;
    return status == GSL_EUNDRFLW ? 0.0 : NAN;
}

/* P(T <= t) for t >= 0 by the Poisson-mixture series. */
static double pnt_nonneg(double t, double df, double delta)
{
    double x = t * t / (t * t + df);
    double lambda = delta * delta / 2.0;
    double sum = gsl_cdf_ugaussian_P(-delta);
    if (x <= 0.0)
        return sum;
    double s = 0.0;
    double jmax = lambda + 60.0 * sqrt(lambda) + 80.0;
    for (double j = 0; j <= jmax; j += 1.0) {
        /* Poisson(lambda) weight of term j in log form; lambda = 0 leaves j = 0 only */
        double lp = lambda > 0 ? -lambda + j * log(lambda) : 0.0;
        double pj = exp(lp - gsl_sf_lngamma(j + 1.0));
        double qj = delta / M_SQRT2 * exp(lp - gsl_sf_lngamma(j + 1.5));
        double term = pj * beta_inc_quiet(j + 0.5, df / 2.0, x) + qj * beta_inc_quiet(j + 1.0, df / 2.0, x);
        s += term;
        if (lambda == 0.0 || (j > lambda && fabs(term) < 1e-17 * fabs(s)))
            break;
    }
    return sum + s / 2.0;
}

double somna_stats_pnt(double t, double df, double ncp)
{
    if (!(df > 0) || !isfinite(t) || !isfinite(ncp))
        return NAN;
    if (t >= 0)
        return pnt_nonneg(t, df, ncp);
    return 1.0 - pnt_nonneg(-t, df, -ncp);
}

/* Solve pnt(t, df, ncp) = target for ncp; pnt decreases in ncp. */
static double solve_ncp(double t, double df, double target)
{
    double lo = t - 10.0, hi = t + 10.0;
    while (somna_stats_pnt(t, df, lo) < target)
        lo -= 10.0 + fabs(lo);
    while (somna_stats_pnt(t, df, hi) > target)
        hi += 10.0 + fabs(hi);
    for (int it = 0; it < 200; it++) {
        double mid = 0.5 * (lo + hi);
        if (mid == lo || mid == hi)
            break;
        if (somna_stats_pnt(t, df, mid) > target)
            lo = mid;
        else
            hi = mid;
        if (hi - lo <= 1e-15 * fmax(1.0, fabs(mid)))
            break;
    }
    return 0.5 * (lo + hi);
}

int somna_stats_nct_ci(double t, double df, double conf, double *ncp_lo, double *ncp_hi)
{
    if (!isfinite(t) || !(df > 0))
        return -1;
    double a = (1.0 - conf) / 2.0;
    *ncp_lo = solve_ncp(t, df, 1.0 - a);
    *ncp_hi = solve_ncp(t, df, a);
    return 0;
}
