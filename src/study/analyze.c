/* Analysis by design, over the `outcome` view of the study database.
 *
 * Every test is delegated to the statistics engine (somna/stats.h); this
 * file only shapes the data as the design requires:
 *  - crossover / dose-response: per participant x condition means of the
 *    nights; paired t, Wilcoxon signed-rank and Cohen's dz per condition vs
 *    the control; linear mixed model y ~ condition + period + (1|participant)
 *    on the participant x period values (dose-response: y ~ minutes +
 *    period + (1|participant), the within-subject slope);
 *  - parallel / pre-post: per participant means over the follow-up
 *    occasions (baseline, time 0, excluded); Welch t, Mann-Whitney and
 *    Cohen's d per arm vs the control; linear mixed model
 *    y ~ arm + occasion + (1|participant) on every follow-up value;
 *    pre-post adds the paired follow-up vs baseline change within each arm;
 *  - N-of-1: randomization test of session nights vs other nights.
 * p-values of the primary test are Holm-adjusted over all outcomes x
 * contrasts (Holm 1979).
 */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "somna/parse.h"
#include "somna/stats.h"
#include "somna/study.h"

typedef struct obs {
    size_t part;      /* participant index */
    int cond;         /* condition index in the description, -1 unknown */
    long period;      /* -1 unknown */
    double time_index;
    char occasion[40];
    double value;
    int drifted;      /* -1 unknown */
    double minutes;   /* session minutes (dose), NAN unknown */
} obs;

typedef struct data {
    size_t n, cap;
    obs *o;
    size_t n_part;
    char (*part)[32];
} data;

static int cond_index(const somna_study_desc *d, const char *code)
{
    if (!code)
        return -1;
    for (int i = 0; i < d->n_conditions; i++)
        if (strcmp(d->conditions[i].code, code) == 0)
            return i;
    return -1;
}

static int ref_index(const somna_study_desc *d)
{
    int r = cond_index(d, d->control);
    return r < 0 ? 0 : r;
}

static void data_free(data *x)
{
    free(x->o);
    free(x->part);
    memset(x, 0, sizeof *x);
}

static size_t part_index(data *x, const char *code, int *oom)
{
    for (size_t i = 0; i < x->n_part; i++)
        if (strcmp(x->part[i], code) == 0)
            return i;
    char(*p)[32] = realloc(x->part, (x->n_part + 1) * sizeof *p);
    if (!p) {
        *oom = 1;
        return 0;
    }
    x->part = p;
    somna_strlcpy(x->part[x->n_part], code, sizeof x->part[0]);
    return x->n_part++;
}

/* A measure of a massage session's recording (surface EMG, sEMG_*). */
static int is_session_measure(const char *measure)
{
    return strlen(measure) > 5 && (measure[0] == 's' || measure[0] == 'S') && somna_strnieq(measure + 1, "EMG_", 4);
}

/* Load the values of one measure (subset applied to non-reference rows). */
static int load_measure(somna_db *db, int64_t study_id, const somna_study_desc *d, const char *measure,
                        const somna_study_analyze_opts *o, data *x, somna_err *err)
{
    memset(x, 0, sizeof *x);
    somna_dbv p[] = {somna_dbv_int(study_id), somna_dbv_text(measure)};
    somna_db_result r;
    int rc = somna_db_query(db,
                            "SELECT participant, condition, period, time_index, occasion, value, drifted_off, "
                            "session_minutes, kind FROM outcome WHERE study_id = ? AND lower(measure) = lower(?) "
                            "AND value IS NOT NULL ORDER BY participant_pk, period, time_index, occasion",
                            p, 2, &r, err);
    if (rc)
        return rc;
    int want_drift = -1;
    if (o && o->subset && *o->subset) {
        if (strcmp(o->subset, "drifted_off=1") == 0)
            want_drift = 1;
        else if (strcmp(o->subset, "drifted_off=0") == 0)
            want_drift = 0;
        else {
            somna_db_result_free(&r);
            return somna_fail(err, SOMNA_E_ARG, "subset '%s' unknown (drifted_off=1 or drifted_off=0)", o->subset);
        }
    }
    int ref = ref_index(d), oom = 0;
    x->o = calloc(r.n_rows ? r.n_rows : 1, sizeof *x->o);
    if (!x->o)
        oom = 1;
    for (size_t i = 0; !oom && i < r.n_rows; i++) {
        const char *code = somna_db_get_text(&r, i, 0);
        if (!code)
            continue;
        if (o && o->participant && *o->participant && strcmp(code, o->participant) != 0)
            continue;
        /* A massage session's occasion (kind `session`) holds only what was
         * recorded during the session: a surface-EMG measure (sEMG_*) comes
         * only from one, any other outcome never does. */
        const char *kind = somna_db_get_text(&r, i, 8);
        if ((kind && strcmp(kind, "session") == 0) != is_session_measure(measure))
            continue;
        obs *b = &x->o[x->n];
        b->cond = cond_index(d, somna_db_get_text(&r, i, 1));
        if (b->cond < 0 && d->n_conditions == 1)
            b->cond = 0; /* a single-arm study: every value belongs to its one condition */
        b->period = (long)somna_db_get_int(&r, i, 2, -1);
        b->time_index = somna_db_get_double(&r, i, 3);
        const char *occ = somna_db_get_text(&r, i, 4);
        somna_strlcpy(b->occasion, occ ? occ : "", sizeof b->occasion);
        b->value = somna_db_get_double(&r, i, 5);
        b->drifted = (int)somna_db_get_int(&r, i, 6, -1);
        b->minutes = somna_db_get_double(&r, i, 7);
        if (isnan(b->minutes) && b->cond >= 0)
            b->minutes = d->conditions[b->cond].minutes;
        if (b->cond == ref && isnan(b->minutes))
            b->minutes = 0;
        if (want_drift >= 0 && b->cond != ref && b->drifted != want_drift)
            continue;
        if (o && o->visits && *o->visits) {
            /* keep only the listed occasions */
            size_t n = strlen(b->occasion);
            int keep = 0;
            for (const char *q = o->visits; *q;) {
                const char *e = q + strcspn(q, ",");
                if ((size_t)(e - q) == n && strncmp(q, b->occasion, n) == 0)
                    keep = 1;
                q = *e ? e + 1 : e;
            }
            if (!keep)
                continue;
        }
        b->part = part_index(x, code, &oom);
        if (!isfinite(b->value))
            continue;
        x->n++;
    }
    somna_db_result_free(&r);
    if (oom) {
        data_free(x);
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory loading measure %s", measure);
    }
    return SOMNA_OK;
}

/* ---- result building ------------------------------------------------------------------------------ */

static int push_effect(somna_study_analysis *a, const somna_study_effect *e)
{
    somna_study_effect *p = realloc(a->effects, (a->n_effects + 1) * sizeof *p);
    if (!p)
        return SOMNA_E_NOMEM;
    a->effects = p;
    a->effects[a->n_effects++] = *e;
    return SOMNA_OK;
}

static void mean_sd(const double *v, size_t n, double *mean, double *sd)
{
    double s = 0, ss = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            s += v[i];
            k++;
        }
    *mean = k ? s / (double)k : NAN;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            ss += (v[i] - *mean) * (v[i] - *mean);
    *sd = k > 1 ? sqrt(ss / (double)(k - 1)) : NAN;
}

static int push_cell(somna_study_analysis *a, const char *measure, const char *cond, const double *v, size_t n)
{
    somna_study_cell c;
    memset(&c, 0, sizeof c);
    somna_strlcpy(c.measure, measure, sizeof c.measure);
    somna_strlcpy(c.condition, cond, sizeof c.condition);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += isfinite(v[i]) != 0;
    c.n = (int)k;
    mean_sd(v, n, &c.mean, &c.sd);
    if (k > 1) {
        double h = gsl_cdf_tdist_Pinv(0.975, (double)(k - 1)) * c.sd / sqrt((double)k);
        c.ci_low = c.mean - h;
        c.ci_high = c.mean + h;
    } else {
        c.ci_low = c.ci_high = NAN;
    }
    somna_study_cell *p = realloc(a->cells, (a->n_cells + 1) * sizeof *p);
    if (!p)
        return SOMNA_E_NOMEM;
    a->cells = p;
    a->cells[a->n_cells++] = c;
    return SOMNA_OK;
}

static void effect_init(somna_study_effect *e, const char *measure, const char *cond, const char *ref,
                        const char *test)
{
    memset(e, 0, sizeof *e);
    somna_strlcpy(e->measure, measure, sizeof e->measure);
    somna_strlcpy(e->condition, cond, sizeof e->condition);
    somna_strlcpy(e->reference, ref, sizeof e->reference);
    somna_strlcpy(e->test, test, sizeof e->test);
    e->mean = e->sd = e->ref_mean = e->ref_sd = NAN;
    e->diff = e->diff_ci_low = e->diff_ci_high = e->pct_change = NAN;
    e->statistic = e->df = e->p = e->p_nonparam = NAN;
    e->effect = e->effect_ci_low = e->effect_ci_high = NAN;
    e->p_lmm = e->lmm_estimate = e->lmm_se = e->lmm_df = e->p_adj = NAN;
}

static void note(somna_study_effect *e, const char *what, const somna_err *er)
{
    if (e->note[0])
        return;
    size_t w = somna_strlcpy(e->note, what, sizeof e->note);
    if (w + 2 < sizeof e->note) {
        memcpy(e->note + w, ": ", 3);
        somna_strlcpy(e->note + w + 2, er->msg, sizeof e->note - w - 2);
    }
}

/* The test's difference, its 95% CI, statistic, df and p into the effect row. */
static void take_test(somna_study_effect *e, const somna_stats_result *r)
{
    e->diff = r->estimate;
    e->diff_ci_low = r->ci_low;
    e->diff_ci_high = r->ci_high;
    e->statistic = r->statistic;
    e->df = r->df;
    e->p = r->p;
}

/* A standardized effect size and its 95% CI into the effect row. */
static void take_effect_size(somna_study_effect *e, const somna_stats_effect *es)
{
    e->effect = es->value;
    e->effect_ci_low = es->ci_low;
    e->effect_ci_high = es->ci_high;
}

/* Paired comparison of x against ref (n pairs): paired t, Wilcoxon
 * signed-rank, Cohen's dz and percent change. A failed paired t is always
 * noted; the failures of the others only when note_secondary is set. */
static void paired_tests(somna_study_effect *e, const double *x, const double *ref, size_t n, int note_secondary)
{
    e->n = (int)n;
    mean_sd(x, n, &e->mean, &e->sd);
    mean_sd(ref, n, &e->ref_mean, &e->ref_sd);
    somna_err er;
    somna_err_init(&er, NULL, NULL);
    somna_stats_result r;
    if (somna_stats_ttest_paired(x, ref, n, 0.95, &r, &er) == SOMNA_OK)
        take_test(e, &r);
    else
        note(e, "paired t", &er);
    if (somna_stats_wilcoxon_signed(x, ref, n, 0.95, &r, &er) == SOMNA_OK)
        e->p_nonparam = r.p;
    else if (note_secondary)
        note(e, "Wilcoxon", &er);
    somna_stats_effect dz;
    if (somna_stats_cohen_dz(x, ref, n, 0.95, &dz, NULL, &er) == SOMNA_OK)
        take_effect_size(e, &dz);
    else if (note_secondary)
        note(e, "Cohen's dz", &er);
    double rom;
    if (somna_stats_percent_change(x, ref, n, NULL, &rom, NULL, &er) == SOMNA_OK)
        e->pct_change = rom;
    else if (note_secondary)
        note(e, "percent change", &er);
}

/* ---- linear mixed model helper ------------------------------------------------------------------------ */

/* Fit y ~ X (+ (1|participant)) and copy coefficient `col` into e. */
static void fit_lmm(const double *X, const double *y, const size_t *g, size_t n, size_t p, size_t n_groups,
                    size_t col, somna_study_effect *e)
{
    somna_err er;
    somna_err_init(&er, NULL, NULL);
    somna_stats_lmm m;
    memset(&m, 0, sizeof m);
    if (somna_stats_lmm_fit(X, y, g, n, p, n_groups, 0.95, &m, &er) == SOMNA_OK && m.coef) {
        e->lmm_estimate = m.coef[col].estimate;
        e->lmm_se = m.coef[col].se;
        e->lmm_df = m.coef[col].df;
        e->p_lmm = m.coef[col].p;
    } else {
        note(e, "mixed model", &er);
    }
    somna_stats_lmm_free(&m);
}

/* Distinct sorted values helper for periods / occasions. */
static int long_cmp(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Crossover design matrix: intercept, condition dummies against `ref` (or
 * session minutes for dose-response), period dummies (first period is the
 * reference). */
static void design_matrix(double *X, size_t n_obs, size_t p, const int *gcond, const long *gper, const double *gmin,
                          int dose, int k, int ref, const long *periods, size_t n_per)
{
    for (size_t j = 0; j < n_obs; j++) {
        double *row = X + j * p;
        row[0] = 1;
        size_t c = 1;
        if (dose) {
            row[c++] = gmin[j];
        } else {
            for (int q = 0; q < k; q++)
                if (q != ref)
                    row[c++] = gcond[j] == q;
        }
        for (size_t q = 1; q < n_per; q++)
            row[c++] = gper[j] == periods[q];
    }
}

/* Column of condition c's dummy in a design matrix coded against level
 * `ref` (intercept first; the reference level has no column). */
static size_t level_col(size_t c, int ref)
{
    size_t col = 1;
    for (int q = 0; q < (int)c; q++)
        col += q != ref;
    return col;
}

/* ---- crossover / dose-response ----------------------------------------------------------------------- */

static int analyze_crossover(const somna_study_desc *d, const char *measure, const data *x, somna_study_analysis *a)
{
    size_t k = (size_t)d->n_conditions, np = x->n_part;
    int ref = ref_index(d);
    /* participant x condition means */
    double *sum = calloc(np * k + 1, sizeof *sum), *mat = calloc(np * k + 1, sizeof *mat);
    size_t *cnt = calloc(np * k + 1, sizeof *cnt);
    int rc = (!sum || !mat || !cnt) ? SOMNA_E_NOMEM : SOMNA_OK;
    for (size_t i = 0; !rc && i < x->n; i++) {
        if (x->o[i].cond < 0)
            continue;
        sum[x->o[i].part * k + (size_t)x->o[i].cond] += x->o[i].value;
        cnt[x->o[i].part * k + (size_t)x->o[i].cond]++;
    }
    for (size_t i = 0; !rc && i < np * k; i++)
        mat[i] = cnt[i] ? sum[i] / (double)cnt[i] : NAN;
    double *col = rc ? NULL : malloc((np + 1) * sizeof *col), *colr = rc ? NULL : malloc((np + 1) * sizeof *colr);
    if (!rc && (!col || !colr))
        rc = SOMNA_E_NOMEM;
    for (size_t c = 0; !rc && c < k; c++) {
        for (size_t i = 0; i < np; i++)
            col[i] = mat[i * k + c];
        rc = push_cell(a, measure, d->conditions[c].code, col, np);
    }
    /* mixed model design: rows = participant x condition x period means */
    size_t n_obs = 0, n_per = 0;
    long *periods = rc ? NULL : malloc((x->n + 1) * sizeof *periods);
    if (!rc && !periods)
        rc = SOMNA_E_NOMEM;
    int have_period = 1;
    for (size_t i = 0; !rc && i < x->n; i++) {
        if (x->o[i].period < 1)
            have_period = 0;
        periods[i] = x->o[i].period;
    }
    if (!rc) {
        qsort(periods, x->n, sizeof *periods, long_cmp);
        for (size_t i = 0; i < x->n; i++)
            if (i == 0 || periods[i] != periods[i - 1])
                periods[n_per++] = periods[i];
        if (!have_period)
            n_per = 1;
    }
    int dose = d->design == SOMNA_STUDY_DOSE;
    size_t p = 1 + (dose ? 1 : k - 1) + (n_per > 1 ? n_per - 1 : 0);
    /* aggregate observations per (participant, condition, period) */
    double *X = rc ? NULL : calloc((x->n + 1) * p, sizeof *X), *y = rc ? NULL : calloc(x->n + 1, sizeof *y);
    size_t *g = rc ? NULL : calloc(x->n + 1, sizeof *g), *gc = rc ? NULL : calloc(x->n + 1, sizeof *gc);
    int *gcond = rc ? NULL : calloc(x->n + 1, sizeof *gcond);
    long *gper = rc ? NULL : calloc(x->n + 1, sizeof *gper);
    double *gmin = rc ? NULL : calloc(x->n + 1, sizeof *gmin);
    if (!rc && (!X || !y || !g || !gc || !gcond || !gper || !gmin))
        rc = SOMNA_E_NOMEM;
    for (size_t i = 0; !rc && i < x->n; i++) {
        const obs *b = &x->o[i];
        if (b->cond < 0)
            continue;
        size_t j = 0;
        for (; j < n_obs; j++)
            if (g[j] == b->part && gcond[j] == b->cond && gper[j] == (have_period ? b->period : 0))
                break;
        if (j == n_obs) {
            g[j] = b->part;
            gcond[j] = b->cond;
            gper[j] = have_period ? b->period : 0;
            gmin[j] = b->minutes;
            n_obs++;
        }
        y[j] += b->value;
        gc[j]++;
    }
    int dose_ok = 1;
    for (size_t j = 0; !rc && j < n_obs; j++) {
        y[j] /= (double)gc[j];
        dose_ok &= !dose || isfinite(gmin[j]);
    }
    if (!rc)
        design_matrix(X, n_obs, p, gcond, gper, gmin, dose, (int)k, ref, periods, n_per);
    /* paired comparisons: every condition vs the reference, then every
     * other pair (later condition vs earlier in the description) */
    size_t n_pairs = 0;
    int pair_c[SOMNA_STUDY_MAX_CONDITIONS * SOMNA_STUDY_MAX_CONDITIONS];
    int pair_r[SOMNA_STUDY_MAX_CONDITIONS * SOMNA_STUDY_MAX_CONDITIONS];
    for (size_t c = 0; c < k; c++)
        if ((int)c != ref) {
            pair_c[n_pairs] = (int)c;
            pair_r[n_pairs++] = ref;
        }
    for (size_t r0 = 0; !dose && r0 < k; r0++)
        for (size_t c = r0 + 1; c < k; c++)
            if ((int)r0 != ref && (int)c != ref) {
                pair_c[n_pairs] = (int)c;
                pair_r[n_pairs++] = (int)r0;
            }
    for (size_t pi = 0; !rc && pi < n_pairs; pi++) {
        size_t c = (size_t)pair_c[pi], rr = (size_t)pair_r[pi];
        somna_study_effect e;
        effect_init(&e, measure, d->conditions[c].code, d->conditions[rr].code, "paired-t");
        somna_strlcpy(e.effect_name, "dz", sizeof e.effect_name);
        size_t n = 0;
        for (size_t i = 0; i < np; i++) {
            if (isfinite(mat[i * k + c]) && isfinite(mat[i * k + rr])) {
                col[n] = mat[i * k + c];
                colr[n] = mat[i * k + rr];
                n++;
            }
        }
        paired_tests(&e, col, colr, n, 1);
        if (!dose) {
            /* the same model with this pair's reference as the baseline level */
            design_matrix(X, n_obs, p, gcond, gper, gmin, 0, (int)k, (int)rr, periods, n_per);
            fit_lmm(X, y, g, n_obs, p, np, level_col(c, (int)rr), &e);
        }
        rc = push_effect(a, &e);
    }
    if (!rc && dose) {
        somna_study_effect e;
        effect_init(&e, measure, "minutes", "slope", "lmm-slope");
        e.n = (int)np;
        if (dose_ok)
            fit_lmm(X, y, g, n_obs, p, np, 1, &e);
        else
            somna_strlcpy(e.note, "session minutes missing for some nights", sizeof e.note);
        e.diff = e.lmm_estimate;
        e.p = e.p_lmm;
        rc = push_effect(a, &e);
    }
    free(sum);
    free(mat);
    free(cnt);
    free(col);
    free(colr);
    free(periods);
    free(X);
    free(y);
    free(g);
    free(gc);
    free(gcond);
    free(gper);
    free(gmin);
    return rc;
}

/* ---- parallel / pre-post ----------------------------------------------------------------------------- */

static int occ_index(char (*occ)[40], size_t *n_occ, const char *s, size_t cap)
{
    for (size_t i = 0; i < *n_occ; i++)
        if (strcmp(occ[i], s) == 0)
            return (int)i;
    if (*n_occ >= cap)
        return -1;
    somna_strlcpy(occ[*n_occ], s, sizeof occ[0]);
    return (int)(*n_occ)++;
}

static int is_baseline(const obs *b)
{
    return b->time_index == 0 || somna_strieq(b->occasion, "B") || somna_strieq(b->occasion, "baseline") ||
           somna_strieq(b->occasion, "pre");
}

/* Each arm at each occasion (baseline included), ordered by time index. */
static int occasion_table(const somna_study_desc *d, const char *measure, const data *x, somna_study_analysis *a)
{
    size_t k = (size_t)d->n_conditions;
    int ref = ref_index(d);
    char(*occ)[40] = calloc(x->n + 1, sizeof *occ);
    double *ti = calloc(x->n + 1, sizeof *ti), *v = malloc((x->n + 1) * sizeof *v),
           *w = malloc((x->n + 1) * sizeof *w);
    size_t n_occ = 0;
    int rc = (!occ || !ti || !v || !w) ? SOMNA_E_NOMEM : SOMNA_OK;
    for (size_t i = 0; !rc && i < x->n; i++) {
        size_t before = n_occ;
        int oi = occ_index(occ, &n_occ, x->o[i].occasion, x->n);
        if (oi >= 0 && n_occ > before)
            ti[oi] = x->o[i].time_index;
    }
    /* insertion sort by time index (NaN last), stable */
    for (size_t i = 1; !rc && i < n_occ; i++)
        for (size_t j = i; j > 0; j--) {
            double a0 = ti[j - 1], a1 = ti[j];
            if (!(isnan(a0) && !isnan(a1)) && !(a1 < a0))
                break;
            char tmp[40];
            memcpy(tmp, occ[j], sizeof tmp);
            memcpy(occ[j], occ[j - 1], sizeof tmp);
            memcpy(occ[j - 1], tmp, sizeof tmp);
            ti[j] = a0;
            ti[j - 1] = a1;
        }
    for (size_t o = 0; !rc && o < n_occ; o++) {
        size_t nw = 0;
        for (size_t i = 0; i < x->n; i++)
            if (x->o[i].cond == ref && strcmp(x->o[i].occasion, occ[o]) == 0)
                w[nw++] = x->o[i].value;
        for (size_t c = 0; !rc && c < k; c++) {
            size_t nv = 0;
            for (size_t i = 0; i < x->n; i++)
                if (x->o[i].cond == (int)c && strcmp(x->o[i].occasion, occ[o]) == 0)
                    v[nv++] = x->o[i].value;
            somna_study_visit s;
            memset(&s, 0, sizeof s);
            somna_strlcpy(s.measure, measure, sizeof s.measure);
            somna_strlcpy(s.occasion, occ[o], sizeof s.occasion);
            somna_strlcpy(s.condition, d->conditions[c].code, sizeof s.condition);
            s.time_index = ti[o];
            s.n = (int)nv;
            mean_sd(v, nv, &s.mean, &s.sd);
            s.diff = s.p = NAN;
            if ((int)c != ref) {
                somna_stats_result r;
                somna_err er;
                somna_err_init(&er, NULL, NULL);
                if (somna_stats_ttest_two(v, nv, w, nw, 0, 0.95, &r, &er) == SOMNA_OK) {
                    s.diff = r.estimate;
                    s.p = r.p;
                }
            }
            somna_study_visit *p = realloc(a->visits, (a->n_visits + 1) * sizeof *p);
            if (!p) {
                rc = SOMNA_E_NOMEM;
                break;
            }
            a->visits = p;
            a->visits[a->n_visits++] = s;
        }
    }
    free(occ);
    free(ti);
    free(v);
    free(w);
    return rc;
}

static int analyze_parallel(const somna_study_desc *d, const char *measure, const data *x, somna_study_analysis *a)
{
    size_t k = (size_t)d->n_conditions, np = x->n_part;
    int ref = ref_index(d);
    double *sum = calloc(np + 1, sizeof *sum), *base = calloc(np + 1, sizeof *base);
    size_t *cnt = calloc(np + 1, sizeof *cnt), *bcnt = calloc(np + 1, sizeof *bcnt);
    int *arm = calloc(np + 1, sizeof *arm);
    double *v = malloc((np + 1) * sizeof *v), *w = malloc((np + 1) * sizeof *w);
    char(*occ)[40] = calloc(x->n + 1, sizeof *occ);
    double *X = NULL, *y = NULL;
    size_t *g = NULL;
    int rc = (!sum || !base || !cnt || !bcnt || !arm || !v || !w || !occ) ? SOMNA_E_NOMEM : SOMNA_OK;
    for (size_t i = 0; !rc && i < np; i++)
        arm[i] = -1;
    size_t n_occ = 0, n_follow = 0;
    for (size_t i = 0; !rc && i < x->n; i++) {
        const obs *b = &x->o[i];
        if (b->cond >= 0)
            arm[b->part] = b->cond;
        if (is_baseline(b)) {
            base[b->part] += b->value;
            bcnt[b->part]++;
        } else {
            sum[b->part] += b->value;
            cnt[b->part]++;
            occ_index(occ, &n_occ, b->occasion, x->n);
            n_follow++;
        }
    }
    /* occasion order: by the time index of their first appearance (already ordered in the query) */
    for (size_t c = 0; !rc && c < k; c++) {
        size_t n = 0;
        for (size_t i = 0; i < np; i++)
            if (arm[i] == (int)c && cnt[i])
                v[n++] = sum[i] / (double)cnt[i];
        rc = push_cell(a, measure, d->conditions[c].code, v, n);
    }
    /* mixed model on follow-up values: y ~ arm + occasion + (1 | participant) */
    size_t p = 1 + (k - 1) + (n_occ > 1 ? n_occ - 1 : 0);
    if (!rc) {
        X = calloc((n_follow + 1) * p, sizeof *X);
        y = calloc(n_follow + 1, sizeof *y);
        g = calloc(n_follow + 1, sizeof *g);
        if (!X || !y || !g)
            rc = SOMNA_E_NOMEM;
    }
    size_t n_obs = 0;
    /* participants renumbered to those with follow-up data and an arm */
    size_t *gid = rc ? NULL : calloc(np + 1, sizeof *gid);
    size_t n_groups = 0;
    if (!rc && !gid)
        rc = SOMNA_E_NOMEM;
    for (size_t i = 0; !rc && i < np; i++)
        gid[i] = (cnt[i] && arm[i] >= 0) ? n_groups++ : (size_t)-1;
    for (size_t i = 0; !rc && i < x->n; i++) {
        const obs *b = &x->o[i];
        if (is_baseline(b) || arm[b->part] < 0)
            continue;
        double *row = X + n_obs * p;
        row[0] = 1;
        size_t c = 1;
        for (int q = 0; q < (int)k; q++)
            if (q != ref)
                row[c++] = arm[b->part] == q;
        int oi = occ_index(occ, &n_occ, b->occasion, x->n);
        for (size_t q = 1; q < n_occ; q++)
            row[c++] = (size_t)oi == q;
        y[n_obs] = b->value;
        g[n_obs] = gid[b->part];
        n_obs++;
    }
    for (size_t c = 0; !rc && c < k; c++) {
        if ((int)c == ref)
            continue;
        somna_study_effect e;
        effect_init(&e, measure, d->conditions[c].code, d->conditions[ref].code, "welch");
        somna_strlcpy(e.effect_name, "d", sizeof e.effect_name);
        size_t nx = 0, ny = 0;
        for (size_t i = 0; i < np; i++) {
            if (!cnt[i])
                continue;
            if (arm[i] == (int)c)
                v[nx++] = sum[i] / (double)cnt[i];
            else if (arm[i] == ref)
                w[ny++] = sum[i] / (double)cnt[i];
        }
        e.n = (int)(nx + ny);
        mean_sd(v, nx, &e.mean, &e.sd);
        mean_sd(w, ny, &e.ref_mean, &e.ref_sd);
        somna_err er;
        somna_err_init(&er, NULL, NULL);
        somna_stats_result r;
        if (somna_stats_ttest_two(v, nx, w, ny, 0, 0.95, &r, &er) == SOMNA_OK)
            take_test(&e, &r);
        else
            note(&e, "Welch t", &er);
        if (somna_stats_mann_whitney(v, nx, w, ny, 0.95, &r, &er) == SOMNA_OK)
            e.p_nonparam = r.p;
        else
            note(&e, "Mann-Whitney", &er);
        somna_stats_effect ed;
        if (somna_stats_cohen_d(v, nx, w, ny, 0.95, &ed, NULL, &er) == SOMNA_OK)
            take_effect_size(&e, &ed);
        else
            note(&e, "Cohen's d", &er);
        if (isfinite(e.mean) && isfinite(e.ref_mean) && e.ref_mean != 0)
            e.pct_change = 100.0 * (e.mean / e.ref_mean - 1.0);
        if (n_groups >= 2)
            fit_lmm(X, y, g, n_obs, p, n_groups, level_col(c, ref), &e);
        rc = push_effect(a, &e);
    }
    /* Dose-response between arms (session lengths 30/60/90/120 min as in
     * seed 002): with >= 3 arms of distinct known minutes, the slope of
     * y ~ minutes + occasion + (1 | participant) on the follow-up values. */
    int n_dose = 0;
    for (size_t c = 0; c < k; c++) {
        int distinct = isfinite(d->conditions[c].minutes);
        for (size_t c2 = 0; distinct && c2 < c; c2++)
            distinct = d->conditions[c2].minutes != d->conditions[c].minutes;
        n_dose += distinct;
    }
    if (!rc && n_dose >= 3 && n_groups >= 3) {
        size_t pd = 1 + 1 + (n_occ > 1 ? n_occ - 1 : 0), nd = 0, ng = 0;
        double *Xd = calloc((n_follow + 1) * pd, sizeof *Xd), *yd = calloc(n_follow + 1, sizeof *yd);
        size_t *gd = calloc(n_follow + 1, sizeof *gd), *gmap = calloc(np + 1, sizeof *gmap);
        if (!Xd || !yd || !gd || !gmap)
            rc = SOMNA_E_NOMEM;
        /* groups: participants with a follow-up value in an arm of known minutes */
        for (size_t i = 0; !rc && i < np; i++)
            gmap[i] = (cnt[i] && arm[i] >= 0 && isfinite(d->conditions[arm[i]].minutes)) ? ng++ : (size_t)-1;
        for (size_t i = 0; !rc && i < x->n; i++) {
            const obs *b = &x->o[i];
            if (is_baseline(b) || arm[b->part] < 0 || !isfinite(d->conditions[arm[b->part]].minutes))
                continue;
            double *row = Xd + nd * pd;
            row[0] = 1;
            row[1] = d->conditions[arm[b->part]].minutes;
            int oi = occ_index(occ, &n_occ, b->occasion, x->n);
            for (size_t q = 1; q < n_occ; q++)
                row[1 + q] = (size_t)oi == q;
            yd[nd] = b->value;
            gd[nd] = gmap[b->part];
            nd++;
        }
        if (!rc) {
            somna_study_effect e;
            effect_init(&e, measure, "minutes", "slope", "lmm-slope");
            e.n = (int)ng;
            fit_lmm(Xd, yd, gd, nd, pd, ng, 1, &e);
            e.diff = e.lmm_estimate;
            e.p = e.p_lmm;
            rc = push_effect(a, &e);
        }
        free(Xd);
        free(yd);
        free(gd);
        free(gmap);
    }
    /* pre-post: follow-up vs baseline within each arm */
    if (!rc && d->design == SOMNA_STUDY_PREPOST) {
        for (size_t c = 0; !rc && c < k; c++) {
            size_t n = 0;
            for (size_t i = 0; i < np; i++)
                if (arm[i] == (int)c && cnt[i] && bcnt[i]) {
                    v[n] = sum[i] / (double)cnt[i];
                    w[n] = base[i] / (double)bcnt[i];
                    n++;
                }
            if (n == 0)
                continue;
            somna_study_effect e;
            effect_init(&e, measure, d->conditions[c].code, "baseline", "paired-t");
            somna_strlcpy(e.effect_name, "dz", sizeof e.effect_name);
            paired_tests(&e, v, w, n, 0);
            rc = push_effect(a, &e);
            /* PSQI: poor (global > 5, Buysse 1989) vs good sleepers before and
             * after, McNemar's test (exact binomial p) of the change */
            if (!rc && somna_strieq(measure, "PSQI")) {
                long tab[4] = {0, 0, 0, 0}; /* rows before, cols after: 0 poor, 1 good */
                for (size_t i = 0; i < n; i++)
                    tab[(w[i] > 5 ? 0 : 2) + (v[i] > 5 ? 0 : 1)]++;
                somna_study_effect m2;
                effect_init(&m2, measure, d->conditions[c].code, "baseline", "mcnemar");
                somna_strlcpy(m2.effect_name, "% good", sizeof m2.effect_name);
                m2.n = (int)n;
                m2.mean = 100.0 * (double)(tab[1] + tab[3]) / (double)n;
                m2.ref_mean = 100.0 * (double)(tab[2] + tab[3]) / (double)n;
                m2.diff = m2.mean - m2.ref_mean;
                double p_exact = NAN;
                somna_err er;
                somna_err_init(&er, NULL, NULL);
                somna_stats_result r;
                if (somna_stats_mcnemar(tab, 2, 1, &r, &p_exact, &er) == SOMNA_OK) {
                    m2.statistic = r.statistic;
                    m2.df = r.df;
                    m2.p = p_exact;
                    m2.p_nonparam = r.p;
                } else {
                    note(&m2, "McNemar", &er);
                }
                rc = push_effect(a, &m2);
            }
        }
    }
    free(sum);
    free(base);
    free(cnt);
    free(bcnt);
    free(arm);
    free(v);
    free(w);
    free(occ);
    free(X);
    free(y);
    free(g);
    free(gid);
    return rc;
}

/* ---- N-of-1 -------------------------------------------------------------------------------------------- */

static int analyze_nof1(const somna_study_desc *d, const char *measure, const data *x, somna_study_analysis *a)
{
    int ref = ref_index(d);
    double *y = malloc((x->n + 1) * sizeof *y);
    int *ses = malloc((x->n + 1) * sizeof *ses);
    int rc = (!y || !ses) ? SOMNA_E_NOMEM : SOMNA_OK;
    size_t n = 0;
    for (size_t i = 0; !rc && i < x->n; i++) {
        y[n] = x->o[i].value;
        ses[n] = x->o[i].cond >= 0 && x->o[i].cond != ref;
        n++;
    }
    somna_study_effect e;
    effect_init(&e, measure, "session nights", "other nights", "randomization");
    if (!rc) {
        somna_stats_nof1_opts o;
        somna_stats_nof1_defaults(&o);
        o.seed = d->seed;
        o.n_boot = 2000;
        somna_stats_nof1_result r;
        somna_err er;
        somna_err_init(&er, NULL, NULL);
        if (somna_stats_nof1(y, ses, n, &o, &r, &er) == SOMNA_OK) {
            e.n = (int)r.n_nights;
            e.mean = r.mean_on;
            e.ref_mean = r.mean_off;
            e.diff = r.diff;
            e.p = r.p;
            e.pct_change = r.pct_change;
            e.effect = r.pct_change;
            e.effect_ci_low = r.pct_ci_low;
            e.effect_ci_high = r.pct_ci_high;
            somna_strlcpy(e.effect_name, "% change", sizeof e.effect_name);
        } else {
            note(&e, "randomization test", &er);
        }
        rc = push_effect(a, &e);
    }
    free(y);
    free(ses);
    return rc;
}

/* ---- entry ----------------------------------------------------------------------------------------------- */

static int flow_counts(somna_db *db, int64_t study_id, somna_study_analysis *a, somna_err *err)
{
    somna_dbv p = somna_dbv_int(study_id);
    int64_t v;
    int rc = somna_db_query_int(db, "SELECT count(*) FROM participant WHERE study_id = ?", &p, 1, &v, err);
    a->n_screened = (long)v;
    if (!rc)
        rc = somna_db_query_int(db,
                                "SELECT count(*) FROM participant pa JOIN screening s ON s.participant_id = pa.id "
                                "WHERE pa.study_id = ? AND s.eligible = 1",
                                &p, 1, &v, err);
    a->n_eligible = (long)v;
    if (!rc)
        rc = somna_db_query_int(db, "SELECT count(*) FROM participant WHERE study_id = ? AND randomized_at IS NOT NULL",
                                &p, 1, &v, err);
    a->n_randomized = (long)v;
    if (!rc)
        rc = somna_db_query_int(db, "SELECT count(DISTINCT participant) FROM outcome WHERE study_id = ? AND value IS "
                                    "NOT NULL",
                                &p, 1, &v, err);
    a->n_analysed = (long)v;
    return rc;
}

void somna_study_analysis_free(somna_study_analysis *a)
{
    if (!a)
        return;
    free(a->visits);
    free(a->effects);
    free(a->cells);
    memset(a, 0, sizeof *a);
}

/* The caller's comma list of measures in place of the description's
 * (`somna study analyze --outcome`), in its order. */
static int override_outcomes(somna_study_desc *d, const char *list, somna_err *err)
{
    d->n_outcomes = 0;
    const char *p = list;
    for (;;) {
        const char *e = strchr(p, ','), *end = e ? e : p + strlen(p);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        size_t len = (size_t)(end - p);
        if (len == 0)
            return somna_fail(err, SOMNA_E_ARG, "--outcome '%s': an empty measure name", list);
        if (len >= sizeof d->outcomes[0])
            return somna_fail(err, SOMNA_E_ARG, "--outcome: measure name '%.*s' is longer than %zu characters",
                              (int)len, p, sizeof d->outcomes[0] - 1);
        if (d->n_outcomes == SOMNA_STUDY_MAX_OUTCOMES)
            return somna_fail(err, SOMNA_E_ARG, "--outcome: more than %d measures", SOMNA_STUDY_MAX_OUTCOMES);
        memcpy(d->outcomes[d->n_outcomes], p, len);
        d->outcomes[d->n_outcomes++][len] = '\0';
        if (!e)
            return SOMNA_OK;
        p = e + 1;
    }
}

int somna_study_analyze(somna_db *db, int64_t study_id, const somna_study_analyze_opts *opts,
                        somna_study_analysis *a, somna_err *err)
{
    memset(a, 0, sizeof *a);
    somna_study_desc d;
    int rc = somna_study_load(db, study_id, &d, err);
    if (rc)
        return rc;
    a->design = d.design;
    if (opts && opts->participant && *opts->participant)
        a->design = SOMNA_STUDY_NOF1;
    somna_strlcpy(a->study, d.name, sizeof a->study);
    if (opts && opts->subset)
        somna_strlcpy(a->subset, opts->subset, sizeof a->subset);
    if (opts && opts->participant)
        somna_strlcpy(a->participant, opts->participant, sizeof a->participant);
    if (opts && opts->outcomes && (rc = override_outcomes(&d, opts->outcomes, err)))
        return rc;
    if ((rc = flow_counts(db, study_id, a, err)))
        return rc;
    /* measures: the description's outcomes, else every measure in the data */
    somna_db_result mr = {0};
    size_t n_meas = (size_t)d.n_outcomes;
    if (n_meas == 0) {
        somna_dbv p = somna_dbv_int(study_id);
        if ((rc = somna_db_query(db, "SELECT DISTINCT measure FROM outcome WHERE study_id = ? ORDER BY measure", &p, 1,
                                 &mr, err)))
            return rc;
        n_meas = mr.n_rows;
    }
    for (size_t mi = 0; !rc && mi < n_meas; mi++) {
        const char *measure = d.n_outcomes ? d.outcomes[mi] : somna_db_get_text(&mr, mi, 0);
        if (!measure)
            continue;
        data x;
        if ((rc = load_measure(db, study_id, &d, measure, opts, &x, err)))
            break;
        if (x.n == 0) {
            somna_warn(err, "measure %s: no values in the database (not analysed)", measure);
            data_free(&x);
            continue;
        }
        switch (a->design) {
        case SOMNA_STUDY_CROSSOVER:
        case SOMNA_STUDY_DOSE:
            rc = analyze_crossover(&d, measure, &x, a);
            break;
        case SOMNA_STUDY_NOF1:
            rc = analyze_nof1(&d, measure, &x, a);
            break;
        default:
            rc = analyze_parallel(&d, measure, &x, a);
            if (!rc)
                rc = occasion_table(&d, measure, &x, a);
        }
        data_free(&x);
        if (rc)
            rc = somna_fail(err, rc, "analysis of %s: out of memory", measure);
    }
    somna_db_result_free(&mr);
    if (!rc && a->n_effects) {
        double *p = malloc(a->n_effects * sizeof *p);
        if (!p)
            rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        for (size_t i = 0; !rc && i < a->n_effects; i++)
            p[i] = a->effects[i].p;
        if (!rc) {
            somna_err er;
            somna_err_init(&er, NULL, NULL);
            if (somna_stats_p_adjust(p, a->n_effects, SOMNA_STATS_PADJ_HOLM, p, &er) == SOMNA_OK)
                for (size_t i = 0; i < a->n_effects; i++)
                    a->effects[i].p_adj = p[i];
        }
        free(p);
    }
    if (rc)
        somna_study_analysis_free(a);
    return rc;
}
