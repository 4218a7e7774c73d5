/* Linear mixed model with one random intercept, fitted by REML.
 *
 * y = X b + Z u + e, u ~ N(0, sigma^2 gamma I), e ~ N(0, sigma^2 I).  For a
 * random intercept V = I + gamma ZZ' is block diagonal with compound
 * symmetry, so V^-1 and |V| have closed forms per group and the REML
 * criterion profiled over b and sigma^2 (Patterson & Thompson 1971; the
 * same criterion as lme4, Bates et al. 2015, eq. 41) depends on gamma only.
 * Its derivative is analytic, so the optimum is located to machine
 * precision by bisection on the sign of the derivative after a global grid
 * scan.  Denominator df by Satterthwaite (1946) with the observed Hessian of
 * the REML deviance in lme4's (theta, sigma) parameters, as lmerTest
 * (Kuznetsova, Brockhoff & Christensen 2017) computes it numerically; here
 * the Hessian is analytic (Searle, Casella & McCulloch 1992, 6.8).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "somna/parse.h"
#include "stats/stats_internal.h"

#define LMM_MAX_DENSE 4000 /* Satterthwaite step builds an n x n matrix */

/* Cholesky of a p x p SPD matrix in place (lower); 0 or -1 if not PD. */
static int chol(double *A, size_t p)
{
    for (size_t j = 0; j < p; j++) {
        double s = A[j * p + j];
        for (size_t k = 0; k < j; k++)
            s -= A[j * p + k] * A[j * p + k];
        if (!(s > 0))
            return -1;
        double d = sqrt(s);
        A[j * p + j] = d;
        for (size_t i = j + 1; i < p; i++) {
            double t = A[i * p + j];
            for (size_t k = 0; k < j; k++)
                t -= A[i * p + k] * A[j * p + k];
            A[i * p + j] = t / d;
        }
    }
    return 0;
}

/* Solve (L L') x = b in place. */
static void chol_solve(const double *L, size_t p, double *b)
{
    for (size_t i = 0; i < p; i++) {
        double s = b[i];
        for (size_t k = 0; k < i; k++)
            s -= L[i * p + k] * b[k];
        b[i] = s / L[i * p + i];
    }
    for (size_t i = p; i-- > 0;) {
        double s = b[i];
        for (size_t k = i + 1; k < p; k++)
            s -= L[k * p + i] * b[k];
        b[i] = s / L[i * p + i];
    }
}

/* Sufficient statistics per group, computed once ("plan") and reused for
 * every gamma the optimiser tries. */
typedef struct lmm_plan {
    size_t n, p, G;
    double *XtX;  /* G * p * p */
    double *s;    /* G * p: column sums of X_i */
    double *Xty;  /* G * p */
    double *sy, *yty, *ni; /* G */
    double *A, *L, *c, *beta, *tmp; /* work, p*p / p */
} lmm_plan;

typedef struct lmm_eval {
    double rvr, logdetA, logdetV, dev, grad;
} lmm_eval;

/* Profiled REML deviance and its derivative in gamma at gamma. */
static int lmm_eval_at(lmm_plan *pl, double gamma, lmm_eval *ev)
{
    size_t p = pl->p;
    memset(pl->A, 0, p * p * sizeof *pl->A);
    memset(pl->c, 0, p * sizeof *pl->c);
    double yvy = 0.0, ldv = 0.0;
    for (size_t g = 0; g < pl->G; g++) {
        double n = pl->ni[g], w = gamma / (1.0 + n * gamma);
        const double *s = pl->s + g * p;
        for (size_t a = 0; a < p; a++) {
            for (size_t b = 0; b < p; b++)
                pl->A[a * p + b] += pl->XtX[g * p * p + a * p + b] - w * s[a] * s[b];
            pl->c[a] += pl->Xty[g * p + a] - w * s[a] * pl->sy[g];
        }
        yvy += pl->yty[g] - w * pl->sy[g] * pl->sy[g];
        ldv += log1p(n * gamma);
    }
    memcpy(pl->L, pl->A, p * p * sizeof *pl->L);
    if (chol(pl->L, p))
        return -1;
    memcpy(pl->beta, pl->c, p * sizeof *pl->beta);
    chol_solve(pl->L, p, pl->beta);
    double cb = 0.0, ld = 0.0;
    for (size_t a = 0; a < p; a++) {
        cb += pl->c[a] * pl->beta[a];
        ld += 2.0 * log(pl->L[a * p + a]);
    }
    double rvr = yvy - cb, nmp = (double)(pl->n - p);
    if (!(rvr > 0))
        return -2;
    ev->rvr = rvr;
    ev->logdetA = ld;
    ev->logdetV = ldv;
    ev->dev = nmp * (1.0 + log(2.0 * M_PI * rvr / nmp)) + ldv + ld;
    /* derivative in gamma: see the header comment of this file */
    double t1 = 0.0, t2 = 0.0, t3 = 0.0;
    for (size_t g = 0; g < pl->G; g++) {
        double n = pl->ni[g], f = 1.0 / (1.0 + n * gamma);
        const double *s = pl->s + g * p;
        double sr = pl->sy[g];
        for (size_t a = 0; a < p; a++)
            sr -= s[a] * pl->beta[a];
        t1 += (sr * f) * (sr * f);
        t2 += n * f;
        for (size_t a = 0; a < p; a++)
            pl->tmp[a] = s[a] * f;
        chol_solve(pl->L, p, pl->tmp);
        for (size_t a = 0; a < p; a++)
            t3 += s[a] * f * pl->tmp[a];
    }
    ev->grad = -nmp * t1 / rvr + t2 - t3;
    return 0;
}

static void plan_free(lmm_plan *pl)
{
    free(pl->XtX);
    free(pl->s);
    free(pl->Xty);
    free(pl->sy);
    free(pl->yty);
    free(pl->ni);
    free(pl->A);
    free(pl->L);
    free(pl->c);
    free(pl->beta);
    free(pl->tmp);
}

void somna_stats_lmm_free(somna_stats_lmm *m)
{
    if (!m)
        return;
    free(m->coef);
    free(m->vcov_);
    free(m->dvcov_);
    m->coef = NULL;
    m->vcov_ = NULL;
    m->dvcov_ = NULL;
}

/* Satterthwaite df for every coefficient (see file header).  Builds the
 * n x n REML projection P = S^-1 - S^-1 X C X' S^-1 (S = Sigma, C = cov(b)
 * = (X'S^-1X)^-1 since phi1 = sigma^2 scales it in). */
static int satterthwaite(const double *X, const double *y, const size_t *grp, const size_t *gsize, size_t n,
                         size_t p, size_t G, double s2, double gamma, const double *C, double *dvcov, double *avar)
{
    double phi1 = s2, phi2 = gamma * s2, sigma = sqrt(s2), theta = sqrt(gamma);
    double *SX = malloc(n * p * sizeof *SX), *P = malloc(n * n * sizeof *P);
    double *PZ = calloc(n * G, sizeof *PZ), *ZPZ = calloc(G * G, sizeof *ZPZ);
    double *Q = malloc(n * p * sizeof *Q), *u = malloc(n * sizeof *u), *Pu = malloc(n * sizeof *Pu);
    double *zu = calloc(G, sizeof *zu), *v = malloc(n * sizeof *v), *zv = malloc(G * sizeof *zv);
    double *gs = calloc(G * p, sizeof *gs);
    int rc = -1;
    if (!SX || !P || !PZ || !ZPZ || !Q || !u || !Pu || !zu || !v || !zv || !gs)
        goto out;
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < p; a++)
            gs[grp[i] * p + a] += X[i * p + a];
    for (size_t i = 0; i < n; i++) {
        double w = phi2 / (phi1 + (double)gsize[grp[i]] * phi2);
        for (size_t a = 0; a < p; a++)
            SX[i * p + a] = (X[i * p + a] - w * gs[grp[i] * p + a]) / phi1;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < p; a++) {
            double s = 0.0;
            for (size_t b = 0; b < p; b++)
                s += SX[i * p + b] * C[b * p + a];
            Q[i * p + a] = s;
        }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double sinv = 0.0;
            if (grp[i] == grp[j]) {
                double w = phi2 / (phi1 + (double)gsize[grp[i]] * phi2);
                sinv = ((i == j ? 1.0 : 0.0) - w) / phi1;
            }
            double s = 0.0;
            for (size_t a = 0; a < p; a++)
                s += Q[i * p + a] * SX[j * p + a];
            P[i * n + j] = sinv - s;
        }
    /* u = P y, Pu = P u, Z'u, PZ, Z'PZ */
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < n; j++)
            s += P[i * n + j] * y[j];
        u[i] = s;
        zu[grp[i]] += s;
    }
    double trP = 0.0, trPP = 0.0, uu = 0.0, uPu = 0.0;
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < n; j++) {
            s += P[i * n + j] * u[j];
            PZ[i * G + grp[j]] += P[i * n + j];
            trPP += P[i * n + j] * P[i * n + j];
        }
        Pu[i] = s;
        trP += P[i * n + i];
        uu += u[i] * u[i];
    }
    for (size_t i = 0; i < n; i++) {
        uPu += u[i] * Pu[i];
        for (size_t h = 0; h < G; h++)
            ZPZ[grp[i] * G + h] += PZ[i * G + h];
    }
    double trPZZ = 0.0, trPPZZ = 0.0, trPZZPZZ = 0.0, zz = 0.0, uPZZu = 0.0, uZZPZZu = 0.0;
    for (size_t g = 0; g < G; g++) {
        trPZZ += ZPZ[g * G + g];
        zz += zu[g] * zu[g];
        for (size_t h = 0; h < G; h++) {
            trPZZPZZ += ZPZ[g * G + h] * ZPZ[g * G + h];
            uZZPZZu += zu[g] * ZPZ[g * G + h] * zu[h];
        }
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t g = 0; g < G; g++)
            trPPZZ += PZ[i * G + g] * PZ[i * G + g];
        uPZZu += Pu[i] * zu[grp[i]];
    }
    /* -2 l_REML in phi = (sigma_e^2, sigma_b^2): gradient and observed Hessian */
    double g1 = trP - uu, g2 = trPZZ - zz;
    double h11 = -trPP + 2 * uPu, h12 = -trPPZZ + 2 * uPZZu, h22 = -trPZZPZZ + 2 * uZZPZZu;
    /* to (theta, sigma): phi1 = sigma^2, phi2 = theta^2 sigma^2 */
    double J[2][2] = {{0.0, 2 * sigma}, {2 * theta * s2, 2 * theta * theta * sigma}}; /* J[k][param] */
    double Hp[2][2] = {{h11, h12}, {h12, h22}}, H[2][2];
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            double s = 0.0;
            for (int k = 0; k < 2; k++)
                for (int l = 0; l < 2; l++)
                    s += J[k][a] * Hp[k][l] * J[l][b];
            H[a][b] = s;
        }
    H[1][1] += g1 * 2.0;
    H[0][0] += g2 * 2 * s2;
    H[0][1] += g2 * 4 * theta * sigma;
    H[1][0] += g2 * 4 * theta * sigma;
    H[1][1] += g2 * 2 * theta * theta;
    double det = H[0][0] * H[1][1] - H[0][1] * H[1][0];
    if (!(fabs(det) > 0))
        goto out;
    /* A = 2 H^-1: asymptotic covariance of (theta, sigma) */
    double A[2][2] = {{2 * H[1][1] / det, -2 * H[0][1] / det}, {-2 * H[1][0] / det, 2 * H[0][0] / det}};
    avar[0] = A[0][0];
    avar[1] = A[0][1];
    avar[2] = A[1][0];
    avar[3] = A[1][1];
    /* d cov(b) / d phi_k = Q' V_k Q with Q = S^-1 X C: V_1 = I, V_2 = ZZ'.
     * Stored already transformed to (theta, sigma). */
    double *ZQ = calloc(G * p, sizeof *ZQ);
    if (!ZQ)
        goto out;
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < p; a++)
            ZQ[grp[i] * p + a] += Q[i * p + a];
    for (size_t a = 0; a < p; a++)
        for (size_t b = 0; b < p; b++) {
            double g1p = 0.0, g2p = 0.0;
            for (size_t i = 0; i < n; i++)
                g1p += Q[i * p + a] * Q[i * p + b];
            for (size_t g = 0; g < G; g++)
                g2p += ZQ[g * p + a] * ZQ[g * p + b];
            for (int t = 0; t < 2; t++)
                dvcov[(size_t)t * p * p + a * p + b] = J[0][t] * g1p + J[1][t] * g2p;
        }
    free(ZQ);
    rc = 0;
out:
    free(SX);
    free(P);
    free(PZ);
    free(ZPZ);
    free(Q);
    free(u);
    free(Pu);
    free(zu);
    free(v);
    free(zv);
    free(gs);
    return rc;
}

int somna_stats_lmm_fit(const double *X, const double *y, const size_t *group, size_t n, size_t p,
                        size_t n_groups, double conf, somna_stats_lmm *m, somna_err *err)
{
    memset(m, 0, sizeof *m);
    m->sigma2 = m->tau2 = m->reml_criterion = NAN;
    if (somna_stats_check_conf(conf, err))
        return SOMNA_E_ARG;
    if (p == 0 || n <= p)
        return somna_fail(err, SOMNA_E_DATA, "mixed model: %zu observations for %zu fixed effects: too few", n, p);
    if (n > LMM_MAX_DENSE)
        return somna_fail(err, SOMNA_E_UNSUPPORTED, "mixed model: %zu observations exceed the limit of %d", n,
                          LMM_MAX_DENSE);
    for (size_t i = 0; i < n; i++) {
        if (group[i] >= n_groups)
            return somna_fail(err, SOMNA_E_ARG, "mixed model: observation %zu has group %zu >= %zu", i + 1,
                              group[i], n_groups);
        if (!isfinite(y[i]))
            return somna_fail(err, SOMNA_E_ARG, "mixed model: observation %zu: outcome is not finite", i + 1);
        for (size_t a = 0; a < p; a++)
            if (!isfinite(X[i * p + a]))
                return somna_fail(err, SOMNA_E_ARG, "mixed model: observation %zu: predictor %zu is not finite",
                                  i + 1, a + 1);
    }
    /* renumber the groups that have observations */
    size_t *map = malloc(n_groups * sizeof *map), *grp = malloc(n * sizeof *grp), *gsize = NULL;
    lmm_plan pl;
    memset(&pl, 0, sizeof pl);
    int rc = SOMNA_OK;
    double *C = NULL, *df = NULL;
    if (!map || !grp) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t g = 0; g < n_groups; g++)
        map[g] = (size_t)-1;
    size_t G = 0;
    for (size_t i = 0; i < n; i++) {
        if (map[group[i]] == (size_t)-1)
            map[group[i]] = G++;
        grp[i] = map[group[i]];
    }
    m->n_obs = n;
    m->n_groups = G;
    m->p = p;
    if (G < 2 || G >= n) {
        rc = somna_fail(err, SOMNA_E_DATA,
                        "mixed model: %zu participants for %zu observations: need at least 2 participants and "
                        "fewer participants than observations",
                        G, n);
        goto done;
    }
    pl.n = n;
    pl.p = p;
    pl.G = G;
    pl.XtX = calloc(G * p * p, sizeof(double));
    pl.s = calloc(G * p, sizeof(double));
    pl.Xty = calloc(G * p, sizeof(double));
    pl.sy = calloc(G, sizeof(double));
    pl.yty = calloc(G, sizeof(double));
    pl.ni = calloc(G, sizeof(double));
    pl.A = malloc(p * p * sizeof(double));
    pl.L = malloc(p * p * sizeof(double));
    pl.c = malloc(p * sizeof(double));
    pl.beta = malloc(p * sizeof(double));
    pl.tmp = malloc(p * sizeof(double));
    gsize = calloc(G, sizeof *gsize);
    C = malloc(p * p * sizeof *C);
    df = malloc(p * sizeof *df);
    m->coef = calloc(p, sizeof *m->coef);
    if (!pl.XtX || !pl.s || !pl.Xty || !pl.sy || !pl.yty || !pl.ni || !pl.A || !pl.L || !pl.c || !pl.beta ||
        !pl.tmp || !gsize || !C || !df || !m->coef) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        size_t g = grp[i];
        const double *x = X + i * p;
        for (size_t a = 0; a < p; a++) {
            for (size_t b = 0; b < p; b++)
                pl.XtX[g * p * p + a * p + b] += x[a] * x[b];
            pl.s[g * p + a] += x[a];
            pl.Xty[g * p + a] += x[a] * y[i];
        }
        pl.sy[g] += y[i];
        pl.yty[g] += y[i] * y[i];
        pl.ni[g] += 1.0;
        gsize[g]++;
    }
    /* global scan over theta = sqrt(gamma), then bisection on the derivative */
    lmm_eval ev;
    double best_dev = INFINITY, best_t = 0.0;
    int ok_any = 0;
    const int NGRID = 121;
    double grid[121];
    grid[0] = 0.0;
    for (int k = 1; k < NGRID; k++)
        grid[k] = pow(10.0, -4.0 + 8.0 * (double)(k - 1) / (double)(NGRID - 2));
    for (int k = 0; k < NGRID; k++) {
        int e = lmm_eval_at(&pl, grid[k] * grid[k], &ev);
        if (e == -1) {
            rc = somna_fail(err, SOMNA_E_DATA,
                            "mixed model: the fixed-effect design is rank deficient (a condition or covariate level "
                            "without data, or collinear covariates)");
            goto done;
        }
        if (e == 0) {
            ok_any = 1;
            if (ev.dev < best_dev) {
                best_dev = ev.dev;
                best_t = grid[k];
            }
        }
    }
    if (!ok_any) {
        rc = somna_fail(err, SOMNA_E_DATA, "mixed model: residuals are exactly zero; the model fits perfectly");
        goto done;
    }
    int kbest = 0;
    for (int k = 0; k < NGRID; k++)
        if (grid[k] == best_t)
            kbest = k;
    double gamma = 0.0;
    if (kbest == 0) {
        lmm_eval_at(&pl, 0.0, &ev);
        if (ev.grad < 0) {
            kbest = 1; /* minimum between 0 and the first grid point */
        }
    }
    if (kbest > 0) {
        double lo = grid[kbest - 1], hi = kbest + 1 < NGRID ? grid[kbest + 1] : grid[kbest] * 10.0;
        lo *= lo;
        hi *= hi;
        if (lmm_eval_at(&pl, hi, &ev) == 0 && ev.grad < 0)
            hi *= 1e3; /* still falling at the top of the grid: fit is dominated by the groups */
        for (int it = 0; it < 300 && hi - lo > 1e-15 * hi; it++) {
            double mid = 0.5 * (lo + hi);
            if (lmm_eval_at(&pl, mid, &ev) != 0 || ev.grad < 0)
                lo = mid;
            else
                hi = mid;
        }
        gamma = 0.5 * (lo + hi);
    }
    m->singular = gamma == 0.0;
    if (lmm_eval_at(&pl, gamma, &ev) != 0) {
        rc = somna_fail(err, SOMNA_E_DATA, "mixed model: fit failed at the optimum");
        goto done;
    }
    double nmp = (double)(n - p), s2 = ev.rvr / nmp;
    m->sigma2 = s2;
    m->tau2 = gamma * s2;
    m->reml_criterion = ev.dev;
    /* cov(beta) = s2 * A^-1 */
    for (size_t j = 0; j < p; j++) {
        for (size_t a = 0; a < p; a++)
            pl.tmp[a] = a == j ? 1.0 : 0.0;
        chol_solve(pl.L, p, pl.tmp);
        for (size_t a = 0; a < p; a++)
            C[a * p + j] = s2 * pl.tmp[a];
    }
    m->vcov_ = C;
    C = NULL;
    m->dvcov_ = malloc(2 * p * p * sizeof *m->dvcov_);
    if (!m->dvcov_) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        goto done;
    }
    if (satterthwaite(X, y, grp, gsize, n, p, G, s2, gamma, m->vcov_, m->dvcov_, m->avar_)) {
        rc = somna_fail(err, SOMNA_E_DATA, "mixed model: Satterthwaite degrees of freedom not computable");
        goto done;
    }
    for (size_t j = 0; j < p; j++)
        m->coef[j].estimate = pl.beta[j];
    for (size_t j = 0; j < p; j++) {
        for (size_t a = 0; a < p; a++)
            df[a] = a == j ? 1.0 : 0.0;
        somna_stats_lmm_contrast(m, df, conf, &m->coef[j], NULL);
    }
done:
    free(map);
    free(grp);
    free(gsize);
    free(C);
    free(df);
    plan_free(&pl);
    if (rc != SOMNA_OK)
        somna_stats_lmm_free(m);
    return rc;
}

/* l' V l for a p x p matrix V */
static double quad(const double *V, const double *l, size_t p)
{
    double s = 0.0;
    for (size_t a = 0; a < p; a++)
        for (size_t b = 0; b < p; b++)
            s += l[a] * V[a * p + b] * l[b];
    return s;
}

/* Satterthwaite df of l'b: 2 var^2 / (g' A g), g = d var / d(theta, sigma) */
static double contrast_df(const somna_stats_lmm *m, const double *l)
{
    size_t p = m->p;
    double var = quad(m->vcov_, l, p);
    double g0 = quad(m->dvcov_, l, p), g1 = quad(m->dvcov_ + p * p, l, p);
    const double *A = m->avar_;
    double q = g0 * (A[0] * g0 + A[1] * g1) + g1 * (A[2] * g0 + A[3] * g1);
    return q > 0 ? 2.0 * var * var / q : NAN;
}

static int contrast_into(const somna_stats_lmm *m, const double *l, double conf, somna_stats_lmm_coef *c,
                         somna_err *err);

int somna_stats_lmm_contrast(const somna_stats_lmm *m, const double *l, double conf, somna_stats_lmm_coef *out,
                             somna_err *err)
{
    /* computed into a local: out may be one of m->coef */
    somna_stats_lmm_coef c;
    int rc = contrast_into(m, l, conf, &c, err);
    *out = c;
    return rc;
}

static int contrast_into(const somna_stats_lmm *m, const double *l, double conf, somna_stats_lmm_coef *c,
                         somna_err *err)
{
    c->estimate = c->se = c->df = c->t = c->p = c->ci_low = c->ci_high = NAN;
    if (!m || !m->vcov_ || !m->dvcov_ || !m->coef)
        return somna_fail(err, SOMNA_E_ARG, "mixed model contrast: the model was not fitted");
    if (somna_stats_check_conf(conf, err))
        return SOMNA_E_ARG;
    size_t p = m->p;
    double est = 0.0;
    for (size_t a = 0; a < p; a++)
        est += l[a] * m->coef[a].estimate;
    double var = quad(m->vcov_, l, p);
    if (!(var > 0))
        return somna_fail(err, SOMNA_E_ARG, "mixed model contrast: zero contrast (variance 0)");
    c->estimate = est;
    c->se = sqrt(var);
    c->t = est / c->se;
    c->df = contrast_df(m, l);
    if (isfinite(c->df) && c->df > 0) {
        c->p = 2.0 * gsl_cdf_tdist_Q(fabs(c->t), c->df);
        double q = gsl_cdf_tdist_Qinv((1.0 - conf) / 2.0, c->df);
        c->ci_low = est - q * c->se;
        c->ci_high = est + q * c->se;
        return SOMNA_OK;
    }
    return somna_fail(err, SOMNA_E_DATA, "mixed model contrast: Satterthwaite df not computable");
}

int somna_stats_lmm_ftest(const somna_stats_lmm *m, const double *L, size_t q, somna_stats_result *r,
                          somna_err *err)
{
    somna_stats_result_init(r);
    somna_strlcpy(r->test, "mixed-model F test", sizeof r->test);
    somna_strlcpy(r->statistic_name, "F", sizeof r->statistic_name);
    somna_strlcpy(r->method, "Satterthwaite denominator df (Fai & Cornelius 1996)", sizeof r->method);
    if (!m || !m->vcov_ || !m->dvcov_ || !m->coef)
        return somna_fail(err, SOMNA_E_ARG, "mixed model F test: the model was not fitted");
    size_t p = m->p;
    if (q == 0 || q > p)
        return somna_fail(err, SOMNA_E_ARG, "mixed model F test: %zu contrast rows for %zu coefficients", q, p);
    r->n = m->n_obs;
    /* V = L C L' = P D P' (Jacobi rotations: q is small) */
    double *V = calloc(q * q, sizeof *V), *P = calloc(q * q, sizeof *P), *l = malloc(p * sizeof *l);
    int rc = SOMNA_OK;
    if (!V || !P || !l) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < q; i++)
        for (size_t j = 0; j < q; j++) {
            double s = 0.0;
            for (size_t a = 0; a < p; a++)
                for (size_t b = 0; b < p; b++)
                    s += L[i * p + a] * m->vcov_[a * p + b] * L[j * p + b];
            V[i * q + j] = s;
        }
    for (size_t i = 0; i < q; i++)
        P[i * q + i] = 1.0;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0;
        for (size_t i = 0; i < q; i++)
            for (size_t j = i + 1; j < q; j++)
                off += V[i * q + j] * V[i * q + j];
        if (off < 1e-30)
            break;
        for (size_t i = 0; i < q; i++)
            for (size_t j = i + 1; j < q; j++) {
                if (V[i * q + j] == 0.0)
                    continue;
                double th = (V[j * q + j] - V[i * q + i]) / (2 * V[i * q + j]);
                double t = (th >= 0 ? 1.0 : -1.0) / (fabs(th) + sqrt(th * th + 1));
                double cs = 1 / sqrt(t * t + 1), sn = t * cs;
                for (size_t k = 0; k < q; k++) { /* V <- R' V R */
                    double a = V[k * q + i], b = V[k * q + j];
                    V[k * q + i] = cs * a - sn * b;
                    V[k * q + j] = sn * a + cs * b;
                }
                for (size_t k = 0; k < q; k++) {
                    double a = V[i * q + k], b = V[j * q + k];
                    V[i * q + k] = cs * a - sn * b;
                    V[j * q + k] = sn * a + cs * b;
                }
                for (size_t k = 0; k < q; k++) {
                    double a = P[k * q + i], b = P[k * q + j];
                    P[k * q + i] = cs * a - sn * b;
                    P[k * q + j] = sn * a + cs * b;
                }
            }
    }
    double maxd = 0.0;
    for (size_t i = 0; i < q; i++)
        maxd = fmax(maxd, V[i * q + i]);
    double F = 0.0, E = 0.0, nu_first = NAN, nu_sum = 0.0;
    size_t rank = 0;
    int any_small = 0, all_equal = 1;
    for (size_t k = 0; k < q; k++) {
        double d = V[k * q + k];
        if (!(d > 1e-8 * maxd))
            continue; /* direction without information (rank-deficient L) */
        for (size_t a = 0; a < p; a++) {
            double s = 0.0;
            for (size_t i = 0; i < q; i++)
                s += P[i * q + k] * L[i * p + a];
            l[a] = s;
        }
        double est = 0.0;
        for (size_t a = 0; a < p; a++)
            est += l[a] * m->coef[a].estimate;
        F += est * est / d;
        double nu = contrast_df(m, l);
        if (!isfinite(nu)) {
            rc = somna_fail(err, SOMNA_E_DATA, "mixed model F test: Satterthwaite df not computable");
            goto done;
        }
        nu_sum += nu;
        if (rank == 0)
            nu_first = nu;
        else if (fabs(nu - nu_first) >= 1e-8)
            all_equal = 0;
        if (nu <= 2)
            any_small = 1;
        else
            E += nu / (nu - 2);
        rank++;
    }
    if (rank == 0) {
        rc = somna_fail(err, SOMNA_E_DATA, "mixed model F test: the contrast matrix is zero");
        goto done;
    }
    /* lmerTest's rule: one df, or all equal -> that df; any <= 2 -> 2 */
    double fr = (double)rank, df2;
    if (rank == 1 || all_equal)
        df2 = nu_sum / fr;
    else if (any_small)
        df2 = 2.0;
    else
        df2 = 2.0 * E / (E - fr);
    r->statistic = F / fr;
    r->df = fr;
    r->df2 = df2;
    r->p = gsl_cdf_fdist_Q(r->statistic, fr, df2);
done:
    free(V);
    free(P);
    free(l);
    return rc;
}
