/* somna sim — a whole simulated study with known effects.
 *
 * Outcome model (per participant i, condition c, session noise e):
 *   y_ic = mu + u_i + delta_c + e_ic,  u_i ~ N(0, sd_between), e ~ N(0, sd_within)
 * i.e. the random-intercept model a crossover analysis assumes (Jones &
 * Kenward, "Design and Analysis of Cross-Over Trials", 3rd ed. 2014), so the
 * analysis should recover delta_c within its confidence interval.
 * Crossover orders are Williams designs (Williams 1949): balanced for first-
 * order carry-over; for an odd number of conditions both the square and its
 * mirror are used.
 *
 * Questionnaire answers are generated backwards from target scores:
 * PSQI (Buysse et al. 1989) item answers chosen well inside each
 * component's scoring band, so any correct scorer returns the target
 * components and global score, which truth.json records; RCSQ (Richards
 * et al. 2000) five 0-100 visual-analogue items; a relaxation state scale of
 * ten 1-5 items (after Steghaus & Poth 2022) before and after each session.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "somna/fileio.h"
#include "somna/json.h"
#include "somna/parse.h"
#include "somna/sim.h"

const char *somna_sim_design_name(int design)
{
    switch (design) {
    case SOMNA_SIM_CROSSOVER: return "crossover";
    case SOMNA_SIM_PARALLEL: return "parallel";
    case SOMNA_SIM_PREPOST: return "prepost";
    case SOMNA_SIM_DOSE: return "dose";
    default: return "?";
    }
}

int somna_sim_design_parse(const char *s)
{
    for (int d = 0; d <= SOMNA_SIM_DOSE; d++)
        if (somna_strieq(s, somna_sim_design_name(d)))
            return d;
    return -1;
}

static void set_condition(somna_sim_condition *c, const char *name, double minutes, double sol, double tst,
                          double n3, double hf, double emg, double rcsq, double relax, double psqi)
{
    memset(c, 0, sizeof *c);
    somna_strlcpy(c->name, name, sizeof c->name);
    c->massage_min = minutes;
    c->d_sol_min = sol;
    c->d_tst_min = tst;
    c->d_n3_min = n3;
    c->hf_ratio = hf;
    c->emg_pct = emg;
    c->d_rcsq = rcsq;
    c->d_relax = relax;
    c->d_psqi = psqi;
}

void somna_sim_study_params_default(somna_sim_study_params *p)
{
    memset(p, 0, sizeof *p);
    p->design = SOMNA_SIM_CROSSOVER;
    p->n = 15;
    p->n_conditions = 3;
    /* seed 000: relaxation massage shortened latency and raised relaxation
     * (+23.4 %); sports massage lowered muscle tone by 7.2 % */
    set_condition(&p->conditions[0], "relaxation", 30, -4.0, 4.0, 2.0, 1.25, 0.0, 8.0, 8.0, -2.0);
    set_condition(&p->conditions[1], "sports", 30, 0.0, 0.0, 1.0, 1.1, -7.2, 4.0, 5.0, -1.0);
    set_condition(&p->conditions[2], "control", 0, 0, 0, 0, 1.0, 0, 0, 0, 0);
    p->nap = 1;
    p->nap_min = 90;
    p->recordings = 2;
    p->fs_eeg = 128;
    p->seed = 1;
    p->sd_sol_min = 4.0;
    p->sd_tst_min = 6.0;
    p->sd_hr_bpm = 6.0;
    p->sd_emg_pct = 15.0;
    p->sd_rcsq = 10.0;
    p->sd_relax = 4.0;
    p->drift_rate = 0.4;
    p->drift_sol_min = 0.0;
}

/* ---- helpers ----------------------------------------------------------------------- */
static double clampd(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

static void num(FILE *f, double v)
{
    char b[40];
    somna_format_double(b, sizeof b, v);
    fputs(b, f);
}

/* Williams (1949) sequence `row` for k treatments (row < k, or < 2k for odd k). */
static void williams_row(int k, int row, int *seq)
{
    int base[SOMNA_SIM_MAX_CONDITIONS];
    /* first row 0, 1, k-1, 2, k-2, ... */
    for (int j = 0, lo = 1, hi = k - 1; j < k; j++) {
        if (j == 0)
            base[j] = 0;
        else if (j % 2 == 1)
            base[j] = lo++;
        else
            base[j] = hi--;
    }
    int r = row % k;
    int mirror = (k % 2 == 1) && (row / k) % 2 == 1;
    for (int j = 0; j < k; j++) {
        int v = (base[j] + r) % k;
        seq[mirror ? k - 1 - j : j] = v;
    }
}

static void add_days(int *y, int *m, int *d, int days)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int i = 0; i < days; i++) {
        int leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
        int len = mdays[*m - 1] + (*m == 2 && leap);
        if (++*d > len) {
            *d = 1;
            if (++*m > 12) {
                *m = 1;
                ++*y;
            }
        }
    }
}

/* PSQI item answers realising the component scores comp[0..6] (Buysse 1989
 * scoring), each answer in the middle of its band. */
typedef struct psqi_items {
    char bed[16], wake[16];
    int latency_min;
    double hours;
    int q5[10]; /* a..j */
    int q6, q7, q8, q9;
} psqi_items;

static void psqi_from_components(const int comp[7], somna_sim_rng *r, psqi_items *it)
{
    memset(it, 0, sizeof *it);
    it->q6 = comp[0];
    static const int lat[4] = {10, 25, 45, 75}, q5a[4] = {0, 0, 1, 3};
    it->latency_min = lat[comp[1]];
    it->q5[0] = q5a[comp[1]];
    static const double hrs[4] = {7.5, 6.5, 5.5, 4.5};
    it->hours = hrs[comp[2]];
    static const double eff[4] = {0.92, 0.80, 0.70, 0.58};
    /* time in bed rounded to 5 min; efficiency then stays inside its band */
    int tib_min = (int)(5.0 * floor(it->hours * 60.0 / eff[comp[3]] / 5.0 + 0.5));
    int bed = 22 * 60 + 30 + 15 * (int)(somna_sim_rng_uniform(r) * 6.0); /* 22:30..23:45 */
    int wake = (bed + tib_min) % (24 * 60);
    snprintf(it->bed, sizeof it->bed, "%02d:%02d", (bed / 60) % 24, bed % 60);
    snprintf(it->wake, sizeof it->wake, "%02d:%02d", wake / 60, wake % 60);
    static const int dist[4] = {0, 5, 14, 22};
    int left = dist[comp[4]];
    while (left > 0) {
        int j = 1 + (int)(somna_sim_rng_uniform(r) * 9.0);
        if (it->q5[j] < 3) {
            it->q5[j]++;
            left--;
        }
    }
    it->q7 = comp[5];
    static const int q8[4] = {0, 1, 2, 3}, q9[4] = {0, 0, 1, 3};
    it->q8 = q8[comp[6]];
    it->q9 = q9[comp[6]];
}

static void psqi_components(int global, somna_sim_rng *r, int comp[7])
{
    memset(comp, 0, 7 * sizeof *comp);
    global = global < 0 ? 0 : global > 21 ? 21 : global;
    for (int g = 0; g < global;) {
        int j = (int)(somna_sim_rng_uniform(r) * 7.0);
        if (comp[j] < 3) {
            comp[j]++;
            g++;
        }
    }
}

/* ---- parallel recordings ------------------------------------------------------------- */
typedef struct session_job {
    int participant, period, condition;
    int drifted;             /* 1/0, -1 = not applicable (no massage) */
    char date[48], sid[48];
    somna_sim_night_params np;
    int rcsq[5];
    int relax[2][10];
    somna_sim_night_summary sum;
    int rc;
    somna_err err;
} session_job;

typedef struct study_run {
    session_job *jobs;
    int n, next, failed;
    const char *recdir;
    int recordings;
    somna_err err0;      /* warning callback handed to every job */
    pthread_mutex_t lock; /* guards next and failed */
} study_run;

/* Realised truth of a session without a recording: its hypnogram alone. */
static int hypnogram_summary(const somna_sim_night_params *np, somna_sim_night_summary *sum, somna_err *err)
{
    somna_sim_rng hr;
    somna_sim_rng_seed(&hr, np->seed, 1); /* the night generator's hypnogram stream */
    somna_hypnogram h;
    int rc = somna_sim_hypnogram(&np->sleep, &hr, &h, err);
    if (rc)
        return rc;
    sum->sol_min = NAN;
    for (size_t e = 0; e < h.n_epochs; e++) {
        if (h.stages[e] >= 0 && h.stages[e] <= 4)
            sum->stage_min[h.stages[e]] += h.epoch_s / 60.0;
        if (isnan(sum->sol_min) && somna_stage_is_sleep(h.stages[e]))
            sum->sol_min = (double)e * h.epoch_s / 60.0;
    }
    sum->tst_min = sum->stage_min[1] + sum->stage_min[2] + sum->stage_min[3] + sum->stage_min[4];
    somna_sim_hypnogram_free(&h);
    return SOMNA_OK;
}

static void *study_worker(void *arg)
{
    study_run *run = arg;
    for (;;) {
        pthread_mutex_lock(&run->lock);
        int i = run->failed < 0 && run->next < run->n ? run->next++ : -1;
        pthread_mutex_unlock(&run->lock);
        if (i < 0)
            return NULL;
        session_job *jb = &run->jobs[i];
        somna_err_init(&jb->err, run->err0.warn, run->err0.warn_ctx);
        memset(&jb->sum, 0, sizeof jb->sum);
        jb->rc = run->recordings ? somna_sim_night_write(&jb->np, run->recdir, jb->sid, &jb->sum, &jb->err)
                                 : hypnogram_summary(&jb->np, &jb->sum, &jb->err);
        if (jb->rc) {
            somna_err_prefix(&jb->err, "session %s", jb->sid);
            pthread_mutex_lock(&run->lock);
            if (run->failed < 0 || i < run->failed)
                run->failed = i;
            pthread_mutex_unlock(&run->lock);
        }
    }
}

/* ---- the study ---------------------------------------------------------------------- */
typedef struct participant {
    char id[16];
    int age, female;
    int psqi_base;
    double u_sol, u_tst, u_n3, u_hr, u_hf, u_emg, u_rcsq, u_relax;
    int arm; /* parallel / prepost */
} participant;

typedef struct files {
    somna_outfile part, sess, psqi, rcsq, relax, manifest, truth;
} files;

static int open_all(files *f, const char *dir, somna_err *err)
{
    char path[4096];
    struct {
        somna_outfile *o;
        const char *name;
    } list[] = {{&f->part, "participants.csv"}, {&f->sess, "sessions.csv"}, {&f->psqi, "psqi.csv"},
                {&f->rcsq, "rcsq.csv"},         {&f->relax, "relaxation.csv"}, {&f->manifest, "manifest.tsv"},
                {&f->truth, "truth.json"}};
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, list[i].name);
        int rc = somna_outfile_open(list[i].o, path, err);
        if (rc)
            return rc;
    }
    return SOMNA_OK;
}

static void abort_all(files *f)
{
    somna_outfile *l[] = {&f->part, &f->sess, &f->psqi, &f->rcsq, &f->relax, &f->manifest, &f->truth};
    for (size_t i = 0; i < sizeof l / sizeof l[0]; i++)
        if (l[i]->fp)
            somna_outfile_abort(l[i]);
}

static int commit_all(files *f, somna_err *err)
{
    somna_outfile *l[] = {&f->part, &f->sess, &f->psqi, &f->rcsq, &f->relax, &f->manifest, &f->truth};
    for (size_t i = 0; i < sizeof l / sizeof l[0]; i++) {
        int rc = somna_outfile_commit(l[i], err);
        if (rc)
            return rc;
    }
    return SOMNA_OK;
}

static void write_psqi_row(FILE *fp, const char *id, const char *timepoint, const char *date, const psqi_items *it)
{
    fprintf(fp, "%s,%s,%s,%s,%d,%s,", id, timepoint, date, it->bed, it->latency_min, it->wake);
    num(fp, it->hours);
    for (int j = 0; j < 10; j++)
        fprintf(fp, ",%d", it->q5[j]);
    fprintf(fp, ",%d,%d,%d,%d\n", it->q6, it->q7, it->q8, it->q9);
}

static void json_components(somna_json *j, const char *key, const int comp[7])
{
    somna_json_key(j, key);
    somna_json_array_begin(j);
    for (int c = 0; c < 7; c++)
        somna_json_int(j, comp[c]);
    somna_json_array_end(j);
}

int somna_sim_study_write(const somna_sim_study_params *p, const char *dir, int *n_sessions_out, somna_err *err)
{
    if (n_sessions_out)
        *n_sessions_out = 0;
    if (p->n < 1 || p->n > 10000)
        return somna_fail(err, SOMNA_E_ARG, "simulate study: %d participants is outside 1..10000", p->n);
    if (p->n_conditions < 2 || p->n_conditions > SOMNA_SIM_MAX_CONDITIONS)
        return somna_fail(err, SOMNA_E_ARG, "simulate study: %d conditions is outside 2..%d", p->n_conditions,
                          SOMNA_SIM_MAX_CONDITIONS);
    if (p->design < SOMNA_SIM_CROSSOVER || p->design > SOMNA_SIM_DOSE)
        return somna_fail(err, SOMNA_E_ARG, "simulate study: unknown design %d", p->design);
    for (int c = 0; c < p->n_conditions; c++)
        if (!(p->conditions[c].hf_ratio > 0.0) || !(p->conditions[c].emg_pct > -90.0))
            return somna_fail(err, SOMNA_E_ARG,
                              "simulate study: condition '%s': HF ratio must be > 0 and EMG change > -90 %%",
                              p->conditions[c].name);
    if (!(p->drift_rate >= 0.0 && p->drift_rate <= 1.0))
        return somna_fail(err, SOMNA_E_ARG, "simulate study: drift rate %g is outside 0..1", p->drift_rate);
    if (p->nap && (p->nap_min < 20 || p->nap_min > 90))
        return somna_fail(err, SOMNA_E_ARG, "simulate study: nap length %g min is outside 20..90", p->nap_min);

    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return somna_fail(err, SOMNA_E_IO, "%s: cannot create directory: %s", dir, strerror(errno));
    char recdir[4096];
    if (snprintf(recdir, sizeof recdir, "%s/recordings", dir) >= (int)sizeof recdir)
        return somna_fail(err, SOMNA_E_ARG, "simulate study: output path '%s' is too long", dir);
    if (p->recordings && mkdir(recdir, 0777) != 0 && errno != EEXIST)
        return somna_fail(err, SOMNA_E_IO, "%s: cannot create directory: %s", recdir, strerror(errno));

    somna_sim_rng r, rdrift;
    somna_sim_rng_seed(&r, p->seed, 1000);
    somna_sim_rng_seed(&rdrift, p->seed, 2000);
    const int k = p->n_conditions, ref = k - 1;
    participant *pt = calloc((size_t)p->n, sizeof *pt);
    if (!pt)
        return somna_fail(err, SOMNA_E_NOMEM, "simulate study: out of memory");
    for (int i = 0; i < p->n; i++) {
        participant *q = &pt[i];
        snprintf(q->id, sizeof q->id, "P%02d", i + 1);
        q->age = 19 + (int)(somna_sim_rng_uniform(&r) * 12.0);
        q->female = somna_sim_rng_uniform(&r) < 0.5;
        q->psqi_base = 6 + (int)(somna_sim_rng_uniform(&r) * 8.0); /* poor sleepers: PSQI > 5 */
        q->u_sol = p->sd_sol_min * somna_sim_rng_normal(&r);
        q->u_tst = p->sd_tst_min * somna_sim_rng_normal(&r);
        q->u_n3 = 2.0 * somna_sim_rng_normal(&r);
        q->u_hr = p->sd_hr_bpm * somna_sim_rng_normal(&r);
        q->u_hf = exp(0.3 * somna_sim_rng_normal(&r));
        q->u_emg = exp(p->sd_emg_pct / 100.0 * somna_sim_rng_normal(&r));
        q->u_rcsq = p->sd_rcsq * somna_sim_rng_normal(&r);
        q->u_relax = p->sd_relax * somna_sim_rng_normal(&r);
        q->arm = i % k; /* balanced allocation for parallel / pre-post designs */
    }

    files f;
    memset(&f, 0, sizeof f);
    int rc = open_all(&f, dir, err);
    if (rc)
        goto out;

    fputs("participant,age,sex,psqi_screening,arm\n", f.part.fp);
    fputs("session,participant,period,date,condition,massage_min,massage_start,massage_end,lights_off,"
          "lights_on,therapist,recording,drifted_off\n",
          f.sess.fp);
    fputs("participant,timepoint,date,psqi_01,psqi_02,psqi_03,psqi_04,psqi_05a,psqi_05b,psqi_05c,psqi_05d,"
          "psqi_05e,psqi_05f,psqi_05g,psqi_05h,psqi_05i,psqi_05j,psqi_06,psqi_07,psqi_08,psqi_09\n",
          f.psqi.fp);
    fputs("session,participant,condition,rcsq_1,rcsq_2,rcsq_3,rcsq_4,rcsq_5\n", f.rcsq.fp);
    fputs("session,participant,condition,timepoint", f.relax.fp);
    for (int j = 1; j <= 10; j++)
        fprintf(f.relax.fp, ",rsq_%02d", j);
    fputc('\n', f.relax.fp);
    fputs("session\tparticipant\tcondition\tperiod\tdate\tedf\thypnogram\trpeaks\tevents\n", f.manifest.fp);

    somna_json j;
    somna_json_init(&j, f.truth.fp, 1);
    somna_json_object_begin(&j);
    somna_json_kv_string(&j, "generator", "somna simulate study");
    somna_json_kv_string(&j, "design", somna_sim_design_name(p->design));
    somna_json_kv_int(&j, "n", p->n);
    somna_json_kv_int(&j, "seed", (int64_t)p->seed);
    somna_json_kv_string(&j, "session", p->nap ? "nap" : "night");
    somna_json_kv_number(&j, "time_in_bed_min", p->nap ? p->nap_min : 480.0);
    somna_json_kv_string(&j, "reference", p->conditions[ref].name);
    somna_json_key(&j, "model");
    somna_json_object_begin(&j);
    somna_json_kv_string(&j, "outcome", "y = mu + u_participant + effect_condition + e_session");
    somna_json_kv_number(&j, "sd_between_sol_min", p->sd_sol_min);
    somna_json_kv_number(&j, "sd_between_tst_min", p->sd_tst_min);
    somna_json_kv_number(&j, "sd_between_hr_bpm", p->sd_hr_bpm);
    somna_json_kv_number(&j, "sd_between_emg_pct", p->sd_emg_pct);
    somna_json_kv_number(&j, "sd_between_rcsq", p->sd_rcsq);
    somna_json_kv_number(&j, "sd_between_relax", p->sd_relax);
    somna_json_kv_number(&j, "sd_within_sol_min", 2.0);
    somna_json_kv_number(&j, "sd_within_tst_min", 4.0);
    somna_json_kv_number(&j, "sd_within_rcsq", 6.0);
    somna_json_kv_number(&j, "sd_within_relax", 2.0);
    somna_json_kv_number(&j, "drift_rate", p->drift_rate);
    somna_json_kv_number(&j, "drift_sol_min", p->drift_sol_min);
    somna_json_object_end(&j);
    somna_json_key(&j, "effects");
    somna_json_array_begin(&j);
    for (int c = 0; c < k; c++) {
        const somna_sim_condition *cd = &p->conditions[c];
        somna_json_object_begin(&j);
        somna_json_kv_string(&j, "condition", cd->name);
        somna_json_kv_number(&j, "massage_min", cd->massage_min);
        somna_json_kv_number(&j, "sol_min", cd->d_sol_min);
        somna_json_kv_number(&j, "tst_min", cd->d_tst_min);
        somna_json_kv_number(&j, "n3_min", cd->d_n3_min);
        somna_json_kv_number(&j, "hf_power_ratio", cd->hf_ratio);
        somna_json_kv_number(&j, "emg_tone_pct", cd->emg_pct);
        somna_json_kv_number(&j, "rcsq_points", cd->d_rcsq);
        somna_json_kv_number(&j, "relaxation_change_points", cd->d_relax);
        somna_json_kv_number(&j, "psqi_points", cd->d_psqi);
        somna_json_object_end(&j);
    }
    somna_json_array_end(&j);

    /* participants + baseline PSQI */
    somna_json_key(&j, "participants");
    somna_json_array_begin(&j);
    for (int i = 0; i < p->n; i++) {
        participant *q = &pt[i];
        const char *arm = (p->design == SOMNA_SIM_PARALLEL || p->design == SOMNA_SIM_PREPOST)
                              ? p->conditions[q->arm].name : "all";
        fprintf(f.part.fp, "%s,%d,%s,%d,%s\n", q->id, q->age, q->female ? "F" : "M", q->psqi_base, arm);
        int comp[7];
        psqi_components(q->psqi_base, &r, comp);
        psqi_items it;
        psqi_from_components(comp, &r, &it);
        write_psqi_row(f.psqi.fp, q->id, "baseline", "2026-01-26", &it);
        somna_json_object_begin(&j);
        somna_json_kv_string(&j, "participant", q->id);
        somna_json_kv_number(&j, "u_sol_min", q->u_sol);
        somna_json_kv_number(&j, "u_tst_min", q->u_tst);
        somna_json_kv_number(&j, "u_hr_bpm", q->u_hr);
        somna_json_kv_number(&j, "u_hf_factor", q->u_hf);
        somna_json_kv_number(&j, "u_emg_factor", q->u_emg);
        somna_json_kv_int(&j, "psqi_baseline", q->psqi_base);
        json_components(&j, "psqi_baseline_components", comp);
        if (p->design == SOMNA_SIM_PREPOST) {
            int post = q->psqi_base + (int)lround(p->conditions[q->arm].d_psqi + 1.0 * somna_sim_rng_normal(&r));
            post = post < 0 ? 0 : post > 21 ? 21 : post;
            psqi_components(post, &r, comp);
            psqi_from_components(comp, &r, &it);
            write_psqi_row(f.psqi.fp, q->id, "post", "2026-03-02", &it);
            somna_json_kv_int(&j, "psqi_post", post);
            json_components(&j, "psqi_post_components", comp);
        }
        somna_json_object_end(&j);
    }
    somna_json_array_end(&j);

    /* sessions, in three passes: (1) every random draw, in a fixed order,
     * (2) the recordings, in parallel (each has its own seed, so the result
     * does not depend on the number of threads), (3) the tables in order */
    int max_jobs = p->n * (p->design == SOMNA_SIM_PARALLEL ? 1 : p->design == SOMNA_SIM_PREPOST ? 2 : k);
    session_job *jobs = calloc((size_t)max_jobs, sizeof *jobs);
    if (!jobs) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "simulate study: out of memory");
        goto out;
    }
    int n_sessions = 0;
    for (int i = 0; i < p->n; i++) {
        participant *q = &pt[i];
        int order[2 * SOMNA_SIM_MAX_CONDITIONS], n_per = 0;
        if (p->design == SOMNA_SIM_CROSSOVER || p->design == SOMNA_SIM_DOSE) {
            int rows = k % 2 ? 2 * k : k;
            williams_row(k, i % rows, order);
            n_per = k;
        } else if (p->design == SOMNA_SIM_PARALLEL) {
            order[0] = q->arm;
            n_per = 1;
        } else { /* pre-post: a reference session, then the arm's session */
            order[0] = ref;
            order[1] = q->arm;
            n_per = 2;
        }
        for (int s = 0; s < n_per; s++) {
            session_job *jb = &jobs[n_sessions++];
            const somna_sim_condition *cd = &p->conditions[order[s]];
            jb->participant = i;
            jb->period = s + 1;
            jb->condition = order[s];
            int y = 2026, m = 2, d = 2;
            add_days(&y, &m, &d, i % 5 + 7 * s * (p->design == SOMNA_SIM_PREPOST ? 4 : 1));
            snprintf(jb->date, sizeof jb->date, "%04d-%02d-%02d", y, m, d);
            snprintf(jb->sid, sizeof jb->sid, "%s_S%d", q->id, s + 1);

            somna_sim_night_params *np = &jb->np;
            somna_sim_night_params_default(np, p->nap);
            if (p->nap)
                np->sleep.tib_min = p->nap_min;
            double tib = np->sleep.tib_min;
            double base_sol = p->nap ? 14.0 : 18.0, base_tst = p->nap ? 0.62 * tib : 0.85 * tib;
            jb->drifted = cd->massage_min > 0 ? somna_sim_rng_uniform(&rdrift) < p->drift_rate : -1;
            double sol = clampd(base_sol + q->u_sol + cd->d_sol_min + (jb->drifted == 1 ? p->drift_sol_min : 0.0) +
                                    2.0 * somna_sim_rng_normal(&r),
                                1.0, tib * 0.5);
            double tst = clampd(base_tst + q->u_tst + cd->d_tst_min + 4.0 * somna_sim_rng_normal(&r), tib * 0.2,
                                tib - sol - (p->nap ? 2.0 : 30.0)); /* room for the awakenings */
            double n3 = clampd((p->nap ? 10.0 : 80.0) + q->u_n3 + cd->d_n3_min + 1.0 * somna_sim_rng_normal(&r), 0.0,
                               0.4 * tst);
            np->seed = p->seed * 1000003ULL + (uint64_t)(i * 16 + s);
            np->sleep.sol_min = sol;
            np->sleep.efficiency = tst / tib;
            np->sleep.n3_min = n3;
            np->sleep.fragmentation = p->nap ? 1.0 : 2.0;
            np->hr_bpm = clampd(66.0 + q->u_hr, 45.0, 100.0);
            double hf = q->u_hf * cd->hf_ratio * exp(0.05 * somna_sim_rng_normal(&r));
            np->hf_factor = clampd(sqrt(hf), 0.2, 5.0); /* RSA amplitude ~ sqrt(power) */
            double emg = q->u_emg * (1.0 + cd->emg_pct / 100.0) * exp(0.02 * somna_sim_rng_normal(&r));
            np->emg_tone_factor = clampd(emg, 0.1, 10.0);
            np->fs_eeg = p->fs_eeg;
            np->ecg_only = p->recordings == 1;
            np->start_year = y;
            np->start_month = m;
            np->start_day = d;
            np->start_hour = p->nap ? 13.5 : 23.0;

            /* RCSQ after the nap/night: five VAS items around the session mean */
            double rc_mean = clampd(50.0 + q->u_rcsq + cd->d_rcsq + 6.0 * somna_sim_rng_normal(&r), 5.0, 95.0);
            for (int t = 0; t < 5; t++)
                jb->rcsq[t] = (int)lround(clampd(rc_mean + 5.0 * somna_sim_rng_normal(&r), 0.0, 100.0));
            /* relaxation state before and after the session (10 items 1..5, sum 10..50) */
            double pre = clampd(30.0 + q->u_relax + 1.5 * somna_sim_rng_normal(&r), 14.0, 46.0);
            double post = clampd(pre + 1.0 + cd->d_relax + 2.0 * somna_sim_rng_normal(&r), 12.0, 48.0);
            for (int tp = 0; tp < 2; tp++) {
                int total = (int)lround(tp == 0 ? pre : post);
                for (int t = 0; t < 10; t++)
                    jb->relax[tp][t] = 1;
                /* spread target-10 points over ten 1..5 items */
                for (int left = total - 10; left > 0;) {
                    int t = (int)(somna_sim_rng_uniform(&r) * 10.0);
                    if (jb->relax[tp][t] < 5) {
                        jb->relax[tp][t]++;
                        left--;
                    }
                }
            }
        }
    }

    study_run run = {.jobs = jobs, .n = n_sessions, .failed = -1, .recdir = recdir, .recordings = p->recordings};
    somna_err_init(&run.err0, err ? err->warn : NULL, err ? err->warn_ctx : NULL);
    pthread_mutex_init(&run.lock, NULL);
    int n_threads = p->threads > 0 ? p->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n_threads < 1)
        n_threads = 1;
    if (n_threads > 8)
        n_threads = 8;
    if (n_threads > n_sessions)
        n_threads = n_sessions > 0 ? n_sessions : 1;
    pthread_t th[8];
    int started = 0;
    for (int t = 1; t < n_threads; t++)
        if (pthread_create(&th[started], NULL, study_worker, &run) == 0)
            started++; /* a thread that cannot start just leaves more work to the others */
    study_worker(&run); /* the calling thread works too */
    for (int t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    pthread_mutex_destroy(&run.lock);
    if (run.failed >= 0) {
        rc = run.jobs[run.failed].rc;
        if (err) {
            somna_strlcpy(err->msg, run.jobs[run.failed].err.msg, sizeof err->msg);
            err->code = rc;
        }
        free(jobs);
        goto out;
    }

    somna_json_key(&j, "sessions");
    somna_json_array_begin(&j);
    for (int js = 0; js < n_sessions; js++) {
        session_job *jb = &jobs[js];
        const participant *q = &pt[jb->participant];
        const somna_sim_condition *cd = &p->conditions[jb->condition];
        const char *sid = jb->sid, *date = jb->date;
        const somna_sim_night_summary *sum = &jb->sum;
        const somna_sim_night_params *np = &jb->np;
        double tib = np->sleep.tib_min;
        int start_min = p->nap ? 13 * 60 + 30 : 23 * 60;
        int ms = start_min - 10 - (int)cd->massage_min;
        fprintf(f.sess.fp, "%s,%s,%d,%s,%s,", sid, q->id, jb->period, date, cd->name);
        num(f.sess.fp, cd->massage_min);
        if (cd->massage_min > 0)
            fprintf(f.sess.fp, ",%02d:%02d,%02d:%02d", ms / 60, ms % 60, (start_min - 10) / 60, (start_min - 10) % 60);
        else
            fputs(",,", f.sess.fp);
        int end_min = (start_min + (int)tib) % (24 * 60);
        fprintf(f.sess.fp, ",%02d:%02d,%02d:%02d,%s,%s%s%s,%s\n", start_min / 60, start_min % 60, end_min / 60,
                end_min % 60, cd->massage_min > 0 ? (jb->participant % 2 ? "T2" : "T1") : "",
                p->recordings ? "recordings/" : "", p->recordings ? sid : "", p->recordings ? ".edf" : "",
                jb->drifted < 0 ? "" : jb->drifted ? "yes" : "no");
        if (p->recordings)
            fprintf(f.manifest.fp, "%s\t%s\t%s\t%d\t%s\trecordings/%s.edf\trecordings/%s.hypnogram.tsv\t"
                                   "recordings/%s.rpeaks.tsv\trecordings/%s.events.tsv\n",
                    sid, q->id, cd->name, jb->period, date, sid, sid, sid, sid);
        else
            fprintf(f.manifest.fp, "%s\t%s\t%s\t%d\t%s\t\t\t\t\n", sid, q->id, cd->name, jb->period, date);
        double rsum = 0;
        for (int t = 0; t < 5; t++)
            rsum += jb->rcsq[t];
        fprintf(f.rcsq.fp, "%s,%s,%s,%d,%d,%d,%d,%d\n", sid, q->id, cd->name, jb->rcsq[0], jb->rcsq[1], jb->rcsq[2],
                jb->rcsq[3], jb->rcsq[4]);
        int sums[2] = {0, 0};
        for (int tp = 0; tp < 2; tp++) {
            fprintf(f.relax.fp, "%s,%s,%s,%s", sid, q->id, cd->name, tp == 0 ? "pre" : "post");
            for (int t = 0; t < 10; t++) {
                fprintf(f.relax.fp, ",%d", jb->relax[tp][t]);
                sums[tp] += jb->relax[tp][t];
            }
            fputc('\n', f.relax.fp);
        }
        somna_json_object_begin(&j);
        somna_json_kv_string(&j, "session", sid);
        somna_json_kv_string(&j, "participant", q->id);
        somna_json_kv_string(&j, "condition", cd->name);
        somna_json_kv_int(&j, "period", jb->period);
        somna_json_kv_number(&j, "sol_min", sum->sol_min);
        somna_json_kv_number(&j, "tst_min", sum->tst_min);
        somna_json_kv_number(&j, "n3_min", sum->stage_min[3]);
        somna_json_kv_number(&j, "rem_min", sum->stage_min[4]);
        somna_json_kv_number(&j, "hr_bpm_relaxed_wake", np->hr_bpm);
        somna_json_kv_number(&j, "hf_power_factor", np->hf_factor * np->hf_factor);
        somna_json_kv_number(&j, "emg_tone_factor", np->emg_tone_factor);
        somna_json_kv_number(&j, "rcsq", rsum / 5.0);
        somna_json_kv_int(&j, "relaxation_pre", sums[0]);
        somna_json_kv_int(&j, "relaxation_post", sums[1]);
        if (jb->drifted >= 0)
            somna_json_kv_bool(&j, "drifted_off", jb->drifted);
        else
            somna_json_kv_null(&j, "drifted_off");
        somna_json_object_end(&j);
    }
    free(jobs);
    somna_json_array_end(&j);
    somna_json_object_end(&j);
    somna_json_finish(&j);
    if (rc)
        goto out;
    rc = commit_all(&f, err);
    if (rc == 0 && n_sessions_out)
        *n_sessions_out = n_sessions;
out:
    abort_all(&f);
    free(pt);
    return rc;
}
