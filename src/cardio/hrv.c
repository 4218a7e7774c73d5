/* Heart-rate variability measures.  Definitions follow the Task Force of
 * the ESC/NASPE (Circulation 93:1043, 1996); conventions where the anchors
 * differ follow the PhysioNet HRV Toolkit (Mietus & Goldberger: statnn,
 * lomb, pwr as run by get_hrv) by default and the PhysioNet Cardiovascular
 * Signal Toolbox (Vest et al., Physiol. Meas. 39:105004, 2018) in its
 * compatibility mode.  Nonlinear: Poincare SD1/SD2 (Brennan et al., IEEE
 * TBME 48:1342, 2001), sample entropy (Richman & Moorman, Am J Physiol
 * 278:H2039, 2000), DFA (Peng et al., Chaos 5:82, 1995). */
#include "somna/hrv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "somna/dsp.h"

static const char *const keys[SOMNA_HRV_N_MEASURES] = {
    "NN_RR", "AVNN", "SDNN", "SDANN", "SDNNIDX", "RMSSD", "pNN50", "HR",   "TOTPWR", "ULF",    "VLF",
    "LF",    "HF",   "LF_HF", "LFnu", "HFnu",   "SD1",   "SD2",   "SampEn", "DFA_a1", "DFA_a2"};
static const char *const units[SOMNA_HRV_N_MEASURES] = {
    "",   "ms", "ms", "ms", "ms", "ms", "%", "bpm", "ms2", "ms2", "ms2",
    "ms2", "ms2", "",  "%",  "%",  "ms", "ms", "",    "",    ""};

const char *somna_hrv_key(int i) { return i >= 0 && i < SOMNA_HRV_N_MEASURES ? keys[i] : "?"; }
const char *somna_hrv_unit(int i) { return i >= 0 && i < SOMNA_HRV_N_MEASURES ? units[i] : "?"; }

void somna_hrv_default_opts(somna_hrv_opts *o)
{
    memset(o, 0, sizeof *o);
    o->psd = SOMNA_HRV_LOMB;
    o->seg_s = 300.0;
    o->pnn_s = 0.050;
    o->ulf[0] = 0.0, o->ulf[1] = 0.0033;
    o->vlf[0] = 0.0033, o->vlf[1] = 0.04;
    o->lf[0] = 0.04, o->lf[1] = 0.15;
    o->hf[0] = 0.15, o->hf[1] = 0.4;
    o->welch_fs = 4.0;
    o->welch_seg_s = 256.0;
    o->toolbox_compat = 0;
}

static int series_alloc(somna_hrv_series *s, size_t n, somna_err *err)
{
    s->n = 0;
    s->n_all = 0;
    s->ivl = malloc((n ? n : 1) * sizeof *s->ivl);
    if (!s->ivl)
        return somna_fail(err, SOMNA_E_NOMEM, "hrv: out of memory for %zu intervals", n);
    return SOMNA_OK;
}

void somna_hrv_series_free(somna_hrv_series *s)
{
    if (!s)
        return;
    free(s->ivl);
    s->ivl = NULL;
    s->n = s->n_all = 0;
}

int somna_hrv_from_beats(const double *t, const int *normal, size_t nb, somna_hrv_series *s, somna_err *err)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 1; i < nb; i++)
        if (!(t[i] > t[i - 1]))
            return somna_fail(err, SOMNA_E_DATA, "hrv: beat %zu at %.6f s is not after beat %zu at %.6f s", i,
                              t[i], i - 1, t[i - 1]);
    int rc = series_alloc(s, nb, err);
    if (rc)
        return rc;
    /* get_hrv's statnn never uses the first interval; keep it out but
     * count it in NN/RR's denominator, as get_hrv does */
    for (size_t i = 2; i < nb; i++) {
        somna_hrv_ivl v = {t[i], t[i] - t[i - 1], normal[i] && normal[i - 1], i > 2};
        s->ivl[s->n++] = v;
    }
    s->n_all = nb > 1 ? nb - 1 : 0;
    return SOMNA_OK;
}

int somna_hrv_from_rr(const double *rr, size_t n, double t0, somna_hrv_series *s, somna_err *err)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < n; i++)
        if (!(rr[i] > 0) || !isfinite(rr[i]))
            return somna_fail(err, SOMNA_E_DATA, "hrv: interval %zu is %g s (must be > 0)", i + 1, rr[i]);
    int rc = series_alloc(s, n, err);
    if (rc)
        return rc;
    double t = t0;
    for (size_t i = 0; i < n; i++) {
        t += rr[i];
        somna_hrv_ivl v = {t, rr[i], 1, i > 0};
        s->ivl[s->n++] = v;
    }
    s->n_all = n;
    return SOMNA_OK;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median5(const double *v)
{
    double w[5];
    memcpy(w, v, sizeof w);
    qsort(w, 5, sizeof *w, cmp_dbl);
    return w[2];
}

int somna_hrv_toolbox_series(const int64_t *sample, size_t n, double fs, double max_t_s, somna_hrv_series *s,
                             somna_err *err)
{
    memset(s, 0, sizeof *s);
    if (!(fs > 0))
        return somna_fail(err, SOMNA_E_ARG, "hrv: sampling rate %g Hz is not positive", fs);
    size_t m = n > 1 ? n - 1 : 0;
    double *rr = malloc((m ? m : 1) * sizeof *rr), *t = malloc((m ? m : 1) * sizeof *t);
    unsigned char *del = calloc(m ? m : 1, 1), *f = calloc(m ? m : 1, 1);
    int rc = SOMNA_OK;
    if (!rr || !t || !del || !f) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "hrv: out of memory for %zu annotations", n);
        goto done;
    }
    size_t k = 0;
    double ti = 0.0;
    for (size_t i = 0; i < m; i++) {
        /* t = cumsum(rr) in floating point, as the Toolbox's demo computes
         * it: the rounding decides on which side of a window edge a beat
         * falls (e.g. 2459.9999999 s, not 2460) */
        double ri = (double)(sample[i + 1] - sample[i]) / fs;
        ti += ri;
        if (max_t_s > 0 && !(ti < max_t_s))
            break;
        rr[k] = ri;
        t[k] = ti;
        k++;
    }
    m = k;
    /* 1. diff(t) < 1/fs: the Toolbox deletes rr(i+1) but t(i) */
    {
        unsigned char *dt = calloc(m ? m : 1, 1);
        if (!dt) {
            rc = somna_fail(err, SOMNA_E_NOMEM, "hrv: out of memory");
            goto done;
        }
        for (size_t i = 0; i + 1 < m; i++)
            if (t[i + 1] - t[i] < 1.0 / fs)
                del[i + 1] = 1, dt[i] = 1;
        size_t a = 0, b = 0;
        for (size_t i = 0; i < m; i++) {
            if (!del[i])
                rr[a++] = rr[i];
            if (!dt[i])
                t[b++] = t[i];
        }
        free(dt);
        m = a < b ? a : b;
    }
    /* 2. gap limit 2 s */
    k = 0;
    for (size_t i = 0; i < m; i++)
        if (rr[i] < 2.0)
            rr[k] = rr[i], t[k] = t[i], k++;
    m = k;
    /* 3. spikes: >= 20 % off the median of the 5 previous AND of the 5 next */
    for (size_t i = 0; i < m; i++) {
        int fw = 0, bw = 0;
        if (i >= 5) {
            double md = median5(rr + i - 5);
            fw = fabs(rr[i] - md) / md >= 0.2;
        }
        if (i + 5 < m) {
            double md = median5(rr + i + 1);
            bw = fabs(rr[i] - md) / md >= 0.2;
        }
        f[i] = (unsigned char)(fw && bw);
    }
    k = 0;
    for (size_t i = 0; i < m; i++)
        if (!f[i] && rr[i] >= 60.0 / 160.0 && rr[i] <= 2.0)
            rr[k] = rr[i], t[k] = t[i], k++;
    m = k;
    while (m > 0 && rr[m - 1] > 2.0)
        m--;
    rc = series_alloc(s, m, err);
    if (rc)
        goto done;
    for (size_t i = 0; i < m; i++) {
        somna_hrv_ivl v = {t[i], rr[i], 1, i > 0};
        s->ivl[s->n++] = v;
    }
    s->n_all = m;
done:
    free(rr), free(t), free(del), free(f);
    return rc;
}

size_t somna_hrv_filter(somna_hrv_series *s, double ratio, size_t window, double lo_s, double hi_s)
{
    size_t removed = 0, half = window / 2;
    unsigned char *drop = calloc(s->n ? s->n : 1, 1);
    if (!drop)
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!s->ivl[i].nn)
            continue;
        double rr = s->ivl[i].rr;
        if (rr < lo_s || rr > hi_s) {
            drop[i] = 1;
            continue;
        }
        size_t a = i > half ? i - half : 0, b = i + half < s->n ? i + half : s->n - 1;
        double sum = 0;
        size_t k = 0;
        for (size_t j = a; j <= b; j++)
            if (j != i && s->ivl[j].nn && s->ivl[j].rr >= lo_s && s->ivl[j].rr <= hi_s)
                sum += s->ivl[j].rr, k++;
        if (k > 0 && fabs(rr - sum / (double)k) > ratio * (sum / (double)k))
            drop[i] = 1;
    }
    for (size_t i = 0; i < s->n; i++)
        if (drop[i]) {
            s->ivl[i].nn = 0;
            removed++;
        }
    free(drop);
    return removed;
}

int somna_hrv_select_time(const somna_hrv_series *src, double t0, double t1, somna_hrv_series *dst,
                          somna_err *err)
{
    int rc = series_alloc(dst, src->n, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < src->n; i++) {
        somna_hrv_ivl v = src->ivl[i];
        if (v.t >= t0 && v.t < t1) {
            if (dst->n == 0)
                v.succ = 0;
            dst->ivl[dst->n++] = v;
        }
    }
    dst->n_all = dst->n;
    return SOMNA_OK;
}

int somna_hrv_select_stage(const somna_hrv_series *src, const somna_hypnogram *h, double offset_s, int stage,
                           somna_hrv_series *dst, somna_err *err)
{
    if (!h || !(h->epoch_s > 0))
        return somna_fail(err, SOMNA_E_ARG, "hrv: hypnogram without a valid epoch length");
    int rc = series_alloc(dst, src->n, err);
    if (rc)
        return rc;
    int prev_kept = 0;
    for (size_t i = 0; i < src->n; i++) {
        somna_hrv_ivl v = src->ivl[i];
        double tb = v.t - v.rr - offset_s, te = v.t - offset_s;
        int keep = 0;
        if (tb >= 0) {
            size_t eb = (size_t)(tb / h->epoch_s), ee = (size_t)(te / h->epoch_s);
            if (ee < h->n_epochs) {
                keep = 1;
                for (size_t e = eb; e <= ee; e++)
                    if (h->stages[e] != stage) {
                        keep = 0;
                        break;
                    }
            }
        }
        if (keep) {
            v.succ = v.succ && prev_kept;
            dst->ivl[dst->n++] = v;
        }
        prev_kept = keep;
    }
    dst->n_all = dst->n;
    return SOMNA_OK;
}

/* ---- nonlinear ------------------------------------------------------------ */
double somna_hrv_sampen(const double *x, size_t n, int m, double r)
{
    if (m < 1 || n < (size_t)m + 2)
        return NAN;
    size_t mm = (size_t)m, nt = n - mm; /* templates of length m and m+1 use the same starts */
    double a = 0, b = 0;
    for (size_t i = 0; i + 1 < nt; i++) {
        for (size_t j = i + 1; j < nt; j++) {
            size_t k = 0;
            while (k < mm && fabs(x[i + k] - x[j + k]) <= r)
                k++;
            if (k < mm)
                continue;
            b += 1;
            if (fabs(x[i + mm] - x[j + mm]) <= r)
                a += 1;
        }
    }
    if (a == 0 || b == 0)
        return NAN;
    return -log(a / b);
}

/* The Toolbox's SampEn (fastSampen on the z-scored window, m = 2,
 * r = 0.15, Chebyshev distance strictly below r): the fraction of matching
 * pairs among the N-m+1 templates of length m over that among the N-m of
 * length m+1 -- ratios of means with different denominators, unlike
 * Richman & Moorman's counts. */
static double sampen_toolbox(const double *x, size_t n, int m, double r)
{
    size_t mm = (size_t)m;
    if (n < mm + 3)
        return NAN;
    double mean = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        mean += x[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - mean) * (x[i] - mean);
    double sd = sqrt(ss / (double)(n - 1));
    if (!(sd > 0))
        return NAN;
    double *z = malloc(n * sizeof *z);
    if (!z)
        return NAN;
    for (size_t i = 0; i < n; i++)
        z[i] = (x[i] - mean) / sd;
    size_t t1 = n - mm + 1, t2 = n - mm; /* templates of length m and m+1 */
    double a = 0, b = 0;
    for (size_t i = 0; i + 1 < t1; i++)
        for (size_t j = i + 1; j < t1; j++) {
            size_t k = 0;
            while (k < mm && fabs(z[i + k] - z[j + k]) < r)
                k++;
            if (k < mm)
                continue;
            a += 1;
            if (j < t2 && fabs(z[i + mm] - z[j + mm]) < r)
                b += 1;
        }
    free(z);
    double pa = a / ((double)t1 * (double)(t1 - 1) / 2.0), pb = b / ((double)t2 * (double)(t2 - 1) / 2.0);
    if (!(pa > 0) || !(pb > 0))
        return NAN;
    return -log(pb / pa);
}

double somna_hrv_dfa(const double *x, size_t n, size_t smin, size_t smax)
{
    if (smin < 3 || smax < smin || n < 2 * smax)
        return NAN;
    double mean = 0;
    for (size_t i = 0; i < n; i++)
        mean += x[i];
    mean /= (double)n;
    double *y = malloc(n * sizeof *y);
    if (!y)
        return NAN;
    double acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc += x[i] - mean;
        y[i] = acc;
    }
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    size_t ns = 0;
    for (size_t s = smin; s <= smax; s++) {
        size_t nb = n / s;
        /* least-squares line on u = 0..s-1 in each box, residual energy */
        double su = (double)s * (double)(s - 1) / 2.0, suu = (double)(s - 1) * (double)s * (double)(2 * s - 1) / 6.0;
        double den = (double)s * suu - su * su, f2 = 0;
        for (size_t b = 0; b < nb; b++) {
            const double *yb = y + b * s;
            double sv = 0, suv = 0, svv = 0;
            for (size_t u = 0; u < s; u++) {
                sv += yb[u];
                suv += (double)u * yb[u];
                svv += yb[u] * yb[u];
            }
            double slope = ((double)s * suv - su * sv) / den, icpt = (sv - slope * su) / (double)s;
            /* sum (v - icpt - slope u)^2 expanded */
            double res = svv - 2 * icpt * sv - 2 * slope * suv + (double)s * icpt * icpt + 2 * icpt * slope * su +
                         slope * slope * suu;
            f2 += res > 0 ? res : 0;
        }
        double F = sqrt(f2 / (double)(nb * s));
        if (!(F > 0))
            continue;
        double lx = log10((double)s), ly = log10(F);
        sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly;
        ns++;
    }
    free(y);
    if (ns < 3)
        return NAN;
    return ((double)ns * sxy - sx * sy) / ((double)ns * sxx - sx * sx);
}

/* ---- the measures ----------------------------------------------------------- */
static void set_null(somna_hrv_result *r, int i, const char *why)
{
    r->v[i] = NAN;
    r->why[i] = why;
}

static double band_sum(const double *f, const double *p, size_t nf, const double *band)
{
    double s = 0;
    for (size_t k = 0; k < nf; k++)
        if (f[k] >= band[0] && f[k] <= band[1])
            s += p[k];
    return s;
}

/* Frequency domain.  Lomb (default): get_hrv's pipeline, powers in s^2 per
 * frequency summed over each band (both edges included, as pwr does).
 * Toolbox compat: unnormalised Lomb on the fixed grid k/1024 Hz, times the
 * grid step (CalcLomb + CalcLfHfParams).  Welch: 4 Hz natural spline,
 * Hann segments, density integrated by the rectangle rule. */
static int freq_domain(const double *t, const double *x, size_t n, const somna_hrv_opts *o, double *bands,
                       somna_err *err)
{
    const double *lims[4] = {o->ulf, o->vlf, o->lf, o->hf};
    double tot = 0;
    if (o->toolbox_compat) {
        enum { NF = 512 };
        double f[NF], p[NF];
        for (int k = 0; k < NF; k++)
            f[k] = (k + 1) / 1024.0;
        /* the mean is removed inside (the Toolbox's zero_mean); nout = 1
         * gives the unnormalised periodogram */
        int rc = somna_dsp_lomb_direct(t, x, n, f, NF, 1.0, p, err);
        if (rc)
            return rc;
        for (int b = 0; b < 4; b++) {
            bands[b] = band_sum(f, p, NF, lims[b]) / 1024.0 * 1e6;
            tot += bands[b];
        }
        bands[4] = tot;
        return SOMNA_OK;
    }
    if (o->psd == SOMNA_HRV_WELCH) {
        somna_dsp_spline sp;
        int rc = somna_dsp_spline_init(&sp, t, x, n, err);
        if (rc)
            return rc;
        size_t ns = (size_t)((t[n - 1] - t[0]) * o->welch_fs) + 1;
        double *g = malloc(ns * sizeof *g);
        if (!g) {
            somna_dsp_spline_free(&sp);
            return somna_fail(err, SOMNA_E_NOMEM, "hrv: out of memory");
        }
        somna_dsp_spline_eval_grid(&sp, t[0], 1.0 / o->welch_fs, ns, g);
        somna_dsp_spline_free(&sp);
        size_t seg = (size_t)(o->welch_seg_s * o->welch_fs);
        if (seg > ns)
            seg = ns;
        somna_dsp_welch *w;
        rc = somna_dsp_welch_new(seg, seg / 2, o->welch_fs, &w, err);
        if (rc) {
            free(g);
            return rc;
        }
        size_t nf = somna_dsp_welch_n_freqs(w);
        double *psd = malloc(nf * sizeof *psd);
        if (!psd || (rc = somna_dsp_welch_run(w, g, ns, psd, err)) != 0) {
            free(psd), free(g), somna_dsp_welch_free(w);
            return rc ? rc : somna_fail(err, SOMNA_E_NOMEM, "hrv: out of memory");
        }
        const double *f = somna_dsp_welch_freqs(w);
        double df = f[1] - f[0];
        for (int b = 0; b < 4; b++) {
            bands[b] = band_sum(f, psd, nf, lims[b]) * df * 1e6;
            tot += bands[b];
        }
        bands[4] = tot;
        free(psd), free(g), somna_dsp_welch_free(w);
        return SOMNA_OK;
    }
    double *f, *p;
    size_t nf;
    int rc = somna_dsp_lomb(t, x, n, 4.0, 2.0, &f, &p, &nf, err);
    if (rc)
        return rc;
    for (int b = 0; b < 4; b++) {
        bands[b] = band_sum(f, p, nf, lims[b]) * 1e6;
        tot += bands[b];
    }
    bands[4] = tot;
    free(f), free(p);
    return SOMNA_OK;
}

int somna_hrv_compute(const somna_hrv_series *s, const somna_hrv_opts *opts, somna_hrv_result *r, somna_err *err)
{
    somna_hrv_opts defo;
    if (!opts) {
        somna_hrv_default_opts(&defo);
        opts = &defo;
    }
    memset(r, 0, sizeof *r);
    for (int i = 0; i < SOMNA_HRV_N_MEASURES; i++)
        set_null(r, i, NULL);
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += s->ivl[i].nn != 0;
    r->n_nn = n;
    r->n_rr = s->n_all > s->n ? s->n_all : s->n;
    if (r->n_rr)
        r->v[SOMNA_HRV_NN_RR] = (double)n / (double)r->n_rr;
    else
        r->why[SOMNA_HRV_NN_RR] = "no interval";
    if (n < 2) {
        for (int i = 1; i < SOMNA_HRV_N_MEASURES; i++)
            r->why[i] = "fewer than 2 NN intervals";
        return SOMNA_OK;
    }
    double *x = malloc(n * sizeof *x), *t = malloc(n * sizeof *t);
    if (!x || !t) {
        free(x), free(t);
        return somna_fail(err, SOMNA_E_NOMEM, "hrv: out of memory for %zu intervals", n);
    }
    size_t k = 0;
    double sum = 0, sum2 = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->ivl[i].nn) {
            x[k] = s->ivl[i].rr;
            t[k] = s->ivl[i].t;
            sum += x[k];
            sum2 += x[k] * x[k];
            k++;
        }
    r->span_s = t[n - 1] - t[0];
    double avnn = sum / (double)n;
    double sdnn = sqrt(fmax(0.0, (sum2 - sum * sum / (double)n) / (double)(n - 1)));
    r->v[SOMNA_HRV_AVNN] = avnn * 1000;
    r->v[SOMNA_HRV_SDNN] = sdnn * 1000;
    r->v[SOMNA_HRV_HR] = 60.0 / avnn;

    /* successive differences: NN intervals that directly follow an NN
     * interval (get_hrv) or consecutive entries of the cleaned series
     * (Toolbox, which bridges removed beats) */
    double d2 = 0, dsum = 0;
    size_t nd = 0, nx = 0;
    int prev_nn = 0;
    double prev_rr = 0;
    for (size_t i = 0; i < s->n; i++) {
        const somna_hrv_ivl *v = &s->ivl[i];
        int linked = opts->toolbox_compat ? (v->nn && prev_nn) : (v->nn && v->succ && prev_nn);
        if (linked) {
            double d = v->rr - prev_rr;
            d2 += d * d;
            dsum += d;
            nd++;
            if (opts->toolbox_compat ? fabs(d) >= opts->pnn_s : fabs(d) - opts->pnn_s > 1e-10)
                nx++;
        }
        if (v->nn || !opts->toolbox_compat) {
            prev_nn = v->nn;
            prev_rr = v->rr;
        }
    }
    if (nd) {
        r->v[SOMNA_HRV_RMSSD] = sqrt(d2 / (double)nd) * 1000;
        r->v[SOMNA_HRV_PNN50] = 100.0 * (double)nx / (double)nd;
    } else {
        set_null(r, SOMNA_HRV_RMSSD, "no pair of successive NN intervals");
        set_null(r, SOMNA_HRV_PNN50, "no pair of successive NN intervals");
    }
    /* Poincare (Brennan 2001): SD1^2 = var(dRR)/2, SD2^2 = 2 SDNN^2 - SD1^2 */
    if (nd >= 2) {
        double sdsd = sqrt(fmax(0.0, (d2 - dsum * dsum / (double)nd) / (double)(nd - 1)));
        r->v[SOMNA_HRV_SD1] = sdsd / sqrt(2.0) * 1000;
        double sd2sq = 2 * sdnn * sdnn - 0.5 * sdsd * sdsd;
        if (sd2sq >= 0)
            r->v[SOMNA_HRV_SD2] = sqrt(sd2sq) * 1000;
        else
            set_null(r, SOMNA_HRV_SD2, "negative SD2^2 (degenerate series)");
    } else {
        set_null(r, SOMNA_HRV_SD1, "fewer than 2 successive NN differences");
        set_null(r, SOMNA_HRV_SD2, "fewer than 2 successive NN differences");
    }

    /* SDANN / SDNNIDX over segments starting where the series starts
     * (get_hrv's alignTime); a segment counts with >= 2 NN intervals */
    {
        double seg = opts->seg_s, base = s->ivl[0].t - s->ivl[0].rr;
        size_t nseg = (size_t)((t[n - 1] - base) / seg) + 1;
        double *ss = calloc(nseg, sizeof *ss), *ss2 = calloc(nseg, sizeof *ss2);
        size_t *sn = calloc(nseg, sizeof *sn);
        if (!ss || !ss2 || !sn) {
            free(ss), free(ss2), free(sn), free(x), free(t);
            return somna_fail(err, SOMNA_E_NOMEM, "hrv: out of memory");
        }
        for (size_t i = 0; i < n; i++) {
            size_t b = (size_t)((t[i] - base) / seg);
            if (b >= nseg)
                b = nseg - 1;
            ss[b] += x[i], ss2[b] += x[i] * x[i], sn[b]++;
        }
        double ms = 0, ms2 = 0, sdsum = 0;
        size_t used = 0;
        for (size_t b = 0; b < nseg; b++) {
            if (sn[b] < 2)
                continue;
            double m = ss[b] / (double)sn[b];
            double sd = sqrt(fmax(0.0, (ss2[b] - ss[b] * ss[b] / (double)sn[b]) / (double)(sn[b] - 1)));
            ms += m, ms2 += m * m, sdsum += sd;
            used++;
        }
        if (used >= 2)
            r->v[SOMNA_HRV_SDANN] = sqrt(fmax(0.0, (ms2 - ms * ms / (double)used) / (double)(used - 1))) * 1000;
        else
            set_null(r, SOMNA_HRV_SDANN, "needs NN intervals in at least two 5-min segments");
        if (used >= 1)
            r->v[SOMNA_HRV_SDNNIDX] = sdsum / (double)used * 1000;
        else
            set_null(r, SOMNA_HRV_SDNNIDX, "no 5-min segment with 2 NN intervals");
        free(ss), free(ss2), free(sn);
    }

    /* frequency domain; a band needs one full period of its slowest
     * frequency inside the span (ULF, VLF: 303 s; LF: 25 s; HF: 6.7 s),
     * the Toolbox's rule */
    if (n >= 4 && r->span_s > 0) {
        double bands[5];
        int rc = freq_domain(t, x, n, opts, bands, err);
        if (rc) {
            free(x), free(t);
            return rc;
        }
        const double *lims[4] = {opts->ulf, opts->vlf, opts->lf, opts->hf};
        const int idx[4] = {SOMNA_HRV_ULF, SOMNA_HRV_VLF, SOMNA_HRV_LF, SOMNA_HRV_HF};
        static const char *const short_why[4] = {
            "ULF needs >= 303 s of NN intervals (one period of 0.0033 Hz)",
            "VLF needs >= 303 s of NN intervals (one period of 0.0033 Hz)",
            "LF needs >= 25 s of NN intervals (one period of 0.04 Hz)",
            "HF needs >= 6.7 s of NN intervals (one period of 0.15 Hz)"};
        for (int b = 0; b < 4; b++) {
            double slowest = lims[b][0] > 0 ? lims[b][0] : lims[b][1];
            /* the Toolbox reports every band of every window: so does its mode */
            if (opts->toolbox_compat || r->span_s * slowest >= 1.0 - 1e-9)
                r->v[idx[b]] = bands[b];
            else
                set_null(r, idx[b], short_why[b]);
        }
        if (isfinite(r->v[SOMNA_HRV_LF]))
            r->v[SOMNA_HRV_TOTPWR] = bands[4];
        else
            set_null(r, SOMNA_HRV_TOTPWR, "total power needs >= 25 s of NN intervals (as LF)");
        double lf = r->v[SOMNA_HRV_LF], hf = r->v[SOMNA_HRV_HF];
        if (isfinite(lf) && isfinite(hf) && hf > 0) {
            r->v[SOMNA_HRV_LF_HF] = lf / hf;
            r->v[SOMNA_HRV_LFNU] = 100 * lf / (lf + hf);
            r->v[SOMNA_HRV_HFNU] = 100 * hf / (lf + hf);
        } else {
            const char *w = isfinite(lf) && isfinite(hf) ? "HF power is zero" : "LF or HF not computable";
            set_null(r, SOMNA_HRV_LF_HF, w);
            set_null(r, SOMNA_HRV_LFNU, w);
            set_null(r, SOMNA_HRV_HFNU, w);
        }
    } else {
        for (int i = SOMNA_HRV_TOTPWR; i <= SOMNA_HRV_HFNU; i++)
            set_null(r, i, "spectrum needs at least 4 NN intervals");
    }

    /* sample entropy, m = 2, r = 0.2 SDNN (O(n^2): bounded) */
    if (n < 20)
        set_null(r, SOMNA_HRV_SAMPEN, "needs >= 20 NN intervals");
    else if (n > 60000)
        set_null(r, SOMNA_HRV_SAMPEN, "more than 60000 NN intervals (O(n^2)); use --window");
    else {
        r->v[SOMNA_HRV_SAMPEN] =
            opts->toolbox_compat ? sampen_toolbox(x, n, 2, 0.15) : somna_hrv_sampen(x, n, 2, 0.2 * sdnn);
        if (!isfinite(r->v[SOMNA_HRV_SAMPEN]))
            set_null(r, SOMNA_HRV_SAMPEN, "no matching templates (undefined)");
    }
    /* DFA: alpha1 on 4..11 beats, alpha2 on 12..64 beats (at most n/4) */
    if (n >= 44)
        r->v[SOMNA_HRV_DFA_A1] = somna_hrv_dfa(x, n, 4, 11);
    if (!isfinite(r->v[SOMNA_HRV_DFA_A1]))
        set_null(r, SOMNA_HRV_DFA_A1, "needs >= 44 NN intervals (4 boxes of 11 beats)");
    {
        size_t smax = n / 4 < 64 ? n / 4 : 64;
        if (smax >= 16)
            r->v[SOMNA_HRV_DFA_A2] = somna_hrv_dfa(x, n, 12, smax);
        if (!isfinite(r->v[SOMNA_HRV_DFA_A2]))
            set_null(r, SOMNA_HRV_DFA_A2, "needs >= 64 NN intervals (4 boxes of 16 beats)");
    }
    free(x), free(t);
    return SOMNA_OK;
}
