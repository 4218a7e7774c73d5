/* Tests on counts, as R's mcnemar.test, chisq.test and fisher.test.
 *
 * McNemar (1947) and Bowker (1948) symmetry tests; the exact McNemar p is
 * the two-sided binomial test of the discordant pairs with Clopper-Pearson
 * (1934) limits for their odds ratio.  Pearson (1900) chi-square with
 * Yates (1934) correction; Cramer's V from the uncorrected statistic.
 * Fisher (1935) exact test with the conditional maximum-likelihood odds
 * ratio and exact limits from the noncentral hypergeometric distribution
 * (Cornfield 1956), the definitions R's fisher.test uses.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sf_gamma.h>

#include "somna/parse.h"
#include "stats/stats_internal.h"

static int check_counts(const long *t, size_t n, somna_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (t[i] < 0)
            return somna_fail(err, SOMNA_E_ARG, "table cell %zu has a negative count (%ld)", i + 1, t[i]);
    return SOMNA_OK;
}

int somna_stats_mcnemar(const long *tab, size_t k, int correct, somna_stats_result *r, double *p_exact,
                        somna_err *err)
{
    somna_stats_result_init(r);
    somna_strlcpy(r->test, "McNemar's chi-squared test", sizeof r->test);
    somna_strlcpy(r->statistic_name, "McNemar's chi-squared", sizeof r->statistic_name);
    if (p_exact)
        *p_exact = NAN;
    if (k < 2)
        return somna_fail(err, SOMNA_E_DATA, "McNemar test needs at least 2 categories, have %zu", k);
    if (check_counts(tab, k * k, err))
        return SOMNA_E_ARG;
    long tot = 0;
    for (size_t i = 0; i < k * k; i++)
        tot += tab[i];
    r->n = (size_t)tot;
    int yates = correct && k == 2;
    double stat = 0.0;
    for (size_t i = 0; i < k; i++)
        for (size_t j = i + 1; j < k; j++) {
            double a = (double)tab[i * k + j], b = (double)tab[j * k + i];
            if (a + b == 0)
                return somna_fail(err, SOMNA_E_DATA,
                                  "McNemar test: no discordant pairs between categories %zu and %zu: statistic "
                                  "undefined",
                                  i + 1, j + 1);
            double d = fabs(a - b) - (yates ? 1.0 : 0.0);
            stat += d * d / (a + b);
        }
    r->statistic = stat;
    r->df = (double)(k * (k - 1) / 2);
    r->p = gsl_cdf_chisq_Q(stat, r->df);
    snprintf(r->method, sizeof r->method, "chi-squared approximation%s",
             yates ? " with continuity correction" : (k > 2 ? " (Bowker symmetry test)" : ""));
    if (k == 2) {
        long b = tab[1], c = tab[2];
        unsigned nd = (unsigned)(b + c);
        unsigned lo = (unsigned)(b < c ? b : c);
        double pe = b == c ? 1.0 : fmin(1.0, 2.0 * gsl_cdf_binomial_P(lo, 0.5, nd));
        if (p_exact)
            *p_exact = pe;
        /* odds ratio of the discordant pairs b/c, Clopper-Pearson limits */
        somna_strlcpy(r->estimate_name, "odds ratio (before+/after- : before-/after+)", sizeof r->estimate_name);
        r->estimate = c == 0 ? INFINITY : (double)b / (double)c;
        double a2 = 0.025;
        double pl = b == 0 ? 0.0 : gsl_cdf_beta_Pinv(a2, (double)b, (double)c + 1);
        double ph = c == 0 ? 1.0 : gsl_cdf_beta_Pinv(1 - a2, (double)b + 1, (double)c);
        r->ci_low = pl / (1 - pl);
        r->ci_high = ph >= 1.0 ? INFINITY : ph / (1 - ph);
        r->conf_level = 0.95;
    }
    return SOMNA_OK;
}

int somna_stats_chisq(const long *tab, size_t nr, size_t nc, int correct, somna_stats_result *r,
                      double *min_expected, somna_err *err)
{
    somna_stats_result_init(r);
    somna_strlcpy(r->test, "Pearson's chi-squared test", sizeof r->test);
    somna_strlcpy(r->statistic_name, "X-squared", sizeof r->statistic_name);
    somna_strlcpy(r->estimate_name, "Cramer's V", sizeof r->estimate_name);
    if (min_expected)
        *min_expected = NAN;
    if (nr < 2 || nc < 2)
        return somna_fail(err, SOMNA_E_DATA, "chi-squared test needs at least a 2 x 2 table, have %zu x %zu", nr, nc);
    if (check_counts(tab, nr * nc, err))
        return SOMNA_E_ARG;
    double *rs = calloc(nr, sizeof *rs), *cs = calloc(nc, sizeof *cs);
    if (!rs || !cs) {
        free(rs);
        free(cs);
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    }
    double tot = 0.0;
    for (size_t i = 0; i < nr; i++)
        for (size_t j = 0; j < nc; j++) {
            rs[i] += (double)tab[i * nc + j];
            cs[j] += (double)tab[i * nc + j];
            tot += (double)tab[i * nc + j];
        }
    int rc = SOMNA_OK;
    for (size_t i = 0; i < nr && rc == SOMNA_OK; i++)
        if (rs[i] == 0)
            rc = somna_fail(err, SOMNA_E_DATA, "chi-squared test: row %zu of the table is empty", i + 1);
    for (size_t j = 0; j < nc && rc == SOMNA_OK; j++)
        if (cs[j] == 0)
            rc = somna_fail(err, SOMNA_E_DATA, "chi-squared test: column %zu of the table is empty", j + 1);
    if (rc) {
        free(rs);
        free(cs);
        return rc;
    }
    r->n = (size_t)tot;
    int yates = correct && nr == 2 && nc == 2;
    double Y = 0.0, emin = INFINITY;
    if (yates) {
        Y = 0.5; /* R: YATES = min(0.5, |x - E|) over all cells */
        for (size_t i = 0; i < 2; i++)
            for (size_t j = 0; j < 2; j++)
                Y = fmin(Y, fabs((double)tab[i * nc + j] - rs[i] * cs[j] / tot));
    }
    double stat = 0.0, raw = 0.0;
    for (size_t i = 0; i < nr; i++)
        for (size_t j = 0; j < nc; j++) {
            double E = rs[i] * cs[j] / tot, d = fabs((double)tab[i * nc + j] - E);
            emin = fmin(emin, E);
            stat += (d - Y) * (d - Y) / E;
            raw += d * d / E;
        }
    free(rs);
    free(cs);
    r->statistic = stat;
    r->df = (double)((nr - 1) * (nc - 1));
    r->p = gsl_cdf_chisq_Q(stat, r->df);
    r->estimate = sqrt(raw / (tot * (double)((nr < nc ? nr : nc) - 1)));
    snprintf(r->method, sizeof r->method, "chi-squared approximation%s",
             yates ? " with Yates' continuity correction" : "");
    if (min_expected)
        *min_expected = emin;
    return SOMNA_OK;
}

/* ---- Fisher 2 x 2 -------------------------------------------------------- */

typedef struct fisher_ctx {
    long lo, hi;
    double *logdc; /* log dhyper over the support */
} fisher_ctx;

/* noncentral hypergeometric probabilities at ncp (normalised) into d */
static void dnhyper(const fisher_ctx *f, double ncp, double *d)
{
    size_t ns = (size_t)(f->hi - f->lo + 1);
    double mx = -INFINITY;
    for (size_t i = 0; i < ns; i++) {
        d[i] = f->logdc[i] + log(ncp) * (double)(f->lo + (long)i);
        mx = fmax(mx, d[i]);
    }
    double s = 0.0;
    for (size_t i = 0; i < ns; i++) {
        d[i] = exp(d[i] - mx);
        s += d[i];
    }
    for (size_t i = 0; i < ns; i++)
        d[i] /= s;
}

static double mnhyper(const fisher_ctx *f, double ncp, double *d)
{
    if (ncp == 0)
        return (double)f->lo;
    if (isinf(ncp))
        return (double)f->hi;
    dnhyper(f, ncp, d);
    double s = 0.0;
    for (long x = f->lo; x <= f->hi; x++)
        s += (double)x * d[x - f->lo];
    return s;
}

static double pnhyper(const fisher_ctx *f, long q, double ncp, int upper, double *d)
{
    dnhyper(f, ncp, d);
    double s = 0.0;
    for (long x = f->lo; x <= f->hi; x++)
        if (upper ? x >= q : x <= q)
            s += d[x - f->lo];
    return s;
}

/* Solve fn(ncp) = target for an increasing (dir = +1) or decreasing (-1)
 * function of ncp by bisection on log(ncp). */
typedef double (*ncp_fn)(const fisher_ctx *, long, double, double *);

static double fn_mean(const fisher_ctx *f, long x, double ncp, double *d)
{
    (void)x;
    return mnhyper(f, ncp, d);
}
static double fn_lower(const fisher_ctx *f, long x, double ncp, double *d) { return pnhyper(f, x, ncp, 0, d); }
static double fn_upper(const fisher_ctx *f, long x, double ncp, double *d) { return pnhyper(f, x, ncp, 1, d); }

static double solve_log(ncp_fn fn, const fisher_ctx *f, long x, double target, int increasing, double *d)
{
    double lo = -50.0, hi = 50.0;
    for (int it = 0; it < 200 && hi - lo > 1e-14; it++) {
        double mid = 0.5 * (lo + hi);
        double v = fn(f, x, exp(mid), d);
        if ((v < target) == (increasing != 0))
            lo = mid;
        else
            hi = mid;
    }
    return exp(0.5 * (lo + hi));
}

int somna_stats_fisher_2x2(const long t[4], double conf, somna_stats_result *r, somna_err *err)
{
    somna_stats_result_init(r);
    somna_strlcpy(r->test, "Fisher's exact test", sizeof r->test);
    somna_strlcpy(r->estimate_name, "odds ratio (conditional MLE)", sizeof r->estimate_name);
    somna_strlcpy(r->method, "exact (hypergeometric)", sizeof r->method);
    r->exact = 1;
    if (somna_stats_check_conf(conf, err) || check_counts(t, 4, err))
        return SOMNA_E_ARG;
    long m = t[0] + t[2], nn = t[1] + t[3], k = t[0] + t[1], x = t[0];
    r->n = (size_t)(m + nn);
    if (m == 0 || nn == 0 || k == 0 || k == m + nn)
        return somna_fail(err, SOMNA_E_DATA, "Fisher's exact test: a row or column of the 2 x 2 table is empty");
    fisher_ctx f;
    f.lo = k - nn > 0 ? k - nn : 0;
    f.hi = k < m ? k : m;
    size_t ns = (size_t)(f.hi - f.lo + 1);
    f.logdc = malloc(ns * sizeof *f.logdc);
    double *d = malloc(ns * sizeof *d);
    if (!f.logdc || !d) {
        free(f.logdc);
        free(d);
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    }
    for (long s = f.lo; s <= f.hi; s++)
        f.logdc[s - f.lo] = gsl_sf_lnchoose((unsigned)m, (unsigned)s) +
                            gsl_sf_lnchoose((unsigned)nn, (unsigned)(k - s)) -
                            gsl_sf_lnchoose((unsigned)(m + nn), (unsigned)k);
    /* p: tables no more probable than the observed (R's relative tolerance 1e-7) */
    dnhyper(&f, 1.0, d);
    double dobs = d[x - f.lo] * (1 + 1e-7), p = 0.0;
    for (size_t i = 0; i < ns; i++)
        if (d[i] <= dobs)
            p += d[i];
    r->p = fmin(1.0, p);
    /* conditional MLE: E[X; ncp] = x */
    if (x == f.lo)
        r->estimate = 0.0;
    else if (x == f.hi)
        r->estimate = INFINITY;
    else
        r->estimate = solve_log(fn_mean, &f, x, (double)x, 1, d);
    double alpha = (1.0 - conf) / 2.0;
    /* lower limit: P(X >= x; ncp) = alpha; upper: P(X <= x; ncp) = alpha */
    r->ci_low = x == f.lo ? 0.0 : solve_log(fn_upper, &f, x, alpha, 1, d);
    r->ci_high = x == f.hi ? INFINITY : solve_log(fn_lower, &f, x, alpha, 0, d);
    r->conf_level = conf;
    free(f.logdc);
    free(d);
    return SOMNA_OK;
}

/* ---- Fisher r x c by enumeration ------------------------------------------ */

/* Every table with the observed margins is visited column by column (Freeman
 * & Halton 1951 generalisation of Fisher's test); R uses the network
 * algorithm of Mehta & Patel (1983) for the same sum.  Enumeration is exact
 * and fast for the small tables trials produce; a cap on the number of
 * tables keeps it bounded. */
typedef struct rxc_ctx {
    size_t nr, nc;
    long *rowrem;      /* remaining row totals */
    const long *cols;  /* column totals */
    const double *lf;  /* log factorials 0..n */
    double base;       /* sum log row! + sum log col! - log n! */
    double lp_obs_tol; /* log p(observed) + log(1 + 1e-7) */
    double p;          /* accumulated probability of tables no more probable */
    unsigned long long visited, cap;
} rxc_ctx;

static int rxc_col(rxc_ctx *c, size_t j, double lp);

/* distribute the remaining `left` of column j over rows i.. */
static int rxc_fill(rxc_ctx *c, size_t j, size_t i, long left, double lp)
{
    if (i == c->nr - 1) {
        if (left > c->rowrem[i])
            return 0;
        c->rowrem[i] -= left;
        int rc = rxc_col(c, j + 1, lp - c->lf[left]);
        c->rowrem[i] += left;
        return rc;
    }
    /* rows below i can absorb at most this much */
    long below = 0;
    for (size_t k = i + 1; k < c->nr; k++)
        below += c->rowrem[k];
    long lo = left - below > 0 ? left - below : 0, hi = left < c->rowrem[i] ? left : c->rowrem[i];
    for (long v = lo; v <= hi; v++) {
        c->rowrem[i] -= v;
        int rc = rxc_fill(c, j, i + 1, left - v, lp - c->lf[v]);
        c->rowrem[i] += v;
        if (rc)
            return rc;
    }
    return 0;
}

static int rxc_col(rxc_ctx *c, size_t j, double lp)
{
    if (j == c->nc - 1) {
        /* the last column is forced by the remaining row totals */
        double l = lp;
        for (size_t i = 0; i < c->nr; i++)
            l -= c->lf[c->rowrem[i]];
        if (++c->visited > c->cap)
            return -1;
        if (l <= c->lp_obs_tol)
            c->p += exp(l);
        return 0;
    }
    return rxc_fill(c, j, 0, c->cols[j], lp);
}

int somna_stats_fisher_rxc(const long *tab, size_t nr, size_t nc, somna_stats_result *r, somna_err *err)
{
    somna_stats_result_init(r);
    somna_strlcpy(r->test, "Fisher's exact test", sizeof r->test);
    somna_strlcpy(r->method, "exact (enumeration of all tables with the observed margins)", sizeof r->method);
    r->exact = 1;
    if (nr < 2 || nc < 2)
        return somna_fail(err, SOMNA_E_DATA, "Fisher's exact test needs at least a 2 x 2 table, have %zu x %zu", nr,
                          nc);
    if (check_counts(tab, nr * nc, err))
        return SOMNA_E_ARG;
    long *rows = calloc(nr, sizeof *rows), *cols = calloc(nc, sizeof *cols);
    long n = 0;
    int rc = SOMNA_OK;
    double *lf = NULL;
    if (!rows || !cols) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nr; i++)
        for (size_t j = 0; j < nc; j++) {
            rows[i] += tab[i * nc + j];
            cols[j] += tab[i * nc + j];
            n += tab[i * nc + j];
        }
    for (size_t i = 0; i < nr && !rc; i++)
        if (rows[i] == 0)
            rc = somna_fail(err, SOMNA_E_DATA, "Fisher's exact test: row %zu of the table is empty", i + 1);
    for (size_t j = 0; j < nc && !rc; j++)
        if (cols[j] == 0)
            rc = somna_fail(err, SOMNA_E_DATA, "Fisher's exact test: column %zu of the table is empty", j + 1);
    if (rc)
        goto done;
    r->n = (size_t)n;
    lf = malloc(((size_t)n + 1) * sizeof *lf);
    if (!lf) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        goto done;
    }
    lf[0] = 0.0;
    for (long v = 1; v <= n; v++)
        lf[v] = lf[v - 1] + log((double)v);
    double base = -lf[n];
    for (size_t i = 0; i < nr; i++)
        base += lf[rows[i]];
    for (size_t j = 0; j < nc; j++)
        base += lf[cols[j]];
    double lobs = base;
    for (size_t k = 0; k < nr * nc; k++)
        lobs -= lf[tab[k]];
    rxc_ctx c = {nr, nc, rows, cols, lf, base, lobs + log1p(1e-7), 0.0, 0, 100000000ULL};
    if (rxc_col(&c, 0, base)) {
        rc = somna_fail(err, SOMNA_E_UNSUPPORTED,
                        "Fisher's exact test: more than %llu tables share these margins; use chisq", c.cap);
        goto done;
    }
    r->p = fmin(1.0, c.p);
done:
    free(rows);
    free(cols);
    free(lf);
    return rc;
}
