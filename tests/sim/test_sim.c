/* Tests of the simulator against its own parameters: the hypnogram meets the
 * requested latency / sleep time / awakenings / N3 exactly, the EEG spectra
 * carry the stage rhythms, spindles are visible where the truth says, the
 * R-peak truth sits on the ECG's R waves, and the RR series has the
 * stage-dependent heart rate and vagal (HF) power.  Spectra here are computed
 * with FFTW directly (Hann-windowed periodograms), not with somna's dsp. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <fftw3.h>

#include "test_util.h"
#include "somna/sim.h"

/* ---- PRNG ---------------------------------------------------------------------------- */
static void test_rng(void **state)
{
    (void)state;
    somna_sim_rng a, b, c;
    somna_sim_rng_seed(&a, 42, 0);
    somna_sim_rng_seed(&b, 42, 0);
    somna_sim_rng_seed(&c, 42, 1);
    int same = 1, diff = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = somna_sim_rng_next(&a), y = somna_sim_rng_next(&b), z = somna_sim_rng_next(&c);
        same &= x == y;
        diff += x != z;
    }
    assert_true(same);
    assert_true(diff >= 99);
    /* moments: U(0,1) mean 1/2 var 1/12; N(0,1) mean 0 var 1 (n = 200000,
     * tolerances ~5 standard errors) */
    double su = 0, suu = 0, sn = 0, snn = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = somna_sim_rng_uniform(&a), g = somna_sim_rng_normal(&a);
        assert_true(u >= 0.0 && u < 1.0);
        su += u;
        suu += u * u;
        sn += g;
        snn += g * g;
    }
    assert_close_abs(su / n, 0.5, 0.0035);
    assert_close_abs(suu / n - (su / n) * (su / n), 1.0 / 12.0, 0.001);
    assert_close_abs(sn / n, 0.0, 0.012);
    assert_close_abs(snn / n, 1.0, 0.016);
}

/* ---- sleep model ---------------------------------------------------------------------- */
static int count_stage(const somna_hypnogram *h, int s, size_t from, size_t to)
{
    int n = 0;
    for (size_t k = from; k < to && k < h->n_epochs; k++)
        n += h->stages[k] == s;
    return n;
}

static void test_hypnogram_meets_parameters(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        somna_sim_sleep_params p;
        somna_sim_sleep_params_default(&p, 0);
        p.tib_min = 480;
        p.sol_min = 20;
        p.efficiency = 0.85;
        p.fragmentation = 3.0;
        p.n3_min = 70;
        somna_sim_rng r;
        somna_sim_rng_seed(&r, seed, 0);
        somna_hypnogram h;
        somna_err err;
        somna_err_init(&err, NULL, NULL);
        assert_int_equal(somna_sim_hypnogram(&p, &r, &h, &err), 0);
        assert_int_equal(h.n_epochs, 960);            /* 480 min / 0.5 */
        size_t first = 0;
        while (!somna_stage_is_sleep(h.stages[first]))
            first++;
        assert_int_equal(first, 40);                  /* SOL 20 min */
        assert_int_equal(h.stages[first], SOMNA_STAGE_N1);
        int tst = 0;
        for (size_t k = 0; k < h.n_epochs; k++)
            tst += somna_stage_is_sleep(h.stages[k]);
        assert_int_equal(tst, 816);                   /* round(0.85 * 960) */
        assert_int_equal(count_stage(&h, SOMNA_STAGE_N3, 0, 960), 140); /* 70 min */
        /* awakenings = wake bouts inside the sleep period = round(3/h * 408 min) */
        size_t last = h.n_epochs - 1;
        while (!somna_stage_is_sleep(h.stages[last]))
            last--;
        int bouts = 0;
        for (size_t k = first + 1; k <= last; k++)
            bouts += h.stages[k] == SOMNA_STAGE_W && h.stages[k - 1] != SOMNA_STAGE_W;
        assert_int_equal(bouts, 20);
        /* N3 front-loaded, REM back-loaded */
        assert_true(count_stage(&h, SOMNA_STAGE_N3, 0, 320) > 3 * count_stage(&h, SOMNA_STAGE_N3, 640, 960));
        assert_true(count_stage(&h, SOMNA_STAGE_REM, 480, 960) > count_stage(&h, SOMNA_STAGE_REM, 0, 480));
        /* REM default 22 % of TST */
        assert_int_equal(count_stage(&h, SOMNA_STAGE_REM, 0, 960), 180); /* round(0.22*816) */
        /* several REM periods (ultradian cycles): count REM runs >= 3 */
        int runs = 0;
        for (size_t k = 1; k < h.n_epochs; k++)
            runs += h.stages[k] == SOMNA_STAGE_REM && h.stages[k - 1] != SOMNA_STAGE_REM;
        assert_true(runs >= 3);
        somna_sim_hypnogram_free(&h);
    }
}

static void test_nap_and_refusals(void **state)
{
    (void)state;
    somna_sim_sleep_params p;
    somna_sim_sleep_params_default(&p, 1);
    p.tib_min = 45;
    p.sol_min = 8;
    p.efficiency = 0.7;
    somna_sim_rng r;
    somna_sim_rng_seed(&r, 3, 0);
    somna_hypnogram h;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_sim_hypnogram(&p, &r, &h, &err), 0);
    assert_int_equal(h.n_epochs, 90);
    for (int k = 0; k < 16; k++)
        assert_int_equal(h.stages[k], SOMNA_STAGE_W); /* starts awake, SOL 8 min */
    assert_int_equal(h.stages[16], SOMNA_STAGE_N1);
    assert_int_equal(count_stage(&h, SOMNA_STAGE_REM, 0, 90), 0); /* < 60 min of sleep: no REM */
    somna_sim_hypnogram_free(&h);

    p.tib_min = 120; /* naps are 20..90 min */
    assert_int_equal(somna_sim_hypnogram(&p, &r, &h, &err), SOMNA_E_ARG);
    assert_non_null(strstr(err.msg, "nap length"));
    somna_sim_sleep_params_default(&p, 0);
    p.sol_min = 100;
    p.efficiency = 0.9; /* 100 + 432 > 480 */
    assert_int_equal(somna_sim_hypnogram(&p, &r, &h, &err), SOMNA_E_ARG);
    assert_non_null(strstr(err.msg, "sleep-onset latency"));
    assert_null(h.stages);
}

/* ---- signals -------------------------------------------------------------------------- */
typedef struct night_data {
    somna_sim_night *g;
    int fs;
    size_t n_epochs;
    double *c4;    /* whole night, C4-M1 */
    double *emg;
    double *ecg;
    int fs_ecg, fs_emg;
    int8_t *stage;
    double *eog_var, *eog_cov; /* per epoch: var(E1), cov(E1, E2) */
} night_data;

static night_data *night;

static int setup_night(void **state)
{
    (void)state;
    somna_sim_night_params p;
    somna_sim_night_params_default(&p, 0);
    p.seed = 11;
    night = calloc(1, sizeof *night);
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    if (somna_sim_night_create(&p, &night->g, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    const somna_hypnogram *h = somna_sim_night_hypnogram(night->g);
    night->n_epochs = h->n_epochs;
    night->fs = p.fs_eeg;
    night->fs_ecg = p.fs_ecg;
    night->fs_emg = p.fs_emg;
    size_t ne = (size_t)(30 * p.fs_eeg), nm = (size_t)(30 * p.fs_emg), nc = (size_t)(30 * p.fs_ecg);
    night->c4 = malloc(h->n_epochs * ne * sizeof(double));
    night->emg = malloc(h->n_epochs * nm * sizeof(double));
    night->ecg = malloc(h->n_epochs * nc * sizeof(double));
    night->stage = malloc(h->n_epochs);
    night->eog_var = calloc(h->n_epochs, sizeof(double));
    night->eog_cov = calloc(h->n_epochs, sizeof(double));
    int ie1 = somna_sim_night_find(night->g, SOMNA_SIM_EOG_E1);
    int ie2 = somna_sim_night_find(night->g, SOMNA_SIM_EOG_E2);
    memcpy(night->stage, h->stages, h->n_epochs);
    int ic4 = somna_sim_night_find(night->g, SOMNA_SIM_EEG_C4M1);
    int iemg = somna_sim_night_find(night->g, SOMNA_SIM_EMG_CHIN);
    int iecg = somna_sim_night_find(night->g, SOMNA_SIM_ECG);
    const double *const *d;
    size_t k = 0;
    while (somna_sim_night_next_epoch(night->g, &d) == 1) {
        memcpy(night->c4 + k * ne, d[ic4], ne * sizeof(double));
        memcpy(night->emg + k * nm, d[iemg], nm * sizeof(double));
        memcpy(night->ecg + k * nc, d[iecg], nc * sizeof(double));
        double m1 = 0, m2 = 0, v = 0, c = 0;
        for (size_t i = 0; i < ne; i++) {
            m1 += d[ie1][i];
            m2 += d[ie2][i];
        }
        m1 /= (double)ne;
        m2 /= (double)ne;
        for (size_t i = 0; i < ne; i++) {
            v += (d[ie1][i] - m1) * (d[ie1][i] - m1);
            c += (d[ie1][i] - m1) * (d[ie2][i] - m2);
        }
        night->eog_var[k] = v / (double)ne;
        night->eog_cov[k] = c / (double)ne;
        k++;
    }
    return k == h->n_epochs ? 0 : -1;
}

static int teardown_night(void **state)
{
    (void)state;
    somna_sim_night_free(night->g);
    free(night->c4);
    free(night->emg);
    free(night->ecg);
    free(night->stage);
    free(night->eog_var);
    free(night->eog_cov);
    free(night);
    return 0;
}

/* Mean Hann-windowed periodogram (4-s windows, 50 % overlap) of the epochs of
 * one stage; psd has 2*fs+1 bins of 0.25 Hz.  Returns the epoch count. */
static int stage_psd(int stage, int max_epochs, int only_before_onset, double *psd)
{
    const int fs = night->fs, n = 4 * fs, nb = n / 2 + 1;
    double *in = fftw_alloc_real((size_t)n);
    fftw_complex *out = fftw_alloc_complex((size_t)nb);
    fftw_plan plan = fftw_plan_dft_r2c_1d(n, in, out, FFTW_ESTIMATE);
    memset(psd, 0, (size_t)nb * sizeof(double));
    int used = 0, windows = 0;
    size_t first_sleep = 0;
    while (!somna_stage_is_sleep(night->stage[first_sleep]))
        first_sleep++;
    for (size_t k = 0; k < night->n_epochs && used < max_epochs; k++) {
        if (night->stage[k] != stage || (k > 0 && night->stage[k - 1] != stage))
            continue; /* skip transition epochs */
        if (only_before_onset && k >= first_sleep)
            continue;
        const double *x = night->c4 + k * (size_t)(30 * fs);
        for (int off = 0; off + n <= 30 * fs; off += n / 2) {
            for (int i = 0; i < n; i++)
                in[i] = x[off + i] * 0.5 * (1.0 - cos(2.0 * M_PI * i / n));
            fftw_execute(plan);
            for (int b = 0; b < nb; b++)
                psd[b] += out[b][0] * out[b][0] + out[b][1] * out[b][1];
            windows++;
        }
        used++;
    }
    for (int b = 0; b < nb && windows; b++)
        psd[b] /= windows;
    fftw_destroy_plan(plan);
    fftw_free(in);
    fftw_free(out);
    return used;
}

static double band(const double *psd, double lo, double hi)
{
    double s = 0;
    for (int b = (int)ceil(lo * 4); b <= (int)floor(hi * 4); b++)
        s += psd[b];
    return s;
}

static void test_spectra_follow_stages(void **state)
{
    (void)state;
    const int nb = 2 * night->fs + 1;
    double *w = calloc((size_t)nb, sizeof(double)), *n2 = calloc((size_t)nb, sizeof(double));
    double *n3 = calloc((size_t)nb, sizeof(double)), *rem = calloc((size_t)nb, sizeof(double));
    assert_true(stage_psd(SOMNA_STAGE_W, 200, 1, w) >= 10);
    assert_true(stage_psd(SOMNA_STAGE_N2, 200, 0, n2) >= 50);
    assert_true(stage_psd(SOMNA_STAGE_N3, 200, 0, n3) >= 30);
    assert_true(stage_psd(SOMNA_STAGE_REM, 200, 0, rem) >= 30);
    /* relaxed wake: the spectral peak between 2 and 30 Hz is alpha (8-12 Hz) */
    int peak = 8;
    for (int b = 8; b <= 120; b++)
        if (w[b] > w[peak])
            peak = b;
    assert_true(peak >= 32 && peak <= 48);
    /* N2 carries sigma (11-16 Hz) above its neighbours 7-10 and 17-22 Hz per Hz */
    assert_true(band(n2, 11, 16) / 6.0 > 1.5 * band(n2, 17, 22) / 6.0);
    /* N3: delta 0.5-2 Hz power far above wake and above N2 */
    assert_true(band(n3, 0.5, 2) > 10.0 * band(w, 0.5, 2));
    assert_true(band(n3, 0.5, 2) > 1.5 * band(n2, 0.5, 2));
    /* REM: theta (4-8) exceeds alpha (8-12), unlike relaxed wake */
    assert_true(band(rem, 4, 7.75) > band(rem, 8, 12));
    assert_true(band(w, 8, 12) > 2.0 * band(w, 4, 7.75));
    free(w);
    free(n2);
    free(n3);
    free(rem);
}

/* Power of x[i0, i0+n) at frequency f (projection on sin/cos). */
static double tone_power(const double *x, long i0, long n, double f, double fs)
{
    double s = 0, c = 0;
    for (long i = 0; i < n; i++) {
        s += x[i0 + i] * sin(2 * M_PI * f * (double)i / fs);
        c += x[i0 + i] * cos(2 * M_PI * f * (double)i / fs);
    }
    return (s * s + c * c) / ((double)n * (double)n);
}

static void test_spindles_visible(void **state)
{
    (void)state;
    size_t ne;
    const somna_sim_event *ev = somna_sim_night_events(night->g, &ne);
    int checked = 0, visible = 0, n2_spindles = 0;
    double n2_min = 0;
    for (size_t k = 0; k < night->n_epochs; k++)
        n2_min += night->stage[k] == SOMNA_STAGE_N2 ? 0.5 : 0;
    for (size_t i = 0; i < ne; i++) {
        const somna_sim_event *e = &ev[i];
        if (e->type != SOMNA_SIM_EV_SPINDLE || e->channel != SOMNA_SIM_EEG_C4M1)
            continue;
        assert_true(e->freq_hz >= 11 && e->freq_hz <= 16);
        assert_true(e->duration_s >= 0.5 && e->duration_s <= 2.0);
        n2_spindles += e->stage == SOMNA_STAGE_N2;
        /* middle half of the spindle vs the same length 3 s earlier */
        long n = (long)(e->duration_s * 0.5 * night->fs);
        long i0 = (long)((e->onset_s + e->duration_s * 0.25) * night->fs);
        long j0 = i0 - 3 * night->fs;
        if (j0 < 0)
            continue;
        checked++;
        visible += tone_power(night->c4, i0, n, e->freq_hz, night->fs) >
                   4.0 * tone_power(night->c4, j0, n, e->freq_hz, night->fs);
    }
    assert_true(checked > 300);
    assert_true(visible >= 0.85 * checked);
    /* rate: 2 per N2 epoch centrally (Poisson) = 4/min; allow +-15 % */
    double rate = n2_spindles / n2_min;
    assert_true(rate > 3.4 && rate < 4.6);
}

static void test_slow_waves_meet_aasm(void **state)
{
    (void)state;
    size_t ne;
    const somna_sim_event *ev = somna_sim_night_events(night->g, &ne);
    double *cover = calloc(night->n_epochs, sizeof(double));
    int waves = 0, big = 0;
    for (size_t i = 0; i < ne; i++) {
        if (ev[i].type != SOMNA_SIM_EV_SLOWWAVE)
            continue;
        assert_true(ev[i].freq_hz >= 0.5 && ev[i].freq_hz <= 2.0);
        assert_true(ev[i].amplitude >= 75.0);
        size_t k = (size_t)(ev[i].onset_s / 30.0);
        cover[k] += ev[i].duration_s;
        /* the signal's peak-to-peak over the wave reaches its truth amplitude
         * within the background (the wave is added to ongoing EEG) */
        long i0 = (long)(ev[i].onset_s * night->fs), n = (long)(ev[i].duration_s * night->fs);
        double lo = 1e9, hi = -1e9;
        for (long j = 0; j < n; j++) {
            lo = fmin(lo, night->c4[i0 + j]);
            hi = fmax(hi, night->c4[i0 + j]);
        }
        waves++;
        big += hi - lo > 0.75 * ev[i].amplitude;
    }
    assert_true(big >= 0.97 * waves);
    int n3 = 0, ok = 0;
    for (size_t k = 0; k < night->n_epochs; k++) {
        if (night->stage[k] != SOMNA_STAGE_N3)
            continue;
        n3++;
        ok += cover[k] >= 0.2 * 30.0; /* AASM: >= 20 % of the epoch */
    }
    assert_true(n3 > 0);
    assert_true(ok >= 0.95 * n3);
    free(cover);
}

static void test_rpeaks_on_r_waves(void **state)
{
    (void)state;
    size_t nb;
    const somna_sim_beat *b = somna_sim_night_beats(night->g, &nb);
    const long n = (long)(night->n_epochs * 30 * (size_t)night->fs_ecg);
    int on_max = 0, normal = 0;
    const long win = (long)(0.05 * night->fs_ecg);
    for (size_t i = 0; i < nb; i++) {
        if (b[i].type != 'N')
            continue;
        normal++;
        long s = (long)b[i].sample, best = s;
        for (long j = s - win; j <= s + win; j++)
            if (j >= 0 && j < n && night->ecg[j] > night->ecg[best])
                best = j;
        on_max += best == s;
    }
    assert_true(normal > 25000); /* ~60 bpm * 480 min */
    assert_true(on_max >= 0.999 * normal);
}

/* HF power (0.15-0.4 Hz) of the RR series in the longest run of a stage:
 * RR interpolated at 4 Hz, 256-s windows, Hann periodogram. */
static double hf_power(int stage, double *mean_hr, double *t_mid_min)
{
    size_t nb;
    const somna_sim_beat *b = somna_sim_night_beats(night->g, &nb);
    /* longest run of the stage */
    size_t best0 = 0, best1 = 0;
    for (size_t k = 0; k < night->n_epochs;) {
        size_t j = k;
        while (j < night->n_epochs && night->stage[j] == night->stage[k])
            j++;
        if (night->stage[k] == stage && j - k > best1 - best0) {
            best0 = k;
            best1 = j;
        }
        k = j;
    }
    double t0 = (double)best0 * 30.0 + 30.0, t1 = (double)best1 * 30.0; /* skip the transition epoch */
    assert_true(t1 - t0 >= 256.0);
    *t_mid_min = (t0 + t1) / 120.0;
    const int n = 1024;
    double *in = fftw_alloc_real(n);
    fftw_complex *out = fftw_alloc_complex(n / 2 + 1);
    fftw_plan plan = fftw_plan_dft_r2c_1d(n, in, out, FFTW_ESTIMATE);
    double hf = 0, sum_rr = 0;
    int wins = 0, nrr = 0;
    size_t j = 1;
    for (double ws = t0; ws + 256.0 <= t1; ws += 128.0) {
        double mean = 0;
        j = 1;
        for (int i = 0; i < n; i++) {
            double t = ws + i / 4.0;
            while (j + 1 < nb && b[j].time_s < t)
                j++;
            /* RR series value at t: linear between beat times (as get_hrv's
             * interpolation), assigned at the ending beat */
            double rr1 = b[j].time_s - b[j - 1].time_s, rr0 = b[j - 1].time_s - b[j - 2 > 0 ? j - 2 : 0].time_s;
            double f = (t - b[j - 1].time_s) / rr1;
            in[i] = rr0 + f * (rr1 - rr0);
            mean += in[i];
        }
        mean /= n;
        for (int i = 0; i < n; i++)
            in[i] = (in[i] - mean) * 0.5 * (1 - cos(2 * M_PI * i / n));
        fftw_execute(plan);
        for (int k = (int)ceil(0.15 * 256); k <= (int)(0.4 * 256); k++)
            hf += out[k][0] * out[k][0] + out[k][1] * out[k][1];
        sum_rr += mean;
        nrr++;
        wins++;
    }
    *mean_hr = 60.0 / (sum_rr / nrr);
    fftw_destroy_plan(plan);
    fftw_free(in);
    fftw_free(out);
    return hf / wins;
}

static void test_rr_statistics(void **state)
{
    (void)state;
    double hr_w, hr_n3, hr_n2, tw, tn3, tn2;
    double hf_w = hf_power(SOMNA_STAGE_W, &hr_w, &tw);
    double hf_n3 = hf_power(SOMNA_STAGE_N3, &hr_n3, &tn3);
    double hf_n2 = hf_power(SOMNA_STAGE_N2, &hr_n2, &tn2);
    fprintf(stderr, "HR W %.2f N2 %.2f N3 %.2f; HF W %.4g N2 %.4g N3 %.4g\n", hr_w, hr_n2, hr_n3, hf_w, hf_n2, hf_n3);
    /* model HR: relaxed wake 68 bpm, N2 -6, N3 -9, minus 0.01 bpm per minute
     * of the night (at the middle of the longest run), plus a slow random
     * walk of SD 1 bpm -> 3 bpm tolerance */
    assert_close_abs(hr_w, 68.0 - 0.01 * tw, 3.0);
    assert_close_abs(hr_n2, 68.0 - 6.0 - 0.01 * tn2, 3.0);
    assert_close_abs(hr_n3, 68.0 - 9.0 - 0.01 * tn3, 3.0);
    assert_true(hr_n3 < hr_w - 5.0);
    /* vagal tone: RSA amplitude 5 % of a ~1.02-s RR in N3 vs 2.5 % of 0.88 s
     * in wake -> HF power ratio ~ (0.051/0.022)^2 ~ 5; require > 2.5 */
    assert_true(hf_n3 > 2.5 * hf_w);
    assert_true(hf_n3 > hf_n2 && hf_n2 > hf_w);
}

static void test_emg_tone_by_stage(void **state)
{
    (void)state;
    double sum[5] = {0}, cnt[5] = {0};
    const size_t nm = (size_t)(30 * night->fs_emg);
    size_t first_sleep = 0;
    while (!somna_stage_is_sleep(night->stage[first_sleep]))
        first_sleep++;
    for (size_t k = 1; k < night->n_epochs; k++) {
        int s = night->stage[k];
        if (s != night->stage[k - 1] || (s == SOMNA_STAGE_W && k > first_sleep))
            continue;
        double acc = 0;
        for (size_t i = 0; i < nm; i++)
            acc += night->emg[k * nm + i] * night->emg[k * nm + i];
        sum[s] += sqrt(acc / (double)nm);
        cnt[s] += 1;
    }
    /* model tone RMS: relaxed W 10, N1 8, N2 6, N3 5, REM 0.9 uV, plus a
     * 0.5-uV white floor (sqrt(t^2 + 0.25)) and REM twitches */
    assert_close_abs(sum[0] / cnt[0], 10.0, 0.6);
    assert_close_abs(sum[2] / cnt[2], 6.0, 0.4);
    assert_close_abs(sum[3] / cnt[3], 5.0, 0.4);
    assert_true(sum[4] / cnt[4] > 1.0 && sum[4] / cnt[4] < 1.6);
}

/* EOG: rapid eye movements make REM epochs' EOG variance several times that of
 * N2, and conjugate horizontal movements make E1 and E2 anticorrelated. */
static void test_eog_rems(void **state)
{
    (void)state;
    double var_rem = 0, var_n2 = 0, cov_rem = 0;
    int n_rem = 0, n_n2 = 0;
    for (size_t k = 0; k < night->n_epochs; k++) {
        if (night->stage[k] == SOMNA_STAGE_REM) {
            var_rem += night->eog_var[k];
            cov_rem += night->eog_cov[k];
            n_rem++;
        } else if (night->stage[k] == SOMNA_STAGE_N2) {
            var_n2 += night->eog_var[k];
            n_n2++;
        }
    }
    assert_true(n_rem > 50 && n_n2 > 50);
    var_rem /= n_rem;
    var_n2 /= n_n2;
    cov_rem /= n_rem;
    assert_true(var_rem > 3.0 * var_n2);
    assert_true(cov_rem / var_rem < -0.5); /* correlation of E1 with E2 (equal variances) */
}

static void test_deterministic(void **state)
{
    (void)state;
    somna_sim_night_params p;
    somna_sim_night_params_default(&p, 1);
    p.sleep.tib_min = 20;
    p.sleep.sol_min = 4;
    p.seed = 5;
    somna_sim_night *a, *b;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_sim_night_create(&p, &a, &err), 0);
    assert_int_equal(somna_sim_night_create(&p, &b, &err), 0);
    const double *const *da, *const *db;
    int n = somna_sim_night_n_channels(a);
    while (somna_sim_night_next_epoch(a, &da) == 1) {
        assert_int_equal(somna_sim_night_next_epoch(b, &db), 1);
        for (int c = 0; c < n; c++)
            assert_memory_equal(da[c], db[c], 30 * (size_t)somna_sim_night_channel(a, c)->fs * sizeof(double));
    }
    somna_sim_night_free(a);
    somna_sim_night_free(b);
    p.line_noise_hz = 55;
    assert_int_equal(somna_sim_night_create(&p, &a, &err), SOMNA_E_ARG);
    assert_non_null(strstr(err.msg, "line noise"));
}

/* Mains interference and artefacts: with --line-noise 60 the EEG has a line
 * at 60 Hz far above its neighbourhood (and none at 50); --artefacts draws
 * movement events at awakenings after sleep onset and they are in the truth. */
static void test_line_noise_and_artefacts(void **state)
{
    (void)state;
    somna_sim_night_params p;
    somna_sim_night_params_default(&p, 0);
    p.sleep.tib_min = 120;
    p.sleep.sol_min = 10;
    p.sleep.efficiency = 0.75;
    p.sleep.fragmentation = 6; /* 9 awakenings in 90 min of sleep */
    p.line_noise_hz = 60;
    p.artefacts = 1;
    p.seed = 21;
    somna_sim_night *g;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_sim_night_create(&p, &g, &err), 0);
    const double *const *d;
    int ic4 = somna_sim_night_find(g, SOMNA_SIM_EEG_C4M1);
    const long n = 30 * 256;
    double p60 = 0, p50 = 0, p57 = 0;
    int epochs = 0;
    while (somna_sim_night_next_epoch(g, &d) == 1) {
        p60 += tone_power(d[ic4], 0, n, 60.0, 256.0);
        p50 += tone_power(d[ic4], 0, n, 50.0, 256.0);
        p57 += tone_power(d[ic4], 0, n, 57.0, 256.0);
        epochs++;
    }
    assert_int_equal(epochs, 240);
    /* a 10-uV sine has projected power (A/2)^2 = 25 uV^2 */
    assert_close_rel(p60 / epochs, 25.0, 0.05);
    assert_true(p50 < p60 / 1000.0 && p57 < p60 / 1000.0);
    size_t ne;
    const somna_sim_event *ev = somna_sim_night_events(g, &ne);
    int movements = 0;
    for (size_t i = 0; i < ne; i++)
        if (ev[i].type == SOMNA_SIM_EV_ARTEFACT && ev[i].channel == -1) {
            movements++;
            assert_int_equal(ev[i].stage, SOMNA_STAGE_W);
        }
    assert_true(movements >= 3);
    somna_sim_night_free(g);
}

int main(void)
{
    const struct CMUnitTest quick[] = {
        cmocka_unit_test(test_rng),
        cmocka_unit_test(test_hypnogram_meets_parameters),
        cmocka_unit_test(test_nap_and_refusals),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_line_noise_and_artefacts),
    };
    const struct CMUnitTest signals[] = {
        cmocka_unit_test(test_spectra_follow_stages), cmocka_unit_test(test_spindles_visible),
        cmocka_unit_test(test_slow_waves_meet_aasm),  cmocka_unit_test(test_rpeaks_on_r_waves),
        cmocka_unit_test(test_rr_statistics),         cmocka_unit_test(test_emg_tone_by_stage),
        cmocka_unit_test(test_eog_rems),
    };
    int rc = cmocka_run_group_tests_name("sim model", quick, NULL, NULL);
    rc |= cmocka_run_group_tests_name("sim night signals", signals, setup_night, teardown_night);
    return rc;
}
