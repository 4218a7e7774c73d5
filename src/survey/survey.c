/* survey — instrument registry, column-name matching and answer parsing.
 *
 * Every instrument reads its answers through the helpers here so that one
 * set of rules decides what "missing", "out of range" and "a clock time"
 * mean, and every problem message has the same shape: the field, the text
 * found, and what was expected.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "somna/parse.h"
#include "survey/survey_internal.h"

/* ---- problems ------------------------------------------------------------ */

void sv_problem(sv_rec *r, const char *field, int fatal, const char *fmt, ...)
{
    somna_survey_result *res = r->res;
    if (res->n_problems >= SOMNA_SURVEY_MAX_PROBLEMS) {
        res->n_problems_dropped++;
        return;
    }
    somna_survey_problem *p = &res->problem[res->n_problems++];
    somna_strlcpy(p->field, field ? field : "", sizeof p->field);
    p->fatal = fatal;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof p->msg, fmt, ap);
    va_end(ap);
}

/* ---- answers ------------------------------------------------------------- */

static int is_missing_marker(const char *s)
{
    return s[0] == '\0' || somna_strieq(s, "NA") || somna_strieq(s, "NaN") || strcmp(s, ".") == 0 ||
           somna_strieq(s, "null") || strcmp(s, "-") == 0 || somna_strieq(s, "N/A");
}

int sv_text(sv_rec *r, const char *field, char *buf, size_t size)
{
    const char *s = r->get(r->ctx, field);
    if (!s)
        return SV_MISSING;
    somna_strlcpy(buf, s, size);
    somna_trim(buf);
    return is_missing_marker(buf) ? SV_MISSING : SV_OK;
}

int sv_item(sv_rec *r, const char *field, int lo, int hi, int *out)
{
    char buf[128];
    if (sv_text(r, field, buf, sizeof buf) == SV_MISSING)
        return SV_MISSING;
    double v;
    if (somna_parse_double_str(buf, &v) != 0) {
        sv_problem(r, field, 1, "'%s' is not a number (expected a whole number %d-%d)", buf, lo, hi);
        return SV_BAD;
    }
    if (v != floor(v)) {
        sv_problem(r, field, 1, "'%s' is not a whole number (expected %d-%d)", buf, lo, hi);
        return SV_BAD;
    }
    if (v < lo || v > hi) {
        sv_problem(r, field, 1, "%s is out of range %d-%d", buf, lo, hi);
        return SV_BAD;
    }
    *out = (int)v;
    return SV_OK;
}

int sv_real(sv_rec *r, const char *field, double lo, double hi, double *out)
{
    char buf[128];
    if (sv_text(r, field, buf, sizeof buf) == SV_MISSING)
        return SV_MISSING;
    double v;
    if (somna_parse_double_str(buf, &v) != 0) {
        sv_problem(r, field, 1, "'%s' is not a number (expected %g-%g)", buf, lo, hi);
        return SV_BAD;
    }
    if (v < lo || v > hi) {
        sv_problem(r, field, 1, "%s is out of range %g-%g", buf, lo, hi);
        return SV_BAD;
    }
    *out = v;
    return SV_OK;
}

int sv_parse_clock(const char *s, double *seconds)
{
    char buf[64];
    if (somna_strlcpy(buf, s, sizeof buf) >= sizeof buf)
        return -1;
    somna_trim(buf);
    if (somna_strieq(buf, "midnight")) {
        *seconds = 0;
        return 0;
    }
    if (somna_strieq(buf, "noon")) {
        *seconds = 12 * 3600;
        return 0;
    }
    /* "11pm" / "11 pm" / "11 p.m.": an hour without minutes.  Normalise the
     * "p.m." spelling first, then add ":00" when no colon is present. */
    size_t len = strlen(buf);
    if (len >= 4 && (somna_strieq(buf + len - 4, "a.m.") || somna_strieq(buf + len - 4, "p.m."))) {
        buf[len - 3] = 'm';
        buf[len - 2] = '\0'; /* "p.m." -> "pm" */
        len -= 2;
    }
    if (len >= 3 && !strchr(buf, ':') &&
        (somna_strieq(buf + len - 2, "am") || somna_strieq(buf + len - 2, "pm"))) {
        char hour[16];
        size_t hl = len - 2;
        if (hl >= sizeof hour)
            return -1;
        memcpy(hour, buf, hl);
        hour[hl] = '\0';
        somna_trim(hour);
        char fixed[64];
        snprintf(fixed, sizeof fixed, "%s:00 %s", hour, buf + len - 2);
        return somna_parse_clock(fixed, seconds);
    }
    return somna_parse_clock(buf, seconds);
}

int sv_clock(sv_rec *r, const char *field, double *seconds)
{
    char buf[128];
    if (sv_text(r, field, buf, sizeof buf) == SV_MISSING)
        return SV_MISSING;
    if (sv_parse_clock(buf, seconds) != 0) {
        sv_problem(r, field, 1, "'%s' is not a clock time (expected 23:30, 23:30:00 or 11:30 pm)", buf);
        return SV_BAD;
    }
    return SV_OK;
}

/* Unit suffix -> factor to minutes (0 = unknown). */
static double unit_minutes(const char *u)
{
    static const char *const mins[] = {"m", "min", "mins", "minute", "minutes"};
    static const char *const hours[] = {"h", "hr", "hrs", "hour", "hours"};
    for (size_t i = 0; i < sizeof mins / sizeof mins[0]; i++)
        if (somna_strieq(u, mins[i]))
            return 1.0;
    for (size_t i = 0; i < sizeof hours / sizeof hours[0]; i++)
        if (somna_strieq(u, hours[i]))
            return 60.0;
    return 0.0;
}

int sv_duration(sv_rec *r, const char *field, const char *unit, double lo, double hi, double *out)
{
    char buf[128];
    if (sv_text(r, field, buf, sizeof buf) == SV_MISSING)
        return SV_MISSING;
    double per_unit = unit_minutes(unit); /* minutes in one output unit */
    double minutes = NAN;
    char *colon = strchr(buf, ':');
    if (colon) {
        /* H:MM as a duration (not a clock): hours may exceed 23. */
        *colon = '\0';
        int64_t h, m;
        const char *mm = colon + 1;
        if (somna_parse_int64_str(buf, &h) == 0 && strlen(mm) == 2 && somna_parse_int64_str(mm, &m) == 0 && h >= 0 &&
            m >= 0 && m < 60)
            minutes = (double)(h * 60 + m);
        *colon = ':';
    } else {
        size_t n = strlen(buf);
        size_t k = n;
        while (k > 0 && isalpha((unsigned char)buf[k - 1]))
            k--;
        double factor = per_unit;
        if (k < n) {
            factor = unit_minutes(buf + k);
            if (factor == 0)
                factor = NAN;
        }
        double v;
        if (isfinite(factor) && somna_parse_double(buf, k, &v) == 0)
            minutes = v * factor;
    }
    if (!isfinite(minutes)) {
        sv_problem(r, field, 1, "'%s' is not a duration (expected a number of %s, or H:MM)", buf,
                   per_unit == 1.0 ? "minutes" : "hours");
        return SV_BAD;
    }
    double v = minutes / per_unit;
    if (v < lo || v > hi) {
        sv_problem(r, field, 1, "%s is out of range %g-%g %s", buf, lo, hi, per_unit == 1.0 ? "min" : "h");
        return SV_BAD;
    }
    *out = v;
    return SV_OK;
}

/* ---- registry ------------------------------------------------------------ */

static const char *const kind_names[SOMNA_SURVEY_N_KINDS] = {"psqi", "rcsq", "isi", "ess", "kss", "scale", "diary"};
static const char *const kind_titles[SOMNA_SURVEY_N_KINDS] = {
    "Pittsburgh Sleep Quality Index (Buysse et al. 1989)",
    "Richards-Campbell Sleep Questionnaire (Richards et al. 2000)",
    "Insomnia Severity Index (Bastien, Vallieres & Morin 2001)",
    "Epworth Sleepiness Scale (Johns 1991)",
    "Karolinska Sleepiness Scale (Akerstedt & Gillberg 1990)",
    "configurable rating scale (e.g. relaxation state)",
    "Consensus Sleep Diary, core items (Carney et al. 2012)"};

int somna_survey_kind_from_name(const char *name, somna_survey_kind *kind, somna_err *err)
{
    static const struct {
        const char *name;
        somna_survey_kind kind;
    } aliases[] = {{"epworth", SOMNA_SURVEY_ESS},  {"karolinska", SOMNA_SURVEY_KSS},
                   {"relaxation", SOMNA_SURVEY_SCALE}, {"csd", SOMNA_SURVEY_DIARY},
                   {"richards-campbell", SOMNA_SURVEY_RCSQ}};
    if (!name || !kind)
        return somna_fail(err, SOMNA_E_ARG, "somna_survey_kind_from_name: NULL argument");
    for (int k = 0; k < SOMNA_SURVEY_N_KINDS; k++)
        if (somna_strieq(name, kind_names[k])) {
            *kind = (somna_survey_kind)k;
            return SOMNA_OK;
        }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (somna_strieq(name, aliases[i].name)) {
            *kind = aliases[i].kind;
            return SOMNA_OK;
        }
    return somna_fail(err, SOMNA_E_NOTFOUND,
                      "unknown instrument '%s' (known: psqi, rcsq, isi, ess, kss, scale, diary)", name);
}

const char *somna_survey_kind_name(somna_survey_kind kind)
{
    return (unsigned)kind < SOMNA_SURVEY_N_KINDS ? kind_names[kind] : "?";
}

const char *somna_survey_kind_title(somna_survey_kind kind)
{
    return (unsigned)kind < SOMNA_SURVEY_N_KINDS ? kind_titles[kind] : "?";
}

static const sv_field *field_table(somna_survey_kind kind, size_t *n)
{
    switch (kind) {
    case SOMNA_SURVEY_PSQI: *n = sv_psqi_n_fields; return sv_psqi_fields;
    case SOMNA_SURVEY_RCSQ: *n = sv_rcsq_n_fields; return sv_rcsq_fields;
    case SOMNA_SURVEY_ISI: *n = sv_isi_n_fields; return sv_isi_fields;
    case SOMNA_SURVEY_ESS: *n = sv_ess_n_fields; return sv_ess_fields;
    case SOMNA_SURVEY_KSS: *n = sv_kss_n_fields; return sv_kss_fields;
    case SOMNA_SURVEY_DIARY: *n = sv_diary_n_fields; return sv_diary_fields;
    default: *n = 0; return NULL;
    }
}

size_t somna_survey_n_fields(somna_survey_kind kind, const somna_survey_opts *opts)
{
    if (kind == SOMNA_SURVEY_SCALE)
        return (opts && opts->scale) ? opts->scale->n_items : 0;
    size_t n;
    field_table(kind, &n);
    return n;
}

const char *somna_survey_field_name(somna_survey_kind kind, const somna_survey_opts *opts, size_t i)
{
    if (kind == SOMNA_SURVEY_SCALE)
        return (opts && opts->scale && i < opts->scale->n_items) ? opts->scale->items[i] : NULL;
    size_t n;
    const sv_field *f = field_table(kind, &n);
    return i < n ? f[i].name : NULL;
}

const char *somna_survey_field_label(somna_survey_kind kind, const somna_survey_opts *opts, size_t i)
{
    if (kind == SOMNA_SURVEY_SCALE)
        return (opts && opts->scale && i < opts->scale->n_items)
                   ? (opts->scale->reverse[i] ? "item (reverse keyed)" : "item")
                   : NULL;
    size_t n;
    const sv_field *f = field_table(kind, &n);
    return i < n ? f[i].label : NULL;
}

int somna_survey_field_optional(somna_survey_kind kind, const somna_survey_opts *opts, size_t i)
{
    if (kind == SOMNA_SURVEY_SCALE)
        return 0;
    (void)opts;
    size_t n;
    const sv_field *f = field_table(kind, &n);
    return i < n ? f[i].optional : 0;
}

/* Canonical form of a column name: lower-case letters and digits only, with
 * leading zeros of each digit run removed ("PSQI_05a" -> "psqi5a"). */
static void normalize_name(const char *s, size_t len, char *out, size_t size)
{
    size_t o = 0;
    int in_digits = 0, have_digit = 0;
    for (size_t i = 0; i < len && o + 1 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isdigit(c)) {
            if (!in_digits) {
                in_digits = 1;
                have_digit = 0;
            }
            if (c == '0' && !have_digit) {
                /* keep a lone zero ("0") but drop zeros that lead other digits */
                size_t j = i + 1;
                if (j < len && isdigit((unsigned char)s[j]))
                    continue;
            }
            have_digit = 1;
            out[o++] = (char)c;
        } else if (isalpha(c)) {
            in_digits = 0;
            out[o++] = (char)tolower(c);
        } else {
            in_digits = 0; /* separators end a number but are dropped */
        }
    }
    out[o] = '\0';
}

static int names_match(const char *a, const char *b, size_t blen)
{
    char na[128], nb[128];
    normalize_name(a, strlen(a), na, sizeof na);
    normalize_name(b, blen, nb, sizeof nb);
    return na[0] != '\0' && strcmp(na, nb) == 0;
}

int somna_survey_field_matches(somna_survey_kind kind, const somna_survey_opts *opts, size_t i,
                               const char *column)
{
    if (!column)
        return 0;
    const char *name = somna_survey_field_name(kind, opts, i);
    if (!name)
        return 0;
    if (names_match(column, name, strlen(name)))
        return 1;
    if (kind == SOMNA_SURVEY_SCALE)
        return 0;
    size_t n;
    const sv_field *f = field_table(kind, &n);
    const char *a = f[i].aliases;
    while (a && *a) {
        const char *bar = strchr(a, '|');
        size_t len = bar ? (size_t)(bar - a) : strlen(a);
        if (len && names_match(column, a, len))
            return 1;
        a = bar ? bar + 1 : NULL;
    }
    return 0;
}

/* ---- outputs --------------------------------------------------------------- */

static const char *const psqi_outputs[] = {"psqi_c1_quality",    "psqi_c2_latency",    "psqi_c3_duration",
                                           "psqi_c4_efficiency", "psqi_c5_disturbance", "psqi_c6_medication",
                                           "psqi_c7_daytime",    "psqi_global",        "psqi_poor_sleeper",
                                           "psqi_tib_h",         "psqi_se_pct"};
static const char *const rcsq_outputs[] = {"rcsq_mean", "rcsq_noise"};
static const char *const isi_outputs[] = {"isi_total"};
static const char *const ess_outputs[] = {"ess_total"};
static const char *const kss_outputs[] = {"kss"};
static const char *const scale_outputs[] = {"score", "n_answered"};
static const char *const diary_outputs[] = {"tib_min",  "tst_min", "se_pct",   "waso_min",
                                            "sol_min",  "nwak",    "twak_min", "quality"};

static const char *const *outputs(somna_survey_kind kind, size_t *n)
{
#define SV_OUT(arr)                                                                                                \
    do {                                                                                                           \
        *n = sizeof arr / sizeof arr[0];                                                                           \
        return arr;                                                                                                \
    } while (0)
    switch (kind) {
    case SOMNA_SURVEY_PSQI: SV_OUT(psqi_outputs);
    case SOMNA_SURVEY_RCSQ: SV_OUT(rcsq_outputs);
    case SOMNA_SURVEY_ISI: SV_OUT(isi_outputs);
    case SOMNA_SURVEY_ESS: SV_OUT(ess_outputs);
    case SOMNA_SURVEY_KSS: SV_OUT(kss_outputs);
    case SOMNA_SURVEY_SCALE: SV_OUT(scale_outputs);
    case SOMNA_SURVEY_DIARY: SV_OUT(diary_outputs);
    default: *n = 0; return NULL;
    }
#undef SV_OUT
}

size_t somna_survey_n_outputs(somna_survey_kind kind)
{
    size_t n;
    outputs(kind, &n);
    return n;
}

const char *somna_survey_output_name(somna_survey_kind kind, size_t i)
{
    size_t n;
    const char *const *o = outputs(kind, &n);
    return i < n ? o[i] : NULL;
}

size_t somna_survey_main_output(somna_survey_kind kind)
{
    switch (kind) {
    case SOMNA_SURVEY_PSQI: return SOMNA_PSQI_GLOBAL;
    case SOMNA_SURVEY_DIARY: return SOMNA_DIARY_SE;
    default: return 0;
    }
}

/* ---- scoring --------------------------------------------------------------- */

int somna_survey_score(somna_survey_kind kind, const somna_survey_opts *opts, somna_survey_get_fn get, void *ctx,
                       somna_survey_result *res, somna_err *err)
{
    if (!get || !res || (unsigned)kind >= SOMNA_SURVEY_N_KINDS)
        return somna_fail(err, SOMNA_E_ARG, "somna_survey_score: invalid argument");
    if (kind == SOMNA_SURVEY_SCALE) {
        if (!opts || !opts->scale)
            return somna_fail(err, SOMNA_E_ARG, "somna_survey_score: the scale kind needs opts->scale");
        int rc = somna_survey_scale_check(opts->scale, err);
        if (rc)
            return rc;
    }
    memset(res, 0, sizeof *res);
    for (size_t i = 0; i < SOMNA_SURVEY_MAX_OUTPUTS; i++)
        res->value[i] = NAN;
    sv_rec r = {get, ctx, res};
    switch (kind) {
    case SOMNA_SURVEY_PSQI: sv_score_psqi(&r, opts); break;
    case SOMNA_SURVEY_RCSQ: sv_score_rcsq(&r); break;
    case SOMNA_SURVEY_ISI: sv_score_isi(&r); break;
    case SOMNA_SURVEY_ESS: sv_score_ess(&r); break;
    case SOMNA_SURVEY_KSS: sv_score_kss(&r); break;
    case SOMNA_SURVEY_SCALE: sv_score_scale(&r, opts->scale); break;
    case SOMNA_SURVEY_DIARY: sv_score_diary(&r); break;
    default: break;
    }
    res->scored = isfinite(res->value[somna_survey_main_output(kind)]);
    return SOMNA_OK;
}
