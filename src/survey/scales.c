/* Summed and averaged rating scales: RCSQ, ISI, Epworth, Karolinska and a
 * configurable scale for relaxation-state (or any Likert) questionnaires.
 *
 * Sources (one per instrument):
 *  RCSQ: Richards KC, O'Sullivan PS, Phillips RL. Measurement of sleep in
 *        critically ill patients. J Nurs Meas 2000;8:131-44 (5 VAS items
 *        0-100 mm, total = mean; the noise item is not part of the total).
 *  ISI:  Bastien CH, Vallieres A, Morin CM. Sleep Med 2001;2:297-307
 *        (7 items 0-4, total 0-28; 0-7 / 8-14 / 15-21 / 22-28).
 *  ESS:  Johns MW. Sleep 1991;14:540-5 (8 items 0-3, total 0-24); bands from
 *        Johns' published interpretation: 0-5 lower normal, 6-10 higher
 *        normal, 11-12 mild, 13-15 moderate, 16-24 severe excessive sleepiness.
 *  KSS:  Akerstedt T, Gillberg M. Int J Neurosci 1990;52:29-37 (1-9).
 *
 * A total is the sum of all items; an unanswered item makes it not
 * computable (no instrument above publishes a proration rule).  The
 * configurable scale states its own tolerance (max_missing, person-mean).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "somna/parse.h"
#include "survey/survey_internal.h"

const sv_field sv_rcsq_fields[] = {
    {"rcsq_1", "rcsq_depth|rcsq_sleep_depth", "1 sleep depth (0 light - 100 deep)", 0},
    {"rcsq_2", "rcsq_latency|rcsq_falling_asleep", "2 falling asleep (0 never - 100 right away)", 0},
    {"rcsq_3", "rcsq_awakenings|rcsq_awake", "3 awakenings (0 awake all night - 100 seldom awake)", 0},
    {"rcsq_4", "rcsq_return|rcsq_returning|rcsq_back_to_sleep", "4 returning to sleep (0 could not - 100 right away)",
     0},
    {"rcsq_5", "rcsq_quality|rcsq_sleep_quality", "5 sleep quality (0 bad night - 100 good night)", 0},
    {"rcsq_6", "rcsq_noise", "6 noise (0 very noisy - 100 very quiet), not in the total", 1},
};
const size_t sv_rcsq_n_fields = sizeof sv_rcsq_fields / sizeof sv_rcsq_fields[0];

const sv_field sv_isi_fields[] = {
    {"isi_1", "", "1a difficulty falling asleep (0-4)", 0},
    {"isi_2", "", "1b difficulty staying asleep (0-4)", 0},
    {"isi_3", "", "1c problems waking up too early (0-4)", 0},
    {"isi_4", "", "2 satisfaction with current sleep pattern (0 very satisfied - 4 very dissatisfied)", 0},
    {"isi_5", "", "3 interference with daily functioning (0-4)", 0},
    {"isi_6", "", "4 noticeable to others (0-4)", 0},
    {"isi_7", "", "5 worried/distressed about the sleep problem (0-4)", 0},
    {"isi_total", "isi|isi_score|isi_sum", "recorded total 0-28 (used when the items are absent)", 1},
};
const size_t sv_isi_n_fields = sizeof sv_isi_fields / sizeof sv_isi_fields[0];

const sv_field sv_ess_fields[] = {
    {"ess_1", "epworth_1", "sitting and reading (0-3)", 0},
    {"ess_2", "epworth_2", "watching TV (0-3)", 0},
    {"ess_3", "epworth_3", "sitting inactive in a public place (0-3)", 0},
    {"ess_4", "epworth_4", "passenger in a car for an hour without a break (0-3)", 0},
    {"ess_5", "epworth_5", "lying down to rest in the afternoon (0-3)", 0},
    {"ess_6", "epworth_6", "sitting and talking to someone (0-3)", 0},
    {"ess_7", "epworth_7", "sitting quietly after a lunch without alcohol (0-3)", 0},
    {"ess_8", "epworth_8", "in a car, while stopped for a few minutes in traffic (0-3)", 0},
    {"ess_total", "ess|ess_score|epworth|epworth_total", "recorded total 0-24 (used when the items are absent)", 1},
};
const size_t sv_ess_n_fields = sizeof sv_ess_fields / sizeof sv_ess_fields[0];

const sv_field sv_kss_fields[] = {
    {"kss", "kss_1|kss_score|karolinska", "sleepiness 1 extremely alert - 9 extremely sleepy, fighting sleep", 0},
};
const size_t sv_kss_n_fields = sizeof sv_kss_fields / sizeof sv_kss_fields[0];

/* ---- bands ----------------------------------------------------------------- */

static int whole_in(double v, double lo, double hi)
{
    return isfinite(v) && v == floor(v) && v >= lo && v <= hi;
}

const char *somna_survey_isi_band(double t)
{
    if (!whole_in(t, 0, 28))
        return NULL;
    return t <= 7 ? "none" : t <= 14 ? "subthreshold" : t <= 21 ? "moderate" : "severe";
}

const char *somna_survey_ess_band(double t)
{
    if (!whole_in(t, 0, 24))
        return NULL;
    return t <= 5 ? "lower_normal" : t <= 10 ? "higher_normal" : t <= 12 ? "mild" : t <= 15 ? "moderate" : "severe";
}

const char *somna_survey_kss_band(double s)
{
    if (!whole_in(s, 1, 9))
        return NULL;
    return s <= 3 ? "alert" : s <= 6 ? "neither" : "sleepy";
}

/* ---- item sums ------------------------------------------------------------- */

/* Sum items[0..n) of range lo..hi.  With every item unanswered and a
 * recorded total present, the total is validated and used instead. */
static void score_sum(sv_rec *r, const char *const *items, size_t n, int lo, int hi, const char *total_field,
                      const char *(*band)(double))
{
    int sum = 0, answered = 0, missing = 0;
    for (size_t i = 0; i < n; i++) {
        int v;
        int st = sv_item(r, items[i], lo, hi, &v);
        if (st == SV_OK) {
            sum += v;
            answered++;
        } else if (st == SV_MISSING) {
            missing++;
        }
    }
    int max_total = hi * (int)n;
    double recorded = NAN;
    if (total_field) {
        int t;
        if (sv_item(r, total_field, 0, max_total, &t) == SV_OK)
            recorded = t;
    }
    double *out = r->res->value;
    if (answered == (int)n) {
        out[0] = sum;
        if (isfinite(recorded) && recorded != sum)
            sv_problem(r, total_field, 0, "recorded total %g differs from the item sum %d; the item sum is used",
                       recorded, sum);
    } else if (answered == 0 && missing == (int)n && isfinite(recorded)) {
        out[0] = recorded; /* items not in the record: the study kept only totals */
    } else if (missing > 0) {
        for (size_t i = 0; i < n; i++) {
            char buf[8];
            if (sv_text(r, items[i], buf, sizeof buf) == SV_MISSING)
                sv_problem(r, items[i], 1, "not answered: total not computable (all %zu items required)", n);
        }
    }
    if (isfinite(out[0]))
        r->res->band = band(out[0]);
}

static const char *const isi_items[] = {"isi_1", "isi_2", "isi_3", "isi_4", "isi_5", "isi_6", "isi_7"};
static const char *const ess_items[] = {"ess_1", "ess_2", "ess_3", "ess_4", "ess_5", "ess_6", "ess_7", "ess_8"};

void sv_score_isi(sv_rec *r)
{
    score_sum(r, isi_items, 7, 0, 4, "isi_total", somna_survey_isi_band);
}

void sv_score_ess(sv_rec *r)
{
    score_sum(r, ess_items, 8, 0, 3, "ess_total", somna_survey_ess_band);
}

void sv_score_kss(sv_rec *r)
{
    int v;
    int st = sv_item(r, "kss", 1, 9, &v);
    if (st == SV_OK) {
        r->res->value[SOMNA_KSS_SCORE] = v;
        r->res->band = somna_survey_kss_band(v);
    } else if (st == SV_MISSING) {
        sv_problem(r, "kss", 1, "not answered");
    }
}

void sv_score_rcsq(sv_rec *r)
{
    static const char *const items[] = {"rcsq_1", "rcsq_2", "rcsq_3", "rcsq_4", "rcsq_5"};
    double sum = 0;
    int ok = 1;
    for (size_t i = 0; i < 5; i++) {
        double v;
        int st = sv_real(r, items[i], 0, 100, &v);
        if (st == SV_OK) {
            sum += v;
        } else {
            ok = 0;
            if (st == SV_MISSING)
                sv_problem(r, items[i], 1, "not answered: mean not computable (all 5 items required)");
        }
    }
    if (ok)
        r->res->value[SOMNA_RCSQ_MEAN] = sum / 5;
    double noise;
    if (sv_real(r, "rcsq_6", 0, 100, &noise) == SV_OK)
        r->res->value[SOMNA_RCSQ_NOISE] = noise;
}

/* ---- configurable scale ----------------------------------------------------- */

void somna_survey_scale_init(somna_survey_scale *s)
{
    memset(s, 0, sizeof *s);
    somna_strlcpy(s->name, "scale", sizeof s->name);
    s->min = 1;
    s->max = 5;
    s->integer = 1;
}

/* Split a comma/blank separated list; calls fn for each name. */
static int for_each_name(const char *list, int (*fn)(somna_survey_scale *, const char *, somna_err *),
                         somna_survey_scale *s, somna_err *err)
{
    const char *p = list;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ' && *e != '\t')
            e++;
        char name[SOMNA_SURVEY_NAME_MAX];
        size_t len = (size_t)(e - p);
        if (len >= sizeof name)
            return somna_fail(err, SOMNA_E_ARG, "item name '%.*s...' is longer than %zu characters", 20, p,
                              sizeof name - 1);
        memcpy(name, p, len);
        name[len] = '\0';
        int rc = fn(s, name, err);
        if (rc)
            return rc;
        p = e;
    }
    return SOMNA_OK;
}

static int add_item(somna_survey_scale *s, const char *name, somna_err *err)
{
    for (size_t i = 0; i < s->n_items; i++)
        if (somna_strieq(s->items[i], name))
            return somna_fail(err, SOMNA_E_ARG, "item '%s' listed twice", name);
    if (s->n_items >= SOMNA_SURVEY_SCALE_MAX_ITEMS)
        return somna_fail(err, SOMNA_E_ARG, "more than %d items", SOMNA_SURVEY_SCALE_MAX_ITEMS);
    somna_strlcpy(s->items[s->n_items], name, sizeof s->items[0]);
    s->reverse[s->n_items] = 0;
    s->n_items++;
    return SOMNA_OK;
}

static int mark_reverse(somna_survey_scale *s, const char *name, somna_err *err)
{
    for (size_t i = 0; i < s->n_items; i++)
        if (somna_strieq(s->items[i], name)) {
            s->reverse[i] = 1;
            return SOMNA_OK;
        }
    return somna_fail(err, SOMNA_E_ARG, "reverse-keyed item '%s' is not among the items", name);
}

int somna_survey_scale_set_items(somna_survey_scale *s, const char *list, somna_err *err)
{
    s->n_items = 0;
    return for_each_name(list, add_item, s, err);
}

int somna_survey_scale_set_reverse(somna_survey_scale *s, const char *list, somna_err *err)
{
    for (size_t i = 0; i < s->n_items; i++)
        s->reverse[i] = 0;
    return for_each_name(list, mark_reverse, s, err);
}

static int parse_yes_no(const char *v, int *out)
{
    if (somna_strieq(v, "yes") || somna_strieq(v, "true") || strcmp(v, "1") == 0) {
        *out = 1;
        return 0;
    }
    if (somna_strieq(v, "no") || somna_strieq(v, "false") || strcmp(v, "0") == 0) {
        *out = 0;
        return 0;
    }
    return -1;
}

int somna_survey_scale_parse(somna_survey_scale *s, const char *text, const char *source, somna_err *err)
{
    const char *src = source ? source : "scale definition";
    const char *p = text;
    size_t lineno = 0;
    char reverse[4096] = "";
    int have_reverse = 0;
    while (*p) {
        lineno++;
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char line[4096];
        if (len >= sizeof line)
            return somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: line longer than %zu characters", src, lineno,
                              sizeof line - 1);
        memcpy(line, p, len);
        line[len] = '\0';
        p = e ? e + 1 : p + len;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        somna_trim(line);
        if (!line[0])
            continue;
        char *eq = strchr(line, '=');
        if (!eq)
            return somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: expected 'key = value', got '%s'", src, lineno, line);
        *eq = '\0';
        char *key = somna_trim(line);
        char *val = somna_trim(eq + 1);
        int rc = SOMNA_OK;
        if (somna_strieq(key, "name")) {
            if (!val[0] || somna_strlcpy(s->name, val, sizeof s->name) >= sizeof s->name)
                return somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: name must be 1-%zu characters", src, lineno,
                                  sizeof s->name - 1);
        } else if (somna_strieq(key, "items")) {
            rc = somna_survey_scale_set_items(s, val, err);
        } else if (somna_strieq(key, "reverse")) {
            somna_strlcpy(reverse, val, sizeof reverse);
            have_reverse = 1;
        } else if (somna_strieq(key, "min") || somna_strieq(key, "max")) {
            double v;
            if (somna_parse_double_str(val, &v) != 0)
                return somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: %s: '%s' is not a number", src, lineno, key, val);
            if (somna_strieq(key, "min"))
                s->min = v;
            else
                s->max = v;
        } else if (somna_strieq(key, "range")) {
            char *colon = strchr(val, ':');
            if (!colon)
                colon = strchr(val + (val[0] == '-'), '-');
            double a, b;
            if (!colon || somna_parse_double(val, (size_t)(colon - val), &a) != 0 ||
                somna_parse_double_str(colon + 1, &b) != 0)
                return somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: range: '%s' is not MIN:MAX", src, lineno, val);
            s->min = a;
            s->max = b;
        } else if (somna_strieq(key, "scoring")) {
            if (somna_strieq(val, "sum"))
                s->mean = 0;
            else if (somna_strieq(val, "mean"))
                s->mean = 1;
            else
                return somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: scoring: '%s' is not sum or mean", src, lineno,
                                  val);
        } else if (somna_strieq(key, "integer")) {
            if (parse_yes_no(val, &s->integer) != 0)
                return somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: integer: '%s' is not yes or no", src, lineno, val);
        } else if (somna_strieq(key, "max_missing")) {
            int64_t m;
            if (somna_parse_int64_str(val, &m) != 0 || m < 0 || m >= SOMNA_SURVEY_SCALE_MAX_ITEMS)
                return somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: max_missing: '%s' is not a count", src, lineno,
                                  val);
            s->max_missing = (size_t)m;
        } else {
            return somna_fail(err, SOMNA_E_FORMAT,
                              "%s:%zu: unknown key '%s' (known: name, items, reverse, min, max, range, scoring, "
                              "integer, max_missing)",
                              src, lineno, key);
        }
        if (rc) {
            somna_err_prefix(err, "%s:%zu", src, lineno);
            return rc;
        }
    }
    if (have_reverse) {
        int rc = somna_survey_scale_set_reverse(s, reverse, err);
        if (rc) {
            somna_err_prefix(err, "%s", src);
            return rc;
        }
    }
    int rc = somna_survey_scale_check(s, err);
    if (rc)
        somna_err_prefix(err, "%s", src);
    return rc;
}

int somna_survey_scale_check(const somna_survey_scale *s, somna_err *err)
{
    if (s->n_items == 0)
        return somna_fail(err, SOMNA_E_ARG, "scale '%s' has no items", s->name);
    if (!(isfinite(s->min) && isfinite(s->max) && s->min < s->max))
        return somna_fail(err, SOMNA_E_ARG, "scale '%s': range %g-%g is empty", s->name, s->min, s->max);
    if (s->max_missing >= s->n_items)
        return somna_fail(err, SOMNA_E_ARG, "scale '%s': max_missing %zu must be below the %zu items", s->name,
                          s->max_missing, s->n_items);
    return SOMNA_OK;
}

void sv_score_scale(sv_rec *r, const somna_survey_scale *s)
{
    double sum = 0;
    size_t answered = 0, missing = 0, bad = 0;
    for (size_t i = 0; i < s->n_items; i++) {
        double v;
        int st;
        if (s->integer) {
            int iv;
            st = sv_item(r, s->items[i], (int)ceil(s->min), (int)floor(s->max), &iv);
            v = iv;
        } else {
            st = sv_real(r, s->items[i], s->min, s->max, &v);
        }
        if (st == SV_OK) {
            sum += s->reverse[i] ? s->min + s->max - v : v;
            answered++;
        } else if (st == SV_MISSING) {
            missing++;
            sv_problem(r, s->items[i], 0, "not answered");
        } else {
            bad++;
        }
    }
    double *out = r->res->value;
    out[SOMNA_SCALE_N_ANSWERED] = (double)answered;
    if (answered == 0 || bad > 0 || missing > s->max_missing) {
        sv_problem(r, "", 1, "score not computable: %zu of %zu items answered validly (at most %zu may be missing)",
                   answered, s->n_items, s->max_missing);
        return;
    }
    double mean = sum / (double)answered;
    /* Person-mean rule: a missing item counts as the mean of the answered ones. */
    out[SOMNA_SCALE_SCORE] = s->mean ? mean : mean * (double)s->n_items;
    if (missing && !s->mean)
        sv_problem(r, "", 0, "sum prorated from %zu of %zu items (person-mean rule)", answered, s->n_items);
}
