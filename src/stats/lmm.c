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
 * the Hessian is analytic (Searle, Casella & McCulloch 1992, 6.8).  Kenward
 * & Roger (1997) adjusted covariance and F tests as pbkrtest.  No n x n
 * matrix is ever formed: every quantity reduces to per-group sums.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "somna/parse.h"
#include "stats/stats_internal.h"

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
    free(m->kr_vcov_);
    free(m->kr_P_);
    m->kr_vcov_ = NULL;
    m->kr_P_ = NULL;
    m->coef = NULL;
    m->vcov_ = NULL;
    m->dvcov_ = NULL;
}

/* Satterthwaite ingredients (see file header) without any n x n matrix.
 * With S = Sigma = phi1 I + phi2 ZZ' (block diagonal), SX = S^-1 X and
 * C = cov(b) = (X'S^-1X)^-1, the REML projection is P = S^-1 - SX C SX'.
 * Every trace and quadratic form the gradient and observed Hessian of the
 * REML deviance need reduces to per-group sums and p x p products, so the
 * cost is O(n p^2 + G p^2) in time and O(n p) in memory. */

/* C = A B for p x p matrices */
static void mm(const double *A, const double *B, double *Cout, size_t p)
{
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++) {
            double s = 0.0;
            for (size_t k = 0; k < p; k++)
                s += A[i * p + k] * B[k * p + j];
            Cout[i * p + j] = s;
        }
}

/* tr(A B) for p x p matrices */
static double tr2(const double *A, const double *B, size_t p)
{
    double s = 0.0;
    for (size_t i = 0; i < p; i++)
        for (size_t k = 0; k < p; k++)
            s += A[i * p + k] * B[k * p + i];
    return s;
}

/* v' C w for p-vectors */
static double vCw(const double *v, const double *C, const double *w, size_t p)
{
    double s = 0.0;
    for (size_t a = 0; a < p; a++)
        for (size_t b = 0; b < p; b++)
            s += v[a] * C[a * p + b] * w[b];
    return s;
}

/* out = S^-1 v for an n-vector (per-group compound symmetry) */
static void sinv_vec(const double *v, const size_t *grp, const size_t *gsize, size_t n, size_t G, double phi1,
                     double phi2, double *gsum, double *out)
{
    memset(gsum, 0, G * sizeof *gsum);
    for (size_t i = 0; i < n; i++)
        gsum[grp[i]] += v[i];
    for (size_t i = 0; i < n; i++) {
        double w = phi2 / (phi1 + (double)gsize[grp[i]] * phi2);
        out[i] = (v[i] - w * gsum[grp[i]]) / phi1;
    }
}

/* out = P v with P = S^-1 - S^-1 X C X' S^-1 and SX = S^-1 X (n x p), C the
 * p x p inverse of X' S^-1 X: the REML projection matrix applied to v.
 * vq and vp are p-vectors of scratch space. */
static void apply_p(const double *v, const size_t *grp, const size_t *gsize, size_t n, size_t G, double phi1,
                    double phi2, double *gsum, const double *SX, const double *C, size_t p, double *vq, double *vp,
                    double *out)
{
    sinv_vec(v, grp, gsize, n, G, phi1, phi2, gsum, out);
    for (size_t a = 0; a < p; a++) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += SX[i * p + a] * v[i];
        vq[a] = s;
    }
    for (size_t a = 0; a < p; a++) {
        double s = 0.0;
        for (size_t b = 0; b < p; b++)
            s += C[a * p + b] * vq[b];
        vp[a] = s;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < p; a++)
            out[i] -= SX[i * p + a] * vp[a];
}

/* Kenward & Roger (1997) small-sample adjustment, as pbkrtest computes it
 * (Halekoh & Hojsgaard 2014): with variance parameters phi = (sigma_e^2,
 * sigma_b^2), G_1 = I, G_2 = ZZ', P_i = -X'S^-1 G_i S^-1 X,
 * Q_ij = X'S^-1 G_i S^-1 G_j S^-1 X and the expected information
 * IE_ij = tr(S^-1 G_i S^-1 G_j) - 2 tr(C Q_ij) + tr(C P_i C P_j), W = 2 IE^-1
 * and the adjusted covariance C_A = C + 2 C [sum_ij W_ij (Q_ij - P_i C P_j)] C.
 * Everything reduces to p x p matrices and per-group sums. */
static int kenward_roger(size_t p, size_t G, const size_t *gsize, double phi1, double phi2, const double *C,
                         const double *M1, const double *M2, const double *K, const double *ZS, const double *ZS2,
                         double *kr_vcov, double *kr_P, double *kr_W)
{
    size_t pp = p * p;
    double *Q12 = calloc(pp, sizeof *Q12), *Q22 = calloc(pp, sizeof *Q22), *T1 = malloc(pp * sizeof *T1);
    double *T2 = malloc(pp * sizeof *T2), *U = calloc(pp, sizeof *U), *CP1 = malloc(pp * sizeof *CP1);
    double *CP2 = malloc(pp * sizeof *CP2);
    int rc = -1;
    if (!Q12 || !Q22 || !T1 || !T2 || !U || !CP1 || !CP2)
        goto out;
    double k11 = 0.0, k12 = 0.0, k22 = 0.0;
    for (size_t g = 0; g < G; g++) {
        double ng = (double)gsize[g], w = phi2 / (phi1 + ng * phi2);
        double c2 = 2.0 * w - ng * w * w;
        double d = ng * (1.0 - w * ng) / phi1, e = ng * (1.0 - c2 * ng) / (phi1 * phi1);
        k11 += ng * (1.0 - c2) / (phi1 * phi1); /* tr(S^-2) */
        k12 += e;                                /* tr(Z'S^-2 Z) */
        k22 += d * d;                            /* ||Z'S^-1 Z||^2 */
        for (size_t a = 0; a < p; a++)
            for (size_t b = 0; b < p; b++) {
                Q12[a * p + b] += ZS2[g * p + a] * ZS[g * p + b];
                Q22[a * p + b] += d * ZS[g * p + a] * ZS[g * p + b];
            }
    }
    /* P_1 = -M1, P_2 = -K; Q_11 = M2 */
    double *P1 = kr_P, *P2 = kr_P + pp;
    for (size_t a = 0; a < pp; a++) {
        P1[a] = -M1[a];
        P2[a] = -K[a];
    }
    mm(C, P1, CP1, p);
    mm(C, P2, CP2, p);
    double IE[2][2];
    IE[0][0] = k11 - 2.0 * tr2(C, M2, p) + tr2(CP1, CP1, p);
    IE[0][1] = k12 - 2.0 * tr2(C, Q12, p) + tr2(CP1, CP2, p);
    IE[1][1] = k22 - 2.0 * tr2(C, Q22, p) + tr2(CP2, CP2, p);
    IE[1][0] = IE[0][1];
    double det = IE[0][0] * IE[1][1] - IE[0][1] * IE[1][0];
    if (!(fabs(det) > 0))
        goto out;
    kr_W[0] = 2.0 * IE[1][1] / det;
    kr_W[1] = kr_W[2] = -2.0 * IE[0][1] / det;
    kr_W[3] = 2.0 * IE[0][0] / det;
    /* U = sum_ij W_ij (Q_ij - P_i C P_j) */
    const double *Qs[2][2] = {{M2, Q12}, {NULL, Q22}};
    const double *Ps[2] = {P1, P2};
    for (int i = 0; i < 2; i++)
        for (int j = i; j < 2; j++) {
            double wij = kr_W[i * 2 + j];
            mm(Ps[i], C, T1, p);
            mm(T1, Ps[j], T2, p);
            for (size_t a = 0; a < p; a++)
                for (size_t b = 0; b < p; b++) {
                    double v = wij * (Qs[i][j][a * p + b] - T2[a * p + b]);
                    U[a * p + b] += v;
                    if (i != j)
                        U[b * p + a] += v;
                }
        }
    mm(C, U, T1, p);
    mm(T1, C, T2, p);
    for (size_t a = 0; a < pp; a++)
        kr_vcov[a] = C[a] + 2.0 * T2[a];
    rc = 0;
out:
    free(Q12);
    free(Q22);
    free(T1);
    free(T2);
    free(U);
    free(CP1);
    free(CP2);
    return rc;
}

static int satterthwaite(const double *X, const double *y, const size_t *grp, const size_t *gsize, size_t n,
                         size_t p, size_t G, double s2, double gamma, const double *C, double *dvcov, double *avar,
                         double *kr_vcov, double *kr_P, double *kr_W)
{
    double phi1 = s2, phi2 = gamma * s2, sigma = sqrt(s2), theta = sqrt(gamma);
    size_t np = n * p, pp = p * p;
    double *SX = malloc(np * sizeof *SX), *S2X = malloc(np * sizeof *S2X), *col = malloc(n * sizeof *col);
    double *tmp = malloc(n * sizeof *tmp), *gsum = malloc(G * sizeof *gsum);
    double *ZS = calloc(G * p, sizeof *ZS), *ZS2 = calloc(G * p, sizeof *ZS2);
    double *M1 = malloc(pp * sizeof *M1), *M2 = malloc(pp * sizeof *M2), *K = malloc(pp * sizeof *K);
    double *CM = malloc(pp * sizeof *CM), *CK = malloc(pp * sizeof *CK), *W = malloc(pp * sizeof *W);
    double *u = malloc(n * sizeof *u), *Pu = malloc(n * sizeof *Pu), *zu = calloc(G, sizeof *zu);
    double *zPu = calloc(G, sizeof *zPu), *vp = malloc(p * sizeof *vp), *vq = malloc(p * sizeof *vq);
    int rc = -1;
    if (!SX || !S2X || !col || !tmp || !gsum || !ZS || !ZS2 || !M1 || !M2 || !K || !CM || !CK || !W || !u || !Pu ||
        !zu || !zPu || !vp || !vq)
        goto out;
    /* SX = S^-1 X and S2X = S^-2 X, column by column */
    for (size_t a = 0; a < p; a++) {
        for (size_t i = 0; i < n; i++)
            col[i] = X[i * p + a];
        sinv_vec(col, grp, gsize, n, G, phi1, phi2, gsum, tmp);
        for (size_t i = 0; i < n; i++)
            SX[i * p + a] = tmp[i];
        sinv_vec(tmp, grp, gsize, n, G, phi1, phi2, gsum, col);
        for (size_t i = 0; i < n; i++)
            S2X[i * p + a] = col[i];
    }
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < p; a++) {
            ZS[grp[i] * p + a] += SX[i * p + a];
            ZS2[grp[i] * p + a] += S2X[i * p + a];
        }
    /* M1 = SX'SX, M2 = SX'S2X, K = ZS'ZS */
    for (size_t a = 0; a < p; a++)
        for (size_t b = 0; b < p; b++) {
            double s1 = 0.0, s3 = 0.0, sk = 0.0;
            for (size_t i = 0; i < n; i++) {
                s1 += SX[i * p + a] * SX[i * p + b];
                s3 += SX[i * p + a] * S2X[i * p + b];
            }
            for (size_t g = 0; g < G; g++)
                sk += ZS[g * p + a] * ZS[g * p + b];
            M1[a * p + b] = s1;
            M2[a * p + b] = s3;
            K[a * p + b] = sk;
        }
    /* traces of S^-1 and S^-2, Z'S^-1Z diagonal d_g and 1'S_g^-2 1 = e_g */
    double trS1 = 0.0, trS2 = 0.0, sum_d2 = 0.0, sum_d_q = 0.0, trPZZ = 0.0, trPPZZ = 0.0;
    for (size_t g = 0; g < G; g++) {
        double ng = (double)gsize[g], w = phi2 / (phi1 + ng * phi2);
        double c2 = 2.0 * w - ng * w * w; /* S_g^-2 = (I - c2 J) / phi1^2 */
        double d = ng * (1.0 - w * ng) / phi1, e = ng * (1.0 - c2 * ng) / (phi1 * phi1);
        trS1 += ng * (1.0 - w) / phi1;
        trS2 += ng * (1.0 - c2) / (phi1 * phi1);
        double q = vCw(ZS + g * p, C, ZS + g * p, p); /* (ZS C ZS')_gg */
        sum_d2 += d * d;
        sum_d_q += d * q;
        trPZZ += d - q;
        /* ||P Z_g||^2 = e_g - 2 zs2_g C zs_g' + zs_g C M1 C zs_g' */
        double t3 = 0.0;
        /* vp = C zs_g' ; t3 = vp' M1 vp */
        for (size_t a = 0; a < p; a++) {
            double s = 0.0;
            for (size_t b = 0; b < p; b++)
                s += C[a * p + b] * ZS[g * p + b];
            vp[a] = s;
        }
        for (size_t a = 0; a < p; a++)
            for (size_t b = 0; b < p; b++)
                t3 += vp[a] * M1[a * p + b] * vp[b];
        double t2 = 0.0;
        for (size_t a = 0; a < p; a++)
            t2 += ZS2[g * p + a] * vp[a];
        trPPZZ += e - 2.0 * t2 + t3;
    }
    mm(C, M1, CM, p);
    mm(C, K, CK, p);
    double trP = trS1 - tr2(C, M1, p);
    double trPP = trS2 - 2.0 * tr2(C, M2, p) + tr2(CM, CM, p);
    double trPZZPZZ = sum_d2 - 2.0 * sum_d_q + tr2(CK, CK, p);
    /* u = P y, Pu = P u */
    apply_p(y, grp, gsize, n, G, phi1, phi2, gsum, SX, C, p, vq, vp, u);
    apply_p(u, grp, gsize, n, G, phi1, phi2, gsum, SX, C, p, vq, vp, Pu);
    double uu = 0.0, uPu = 0.0;
    for (size_t i = 0; i < n; i++) {
        uu += u[i] * u[i];
        uPu += u[i] * Pu[i];
        zu[grp[i]] += u[i];
        zPu[grp[i]] += Pu[i];
    }
    double zz = 0.0, uPZZu = 0.0, dzz = 0.0;
    for (size_t a = 0; a < p; a++)
        vq[a] = 0.0;
    for (size_t g = 0; g < G; g++) {
        double ng = (double)gsize[g], w = phi2 / (phi1 + ng * phi2);
        double d = ng * (1.0 - w * ng) / phi1;
        zz += zu[g] * zu[g];
        uPZZu += zPu[g] * zu[g];
        dzz += d * zu[g] * zu[g];
        for (size_t a = 0; a < p; a++)
            vq[a] += ZS[g * p + a] * zu[g]; /* ZS' zu */
    }
    double uZZPZZu = dzz - vCw(vq, C, vq, p);
    /* -2 l_REML in phi = (sigma_e^2, sigma_b^2): gradient and observed Hessian
     * (Searle, Casella & McCulloch 1992, 6.8): g_i = tr(P V_i) - y'P V_i P y,
     * H_ij = -tr(P V_i P V_j) + 2 y'P V_i P V_j P y, V_1 = I, V_2 = ZZ' */
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
    avar[0] = 2 * H[1][1] / det;
    avar[1] = -2 * H[0][1] / det;
    avar[2] = -2 * H[1][0] / det;
    avar[3] = 2 * H[0][0] / det;
    if (kr_vcov && kenward_roger(p, G, gsize, phi1, phi2, C, M1, M2, K, ZS, ZS2, kr_vcov, kr_P, kr_W))
        goto out;
    /* d cov(b) / d phi_k = Q' V_k Q with Q = SX C: Q'Q = C M1 C and
     * (Z'Q)'(Z'Q) = C K C; stored transformed to (theta, sigma) */
    mm(CM, C, M2, p); /* M2 <- C M1 C */
    mm(CK, C, W, p);  /* W  <- C K C */
    for (size_t a = 0; a < pp; a++)
        for (int t = 0; t < 2; t++)
            dvcov[(size_t)t * pp + a] = J[0][t] * M2[a] + J[1][t] * W[a];
    rc = 0;
out:
    free(SX);
    free(S2X);
    free(col);
    free(tmp);
    free(gsum);
    free(ZS);
    free(ZS2);
    free(M1);
    free(M2);
    free(K);
    free(CM);
    free(CK);
    free(W);
    free(u);
    free(Pu);
    free(zu);
    free(zPu);
    free(vp);
    free(vq);
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
    if (somna_stats_check_range(y, n, "outcome", err) || somna_stats_check_range(X, n * p, "predictor", err))
        return SOMNA_E_DATA;
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
    double *C = NULL, *unit = NULL; /* unit: e_j for the coefficient contrasts */
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
    unit = malloc(p * sizeof *unit);
    m->coef = calloc(p, sizeof *m->coef);
    if (!pl.XtX || !pl.s || !pl.Xty || !pl.sy || !pl.yty || !pl.ni || !pl.A || !pl.L || !pl.c || !pl.beta ||
        !pl.tmp || !gsize || !C || !unit || !m->coef) {
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
    m->kr_vcov_ = malloc(p * p * sizeof *m->kr_vcov_);
    m->kr_P_ = malloc(2 * p * p * sizeof *m->kr_P_);
    if (!m->dvcov_ || !m->kr_vcov_ || !m->kr_P_) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        goto done;
    }
    if (satterthwaite(X, y, grp, gsize, n, p, G, s2, gamma, m->vcov_, m->dvcov_, m->avar_, m->kr_vcov_, m->kr_P_,
                      m->kr_W_)) {
        rc = somna_fail(err, SOMNA_E_DATA, "mixed model: Satterthwaite degrees of freedom not computable");
        goto done;
    }
    for (size_t j = 0; j < p; j++)
        m->coef[j].estimate = pl.beta[j];
    for (size_t j = 0; j < p; j++) {
        for (size_t a = 0; a < p; a++)
            unit[a] = a == j ? 1.0 : 0.0;
        somna_stats_lmm_contrast(m, unit, conf, &m->coef[j], NULL);
    }
done:
    free(map);
    free(grp);
    free(gsize);
    free(C);
    free(unit);
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

/* ---- Kenward-Roger tests ---------------------------------------------------- */

/* Invert a small SPD q x q matrix in place via Cholesky; -1 if not PD. */
static int spd_inverse(double *A, size_t q)
{
    double *L = malloc(q * q * sizeof *L), *e = malloc(q * sizeof *e);
    if (!L || !e) {
        free(L);
        free(e);
        return -1;
    }
    memcpy(L, A, q * q * sizeof *L);
    int rc = chol(L, q);
    if (!rc)
        for (size_t j = 0; j < q; j++) {
            for (size_t i = 0; i < q; i++)
                e[i] = i == j ? 1.0 : 0.0;
            chol_solve(L, q, e);
            for (size_t i = 0; i < q; i++)
                A[i * q + j] = e[i];
        }
    free(L);
    free(e);
    return rc;
}

/* KR denominator df and F scaling for L (q x p) (Kenward & Roger 1997,
 * eq. 3.4-3.6; pbkrtest's .KR_adjust); *wald = (Lb)'(L C_A L')^-1 (Lb). */
static int kr_core(const somna_stats_lmm *m, const double *L, size_t q, double *df2, double *scale, double *wald)
{
    size_t p = m->p, pp = p * p;
    const double *C = m->vcov_, *CA = m->kr_vcov_;
    double *V = malloc(q * q * sizeof *V), *VA = malloc(q * q * sizeof *VA), *Th = calloc(pp, sizeof *Th);
    double *T1 = malloc(pp * sizeof *T1), *T2 = malloc(pp * sizeof *T2), *Ui[2] = {NULL, NULL};
    double *lb = malloc(q * sizeof *lb);
    Ui[0] = malloc(pp * sizeof *Ui[0]);
    Ui[1] = malloc(pp * sizeof *Ui[1]);
    int rc = -1;
    if (!V || !VA || !Th || !T1 || !T2 || !Ui[0] || !Ui[1] || !lb)
        goto out;
    for (size_t i = 0; i < q; i++) {
        double s = 0.0;
        for (size_t a = 0; a < p; a++)
            s += L[i * p + a] * m->coef[a].estimate;
        lb[i] = s;
        for (size_t j = 0; j < q; j++) {
            double v = 0.0, va = 0.0;
            for (size_t a = 0; a < p; a++)
                for (size_t b = 0; b < p; b++) {
                    v += L[i * p + a] * C[a * p + b] * L[j * p + b];
                    va += L[i * p + a] * CA[a * p + b] * L[j * p + b];
                }
            V[i * q + j] = v;
            VA[i * q + j] = va;
        }
    }
    if (spd_inverse(V, q) || spd_inverse(VA, q))
        goto out;
    /* Theta = L' (L C L')^-1 L */
    for (size_t a = 0; a < p; a++)
        for (size_t b = 0; b < p; b++) {
            double s = 0.0;
            for (size_t i = 0; i < q; i++)
                for (size_t j = 0; j < q; j++)
                    s += L[i * p + a] * V[i * q + j] * L[j * p + b];
            Th[a * p + b] = s;
        }
    double w = 0.0;
    for (size_t i = 0; i < q; i++)
        for (size_t j = 0; j < q; j++)
            w += lb[i] * VA[i * q + j] * lb[j];
    *wald = w;
    /* U_i = Theta C P_i C */
    for (int i = 0; i < 2; i++) {
        mm(Th, C, T1, p);
        mm(T1, m->kr_P_ + (size_t)i * pp, T2, p);
        mm(T2, C, Ui[i], p);
    }
    double A1 = 0.0, A2 = 0.0;
    for (int i = 0; i < 2; i++)
        for (int j = i; j < 2; j++) {
            double e = i == j ? 1.0 : 2.0, wij = m->kr_W_[i * 2 + j];
            double ti = 0.0, tj = 0.0;
            for (size_t a = 0; a < p; a++) {
                ti += Ui[i][a * p + a];
                tj += Ui[j][a * p + a];
            }
            A1 += e * wij * ti * tj;
            A2 += e * wij * tr2(Ui[i], Ui[j], p);
        }
    double fq = (double)q;
    double B = (A1 + 6.0 * A2) / (2.0 * fq);
    double g = ((fq + 1) * A1 - (fq + 4) * A2) / ((fq + 2) * A2);
    double den = 3 * fq + 2 * (1 - g);
    double c1 = g / den, c2 = (fq - g) / den, c3 = (fq + 2 - g) / den;
    double V0 = 1 + c1 * B, V1 = 1 - c2 * B, V2 = 1 - c3 * B;
    if (fabs(V0) < 1e-10)
        V0 = 0.0;
    double ratio = (1 - A2 / fq) / V1;
    double rho = ratio * ratio * V0 / (fq * V2);
    double d2 = 4 + (fq + 2) / (fq * rho - 1);
    *df2 = d2;
    *scale = fabs(d2 - 2) < 0.01 ? 1.0 : d2 * (1 - A2 / fq) / (d2 - 2);
    rc = isfinite(d2) && d2 > 0 ? 0 : -1;
out:
    free(V);
    free(VA);
    free(Th);
    free(T1);
    free(T2);
    free(Ui[0]);
    free(Ui[1]);
    free(lb);
    return rc;
}

int somna_stats_lmm_contrast_kr(const somna_stats_lmm *m, const double *l, double conf, somna_stats_lmm_coef *out,
                                somna_err *err)
{
    /* out may be one of m->coef: read the estimates before writing it */
    somna_stats_lmm_coef c = {NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    if (!m || !m->kr_vcov_ || !m->kr_P_ || !m->coef) {
        *out = c;
        return somna_fail(err, SOMNA_E_ARG, "mixed model contrast: the model was not fitted");
    }
    if (somna_stats_check_conf(conf, err)) {
        *out = c;
        return SOMNA_E_ARG;
    }
    double est = 0.0;
    for (size_t a = 0; a < m->p; a++)
        est += l[a] * m->coef[a].estimate;
    double var = quad(m->kr_vcov_, l, m->p), df2, scale, wald;
    if (!(var > 0) || kr_core(m, l, 1, &df2, &scale, &wald)) {
        *out = c;
        return somna_fail(err, SOMNA_E_DATA, "mixed model contrast: Kenward-Roger df not computable");
    }
    c.estimate = est;
    c.se = sqrt(var);
    c.t = est / c.se;
    c.df = df2;
    c.p = 2.0 * gsl_cdf_tdist_Q(fabs(c.t), df2);
    double qt = gsl_cdf_tdist_Qinv((1.0 - conf) / 2.0, df2);
    c.ci_low = est - qt * c.se;
    c.ci_high = est + qt * c.se;
    *out = c;
    return SOMNA_OK;
}

int somna_stats_lmm_ftest_kr(const somna_stats_lmm *m, const double *L, size_t q, somna_stats_result *r,
                             somna_err *err)
{
    somna_stats_result_init(r);
    somna_strlcpy(r->test, "mixed-model F test", sizeof r->test);
    somna_strlcpy(r->statistic_name, "F", sizeof r->statistic_name);
    somna_strlcpy(r->method, "Kenward-Roger (1997) scaled F and denominator df", sizeof r->method);
    if (!m || !m->kr_vcov_ || !m->kr_P_ || !m->coef)
        return somna_fail(err, SOMNA_E_ARG, "mixed model F test: the model was not fitted");
    if (q == 0 || q > m->p)
        return somna_fail(err, SOMNA_E_ARG, "mixed model F test: %zu contrast rows for %zu coefficients", q, m->p);
    double df2, scale, wald;
    if (kr_core(m, L, q, &df2, &scale, &wald))
        return somna_fail(err, SOMNA_E_DATA,
                          "mixed model F test: Kenward-Roger statistics not computable (contrast rows dependent?)");
    r->n = m->n_obs;
    r->statistic = scale * wald / (double)q;
    r->df = (double)q;
    r->df2 = df2;
    r->p = gsl_cdf_fdist_Q(r->statistic, r->df, df2);
    return SOMNA_OK;
}
