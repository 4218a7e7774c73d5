/* Random-effects meta-analysis of study effects y_i with variances v_i.
 *
 * tau^2 by DerSimonian & Laird (1986) moments or by REML (Viechtbauer
 * 2005, eq. 8-10), the REML score solved exactly by bisection (metafor
 * iterates Fisher scoring to 1e-5).  I^2 and H^2 from tau^2 and the
 * "typical" within-study variance (Higgins & Thompson 2002), as metafor
 * reports them; prediction interval mu -/+ z sqrt(se^2 + tau^2) (metafor's
 * default for z tests; Riley et al. 2011 discuss the t variant).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "stats/stats_internal.h"

/* REML score in tau2 (half the derivative of the REML log-likelihood). */
static double reml_score(const double *y, const double *v, size_t k, double tau2)
{
    double sw = 0.0, swy = 0.0, sw2 = 0.0;
    for (size_t i = 0; i < k; i++) {
        double w = 1.0 / (v[i] + tau2);
        sw += w;
        swy += w * y[i];
        sw2 += w * w;
    }
    double mu = swy / sw, s = 0.0;
    for (size_t i = 0; i < k; i++) {
        double w = 1.0 / (v[i] + tau2);
        s += w * w * (y[i] - mu) * (y[i] - mu);
    }
    return 0.5 * (s - sw + sw2 / sw);
}

int somna_stats_meta(const double *yi, const double *vi, size_t k, somna_stats_meta_method method, double conf,
                     somna_stats_meta_result *o, somna_err *err)
{
    memset(o, 0, sizeof *o);
    o->mu = o->se = o->z = o->p = o->ci_low = o->ci_high = NAN;
    o->tau2 = o->tau = o->i2 = o->h2 = o->q = o->q_df = o->q_p = o->pi_low = o->pi_high = NAN;
    o->k = k;
    if (somna_stats_check_conf(conf, err))
        return SOMNA_E_ARG;
    if (k < 2)
        return somna_fail(err, SOMNA_E_DATA, "meta-analysis needs at least 2 studies, have %zu", k);
    if (somna_stats_check_range(yi, k, "effect size", err) || somna_stats_check_range(vi, k, "variance", err))
        return SOMNA_E_DATA;
    for (size_t i = 0; i < k; i++) {
        if (!isfinite(yi[i]))
            return somna_fail(err, SOMNA_E_ARG, "meta-analysis: study %zu: effect size is not a finite number", i + 1);
        if (!(vi[i] > 0) || !isfinite(vi[i]))
            return somna_fail(err, SOMNA_E_ARG, "meta-analysis: study %zu: sampling variance %g is not positive",
                              i + 1, vi[i]);
        if (vi[i] < 1e-150) /* 1/v^2 would overflow */
            return somna_fail(err, SOMNA_E_DATA, "meta-analysis: study %zu: sampling variance %g is too small", i + 1,
                              vi[i]);
    }
    double sw = 0.0, swy = 0.0, sw2 = 0.0;
    for (size_t i = 0; i < k; i++) {
        double w = 1.0 / vi[i];
        sw += w;
        swy += w * yi[i];
        sw2 += w * w;
    }
    double ybar = swy / sw, Q = 0.0, fk = (double)k;
    for (size_t i = 0; i < k; i++)
        Q += (yi[i] - ybar) * (yi[i] - ybar) / vi[i];
    o->q = Q;
    o->q_df = fk - 1;
    o->q_p = gsl_cdf_chisq_Q(Q, fk - 1);
    double c = sw - sw2 / sw, tau2;
    if (method == SOMNA_STATS_META_DL) {
        tau2 = fmax(0.0, (Q - (fk - 1)) / c);
    } else if (method == SOMNA_STATS_META_REML) {
        tau2 = 0.0;
        if (reml_score(yi, vi, k, 0.0) > 0) {
            double lo = 0.0, hi = fmax((Q - (fk - 1)) / c, 1e-8);
            int it = 0;
            while (reml_score(yi, vi, k, hi) > 0 && it++ < 200)
                hi *= 2.0;
            for (it = 0; it < 400 && hi - lo > 1e-16 * hi; it++) {
                double mid = 0.5 * (lo + hi);
                if (reml_score(yi, vi, k, mid) > 0)
                    lo = mid;
                else
                    hi = mid;
            }
            o->iterations = it;
            tau2 = 0.5 * (lo + hi);
        }
    } else {
        return somna_fail(err, SOMNA_E_ARG, "meta-analysis: unknown tau^2 method %d", (int)method);
    }
    double rw = 0.0, rwy = 0.0;
    for (size_t i = 0; i < k; i++) {
        double w = 1.0 / (vi[i] + tau2);
        rw += w;
        rwy += w * yi[i];
    }
    double zq = gsl_cdf_ugaussian_Qinv((1.0 - conf) / 2.0);
    o->tau2 = tau2;
    o->tau = sqrt(tau2);
    o->mu = rwy / rw;
    o->se = sqrt(1.0 / rw);
    o->z = o->mu / o->se;
    o->p = 2.0 * gsl_cdf_ugaussian_Q(fabs(o->z));
    o->ci_low = o->mu - zq * o->se;
    o->ci_high = o->mu + zq * o->se;
    double s2 = (fk - 1) * sw / (sw * sw - sw2); /* typical within-study variance */
    o->i2 = 100.0 * tau2 / (tau2 + s2);
    o->h2 = (tau2 + s2) / s2;
    double ps = sqrt(o->se * o->se + tau2);
    o->pi_low = o->mu - zq * ps;
    o->pi_high = o->mu + zq * ps;
    return SOMNA_OK;
}
