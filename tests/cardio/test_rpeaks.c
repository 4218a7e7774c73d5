/* R-peak detection and EC57-style evaluation.
 *  - evaluation: hand-worked matching examples;
 *  - detector: MIT-BIH records (../shared/data/mitdb, reference beats
 *    .atr) as recorded, inverted, resampled to 125 Hz and 1 kHz, with added
 *    noise (white, baseline wander, muscle bursts), with flat-line and
 *    missing (NaN) stretches.  Se and +P are asserted against AAMI-style
 *    goals, not against our own earlier output. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "somna/dsp.h"
#include "somna/edf.h"
#include "somna/rpeaks.h"
#include "test_util.h"

static void test_evaluate_by_hand(void **state)
{
    (void)state;
    /* fs 360 Hz: window 0.150 s = 54 samples */
    const int64_t ref[4] = {100, 400, 700, 1000};
    const int64_t det[4] = {105, 395, 760, 1300};
    somna_rpeaks_eval ev;
    assert_int_equal(somna_rpeaks_evaluate(ref, 4, det, 4, 360.0, 0, 0, 0.150, &ev, NULL), 0);
    /* 105~100 and 395~400 match; 760 is 60 samples from 700 (> 54): FN + FP; 1300: FP, 1000: FN */
    assert_int_equal(ev.tp, 2);
    assert_int_equal(ev.fn, 2);
    assert_int_equal(ev.fp, 2);
    assert_close_abs(ev.se, 0.5, 1e-12);
    assert_close_abs(ev.ppv, 0.5, 1e-12);
    /* errors +5 and -5 samples = +-13.888.. ms: mean 0, SD sqrt(2 * 13.888^2 / 1) */
    assert_close_abs(ev.err_mean_ms, 0.0, 1e-9);
    assert_close_abs(ev.err_sd_ms, sqrt(2.0) * 5000.0 / 360.0, 1e-9);
    /* --from 300 samples: only reference/detections from sample 300 count */
    assert_int_equal(somna_rpeaks_evaluate(ref, 4, det, 4, 360.0, 300, 0, 0.150, &ev, NULL), 0);
    assert_int_equal(ev.tp, 1);
    assert_int_equal(ev.fn, 2);
    assert_int_equal(ev.fp, 2);
}

static void test_evaluate_closest_pair_wins(void **state)
{
    (void)state;
    /* one detection between two reference beats: it belongs to the closer */
    const int64_t ref[2] = {100, 150};
    const int64_t det[1] = {140};
    somna_rpeaks_eval ev;
    assert_int_equal(somna_rpeaks_evaluate(ref, 2, det, 1, 360.0, 0, 0, 0.150, &ev, NULL), 0);
    assert_int_equal(ev.tp, 1);
    assert_int_equal(ev.fn, 1);
    assert_int_equal(ev.fp, 0);
    assert_close_abs(ev.err_mean_ms, -10 * 1000.0 / 360.0, 1e-9);
    /* unsorted input is refused with a message */
    const int64_t bad[2] = {150, 100};
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_rpeaks_evaluate(bad, 2, det, 1, 360.0, 0, 0, 0.150, &ev, &err),
                     SOMNA_E_DATA);
    assert_non_null(strstr(err.msg, "order"));
}

static void test_detect_degenerate(void **state)
{
    (void)state;
    int64_t *pk;
    size_t np;
    double x[4000];
    for (int i = 0; i < 4000; i++)
        x[i] = 0.25; /* flat line: no beat, no crash */
    assert_int_equal(somna_rpeaks_detect(x, 4000, 360, NULL, &pk, &np, NULL, NULL), 0);
    assert_int_equal(np, 0);
    free(pk);
    for (int i = 0; i < 4000; i++)
        x[i] = NAN; /* all missing */
    assert_int_equal(somna_rpeaks_detect(x, 4000, 360, NULL, &pk, &np, NULL, NULL), 0);
    assert_int_equal(np, 0);
    free(pk);
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_rpeaks_detect(x, 4000, 10, NULL, &pk, &np, NULL, &err), SOMNA_E_ARG);
    assert_non_null(strstr(err.msg, "Hz"));
    somna_rpeaks_params p;
    somna_rpeaks_default_params(&p);
    p.flat_s = 0; /* would mark everything flat */
    assert_int_equal(somna_rpeaks_detect(x, 4000, 360, &p, &pk, &np, NULL, &err), SOMNA_E_ARG);
    somna_rpeaks_default_params(&p);
    p.band_lo_hz = 30, p.band_hi_hz = 20;
    assert_int_equal(somna_rpeaks_detect(x, 4000, 360, &p, &pk, &np, NULL, &err), SOMNA_E_ARG);
    assert_non_null(strstr(err.msg, "band"));
}

/* ---- MIT-BIH suite ----------------------------------------------------------- */
typedef struct rec {
    double *x;
    size_t n;
    double fs;
    int64_t *ref;
    size_t nref;
} rec;

static int load_rec(const char *name, rec *r)
{
    char path[2048], hea[64];
    snprintf(hea, sizeof hea, "mitdb/%s.hea", name);
    if (!test_shared_path(path, sizeof path, hea))
        return -1;
    path[strlen(path) - 4] = '\0';
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    if (somna_rpeaks_load_ecg(path, "0", 0, &r->x, &r->n, &r->fs, NULL, 0, &err))
        fail_msg("%s", err.msg);
    int *nrm;
    double afs;
    if (somna_rpeaks_load_beats(path, "atr", &r->ref, &nrm, &r->nref, &afs, &err))
        fail_msg("%s", err.msg);
    free(nrm);
    return 0;
}

static void free_rec(rec *r)
{
    free(r->x);
    free(r->ref);
}

/* deterministic standard normal (xorshift64 + Box-Muller) */
static double gauss(uint64_t *s)
{
    double u[2];
    for (int k = 0; k < 2; k++) {
        *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
        u[k] = ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]);
}

typedef struct tally {
    size_t tp, fn, fp;
} tally;

static void run(const double *x, size_t n, double fs, const int64_t *ref, size_t nref, tally *t, int *polarity)
{
    int64_t *pk;
    size_t np;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    if (somna_rpeaks_detect(x, n, fs, NULL, &pk, &np, polarity, &err))
        fail_msg("%s", err.msg);
    somna_rpeaks_eval ev;
    assert_int_equal(somna_rpeaks_evaluate(ref, nref, pk, np, fs, 0, 0, 0.150, &ev, &err), 0);
    t->tp += ev.tp, t->fn += ev.fn, t->fp += ev.fp;
    free(pk);
}

static void report(const char *what, const tally *t, double min_pct)
{
    double se = 100.0 * (double)t->tp / (double)(t->tp + t->fn), pp = 100.0 * (double)t->tp / (double)(t->tp + t->fp);
    print_message("%-28s TP %zu FN %zu FP %zu  Se %.3f %%  +P %.3f %%\n", what, t->tp, t->fn, t->fp, se, pp);
    if (!(se >= min_pct && pp >= min_pct))
        fail_msg("%s: Se %.3f / +P %.3f below %.2f %%", what, se, pp, min_pct);
}

static const char *const suite[] = {"100", "105", "108", "116", "119", "123"};
#define N_SUITE (sizeof suite / sizeof suite[0])

static void test_mitdb_variants(void **state)
{
    (void)state;
    tally orig = {0}, inv = {0}, low = {0}, high = {0}, noisy = {0};
    for (size_t k = 0; k < N_SUITE; k++) {
        rec r;
        if (load_rec(suite[k], &r)) {
            skip();
            return;
        }
        int pol = 0, pol_inv = 0;
        run(r.x, r.n, r.fs, r.ref, r.nref, &orig, &pol);

        double *y = malloc(r.n * sizeof *y);
        for (size_t i = 0; i < r.n; i++)
            y[i] = -r.x[i];
        run(y, r.n, r.fs, r.ref, r.nref, &inv, &pol_inv);
        assert_int_equal(pol_inv, -pol); /* the polarity is detected, not assumed */

        /* 125 Hz and 1 kHz (polyphase resampling), reference beats rescaled */
        const double rates[2] = {125.0, 1000.0};
        for (int q = 0; q < 2; q++) {
            double *z;
            size_t nz;
            assert_int_equal(somna_dsp_resample(r.x, r.n, r.fs, rates[q], &z, &nz, NULL), 0);
            int64_t *rr = malloc(r.nref * sizeof *rr);
            for (size_t i = 0; i < r.nref; i++)
                rr[i] = (int64_t)llround((double)r.ref[i] * rates[q] / r.fs);
            run(z, nz, rates[q], rr, r.nref, q ? &high : &low, NULL);
            free(z);
            free(rr);
        }

        /* noise: white (0.04 mV), baseline wander (0.6 mV at 0.15 Hz plus a
         * 0.4 mV step drift), and 2-s muscle bursts (0.15 mV) every 60 s */
        uint64_t seed = 0x9E3779B97F4A7C15ull + k;
        for (size_t i = 0; i < r.n; i++) {
            double t = (double)i / r.fs;
            double burst = fmod(t, 60.0) < 2.0 ? 0.15 * gauss(&seed) : 0.0;
            y[i] = r.x[i] + 0.04 * gauss(&seed) + 0.6 * sin(2 * M_PI * 0.15 * t) + 0.4 * sin(2 * M_PI * t / 300.0) +
                   burst;
        }
        run(y, r.n, r.fs, r.ref, r.nref, &noisy, NULL);
        free(y);
        free_rec(&r);
    }
    report("360 Hz as recorded", &orig, 99.5);
    report("inverted", &inv, 99.5);
    report("resampled to 125 Hz", &low, 99.3);
    report("resampled to 1 kHz", &high, 99.5);
    report("with noise + wander", &noisy, 98.5);
}

/* Flat (lead-off) and missing stretches: no beat inside them, beats found
 * around them. */
static void test_mitdb_gaps(void **state)
{
    (void)state;
    rec r;
    if (load_rec("100", &r)) {
        skip();
        return;
    }
    size_t a = (size_t)(600 * r.fs), b = (size_t)(630 * r.fs); /* 30 s flat */
    size_t c = (size_t)(900 * r.fs), d = (size_t)(915 * r.fs); /* 15 s NaN */
    for (size_t i = a; i < b; i++)
        r.x[i] = r.x[a];
    for (size_t i = c; i < d; i++)
        r.x[i] = NAN;
    int64_t *pk;
    size_t np;
    assert_int_equal(somna_rpeaks_detect(r.x, r.n, r.fs, NULL, &pk, &np, NULL, NULL), 0);
    for (size_t i = 0; i < np; i++) {
        assert_false(pk[i] > (int64_t)a + 20 && pk[i] < (int64_t)b - 20);
        assert_false(pk[i] >= (int64_t)c && pk[i] < (int64_t)d);
    }
    /* outside the gaps the reference beats are still found */
    int64_t *ref = malloc(r.nref * sizeof *ref);
    size_t m = 0;
    for (size_t i = 0; i < r.nref; i++)
        if ((r.ref[i] < (int64_t)a - 200 || r.ref[i] > (int64_t)b + 200) &&
            (r.ref[i] < (int64_t)c - 200 || r.ref[i] > (int64_t)d + 200))
            ref[m++] = r.ref[i];
    somna_rpeaks_eval ev;
    assert_int_equal(somna_rpeaks_evaluate(ref, m, pk, np, r.fs, 0, 0, 0.150, &ev, NULL), 0);
    print_message("gaps: TP %zu FN %zu FP %zu\n", ev.tp, ev.fn, ev.fp);
    assert_true(ev.se >= 0.995);
    assert_true(ev.fp <= 6); /* edges of the gaps may hold one partial beat each */
    free(ref);
    free(pk);
    free_rec(&r);
}

/* The detector works in windows of 16384 samples at the reduced rate
 * (360 Hz / 3: 49152 samples = 136.5 s) with margins; gaps placed across
 * window edges and a missing start longer than a window must behave as
 * gaps anywhere else: no beat inside, the reference beats found outside. */
static void test_mitdb_gaps_across_windows(void **state)
{
    (void)state;
    rec r;
    if (load_rec("100", &r)) {
        skip();
        return;
    }
    const double spans[3][2] = {{0, 200}, {260, 290}, {540, 560}}; /* NaN, flat, NaN (s) */
    size_t g[3][2];
    for (int s = 0; s < 3; s++)
        for (int e = 0; e < 2; e++)
            g[s][e] = (size_t)(spans[s][e] * r.fs);
    for (size_t i = g[0][0]; i < g[0][1]; i++)
        r.x[i] = NAN;
    for (size_t i = g[1][0]; i < g[1][1]; i++)
        r.x[i] = r.x[g[1][0]];
    for (size_t i = g[2][0]; i < g[2][1]; i++)
        r.x[i] = NAN;
    int64_t *pk;
    size_t np;
    assert_int_equal(somna_rpeaks_detect(r.x, r.n, r.fs, NULL, &pk, &np, NULL, NULL), 0);
    for (size_t i = 0; i < np; i++)
        for (int s = 0; s < 3; s++)
            assert_false(pk[i] > (int64_t)g[s][0] + 20 && pk[i] < (int64_t)g[s][1] - 20);
    int64_t *ref = malloc(r.nref * sizeof *ref);
    size_t m = 0;
    for (size_t i = 0; i < r.nref; i++) {
        int keep = 1;
        for (int s = 0; s < 3; s++)
            keep &= r.ref[i] < (int64_t)g[s][0] - 200 || r.ref[i] > (int64_t)g[s][1] + 200;
        if (keep)
            ref[m++] = r.ref[i];
    }
    /* beats before the first gap cannot exist: it starts the record */
    int64_t *kept = malloc((np ? np : 1) * sizeof *kept);
    size_t mk = 0;
    for (size_t i = 0; i < np; i++) {
        int keep = 1;
        for (int s = 0; s < 3; s++)
            keep &= pk[i] < (int64_t)g[s][0] - 200 || pk[i] > (int64_t)g[s][1] + 200;
        if (keep)
            kept[mk++] = pk[i];
    }
    somna_rpeaks_eval ev;
    assert_int_equal(somna_rpeaks_evaluate(ref, m, kept, mk, r.fs, 0, 0, 0.150, &ev, NULL), 0);
    print_message("gaps across windows: TP %zu FN %zu FP %zu (of %zu reference beats)\n", ev.tp, ev.fn, ev.fp, m);
    assert_true(m > 1700);
    assert_true(ev.se >= 0.995);
    assert_true(ev.ppv >= 0.995);
    free(kept);
    free(ref);
    free(pk);
    free_rec(&r);
}

/* The file path reads stored codes, not physical units (the detector is
 * invariant to gain and offset): an EDF whose physical range is inverted
 * (physical maximum below minimum, so codes fall where millivolts rise)
 * must give the same beats and still report the lead's true polarity. */
static void write_spike_edf(const char *path, int inverted, const int64_t *beat, size_t nb)
{
    enum { FS = 256, SECS = 60 };
    somna_edf_signal_spec sig = {"ECG", "mV", NULL, NULL, FS, inverted ? 5.0 : -5.0, inverted ? -5.0 : 5.0, 0, 0};
    somna_edf_writer_spec spec = {0, NULL, NULL, 2024, 1, 1, 22, 0, 0, 1.0, 1, &sig, 0};
    somna_edf_writer *w;
    assert_int_equal(somna_edf_writer_open(path, &spec, &w, NULL), SOMNA_OK);
    double x[FS];
    const double *rows[1] = {x};
    for (int r = 0; r < SECS; r++) {
        for (int k = 0; k < FS; k++) {
            double t = (double)(r * FS + k), v = 0.05 * sin(2 * M_PI * 0.3 * t / FS);
            for (size_t b = 0; b < nb; b++) {
                double d = (t - (double)beat[b]) / FS; /* seconds from the R peak */
                v += 1.2 * exp(-d * d / (2 * 0.010 * 0.010)) -
                     0.25 * exp(-(d - 0.03) * (d - 0.03) / (2 * 0.008 * 0.008)) +
                     0.3 * exp(-(d - 0.25) * (d - 0.25) / (2 * 0.04 * 0.04));
            }
            x[k] = v;
        }
        assert_int_equal(somna_edf_writer_put_record(w, rows, NULL), SOMNA_OK);
    }
    assert_int_equal(somna_edf_writer_close(w, NULL), SOMNA_OK);
}

static void test_file_inverted_scale(void **state)
{
    (void)state;
    int64_t beat[80];
    size_t nb = 0;
    for (double t = 0.5; t < 59.3; t += 0.8 + 0.15 * sin(t)) /* 0.65-0.95 s RR */
        beat[nb++] = (int64_t)llround(t * 256);
    int64_t *pk[2];
    size_t np[2];
    for (int inv = 0; inv < 2; inv++) {
        char path[4096];
        test_tmp_path(path, sizeof path, inv ? "rpeaks_inverted_scale.edf" : "rpeaks_plain_scale.edf");
        write_spike_edf(path, inv, beat, nb);
        double fs;
        int64_t n;
        int pol = 0;
        somna_err err;
        somna_err_init(&err, NULL, NULL);
        int rc = somna_rpeaks_detect_file(path, NULL, 0, NULL, &pk[inv], &np[inv], &fs, &n, &pol, NULL, 0, &err);
        assert_int_equal(rc, SOMNA_OK);
        assert_int_equal(pol, 1); /* R waves point up in millivolts either way */
        assert_int_equal(np[inv], nb);
        for (size_t i = 0; i < nb; i++)
            if (llabs(pk[inv][i] - beat[i]) > 1)
                fail_msg("%s scale: beat %zu at %lld, the R peak is at %lld", inv ? "inverted" : "plain", i,
                         (long long)pk[inv][i], (long long)beat[i]);
    }
    free(pk[0]);
    free(pk[1]);
}

/* An hour of lead-off (a flat line) inside a 2-h recording is one long
 * RR gap: search-back must look only at its usable ends, not read, filter
 * and hold the whole hour again.  The reader counts what is pulled. */
typedef struct counting_src {
    const double *x;
    int64_t pulled;
} counting_src;

static int counting_read(void *ctx, int64_t first, int64_t n, double *out, somna_err *err)
{
    (void)err;
    counting_src *c = ctx;
    memcpy(out, c->x + first, (size_t)n * sizeof *out);
    c->pulled += n;
    return SOMNA_OK;
}

static void test_long_lead_off_not_reread(void **state)
{
    (void)state;
    const double fs = 256;
    const size_t n = (size_t)(2 * 3600 * fs), a = n / 4, b = a + n / 2; /* 30 min, then 1 h flat */
    double *x = malloc(n * sizeof *x);
    size_t nb = 0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / fs, ph = fmod(t, 0.9); /* a beat every 0.9 s, R at ph = 0 */
        x[i] = i >= a && i < b ? 0.25 : 1.2 * exp(-ph * ph / (2 * 0.01 * 0.01)) + 0.05 * sin(2 * M_PI * 0.3 * t);
    }
    for (double t = 0; t * fs < (double)n; t += 0.9)
        nb += (size_t)(t * fs) < a || (size_t)(t * fs) >= b;
    counting_src src = {x, 0};
    int64_t *pk;
    size_t np;
    assert_int_equal(somna_rpeaks_detect_stream(counting_read, &src, (int64_t)n, fs, NULL, &pk, &np, NULL, NULL),
                     SOMNA_OK);
    size_t inside = 0;
    for (size_t i = 0; i < np; i++)
        inside += pk[i] > (int64_t)a + 64 && pk[i] < (int64_t)b - 64;
    assert_int_equal(inside, 0);
    print_message("lead-off hour: %zu beats of %zu outside it; %.3f x the samples pulled\n", np, nb,
                  (double)src.pulled / (double)n);
    assert_true(np + 2 >= nb && np <= nb + 2);
    /* each sample once for the main pass, 2 x 20 + 1 samples (+-80 ms) per
     * beat to refine, and search-back windows around the hour's ends (a few
     * seconds): under 2 % of n beyond that; the whole hour again would be
     * 50 % (the previous version pulled 1.591 n here) */
    double expected = (double)n + (double)(np * 41);
    assert_true((double)src.pulled < expected + 0.02 * (double)n);
    free(pk);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evaluate_by_hand), cmocka_unit_test(test_evaluate_closest_pair_wins),
        cmocka_unit_test(test_detect_degenerate), cmocka_unit_test(test_mitdb_variants),
        cmocka_unit_test(test_mitdb_gaps), cmocka_unit_test(test_mitdb_gaps_across_windows),
        cmocka_unit_test(test_file_inverted_scale), cmocka_unit_test(test_long_lead_off_not_reread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
