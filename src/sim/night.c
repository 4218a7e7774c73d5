/* somna sim — the night generator: events, heart beats and signals.
 *
 * Models and their sources (details and amplitudes in docs/simulation.md):
 * - EEG background: 1/f noise as a sum of Lorentzian (AR(1)) processes with
 *   geometrically spaced corners (the superposition that yields 1/f, van
 *   der Ziel 1950), plus band-limited rhythms as AR(2) resonators
 *   driven by white noise (Franaszczuk & Blinowska 1985 parametric EEG).
 *   Stage targets follow the AASM Manual v2.6 definitions (Berry et al.
 *   2020): alpha in relaxed wake, theta and vertex waves in N1, spindles
 *   11-16 Hz 0.5-2 s and K-complexes in N2, >= 20 % of the epoch in slow
 *   waves >= 75 uV peak-to-peak 0.5-2 Hz in N3, sawtooth waves and REMs in R.
 * - Slow-wave shape within YASA's detection criteria (Massimini 2004 /
 *   Carrier 2011: negative half-wave 0.3-1.5 s, peak-to-peak 75-350 uV).
 * - ECG: beat morphology as a sum of Gaussians for P, Q, R, S, T (McSharry et
 *   al. 2003, IEEE TBME 50:289, "ECGSYN"), QT scaled with sqrt(RR) (Bazett
 *   1920).  RR series: heart period modulated by respiration (RSA, HF band)
 *   and a 0.1-Hz Mayer-wave process (LF band) as in McSharry's bimodal RR
 *   spectrum, with stage-dependent mean HR and vagal tone (Trinder et al.
 *   2001: HR lowest and HF highest in N3).
 * - Chin EMG: band-limited (10-100 Hz) Gaussian noise whose RMS follows
 *   the stage (tone falls with depth, REM atonia) plus phasic twitches
 *   (Ferri et al. 2008 REM atonia index context).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "somna/sim.h"

#define TWO_PI 6.283185307179586476925286766559
#define PHYS_HZ 4.0 /* rate of the slow physiology track (HR, RSA, LF, respiration) */
#define MAX_EVENT_S 10.0

/* ---- parameters per stage (index W N1 N2 N3 REM) ------------------------------ */
/* EEG component RMS in uV at C4-M1: background 1/f, alpha, theta, delta, beta */
static const double eeg_gain[5][5] = {
    /*  pink  alpha theta delta beta */
    {7.0, 14.0, 3.0, 3.0, 4.0}, /* W (relaxed, eyes closed) */
    {9.0, 4.0, 9.0, 6.0, 2.0},  /* N1 */
    {11.0, 2.0, 6.0, 16.0, 1.5}, /* N2 (delta: ~75 % of 0.5-30 Hz power, as real N2) */
    {12.0, 1.0, 4.0, 18.0, 1.0}, /* N3 */
    {8.0, 3.0, 8.0, 5.0, 2.5},  /* REM */
};
static const double eeg_eyes_open_alpha = 4.0;
/* Fpz-Cz relative to C4-M1: frontal alpha weaker, frontal delta stronger */
static const double fpz_factor[5] = {1.0, 0.45, 0.9, 1.2, 1.1};
static const double comp_freq[5] = {0.0, 10.0, 6.0, 1.2, 20.0};
static const double comp_bw[5] = {0.0, 1.5, 2.5, 1.5, 6.0};

static const double hr_offset[5] = {0.0, -3.0, -6.0, -9.0, -2.0}; /* bpm vs relaxed wake */
static const double hf_amp[5] = {0.025, 0.030, 0.040, 0.050, 0.022}; /* RSA, fraction of RR */
static const double lf_amp[5] = {0.030, 0.030, 0.022, 0.012, 0.035}; /* LF, fraction of RR */
static const double resp_hz[5] = {0.25, 0.245, 0.24, 0.235, 0.26};
static const double emg_tone[5] = {12.0, 8.0, 6.0, 5.0, 0.9}; /* uV RMS of the 10-100 Hz band (REM: atonia, Ferri 2008 AI ~0.9) */

static int stage_index(int s)
{
    return (s >= SOMNA_STAGE_W && s <= SOMNA_STAGE_REM) ? s : 0;
}

/* ---- small filters -------------------------------------------------------------- */
typedef struct biquad {
    double b0, b1, b2, a1, a2, z1, z2;
} biquad;

static double biquad_run(biquad *q, double x)
{
    double y = q->b0 * x + q->z1;
    q->z1 = q->b1 * x - q->a1 * y + q->z2;
    q->z2 = q->b2 * x - q->a2 * y;
    return y;
}

/* Butterworth-Q (1/sqrt 2) low/high-pass sections, RBJ Audio EQ Cookbook. */
static void biquad_design(biquad *q, int highpass, double fc, double fs)
{
    double w0 = TWO_PI * fc / fs, cw = cos(w0), alpha = sin(w0) / (2.0 * M_SQRT1_2);
    double a0 = 1.0 + alpha;
    if (highpass) {
        q->b0 = (1.0 + cw) / 2.0 / a0;
        q->b1 = -(1.0 + cw) / a0;
        q->b2 = q->b0;
    } else {
        q->b0 = (1.0 - cw) / 2.0 / a0;
        q->b1 = (1.0 - cw) / a0;
        q->b2 = q->b0;
    }
    q->a1 = -2.0 * cw / a0;
    q->a2 = (1.0 - alpha) / a0;
    q->z1 = q->z2 = 0.0;
}

/* AR(2) resonator y = c1 y1 - c2 y2 + g x, scaled to unit output variance for
 * unit-variance white input. */
typedef struct resonator {
    double c1, c2, g, y1, y2;
} resonator;

static void resonator_design(resonator *r, double f0, double bw, double fs)
{
    double rad = exp(-M_PI * bw / fs), w = TWO_PI * f0 / fs;
    r->c1 = 2.0 * rad * cos(w);
    r->c2 = rad * rad;
    /* variance of an AR(2) process with unit innovations (Box & Jenkins) */
    double a1 = -r->c1, a2 = r->c2;
    double var = (1.0 + a2) / ((1.0 - a2) * ((1.0 + a2) * (1.0 + a2) - a1 * a1));
    r->g = 1.0 / sqrt(var);
    r->y1 = r->y2 = 0.0;
}

static inline double resonator_run(resonator *r, double x)
{
    double y = r->c1 * r->y1 - r->c2 * r->y2 + x;
    r->y2 = r->y1;
    r->y1 = y;
    return y * r->g;
}

/* Unit-variance approximately Gaussian noise from one 64-bit draw: the sum
 * of four 16-bit uniforms (Irwin-Hall, kurtosis 2.7) — cheap enough for
 * tens of millions of samples, and the signals are sums of many of them. */
static inline double fast_noise(somna_sim_rng *r)
{
    /* xoshiro256** step inlined (same sequence as somna_sim_rng_next) */
    uint64_t *q = r->s;
    const uint64_t x = q[1] * 5;
    const uint64_t v = ((x << 7) | (x >> 57)) * 9;
    const uint64_t t = q[1] << 17;
    q[2] ^= q[0];
    q[3] ^= q[1];
    q[1] ^= q[2];
    q[0] ^= q[3];
    q[2] ^= t;
    q[3] = (q[3] << 45) | (q[3] >> 19);
    double sum = (double)(v & 0xFFFF) + (double)((v >> 16) & 0xFFFF) + (double)((v >> 32) & 0xFFFF) +
                 (double)(v >> 48);
    /* mean 4 * 32767.5, variance 4 * (65536^2 - 1) / 12 */
    return (sum - 131070.0) * (1.0 / 37837.22718);
}

/* Four independent zero-mean unit-variance uniform values from one draw.
 * Used to drive the EEG filters: their outputs average many inputs, so the
 * input distribution does not matter (central limit), only its variance. */
static inline void fast_uniform4(somna_sim_rng *r, double out[4])
{
    uint64_t *q = r->s;
    const uint64_t x = q[1] * 5;
    const uint64_t v = ((x << 7) | (x >> 57)) * 9;
    const uint64_t t = q[1] << 17;
    q[2] ^= q[0];
    q[3] ^= q[1];
    q[1] ^= q[2];
    q[0] ^= q[3];
    q[2] ^= t;
    q[3] = (q[3] << 45) | (q[3] >> 19);
    /* 16-bit uniform: mean 32767.5, sd 65536 / sqrt(12) */
    const double k = 3.4641016151377544 / 65536.0;
    out[0] = ((double)(v & 0xFFFF) - 32767.5) * k;
    out[1] = ((double)((v >> 16) & 0xFFFF) - 32767.5) * k;
    out[2] = ((double)((v >> 32) & 0xFFFF) - 32767.5) * k;
    out[3] = ((double)(v >> 48) - 32767.5) * k;
}

/* ---- state ------------------------------------------------------------------------ */
typedef struct ev_render {
    double gain[4];          /* per EEG/EOG channel (C4, Fpz, E1, E2), channel units */
    double emg_gain;         /* EMG tone boost (x stage tone) */
    double phase, aux;
} ev_render;

typedef struct eeg_state {
    double ar1_a[4], ar1_b[4], ar1_y[4];
    resonator res[4]; /* alpha theta delta beta */
} eeg_state;

struct somna_sim_night {
    somna_sim_night_params p;
    somna_hypnogram hyp;
    double duration_s;
    int n_ch;
    somna_sim_channel ch[SOMNA_SIM_N_KINDS];
    int index_of[SOMNA_SIM_N_KINDS];
    double *buf[SOMNA_SIM_N_KINDS];
    const double *outp[SOMNA_SIM_N_KINDS];
    double *emg_gain_buf;
    size_t next_epoch;
    int first_sleep_epoch;
    unsigned char *eyes_open;   /* per epoch (wake only) */
    unsigned char *posture;     /* per epoch 0 supine 1 left 2 right 3 prone */

    somna_sim_rng rng_sig;

    /* events */
    somna_sim_event *ev;
    ev_render *evr;
    size_t n_ev, cap_ev, ev_first;

    /* beats */
    somna_sim_beat *beats;
    double *beat_amp, *beat_rr;
    size_t n_beats, cap_beats, beat_first;
    double ecg_amp_scale;

    /* 4-Hz physiology track */
    size_t n_phys;
    double *ph_hr, *ph_hf, *ph_lf, *ph_lfproc, *ph_resp_phase, *ph_resp_amp, *ph_resp_sin;

    /* continuous processes */
    eeg_state eeg[2];
    double eog_ar[2];
    biquad emg_hp1, emg_hp2, emg_lp1, emg_lp2;
    double emg_norm;
    double ecg_drift, ecg_drift_a;
    double temp_state;
    double acc_prev[3];
    double line_amp;

    /* ECG templates cached per (type, preceding RR in 10-ms bins) */
    double *tmpl[2][256];
    int tmpl_pre, tmpl_len[2][256];
};

const char *somna_sim_event_name(int type)
{
    static const char *const names[SOMNA_SIM_EV_N_TYPES] = {
        "spindle", "kcomplex", "slowwave", "vertex", "sawtooth", "sem", "rem", "blink", "twitch", "artefact"};
    return (type >= 0 && type < SOMNA_SIM_EV_N_TYPES) ? names[type] : "?";
}

void somna_sim_night_params_default(somna_sim_night_params *p, int nap)
{
    memset(p, 0, sizeof *p);
    somna_sim_sleep_params_default(&p->sleep, nap);
    p->seed = 1;
    p->fs_eeg = 256;
    p->fs_emg = 256;
    p->fs_ecg = 256;
    p->hr_bpm = 68.0;
    p->hf_factor = 1.0;
    p->emg_tone_factor = 1.0;
    p->start_hour = nap ? 13.5 : 23.0;
    p->start_year = 2026;
    p->start_month = 1;
    p->start_day = 5;
}

/* ---- events ------------------------------------------------------------------------ */
static int push_event(somna_sim_night *g, int type, int channel, double onset, double dur, double peak,
                      double freq, double amp, int stage, const ev_render *r)
{
    if (onset < 0.0 || onset + dur > g->duration_s)
        return 0; /* keep every event whole inside the recording */
    if (g->n_ev == g->cap_ev) {
        size_t cap = g->cap_ev ? 2 * g->cap_ev : 1024;
        somna_sim_event *e = realloc(g->ev, cap * sizeof *e);
        if (!e)
            return -1;
        g->ev = e;
        ev_render *er = realloc(g->evr, cap * sizeof *er);
        if (!er)
            return -1;
        g->evr = er;
        g->cap_ev = cap;
    }
    somna_sim_event *e = &g->ev[g->n_ev];
    e->type = type;
    e->channel = channel;
    e->onset_s = onset;
    e->duration_s = dur;
    e->peak_s = peak;
    e->freq_hz = freq;
    e->amplitude = amp;
    e->stage = stage;
    g->evr[g->n_ev] = *r;
    g->n_ev++;
    return 0;
}

/* Unit waveform of an event at time tau after onset. */
static double ev_wave(const somna_sim_event *e, const ev_render *r, double tau)
{
    double d = e->duration_s;
    switch (e->type) {
    case SOMNA_SIM_EV_SPINDLE:
        return sin(TWO_PI * e->freq_hz * tau + r->phase) * 0.5 * (1.0 - cos(TWO_PI * tau / d));
    case SOMNA_SIM_EV_SLOWWAVE:
        return -sin(TWO_PI * tau / d); /* negative half-wave first; peak-to-peak 2 */
    case SOMNA_SIM_EV_KCOMPLEX: {
        double a = (tau - 0.3 * d) / (0.1 * d), b = (tau - 0.62 * d) / (0.15 * d);
        return (-exp(-0.5 * a * a) + 0.55 * exp(-0.5 * b * b)) * r->aux;
    }
    case SOMNA_SIM_EV_VERTEX: {
        double a = (tau - 0.5 * d) / (d / 6.0);
        return -exp(-0.5 * a * a);
    }
    case SOMNA_SIM_EV_SAWTOOTH: {
        double ph = fmod(e->freq_hz * tau + r->phase, 1.0);
        double tri = ph < 0.7 ? -1.0 + 2.0 * ph / 0.7 : 1.0 - 2.0 * (ph - 0.7) / 0.3;
        return tri * 0.5 * (1.0 - cos(TWO_PI * tau / d));
    }
    case SOMNA_SIM_EV_SEM:
        return sin(M_PI * tau / d);
    case SOMNA_SIM_EV_REM: {
        /* saccade (50 ms smooth step) seen through the 0.3-Hz AC coupling of EOG amplifiers */
        double x = tau / 0.05;
        double step = x >= 1.0 ? 1.0 : x * x * (3.0 - 2.0 * x);
        return step * exp(-tau / 0.8);
    }
    case SOMNA_SIM_EV_BLINK: {
        double a = (tau - 0.5 * d) / (d / 8.0);
        return exp(-0.5 * a * a);
    }
    case SOMNA_SIM_EV_ARTEFACT:
        if (r->aux > 0.0) /* electrode pop: step then exponential recovery */
            return exp(-tau / r->aux);
        return sin(M_PI * tau / d) * (1.0 + 0.3 * sin(TWO_PI * 1.7 * tau + r->phase));
    default:
        return 0.0;
    }
}

static double k_complex_ptp_scale(void)
{
    /* peak-to-peak of the unit K-complex shape, measured once on a fine grid */
    somna_sim_event e = {.type = SOMNA_SIM_EV_KCOMPLEX, .duration_s = 1.0};
    ev_render r = {.aux = 1.0};
    double lo = 0.0, hi = 0.0;
    for (int i = 0; i <= 2000; i++) {
        double v = ev_wave(&e, &r, i / 2000.0);
        lo = fmin(lo, v);
        hi = fmax(hi, v);
    }
    return 1.0 / (hi - lo);
}

static double poisson_count(somna_sim_rng *r, double mean)
{
    /* Knuth's multiplication method; means here are small (< 10) */
    double l = exp(-mean), p = 1.0;
    int k = 0;
    do {
        k++;
        p *= somna_sim_rng_uniform(r);
    } while (p > l && k < 100);
    return (double)(k - 1);
}

static int cmp_event(const void *a, const void *b)
{
    const somna_sim_event *x = a, *y = b;
    return (x->onset_s > y->onset_s) - (x->onset_s < y->onset_s);
}

static int draw_events(somna_sim_night *g, somna_sim_rng *r)
{
    const double ep = g->hyp.epoch_s;
    const int eeg = !g->p.ecg_only;
    const double kc_scale = k_complex_ptp_scale();
    const double tone_f = g->p.emg_tone_factor;
    for (size_t k = 0; k < g->hyp.n_epochs; k++) {
        int s = g->hyp.stages[k];
        double t0 = (double)k * ep;
        int prev = k > 0 ? g->hyp.stages[k - 1] : SOMNA_STAGE_W;
        ev_render rr;
        int rc = 0;
        if (s == SOMNA_STAGE_N2 || s == SOMNA_STAGE_N3) {
            /* spindles: fast centrally (12.5-15 Hz), slow frontally (11-13 Hz);
             * ~4/min centrally in N2 (De Gennaro & Ferrara 2003), fewer in N3 */
            double rate_c = s == SOMNA_STAGE_N2 ? 2.0 : 0.6, rate_f = s == SOMNA_STAGE_N2 ? 1.0 : 0.4;
            for (int chn = 0; chn < 2; chn++) {
                double n = poisson_count(r, chn == 0 ? rate_c : rate_f);
                for (int i = 0; i < (int)n; i++) {
                    double dur = somna_sim_rng_range(r, 0.5, 2.0);
                    double f = chn == 0 ? somna_sim_rng_range(r, 12.5, 15.0) : somna_sim_rng_range(r, 11.0, 13.0);
                    double a = somna_sim_rng_range(r, 25.0, 45.0);
                    double on = t0 + somna_sim_rng_uniform(r) * (ep - dur);
                    memset(&rr, 0, sizeof rr);
                    rr.gain[chn] = a;
                    rr.gain[1 - chn] = 0.3 * a; /* volume conduction */
                    rr.phase = somna_sim_rng_uniform(r) * TWO_PI;
                    rc |= push_event(g, SOMNA_SIM_EV_SPINDLE, chn == 0 ? SOMNA_SIM_EEG_C4M1 : SOMNA_SIM_EEG_FPZCZ, on,
                                     dur, on + dur / 2.0, f, a, s, &rr);
                }
            }
        }
        if (s == SOMNA_STAGE_N2) {
            double n = poisson_count(r, 0.7);
            for (int i = 0; i < (int)n; i++) {
                double dur = somna_sim_rng_range(r, 0.6, 1.0);
                double ptp = somna_sim_rng_range(r, 100.0, 200.0);
                double on = t0 + somna_sim_rng_uniform(r) * (ep - dur);
                memset(&rr, 0, sizeof rr);
                rr.aux = kc_scale;
                rr.gain[0] = ptp;
                rr.gain[1] = 1.2 * ptp; /* K-complexes are frontally maximal */
                rr.gain[2] = 0.2 * ptp;
                rr.gain[3] = 0.2 * ptp;
                rc |= push_event(g, SOMNA_SIM_EV_KCOMPLEX, SOMNA_SIM_EEG_C4M1, on, dur, on + 0.3 * dur, 1.0 / dur,
                                 ptp, s, &rr);
            }
        }
        if (s == SOMNA_STAGE_N3 || (s == SOMNA_STAGE_N2 && somna_sim_rng_uniform(r) < 0.15)) {
            /* trains of single slow waves covering ~55 % of an N3 epoch (AASM:
             * >= 20 %), a short train in some N2 epochs */
            double cover = s == SOMNA_STAGE_N3 ? somna_sim_rng_range(r, 0.45, 0.7) : somna_sim_rng_range(r, 0.05, 0.12);
            double t = t0 + somna_sim_rng_uniform(r) * ep * (1.0 - cover);
            double end = t + cover * ep;
            while (t < end && t < t0 + ep) {
                double f = somna_sim_rng_range(r, 0.6, 1.6);
                double dur = 1.0 / f;
                double ptp = somna_sim_rng_range(r, 80.0, 180.0);
                memset(&rr, 0, sizeof rr);
                rr.gain[0] = ptp / 2.0;
                rr.gain[1] = 1.2 * ptp / 2.0;
                rr.gain[2] = 0.2 * ptp / 2.0; /* frontal slow waves reach the EOG leads */
                rr.gain[3] = 0.2 * ptp / 2.0;
                rc |= push_event(g, SOMNA_SIM_EV_SLOWWAVE, SOMNA_SIM_EEG_C4M1, t, dur, t + dur / 4.0, f, ptp, s, &rr);
                t += dur + somna_sim_rng_range(r, 0.0, 0.6);
            }
        }
        if (s == SOMNA_STAGE_N1) {
            double n = poisson_count(r, 0.6);
            for (int i = 0; i < (int)n; i++) {
                double dur = somna_sim_rng_range(r, 0.2, 0.4), a = somna_sim_rng_range(r, 50.0, 100.0);
                double on = t0 + somna_sim_rng_uniform(r) * (ep - dur);
                memset(&rr, 0, sizeof rr);
                rr.gain[0] = a;          /* negative at the vertex (C4 near Cz) */
                rr.gain[1] = -0.6 * a;   /* Fpz-Cz = Fpz - Cz: a vertex negativity is positive here */
                rc |= push_event(g, SOMNA_SIM_EV_VERTEX, SOMNA_SIM_EEG_C4M1, on, dur, on + dur / 2.0, 1.0 / dur, a, s,
                                 &rr);
            }
        }
        if (s == SOMNA_STAGE_REM) {
            double n = poisson_count(r, 0.5);
            for (int i = 0; i < (int)n; i++) {
                double dur = somna_sim_rng_range(r, 1.0, 3.0), f = somna_sim_rng_range(r, 2.0, 5.0);
                double a = somna_sim_rng_range(r, 20.0, 40.0);
                double on = t0 + somna_sim_rng_uniform(r) * (ep - dur);
                memset(&rr, 0, sizeof rr);
                rr.gain[0] = a;
                rr.gain[1] = 0.5 * a;
                rr.phase = somna_sim_rng_uniform(r);
                rc |= push_event(g, SOMNA_SIM_EV_SAWTOOTH, SOMNA_SIM_EEG_C4M1, on, dur, on, f, a, s, &rr);
            }
            /* rapid eye movements in bursts */
            double bursts = poisson_count(r, 3.0);
            for (int i = 0; i < (int)bursts; i++) {
                double t = t0 + somna_sim_rng_uniform(r) * (ep - 3.0);
                int nsac = 1 + (int)(somna_sim_rng_uniform(r) * 4.0);
                for (int j = 0; j < nsac; j++) {
                    double a = somna_sim_rng_range(r, 45.0, 150.0) * (somna_sim_rng_uniform(r) < 0.5 ? -1.0 : 1.0);
                    memset(&rr, 0, sizeof rr);
                    rr.gain[2] = a;
                    rr.gain[3] = -a; /* conjugate horizontal movement: E1 and E2 out of phase */
                    rr.gain[1] = 0.1 * a;
                    rc |= push_event(g, SOMNA_SIM_EV_REM, SOMNA_SIM_EOG_E1, t, 4.0, t + 0.05, 0.0, fabs(a), s, &rr);
                    t += somna_sim_rng_range(r, 0.3, 0.8);
                }
            }
            /* phasic chin twitches over atonia */
            double tw = poisson_count(r, 3.0);
            for (int i = 0; i < (int)tw; i++) {
                double dur = somna_sim_rng_range(r, 0.1, 0.25), a = somna_sim_rng_range(r, 4.0, 10.0);
                double on = t0 + somna_sim_rng_uniform(r) * (ep - dur);
                memset(&rr, 0, sizeof rr);
                rr.emg_gain = a;
                rc |= push_event(g, SOMNA_SIM_EV_TWITCH, SOMNA_SIM_EMG_CHIN, on, dur, on + dur / 2.0, 0.0,
                                 a * emg_tone[4] * tone_f, s, &rr);
            }
        }
        /* slow eye movements at sleep onset: the last two wake epochs before
         * the first sleep, N1, and the first minute after an awakening */
        int near_onset = (s == SOMNA_STAGE_W && (int)k >= g->first_sleep_epoch - 2 && (int)k < g->first_sleep_epoch);
        if (s == SOMNA_STAGE_N1 || near_onset || (prev == SOMNA_STAGE_W && s != SOMNA_STAGE_W && k > 0)) {
            double n = poisson_count(r, 1.2);
            for (int i = 0; i < (int)n; i++) {
                double dur = somna_sim_rng_range(r, 2.0, 5.0);
                double a = somna_sim_rng_range(r, 60.0, 120.0) * (somna_sim_rng_uniform(r) < 0.5 ? -1.0 : 1.0);
                double on = t0 + somna_sim_rng_uniform(r) * (ep - dur);
                memset(&rr, 0, sizeof rr);
                rr.gain[2] = a;
                rr.gain[3] = -a;
                rr.gain[1] = 0.1 * a;
                rc |= push_event(g, SOMNA_SIM_EV_SEM, SOMNA_SIM_EOG_E1, on, dur, on + dur / 2.0, 0.5 / dur, fabs(a), s,
                                 &rr);
            }
        }
        if (s == SOMNA_STAGE_W && g->eyes_open[k]) {
            double n = poisson_count(r, 7.0); /* ~14 blinks/min with eyes open */
            for (int i = 0; i < (int)n; i++) {
                double dur = 0.4, a = somna_sim_rng_range(r, 120.0, 250.0);
                double on = t0 + somna_sim_rng_uniform(r) * (ep - dur);
                memset(&rr, 0, sizeof rr);
                rr.gain[3] = a;          /* E2 above the eye */
                rr.gain[2] = -0.6 * a;   /* E1 below */
                rr.gain[1] = 0.8 * a;    /* Fpz sits just above the eyes */
                rr.gain[0] = 0.05 * a;
                rc |= push_event(g, SOMNA_SIM_EV_BLINK, SOMNA_SIM_EOG_E2, on, dur, on + dur / 2.0, 0.0, a, s, &rr);
            }
        }
        if (g->p.artefacts) {
            /* movement at the start of awakenings after sleep onset (also
             * disturbs the ECG, so ECG-only recordings get them too) */
            if (s == SOMNA_STAGE_W && (int)k > g->first_sleep_epoch && prev != SOMNA_STAGE_W &&
                somna_sim_rng_uniform(r) < 0.7) {
                double dur = somna_sim_rng_range(r, 2.0, 8.0);
                double on = t0 + somna_sim_rng_uniform(r) * (ep - dur) * 0.5;
                memset(&rr, 0, sizeof rr);
                for (int c = 0; c < 4; c++)
                    rr.gain[c] = somna_sim_rng_range(r, 150.0, 400.0) * (somna_sim_rng_uniform(r) < 0.5 ? -1.0 : 1.0);
                rr.emg_gain = 8.0;
                rr.phase = somna_sim_rng_uniform(r) * TWO_PI;
                rc |= push_event(g, SOMNA_SIM_EV_ARTEFACT, -1, on, dur, on + dur / 2.0, 0.0, fabs(rr.gain[0]), s, &rr);
            }
            /* electrode pops, ~1 per hour */
            if (eeg && somna_sim_rng_uniform(r) < ep / 3600.0) {
                int c = somna_sim_rng_uniform(r) < 0.5 ? 0 : 1;
                double a = somna_sim_rng_range(r, 100.0, 300.0) * (somna_sim_rng_uniform(r) < 0.5 ? -1.0 : 1.0);
                double on = t0 + somna_sim_rng_uniform(r) * (ep - 5.0);
                memset(&rr, 0, sizeof rr);
                rr.gain[c] = a;
                rr.aux = somna_sim_rng_range(r, 0.3, 1.0);
                rc |= push_event(g, SOMNA_SIM_EV_ARTEFACT, c == 0 ? SOMNA_SIM_EEG_C4M1 : SOMNA_SIM_EEG_FPZCZ, on,
                                 5.0 * rr.aux, on, 0.0, fabs(a), s, &rr);
            }
        }
        if (rc)
            return -1;
    }
    /* keep the render data aligned with the sorted public array */
    size_t n = g->n_ev;
    struct pair {
        somna_sim_event e;
        ev_render r;
    } *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (!tmp)
        return -1;
    for (size_t i = 0; i < n; i++) {
        tmp[i].e = g->ev[i];
        tmp[i].r = g->evr[i];
    }
    qsort(tmp, n, sizeof *tmp, cmp_event); /* the event is the first member */
    for (size_t i = 0; i < n; i++) {
        g->ev[i] = tmp[i].e;
        g->evr[i] = tmp[i].r;
    }
    free(tmp);
    return 0;
}

/* ---- physiology track and beats ---------------------------------------------------- */
static double track_at(const double *a, size_t n, double t)
{
    double x = t * PHYS_HZ;
    if (x <= 0.0)
        return a[0];
    size_t j = (size_t)x;
    if (j + 1 >= n)
        return a[n - 1];
    double f = x - (double)j;
    return a[j] + f * (a[j + 1] - a[j]);
}

static int stage_at(const somna_sim_night *g, double t)
{
    long k = (long)(t / g->hyp.epoch_s);
    if (k < 0)
        k = 0;
    if ((size_t)k >= g->hyp.n_epochs)
        k = (long)g->hyp.n_epochs - 1;
    return g->hyp.stages[k];
}

static int build_physiology(somna_sim_night *g, somna_sim_rng *r)
{
    size_t n = (size_t)ceil(g->duration_s * PHYS_HZ) + 2;
    g->n_phys = n;
    double *blk = malloc(7 * n * sizeof *blk);
    if (!blk)
        return -1;
    g->ph_hr = blk;
    g->ph_hf = blk + n;
    g->ph_lf = blk + 2 * n;
    g->ph_lfproc = blk + 3 * n;
    g->ph_resp_phase = blk + 4 * n;
    g->ph_resp_amp = blk + 5 * n;
    g->ph_resp_sin = blk + 6 * n; /* sin(phase) at 4 Hz: 16 points per breath, interpolated */
    resonator mayer;
    resonator_design(&mayer, 0.1, 0.04, PHYS_HZ);
    double a_smooth = exp(-1.0 / (PHYS_HZ * 20.0)); /* autonomic changes settle in ~20 s */
    double rwalk = 0.0, resp_noise = 0.0, amp_noise = 0.0;
    double hr = g->p.hr_bpm, hf = hf_amp[0], lf = lf_amp[0], phase = somna_sim_rng_uniform(r) * TWO_PI;
    int first = 1;
    for (size_t j = 0; j < n; j++) {
        double t = (double)j / PHYS_HZ;
        int s = stage_at(g, t);
        int si = stage_index(s);
        long k = (long)(t / g->hyp.epoch_s);
        double hr_t = g->p.hr_bpm + hr_offset[si] - 0.01 * t / 60.0; /* slow circadian decline */
        if (s == SOMNA_STAGE_W && k > g->first_sleep_epoch)
            hr_t += 5.0; /* arousal from sleep */
        double hf_t = hf_amp[si] * g->p.hf_factor, lf_t = lf_amp[si];
        if (first) {
            hr = hr_t;
            hf = hf_t;
            lf = lf_t;
            first = 0;
        }
        hr = a_smooth * hr + (1.0 - a_smooth) * hr_t;
        hf = a_smooth * hf + (1.0 - a_smooth) * hf_t;
        lf = a_smooth * lf + (1.0 - a_smooth) * lf_t;
        /* breathing: stage rate, slow wander, more irregular in REM and wake */
        double irr = (s == SOMNA_STAGE_REM || s == SOMNA_STAGE_W) ? 0.12 : 0.04;
        resp_noise = 0.995 * resp_noise + 0.0999 * somna_sim_rng_normal(r);
        amp_noise = 0.98 * amp_noise + 0.199 * somna_sim_rng_normal(r);
        rwalk = 0.999 * rwalk + 0.0447 * somna_sim_rng_normal(r);
        phase += TWO_PI * resp_hz[si] * (1.0 + irr * resp_noise) / PHYS_HZ;
        g->ph_hr[j] = hr + 1.0 * rwalk;
        g->ph_hf[j] = hf;
        g->ph_lf[j] = lf;
        g->ph_lfproc[j] = M_SQRT2 * resonator_run(&mayer, somna_sim_rng_normal(r));
        g->ph_resp_phase[j] = phase;
        g->ph_resp_amp[j] = 1.0 + irr * 2.0 * amp_noise;
        g->ph_resp_sin[j] = sin(phase);
    }
    return 0;
}

static int push_beat(somna_sim_night *g, double t, char type, double amp, double rr)
{
    if (g->n_beats == g->cap_beats) {
        size_t cap = g->cap_beats ? 2 * g->cap_beats : 4096;
        somna_sim_beat *b = realloc(g->beats, cap * sizeof *b);
        if (!b)
            return -1;
        g->beats = b;
        double *a = realloc(g->beat_amp, cap * sizeof *a);
        if (!a)
            return -1;
        g->beat_amp = a;
        double *q = realloc(g->beat_rr, cap * sizeof *q);
        if (!q)
            return -1;
        g->beat_rr = q;
        g->cap_beats = cap;
    }
    int64_t smp = (int64_t)llround(t * g->p.fs_ecg);
    somna_sim_beat *b = &g->beats[g->n_beats];
    b->sample = smp;
    b->time_s = (double)smp / g->p.fs_ecg;
    b->type = type;
    b->stage = stage_at(g, t);
    g->beat_amp[g->n_beats] = amp;
    g->beat_rr[g->n_beats] = rr;
    g->n_beats++;
    return 0;
}

static int draw_beats(somna_sim_night *g, somna_sim_rng *r)
{
    double t = somna_sim_rng_range(r, 0.4, 0.9);
    double last_rr = 60.0 / g->p.hr_bpm;
    const double end = g->duration_s - 0.8; /* every beat's whole waveform inside the record */
    while (t < end) {
        double hr = track_at(g->ph_hr, g->n_phys, t);
        double hf = track_at(g->ph_hf, g->n_phys, t);
        double lf = track_at(g->ph_lf, g->n_phys, t);
        double lfp = track_at(g->ph_lfproc, g->n_phys, t);
        double ph = track_at(g->ph_resp_phase, g->n_phys, t);
        double ra = track_at(g->ph_resp_amp, g->n_phys, t);
        double amp = 1.0 + 0.1 * sin(ph); /* thoracic impedance modulates QRS amplitude */
        if (push_beat(g, t, 'N', amp, last_rr))
            return -1;
        double rr = 60.0 / hr * (1.0 + hf * ra * sin(ph) + lf * lfp) + 0.004 * somna_sim_rng_normal(r);
        if (rr < 0.3)
            rr = 0.3;
        if (g->p.ectopy > 0.0 && somna_sim_rng_uniform(r) < g->p.ectopy && t + 2.0 * rr < end) {
            /* premature ventricular beat at 60 % of the cycle, full compensatory pause */
            double tv = t + 0.6 * rr;
            if (push_beat(g, tv, 'V', 1.0, 0.6 * rr))
                return -1;
            last_rr = 1.4 * rr;
            t += 2.0 * rr;
            continue;
        }
        last_rr = rr;
        t += rr;
    }
    return 0;
}

/* Beat template (mV) sampled at fs, R peak at index `pre`. */
static const double *beat_template(somna_sim_night *g, int ventricular, double rr, int *len)
{
    int bin = (int)lround(rr * 100.0);
    if (bin < 30)
        bin = 30;
    if (bin > 255)
        bin = 255;
    int v = ventricular ? 1 : 0;
    if (g->tmpl[v][bin]) {
        *len = g->tmpl_len[v][bin];
        return g->tmpl[v][bin];
    }
    double fs = g->p.fs_ecg, rrq = bin / 100.0, sq = sqrt(rrq);
    int pre = g->tmpl_pre;
    int post = (int)ceil((0.28 * sq + 0.30) * fs);
    int n = pre + post + 1;
    double *w = malloc((size_t)n * sizeof *w);
    if (!w) {
        *len = 0;
        return NULL;
    }
    /* (amplitude mV, centre s, width s) per wave, McSharry 2003 shape in time */
    static const double normal_waves[5][3] = {
        {0.15, -0.17, 0.025}, {-0.12, -0.028, 0.009}, {1.2, 0.0, 0.010}, {-0.28, 0.030, 0.010}, {0.30, 0.28, 0.055}};
    static const double pvc_waves[3][3] = {{1.6, 0.0, 0.035}, {-0.5, 0.08, 0.03}, {-0.4, 0.35, 0.07}};
    for (int i = 0; i < n; i++) {
        double tau = (double)(i - pre) / fs, s = 0.0;
        if (!v) {
            for (int k = 0; k < 5; k++) {
                double c = normal_waves[k][1], wd = normal_waves[k][2];
                if (k == 4) { /* T wave follows the QT interval */
                    c *= sq;
                    wd *= sq;
                }
                double x = (tau - c) / wd;
                s += normal_waves[k][0] * exp(-0.5 * x * x);
            }
        } else {
            for (int k = 0; k < 3; k++) {
                double c = pvc_waves[k][1] * (k == 2 ? sq : 1.0), x = (tau - c) / pvc_waves[k][2];
                s += pvc_waves[k][0] * exp(-0.5 * x * x);
            }
        }
        w[i] = s;
    }
    g->tmpl[v][bin] = w;
    g->tmpl_len[v][bin] = n;
    *len = n;
    return w;
}

/* ---- channels ------------------------------------------------------------------------ */
static void add_channel(somna_sim_night *g, int kind, const char *label, const char *unit, int fs, double lo,
                        double hi)
{
    somna_sim_channel *c = &g->ch[g->n_ch];
    c->kind = kind;
    c->label = label;
    c->unit = unit;
    c->fs = fs;
    c->phys_min = lo;
    c->phys_max = hi;
    g->index_of[kind] = g->n_ch;
    g->n_ch++;
}

static void eeg_init(eeg_state *e, double fs)
{
    static const double corners[4] = {0.5, 2.0, 8.0, 32.0};
    for (int i = 0; i < 4; i++) {
        e->ar1_a[i] = exp(-TWO_PI * corners[i] / fs);
        e->ar1_b[i] = sqrt(1.0 - e->ar1_a[i] * e->ar1_a[i]) * 0.5; /* 4 unit-variance terms / 2 = unit */
        e->ar1_y[i] = 0.0;
    }
    for (int c = 1; c < 5; c++)
        resonator_design(&e->res[c - 1], comp_freq[c], comp_bw[c], fs);
}

int somna_sim_night_create(const somna_sim_night_params *p, somna_sim_night **out, somna_err *err)
{
    *out = NULL;
    if (!p->ecg_only && (p->fs_eeg < 64 || p->fs_eeg > 4096))
        return somna_fail(err, SOMNA_E_ARG, "night generator: EEG sampling rate %d Hz is outside 64..4096", p->fs_eeg);
    if (!p->ecg_only && (p->fs_emg < 200 || p->fs_emg > 4096))
        return somna_fail(err, SOMNA_E_ARG, "night generator: chin EMG sampling rate %d Hz is outside 200..4096 "
                                            "(the 10-100 Hz tone band needs >= 200 Hz)", p->fs_emg);
    if (p->fs_ecg < 100 || p->fs_ecg > 4096)
        return somna_fail(err, SOMNA_E_ARG, "night generator: ECG sampling rate %d Hz is outside 100..4096", p->fs_ecg);
    if (p->line_noise_hz != 0.0 && p->line_noise_hz != 50.0 && p->line_noise_hz != 60.0)
        return somna_fail(err, SOMNA_E_ARG, "night generator: line noise must be 50 or 60 Hz, not %g", p->line_noise_hz);
    if (!(p->ectopy >= 0.0 && p->ectopy <= 0.2))
        return somna_fail(err, SOMNA_E_ARG, "night generator: ectopy %g is outside 0..0.2 (fraction of beats)", p->ectopy);
    if (!(p->hr_bpm >= 35.0 && p->hr_bpm <= 140.0))
        return somna_fail(err, SOMNA_E_ARG, "night generator: heart rate %g bpm is outside 35..140", p->hr_bpm);
    if (!(p->hf_factor > 0.0 && p->hf_factor <= 5.0))
        return somna_fail(err, SOMNA_E_ARG, "night generator: HF factor %g is outside (0, 5]", p->hf_factor);
    if (!(p->emg_tone_factor > 0.0 && p->emg_tone_factor <= 10.0))
        return somna_fail(err, SOMNA_E_ARG, "night generator: EMG tone factor %g is outside (0, 10]", p->emg_tone_factor);

    somna_sim_night *g = calloc(1, sizeof *g);
    if (!g)
        return somna_fail(err, SOMNA_E_NOMEM, "night generator: out of memory");
    g->p = *p;
    for (int i = 0; i < SOMNA_SIM_N_KINDS; i++)
        g->index_of[i] = -1;

    somna_sim_rng r_hyp, r_ev, r_ph;
    somna_sim_rng_seed(&r_hyp, p->seed, 1);
    somna_sim_rng_seed(&r_ev, p->seed, 2);
    somna_sim_rng_seed(&r_ph, p->seed, 3);
    somna_sim_rng_seed(&g->rng_sig, p->seed, 4);

    int rc = somna_sim_hypnogram(&p->sleep, &r_hyp, &g->hyp, err);
    if (rc) {
        free(g);
        return rc;
    }
    g->hyp.start_clock_s = fmod(p->start_hour, 24.0) * 3600.0;
    snprintf(g->hyp.start_date, sizeof g->hyp.start_date, "%04d-%02d-%02d", p->start_year % 10000,
             p->start_month % 100, p->start_day % 100);
    g->duration_s = (double)g->hyp.n_epochs * g->hyp.epoch_s;
    g->first_sleep_epoch = (int)g->hyp.n_epochs;
    for (size_t k = 0; k < g->hyp.n_epochs; k++)
        if (somna_stage_is_sleep(g->hyp.stages[k])) {
            g->first_sleep_epoch = (int)k;
            break;
        }
    g->eyes_open = calloc(g->hyp.n_epochs, 1);
    g->posture = calloc(g->hyp.n_epochs, 1);
    if (!g->eyes_open || !g->posture)
        goto nomem;
    {
        int posture = 0;
        for (size_t k = 0; k < g->hyp.n_epochs; k++) {
            int s = g->hyp.stages[k];
            /* relaxed eyes-closed wake before sleep onset; eyes often open after awakenings */
            double p_open = (int)k < g->first_sleep_epoch ? 0.15 : 0.6;
            g->eyes_open[k] = (unsigned char)(s == SOMNA_STAGE_W && somna_sim_rng_uniform(&r_ph) < p_open);
            if (k > 0 && s == SOMNA_STAGE_W && g->hyp.stages[k - 1] != SOMNA_STAGE_W &&
                somna_sim_rng_uniform(&r_ph) < 0.5)
                posture = (int)(somna_sim_rng_uniform(&r_ph) * 4.0);
            g->posture[k] = (unsigned char)posture;
        }
    }

    if (!p->ecg_only) {
        add_channel(g, SOMNA_SIM_EEG_C4M1, "EEG C4-M1", "uV", p->fs_eeg, -1000.0, 1000.0);
        add_channel(g, SOMNA_SIM_EEG_FPZCZ, "EEG Fpz-Cz", "uV", p->fs_eeg, -1000.0, 1000.0);
        add_channel(g, SOMNA_SIM_EOG_E1, "EOG E1-M2", "uV", p->fs_eeg, -1000.0, 1000.0);
        add_channel(g, SOMNA_SIM_EOG_E2, "EOG E2-M1", "uV", p->fs_eeg, -1000.0, 1000.0);
        add_channel(g, SOMNA_SIM_EMG_CHIN, "EMG Chin", "uV", p->fs_emg, -500.0, 500.0);
    }
    add_channel(g, SOMNA_SIM_ECG, "ECG", "mV", p->fs_ecg, -5.0, 5.0);
    if (!p->ecg_only && p->emg_envelope)
        add_channel(g, SOMNA_SIM_EMG_ENVELOPE, "EMG Chin RMS", "uV", 1, 0.0, 500.0);
    if (p->extras) {
        add_channel(g, SOMNA_SIM_RESP, "Resp Thorax", "uV", 32, -2000.0, 2000.0);
        add_channel(g, SOMNA_SIM_TEMP, "Temp Skin Foot", "degC", 1, 20.0, 45.0);
        add_channel(g, SOMNA_SIM_ACC_X, "Acc X", "g", 32, -8.0, 8.0);
        add_channel(g, SOMNA_SIM_ACC_Y, "Acc Y", "g", 32, -8.0, 8.0);
        add_channel(g, SOMNA_SIM_ACC_Z, "Acc Z", "g", 32, -8.0, 8.0);
    }
    for (int i = 0; i < g->n_ch; i++) {
        g->buf[i] = malloc((size_t)(g->hyp.epoch_s * g->ch[i].fs + 0.5) * sizeof(double));
        if (!g->buf[i])
            goto nomem;
        g->outp[i] = g->buf[i];
    }
    g->emg_gain_buf = malloc((size_t)(g->hyp.epoch_s * p->fs_emg + 0.5) * sizeof(double));
    if (!g->emg_gain_buf)
        goto nomem;

    if (draw_events(g, &r_ev))
        goto nomem;
    if (build_physiology(g, &r_ph))
        goto nomem;
    if (draw_beats(g, &r_ph))
        goto nomem;
    g->ecg_amp_scale = somna_sim_rng_range(&r_ph, 0.8, 1.2);
    g->tmpl_pre = (int)ceil(0.30 * p->fs_ecg);

    if (!p->ecg_only) {
        eeg_init(&g->eeg[0], p->fs_eeg);
        eeg_init(&g->eeg[1], p->fs_eeg);
        double fe = p->fs_emg;
        biquad_design(&g->emg_hp1, 1, 10.0, fe);
        biquad_design(&g->emg_hp2, 1, 10.0, fe);
        double lp = fe * 0.45 < 100.0 ? fe * 0.45 : 100.0;
        biquad_design(&g->emg_lp1, 0, lp, fe);
        biquad_design(&g->emg_lp2, 0, lp, fe);
        /* unit output RMS: energy of the cascade's impulse response */
        biquad q[4] = {g->emg_hp1, g->emg_hp2, g->emg_lp1, g->emg_lp2};
        double energy = 0.0;
        for (int i = 0; i < 8 * (int)fe; i++) {
            double x = i == 0 ? 1.0 : 0.0;
            for (int k = 0; k < 4; k++)
                x = biquad_run(&q[k], x);
            energy += x * x;
        }
        g->emg_norm = 1.0 / sqrt(energy);
    }
    g->ecg_drift_a = exp(-TWO_PI * 0.05 / p->fs_ecg);
    g->line_amp = p->line_noise_hz > 0.0 ? 10.0 : 0.0;
    g->temp_state = 31.5;
    *out = g;
    return SOMNA_OK;
nomem:
    somna_sim_night_free(g);
    return somna_fail(err, SOMNA_E_NOMEM, "night generator: out of memory");
}

void somna_sim_night_free(somna_sim_night *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_ch; i++)
        free(g->buf[i]);
    for (int v = 0; v < 2; v++)
        for (int b = 0; b < 256; b++)
            free(g->tmpl[v][b]);
    free(g->emg_gain_buf);
    free(g->eyes_open);
    free(g->posture);
    free(g->ev);
    free(g->evr);
    free(g->beats);
    free(g->beat_amp);
    free(g->beat_rr);
    free(g->ph_hr);
    somna_sim_hypnogram_free(&g->hyp);
    free(g);
}

int somna_sim_night_n_channels(const somna_sim_night *g)
{
    return g->n_ch;
}

const somna_sim_channel *somna_sim_night_channel(const somna_sim_night *g, int i)
{
    return (i >= 0 && i < g->n_ch) ? &g->ch[i] : NULL;
}

int somna_sim_night_find(const somna_sim_night *g, int kind)
{
    return (kind >= 0 && kind < SOMNA_SIM_N_KINDS) ? g->index_of[kind] : -1;
}

const somna_hypnogram *somna_sim_night_hypnogram(const somna_sim_night *g)
{
    return &g->hyp;
}

const somna_sim_event *somna_sim_night_events(const somna_sim_night *g, size_t *n)
{
    *n = g->n_ev;
    return g->ev;
}

const somna_sim_beat *somna_sim_night_beats(const somna_sim_night *g, size_t *n)
{
    *n = g->n_beats;
    return g->beats;
}

/* ---- rendering ----------------------------------------------------------------------- */
static void stage_gains(const somna_sim_night *g, size_t k, int chn, double out[5])
{
    int s = stage_index(g->hyp.stages[k]);
    for (int c = 0; c < 5; c++)
        out[c] = eeg_gain[s][c];
    if (g->hyp.stages[k] == SOMNA_STAGE_W && g->eyes_open[k])
        out[1] = eeg_eyes_open_alpha;
    if (chn == 1)
        for (int c = 0; c < 5; c++)
            out[c] *= fpz_factor[c];
}

static void render_eeg(somna_sim_night *g, size_t k, int chn, double *x, int n, double fs)
{
    double cur[5], prev[5];
    stage_gains(g, k, chn, cur);
    stage_gains(g, k > 0 ? k - 1 : k, chn, prev);
    eeg_state *e = &g->eeg[chn];
    const int ramp = (int)(2.0 * fs); /* stage changes blend over 2 s */
    somna_sim_rng *r = &g->rng_sig;
    for (int i = 0; i < n; i++) {
        double gk[5];
        if (i < ramp) {
            double w = (double)i / ramp;
            for (int c = 0; c < 5; c++)
                gk[c] = prev[c] + w * (cur[c] - prev[c]);
        } else {
            for (int c = 0; c < 5; c++)
                gk[c] = cur[c];
        }
        double u[8];
        fast_uniform4(r, u);
        fast_uniform4(r, u + 4);
        double pink = 0.0;
        for (int j = 0; j < 4; j++) {
            e->ar1_y[j] = e->ar1_a[j] * e->ar1_y[j] + e->ar1_b[j] * 2.0 * u[j];
            pink += e->ar1_y[j];
        }
        double v = gk[0] * 0.5 * pink;
        for (int c = 1; c < 5; c++)
            v += gk[c] * resonator_run(&e->res[c - 1], u[3 + c]);
        x[i] = v;
    }
}

static void render_events(somna_sim_night *g, double t0, double t1, double *const *chan, const int *fs)
{
    /* chan[0..3] = C4, Fpz, E1, E2 (NULL when absent), chan[4] = EMG gain buffer */
    while (g->ev_first < g->n_ev && g->ev[g->ev_first].onset_s + MAX_EVENT_S < t0)
        g->ev_first++;
    for (size_t i = g->ev_first; i < g->n_ev && g->ev[i].onset_s < t1; i++) {
        const somna_sim_event *e = &g->ev[i];
        const ev_render *r = &g->evr[i];
        double a = e->onset_s, b = e->onset_s + e->duration_s;
        if (b <= t0)
            continue;
        for (int c = 0; c < 5; c++) {
            double gain = c < 4 ? r->gain[c] : r->emg_gain;
            if (gain == 0.0 || !chan[c])
                continue;
            double f = fs[c];
            long i0 = (long)ceil((fmax(a, t0) - t0) * f), i1 = (long)ceil((fmin(b, t1) - t0) * f);
            for (long j = i0; j < i1; j++) {
                double tau = t0 + (double)j / f - a;
                if (c < 4) {
                    chan[c][j] += gain * ev_wave(e, r, tau);
                } else {
                    /* EMG: twitches are Hann bursts, movements a plateau */
                    double env = e->type == SOMNA_SIM_EV_TWITCH ? 0.5 * (1.0 - cos(TWO_PI * tau / e->duration_s))
                                                                 : sin(M_PI * tau / e->duration_s);
                    chan[c][j] += gain * env;
                }
            }
        }
    }
}

int somna_sim_night_next_epoch(somna_sim_night *g, const double *const **data)
{
    if (g->next_epoch >= g->hyp.n_epochs)
        return 0;
    const size_t k = g->next_epoch++;
    const double ep = g->hyp.epoch_s, t0 = (double)k * ep, t1 = t0 + ep;
    const int st = g->hyp.stages[k], si = stage_index(st);
    const int prev_si = stage_index(k > 0 ? g->hyp.stages[k - 1] : st);
    somna_sim_rng *r = &g->rng_sig;

    double *chan[5] = {NULL, NULL, NULL, NULL, NULL};
    int fs[5] = {0, 0, 0, 0, 0};
    if (!g->p.ecg_only) {
        const int fe = g->p.fs_eeg, ne = (int)(ep * fe);
        for (int c = 0; c < 2; c++) {
            double *x = g->buf[g->index_of[SOMNA_SIM_EEG_C4M1 + c]];
            render_eeg(g, k, c, x, ne, fe);
            chan[c] = x;
            fs[c] = fe;
        }
        const double *fpz = chan[1]; /* background only: events are added later */
        for (int c = 0; c < 2; c++) {
            double *x = g->buf[g->index_of[SOMNA_SIM_EOG_E1 + c]];
            /* EOG floor: low-frequency electrode noise, ~4 uV */
            double a = exp(-TWO_PI * 2.0 / fe), b = sqrt(1.0 - a * a) * 4.0;
            for (int i = 0; i < ne; i++) {
                g->eog_ar[c] = a * g->eog_ar[c] + b * fast_noise(r);
                /* frontal EEG reaches both EOG leads with the same sign
                 * (common mode), which keeps E1/E2 from being perfectly
                 * anticorrelated: real REM EOG correlates about -0.8 */
                x[i] = g->eog_ar[c] + 1.0 * fast_noise(r) + 0.6 * fpz[i];
            }
            chan[2 + c] = x;
            fs[2 + c] = fe;
        }
        /* EMG tone: stage RMS, relaxed wake lower than wake after awakenings */
        const int fm = g->p.fs_emg, nm = (int)(ep * fm);
        double tone = emg_tone[si], tone_prev = emg_tone[prev_si];
        if (st == SOMNA_STAGE_W && (int)k < g->first_sleep_epoch)
            tone = 10.0;
        if (k > 0 && g->hyp.stages[k - 1] == SOMNA_STAGE_W && (int)k - 1 < g->first_sleep_epoch)
            tone_prev = 10.0;
        tone *= g->p.emg_tone_factor;
        tone_prev *= g->p.emg_tone_factor;
        const int ramp = 2 * fm;
        for (int i = 0; i < nm; i++)
            g->emg_gain_buf[i] = i < ramp ? tone_prev + (tone - tone_prev) * i / ramp : tone;
        chan[4] = g->emg_gain_buf;
        fs[4] = fm;
        /* the buffer holds multiples of the epoch's tone, so twitch and
         * movement envelopes (added by render_events) scale with the stage */
        const double base = tone;
        for (int i = 0; i < nm; i++)
            g->emg_gain_buf[i] /= base;
        render_events(g, t0, t1, chan, fs);
        double *x = g->buf[g->index_of[SOMNA_SIM_EMG_CHIN]];
        for (int i = 0; i < nm; i++) {
            double w = fast_noise(r);
            w = biquad_run(&g->emg_hp1, w);
            w = biquad_run(&g->emg_hp2, w);
            w = biquad_run(&g->emg_lp1, w);
            w = biquad_run(&g->emg_lp2, w);
            x[i] = base * g->emg_gain_buf[i] * w * g->emg_norm + 0.5 * fast_noise(r);
        }
        if (g->line_amp > 0.0) {
            /* mains interference, phase continuous (integer Hz, integer fs) */
            double f = g->p.line_noise_hz;
            int chans[5] = {SOMNA_SIM_EEG_C4M1, SOMNA_SIM_EEG_FPZCZ, SOMNA_SIM_EOG_E1, SOMNA_SIM_EOG_E2,
                            SOMNA_SIM_EMG_CHIN};
            for (int c = 0; c < 5; c++) {
                int idx = g->index_of[chans[c]];
                int fsc = g->ch[idx].fs, nc = (int)(ep * fsc);
                double amp = g->line_amp * (c == 4 ? 0.5 : 1.0) * (1.0 + 0.2 * c);
                for (int i = 0; i < nc; i++) {
                    long sidx = (long)(k * (size_t)nc) + i;
                    g->buf[idx][i] += amp * sin(TWO_PI * f * (double)(sidx % fsc) / fsc);
                }
            }
        }
        int env = g->index_of[SOMNA_SIM_EMG_ENVELOPE];
        if (env >= 0) {
            for (int s = 0; s < (int)ep; s++) {
                double acc = 0.0;
                for (int i = 0; i < fm; i++) {
                    double v = x[s * fm + i];
                    acc += v * v;
                }
                g->buf[env][s] = sqrt(acc / fm);
            }
        }
    }

    /* ECG: templates at each beat, respiration-modulated amplitude, wander, noise */
    {
        int idx = g->index_of[SOMNA_SIM_ECG];
        double *x = g->buf[idx];
        const int fc = g->p.fs_ecg, nc = (int)(ep * fc);
        const int64_t s0 = (int64_t)k * nc, s1 = s0 + nc;
        for (int i = 0; i < nc; i++) {
            double t = t0 + (double)i / fc;
            g->ecg_drift = g->ecg_drift_a * g->ecg_drift + (1.0 - g->ecg_drift_a) * 4.0 * fast_noise(r);
            x[i] = 0.05 * track_at(g->ph_resp_sin, g->n_phys, t) + g->ecg_drift + 0.012 * fast_noise(r);
        }
        /* body movements (--artefacts) reach the ECG too: muscle noise and
         * an electrode-motion baseline excursion, the usual detector traps */
        while (g->ev_first < g->n_ev && g->ev[g->ev_first].onset_s + MAX_EVENT_S < t0)
            g->ev_first++;
        for (size_t e = g->ev_first; e < g->n_ev && g->ev[e].onset_s < t1; e++) {
            const somna_sim_event *ev = &g->ev[e];
            if (ev->type != SOMNA_SIM_EV_ARTEFACT || g->evr[e].emg_gain <= 0.0 || ev->onset_s + ev->duration_s <= t0)
                continue;
            double sign = g->evr[e].gain[0] < 0 ? -1.0 : 1.0;
            long i0 = (long)ceil((fmax(ev->onset_s, t0) - t0) * fc);
            long i1 = (long)ceil((fmin(ev->onset_s + ev->duration_s, t1) - t0) * fc);
            for (long i = i0; i < i1 && i < nc; i++) {
                double env = sin(M_PI * (t0 + (double)i / fc - ev->onset_s) / ev->duration_s);
                x[i] += env * (0.12 * fast_noise(r) + 0.4 * sign);
            }
        }
        while (g->beat_first < g->n_beats && g->beats[g->beat_first].sample + fc < s0)
            g->beat_first++;
        for (size_t b = g->beat_first; b < g->n_beats && g->beats[b].sample - g->tmpl_pre < s1; b++) {
            int len;
            const double *w = beat_template(g, g->beats[b].type == 'V', g->beat_rr[b], &len);
            if (!w)
                return -1;
            int64_t start = g->beats[b].sample - g->tmpl_pre;
            double amp = g->beat_amp[b] * g->ecg_amp_scale;
            for (int j = 0; j < len; j++) {
                int64_t sidx = start + j;
                if (sidx >= s0 && sidx < s1)
                    x[sidx - s0] += amp * w[j];
            }
        }
    }

    if (g->p.extras) {
        int ir = g->index_of[SOMNA_SIM_RESP];
        for (int i = 0; i < (int)(ep * 32); i++) {
            double t = t0 + i / 32.0;
            g->buf[ir][i] = 300.0 * track_at(g->ph_resp_amp, g->n_phys, t) * track_at(g->ph_resp_sin, g->n_phys, t) +
                            5.0 * fast_noise(r);
        }
        /* distal skin temperature rises with sleep (distal vasodilation,
         * Krauchi et al. 1999), time constant ~20 min; drops when awake */
        int itp = g->index_of[SOMNA_SIM_TEMP];
        double target = somna_stage_is_sleep(st) ? 34.5 : ((int)k < g->first_sleep_epoch ? 32.0 : 33.3);
        double a = exp(-1.0 / 1200.0);
        for (int i = 0; i < (int)ep; i++) {
            g->temp_state = a * g->temp_state + (1.0 - a) * target;
            g->buf[itp][i] = g->temp_state + 0.02 * fast_noise(r);
        }
        /* actigraphy: gravity by posture, tremor-level noise, movement in wake */
        static const double grav[4][3] = {{0, 0, 1}, {1, 0, 0}, {-1, 0, 0}, {0, 0, -1}};
        int pst = g->posture[k];
        double move = st == SOMNA_STAGE_W ? ((int)k < g->first_sleep_epoch ? 0.01 : 0.05) : 0.002;
        for (int ax = 0; ax < 3; ax++) {
            int ia = g->index_of[SOMNA_SIM_ACC_X + ax];
            for (int i = 0; i < (int)(ep * 32); i++) {
                double tgt = grav[pst][ax];
                g->acc_prev[ax] += (tgt - g->acc_prev[ax]) * (1.0 / 32.0); /* ~1-s posture change */
                g->buf[ia][i] = g->acc_prev[ax] + move * fast_noise(r) + 0.003 * fast_noise(r);
            }
        }
    }
    *data = g->outp;
    return 1;
}
