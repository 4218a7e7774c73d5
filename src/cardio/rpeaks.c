/* R-peak detector.  Stages (each named after its source):
 *  1. rate reduction and gaps: block means down to ~100-200 Hz; NaN samples
 *     are held at the last valid value and, with exactly constant stretches
 *     longer than flat_s (lead off, clipping), excluded;
 *  2. QRS band: zero-phase Butterworth band-pass (8-20 Hz), squared
 *     (Elgendi 2013: the band and the energy feature scored best on MIT-BIH);
 *  3. blocks of interest: the QRS-long moving average above the beat-long
 *     moving average plus an offset proportional to the local mean energy
 *     (Elgendi's two-moving-average rule; the offset is local, not global,
 *     so a noise burst in an 8-h night raises the bar only where it is);
 *  4. decisions in time order with a refractory period and Pan & Tompkins'
 *     (1985) T-wave test (a candidate within 360 ms of a QRS whose maximal
 *     slope is under half the QRS's is a T wave);
 *  5. search-back (Pan & Tompkins): a gap longer than 1.66 x the running
 *     mean RR is searched again with the offset removed; the strongest
 *     block is kept if its energy is a fair fraction of the typical beat;
 *  6. refinement: each beat moves to the extremum of the ECG within +-80 ms
 *     after subtracting the line joining the window ends (local baseline
 *     removal), in the lead's dominant polarity, detected as the sign whose
 *     median peak amplitude is larger.
 * Every stage only looks a bounded time around each sample (moving
 * windows, per-gap search), so the same logic can run on overlapping
 * chunks of a stream. */
#include "somna/rpeaks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "somna/dsp.h"

void somna_rpeaks_default_params(somna_rpeaks_params *p)
{
    p->band_lo_hz = 8.0;
    p->band_hi_hz = 20.0;
    p->band_order = 2;
    p->qrs_win_s = 0.097;
    p->beat_win_s = 0.611;
    p->offset_beta = 0.08;
    p->offset_win_s = 10.0;
    p->min_block_frac = 1.0;
    p->refractory_s = 0.25;
    p->twave_s = 0.36;
    p->twave_slope_ratio = 0.5;
    p->searchback_factor = 1.66;
    p->searchback_beta = 0.0;
    p->searchback_min_frac = 0.15;
    p->refine_s = 0.08;
    p->flat_s = 0.5;
}

/* Energy of the band-passed signal: bp^2, zero on unusable samples. */
static inline double energy(const double *bp, const unsigned char *bad, size_t i)
{
    return bad[i] ? 0.0 : bp[i] * bp[i];
}

/* Centered moving average of the energy over width w (odd), shrinking at
 * the edges; the interior runs without branches on the index (this is the
 * detector's hot loop) and the energy is formed on the fly, so no energy
 * array is kept. */
static void moving_average(const double *bp, const unsigned char *bad, size_t n, size_t w, double *out)
{
    size_t h = w / 2;
    if (n == 0)
        return;
    if (2 * h + 1 > n) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += energy(bp, bad, i);
        for (size_t i = 0; i < n; i++)
            out[i] = s / (double)n;
        return;
    }
    double sum = 0.0;
    for (size_t i = 0; i <= h; i++)
        sum += energy(bp, bad, i);
    for (size_t i = 0; i < h; i++) { /* left edge: window [0, i + h] */
        out[i] = sum / (double)(i + h + 1);
        sum += energy(bp, bad, i + h + 1);
    }
    double inv = 1.0 / (double)w;
    for (size_t i = h; i + h + 1 < n; i++) { /* window [i - h, i + h] */
        out[i] = sum * inv;
        sum += energy(bp, bad, i + h + 1) - energy(bp, bad, i - h);
    }
    for (size_t i = n - h - 1; i < n; i++) { /* right edge: window [i - h, n) */
        out[i] = sum / (double)(n - (i - h));
        sum -= energy(bp, bad, i - h);
    }
    for (size_t i = 0; i < n; i++)
        if (out[i] < 0)
            out[i] = 0; /* rounding drift on a non-negative signal */
}

typedef struct cand {
    size_t pos;     /* index of max energy in the block */
    double energy;  /* max of the QRS moving average in the block */
    double slope;   /* max |first difference| of the band-passed signal */
} cand;

typedef struct cand_list {
    cand *v;
    size_t n, cap;
} cand_list;

static int cand_push(cand_list *l, cand c)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 256;
        cand *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = c;
    return 0;
}

typedef struct det {
    size_t n;
    double fs;
    const double *bp, *maq, *mab, *mloc;
    const unsigned char *bad;
} det;

/* Blocks where maq > mab + beta * mloc within [a, b), at least minw long. */
static int find_blocks(const det *d, size_t a, size_t b, double beta, size_t minw, cand_list *out)
{
    size_t i = a;
    while (i < b) {
        if (d->bad[i] || !(d->maq[i] > d->mab[i] + beta * d->mloc[i])) {
            i++;
            continue;
        }
        size_t s = i;
        while (i < b && !d->bad[i] && d->maq[i] > d->mab[i] + beta * d->mloc[i])
            i++;
        if (i - s < minw)
            continue;
        cand c = {s, 0.0, 0.0};
        double ymax = -1.0;
        for (size_t k = s; k < i; k++) {
            double e = energy(d->bp, d->bad, k);
            if (e > ymax)
                ymax = e, c.pos = k;
            if (d->maq[k] > c.energy)
                c.energy = d->maq[k];
            if (k > 0) {
                double sl = fabs(d->bp[k] - d->bp[k - 1]);
                if (sl > c.slope)
                    c.slope = sl;
            }
        }
        if (cand_push(out, c))
            return -1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Detection runs at a reduced rate fd = fs / k (k = floor(fs / 100)):
 * the QRS band ends at 20 Hz, so ~100-200 Hz loses nothing there, and the
 * block mean used for the reduction is a boxcar anti-alias filter.  The
 * full-rate signal is pulled through `rd` in chunks for the reduction and
 * then only in +-refine_s windows around each beat, so the whole record
 * never needs to be in memory at full rate. */
int somna_rpeaks_detect_stream(somna_rpeaks_reader rd, void *ctx, int64_t n_total, double fs,
                               const somna_rpeaks_params *pp, int64_t **peaks, size_t *n_peaks, int *polarity,
                               somna_err *err)
{
    *peaks = NULL;
    *n_peaks = 0;
    if (polarity)
        *polarity = 1;
    somna_rpeaks_params defp;
    if (!pp) {
        somna_rpeaks_default_params(&defp);
        pp = &defp;
    }
    if (!(fs >= 50.0 && fs <= 20000.0))
        return somna_fail(err, SOMNA_E_ARG, "rpeaks: sampling rate %g Hz outside 50..20000 Hz", fs);
    if (!(pp->band_lo_hz > 0 && pp->band_hi_hz > pp->band_lo_hz && pp->band_lo_hz < 0.4 * fs) ||
        pp->band_order < 1 || pp->band_order > 10)
        return somna_fail(err, SOMNA_E_ARG, "rpeaks: QRS band %g-%g Hz (order %d) unusable at %g Hz", pp->band_lo_hz,
                          pp->band_hi_hz, pp->band_order, fs);
    if (!(pp->qrs_win_s > 0 && pp->beat_win_s > pp->qrs_win_s && pp->offset_win_s > 0 && pp->offset_beta >= 0 &&
          pp->min_block_frac > 0 && pp->refractory_s > 0 && pp->twave_s >= 0 && pp->twave_slope_ratio >= 0 &&
          pp->searchback_factor > 1 && pp->searchback_beta >= 0 && pp->searchback_min_frac >= 0 &&
          pp->refine_s > 0 && pp->flat_s > 0))
        return somna_fail(err, SOMNA_E_ARG, "rpeaks: a detector parameter is out of range (see somna_rpeaks_params)");
    if (n_total < 0)
        return somna_fail(err, SOMNA_E_ARG, "rpeaks: negative signal length");
    size_t n = (size_t)n_total;
    if ((double)n < 2.0 * pp->beat_win_s * fs + 8)
        return SOMNA_OK; /* shorter than two beats: nothing to find */

    size_t k = fs >= 200.0 ? (size_t)(fs / 100.0) : 1;
    size_t nd = n / k;
    double fd = fs / (double)k;
    size_t wq = (size_t)lround(pp->qrs_win_s * fd) | 1u;
    size_t hw = (size_t)(pp->refine_s * fs);
    size_t chunk_blocks = 65536 / k + 1, chunk = chunk_blocks * k;

    int rc = SOMNA_OK;
    /* the reduced-rate signal is band-passed in place (xd and bp share memory:
     * fewer pages to fault in is most of the speed on a 30-min record) */
    double *xd = malloc(nd * sizeof *xd), *bp = xd;
    double *maq = malloc(nd * sizeof *maq), *mab = malloc(nd * sizeof *mab), *mloc = malloc(nd * sizeof *mloc);
    unsigned char *bad = calloc(nd, 1);
    double *buf = malloc((chunk > 2 * hw + 1 ? chunk : 2 * hw + 1) * sizeof *buf);
    cand_list cands = {0}, acc = {0}, extra = {0};
    int64_t *out = NULL;
    double *pos_amp = NULL, *neg_amp = NULL;
    somna_dsp_sos sos = {0};
    if (!xd || !maq || !mab || !mloc || !bad || !buf) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "rpeaks: out of memory for %zu samples", n);
        goto done;
    }

    /* 1. reduce the rate by block means, chunk by chunk; NaNs are held at
     *    the last valid value (blocks before the first valid sample take
     *    its value); NaN samples and exactly constant runs >= flat_s are
     *    marked unusable (in reduced-rate samples). */
    {
        double last = NAN, prev = NAN;
        size_t flat_min = (size_t)(pp->flat_s * fs), run = 0, n_lead = 0;
        if (flat_min < 2)
            flat_min = 2;
        for (size_t j0 = 0; j0 < nd; j0 += chunk_blocks) {
            size_t nb = nd - j0 < chunk_blocks ? nd - j0 : chunk_blocks;
            if ((rc = rd(ctx, (int64_t)(j0 * k), (int64_t)(nb * k), buf, err)) != 0)
                goto done;
            for (size_t jj = 0; jj < nb; jj++) {
                size_t j = j0 + jj;
                const double *blk = buf + jj * k;
                double s = 0.0;
                size_t same = 0;
                for (size_t m = 0; m < k; m++) { /* fast path: finite, no repeated value */
                    s += blk[m];
                    same += blk[m] == (m ? blk[m - 1] : prev);
                }
                if (s == s && isfinite(s) && same == 0 && run == 0 && last == last) {
                    xd[j] = s / (double)k;
                    last = prev = blk[k - 1];
                    continue;
                }
                s = 0.0;
                for (size_t m = 0; m < k; m++) {
                    size_t i = j * k + m;
                    double v = blk[m];
                    if (isfinite(v)) {
                        if (last != last) { /* first valid sample: back-fill the leading blocks */
                            for (size_t q = 0; q < j; q++)
                                xd[q] = v;
                            for (size_t q = 0; q < m; q++)
                                s += v;
                            n_lead = j;
                        }
                        last = v;
                    } else {
                        bad[j] = 1;
                    }
                    if (last == last)
                        s += last;
                    if (v == prev) {
                        run++;
                    } else {
                        if (run + 1 >= flat_min) {
                            size_t first = (i - run - 1) / k;
                            for (size_t q = first; q <= j && q < nd; q++)
                                bad[q] = 1;
                        }
                        run = 0;
                    }
                    prev = v;
                }
                xd[j] = last == last ? s / (double)k : 0.0;
            }
        }
        (void)n_lead;
        if (last != last)
            goto done; /* no valid sample at all */
        if (run + 1 >= flat_min)
            for (size_t q = (nd * k - run - 1) / k; q < nd; q++)
                bad[q] = 1;
    }

    /* 2. QRS band energy */
    {
        double hi = pp->band_hi_hz < 0.45 * fd ? pp->band_hi_hz : 0.45 * fd;
        rc = somna_dsp_butter(pp->band_order, SOMNA_DSP_BANDPASS, pp->band_lo_hz, hi, fd, &sos, err);
        if (rc)
            goto done;
        rc = somna_dsp_sosfiltfilt(&sos, xd, nd, bp, err); /* bp may alias xd */
        somna_dsp_sos_free(&sos);
        if (rc)
            goto done;
    }

    /* 3. the two moving averages and the local offset level */
    moving_average(bp, bad, nd, wq, maq);
    moving_average(bp, bad, nd, (size_t)lround(pp->beat_win_s * fd) | 1u, mab);
    moving_average(bp, bad, nd, (size_t)lround(pp->offset_win_s * fd) | 1u, mloc);
    det d = {nd, fd, bp, maq, mab, mloc, bad};
    size_t minw = (size_t)(pp->min_block_frac * (double)wq);
    if (find_blocks(&d, 0, nd, pp->offset_beta, minw ? minw : 1, &cands))
        goto nomem;

    /* 4. decisions: refractory period and T-wave test */
    size_t refr = (size_t)(pp->refractory_s * fd), tw = (size_t)(pp->twave_s * fd);
    for (size_t i = 0; i < cands.n; i++) {
        cand c = cands.v[i];
        if (acc.n) {
            cand *lastc = &acc.v[acc.n - 1];
            size_t gap = c.pos - lastc->pos;
            if (gap < refr) {
                if (c.energy > lastc->energy)
                    *lastc = c;
                continue;
            }
            if (gap < tw && c.slope < pp->twave_slope_ratio * lastc->slope)
                continue;
        }
        if (cand_push(&acc, c))
            goto nomem;
    }

    /* 5. search-back in long gaps */
    if (acc.n >= 3) {
        double *en = malloc(acc.n * sizeof *en);
        if (!en)
            goto nomem;
        for (size_t i = 0; i < acc.n; i++)
            en[i] = acc.v[i].energy;
        double med_e = median_of(en, acc.n);
        free(en);
        cand_list merged = {0};
        double rr_mean = (double)(acc.v[acc.n - 1].pos - acc.v[0].pos) / (double)(acc.n - 1);
        double recent[8];
        size_t nrec = 0;
        for (size_t i = 0; i < acc.n; i++) {
            if (i > 0) {
                size_t a = acc.v[i - 1].pos, b = acc.v[i].pos;
                if (nrec > 0) { /* running mean of the last 8 RR intervals */
                    double s = 0;
                    size_t kk = nrec < 8 ? nrec : 8;
                    for (size_t j = 0; j < kk; j++)
                        s += recent[j];
                    rr_mean = s / (double)kk;
                }
                size_t prev = a;
                while ((double)(b - prev) > pp->searchback_factor * rr_mean && b - prev > 2 * refr) {
                    extra.n = 0;
                    if (find_blocks(&d, prev + refr, b - refr, pp->searchback_beta, minw / 2 ? minw / 2 : 1,
                                    &extra)) {
                        free(merged.v);
                        goto nomem;
                    }
                    size_t best = extra.n;
                    for (size_t j = 0; j < extra.n; j++)
                        if (extra.v[j].energy >= pp->searchback_min_frac * med_e &&
                            (best == extra.n || extra.v[j].energy > extra.v[best].energy))
                            best = j;
                    if (best == extra.n)
                        break;
                    /* the earliest block of comparable strength, so the search walks forward */
                    size_t pick = best;
                    for (size_t j = 0; j < extra.n; j++)
                        if (extra.v[j].energy >= 0.5 * extra.v[best].energy) {
                            pick = j;
                            break;
                        }
                    if (cand_push(&merged, extra.v[pick])) {
                        free(merged.v);
                        goto nomem;
                    }
                    prev = extra.v[pick].pos;
                }
                double rr = (double)(b - a);
                if (nrec == 0 || rr < 3.0 * rr_mean) {
                    recent[nrec % 8] = rr;
                    nrec++;
                }
            }
            if (cand_push(&merged, acc.v[i])) {
                free(merged.v);
                goto nomem;
            }
        }
        free(acc.v);
        acc = merged;
    }

    /* 6. refinement at full rate: extremum of the ECG minus the straight
     *    line joining the window ends (removes baseline wander locally), in
     *    the lead's dominant polarity.  One window read per beat through
     *    `rd`; both extrema are kept so the polarity can be decided after. */
    if (acc.n) {
        pos_amp = malloc(acc.n * sizeof *pos_amp);
        neg_amp = malloc(acc.n * sizeof *neg_amp);
        out = malloc(2 * acc.n * sizeof *out); /* [0, n): argmax, [n, 2n): argmin */
        if (!pos_amp || !neg_amp || !out)
            goto nomem;
        for (size_t i = 0; i < acc.n; i++) {
            size_t c = acc.v[i].pos * k + k / 2;
            size_t lo = c > hw ? c - hw : 0, hi = c + hw < n ? c + hw : n - 1;
            size_t base = lo; /* buf[q - base] = sample q */
            if ((rc = rd(ctx, (int64_t)lo, (int64_t)(hi - lo + 1), buf, err)) != 0)
                goto done;
            while (lo < hi && !isfinite(buf[lo - base]))
                lo++;
            while (hi > lo && !isfinite(buf[hi - base]))
                hi--;
            double e0 = isfinite(buf[lo - base]) ? buf[lo - base] : 0.0;
            double e1 = isfinite(buf[hi - base]) ? buf[hi - base] : e0;
            double slope = hi > lo ? (e1 - e0) / (double)(hi - lo) : 0.0;
            double mx = -INFINITY, mn = INFINITY;
            size_t imax = c < n ? c : n - 1, imin = imax;
            for (size_t q = lo; q <= hi; q++) {
                double wv = buf[q - base];
                if (!isfinite(wv))
                    continue;
                double v = wv - (e0 + slope * (double)(q - lo));
                if (v > mx)
                    mx = v, imax = q;
                if (v < mn)
                    mn = v, imin = q;
            }
            pos_amp[i] = mx > 0 ? mx : 0.0;
            neg_amp[i] = mn < 0 ? -mn : 0.0;
            out[i] = (int64_t)imax;
            out[acc.n + i] = (int64_t)imin;
        }
        int neg = median_of(pos_amp, acc.n) < median_of(neg_amp, acc.n); /* median_of sorts: amps not reused */
        if (polarity)
            *polarity = neg ? -1 : 1;
        size_t m = 0;
        for (size_t i = 0; i < acc.n; i++) {
            int64_t best = out[neg ? acc.n + i : i];
            if (m > 0 && best - out[m - 1] < (int64_t)(pp->refractory_s * fs / 2))
                continue; /* two candidates refined onto one beat */
            out[m++] = best; /* m <= i: never overwrites an unread entry */
        }
        *peaks = out;
        *n_peaks = m;
        out = NULL;
    }
    goto done;
nomem:
    rc = somna_fail(err, SOMNA_E_NOMEM, "rpeaks: out of memory");
done:
    free(xd), free(maq), free(mab), free(mloc), free(bad), free(buf);
    free(cands.v), free(acc.v), free(extra.v), free(out), free(pos_amp), free(neg_amp);
    return rc;
}

typedef struct array_src {
    const double *x;
} array_src;

static int array_read(void *ctx, int64_t first, int64_t n, double *out, somna_err *err)
{
    (void)err;
    memcpy(out, ((const array_src *)ctx)->x + first, (size_t)n * sizeof *out);
    return SOMNA_OK;
}

int somna_rpeaks_detect(const double *ecg, size_t n, double fs, const somna_rpeaks_params *pp, int64_t **peaks,
                        size_t *n_peaks, int *polarity, somna_err *err)
{
    array_src src = {ecg};
    return somna_rpeaks_detect_stream(array_read, &src, (int64_t)n, fs, pp, peaks, n_peaks, polarity, err);
}

/* ---- evaluation ---------------------------------------------------------- */
typedef struct pair {
    int64_t dist;
    size_t r, t;
} pair;

static int cmp_pair(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->dist != y->dist)
        return x->dist < y->dist ? -1 : 1;
    if (x->r != y->r)
        return x->r < y->r ? -1 : 1;
    return (x->t > y->t) - (x->t < y->t);
}

int somna_rpeaks_evaluate(const int64_t *ref, size_t n_ref, const int64_t *test, size_t n_test, double fs,
                          int64_t from, int64_t to, double window_s, somna_rpeaks_eval *out, somna_err *err)
{
    memset(out, 0, sizeof *out);
    if (!(fs > 0) || !(window_s > 0))
        return somna_fail(err, SOMNA_E_ARG, "evaluate: sampling rate and window must be positive");
    for (size_t i = 1; i < n_ref; i++)
        if (ref[i] < ref[i - 1])
            return somna_fail(err, SOMNA_E_DATA, "evaluate: reference beats not in time order at %zu", i);
    for (size_t i = 1; i < n_test; i++)
        if (test[i] < test[i - 1])
            return somna_fail(err, SOMNA_E_DATA, "evaluate: detections not in time order at %zu", i);
    int64_t win = (int64_t)floor(window_s * fs + 1e-9);
    int64_t end = to > 0 ? to : INT64_MAX;
#define IN_RANGE(s) ((s) >= from && (s) < end)
    /* candidate pairs within the window (two pointers), closest first */
    pair *pairs = NULL;
    size_t np = 0, cap = 0;
    size_t j0 = 0;
    for (size_t i = 0; i < n_ref; i++) {
        while (j0 < n_test && test[j0] < ref[i] - win)
            j0++;
        for (size_t j = j0; j < n_test && test[j] <= ref[i] + win; j++) {
            if (np == cap) {
                size_t nc = cap ? 2 * cap : 1024;
                pair *nv = realloc(pairs, nc * sizeof *nv);
                if (!nv) {
                    free(pairs);
                    return somna_fail(err, SOMNA_E_NOMEM, "evaluate: out of memory");
                }
                pairs = nv, cap = nc;
            }
            int64_t dd = test[j] - ref[i];
            pairs[np++] = (pair){dd < 0 ? -dd : dd, i, j};
        }
    }
    qsort(pairs, np, sizeof *pairs, cmp_pair);
    unsigned char *rm = calloc(n_ref + 1, 1), *tm = calloc(n_test + 1, 1);
    if (!rm || !tm) {
        free(pairs), free(rm), free(tm);
        return somna_fail(err, SOMNA_E_NOMEM, "evaluate: out of memory");
    }
    double sum = 0, sum2 = 0;
    for (size_t k = 0; k < np; k++) {
        pair p = pairs[k];
        if (rm[p.r] || tm[p.t])
            continue;
        rm[p.r] = tm[p.t] = 1;
        /* a pair counts if its reference beat is in range (bxb's rule) */
        if (IN_RANGE(ref[p.r])) {
            out->tp++;
            double e = (double)(test[p.t] - ref[p.r]) * 1000.0 / fs;
            sum += e;
            sum2 += e * e;
        }
    }
    for (size_t i = 0; i < n_ref; i++)
        if (!rm[i] && IN_RANGE(ref[i]))
            out->fn++;
    for (size_t j = 0; j < n_test; j++)
        if (!tm[j] && IN_RANGE(test[j]))
            out->fp++;
#undef IN_RANGE
    out->se = out->tp + out->fn ? (double)out->tp / (double)(out->tp + out->fn) : NAN;
    out->ppv = out->tp + out->fp ? (double)out->tp / (double)(out->tp + out->fp) : NAN;
    out->err_mean_ms = out->tp ? sum / (double)out->tp : NAN;
    out->err_sd_ms = out->tp > 1 ? sqrt(fmax(0.0, (sum2 - sum * sum / (double)out->tp) / (double)(out->tp - 1)))
                                 : NAN;
    free(pairs), free(rm), free(tm);
    return SOMNA_OK;
}
