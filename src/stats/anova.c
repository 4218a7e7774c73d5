/* Within-subject designs: one-way repeated-measures ANOVA with sphericity
 * diagnostics, p-value adjustment and pairwise post-hoc comparisons.
 *
 * RM-ANOVA: subject x condition decomposition (Winer 1971); Mauchly (1940)
 * test with the chi-square approximation and its second-order term as in
 * R's mauchly.test (Anderson 1958, 8.6); Greenhouse & Geisser (1959) and
 * Huynh & Feldt (1976) epsilons; generalized eta squared (Olejnik & Algina
 * 2003; Bakeman 2005).  p adjustment: Holm (1979), Benjamini & Hochberg
 * (1995), as R's p.adjust.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "somna/parse.h"
#include "stats/stats_internal.h"

/* log|det(A)| of a p x p matrix (destroyed) by Gaussian elimination with
 * partial pivoting; returns -inf for a singular matrix, *sign the sign. */
static double log_det(double *A, size_t p, int *sign)
{
    *sign = 1;
    double ld = 0.0;
    for (size_t c = 0; c < p; c++) {
        size_t piv = c;
        for (size_t r = c + 1; r < p; r++)
            if (fabs(A[r * p + c]) > fabs(A[piv * p + c]))
                piv = r;
        if (A[piv * p + c] == 0.0)
            return -INFINITY;
        if (piv != c) {
            for (size_t j = 0; j < p; j++) {
                double t = A[c * p + j];
                A[c * p + j] = A[piv * p + j];
                A[piv * p + j] = t;
            }
            *sign = -*sign;
        }
        double d = A[c * p + c];
        if (d < 0)
            *sign = -*sign;
        ld += log(fabs(d));
        for (size_t r = c + 1; r < p; r++) {
            double f = A[r * p + c] / d;
            for (size_t j = c; j < p; j++)
                A[r * p + j] -= f * A[c * p + j];
        }
    }
    return ld;
}

int somna_stats_rmanova(const double *y, size_t n, size_t k, somna_stats_rmanova_result *o, somna_err *err)
{
    memset(o, 0, sizeof *o);
    o->ss_condition = o->ss_subject = o->ss_error = o->df1 = o->df2 = o->F = o->p = o->ges = NAN;
    o->mauchly_W = o->mauchly_p = o->eps_gg = o->eps_hf = o->p_gg = o->p_hf = NAN;
    o->k = k;
    if (k < 2)
        return somna_fail(err, SOMNA_E_DATA, "repeated-measures ANOVA needs at least 2 conditions, have %zu", k);
    if (somna_stats_check_range(y, n * k, "outcome", err))
        return SOMNA_E_DATA;
    double *Y = malloc((n * k + 1) * sizeof *Y);
    size_t p = k - 1;
    double *S = calloc(k * k, sizeof *S), *C = calloc(k * p, sizeof *C), *T = calloc(p * p + 1, sizeof *T);
    double *cm = calloc(k, sizeof *cm);
    int rc = SOMNA_OK;
    if (!Y || !S || !C || !T || !cm) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        goto done;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int ok = 1;
        for (size_t j = 0; j < k; j++)
            if (!isfinite(y[i * k + j]))
                ok = 0;
        if (ok)
            memcpy(Y + m++ * k, y + i * k, k * sizeof *Y);
    }
    o->n_subjects = m;
    o->n_dropped = n - m;
    if (m < 2) {
        rc = somna_fail(err, SOMNA_E_DATA,
                        "repeated-measures ANOVA needs at least 2 subjects with all %zu conditions, have %zu", k, m);
        goto done;
    }
    double fm = (double)m, fk = (double)k, gm = 0.0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < k; j++) {
            cm[j] += Y[i * k + j] / fm;
            gm += Y[i * k + j];
        }
    gm /= fm * fk;
    double ssc = 0.0, sss = 0.0, sse = 0.0;
    for (size_t j = 0; j < k; j++)
        ssc += fm * (cm[j] - gm) * (cm[j] - gm);
    for (size_t i = 0; i < m; i++) {
        double rm = 0.0;
        for (size_t j = 0; j < k; j++)
            rm += Y[i * k + j] / fk;
        sss += fk * (rm - gm) * (rm - gm);
        for (size_t j = 0; j < k; j++) {
            double e = Y[i * k + j] - rm - cm[j] + gm;
            sse += e * e;
        }
    }
    o->ss_condition = ssc;
    o->ss_subject = sss;
    o->ss_error = sse;
    o->df1 = fk - 1;
    o->df2 = (fm - 1) * (fk - 1);
    o->ges = ssc / (ssc + sss + sse);
    if (!(sse > 1e-14 * (ssc + sss + sse)) || sse == 0.0) {
        o->ges = NAN;
        rc = somna_fail(err, SOMNA_E_DATA,
                        "repeated-measures ANOVA: residual variance is zero (every subject changes identically), "
                        "F undefined");
        goto done;
    }
    o->F = (ssc / o->df1) / (sse / o->df2);
    o->p = gsl_cdf_fdist_Q(o->F, o->df1, o->df2);

    /* sphericity: covariance of the conditions projected on orthonormal
     * Helmert contrasts */
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++) {
            double s = 0.0;
            for (size_t i = 0; i < m; i++)
                s += (Y[i * k + a] - cm[a]) * (Y[i * k + b] - cm[b]);
            S[a * k + b] = s / (fm - 1);
        }
    for (size_t j = 0; j < p; j++) {
        double jj = (double)(j + 1), norm = sqrt(jj * (jj + 1));
        for (size_t r = 0; r <= j; r++)
            C[r * p + j] = 1.0 / norm;
        C[(j + 1) * p + j] = -jj / norm;
    }
    for (size_t a = 0; a < p; a++)
        for (size_t b = 0; b < p; b++) {
            double s = 0.0;
            for (size_t r = 0; r < k; r++)
                for (size_t c = 0; c < k; c++)
                    s += C[r * p + a] * S[r * k + c] * C[c * p + b];
            T[a * p + b] = s;
        }
    double tr = 0.0, tr2 = 0.0, fp = (double)p;
    for (size_t a = 0; a < p; a++) {
        tr += T[a * p + a];
        for (size_t b = 0; b < p; b++)
            tr2 += T[a * p + b] * T[b * p + a];
    }
    if (tr2 > 0) {
        o->eps_gg = tr * tr / (fp * tr2);
        o->eps_hf = (fm * fp * o->eps_gg - 2.0) / (fp * (fm - 1.0 - fp * o->eps_gg));
        o->p_gg = gsl_cdf_fdist_Q(o->F, o->df1 * o->eps_gg, o->df2 * o->eps_gg);
        double e = fmin(o->eps_hf, 1.0);
        o->p_hf = gsl_cdf_fdist_Q(o->F, o->df1 * e, o->df2 * e);
    }
    /* Mauchly's W needs k >= 3 and more subjects than contrasts */
    if (k >= 3 && m - 1 >= p) {
        int sign;
        double ld = log_det(T, p, &sign);
        double dfn = fm - 1.0;
        if (isfinite(ld) && sign > 0) {
            double logW = ld - fp * log(tr / fp);
            double rho = 1.0 - (2 * fp * fp + fp + 2) / (6 * fp * dfn);
            /* R's second-order term uses the number of conditions k in the
             * factor (2p^3 + 6p^2 + 3k + 2); kept for agreement with R */
            double w2 = (fp + 2) * (fp - 1) * (fp - 2) * (2 * fp * fp * fp + 6 * fp * fp + 3 * fk + 2) /
                        (288 * (dfn * fp * rho) * (dfn * fp * rho));
            double z = -dfn * rho * logW, f = fp * (fp + 1) / 2 - 1;
            double p1 = gsl_cdf_chisq_Q(z, f), p2 = gsl_cdf_chisq_Q(z, f + 4);
            o->mauchly_W = exp(logW);
            o->mauchly_p = p1 + w2 * (p2 - p1);
        }
    }
done:
    free(Y);
    free(S);
    free(C);
    free(T);
    free(cm);
    return rc;
}

typedef struct pidx {
    double p;
    size_t i;
} pidx;

static int cmp_pidx(const void *a, const void *b)
{
    const pidx *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

int somna_stats_p_adjust(const double *p, size_t n, somna_stats_padjust method, double *out, somna_err *err)
{
    pidx *v = malloc((n + 1) * sizeof *v);
    if (!v)
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(p[i]))
            v[m++] = (pidx){p[i], i};
    for (size_t i = 0; i < n; i++)
        if (isnan(p[i]))
            out[i] = NAN;
    qsort(v, m, sizeof *v, cmp_pidx);
    double fm = (double)m;
    switch (method) {
    case SOMNA_STATS_PADJ_NONE:
        for (size_t i = 0; i < m; i++)
            out[v[i].i] = v[i].p;
        break;
    case SOMNA_STATS_PADJ_BONFERRONI:
        for (size_t i = 0; i < m; i++)
            out[v[i].i] = fmin(1.0, fm * v[i].p);
        break;
    case SOMNA_STATS_PADJ_HOLM: {
        double run = 0.0;
        for (size_t i = 0; i < m; i++) {
            run = fmax(run, fmin(1.0, (fm - (double)i) * v[i].p));
            out[v[i].i] = run;
        }
        break;
    }
    case SOMNA_STATS_PADJ_BH: {
        double run = 1.0;
        for (size_t i = m; i-- > 0;) {
            run = fmin(run, fmin(1.0, fm / (double)(i + 1) * v[i].p));
            out[v[i].i] = run;
        }
        break;
    }
    default:
        free(v);
        return somna_fail(err, SOMNA_E_ARG, "unknown p-value adjustment method %d", (int)method);
    }
    free(v);
    return SOMNA_OK;
}

int somna_stats_pairwise(const double *y, size_t n, size_t k, somna_stats_pair_test test, double conf,
                         somna_stats_pair *pairs, somna_err *err)
{
    size_t np = k * (k - 1) / 2;
    if (k < 2)
        return somna_fail(err, SOMNA_E_DATA, "pairwise comparisons need at least 2 conditions");
    double *xa = malloc((n + 1) * sizeof *xa), *xb = malloc((n + 1) * sizeof *xb);
    double *pv = malloc((np + 1) * sizeof *pv), *adj = malloc((np + 1) * sizeof *adj);
    if (!xa || !xb || !pv || !adj) {
        free(xa);
        free(xb);
        free(pv);
        free(adj);
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    }
    size_t q = 0;
    for (size_t a = 0; a < k; a++)
        for (size_t b = a + 1; b < k; b++, q++) {
            somna_stats_pair *pr = &pairs[q];
            memset(pr, 0, sizeof *pr);
            pr->a = a;
            pr->b = b;
            for (size_t i = 0; i < n; i++) {
                xa[i] = y[i * k + a];
                xb[i] = y[i * k + b];
            }
            somna_err e;
            somna_err_init(&e, NULL, NULL);
            int rc = test == SOMNA_STATS_PAIR_WILCOXON ? somna_stats_wilcoxon_signed(xb, xa, n, conf, &pr->r, &e)
                                                       : somna_stats_ttest_paired(xb, xa, n, conf, &pr->r, &e);
            pr->ok = rc == SOMNA_OK;
            if (!pr->ok)
                somna_strlcpy(pr->why, e.msg, sizeof pr->why);
            pv[q] = pr->ok ? pr->r.p : NAN;
        }
    somna_stats_p_adjust(pv, np, SOMNA_STATS_PADJ_HOLM, adj, NULL);
    for (q = 0; q < np; q++)
        pairs[q].p_holm = adj[q];
    somna_stats_p_adjust(pv, np, SOMNA_STATS_PADJ_BH, adj, NULL);
    for (q = 0; q < np; q++)
        pairs[q].p_bh = adj[q];
    free(xa);
    free(xb);
    free(pv);
    free(adj);
    return SOMNA_OK;
}
