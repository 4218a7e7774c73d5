/* R-peak detector.  Stages (each named after its source):
 *  1. rate reduction and gaps: block sums (k x the block mean: every later
 *     stage is scale-invariant, so the division is left out) down to
 *     ~100-200 Hz; NaN samples
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
 * Stages 1-3 only look a bounded time around each sample (filter
 * transients, moving windows), so they run on overlapping windows of the
 * stream with bounded memory (see "bounded-memory feature windows"); the
 * decisions need only the candidate list, and search-back recomputes the
 * features around its gap. */
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

/* Centered moving averages of the energy e[0..n) over the widths w[0..2]
 * (odd), shrinking at the edges.  Each average is a running sum (add the
 * sample entering, subtract the one leaving); the three sums advance in
 * one loop where all three windows are inside the signal, so their
 * dependency chains overlap (this is the detector's hot loop).  Every sum
 * sees the same operations in the same order as it would alone. */
typedef struct ma_run {
    size_t h;
    double sum, inv, *out;
} ma_run;

static inline void ma_step(ma_run *m, const double *e, size_t i)
{
    double v = m->sum * m->inv;
    m->out[i] = v < 0 ? 0 : v; /* rounding drift on a non-negative signal */
    m->sum += e[i + m->h + 1] - e[i - m->h];
}

static void moving_averages(const double *e, size_t n, const size_t w[3], double *out[3])
{
    if (n == 0)
        return;
    ma_run m[3];
    size_t hmax = 0;
    int small = 0;
    for (int r = 0; r < 3; r++) {
        m[r] = (ma_run){w[r] / 2, 0.0, 1.0 / (double)w[r], out[r]};
        small |= 2 * m[r].h + 1 > n;
        if (m[r].h > hmax)
            hmax = m[r].h;
    }
    if (small) { /* a window longer than the signal: plain means (rare; kept simple) */
        for (int r = 0; r < 3; r++) {
            size_t h = m[r].h;
            if (2 * h + 1 > n) {
                double s = 0;
                for (size_t i = 0; i < n; i++)
                    s += e[i];
                for (size_t i = 0; i < n; i++)
                    out[r][i] = s / (double)n < 0 ? 0 : s / (double)n;
                continue;
            }
            double sum = 0.0;
            for (size_t i = 0; i <= h; i++)
                sum += e[i];
            for (size_t i = 0; i < h; i++) {
                double v = sum / (double)(i + h + 1);
                out[r][i] = v < 0 ? 0 : v;
                sum += e[i + h + 1];
            }
            m[r].sum = sum;
            for (size_t i = h; i + h + 1 < n; i++)
                ma_step(&m[r], e, i);
            sum = m[r].sum;
            for (size_t i = n - h - 1; i < n; i++) {
                double v = sum / (double)(n - (i - h));
                out[r][i] = v < 0 ? 0 : v;
                sum -= e[i - h];
            }
        }
        return;
    }
    for (int r = 0; r < 3; r++) { /* left edge: window [0, i + h]; then alone up to hmax */
        size_t h = m[r].h;
        double sum = 0.0;
        for (size_t i = 0; i <= h; i++)
            sum += e[i];
        for (size_t i = 0; i < h; i++) {
            double v = sum / (double)(i + h + 1);
            out[r][i] = v < 0 ? 0 : v;
            sum += e[i + h + 1];
        }
        m[r].sum = sum;
        for (size_t i = h; i < hmax && i + h + 1 < n; i++)
            ma_step(&m[r], e, i);
    }
    size_t i = hmax;
    for (; i + hmax + 1 < n; i++) { /* all three inside: one loop */
        ma_step(&m[0], e, i);
        ma_step(&m[1], e, i);
        ma_step(&m[2], e, i);
    }
    for (int r = 0; r < 3; r++) { /* the rest of each interior, then the right edge */
        size_t h = m[r].h;
        for (size_t j = i > h ? i : h; j + h + 1 < n; j++)
            ma_step(&m[r], e, j);
        double sum = m[r].sum;
        for (size_t j = n - h - 1; j < n; j++) { /* window [j - h, n) */
            double v = sum / (double)(n - (j - h));
            out[r][j] = v < 0 ? 0 : v;
            sum -= e[j - h];
        }
    }
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

/* One window of the reduced-rate feature arrays: samples [off, off + len). */
typedef struct det {
    size_t off, len;
    const double *bp, *maq, *mab, *mloc;
    const unsigned char *bad;
} det;

static inline int in_block(const det *d, size_t i, double beta)
{
    size_t q = i - d->off;
    return !d->bad[q] && d->maq[q] > d->mab[q] + beta * d->mloc[q];
}

/* Blocks where maq > mab + beta * mloc within [a, b), at least minw long
 * (a block is cut at a and b); d must hold [a - 1, b) (a - 1 when a > 0). */
static int find_blocks(const det *d, size_t a, size_t b, double beta, size_t minw, cand_list *out)
{
    size_t i = a, o = d->off;
    while (i < b) {
        if (!in_block(d, i, beta)) {
            i++;
            continue;
        }
        size_t s = i;
        while (i < b && in_block(d, i, beta))
            i++;
        if (i - s < minw)
            continue;
        cand c = {s, 0.0, 0.0};
        double ymax = -1.0;
        for (size_t k = s; k < i; k++) {
            double e = energy(d->bp, d->bad, k - o);
            if (e > ymax)
                ymax = e, c.pos = k;
            if (d->maq[k - o] > c.energy)
                c.energy = d->maq[k - o];
            if (k > 0) {
                double sl = fabs(d->bp[k - o] - d->bp[k - 1 - o]);
                if (sl > c.slope)
                    c.slope = sl;
            }
        }
        if (cand_push(out, c))
            return -1;
    }
    return 0;
}

/* The block in progress, carried from one window to the next (see
 * scan_window), so blocks of any length are found whole. */
typedef struct blk_scan {
    int open;
    size_t start;
    double ymax;
    cand c;
} blk_scan;

/* k-th smallest of v[0..n) (v is reordered): Hoare's FIND (Commun. ACM
 * 4:321, 1961), expected linear time instead of a full sort. */
static double select_kth(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j], v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break; /* v[j + 1 .. i - 1] all equal the pivot */
    }
    return v[k];
}

/* Median of v[0..n) (v is reordered; values must not be NaN). */
static double median_of(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    double hi = select_kth(v, n, n / 2);
    if (n % 2)
        return hi;
    /* even n: the other middle value is the largest of the lower part */
    double lo = v[0];
    for (size_t i = 1; i < n / 2; i++)
        if (v[i] > lo)
            lo = v[i];
    return 0.5 * (lo + hi);
}

/* ---- bounded-memory feature windows -----------------------------------------
 * Stages 1-3 run window by window over the reduced-rate signal: a core of
 * CORE samples plus a margin on each side long enough that the zero-phase
 * filter's start-up transients (|pole|^margin < 1e-30), the longest moving
 * average and a flat-line run at the window edge cannot reach the core.
 * The rate-reduction state (last valid value, previous sample, length of
 * the constant run) is saved every GRID reduced samples so that any window
 * can start exactly where the sequential reduction would be.  Working
 * memory is a few windows, not the record (an 8-h night at 256 Hz:
 * ~0.6 MB instead of ~150 MB), so it stays in cache and costs few page faults. */
enum { GRID = 512, CORE = 32 * GRID, RAW_BLOCKS = 512, FLAT_BLOCK = 16 };

typedef struct red_state {
    double last, prev; /* last valid sample (NaN before the first), previous raw sample */
    size_t run;        /* consecutive repeats of prev */
} red_state;

/* The arrays of one window: ext holds the samples at xd = ext + padlen,
 * with room for filtfilt's edge extensions on both sides, so the filter
 * runs in place (xd is then the band-passed signal); bad flags. */
typedef struct wbuf {
    double *ext, *xd;
    unsigned char *bad;
    size_t cap, off, len; /* capacity; the window holds reduced samples [off, off + len) */
} wbuf;

typedef struct work {
    somna_rpeaks_reader rd;
    void *ctx;
    size_t n, nd, k, flat_min, wq, wb, wl;
    size_t transient;    /* reduced samples after which filter start-up transients are < 1e-30 */
    size_t margin;       /* of the main pass's windows (a multiple of GRID) */
    size_t margin_sb;    /* of the search-back's windows */
    double *raw;         /* RAW_BLOCKS * k full-rate samples */
    red_state *snap;     /* state at reduced sample g * GRID */
    size_t n_snap;
    size_t ns, padlen;   /* filter sections, filtfilt edge padding */
    double (*co)[5];     /* b0 b1 b2 a1 a2 per section (a0 divided out) */
    double *zi;          /* steady-state section states for a unit step */
    wbuf buf[2];         /* two windows: their filters run side by side */
    double *maq, *mab, *mloc; /* moving averages of the window in stage 3 (one at a time) */
    size_t ma_cap;
    double *en;          /* energy of the window being scanned (one at a time) */
    size_t en_cap;
    /* stage-1 output of the previous window's tail, reused by the next
     * window (each full-rate sample is read and reduced once) */
    double *cx;
    unsigned char *cb;
    size_t c0, c1;       /* carry holds reduced samples [c0, c1) ... */
    red_state cst;       /* ... and the reduction state at c1 */
} work;

static void work_free(work *w)
{
    free(w->raw), free(w->snap), free(w->co), free(w->zi);
    for (int i = 0; i < 2; i++)
        free(w->buf[i].ext), free(w->buf[i].bad);
    free(w->en);
    free(w->maq), free(w->mab), free(w->mloc);
    free(w->cx), free(w->cb);
}

/* The energy scratch for a window of len samples. */
static double *work_energy(work *w, size_t len)
{
    if (len > w->en_cap) {
        double *x = realloc(w->en, len * sizeof *x);
        if (!x)
            return NULL;
        w->en = x;
        w->en_cap = len;
    }
    return w->en;
}

static int wbuf_reserve(wbuf *b, size_t len, size_t padlen)
{
    if (len <= b->cap)
        return 0;
    double *x = realloc(b->ext, (len + 2 * padlen) * sizeof *x);
    if (!x)
        return -1;
    b->ext = x;
    b->xd = x + padlen;
    unsigned char *u = realloc(b->bad, len);
    if (!u)
        return -1;
    b->bad = u;
    b->cap = len;
    return 0;
}

/* Stage 1 over reduced samples [j, j1) of the window starting at j0, from
 * the reduction state *st (updated): block sums of k samples into xd,
 * unusable samples into bad (NaN samples and exactly constant runs >=
 * flat_min), NaNs held at the last valid value; a run still constant at j1
 * is marked as at the end of the signal (if it matters it is already >=
 * flat_min long: the margin is longer). */
static int reduce(work *w, wbuf *wb, size_t j0, size_t jstart, size_t j1, red_state *st, somna_err *err)
{
    const size_t k = w->k;
    double *xd = wb->xd;
    unsigned char *bad = wb->bad;
    memset(bad + (jstart - j0), 0, j1 - jstart);
    double last = st->last, prev = st->prev;
    size_t run = st->run;
    for (size_t c0 = jstart; c0 < j1; c0 += RAW_BLOCKS) {
        size_t nb = j1 - c0 < RAW_BLOCKS ? j1 - c0 : RAW_BLOCKS;
        int rc = w->rd(w->ctx, (int64_t)(c0 * k), (int64_t)(nb * k), w->raw, err);
        if (rc)
            return rc;
        for (size_t s0 = 0, s1; s0 < nb; s0 = s1) {
            /* segments of blocks that do not cross a grid point; a segment
             * of finite samples (the usual case) runs in two tight loops:
             * block sums, then the constant-run bookkeeping */
            size_t jseg = c0 + s0;
            s1 = s0 + (GRID - jseg % GRID);
            if (s1 > nb)
                s1 = nb;
            if (jseg % GRID == 0 && jseg / GRID < w->n_snap)
                w->snap[jseg / GRID] = (red_state){last, prev, run};
            const double *seg = w->raw + s0 * k;
            int finite = last == last;
            double *o = xd + (jseg - j0);
            size_t nblk = s1 - s0;
            double chk = 0.0; /* NaN and Inf propagate into the sums, and from them into chk */
            if (finite && k == 3) { /* 360 Hz (MIT-BIH) */
                for (size_t b = 0; b < nblk; b++) {
                    double sum = seg[3 * b] + seg[3 * b + 1] + seg[3 * b + 2];
                    chk += sum - sum;
                    o[b] = sum;
                }
            } else if (finite && k == 2) { /* 200-299 Hz (most PSG ECG: 256 Hz) */
                for (size_t b = 0; b < nblk; b++) {
                    double sum = seg[2 * b] + seg[2 * b + 1];
                    chk += sum - sum;
                    o[b] = sum;
                }
            } else if (finite) {
                for (size_t b = 0; b < nblk; b++) {
                    double sum = seg[b * k];
                    for (size_t m = 1; m < k; m++)
                        sum += seg[b * k + m];
                    chk += sum - sum;
                    o[b] = sum;
                }
            }
            finite = finite && chk == 0.0;
            if (finite) {
                size_t i0 = jseg * k, ns = (s1 - s0) * k;
                for (size_t t0 = 0; t0 < ns; t0 += FLAT_BLOCK) {
                    size_t tn = ns - t0 < FLAT_BLOCK ? ns - t0 : FLAT_BLOCK;
                    const double *v = seg + t0;
                    if (run + tn < w->flat_min) {
                        /* no run can reach flat_min in this block: only the
                         * run at its end matters, found from the last change
                         * (usually the last sample or the one before) */
                        size_t t = tn;
                        while (t > 1 && v[t - 1] == v[t - 2])
                            t--;
                        if (t > 1)
                            run = tn - t;
                        else if (v[0] == prev)
                            run += tn;
                        else
                            run = tn - 1;
                        prev = v[tn - 1];
                        continue;
                    }
                    for (size_t t = 0; t < tn; t++) {
                        size_t eq = v[t] == prev;
                        if (run + 1 >= w->flat_min && !eq) { /* rare: a long run ends */
                            size_t first = (i0 + t0 + t - run - 1) / k, j = (i0 + t0 + t) / k;
                            for (size_t q = first > j0 ? first : j0; q <= j; q++)
                                bad[q - j0] = 1;
                        }
                        run = (run + 1) & (0 - eq); /* run + 1 if equal, else 0 */
                        prev = v[t];
                    }
                }
                last = seg[ns - 1];
                continue;
            }
            for (size_t jj = s0; jj < s1; jj++) {
                size_t j = c0 + jj;
                const double *blk = w->raw + jj * k;
                double s = 0.0;
                for (size_t m = 0; m < k; m++)
                    s += blk[m];
                if (s == s && isfinite(s) && last == last) {
                    /* all finite (NaN and Inf propagate into the sum): only
                     * the constant-run bookkeeping remains, kept branch-free */
                    for (size_t m = 0; m < k; m++) {
                        double v = blk[m];
                        size_t eq = v == prev;
                        if (run + 1 >= w->flat_min && !eq) { /* rare: a long run ends */
                            size_t first = (j * k + m - run - 1) / k;
                            for (size_t q = first > j0 ? first : j0; q <= j; q++)
                                bad[q - j0] = 1;
                        }
                        run = (run + 1) & (0 - eq); /* run + 1 if equal, else 0 */
                        prev = v;
                    }
                    xd[j - j0] = s;
                    last = blk[k - 1];
                    continue;
                }
                s = 0.0;
                for (size_t m = 0; m < k; m++) {
                    size_t i = j * k + m;
                    double v = blk[m];
                    if (isfinite(v)) {
                        if (last != last) { /* first valid sample: back-fill the leading blocks */
                            for (size_t q = j0; q < j; q++)
                                xd[q - j0] = v * (double)k;
                            for (size_t q = 0; q < m; q++)
                                s += v;
                        }
                        last = v;
                    } else {
                        bad[j - j0] = 1;
                    }
                    if (last == last)
                        s += last;
                    if (v == prev) {
                        run++;
                    } else {
                        if (run + 1 >= w->flat_min) {
                            size_t first = (i - run - 1) / k;
                            for (size_t q = first > j0 ? first : j0; q <= j; q++)
                                bad[q - j0] = 1;
                        }
                        run = 0;
                    }
                    prev = v;
                }
                xd[j - j0] = last == last ? s : 0.0;
            }
        }
    }
    if (j1 / GRID < w->n_snap && j1 % GRID == 0)
        w->snap[j1 / GRID] = (red_state){last, prev, run};
    *st = (red_state){last, prev, run};
    if (run + 1 >= w->flat_min) {
        size_t first = (j1 * k - run - 1) / k;
        for (size_t q = first > j0 ? first : j0; q < j1; q++)
            bad[q - j0] = 1;
    }
    return SOMNA_OK;
}

/* One step of sections s and s + 1 (transposed direct form II) on x:
 * c, d their b0 b1 b2 a1 a2. */
static inline double step2(const double c[5], const double d[5], double z[4], double xi)
{
    double yi = c[0] * xi + z[0];
    z[0] = c[1] * xi - c[3] * yi + z[1];
    z[1] = c[2] * xi - c[4] * yi;
    double vi = d[0] * yi + z[2];
    z[2] = d[1] * yi - d[3] * vi + z[3];
    z[3] = d[2] * yi - d[4] * vi;
    return vi;
}

/* Sections s and s + 1 of the cascade over e[0..ne) forward (dir > 0) or
 * backward, both in one loop: each section's recursion is a chain of
 * dependent multiply-adds, and running independent chains side by side
 * hides their latency without changing a single operation (the results
 * are bit-identical to one section after the other).  e0: the input value
 * the start states are scaled by.  The coefficients are copied to locals:
 * read through a pointer, they would be reloaded after every store to e. */
static void sos_pass(const work *w, size_t s, double *e, size_t ne, int dir, double e0)
{
    double c[5], d[5] = {0, 0, 0, 0, 0};
    memcpy(c, w->co[s], sizeof c);
    if (s + 1 == w->ns) {
        double z0 = w->zi[2 * s] * e0, z1 = w->zi[2 * s + 1] * e0;
        for (size_t t = 0; t < ne; t++) {
            size_t i = dir > 0 ? t : ne - 1 - t;
            double xi = e[i], yi = c[0] * xi + z0;
            z0 = c[1] * xi - c[3] * yi + z1;
            z1 = c[2] * xi - c[4] * yi;
            e[i] = yi;
        }
        return;
    }
    memcpy(d, w->co[s + 1], sizeof d);
    double z[4] = {w->zi[2 * s] * e0, w->zi[2 * s + 1] * e0, w->zi[2 * s + 2] * e0, w->zi[2 * s + 3] * e0};
    if (dir > 0)
        for (size_t i = 0; i < ne; i++)
            e[i] = step2(c, d, z, e[i]);
    else
        for (size_t i = ne; i-- > 0;)
            e[i] = step2(c, d, z, e[i]);
}

#if defined(__GNUC__)
/* Two windows in the two lanes of one SSE2/NEON register (GCC/Clang vector
 * extension): each operation as in step2, on both windows at once. */
typedef double v2d __attribute__((vector_size(16)));

static inline v2d step2v(const v2d c[5], const v2d d[5], v2d z[4], v2d xi)
{
    v2d yi = c[0] * xi + z[0];
    z[0] = c[1] * xi - c[3] * yi + z[1];
    z[1] = c[2] * xi - c[4] * yi;
    v2d vi = d[0] * yi + z[2];
    z[2] = d[1] * yi - d[3] * vi + z[3];
    z[3] = d[2] * yi - d[4] * vi;
    return vi;
}

/* The common stretch of both windows (m samples, from the start forward or
 * from each end backward); the states are left in za, zb. */
static void sos_lanes(const double c[5], const double d[5], double za[4], double zb[4], double *ea, double *eb,
                      size_t m, int dir)
{
    v2d cv[5], dv[5], z[4];
    for (int i = 0; i < 5; i++)
        cv[i] = (v2d){c[i], c[i]}, dv[i] = (v2d){d[i], d[i]};
    for (int i = 0; i < 4; i++)
        z[i] = (v2d){za[i], zb[i]};
    /* sample t is ea[k], eb[k] with k = t forward, -1 - t backward (ea, eb
     * then point just past the ends) */
    const ptrdiff_t sd = dir > 0 ? 1 : -1;
    ptrdiff_t k = dir > 0 ? 0 : -1;
    if (m < 2) {
        for (size_t t = 0; t < m; t++, k += sd) {
            v2d y = step2v(cv, dv, z, (v2d){ea[k], eb[k]});
            ea[k] = y[0], eb[k] = y[1];
        }
        for (int i = 0; i < 4; i++)
            za[i] = z[i][0], zb[i] = z[i][1];
        return;
    }
    /* The first two samples from the transposed form's start states, then
     * the direct form I on the samples' history: y_n = (b0 x_n + b1 x_n-1
     * + b2 x_n-2 - a2 y_n-2) - a1 y_n-1 puts one multiply and one subtract
     * between consecutive outputs instead of the transposed form's four
     * operations (the filter is latency-bound: 30 % faster).  The same
     * filter; the outputs differ from the transposed form's in the last
     * bits only. */
    v2d x1, x2, y1, y2, v1, v2;
    for (int t = 0; t < 2; t++, k += sd) {
        v2d x = {ea[k], eb[k]}, y = cv[0] * x + z[0];
        z[0] = cv[1] * x - cv[3] * y + z[1];
        z[1] = cv[2] * x - cv[4] * y;
        v2d v = dv[0] * y + z[2];
        z[2] = dv[1] * y - dv[3] * v + z[3];
        z[3] = dv[2] * y - dv[4] * v;
        ea[k] = v[0], eb[k] = v[1];
        if (t == 0)
            x2 = x, y2 = y, v2 = v;
        else
            x1 = x, y1 = y, v1 = v;
    }
    for (size_t t = 2; t < m; t++, k += sd) {
        v2d x = {ea[k], eb[k]};
        v2d y = (cv[0] * x + cv[1] * x1 + cv[2] * x2 - cv[4] * y2) - cv[3] * y1;
        v2d v = (dv[0] * y + dv[1] * y1 + dv[2] * y2 - dv[4] * v2) - dv[3] * v1;
        ea[k] = v[0], eb[k] = v[1];
        x2 = x1, x1 = x, y2 = y1, y1 = y, v2 = v1, v1 = v;
    }
    /* back to the transposed form's states after the last sample */
    z[0] = cv[1] * x1 + cv[2] * x2 - cv[3] * y1 - cv[4] * y2;
    z[1] = cv[2] * x1 - cv[4] * y1;
    z[2] = dv[1] * y1 + dv[2] * y2 - dv[3] * v1 - dv[4] * v2;
    z[3] = dv[2] * y1 - dv[4] * v1;
    for (int i = 0; i < 4; i++)
        za[i] = z[i][0], zb[i] = z[i][1];
}
#endif

/* The same for a two-section filter over two arrays at once (two windows):
 * their chains run side by side (in vector lanes where the compiler has
 * them).  Backward, both run from their own ends. */
static void sos_pass_two(const work *w, double *ea, size_t na, double a0, double *eb, size_t nb, double b0,
                         int dir)
{
    double c[5], d[5];
    memcpy(c, w->co[0], sizeof c);
    memcpy(d, w->co[1], sizeof d);
    double za[4] = {w->zi[0] * a0, w->zi[1] * a0, w->zi[2] * a0, w->zi[3] * a0};
    double zb[4] = {w->zi[0] * b0, w->zi[1] * b0, w->zi[2] * b0, w->zi[3] * b0};
    size_t m = na < nb ? na : nb;
    if (dir > 0) {
#if defined(__GNUC__)
        sos_lanes(c, d, za, zb, ea, eb, m, 1);
#else
        for (size_t t = 0; t < m; t++) {
            ea[t] = step2(c, d, za, ea[t]);
            eb[t] = step2(c, d, zb, eb[t]);
        }
#endif
        for (size_t t = m; t < na; t++)
            ea[t] = step2(c, d, za, ea[t]);
        for (size_t t = m; t < nb; t++)
            eb[t] = step2(c, d, zb, eb[t]);
        return;
    }
    double *pa = ea + na, *pb = eb + nb;
#if defined(__GNUC__)
    sos_lanes(c, d, za, zb, pa, pb, m, -1);
    pa -= m, pb -= m;
#else
    for (size_t t = 0; t < m; t++) {
        --pa, --pb;
        *pa = step2(c, d, za, *pa);
        *pb = step2(c, d, zb, *pb);
    }
#endif
    while (pa > ea) {
        --pa;
        *pa = step2(c, d, za, *pa);
    }
    while (pb > eb) {
        --pb;
        *pb = step2(c, d, zb, *pb);
    }
}

/* Zero-phase filtering of the windows' xd in place, as
 * scipy.signal.sosfiltfilt (odd extension of padlen samples at each end,
 * sosfilt_zi start states; the arithmetic of somna_dsp_sosfiltfilt
 * without its allocation, except that two windows in vector lanes run in
 * direct form I: equal up to the last bits), nb (1 or 2) windows at once.
 * The extensions are written around xd inside ext, so nothing is copied. */
static void filtfilt(const work *w, wbuf *const *bs, int nb)
{
    size_t ne[2];
    double *es[2], e0[2];
    for (int b = 0; b < nb; b++) {
        const double *x = bs[b]->xd;
        size_t n = bs[b]->len;
        size_t pad = w->padlen < n - 1 ? w->padlen : n - 1;
        double *e = bs[b]->xd - pad;
        ne[b] = n + 2 * pad;
        es[b] = e;
        for (size_t i = 0; i < pad; i++)
            e[i] = 2.0 * x[0] - x[pad - i];
        for (size_t i = 0; i < pad; i++)
            e[pad + n + i] = 2.0 * x[n - 1] - x[n - 2 - i];
        e0[b] = e[0]; /* start states scale with the input's first value */
    }
    for (int dir = 1; dir >= -1; dir -= 2) {
        if (dir < 0)
            for (int b = 0; b < nb; b++)
                e0[b] = es[b][ne[b] - 1];
        if (nb == 2 && w->ns == 2) {
            sos_pass_two(w, es[0], ne[0], e0[0], es[1], ne[1], e0[1], dir);
            continue;
        }
        for (int b = 0; b < nb; b++)
            for (size_t s = 0; s < w->ns; s += 2)
                sos_pass(w, s, es[b], ne[b], dir, e0[b]);
    }
}

/* Stage 1 for reduced samples [j0, j1) into window buffer b.  With
 * `carry`, it reuses the previous window's tail and keeps this one's last
 * `keep` samples for the next (the windows of stage 3 walk forward, so
 * each full-rate sample is read and reduced once). */
static int stage1(work *w, wbuf *b, size_t j0, size_t j1, int carry, size_t keep, somna_err *err)
{
    size_t len = j1 - j0;
    if (wbuf_reserve(b, len, w->padlen))
        return somna_fail(err, SOMNA_E_NOMEM, "rpeaks: out of memory");
    b->off = j0, b->len = len;
    size_t js = j0;
    red_state st = w->snap[j0 / GRID];
    if (carry && w->c0 <= j0 && j0 < w->c1 && w->c1 <= j1) {
        memcpy(b->xd, w->cx + (j0 - w->c0), (w->c1 - j0) * sizeof *b->xd);
        memcpy(b->bad, w->cb + (j0 - w->c0), w->c1 - j0);
        js = w->c1;
        st = w->cst;
    }
    int rc = reduce(w, b, j0, js, j1, &st, err);
    if (rc)
        return rc;
    if (carry) {
        size_t c0 = len > keep ? j1 - keep : j0;
        if (!w->cx) {
            w->cx = malloc(keep * sizeof *w->cx);
            w->cb = malloc(keep);
            if (!w->cx || !w->cb)
                return somna_fail(err, SOMNA_E_NOMEM, "rpeaks: out of memory");
        }
        memcpy(w->cx, b->xd + (c0 - j0), (j1 - c0) * sizeof *w->cx);
        memcpy(w->cb, b->bad + (c0 - j0), j1 - c0);
        w->c0 = c0, w->c1 = j1, w->cst = st;
    }
    return SOMNA_OK;
}

/* Stage 3 on a filtered window: the energy once, the three averages. */
static int stage3(work *w, wbuf *b, det *d)
{
    size_t len = b->len;
    if (len > w->ma_cap) {
        double **a[3] = {&w->maq, &w->mab, &w->mloc};
        for (int i = 0; i < 3; i++) {
            double *x = realloc(*a[i], len * sizeof *x);
            if (!x)
                return -1;
            *a[i] = x;
        }
        w->ma_cap = len;
    }
    double *e = work_energy(w, len);
    if (!e)
        return -1;
    for (size_t i = 0; i < len; i++)
        e[i] = energy(b->xd, b->bad, i);
    size_t wd[3] = {w->wq, w->wb, w->wl};
    double *ma[3] = {w->maq, w->mab, w->mloc};
    moving_averages(e, len, wd, ma);
    *d = (det){b->off, len, b->xd, w->maq, w->mab, w->mloc, b->bad};
    return 0;
}

/* One centered moving average read in time order, without an output
 * array: the running sum goes through exactly the operations of
 * moving_averages (left edge, interior, right edge), so the values are
 * bit-identical to it. */
typedef struct ma_stream {
    size_t h, n;
    double sum, inv;
} ma_stream;

static void ma_stream_init(ma_stream *m, const double *e, size_t n, size_t w)
{
    m->h = w / 2, m->n = n, m->inv = 1.0 / (double)w, m->sum = 0.0;
    if (2 * m->h + 1 > n) { /* a window longer than the signal: the plain mean */
        for (size_t i = 0; i < n; i++)
            m->sum += e[i];
        m->sum /= (double)n;
        m->h = SIZE_MAX; /* marks the constant case */
        return;
    }
    for (size_t i = 0; i <= m->h; i++)
        m->sum += e[i];
}

/* The average at q (every q in turn from 0), then advanced to q + 1. */
static inline double ma_stream_next(ma_stream *m, const double *e, size_t q)
{
    size_t h = m->h;
    double v;
    if (h == SIZE_MAX) {
        v = m->sum;
    } else if (q < h) {
        v = m->sum / (double)(q + h + 1);
        m->sum += e[q + h + 1];
    } else if (q + h + 1 < m->n) {
        v = m->sum * m->inv;
        m->sum += e[q + h + 1] - e[q - h];
    } else {
        v = m->sum / (double)(m->n - (q - h));
        m->sum -= e[q - h];
    }
    return v < 0 ? 0 : v; /* rounding drift on a non-negative signal */
}

/* Window sample q (reduced sample q + off) with its three averages: the
 * block in progress opens, grows or closes (a closed block at least minw
 * long becomes a candidate).  -1 when out of memory. */
static inline int block_step(blk_scan *s, const double *e, const double *bp, const unsigned char *bad, size_t q,
                             size_t off, double vq, double vb, double vl, double beta, size_t minw, cand_list *out)
{
    if (bad[q] || !(vq > vb + beta * vl)) {
        if (s->open) {
            s->open = 0;
            if (q + off - s->start >= minw && cand_push(out, s->c))
                return -1;
        }
        return 0;
    }
    size_t i = q + off;
    if (!s->open) {
        s->open = 1;
        s->start = i;
        s->ymax = -1.0;
        s->c = (cand){i, 0.0, 0.0};
    }
    if (e[q] > s->ymax)
        s->ymax = e[q], s->c.pos = i;
    if (vq > s->c.energy)
        s->c.energy = vq;
    if (i > 0) {
        double sl = fabs(bp[q] - bp[q - 1]);
        if (sl > s->c.slope)
            s->c.slope = sl;
    }
    return 0;
}

/* Stage 3 and the block scan in one pass over a filtered window: the
 * energy once, then the three moving averages advance side by side up to
 * the end of the core and each core sample is tested at once (the values
 * stage3's arrays would hold for find_blocks), so no average is stored and
 * none is computed past the core. */
static void scan_window(wbuf *b, double *e, size_t c0, size_t c1, const size_t wd[3], double beta, size_t minw,
                        blk_scan *s, cand_list *out, int *nomem)
{
    const size_t len = b->len, off = b->off, qa = c0 - off, qb = c1 - off;
    const double *bp = b->xd;
    const unsigned char *bad = b->bad;
    size_t hmax = 0;
    for (int r = 0; r < 3; r++)
        if (wd[r] / 2 > hmax)
            hmax = wd[r] / 2;
    /* the averages read at most hmax past the core (all of it when a window
     * is longer than the signal) */
    size_t ne = qb + hmax + 1 < len && 2 * hmax + 1 <= len ? qb + hmax + 1 : len;
    for (size_t i = 0; i < ne; i++)
        e[i] = energy(bp, bad, i);
    ma_stream mq, mb, ml;
    ma_stream_init(&mq, e, len, wd[0]);
    ma_stream_init(&mb, e, len, wd[1]);
    ma_stream_init(&ml, e, len, wd[2]);
    /* where all three are inside their interior the steps are inlined */
    size_t fa = hmax, fb = len > 2 * hmax + 1 ? len - hmax - 1 : 0;
    if (mq.h == SIZE_MAX || mb.h == SIZE_MAX || ml.h == SIZE_MAX)
        fa = fb = 0;
    /* the margin before the core: the sums only advance */
    size_t q = 0;
    while (q < qa) {
        if (q >= fa && q < fb) {
            /* the sums in locals: the structs are addressable (ma_stream_next)
             * and would be stored back on every step */
            double sq = mq.sum, sb = mb.sum, sl = ml.sum;
            const size_t hq = mq.h, hb = mb.h, hl = ml.h;
            for (size_t end = fb < qa ? fb : qa; q < end; q++) {
                sq += e[q + hq + 1] - e[q - hq];
                sb += e[q + hb + 1] - e[q - hb];
                sl += e[q + hl + 1] - e[q - hl];
            }
            mq.sum = sq, mb.sum = sb, ml.sum = sl;
        } else {
            for (size_t end = q < fa && fa < qa ? fa : qa; q < end; q++)
                (void)ma_stream_next(&mq, e, q), (void)ma_stream_next(&mb, e, q), (void)ma_stream_next(&ml, e, q);
        }
    }
    /* the core: the interior in a loop of its own, the edges through
     * ma_stream_next */
    while (q < qb) {
        if (q >= fa && q < fb) {
            double sq = mq.sum, sb = mb.sum, sl = ml.sum;
            const double iq = mq.inv, ib = mb.inv, il = ml.inv;
            const size_t hq = mq.h, hb = mb.h, hl = ml.h;
            for (size_t end = fb < qb ? fb : qb; q < end; q++) {
                double vq = sq * iq, vb = sb * ib, vl = sl * il;
                sq += e[q + hq + 1] - e[q - hq];
                sb += e[q + hb + 1] - e[q - hb];
                sl += e[q + hl + 1] - e[q - hl];
                vq = vq < 0 ? 0 : vq, vb = vb < 0 ? 0 : vb, vl = vl < 0 ? 0 : vl;
                if (block_step(s, e, bp, bad, q, off, vq, vb, vl, beta, minw, out)) {
                    *nomem = 1;
                    return;
                }
            }
            mq.sum = sq, mb.sum = sb, ml.sum = sl;
        } else {
            for (size_t end = q < fa && fa < qb ? fa : qb; q < end; q++) {
                double vq = ma_stream_next(&mq, e, q), vb = ma_stream_next(&mb, e, q), vl = ma_stream_next(&ml, e, q);
                if (block_step(s, e, bp, bad, q, off, vq, vb, vl, beta, minw, out)) {
                    *nomem = 1;
                    return;
                }
            }
        }
    }
}

/* Long unusable stretches (lead off, flat line, missing samples), noted
 * by the main pass so that search-back never recomputes a window over
 * them: a gap that holds an hour of lead-off is searched in its usable
 * pieces only (else that hour would be read, filtered and averaged again,
 * and held in memory at once). */
typedef struct bad_runs {
    size_t (*v)[2]; /* [start, end) in reduced samples, in time order */
    size_t n, cap;
    size_t min_len;  /* shorter runs are not noted */
    int open;        /* a run reaches the end of the last core seen */
    size_t start;
} bad_runs;

static int bad_runs_push(bad_runs *r, size_t a, size_t b)
{
    if (b - a < r->min_len)
        return 0;
    if (r->n == r->cap) {
        size_t nc = r->cap ? 2 * r->cap : 16;
        size_t(*nv)[2] = realloc(r->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        r->v = nv, r->cap = nc;
    }
    r->v[r->n][0] = a, r->v[r->n][1] = b;
    r->n++;
    return 0;
}

/* The runs of bad flags in the core [c0, c1) of window b (a run open at the
 * end of one core continues into the next).  memchr: flags are mostly 0. */
static int note_bad_runs(bad_runs *r, const wbuf *b, size_t c0, size_t c1)
{
    const unsigned char *bad = b->bad;
    size_t q = c0 - b->off, qe = c1 - b->off;
    while (q < qe) {
        if (!r->open) {
            const unsigned char *p = memchr(bad + q, 1, qe - q);
            if (!p)
                return 0;
            q = (size_t)(p - bad);
            r->open = 1, r->start = q + b->off;
        }
        while (q < qe && bad[q])
            q++;
        if (q < qe) {
            r->open = 0;
            if (bad_runs_push(r, r->start, q + b->off))
                return -1;
        }
    }
    return 0;
}

/* Reduced samples [lo, hi) widened by margin on both sides (start on the grid). */
static void window_span(const work *w, size_t lo, size_t hi, size_t margin, size_t *j0, size_t *j1)
{
    size_t a = lo > margin ? lo - margin : 0;
    *j0 = a - a % GRID;
    *j1 = hi + margin < w->nd ? hi + margin : w->nd;
}

/* Stages 1-3 for one window around [lo, hi) (the search-back's). */
static int window_around(work *w, size_t lo, size_t hi, det *d, somna_err *err)
{
    size_t j0, j1;
    window_span(w, lo, hi, w->margin_sb, &j0, &j1);
    wbuf *b = &w->buf[0];
    int rc = stage1(w, b, j0, j1, 0, 0, err);
    if (rc)
        return rc;
    filtfilt(w, &b, 1);
    if (stage3(w, b, d))
        return somna_fail(err, SOMNA_E_NOMEM, "rpeaks: out of memory");
    return SOMNA_OK;
}

/* Filter set-up: normalised sections, scipy's sosfilt_zi steady states and
 * filtfilt padlen, and the margin after which start-up transients are gone. */
static int work_filter(work *w, const somna_dsp_sos *sos)
{
    w->ns = sos->n_sections;
    w->co = malloc(w->ns * sizeof *w->co);
    w->zi = malloc(2 * w->ns * sizeof *w->zi);
    if (!w->co || !w->zi)
        return -1;
    size_t nb0 = 0, na0 = 0;
    double scale = 1.0, rmax = 0.0;
    for (size_t s = 0; s < w->ns; s++) {
        const double *c = sos->coef[s];
        double b0 = c[0] / c[3], b1 = c[1] / c[3], b2 = c[2] / c[3], a1 = c[4] / c[3], a2 = c[5] / c[3];
        w->co[s][0] = b0, w->co[s][1] = b1, w->co[s][2] = b2, w->co[s][3] = a1, w->co[s][4] = a2;
        nb0 += c[2] == 0.0;
        na0 += c[5] == 0.0;
        /* steady state for a unit step, as scipy.signal.sosfilt_zi */
        double g = (b0 + b1 + b2) / (1.0 + a1 + a2);
        double z1 = b2 - a2 * g, z0 = b1 - a1 * g + z1;
        w->zi[2 * s] = scale * z0;
        w->zi[2 * s + 1] = scale * z1;
        scale *= g;
        /* largest pole radius of 1 + a1 z^-1 + a2 z^-2 */
        double disc = a1 * a1 - 4.0 * a2, r;
        if (disc < 0)
            r = sqrt(a2);
        else
            r = fmax(fabs(-a1 + sqrt(disc)), fabs(-a1 - sqrt(disc))) / 2.0;
        rmax = fmax(rmax, r);
    }
    w->padlen = 3 * (2 * w->ns + 1 - (nb0 < na0 ? nb0 : na0));
    /* start-up transients decay as r^m: r^m < 1e-30 is far below double rounding */
    double m = rmax > 0 && rmax < 1 ? log(1e-30) / log(rmax) : (double)w->nd;
    if (!(m < (double)w->nd))
        m = (double)w->nd;
    size_t flat = w->flat_min / w->k + 2;
    w->transient = (size_t)m;
    size_t margin = w->transient + w->padlen + w->wl / 2 + flat + 2;
    w->margin = (margin + GRID - 1) / GRID * GRID;
    return 0;
}

/* Detection runs at a reduced rate fd = fs / k (k = floor(fs / 100)):
 * the QRS band ends at 20 Hz, so ~100-200 Hz loses nothing there, and the
 * block mean used for the reduction is a boxcar anti-alias filter.  The
 * full-rate signal is pulled through `rd` window by window for stages 1-3
 * (windows overlap by their margins), again only around the long gaps that
 * need a search-back, and then in +-refine_s windows around each beat. */
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

    int rc = SOMNA_OK;
    work w = {0};
    w.rd = rd, w.ctx = ctx, w.n = n, w.nd = nd, w.k = k;
    w.flat_min = (size_t)(pp->flat_s * fs);
    if (w.flat_min < 2)
        w.flat_min = 2;
    w.wq = wq;
    w.wb = (size_t)lround(pp->beat_win_s * fd) | 1u;
    w.wl = (size_t)lround(pp->offset_win_s * fd) | 1u;
    w.n_snap = nd / GRID + 1;
    size_t rawn = RAW_BLOCKS * k > 2 * hw + 1 ? RAW_BLOCKS * k : 2 * hw + 1;
    w.raw = malloc(rawn * sizeof *w.raw);
    w.snap = malloc(w.n_snap * sizeof *w.snap);
    cand_list cands = {0}, acc = {0}, extra = {0};
    bad_runs badr = {0};
    badr.min_len = (size_t)(5.0 * fd); /* 5 s */
    int64_t *out = NULL;
    double *pos_amp = NULL, *neg_amp = NULL;
    somna_dsp_sos sos = {0};
    if (!w.raw || !w.snap) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "rpeaks: out of memory for %zu samples", n);
        goto done;
    }
    w.snap[0] = (red_state){NAN, NAN, 0};
    {
        double hi = pp->band_hi_hz < 0.45 * fd ? pp->band_hi_hz : 0.45 * fd;
        rc = somna_dsp_butter(pp->band_order, SOMNA_DSP_BANDPASS, pp->band_lo_hz, hi, fd, &sos, err);
        if (rc)
            goto done;
        int bad_alloc = work_filter(&w, &sos);
        somna_dsp_sos_free(&sos);
        /* A search-back window needs the filter's transients and the
         * averages its test uses: without an offset (searchback_beta = 0,
         * the default) not the 10-s one, so its margin is a third of the
         * main pass's; a gap is a few seconds, the margins are most of
         * the work (mitdb 106, with many pauses: 61 -> 51 M instructions). */
        w.margin_sb = w.transient + w.padlen + (pp->searchback_beta > 0 ? w.wl : w.wb) / 2 + w.flat_min / k + 4;
        /* the windows at their full size at once: growing them window by
         * window would touch (page-fault) every size on the way */
        size_t wmax = CORE + 2 * w.margin + GRID < nd ? CORE + 2 * w.margin + GRID : nd;
        if (bad_alloc || wbuf_reserve(&w.buf[0], wmax, w.padlen) || wbuf_reserve(&w.buf[1], wmax, w.padlen) ||
            !work_energy(&w, wmax))
            goto nomem;
    }

    /* 1-3. blocks of interest, window by window (the block in progress is
     *      carried across window edges) */
    size_t minw = (size_t)(pp->min_block_frac * (double)wq);
    {
        blk_scan scan = {0};
        size_t keep = 2 * w.margin + GRID;
        for (size_t b0 = 0; b0 < nd; b0 += 2 * CORE) { /* two windows per round */
            wbuf *bs[2] = {&w.buf[0], &w.buf[1]};
            size_t core[2][2];
            int nb = 0;
            for (size_t c0 = b0; nb < 2 && c0 < nd; c0 += CORE, nb++) {
                core[nb][0] = c0;
                core[nb][1] = nd - c0 < CORE ? nd : c0 + CORE;
                size_t j0, j1;
                window_span(&w, core[nb][0], core[nb][1], w.margin, &j0, &j1);
                if ((rc = stage1(&w, bs[nb], j0, j1, 1, keep, err)) != 0)
                    goto done;
            }
            filtfilt(&w, bs, nb);
            const size_t wd[3] = {w.wq, w.wb, w.wl};
            for (int b = 0; b < nb; b++) {
                int nomem = 0;
                double *e = work_energy(&w, bs[b]->len);
                if (e)
                    scan_window(bs[b], e, core[b][0], core[b][1], wd, pp->offset_beta, minw ? minw : 1, &scan, &cands,
                                &nomem);
                if (!e || nomem || note_bad_runs(&badr, bs[b], core[b][0], core[b][1]))
                    goto nomem;
            }
        }
        if (scan.open && nd - scan.start >= (minw ? minw : 1) && cand_push(&cands, scan.c))
            goto nomem;
        if (badr.open && bad_runs_push(&badr, badr.start, nd))
            goto nomem;
    }

    /* 4. decisions: refractory period and T-wave test, compacting the
     *    candidate list in place (the kept ones never overtake the read) */
    size_t refr = (size_t)(pp->refractory_s * fd), tw = (size_t)(pp->twave_s * fd);
    acc = cands;
    cands = (cand_list){0};
    {
        size_t m = 0;
        for (size_t i = 0; i < acc.n; i++) {
            cand c = acc.v[i];
            if (m) {
                cand *lastc = &acc.v[m - 1];
                size_t gap = c.pos - lastc->pos;
                if (gap < refr) {
                    if (c.energy > lastc->energy)
                        *lastc = c;
                    continue;
                }
                if (gap < tw && c.slope < pp->twave_slope_ratio * lastc->slope)
                    continue;
            }
            acc.v[m++] = c;
        }
        acc.n = m;
    }

    /* 5. search-back in long gaps; the features of a gap are recomputed
     *    from the signal (a window around the gap), not kept from stage 3 */
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
        size_t nrec = 0, bad_i = 0;
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
                /* the gap's usable pieces [g0, g1), between the long bad runs
                 * (one piece, the whole gap, when it holds none) */
                size_t lo = a + refr > 0 ? a + refr - 1 : 0, hi = b - refr;
                while (bad_i < badr.n && badr.v[bad_i][1] <= lo)
                    bad_i++;
                size_t g0 = lo, bj = bad_i;
                while (g0 < hi && (double)(b - prev) > pp->searchback_factor * rr_mean && b - prev > 2 * refr) {
                    size_t g1 = bj < badr.n && badr.v[bj][0] < hi ? badr.v[bj][0] : hi;
                    if (g1 < g0)
                        g1 = g0; /* a bad run started before the piece: empty */
                    size_t next = bj < badr.n && badr.v[bj][0] < hi ? badr.v[bj][1] : hi;
                    bj++;
                    det d = {0};
                    int have = 0;
                    while (g1 > g0 + 1 && (double)(b - prev) > pp->searchback_factor * rr_mean &&
                           b - prev > 2 * refr) {
                        size_t fa = prev + refr > g0 + 1 ? prev + refr : g0 + 1, fb = g1;
                        if (fa >= fb)
                            break;
                        if (!have) {
                            if ((rc = window_around(&w, g0, g1, &d, err)) != 0) {
                                free(merged.v);
                                goto done;
                            }
                            have = 1;
                        }
                        extra.n = 0;
                        if (find_blocks(&d, fa, fb, pp->searchback_beta, minw / 2 ? minw / 2 : 1, &extra)) {
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
                    g0 = next > g0 ? next : g0 + 1;
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
            size_t base = lo; /* w.raw[q - base] = sample q */
            if ((rc = rd(ctx, (int64_t)lo, (int64_t)(hi - lo + 1), w.raw, err)) != 0)
                goto done;
            while (lo < hi && !isfinite(w.raw[lo - base]))
                lo++;
            while (hi > lo && !isfinite(w.raw[hi - base]))
                hi--;
            double e0 = isfinite(w.raw[lo - base]) ? w.raw[lo - base] : 0.0;
            double e1 = isfinite(w.raw[hi - base]) ? w.raw[hi - base] : e0;
            double slope = hi > lo ? (e1 - e0) / (double)(hi - lo) : 0.0;
            double mx = -INFINITY, mn = INFINITY;
            size_t imax = c < n ? c : n - 1, imin = imax;
            for (size_t q = lo; q <= hi; q++) {
                double wv = w.raw[q - base];
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
    work_free(&w);
    free(cands.v), free(acc.v), free(extra.v), free(out), free(pos_amp), free(neg_amp), free(badr.v);
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
