/* somna — simulated nights, naps and whole studies with known ground truth.
 *
 * Everything is deterministic for a seed: the generator owns its PRNG
 * (xoshiro256**, Blackman & Vigna 2018, seeded through splitmix64) and keeps
 * no global state, so the same parameters and seed give the same bytes.
 *
 * A night is built in three layers:
 *   1. a hypnogram from a sleep model (ultradian ~90-min cycles, N3 in the
 *      first cycles, REM growing towards morning, brief awakenings) whose
 *      sleep-onset latency, total sleep time, awakening count and N3
 *      minutes are exactly the requested ones (rounded to whole epochs);
 *   2. an event layer: spindles, K-complexes, slow waves, vertex waves,
 *      sawtooth bursts, eye movements, blinks, EMG twitches, artefacts and
 *      heart beats, each recorded as truth;
 *   3. signals rendered epoch by epoch from stage-dependent processes plus
 *      the events (see docs/simulation.md for every model and its source).
 * The signal generator streams: one 30-s epoch of every channel at a time,
 * so an 8-h night needs a few MB whatever its length.
 */
#ifndef SOMNA_SIM_H
#define SOMNA_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "somna/error.h"
#include "somna/hypnogram.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- PRNG ------------------------------------------------------------------ */
typedef struct somna_sim_rng {
    uint64_t s[4];
} somna_sim_rng;

/* Seed a stream; `stream` selects an independent sub-stream for the same
 * seed (e.g. one per participant or per signal layer). */
void somna_sim_rng_seed(somna_sim_rng *r, uint64_t seed, uint64_t stream);
uint64_t somna_sim_rng_next(somna_sim_rng *r);
double somna_sim_rng_uniform(somna_sim_rng *r);               /* [0, 1) */
double somna_sim_rng_range(somna_sim_rng *r, double lo, double hi);
double somna_sim_rng_normal(somna_sim_rng *r);                /* N(0,1), exact (polar method) */
double somna_sim_rng_lognormal(somna_sim_rng *r, double median, double sdlog);

/* ---- Sleep model --------------------------------------------------------------- */
typedef struct somna_sim_sleep_params {
    double tib_min;          /* time in bed = recording length (night 480, nap 20..90) */
    int nap;                 /* nap: one truncated cycle, starts awake */
    double sol_min;          /* sleep-onset latency (lights off -> first N1) */
    double efficiency;       /* TST / TIB, 0 < e <= 1 (TST is rounded to whole epochs) */
    double fragmentation;    /* awakenings within sleep per hour of TST (>= 0) */
    double n3_min;           /* N3 minutes; < 0 = model default (~20 % of TST at night) */
    double rem_fraction;     /* REM share of TST; < 0 = model default (night 0.22, nap by length) */
    double cycle_min;        /* mean ultradian cycle length, default 90 */
    double epoch_s;          /* 30 */
} somna_sim_sleep_params;

void somna_sim_sleep_params_default(somna_sim_sleep_params *p, int nap);

/* Draws a hypnogram (stages allocated by the caller's struct: out->stages is
 * malloc'd; free with somna_sim_hypnogram_free).  Fails with SOMNA_E_ARG
 * naming the parameter when the request is impossible (e.g. SOL + TST
 * longer than the time in bed). */
int somna_sim_hypnogram(const somna_sim_sleep_params *p, somna_sim_rng *rng, somna_hypnogram *out,
                        somna_err *err);
void somna_sim_hypnogram_free(somna_hypnogram *h);

/* ---- Night generator ----------------------------------------------------------- */
typedef struct somna_sim_night_params {
    somna_sim_sleep_params sleep;
    uint64_t seed;
    int fs_eeg;              /* EEG and EOG sampling rate, default 256 */
    int fs_emg;              /* chin EMG, default 256 (>= 200) */
    int fs_ecg;              /* default 256 */
    double line_noise_hz;    /* 0 = none, else 50 or 60 */
    int artefacts;           /* movement artefacts and electrode pops */
    int emg_envelope;        /* add the 1-Hz chin EMG RMS envelope channel */
    int extras;              /* add respiration, skin temperature, 3-axis actigraphy */
    int ecg_only;            /* only the ECG channel (fast studies); events still drawn */
    double ectopy;           /* fraction of beats that are premature ventricular (0..0.2) */
    /* physiology (study effects act here) */
    double hr_bpm;           /* mean heart rate in relaxed wake, default 68 */
    double hf_factor;        /* multiplies the respiratory sinus arrhythmia amplitude (HF power ~ factor^2) */
    double emg_tone_factor;  /* multiplies chin EMG tone in every stage */
    double start_hour;       /* clock time of lights off in hours (night 23, nap 13.5) */
    int start_year, start_month, start_day;
} somna_sim_night_params;

void somna_sim_night_params_default(somna_sim_night_params *p, int nap);

enum somna_sim_channel_kind {
    SOMNA_SIM_EEG_C4M1 = 0,
    SOMNA_SIM_EEG_FPZCZ,
    SOMNA_SIM_EOG_E1,
    SOMNA_SIM_EOG_E2,
    SOMNA_SIM_EMG_CHIN,
    SOMNA_SIM_ECG,
    SOMNA_SIM_EMG_ENVELOPE,
    SOMNA_SIM_RESP,
    SOMNA_SIM_TEMP,
    SOMNA_SIM_ACC_X,
    SOMNA_SIM_ACC_Y,
    SOMNA_SIM_ACC_Z,
    SOMNA_SIM_N_KINDS
};

typedef struct somna_sim_channel {
    int kind;                /* enum somna_sim_channel_kind */
    const char *label;       /* EDF label, e.g. "EEG C4-M1" */
    const char *unit;        /* "uV", "mV", "degC", "g" */
    int fs;                  /* samples per second (integer, 1-s EDF records) */
    double phys_min, phys_max;
} somna_sim_channel;

enum somna_sim_event_type {
    SOMNA_SIM_EV_SPINDLE = 0,
    SOMNA_SIM_EV_KCOMPLEX,
    SOMNA_SIM_EV_SLOWWAVE,
    SOMNA_SIM_EV_VERTEX,
    SOMNA_SIM_EV_SAWTOOTH,
    SOMNA_SIM_EV_SEM,        /* slow eye movement */
    SOMNA_SIM_EV_REM,        /* rapid eye movement */
    SOMNA_SIM_EV_BLINK,
    SOMNA_SIM_EV_TWITCH,     /* phasic chin EMG burst */
    SOMNA_SIM_EV_ARTEFACT,
    SOMNA_SIM_EV_N_TYPES
};
const char *somna_sim_event_name(int type); /* "spindle", "kcomplex", ... */

typedef struct somna_sim_event {
    int type;                /* enum somna_sim_event_type */
    int channel;             /* enum somna_sim_channel_kind it was drawn on (-1 = all EEG) */
    double onset_s;          /* from recording start */
    double duration_s;
    double peak_s;           /* time of the largest (negative, for slow waves) deflection */
    double freq_hz;          /* dominant frequency (0 if not meaningful) */
    double amplitude;        /* spindle: peak envelope; slow waves: peak-to-peak; in the channel unit */
    int stage;               /* stage of the epoch holding the onset */
} somna_sim_event;

typedef struct somna_sim_beat {
    int64_t sample;          /* R-peak sample index at fs_ecg */
    double time_s;
    char type;               /* 'N' normal, 'V' premature ventricular */
    int stage;
} somna_sim_beat;

typedef struct somna_sim_night somna_sim_night;

int somna_sim_night_create(const somna_sim_night_params *p, somna_sim_night **out, somna_err *err);
void somna_sim_night_free(somna_sim_night *g);

int somna_sim_night_n_channels(const somna_sim_night *g);
const somna_sim_channel *somna_sim_night_channel(const somna_sim_night *g, int i);
int somna_sim_night_find(const somna_sim_night *g, int kind); /* channel index or -1 */
const somna_hypnogram *somna_sim_night_hypnogram(const somna_sim_night *g);

/* Render the next epoch: data[i] receives epoch_s * fs samples of channel i
 * (pointers stay valid until the next call).  Returns 1 when an epoch was
 * produced, 0 when the night is over. */
int somna_sim_night_next_epoch(somna_sim_night *g, const double *const **data);

/* Truth collected so far (all of it once the last epoch is rendered). */
const somna_sim_event *somna_sim_night_events(const somna_sim_night *g, size_t *n);
const somna_sim_beat *somna_sim_night_beats(const somna_sim_night *g, size_t *n);

/* Write DIR/NAME.edf (EDF+C, 1-s records, stage annotations "Sleep stage
 * W/1/2/3/R" one per stage run) and the truth files DIR/NAME.hypnogram.tsv,
 * DIR/NAME.rpeaks.tsv, DIR/NAME.events.tsv.  Every file goes through a
 * temporary name, so a failure leaves none of them half-written. */
typedef struct somna_sim_night_summary {
    double tib_min, sol_min, tst_min, waso_min;
    double stage_min[5];     /* W N1 N2 N3 REM */
    int awakenings;
    size_t n_beats, n_ectopic, n_spindles, n_slow_waves, n_kcomplexes;
    double mean_hr_stage[5]; /* bpm from true normal RR, NaN if the stage is absent */
    int n_channels;
} somna_sim_night_summary;

int somna_sim_night_write(const somna_sim_night_params *p, const char *dir, const char *name,
                          somna_sim_night_summary *summary, somna_err *err);

/* ---- Study --------------------------------------------------------------------- */
enum somna_sim_design {
    SOMNA_SIM_CROSSOVER = 0, /* every participant every condition, counterbalanced order (Williams) */
    SOMNA_SIM_PARALLEL,      /* one condition per participant, balanced allocation */
    SOMNA_SIM_PREPOST,       /* baseline then intervention session per participant, one arm per condition */
    SOMNA_SIM_DOSE           /* every participant every dose (session minutes), counterbalanced */
};
const char *somna_sim_design_name(int design);
int somna_sim_design_parse(const char *s); /* -1 if unknown */

#define SOMNA_SIM_MAX_CONDITIONS 8

typedef struct somna_sim_condition {
    char name[32];
    double massage_min;      /* session length (dose); 0 for control */
    /* effects relative to the reference (control) condition */
    double d_sol_min;        /* sleep-onset latency, minutes */
    double d_tst_min;        /* total sleep time, minutes */
    double d_n3_min;         /* N3 minutes */
    double hf_ratio;         /* HF power ratio (1 = none); RSA amplitude scales by sqrt */
    double emg_pct;          /* chin EMG tone change in percent */
    double d_rcsq;           /* RCSQ (0-100) points */
    double d_relax;          /* relaxation score change pre->post in points (0-100 scale) */
    double d_psqi;           /* PSQI global points (pre-post designs) */
} somna_sim_condition;

typedef struct somna_sim_study_params {
    int design;
    int n;                   /* participants */
    int n_conditions;
    somna_sim_condition conditions[SOMNA_SIM_MAX_CONDITIONS];
    int nap;                 /* sessions are naps (default) or nights */
    double nap_min;          /* nap opportunity (time in bed) */
    int recordings;          /* 0 none, 1 ECG-only EDF, 2 full PSG EDF */
    int fs_eeg;              /* for full recordings */
    uint64_t seed;
    int threads;             /* recordings simulated in parallel; 0 = online CPUs (max 8).
                              * The files do not depend on it. */
    /* between-participant SDs and within-participant noise */
    double sd_sol_min, sd_tst_min, sd_hr_bpm, sd_emg_pct, sd_rcsq, sd_relax;
    /* "drifted off on the table" (seed 001's subgroup): each massage session
     * has probability drift_rate of it (logged in sessions.csv), and such
     * sessions get drift_sol_min added to their latency.  The condition
     * effects above are those of sessions without drifting off.  Drawn from
     * a stream of their own, so the other values do not change with them. */
    double drift_rate;       /* default 0.4 */
    double drift_sol_min;    /* default 0 (no subgroup difference) */
} somna_sim_study_params;

/* The seed-000 shape: 15 poor sleepers, crossover of relaxation massage,
 * sports massage and no massage (control) one week apart, 30-min massage
 * before a 90-min nap opportunity; effects as reported (relaxation: SOL
 * shorter, relaxation score +23 %; sports: chin EMG tone -7.2 %). */
void somna_sim_study_params_default(somna_sim_study_params *p);

/* Writes DIR/participants.csv, sessions.csv (session log), psqi.csv,
 * rcsq.csv, relaxation.csv, manifest.tsv, truth.json and, per session,
 * DIR/recordings/<id>.edf with its truth files.  n_sessions_out may be NULL. */
int somna_sim_study_write(const somna_sim_study_params *p, const char *dir, int *n_sessions_out,
                          somna_err *err);

#ifdef __cplusplus
}
#endif
#endif
