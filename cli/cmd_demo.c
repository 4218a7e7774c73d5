/* somna demo — the README's main job: simulate a seed-000-shaped study and
 * run the whole somna chain on it, then check that the chain recovers the
 * effects the simulator put in.
 *
 * The demo is a sequence of steps over one context; a step is a function
 * `int step_X(demo *d)` listed in the `steps` table, so when a module lands
 * its step is one function and one table line.  Each step reads what
 * earlier steps wrote (files, the study database), like a user would. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "somna/db.h"
#include "somna/edf.h"
#include "somna/emg.h"
#include "somna/fileio.h"
#include "somna/hrv.h"
#include "somna/hypno.h"
#include "somna/json.h"
#include "somna/parse.h"
#include "somna/report.h"
#include "somna/rpeaks.h"
#include "somna/sim.h"
#include "somna/study.h"
#include "somna/survey.h"
#include "somna/table.h"

static const char *const CMD = "demo";

typedef struct demo {
    const char *out;
    char study_dir[4096], db_path[4096], report_path[4096], recovery_path[4096];
    somna_sim_study_params sp;
    int n_sessions;
    somna_db *db;
    int64_t study_id;
    somna_study_analysis analysis;
    int have_analysis;
    /* beat detection against the simulator's R-peak truth, all sessions */
    size_t tp, fn, fp;
    int recovered, compared;
    int quiet, json;
    somna_err err;
} demo;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: somna demo [-o DIR] [--seed N] [--quiet] [--json]\n"
            "\n"
            "Simulates a study shaped like seed 000 — 15 poor sleepers (PSQI > 5), three\n"
            "conditions one week apart (relaxation massage, sports massage, no massage),\n"
            "a 30-min session before a 90-min nap, polysomnography with chin EMG and ECG,\n"
            "RCSQ and relaxation questionnaires — with known effects, then runs the whole\n"
            "chain on the files as a user would:\n"
            "  simulate -> questionnaires (survey) -> sleep statistics from the EDF+ scoring\n"
            "  -> R peaks + HRV (cardio) -> chin EMG tone -> study database (import, process)\n"
            "  -> statistics by design -> HTML report -> recovery check against the truth.\n"
            "No network, no data needed; deterministic for a seed.\n"
            "\n"
            "  -o, --out DIR   output directory (default: somna-demo)\n"
            "      --seed N    simulation seed (default 1)\n"
            "      --quiet     print only the final summary\n"
            "      --json      print the summary as JSON (implies --quiet)\n"
            "\n"
            "Outputs: DIR/study/ (recordings, questionnaires, session log, truth.json),\n"
            "DIR/study.db (SQLite), DIR/report.html, DIR/recovery.tsv (effect, truth, CI).\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* buf = a + "/" + b; -1 (and "") when it does not fit */
static int path2(char *buf, size_t size, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la + lb + 2 > size) {
        buf[0] = '\0';
        return -1;
    }
    memcpy(buf, a, la);
    buf[la] = '/';
    memcpy(buf + la + 1, b, lb + 1);
    return 0;
}

/* ---- step 1: simulate ------------------------------------------------------------ */
static int step_simulate(demo *d)
{
    if (somna_sim_study_write(&d->sp, d->study_dir, &d->n_sessions, &d->err))
        return -1;
    if (!d->quiet)
        printf("      %d participants x %d conditions = %d naps (EDF+ with EEG, EOG, chin EMG, ECG)\n", d->sp.n,
               d->sp.n_conditions, d->n_sessions);
    return 0;
}

/* ---- step 2: questionnaires ------------------------------------------------------ */
typedef struct row_ctx {
    const somna_table *t;
    size_t row;
} row_ctx;

static const char *row_get(void *ctx, const char *field)
{
    row_ctx *r = ctx;
    long c = somna_table_col(r->t, field);
    if (c < 0)
        return NULL;
    return somna_table_cell(r->t, r->row, (size_t)c);
}

static int step_questionnaires(demo *d)
{
    char path[4096], outp[4096];
    somna_table t;
    somna_outfile o = {0};
    int rc;
    /* long-format scores for the study import */
    if (path2(outp, sizeof outp, d->out, "questionnaires_scored.csv") ||
        (rc = somna_outfile_open(&o, outp, &d->err)))
        return -1;
    fputs("participant,condition,period,instrument,timepoint,score,value\n", o.fp);

    /* RCSQ: mean of five VAS items */
    path2(path, sizeof path, d->study_dir, "rcsq.csv");
    if ((rc = somna_table_read(path, NULL, &t, &d->err)))
        goto fail;
    long c_part = somna_table_col(&t, "participant"), c_cond = somna_table_col(&t, "condition"),
         c_sess = somna_table_col(&t, "session");
    for (size_t i = 0; i < t.n_rows; i++) {
        row_ctx rcx = {&t, i};
        somna_survey_result res;
        if ((rc = somna_survey_score(SOMNA_SURVEY_RCSQ, NULL, row_get, &rcx, &res, &d->err)))
            break;
        const char *sess = somna_table_cell(&t, i, (size_t)c_sess);
        const char *us = strrchr(sess, 'S');
        fprintf(o.fp, "%s,%s,%s,RCSQ,post,total,", somna_table_cell(&t, i, (size_t)c_part),
                somna_table_cell(&t, i, (size_t)c_cond), us ? us + 1 : "");
        char b[40];
        somna_format_double(b, sizeof b, res.value[somna_survey_main_output(SOMNA_SURVEY_RCSQ)]);
        fprintf(o.fp, "%s\n", b);
    }
    somna_table_free(&t);
    if (rc)
        goto fail;

    /* relaxation state: ten 1-5 items, sum, before and after the session */
    somna_survey_scale sc;
    somna_survey_scale_init(&sc);
    somna_strlcpy(sc.name, "relax", sizeof sc.name);
    if ((rc = somna_survey_scale_set_items(&sc, "rsq_01,rsq_02,rsq_03,rsq_04,rsq_05,rsq_06,rsq_07,rsq_08,rsq_09,rsq_10",
                                           &d->err)))
        goto fail;
    somna_survey_opts so = {0};
    so.scale = &sc;
    path2(path, sizeof path, d->study_dir, "relaxation.csv");
    if ((rc = somna_table_read(path, NULL, &t, &d->err)))
        goto fail;
    c_part = somna_table_col(&t, "participant");
    c_cond = somna_table_col(&t, "condition");
    c_sess = somna_table_col(&t, "session");
    long c_tp = somna_table_col(&t, "timepoint");
    double pre = NAN;
    for (size_t i = 0; i < t.n_rows; i++) {
        row_ctx rcx = {&t, i};
        somna_survey_result res;
        if ((rc = somna_survey_score(SOMNA_SURVEY_SCALE, &so, row_get, &rcx, &res, &d->err)))
            break;
        double v = res.value[somna_survey_main_output(SOMNA_SURVEY_SCALE)];
        if (strcmp(somna_table_cell(&t, i, (size_t)c_tp), "pre") == 0) {
            pre = v;
            continue;
        }
        const char *sess = somna_table_cell(&t, i, (size_t)c_sess);
        const char *us = strrchr(sess, 'S');
        char b[40];
        somna_format_double(b, sizeof b, v - pre);
        fprintf(o.fp, "%s,%s,%s,relax,post,change,%s\n", somna_table_cell(&t, i, (size_t)c_part),
                somna_table_cell(&t, i, (size_t)c_cond), us ? us + 1 : "", b);
    }
    somna_table_free(&t);
    if (rc)
        goto fail;

    /* PSQI at screening: the enrolment file gets the scored global */
    path2(path, sizeof path, d->study_dir, "psqi.csv");
    if ((rc = somna_table_read(path, NULL, &t, &d->err)))
        goto fail;
    somna_table pt;
    path2(outp, sizeof outp, d->study_dir, "participants.csv");
    if ((rc = somna_table_read(outp, NULL, &pt, &d->err))) {
        somna_table_free(&t);
        goto fail;
    }
    char enrol[4096];
    somna_outfile oe = {0};
    path2(enrol, sizeof enrol, d->out, "enrol.csv");
    if ((rc = somna_outfile_open(&oe, enrol, &d->err))) {
        somna_table_free(&t);
        somna_table_free(&pt);
        goto fail;
    }
    fputs("participant,age,sex,psqi,date\n", oe.fp);
    int mismatches = 0;
    for (size_t i = 0; i < t.n_rows && i < pt.n_rows; i++) {
        row_ctx rcx = {&t, i};
        somna_survey_result res;
        if ((rc = somna_survey_score(SOMNA_SURVEY_PSQI, NULL, row_get, &rcx, &res, &d->err)))
            break;
        double g = res.value[somna_survey_main_output(SOMNA_SURVEY_PSQI)];
        double truth = NAN;
        long c_ps = somna_table_col(&pt, "psqi_screening");
        if (c_ps >= 0)
            somna_parse_double_str(somna_table_cell(&pt, i, (size_t)c_ps), &truth);
        mismatches += !(g == truth);
        fprintf(oe.fp, "%s,%s,%s,%g,2026-01-26\n", somna_table_cell(&pt, i, 0), somna_table_cell(&pt, i, 1),
                somna_table_cell(&pt, i, 2), g);
    }
    somna_table_free(&t);
    somna_table_free(&pt);
    if (rc || (rc = somna_outfile_commit(&oe, &d->err))) {
        somna_outfile_abort(&oe);
        goto fail;
    }
    if ((rc = somna_outfile_commit(&o, &d->err)))
        return -1;
    if (!d->quiet)
        printf("      RCSQ and relaxation scored per session; PSQI at screening: %d of %d globals equal the "
               "simulated ones\n",
               d->sp.n - mismatches, d->sp.n);
    return 0;
fail:
    somna_outfile_abort(&o);
    return -1;
}

/* ---- step 3: signals: R peaks + HRV, chin EMG --------------------------------------- */
static int read_signal(somna_edf *edf, const char *label, double **x, size_t *n, double *fs, somna_err *err)
{
    int s = somna_edf_find_signal(edf, label);
    if (s < 0)
        return somna_fail(err, SOMNA_E_NOTFOUND, "no signal '%s'", label);
    const somna_edf_header *h = somna_edf_get_header(edf);
    *n = (size_t)h->signals[s].n_samples;
    *fs = h->signals[s].fs;
    *x = malloc(*n * sizeof **x);
    if (!*x)
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    int rc = somna_edf_read_physical(edf, s, 0, (int64_t)*n, *x, err);
    if (rc) {
        free(*x);
        *x = NULL;
    }
    return rc;
}

static int read_truth_peaks(const char *path, int64_t **peaks, size_t *n, somna_err *err)
{
    somna_table t;
    int rc = somna_table_read(path, NULL, &t, err);
    if (rc)
        return rc;
    size_t c;
    if ((rc = somna_table_require_col(&t, "sample", &c, err))) {
        somna_table_free(&t);
        return rc;
    }
    *peaks = malloc((t.n_rows ? t.n_rows : 1) * sizeof **peaks);
    if (!*peaks) {
        somna_table_free(&t);
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < t.n_rows; i++)
        somna_parse_int64_str(somna_table_cell(&t, i, c), &(*peaks)[i]);
    *n = t.n_rows;
    somna_table_free(&t);
    return SOMNA_OK;
}

static void put_measure(FILE *f, const char *part, const char *cond, const char *period, const char *name, double v)
{
    char b[40];
    somna_format_double(b, sizeof b, v);
    fprintf(f, "%s,%s,%s,nap,%s,%s\n", part, cond, period, name, isfinite(v) ? b : "");
}

static int one_session(demo *d, const somna_table *m, size_t i, FILE *meas)
{
    const char *part = somna_table_cell(m, i, (size_t)somna_table_col(m, "participant"));
    const char *cond = somna_table_cell(m, i, (size_t)somna_table_col(m, "condition"));
    const char *period = somna_table_cell(m, i, (size_t)somna_table_col(m, "period"));
    const char *edf_rel = somna_table_cell(m, i, (size_t)somna_table_col(m, "edf"));
    const char *rp_rel = somna_table_cell(m, i, (size_t)somna_table_col(m, "rpeaks"));
    char edf_path[4096], rp_path[4096];
    path2(edf_path, sizeof edf_path, d->study_dir, edf_rel);
    path2(rp_path, sizeof rp_path, d->study_dir, rp_rel);

    /* the scored hypnogram, from the EDF+ stage annotations */
    somna_hypnogram h;
    somna_hypno_read_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.epoch_s = 30.0;
    int rc = somna_hypno_read(edf_path, &ro, &h, NULL, &d->err);
    if (rc)
        return rc;
    somna_edf *edf = NULL;
    double *ecg = NULL, *emg = NULL, *tone = NULL;
    int64_t *peaks = NULL, *truth = NULL;
    somna_hrv_series all = {0}, n2 = {0};
    size_t n_ecg = 0, n_emg = 0, n_peaks = 0, n_truth = 0, n_tone = 0;
    double fs_ecg = 0.0, fs_emg = 0.0;
    if ((rc = somna_edf_open(edf_path, &edf, &d->err)) ||
        (rc = read_signal(edf, "ECG", &ecg, &n_ecg, &fs_ecg, &d->err)) ||
        (rc = read_signal(edf, "EMG Chin", &emg, &n_emg, &fs_emg, &d->err)))
        goto out;

    /* R peaks, scored against the simulator's truth (AAMI EC57 150-ms window) */
    if ((rc = somna_rpeaks_detect(ecg, n_ecg, fs_ecg, NULL, &peaks, &n_peaks, NULL, &d->err)) ||
        (rc = read_truth_peaks(rp_path, &truth, &n_truth, &d->err)))
        goto out;
    somna_rpeaks_eval ev;
    if ((rc = somna_rpeaks_evaluate(truth, n_truth, peaks, n_peaks, fs_ecg, 0, (int64_t)n_ecg, 0.150, &ev, &d->err)))
        goto out;
    d->tp += ev.tp;
    d->fn += ev.fn;
    d->fp += ev.fp;

    /* HRV of N2 (the stage every nap holds most of), from the detected beats */
    double *bt = malloc(n_peaks * sizeof *bt);
    int *nn = malloc(n_peaks * sizeof *nn);
    if (!bt || !nn) {
        free(bt);
        free(nn);
        rc = somna_fail(&d->err, SOMNA_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < n_peaks; k++) {
        bt[k] = (double)peaks[k] / fs_ecg;
        nn[k] = 1;
    }
    rc = somna_hrv_from_beats(bt, nn, n_peaks, &all, &d->err);
    free(bt);
    free(nn);
    if (rc || (rc = somna_hrv_select_stage(&all, &h, 0.0, SOMNA_STAGE_N2, &n2, &d->err)))
        goto out;
    somna_hrv_opts ho;
    somna_hrv_default_opts(&ho);
    somna_hrv_result hr;
    if ((rc = somna_hrv_compute(&n2, &ho, &hr, &d->err)))
        goto out;
    double hf = hr.v[SOMNA_HRV_HF];

    /* chin EMG tone per epoch, mean over NREM sleep */
    if ((rc = somna_emg_epoch_tone(emg, n_emg, fs_emg, NULL, &tone, &n_tone, &d->err)))
        goto out;
    somna_emg_stage_summary es;
    if ((rc = somna_emg_by_stage(tone, n_tone, &h, &es, &d->err)))
        goto out;

    put_measure(meas, part, cond, period, "HF_N2", hf);
    put_measure(meas, part, cond, period, "ln_HF_N2", hf > 0 ? log(hf) : NAN);
    put_measure(meas, part, cond, period, "HR_N2", hr.v[SOMNA_HRV_HR]);
    put_measure(meas, part, cond, period, "EMG_tone_NREM", es.nrem_mean);
    put_measure(meas, part, cond, period, "ln_EMG_tone_NREM", es.nrem_mean > 0 ? log(es.nrem_mean) : NAN);
out:
    if (rc)
        somna_err_prefix(&d->err, "%s", edf_path);
    somna_hrv_series_free(&all);
    somna_hrv_series_free(&n2);
    free(tone);
    free(peaks);
    free(truth);
    free(ecg);
    free(emg);
    if (edf)
        somna_edf_close(edf);
    somna_hypno_free(&h);
    return rc;
}

static int step_signals(demo *d)
{
    char path[4096], outp[4096];
    somna_table m;
    somna_table_opts to = {0};
    to.delim = '\t';
    path2(path, sizeof path, d->study_dir, "manifest.tsv");
    if (somna_table_read(path, &to, &m, &d->err))
        return -1;
    somna_outfile o = {0};
    path2(outp, sizeof outp, d->out, "measures.csv");
    if (somna_outfile_open(&o, outp, &d->err)) {
        somna_table_free(&m);
        return -1;
    }
    fputs("participant,condition,period,kind,measure,value\n", o.fp);
    int rc = 0;
    for (size_t i = 0; i < m.n_rows && !rc; i++)
        rc = one_session(d, &m, i, o.fp);
    somna_table_free(&m);
    if (rc || somna_outfile_commit(&o, &d->err)) {
        somna_outfile_abort(&o);
        return -1;
    }
    if (!d->quiet) {
        double se = d->tp + d->fn ? 100.0 * (double)d->tp / (double)(d->tp + d->fn) : NAN;
        double ppv = d->tp + d->fp ? 100.0 * (double)d->tp / (double)(d->tp + d->fp) : NAN;
        printf("      R peaks vs simulated truth: Se %.2f %%, +P %.2f %% (%zu beats); HRV of N2; chin EMG tone "
               "of NREM\n",
               se, ppv, d->tp + d->fn);
    }
    return 0;
}

/* ---- step 4: the study database --------------------------------------------------- */
static int step_study(demo *d)
{
    char conf[4096], path[4096];
    /* the protocol, in the study description format (docs/study.md) */
    path2(conf, sizeof conf, d->out, "study.conf");
    somna_outfile o = {0};
    if (somna_outfile_open(&o, conf, &d->err))
        return -1;
    fprintf(o.fp, "# written by somna demo: seed 000 shape\nname = massage-nap-demo\ndesign = %s\nseed = %llu\n"
                  "psqi_min = 5\ncontrol = %s\n",
            somna_sim_design_name(d->sp.design), (unsigned long long)d->sp.seed,
            d->sp.conditions[d->sp.n_conditions - 1].name);
    for (int c = 0; c < d->sp.n_conditions; c++) {
        const somna_sim_condition *cd = &d->sp.conditions[c];
        const char *type = c == d->sp.n_conditions - 1 ? "control" : strcmp(cd->name, "sports") == 0 ? "sports"
                                                                                                         : "relaxation";
        fprintf(o.fp, "condition = %s | %s | %s | %g\n", cd->name, cd->name, type, cd->massage_min);
    }
    fputs("outcomes = SOL, TST, N3, ln_HF_N2, ln_EMG_tone_NREM, RCSQ, relax_change, HF_N2, EMG_tone_NREM, WASO, SE\n",
          o.fp);
    if (somna_outfile_commit(&o, &d->err))
        return -1;

    somna_study_desc desc;
    remove(d->db_path); /* the demo starts from an empty database each run */
    if (somna_study_desc_read(conf, &desc, &d->err) || somna_db_open(&d->db, d->db_path, &d->err) ||
        somna_study_init(d->db, &desc, &d->study_id, &d->err))
        return -1;
    somna_study_import_stats st;
    path2(path, sizeof path, d->out, "enrol.csv");
    if (somna_study_enrol_csv(d->db, d->study_id, path, &st, &d->err))
        return -1;
    long enrolled = st.inserted;
    path2(path, sizeof path, d->study_dir, "sessions.csv");
    if (somna_study_import(d->db, d->study_id, SOMNA_STUDY_IMPORT_SESSIONS, path, NULL, &st, &d->err))
        return -1;

    /* nights: the scored PSG (hypnogram from its EDF+ annotations) */
    char man[4096];
    path2(man, sizeof man, d->out, "nights.csv");
    somna_table m;
    somna_table_opts to = {0};
    to.delim = '\t';
    path2(path, sizeof path, d->study_dir, "manifest.tsv");
    if (somna_table_read(path, &to, &m, &d->err))
        return -1;
    if (somna_outfile_open(&o, man, &d->err)) {
        somna_table_free(&m);
        return -1;
    }
    fputs("participant,condition,period,kind,date,lights_off,lights_on,hypnogram\n", o.fp);
    int lo = (int)(13.5 * 60), li = lo + (int)d->sp.nap_min;
    for (size_t i = 0; i < m.n_rows; i++)
        fprintf(o.fp, "%s,%s,%s,nap,%s,%02d:%02d,%02d:%02d,study/%s\n", somna_table_cell(&m, i, 1),
                somna_table_cell(&m, i, 2), somna_table_cell(&m, i, 3), somna_table_cell(&m, i, 4), lo / 60, lo % 60,
                li / 60, li % 60, somna_table_cell(&m, i, 5));
    somna_table_free(&m);
    if (somna_outfile_commit(&o, &d->err))
        return -1;
    if (somna_study_import(d->db, d->study_id, SOMNA_STUDY_IMPORT_MANIFEST, man, NULL, &st, &d->err))
        return -1;
    path2(path, sizeof path, d->out, "measures.csv");
    if (somna_study_import(d->db, d->study_id, SOMNA_STUDY_IMPORT_MEASURES, path, NULL, &st, &d->err))
        return -1;
    path2(path, sizeof path, d->out, "questionnaires_scored.csv");
    if (somna_study_import(d->db, d->study_id, SOMNA_STUDY_IMPORT_QUESTIONNAIRE, path, NULL, &st, &d->err))
        return -1;
    somna_study_process_stats ps;
    if (somna_study_process(d->db, d->study_id, &ps, &d->err))
        return -1;
    if (!d->quiet)
        printf("      %s: %ld participants enrolled, %ld recordings processed (%ld failed), %ld sleep measures\n",
               d->db_path, enrolled, ps.processed, ps.failed, ps.measures);
    if (ps.failed)
        return somna_fail(&d->err, SOMNA_E_DATA, "%ld recordings failed to process (see the process log in %s)",
                          ps.failed, d->db_path),
               -1;
    return 0;
}

/* ---- step 5: statistics by design ------------------------------------------------------ */
static int step_analyze(demo *d)
{
    if (somna_study_analyze(d->db, d->study_id, NULL, &d->analysis, &d->err))
        return -1;
    d->have_analysis = 1;
    if (!d->quiet)
        printf("      %zu comparisons (paired t, Wilcoxon, mixed model; Holm-adjusted)\n", d->analysis.n_effects);
    return 0;
}

/* ---- step 6: report -------------------------------------------------------------------- */
static int step_report(demo *d)
{
    somna_outfile o = {0};
    if (somna_outfile_open(&o, d->report_path, &d->err))
        return -1;
    somna_report_opts ro = {0};
    ro.format = SOMNA_REPORT_HTML;
    if (somna_report_write(d->db, d->study_id, &ro, o.fp, &d->err)) {
        somna_outfile_abort(&o);
        return -1;
    }
    return somna_outfile_commit(&o, &d->err) ? -1 : 0;
}

/* ---- step 7: recovery of the simulated effects ------------------------------------------ */
static double truth_of(const somna_sim_condition *c, const char *measure, int *known)
{
    *known = 1;
    if (strcmp(measure, "SOL") == 0)
        return c->d_sol_min;
    if (strcmp(measure, "TST") == 0)
        return c->d_tst_min;
    if (strcmp(measure, "N3") == 0)
        return c->d_n3_min;
    if (strcmp(measure, "ln_HF_N2") == 0)
        return log(c->hf_ratio);
    if (strcmp(measure, "ln_EMG_tone_NREM") == 0)
        return log(1.0 + c->emg_pct / 100.0);
    if (strcmp(measure, "RCSQ") == 0)
        return c->d_rcsq;
    if (strcmp(measure, "relax_change") == 0)
        return c->d_relax;
    *known = 0;
    return NAN;
}

static int step_recovery(demo *d)
{
    somna_outfile o = {0};
    if (somna_outfile_open(&o, d->recovery_path, &d->err))
        return -1;
    fputs("measure\tcondition\treference\ttruth\testimate\tci_low\tci_high\tp\twithin_ci\n", o.fp);
    if (!d->quiet)
        printf("      %-18s %-22s %9s %9s  %-21s %s\n", "measure", "contrast", "truth", "estimate", "95% CI",
               "in CI");
    for (size_t i = 0; i < d->analysis.n_effects; i++) {
        const somna_study_effect *e = &d->analysis.effects[i];
        /* the simulated difference between the two compared conditions
         * (effects are relative to the control, so pairwise contrasts
         * subtract; on the log scale ratios become differences) */
        const somna_sim_condition *c = NULL, *rf = NULL;
        for (int k = 0; k < d->sp.n_conditions; k++) {
            if (strcmp(d->sp.conditions[k].name, e->condition) == 0)
                c = &d->sp.conditions[k];
            if (strcmp(d->sp.conditions[k].name, e->reference) == 0)
                rf = &d->sp.conditions[k];
        }
        int known = 0, known_ref = 0;
        double t = c && rf ? truth_of(c, e->measure, &known) - truth_of(rf, e->measure, &known_ref) : NAN;
        if (!known || !known_ref)
            continue;
        int in = t >= e->diff_ci_low && t <= e->diff_ci_high;
        char pair[72];
        snprintf(pair, sizeof pair, "%s-%s", e->condition, e->reference);
        d->compared++;
        d->recovered += in;
        char b[6][40];
        somna_format_double(b[0], sizeof b[0], t);
        somna_format_double(b[1], sizeof b[1], e->diff);
        somna_format_double(b[2], sizeof b[2], e->diff_ci_low);
        somna_format_double(b[3], sizeof b[3], e->diff_ci_high);
        somna_format_double(b[4], sizeof b[4], e->p);
        fprintf(o.fp, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e->measure, e->condition, e->reference, b[0], b[1], b[2],
                b[3], b[4], in ? "yes" : "no");
        if (!d->quiet) {
            printf("      %-18s %-22s %9.3f %9.3f  [%8.3f, %8.3f]  %-3s", e->measure, pair, t, e->diff, e->diff_ci_low,
                   e->diff_ci_high, in ? "yes" : "NO");
            if (strncmp(e->measure, "ln_", 3) == 0) /* log ratios read better as percent changes */
                printf("  (%+.1f %% vs simulated %+.1f %%)", 100.0 * (exp(e->diff) - 1.0), 100.0 * (exp(t) - 1.0));
            putchar('\n');
        }
    }
    return somna_outfile_commit(&o, &d->err) ? -1 : 0;
}

/* ---- the sequence --------------------------------------------------------------------- */
typedef struct demo_step {
    const char *name;
    int (*run)(demo *d);
} demo_step;

static const demo_step steps[] = {
    {"simulate the study (sim)", step_simulate},
    {"score questionnaires (survey)", step_questionnaires},
    {"R peaks, HRV and chin EMG from the EDF+ files (io, cardio, emg)", step_signals},
    {"study database: enrol, import, sleep statistics (study, sleep)", step_study},
    {"statistics by design (stats)", step_analyze},
    {"HTML report (report, plot)", step_report},
    {"recovery of the simulated effects", step_recovery},
};

int cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"seed", required_argument, 0, 's'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    demo d;
    memset(&d, 0, sizeof d);
    d.out = "somna-demo";
    somna_sim_study_params_default(&d.sp);
    int c;
    long l;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': d.out = optarg; break;
        case 's':
            if (cli_opt_long(CMD, "seed", optarg, &l))
                return CLI_EXIT_USAGE;
            if (l < 0)
                return cli_usage_error(CMD, "option --seed: must be >= 0");
            d.sp.seed = (uint64_t)l;
            break;
        case 'q': d.quiet = 1; break;
        case 'j': d.json = d.quiet = 1; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(CMD);
        }
    }
    if (optind < argc)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    cli_err_init(&d.err);
    if (mkdir(d.out, 0777) != 0 && errno != EEXIST)
        return cli_error(CMD, "%s: cannot create directory: %s", d.out, strerror(errno));
    if (path2(d.study_dir, sizeof d.study_dir, d.out, "study") || path2(d.db_path, sizeof d.db_path, d.out, "study.db") ||
        path2(d.report_path, sizeof d.report_path, d.out, "report.html") ||
        path2(d.recovery_path, sizeof d.recovery_path, d.out, "recovery.tsv"))
        return cli_error(CMD, "output directory name '%s' is too long", d.out);

    const size_t n_steps = sizeof steps / sizeof steps[0];
    double t_all = now_s();
    int rc = CLI_EXIT_OK;
    for (size_t i = 0; i < n_steps; i++) {
        double t0 = now_s();
        if (!d.quiet) {
            printf("[%zu/%zu] %s\n", i + 1, n_steps, steps[i].name);
            fflush(stdout);
        }
        if (steps[i].run(&d) != 0) {
            fprintf(stderr, "somna demo: step '%s' failed: %s\n", steps[i].name,
                    d.err.msg[0] ? d.err.msg : somna_strerror(d.err.code));
            rc = CLI_EXIT_FAIL;
            break;
        }
        if (!d.quiet)
            printf("      done in %.1f s\n", now_s() - t0);
    }
    if (d.have_analysis)
        somna_study_analysis_free(&d.analysis);
    if (d.db)
        somna_db_close(d.db);
    if (rc)
        return rc;
    if (d.json) {
        somna_json j;
        somna_json_init(&j, stdout, 1);
        somna_json_object_begin(&j);
        somna_json_kv_number(&j, "seconds", now_s() - t_all);
        somna_json_kv_int(&j, "participants", d.sp.n);
        somna_json_kv_int(&j, "sessions", d.n_sessions);
        somna_json_kv_int(&j, "effects_compared", d.compared);
        somna_json_kv_int(&j, "effects_in_ci", d.recovered);
        somna_json_kv_int(&j, "beats", (int64_t)(d.tp + d.fn));
        somna_json_kv_number(&j, "rpeaks_se_pct", d.tp + d.fn ? 100.0 * (double)d.tp / (double)(d.tp + d.fn) : NAN);
        somna_json_kv_number(&j, "rpeaks_ppv_pct", d.tp + d.fp ? 100.0 * (double)d.tp / (double)(d.tp + d.fp) : NAN);
        somna_json_kv_string(&j, "report", d.report_path);
        somna_json_kv_string(&j, "recovery", d.recovery_path);
        somna_json_kv_string(&j, "database", d.db_path);
        somna_json_kv_string(&j, "study", d.study_dir);
        somna_json_object_end(&j);
        somna_json_finish(&j);
        return CLI_EXIT_OK;
    }
    printf("somna demo finished in %.1f s: %d of %d simulated effects inside their 95 %% CI\n", now_s() - t_all,
           d.recovered, d.compared);
    printf("  report:     %s\n  recovery:   %s\n  database:   %s\n  study data: %s/ (truth.json holds the "
           "simulated effects)\n",
           d.report_path, d.recovery_path, d.db_path, d.study_dir);
    return CLI_EXIT_OK;
}
