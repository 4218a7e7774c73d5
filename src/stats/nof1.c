/* N-of-1 randomization test: did nights after a massage session differ?
 *
 * The sessions' days are the randomized unit, so the reference
 * distribution re-draws which days had sessions (same number of sessions)
 * and recomputes the lagged night labels (Edgington & Onghena 2007,
 * "Randomization Tests", ch. 11 on single-case designs).  All arrangements
 * are enumerated when they are few; otherwise a seeded Monte Carlo sample
 * with p = (1 + extreme) / (1 + B) (Phipson & Smyth 2010).  The percent
 * change CI is a percentile bootstrap resampling nights within the "on"
 * and "off" sets (Efron & Tibshirani 1993, ch. 13).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "stats/stats_internal.h"

void somna_stats_nof1_defaults(somna_stats_nof1_opts *o)
{
    o->lag = 1;
    o->n_perm = 10000;
    o->n_boot = 2000;
    o->seed = 1;
    o->conf = 0.95;
}

/* mean difference on - off for a session arrangement; NaN if a set is empty */
static double arrangement_diff(const double *y, const int *sess, size_t n, size_t lag, double *mon, double *moff,
                               size_t *non, size_t *noff)
{
    double so = 0.0, sf = 0.0;
    size_t co = 0, cf = 0;
    size_t last = (size_t)-1; /* day of the latest session seen */
    for (size_t i = 0; i < n; i++) {
        if (sess[i])
            last = i;
        int on = last != (size_t)-1 && i - last < lag;
        if (!isfinite(y[i]))
            continue;
        if (on) {
            so += y[i];
            co++;
        } else {
            sf += y[i];
            cf++;
        }
    }
    if (mon)
        *mon = co ? so / (double)co : NAN;
    if (moff)
        *moff = cf ? sf / (double)cf : NAN;
    if (non)
        *non = co;
    if (noff)
        *noff = cf;
    if (!co || !cf)
        return NAN;
    return so / (double)co - sf / (double)cf;
}

/* R's quantile type 7 on sorted data */
static double quantile7(const double *s, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return s[n - 1];
    return s[lo] + (h - (double)lo) * (s[lo + 1] - s[lo]);
}

int somna_stats_nof1(const double *y, const int *session, size_t n, const somna_stats_nof1_opts *opt,
                     somna_stats_nof1_result *o, somna_err *err)
{
    somna_stats_nof1_opts def;
    if (!opt) {
        somna_stats_nof1_defaults(&def);
        opt = &def;
    }
    memset(o, 0, sizeof *o);
    o->mean_on = o->mean_off = o->diff = o->p = o->pct_change = o->pct_ci_low = o->pct_ci_high = NAN;
    if (opt->lag < 1)
        return somna_fail(err, SOMNA_E_ARG, "N-of-1 test: lag must be at least 1 night");
    if (somna_stats_check_conf(opt->conf, err))
        return SOMNA_E_ARG;
    if (somna_stats_check_range(y, n, "outcome", err))
        return SOMNA_E_DATA;
    size_t S = 0, finite = 0;
    for (size_t i = 0; i < n; i++) {
        if (session[i] != 0 && session[i] != 1)
            return somna_fail(err, SOMNA_E_ARG, "N-of-1 test: day %zu: session indicator %d is not 0 or 1", i + 1,
                              session[i]);
        S += (size_t)session[i];
        finite += isfinite(y[i]) ? 1u : 0u;
    }
    o->n_nights = finite;
    o->n_sessions = S;
    if (S == 0 || S == n)
        return somna_fail(err, SOMNA_E_DATA, "N-of-1 test: %s: nothing to compare",
                          S == 0 ? "no session days" : "every day is a session day");
    double obs = arrangement_diff(y, session, n, opt->lag, &o->mean_on, &o->mean_off, &o->n_on, &o->n_off);
    if (!isfinite(obs))
        return somna_fail(err, SOMNA_E_DATA,
                          "N-of-1 test: %zu nights after sessions and %zu other nights with data: need both", o->n_on,
                          o->n_off);
    o->diff = obs;
    if (o->mean_off != 0.0)
        o->pct_change = 100.0 * (o->mean_on / o->mean_off - 1.0);
    double tol = 1e-9 * fmax(1.0, fabs(obs));
    int *perm = malloc(n * sizeof *perm);
    size_t *idx = malloc((S + 1) * sizeof *idx);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    int rc = SOMNA_OK;
    double *bs = NULL, *von = NULL, *voff = NULL;
    if (!perm || !idx || !rng) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        goto done;
    }
    gsl_rng_set(rng, (unsigned long)opt->seed);
    /* number of arrangements C(n, S) (as double; only compared to n_perm) */
    double total = 1.0;
    for (size_t i = 0; i < S; i++)
        total = total * (double)(n - i) / (double)(i + 1);
    size_t extreme = 0, count = 0;
    if (total <= (double)opt->n_perm + 0.5) {
        o->exact = 1;
        for (size_t i = 0; i < S; i++)
            idx[i] = i;
        for (;;) {
            memset(perm, 0, n * sizeof *perm);
            for (size_t i = 0; i < S; i++)
                perm[idx[i]] = 1;
            double dd = arrangement_diff(y, perm, n, opt->lag, NULL, NULL, NULL, NULL);
            count++;
            if (isfinite(dd) && fabs(dd) >= fabs(obs) - tol)
                extreme++;
            /* next combination in lexicographic order */
            size_t i = S;
            while (i > 0 && idx[i - 1] == n - S + i - 1)
                i--;
            if (i == 0)
                break;
            idx[i - 1]++;
            for (size_t j = i; j < S; j++)
                idx[j] = idx[j - 1] + 1;
        }
        o->p = (double)extreme / (double)count;
    } else {
        memcpy(perm, session, n * sizeof *perm);
        for (size_t b = 0; b < opt->n_perm; b++) {
            gsl_ran_shuffle(rng, perm, n, sizeof *perm);
            double dd = arrangement_diff(y, perm, n, opt->lag, NULL, NULL, NULL, NULL);
            count++;
            if (isfinite(dd) && fabs(dd) >= fabs(obs) - tol)
                extreme++;
        }
        o->p = (1.0 + (double)extreme) / (1.0 + (double)count);
    }
    o->n_perm = count;
    /* a set of one night cannot be resampled meaningfully: no CI then */
    if (opt->n_boot > 0 && isfinite(o->pct_change) && o->n_on >= 2 && o->n_off >= 2) {
        von = malloc(o->n_on * sizeof *von);
        voff = malloc(o->n_off * sizeof *voff);
        bs = malloc(opt->n_boot * sizeof *bs);
        if (!von || !voff || !bs) {
            rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
            goto done;
        }
        size_t a = 0, c = 0, last = (size_t)-1;
        for (size_t i = 0; i < n; i++) {
            if (session[i])
                last = i;
            if (!isfinite(y[i]))
                continue;
            if (last != (size_t)-1 && i - last < opt->lag)
                von[a++] = y[i];
            else
                voff[c++] = y[i];
        }
        size_t nb = 0;
        for (size_t b = 0; b < opt->n_boot; b++) {
            double s1 = 0.0, s2 = 0.0;
            for (size_t i = 0; i < a; i++)
                s1 += von[gsl_rng_uniform_int(rng, (unsigned long)a)];
            for (size_t i = 0; i < c; i++)
                s2 += voff[gsl_rng_uniform_int(rng, (unsigned long)c)];
            if (s2 != 0.0)
                bs[nb++] = 100.0 * ((s1 / (double)a) / (s2 / (double)c) - 1.0);
        }
        if (nb >= 2) {
            qsort(bs, nb, sizeof *bs, somna_stats_cmp_double);
            double al = (1.0 - opt->conf) / 2.0;
            o->pct_ci_low = quantile7(bs, nb, al);
            o->pct_ci_high = quantile7(bs, nb, 1.0 - al);
        }
    }
done:
    free(perm);
    free(idx);
    free(bs);
    free(von);
    free(voff);
    if (rng)
        gsl_rng_free(rng);
    return rc;
}
