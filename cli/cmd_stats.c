/* somna stats — statistical tests on a long-format CSV, as R computes them.
 *
 * Thin over src/stats: this file turns columns into the plain arrays the
 * library takes (pairing rows by subject, building design matrices), counts
 * what it had to drop and why, and prints text or JSON.  Everything is
 * computed before anything is printed, so a failure leaves no partial output.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "somna/json.h"
#include "somna/parse.h"
#include "somna/stats.h"
#include "somna/table.h"

static const char *const CMD = "stats";

#define MAX_COV 16
#define MAX_DROPS 12
#define MAX_NOTES 8

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: somna stats TEST DATA.csv [options]\n"
            "\n"
            "Run one statistical test on a long-format CSV/TSV file (one row per\n"
            "participant x condition, or per night, or per study).  Results agree with\n"
            "R 4.2 (t.test, wilcox.test, aov + afex, friedman.test, lme4 + lmerTest,\n"
            "mcnemar.test, chisq.test, fisher.test, metafor); see docs/statistics.md.\n"
            "\n"
            "Tests (the columns each one needs):\n"
            "  ttest-paired   paired t-test, Cohen's dz / Hedges' gz, percent change\n"
            "                 --y --group --subject (2 conditions), or --before --after\n"
            "  wilcoxon       Wilcoxon signed-rank (exact for n < 50 without ties/zeros),\n"
            "                 Hodges-Lehmann estimate and CI; same columns as ttest-paired\n"
            "  ttest-welch    Welch two-sample t-test, Cohen's d / Hedges' g   --y --group\n"
            "  ttest-student  Student two-sample t-test (equal variances)     --y --group\n"
            "  mannwhitney    Mann-Whitney U / Wilcoxon rank-sum test          --y --group\n"
            "  rmanova        one-way repeated-measures ANOVA, Mauchly, Greenhouse-Geisser,\n"
            "                 Huynh-Feldt, generalized eta squared; pairwise paired t-tests\n"
            "                 with Holm and Benjamini-Hochberg     --y --group --subject\n"
            "  friedman       Friedman test; pairwise Wilcoxon with Holm and BH (same columns)\n"
            "  lmm            linear mixed model y ~ group + covariates + (1 | subject), REML,\n"
            "                 Satterthwaite (or Kenward-Roger) df, F tests, pairwise contrasts\n"
            "                 --y --subject [--group] [--covariate] [--factor] [--interaction]\n"
            "                 (dose-response: --covariate minutes, the slope per minute)\n"
            "  mcnemar        McNemar chi-square and exact test for paired categories\n"
            "                 --before --after (one row per participant)\n"
            "  chisq          chi-square test of independence    --group (rows) --y (columns)\n"
            "  fisher         Fisher's exact test (2 x 2: odds ratio and CI; r x c: p)\n"
            "                 --group --y\n"
            "  permutation    N-of-1 randomization test: nights after sessions vs others,\n"
            "                 rows in night order  --y --session COL (0/1, yes/no; alias\n"
            "                 --group) [--lag N]\n"
            "  meta           random-effects meta-analysis   --yi --vi [--method DL|REML]\n"
            "\n"
            );
    fprintf(out,
            "Options:\n"
            "      --y COL           outcome column (numeric; categorical for chisq/fisher)\n"
            "      --group COL       condition / group column (categorical)\n"
            "      --subject COL     participant column that pairs rows (alias --pair-by)\n"
            "      --ref LEVEL       reference level of --group (default: first in sort order;\n"
            "                        numbers sort numerically).  Differences are other - ref.\n"
            "      --covariate COL   extra fixed effect for lmm (repeatable; numeric columns\n"
            "                        enter as slopes, text columns as dummy variables)\n"
            "      --factor COL      extra fixed effect for lmm entered as a factor even when\n"
            "                        its levels are numbers (e.g. period 1/2/3; repeatable)\n"
            "      --before COL --after COL   wide paired columns (paired tests, mcnemar)\n"
            "      --yi COL --vi COL effect sizes and their sampling variances (meta)\n"
            "      --interaction A:B lmm: product of two of the terms above (repeatable), e.g.\n"
            "                        group:time for a parallel pre/post trial; with\n"
            "                        interactions only their F tests are reported\n"
            "      --ddf satterthwaite|kr  lmm: denominator df and SEs by Satterthwaite\n"
            "                        (default, lmerTest) or Kenward-Roger (pbkrtest)\n"
            "      --method DL|REML  tau^2 estimator for meta (default REML)\n"
            "      --conf LEVEL      confidence level (default 0.95)\n"
            "      --lag N           permutation: nights counted after each session,\n"
            "                        the session night included (default 1; 2 = that night\n"
            "                        and the next)\n"
            "      --perms N         permutation: random arrangements when there are more\n"
            "                        than N (default 10000; otherwise all are enumerated)\n"
            "      --boot N          permutation: bootstrap resamples for the CI of the\n"
            "                        percent change (default 2000)\n"
            "      --seed N          random seed (default 1): same seed, same numbers\n"
            "      --json            JSON instead of text\n"
            "  -h, --help            this text\n"
            "\n"
            "Missing values (empty, NA, NaN, ., null, -) are dropped and counted; the\n"
            "output says how many rows were dropped and why.  A number that cannot be\n"
            "computed is reported as NA / null with the reason, never as a value.\n"
            "\n"
            "Examples:\n"
            "  somna stats ttest-paired trial.csv --y sol --group condition --subject id\n"
            "  somna stats wilcoxon prepost.csv --before sol_pre --after sol_post --json\n"
            "  somna stats rmanova trial.csv --y sol --group condition --subject id\n"
            "  somna stats lmm trial.csv --y sol --group condition --subject id --factor period\n"
            "  somna stats permutation diary.csv --y sol --session massage --lag 2 --seed 7\n"
            "  somna stats meta studies.csv --yi g --vi var_g --method DL\n"
            "\n"
            "Exit status: 0 success, 1 usage error, 2 bad input or not computable.\n");
}

typedef struct opts {
    const char *test, *path;
    const char *y, *group, *subject, *ref, *before, *after, *yi, *vi, *method;
    const char *cov[MAX_COV];
    size_t ncov;
    const char *fac[MAX_COV]; /* covariates forced to be factors */
    size_t nfac;
    const char *inter[MAX_COV]; /* "A:B" interactions of two lmm terms */
    size_t ninter;
    int json;
    int kr; /* lmm: Kenward-Roger instead of Satterthwaite */
    double conf;
    long lag, perms, boot, seed;
} opts;

/* ---- bookkeeping of dropped rows and notes -------------------------------- */

typedef struct report {
    char reason[MAX_DROPS][200];
    size_t count[MAX_DROPS];
    size_t ndrop;
    char note[MAX_NOTES][256];
    size_t nnote;
} report;

static void drop_add(report *r, size_t count, const char *reason)
{
    if (count == 0)
        return;
    for (size_t i = 0; i < r->ndrop; i++)
        if (strcmp(r->reason[i], reason) == 0) {
            r->count[i] += count;
            return;
        }
    if (r->ndrop < MAX_DROPS) {
        somna_strlcpy(r->reason[r->ndrop], reason, sizeof r->reason[0]);
        r->count[r->ndrop++] = count;
    }
}

static void note_add(report *r, const char *text)
{
    if (r->nnote < MAX_NOTES)
        somna_strlcpy(r->note[r->nnote++], text, sizeof r->note[0]);
}

/* note "prefix: message", truncated to the note size */
static void note_add2(report *r, const char *prefix, const char *msg)
{
    if (r->nnote >= MAX_NOTES)
        return;
    char *d = r->note[r->nnote++];
    size_t n = somna_strlcpy(d, prefix, sizeof r->note[0]);
    if (n < sizeof r->note[0])
        somna_strlcpy(d + n, msg, sizeof r->note[0] - n);
}

static size_t drop_total(const report *r)
{
    size_t s = 0;
    for (size_t i = 0; i < r->ndrop; i++)
        s += r->count[i];
    return s;
}

/* ---- columns ---------------------------------------------------------------- */

typedef struct levels {
    size_t n;
    const char **name; /* n level names (point into the table) */
    long *row;         /* level index per table row, -1 = missing */
} levels;

static void levels_free(levels *L)
{
    free(L->name);
    free(L->row);
    memset(L, 0, sizeof *L);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_num_str(const void *a, const void *b)
{
    double x = 0, y = 0;
    somna_parse_double_str(*(const char *const *)a, &x);
    somna_parse_double_str(*(const char *const *)b, &y);
    return (x > y) - (x < y);
}

/* Distinct non-missing values of a column, sorted (numerically when every
 * value is a number), and the level of each row. */
static int build_levels(const somna_table *t, size_t col, levels *L, somna_err *err)
{
    memset(L, 0, sizeof *L);
    L->name = malloc((t->n_rows + 1) * sizeof *L->name);
    L->row = malloc((t->n_rows + 1) * sizeof *L->row);
    if (!L->name || !L->row) {
        levels_free(L);
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    }
    int all_num = 1;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (somna_table_is_missing(t, r, col))
            continue;
        const char *v = somna_table_cell(t, r, col);
        size_t i = 0;
        while (i < L->n && strcmp(L->name[i], v) != 0)
            i++;
        if (i == L->n) {
            double d;
            if (somna_parse_double_str(v, &d) != 0)
                all_num = 0;
            L->name[L->n++] = v;
        }
    }
    qsort(L->name, L->n, sizeof *L->name, all_num ? cmp_num_str : cmp_str);
    for (size_t r = 0; r < t->n_rows; r++) {
        L->row[r] = -1;
        if (somna_table_is_missing(t, r, col))
            continue;
        const char *v = somna_table_cell(t, r, col);
        for (size_t i = 0; i < L->n; i++)
            if (strcmp(L->name[i], v) == 0)
                L->row[r] = (long)i;
    }
    return SOMNA_OK;
}

/* Numeric column: NaN where missing, error naming file:line on junk. */
static int num_col(const somna_table *t, size_t col, double *out, somna_err *err)
{
    for (size_t r = 0; r < t->n_rows; r++) {
        if (somna_table_is_missing(t, r, col)) {
            out[r] = NAN;
            continue;
        }
        if (somna_table_get_double(t, r, col, &out[r], err))
            return SOMNA_E_FORMAT;
        if (fabs(out[r]) > 1e150)
            return somna_fail(err, SOMNA_E_DATA,
                              "%s:%zu: column %s: %g is too large (its square overflows double precision)", t->name,
                              t->line[r], t->header[col], out[r]);
    }
    return SOMNA_OK;
}

static int need_col(const somna_table *t, const char *what, const char *name, size_t *col, somna_err *err)
{
    if (!name)
        return somna_fail(err, SOMNA_E_ARG, "this test needs --%s COL", what);
    return somna_table_require_col(t, name, col, err);
}

/* Reference level and the comparison level for two-level tests. */
static int two_levels(const levels *L, const opts *o, const char *col, size_t *ref, size_t *other, somna_err *err)
{
    if (L->n != 2) {
        char list[512] = "";
        for (size_t i = 0; i < L->n && i < 8; i++) {
            if (i)
                somna_strlcpy(list + strlen(list), ", ", sizeof list - strlen(list));
            somna_strlcpy(list + strlen(list), L->name[i], sizeof list - strlen(list));
        }
        return somna_fail(err, SOMNA_E_DATA,
                          "column %s has %zu levels (%s); this test compares exactly 2 (for more conditions use "
                          "rmanova, friedman or lmm)",
                          col, L->n, list);
    }
    *ref = 0;
    if (o->ref) {
        if (strcmp(L->name[0], o->ref) == 0)
            *ref = 0;
        else if (strcmp(L->name[1], o->ref) == 0)
            *ref = 1;
        else
            return somna_fail(err, SOMNA_E_ARG, "--ref %s is not a level of %s (levels: %s, %s)", o->ref, col,
                              L->name[0], L->name[1]);
    }
    *other = 1 - *ref;
    return SOMNA_OK;
}

/* Subject x condition matrix from long data (NaN = missing cell). */
typedef struct wide {
    size_t n, k;
    double *y; /* n x k */
    levels subj, cond;
} wide;

static void wide_free(wide *w)
{
    free(w->y);
    levels_free(&w->subj);
    levels_free(&w->cond);
}

static int make_wide(const somna_table *t, const opts *o, wide *w, report *rep, somna_err *err)
{
    memset(w, 0, sizeof *w);
    size_t cy, cg, cs;
    if (need_col(t, "y", o->y, &cy, err) || need_col(t, "group", o->group, &cg, err) ||
        need_col(t, "subject", o->subject, &cs, err))
        return SOMNA_E_ARG;
    double *v = malloc((t->n_rows + 1) * sizeof *v);
    if (!v)
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    int rc = num_col(t, cy, v, err);
    if (!rc)
        rc = build_levels(t, cs, &w->subj, err);
    if (!rc)
        rc = build_levels(t, cg, &w->cond, err);
    if (rc) {
        free(v);
        wide_free(w);
        return rc;
    }
    w->n = w->subj.n;
    w->k = w->cond.n;
    w->y = malloc((w->n * w->k + 1) * sizeof *w->y);
    size_t *line = calloc(w->n * w->k + 1, sizeof *line);
    if (!w->y || !line) {
        free(v);
        free(line);
        wide_free(w);
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < w->n * w->k; i++)
        w->y[i] = NAN;
    size_t miss_y = 0, miss_key = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        long s = w->subj.row[r], c = w->cond.row[r];
        if (s < 0 || c < 0) {
            miss_key++;
            continue;
        }
        size_t idx = (size_t)s * w->k + (size_t)c;
        if (line[idx]) {
            rc = somna_fail(err, SOMNA_E_DATA, "%s:%zu: subject %s has a second row for %s %s (first at line %zu)",
                            t->name, t->line[r], w->subj.name[s], o->group, w->cond.name[c], line[idx]);
            break;
        }
        line[idx] = t->line[r];
        if (isnan(v[r])) {
            miss_y++;
            continue;
        }
        w->y[idx] = v[r];
    }
    free(v);
    free(line);
    if (rc) {
        wide_free(w);
        return rc;
    }
    /* n used / dropped count subjects; rows with gaps are reported as notes */
    char buf[256];
    if (miss_key) {
        snprintf(buf, sizeof buf, "%zu row(s) without %s or %s ignored", miss_key, o->subject, o->group);
        note_add(rep, buf);
    }
    if (miss_y) {
        snprintf(buf, sizeof buf, "%zu row(s) with a missing %s value (their cells count as missing)", miss_y, o->y);
        note_add(rep, buf);
    }
    return SOMNA_OK;
}

/* ---- output ------------------------------------------------------------------ */

typedef struct out {
    int json;
    somna_json j;
} out;

static const char *fmt(char *buf, size_t n, double v)
{
    if (isnan(v))
        return "NA";
    if (isinf(v))
        return v > 0 ? "Inf" : "-Inf";
    snprintf(buf, n, "%.6g", v);
    return buf;
}

static void json_drops(out *o, const report *rep, size_t n_used)
{
    somna_json_kv_int(&o->j, "n_used", (int64_t)n_used);
    somna_json_kv_int(&o->j, "n_dropped", (int64_t)drop_total(rep));
    somna_json_key(&o->j, "dropped");
    somna_json_array_begin(&o->j);
    for (size_t i = 0; i < rep->ndrop; i++) {
        somna_json_object_begin(&o->j);
        somna_json_kv_int(&o->j, "count", (int64_t)rep->count[i]);
        somna_json_kv_string(&o->j, "why", rep->reason[i]);
        somna_json_object_end(&o->j);
    }
    somna_json_array_end(&o->j);
    somna_json_key(&o->j, "notes");
    somna_json_array_begin(&o->j);
    for (size_t i = 0; i < rep->nnote; i++)
        somna_json_string(&o->j, rep->note[i]);
    somna_json_array_end(&o->j);
}

static void text_drops(const report *rep, const char *unit, size_t n_used)
{
    printf("  n used: %zu %s", n_used, unit);
    if (rep->ndrop) {
        printf("; dropped:");
        for (size_t i = 0; i < rep->ndrop; i++)
            printf("%s %zu (%s)", i ? "," : "", rep->count[i], rep->reason[i]);
    }
    printf("\n");
    for (size_t i = 0; i < rep->nnote; i++)
        printf("  note: %s\n", rep->note[i]);
}

static void json_effect(out *o, const somna_stats_effect *e)
{
    somna_json_object_begin(&o->j);
    somna_json_kv_string(&o->j, "name", e->name);
    somna_json_kv_number(&o->j, "value", e->value);
    somna_json_kv_number(&o->j, "ci_low", e->ci_low);
    somna_json_kv_number(&o->j, "ci_high", e->ci_high);
    somna_json_object_end(&o->j);
}

static void text_effect(const somna_stats_effect *e, double conf)
{
    char a[32], b[32], c[32];
    if (isnan(e->ci_low))
        printf("  %s = %s\n", e->name, fmt(a, sizeof a, e->value));
    else
        printf("  %s = %s  %g%% CI [%s, %s]\n", e->name, fmt(a, sizeof a, e->value), 100 * conf,
               fmt(b, sizeof b, e->ci_low), fmt(c, sizeof c, e->ci_high));
}

/* The shared fields of one test result. */
static void json_result(out *o, const somna_stats_result *r)
{
    somna_json_kv_string(&o->j, "method", r->method);
    somna_json_kv_string(&o->j, "estimate_name", r->estimate_name);
    somna_json_kv_number(&o->j, "estimate", r->estimate);
    somna_json_kv_number(&o->j, "se", r->se);
    somna_json_kv_number(&o->j, "ci_low", r->ci_low);
    somna_json_kv_number(&o->j, "ci_high", r->ci_high);
    somna_json_kv_number(&o->j, "conf_level", r->conf_level);
    somna_json_kv_string(&o->j, "statistic_name", r->statistic_name);
    somna_json_kv_number(&o->j, "statistic", r->statistic);
    somna_json_kv_number(&o->j, "df", r->df);
    somna_json_kv_number(&o->j, "p", r->p);
    somna_json_kv_bool(&o->j, "exact", r->exact);
}

static void text_result(const somna_stats_result *r)
{
    char a[32], b[32], c[32], d[32];
    printf("  method: %s\n", r->method);
    if (r->estimate_name[0]) {
        printf("  %s = %s", r->estimate_name, fmt(a, sizeof a, r->estimate));
        if (!isnan(r->se))
            printf("  (SE %s)", fmt(b, sizeof b, r->se));
        if (!isnan(r->ci_low) || !isnan(r->ci_high))
            printf("  %g%% CI [%s, %s]", 100 * r->conf_level, fmt(c, sizeof c, r->ci_low),
                   fmt(d, sizeof d, r->ci_high));
        printf("\n");
    }
    printf("  %s = %s", r->statistic_name, fmt(a, sizeof a, r->statistic));
    if (!isnan(r->df))
        printf(", df = %s", fmt(b, sizeof b, r->df));
    printf(", p = %s\n", fmt(c, sizeof c, r->p));
}

static void begin(out *o, const opts *op, const char *test_title)
{
    if (o->json) {
        somna_json_init(&o->j, stdout, 1);
        somna_json_object_begin(&o->j);
        somna_json_kv_string(&o->j, "command", "stats");
        somna_json_kv_string(&o->j, "test", op->test);
        somna_json_kv_string(&o->j, "title", test_title);
        somna_json_kv_string(&o->j, "file", op->path);
    } else {
        printf("%s (%s)\n", test_title, op->path);
    }
}

static void end(out *o)
{
    if (o->json) {
        somna_json_object_end(&o->j);
        somna_json_finish(&o->j);
    }
}

/* ---- tests -------------------------------------------------------------------- */

/* Paired data: x = other/after, y = ref/before.  Returns arrays of pairs. */
static int paired_arrays(const somna_table *t, const opts *o, double **xo, double **yo, size_t *n, char *label,
                         size_t lsize, report *rep, somna_err *err)
{
    *xo = *yo = NULL;
    *n = 0;
    if (o->before || o->after) {
        size_t cb, ca;
        if (need_col(t, "before", o->before, &cb, err) || need_col(t, "after", o->after, &ca, err))
            return SOMNA_E_ARG;
        double *x = malloc((t->n_rows + 1) * sizeof *x), *y = malloc((t->n_rows + 1) * sizeof *y);
        if (!x || !y) {
            free(x);
            free(y);
            return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        }
        if (num_col(t, ca, x, err) || num_col(t, cb, y, err)) {
            free(x);
            free(y);
            return SOMNA_E_FORMAT;
        }
        size_t m = 0, miss = 0;
        for (size_t r = 0; r < t->n_rows; r++) {
            if (isnan(x[r]) || isnan(y[r])) {
                miss++;
                continue;
            }
            x[m] = x[r];
            y[m] = y[r];
            m++;
        }
        char buf[200];
        snprintf(buf, sizeof buf, "missing %s or %s value", o->before, o->after);
        drop_add(rep, miss, buf);
        snprintf(label, lsize, "%s - %s", o->after, o->before);
        *xo = x;
        *yo = y;
        *n = m;
        return SOMNA_OK;
    }
    wide w;
    int rc = make_wide(t, o, &w, rep, err);
    if (rc)
        return rc;
    size_t ref, oth;
    if ((rc = two_levels(&w.cond, o, o->group, &ref, &oth, err))) {
        wide_free(&w);
        return rc;
    }
    double *x = malloc((w.n + 1) * sizeof *x), *y = malloc((w.n + 1) * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        wide_free(&w);
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    }
    size_t m = 0, incomplete = 0;
    for (size_t s = 0; s < w.n; s++) {
        double a = w.y[s * w.k + oth], b = w.y[s * w.k + ref];
        if (isnan(a) || isnan(b)) {
            incomplete++;
            continue;
        }
        x[m] = a;
        y[m] = b;
        m++;
    }
    char buf[200];
    snprintf(buf, sizeof buf, "subjects without a value in both %s and %s", w.cond.name[ref], w.cond.name[oth]);
    drop_add(rep, incomplete, buf);
    snprintf(label, lsize, "%s - %s", w.cond.name[oth], w.cond.name[ref]);
    wide_free(&w);
    *xo = x;
    *yo = y;
    *n = m;
    return SOMNA_OK;
}

static int run_paired(const somna_table *t, const opts *o, int wilcoxon, somna_err *err)
{
    report rep = {0};
    double *x, *y;
    size_t n;
    char label[256];
    int rc = paired_arrays(t, o, &x, &y, &n, label, sizeof label, &rep, err);
    if (rc)
        return rc;
    somna_stats_result r;
    rc = wilcoxon ? somna_stats_wilcoxon_signed(x, y, n, o->conf, &r, err)
                  : somna_stats_ttest_paired(x, y, n, o->conf, &r, err);
    if (rc) {
        free(x);
        free(y);
        return rc;
    }
    somna_stats_effect dz, gz;
    somna_err e2;
    somna_err_init(&e2, NULL, NULL);
    if (somna_stats_cohen_dz(x, y, n, o->conf, &dz, &gz, &e2)) {
        note_add2(&rep, "effect sizes not computed: ", e2.msg);
    }
    double mr, rm;
    size_t used;
    somna_err_init(&e2, NULL, NULL);
    if (somna_stats_percent_change(x, y, n, &mr, &rm, &used, &e2)) {
        note_add2(&rep, "", e2.msg);
    }
    free(x);
    free(y);
    if (wilcoxon && isnan(r.ci_low) && isnan(r.ci_high))
        note_add(&rep, "no confidence interval: every non-zero difference is tied (R reports NaN and the midrange)");
    if (wilcoxon && r.n_zero) {
        char buf[200];
        snprintf(buf, sizeof buf, "zero differences (dropped by the signed-rank test, as R)");
        drop_add(&rep, r.n_zero, buf);
    }
    out oo = {.json = o->json};
    begin(&oo, o, r.test);
    if (o->json) {
        somna_json_kv_string(&oo.j, "comparison", label);
        json_result(&oo, &r);
        somna_json_key(&oo.j, "effect_sizes");
        somna_json_array_begin(&oo.j);
        json_effect(&oo, &dz);
        json_effect(&oo, &gz);
        somna_json_array_end(&oo.j);
        somna_json_key(&oo.j, "percent_change");
        somna_json_object_begin(&oo.j);
        somna_json_kv_number(&oo.j, "mean_of_ratios", mr);
        somna_json_kv_number(&oo.j, "ratio_of_means", rm);
        somna_json_object_end(&oo.j);
        json_drops(&oo, &rep, r.n);
    } else {
        char a[32], b[32];
        printf("  comparison: %s (paired)\n", label);
        text_result(&r);
        text_effect(&dz, o->conf);
        text_effect(&gz, o->conf);
        printf("  percent change: %s %% (mean of ratios), %s %% (ratio of means)\n", fmt(a, sizeof a, mr),
               fmt(b, sizeof b, rm));
        text_drops(&rep, "pairs", r.n);
    }
    end(&oo);
    return SOMNA_OK;
}

static int run_two_groups(const somna_table *t, const opts *o, int kind, somna_err *err)
{
    /* kind 0 Welch, 1 Student, 2 Mann-Whitney */
    report rep = {0};
    size_t cy, cg;
    if (need_col(t, "y", o->y, &cy, err) || need_col(t, "group", o->group, &cg, err))
        return SOMNA_E_ARG;
    levels L;
    double *v = malloc((t->n_rows + 1) * sizeof *v), *x = malloc((t->n_rows + 1) * sizeof *x),
           *y = malloc((t->n_rows + 1) * sizeof *y);
    if (!v || !x || !y) {
        free(v);
        free(x);
        free(y);
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    }
    int rc = num_col(t, cy, v, err);
    if (!rc)
        rc = build_levels(t, cg, &L, err);
    if (rc) {
        free(v);
        free(x);
        free(y);
        return rc;
    }
    size_t ref = 0, oth = 1;
    if ((rc = two_levels(&L, o, o->group, &ref, &oth, err))) {
        free(v);
        free(x);
        free(y);
        levels_free(&L);
        return rc;
    }
    size_t nx = 0, ny = 0, miss_g = 0, miss_y = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (L.row[r] < 0) {
            miss_g++;
            continue;
        }
        if (isnan(v[r])) {
            miss_y++;
            continue;
        }
        if ((size_t)L.row[r] == oth)
            x[nx++] = v[r];
        else
            y[ny++] = v[r];
    }
    free(v);
    char buf[200], label[256];
    snprintf(buf, sizeof buf, "missing %s", o->group);
    drop_add(&rep, miss_g, buf);
    snprintf(buf, sizeof buf, "missing %s value", o->y);
    drop_add(&rep, miss_y, buf);
    snprintf(label, sizeof label, "%s - %s", L.name[oth], L.name[ref]);
    somna_stats_result r;
    rc = kind == 2 ? somna_stats_mann_whitney(x, nx, y, ny, o->conf, &r, err)
                   : somna_stats_ttest_two(x, nx, y, ny, kind == 1, o->conf, &r, err);
    somna_stats_effect d, g, rb;
    memset(&rb, 0, sizeof rb);
    if (!rc) {
        somna_err e2;
        somna_err_init(&e2, NULL, NULL);
        if (somna_stats_cohen_d(x, nx, y, ny, o->conf, &d, &g, &e2)) {
            note_add2(&rep, "Cohen's d not computed: ", e2.msg);
        }
        /* rank-biserial correlation (Kerby 2014): 2U/(n1 n2) - 1 */
        somna_strlcpy(rb.name, "rank-biserial r", sizeof rb.name);
        rb.value = kind == 2 ? 2.0 * r.statistic / ((double)nx * (double)ny) - 1.0 : NAN;
        rb.ci_low = rb.ci_high = NAN;
    }
    free(x);
    free(y);
    if (rc) {
        levels_free(&L);
        return rc;
    }
    out oo = {.json = o->json};
    begin(&oo, o, r.test);
    if (o->json) {
        somna_json_kv_string(&oo.j, "comparison", label);
        somna_json_kv_int(&oo.j, "n1", (int64_t)r.n1);
        somna_json_kv_int(&oo.j, "n2", (int64_t)r.n2);
        json_result(&oo, &r);
        somna_json_key(&oo.j, "effect_sizes");
        somna_json_array_begin(&oo.j);
        json_effect(&oo, &d);
        json_effect(&oo, &g);
        if (kind == 2)
            json_effect(&oo, &rb);
        somna_json_array_end(&oo.j);
        json_drops(&oo, &rep, r.n);
    } else {
        printf("  comparison: %s (n = %zu and %zu)\n", label, r.n1, r.n2);
        text_result(&r);
        text_effect(&d, o->conf);
        text_effect(&g, o->conf);
        if (kind == 2)
            text_effect(&rb, o->conf);
        text_drops(&rep, "observations", r.n);
    }
    end(&oo);
    levels_free(&L);
    return SOMNA_OK;
}

static void json_pairs(out *oo, const wide *w, const somna_stats_pair *pr, size_t np)
{
    somna_json_key(&oo->j, "posthoc");
    somna_json_array_begin(&oo->j);
    for (size_t q = 0; q < np; q++) {
        char label[256];
        snprintf(label, sizeof label, "%s - %s", w->cond.name[pr[q].b], w->cond.name[pr[q].a]);
        somna_json_object_begin(&oo->j);
        somna_json_kv_string(&oo->j, "comparison", label);
        somna_json_kv_string(&oo->j, "test", pr[q].r.test);
        somna_json_kv_int(&oo->j, "n", (int64_t)pr[q].r.n);
        somna_json_kv_number(&oo->j, "estimate", pr[q].r.estimate);
        somna_json_kv_number(&oo->j, "statistic", pr[q].r.statistic);
        somna_json_kv_number(&oo->j, "p", pr[q].r.p);
        somna_json_kv_number(&oo->j, "p_holm", pr[q].p_holm);
        somna_json_kv_number(&oo->j, "p_bh", pr[q].p_bh);
        if (!pr[q].ok)
            somna_json_kv_string(&oo->j, "why_null", pr[q].why);
        somna_json_object_end(&oo->j);
    }
    somna_json_array_end(&oo->j);
}

static void text_pairs(const wide *w, const somna_stats_pair *pr, size_t np)
{
    printf("  post-hoc pairwise (%s), p adjusted by Holm and Benjamini-Hochberg:\n", np ? pr[0].r.test : "");
    for (size_t q = 0; q < np; q++) {
        char a[32], b[32], c[32], d[32], label[256];
        snprintf(label, sizeof label, "%s - %s", w->cond.name[pr[q].b], w->cond.name[pr[q].a]);
        if (!pr[q].ok) {
            printf("    %-24s NA (%s)\n", label, pr[q].why);
            continue;
        }
        printf("    %-24s n = %zu  estimate = %s  p = %s  p_holm = %s  p_bh = %s\n", label, pr[q].r.n,
               fmt(a, sizeof a, pr[q].r.estimate), fmt(b, sizeof b, pr[q].r.p), fmt(c, sizeof c, pr[q].p_holm),
               fmt(d, sizeof d, pr[q].p_bh));
    }
}

static int run_within(const somna_table *t, const opts *o, int friedman, somna_err *err)
{
    report rep = {0};
    wide w;
    int rc = make_wide(t, o, &w, &rep, err);
    if (rc)
        return rc;
    if (w.k < 2) {
        wide_free(&w);
        return somna_fail(err, SOMNA_E_DATA, "column %s has %zu level(s); need at least 2 conditions", o->group,
                          w.cond.n);
    }
    for (size_t c = 0; c < w.k; c++) {
        size_t have = 0;
        for (size_t s = 0; s < w.n; s++)
            have += !isnan(w.y[s * w.k + c]);
        if (!have) {
            rc = somna_fail(err, SOMNA_E_DATA, "condition %s of %s has no %s values", w.cond.name[c], o->group, o->y);
            wide_free(&w);
            return rc;
        }
    }
    somna_stats_rmanova_result a;
    somna_stats_result fr;
    rc = friedman ? somna_stats_friedman(w.y, w.n, w.k, &fr, err) : somna_stats_rmanova(w.y, w.n, w.k, &a, err);
    if (rc) {
        wide_free(&w);
        return rc;
    }
    size_t np = w.k * (w.k - 1) / 2, n_used = friedman ? fr.n : a.n_subjects;
    somna_stats_pair *pr = malloc((np + 1) * sizeof *pr);
    if (!pr) {
        wide_free(&w);
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    }
    somna_stats_pairwise(w.y, w.n, w.k, friedman ? SOMNA_STATS_PAIR_WILCOXON : SOMNA_STATS_PAIR_T, o->conf, pr,
                         NULL);
    drop_add(&rep, w.n - n_used, "subjects without a value in every condition (complete cases only)");
    if (w.n > n_used)
        note_add(&rep, "the mixed model (somna stats lmm) keeps subjects with missing conditions");
    if (!friedman && w.k == 2)
        note_add(&rep, "Mauchly's test is not applicable with 2 conditions (sphericity holds trivially)");
    else if (!friedman && isnan(a.mauchly_W))
        note_add(&rep, "Mauchly's test needs more subjects than conditions - 1");
    note_add(&rep, "post-hoc comparisons use every subject with both values of the pair");
    out oo = {.json = o->json};
    begin(&oo, o, friedman ? fr.test : "one-way repeated-measures ANOVA");
    if (o->json) {
        somna_json_key(&oo.j, "levels");
        somna_json_array_begin(&oo.j);
        for (size_t c = 0; c < w.k; c++)
            somna_json_string(&oo.j, w.cond.name[c]);
        somna_json_array_end(&oo.j);
        if (friedman) {
            json_result(&oo, &fr);
        } else {
            somna_json_kv_string(&oo.j, "statistic_name", "F");
            somna_json_kv_number(&oo.j, "statistic", a.F);
            somna_json_kv_number(&oo.j, "df", a.df1);
            somna_json_kv_number(&oo.j, "df2", a.df2);
            somna_json_kv_number(&oo.j, "p", a.p);
            somna_json_kv_number(&oo.j, "ss_condition", a.ss_condition);
            somna_json_kv_number(&oo.j, "ss_subject", a.ss_subject);
            somna_json_kv_number(&oo.j, "ss_error", a.ss_error);
            somna_json_key(&oo.j, "effect_sizes");
            somna_json_array_begin(&oo.j);
            somna_stats_effect ges = {"generalized eta squared", a.ges, NAN, NAN};
            json_effect(&oo, &ges);
            somna_json_array_end(&oo.j);
            somna_json_key(&oo.j, "sphericity");
            somna_json_object_begin(&oo.j);
            somna_json_kv_number(&oo.j, "mauchly_W", a.mauchly_W);
            somna_json_kv_number(&oo.j, "mauchly_p", a.mauchly_p);
            somna_json_kv_number(&oo.j, "epsilon_gg", a.eps_gg);
            somna_json_kv_number(&oo.j, "p_gg", a.p_gg);
            somna_json_kv_number(&oo.j, "epsilon_hf", a.eps_hf);
            somna_json_kv_number(&oo.j, "p_hf", a.p_hf);
            somna_json_object_end(&oo.j);
        }
        json_pairs(&oo, &w, pr, np);
        json_drops(&oo, &rep, n_used);
    } else {
        char b1[32], b2[32], b3[32], b4[32], b5[32];
        printf("  conditions:");
        for (size_t c = 0; c < w.k; c++)
            printf(" %s", w.cond.name[c]);
        printf("\n");
        if (friedman) {
            text_result(&fr);
        } else {
            printf("  F(%s, %s) = %s, p = %s, generalized eta squared = %s\n", fmt(b1, sizeof b1, a.df1),
                   fmt(b2, sizeof b2, a.df2), fmt(b3, sizeof b3, a.F), fmt(b4, sizeof b4, a.p),
                   fmt(b5, sizeof b5, a.ges));
            printf("  Mauchly W = %s, p = %s\n", fmt(b1, sizeof b1, a.mauchly_W), fmt(b2, sizeof b2, a.mauchly_p));
            printf("  Greenhouse-Geisser epsilon = %s, p = %s\n", fmt(b1, sizeof b1, a.eps_gg),
                   fmt(b2, sizeof b2, a.p_gg));
            printf("  Huynh-Feldt epsilon = %s, p = %s\n", fmt(b1, sizeof b1, a.eps_hf), fmt(b2, sizeof b2, a.p_hf));
        }
        text_pairs(&w, pr, np);
        text_drops(&rep, "subjects", n_used);
    }
    end(&oo);
    free(pr);
    wide_free(&w);
    return SOMNA_OK;
}

/* ---- mixed model ----------------------------------------------------------------- */

typedef struct term {
    size_t col;
    int categorical;
    levels L;
    size_t ref;
    double *num;
} term;

/* Number of design columns of a term and their values at table row r. */
static size_t term_width(const term *tm) { return tm->categorical ? tm->L.n - 1 : 1; }

static void term_values(const term *tm, size_t r, double *v)
{
    if (!tm->categorical) {
        v[0] = tm->num[r];
        return;
    }
    size_t c = 0;
    for (size_t l = 0; l < tm->L.n; l++)
        if (l != tm->ref)
            v[c++] = tm->L.row[r] == (long)l ? 1.0 : 0.0;
}

static void term_colname(const term *tm, const char *name, size_t j, char *buf, size_t size)
{
    if (!tm->categorical) {
        somna_strlcpy(buf, name, size);
        return;
    }
    size_t c = 0;
    for (size_t l = 0; l < tm->L.n; l++)
        if (l != tm->ref && c++ == j) {
            snprintf(buf, size, "%s[%s]", name, tm->L.name[l]);
            return;
        }
}

static int run_lmm(const somna_table *t, const opts *o, somna_err *err)
{
    report rep = {0};
    size_t cy, cs;
    if (need_col(t, "y", o->y, &cy, err) || need_col(t, "subject", o->subject, &cs, err))
        return SOMNA_E_ARG;
    term terms[2 * MAX_COV + 1];
    memset(terms, 0, sizeof terms);
    const char *names[2 * MAX_COV + 1];
    int forced[2 * MAX_COV + 1];
    size_t nt = 0;
    int rc = SOMNA_OK;
    levels S = {0};
    double *yv = malloc((t->n_rows + 1) * sizeof *yv), *X = NULL, *yy = NULL;
    size_t *grp = NULL;
    char (*coef_name)[128] = NULL;
    if (!yv)
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    if ((rc = num_col(t, cy, yv, err)) || (rc = build_levels(t, cs, &S, err)))
        goto done;
    if (o->group) {
        forced[nt] = 1;
        names[nt++] = o->group;
    }
    for (size_t i = 0; i < o->ncov; i++) {
        forced[nt] = 0;
        names[nt++] = o->cov[i];
    }
    for (size_t i = 0; i < o->nfac; i++) {
        forced[nt] = 1;
        names[nt++] = o->fac[i];
    }
    size_t p = 1;
    for (size_t i = 0; i < nt; i++) {
        term *tm = &terms[i];
        if ((rc = somna_table_require_col(t, names[i], &tm->col, err)))
            goto done;
        /* numeric covariates enter as slopes; --group, --factor and text columns as factors */
        int numeric = !forced[i];
        if (numeric)
            for (size_t r = 0; r < t->n_rows; r++) {
                double d;
                if (!somna_table_is_missing(t, r, tm->col) &&
                    somna_parse_double_str(somna_table_cell(t, r, tm->col), &d) != 0)
                    numeric = 0;
            }
        tm->categorical = !numeric;
        if (numeric) {
            tm->num = malloc((t->n_rows + 1) * sizeof *tm->num);
            if (!tm->num) {
                rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
                goto done;
            }
            if ((rc = num_col(t, tm->col, tm->num, err)))
                goto done;
            p += 1;
        } else {
            if ((rc = build_levels(t, tm->col, &tm->L, err)))
                goto done;
            tm->ref = 0;
            if (i == 0 && o->group && o->ref) {
                size_t k = 0;
                while (k < tm->L.n && strcmp(tm->L.name[k], o->ref) != 0)
                    k++;
                if (k == tm->L.n) {
                    rc = somna_fail(err, SOMNA_E_ARG, "--ref %s is not a level of %s", o->ref, names[i]);
                    goto done;
                }
                tm->ref = k;
            }
            if (tm->L.n < 2) {
                rc = somna_fail(err, SOMNA_E_DATA, "column %s has %zu level(s): a factor needs at least 2", names[i],
                                tm->L.n);
                goto done;
            }
            p += tm->L.n - 1;
        }
    }
    size_t ia[MAX_COV], ib[MAX_COV];
    for (size_t k = 0; k < o->ninter; k++) {
        const char *colon = strchr(o->inter[k], ':');
        ia[k] = ib[k] = nt;
        for (size_t i = 0; colon && i < nt; i++) {
            size_t la = (size_t)(colon - o->inter[k]);
            if (strlen(names[i]) == la && strncmp(names[i], o->inter[k], la) == 0)
                ia[k] = i;
            if (strcmp(names[i], colon + 1) == 0)
                ib[k] = i;
        }
        if (ia[k] == nt || ib[k] == nt || ia[k] == ib[k]) {
            rc = somna_fail(err, SOMNA_E_ARG,
                            "--interaction %s: give two different terms as A:B, each named by --group, "
                            "--covariate or --factor",
                            o->inter[k]);
            goto done;
        }
        if (term_width(&terms[ia[k]]) > 256 || term_width(&terms[ib[k]]) > 256) {
            rc = somna_fail(err, SOMNA_E_UNSUPPORTED, "--interaction %s: a factor with more than 257 levels",
                            o->inter[k]);
            goto done;
        }
        p += term_width(&terms[ia[k]]) * term_width(&terms[ib[k]]);
    }
    X = malloc((t->n_rows * p + 1) * sizeof *X);
    yy = malloc((t->n_rows + 1) * sizeof *yy);
    grp = malloc((t->n_rows + 1) * sizeof *grp);
    coef_name = malloc(p * sizeof *coef_name);
    if (!X || !yy || !grp || !coef_name) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        goto done;
    }
    somna_strlcpy(coef_name[0], "(Intercept)", sizeof coef_name[0]);
    {
        size_t c = 1;
        for (size_t i = 0; i < nt; i++) {
            if (!terms[i].categorical) {
                somna_strlcpy(coef_name[c++], names[i], sizeof coef_name[0]);
                continue;
            }
            for (size_t l = 0; l < terms[i].L.n; l++)
                if (l != terms[i].ref)
                    snprintf(coef_name[c++], sizeof coef_name[0], "%s[%s]", names[i], terms[i].L.name[l]);
        }
        for (size_t k = 0; k < o->ninter; k++)
            for (size_t a = 0; a < term_width(&terms[ia[k]]); a++)
                for (size_t b = 0; b < term_width(&terms[ib[k]]); b++) {
                    char na[60], nb[60];
                    term_colname(&terms[ia[k]], names[ia[k]], a, na, sizeof na);
                    term_colname(&terms[ib[k]], names[ib[k]], b, nb, sizeof nb);
                    snprintf(coef_name[c++], sizeof coef_name[0], "%s:%s", na, nb);
                }
    }
    size_t n = 0, miss_y = 0, miss_s = 0, miss_c = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (S.row[r] < 0) {
            miss_s++;
            continue;
        }
        if (isnan(yv[r])) {
            miss_y++;
            continue;
        }
        int ok = 1;
        for (size_t i = 0; i < nt; i++)
            if (terms[i].categorical ? terms[i].L.row[r] < 0 : isnan(terms[i].num[r]))
                ok = 0;
        if (!ok) {
            miss_c++;
            continue;
        }
        double *xr = X + n * p;
        size_t c = 0;
        xr[c++] = 1.0;
        for (size_t i = 0; i < nt; i++) {
            if (!terms[i].categorical) {
                xr[c++] = terms[i].num[r];
                continue;
            }
            for (size_t l = 0; l < terms[i].L.n; l++)
                if (l != terms[i].ref)
                    xr[c++] = terms[i].L.row[r] == (long)l ? 1.0 : 0.0;
        }
        for (size_t k = 0; k < o->ninter; k++) {
            double va[256], vb[256];
            term_values(&terms[ia[k]], r, va);
            term_values(&terms[ib[k]], r, vb);
            for (size_t a = 0; a < term_width(&terms[ia[k]]); a++)
                for (size_t b = 0; b < term_width(&terms[ib[k]]); b++)
                    xr[c++] = va[a] * vb[b];
        }
        yy[n] = yv[r];
        grp[n] = (size_t)S.row[r];
        n++;
    }
    char buf[200];
    snprintf(buf, sizeof buf, "missing %s", o->subject);
    drop_add(&rep, miss_s, buf);
    snprintf(buf, sizeof buf, "missing %s value", o->y);
    drop_add(&rep, miss_y, buf);
    drop_add(&rep, miss_c, "missing group or covariate value");
    somna_stats_lmm m;
    if ((rc = somna_stats_lmm_fit(X, yy, grp, n, p, S.n, o->conf, &m, err)))
        goto done;
    if (m.singular)
        note_add(&rep, "boundary (singular) fit: the participant variance is estimated as 0");
    if (o->kr)
        for (size_t j = 0; j < p; j++) {
            double l[256] = {0};
            if (p > 256)
                break;
            l[j] = 1.0;
            somna_err e2;
            somna_err_init(&e2, NULL, NULL);
            if (somna_stats_lmm_contrast_kr(&m, l, o->conf, &m.coef[j], &e2))
                note_add2(&rep, "Kenward-Roger: ", e2.msg);
        }
    /* one F test per term (all its dummies jointly), as lmerTest's anova() */
    /* F tests: every term (all its columns jointly, as lmerTest's anova());
     * with interactions only the interactions, because the main-effect
     * tests then depend on the coding of the other factor */
    somna_stats_result ft[3 * MAX_COV + 1];
    char ftname[3 * MAX_COV + 1][128];
    size_t nft = 0;
    {
        size_t c0 = 1;
        size_t nmain = nt + o->ninter;
        for (size_t i = 0; i < nmain; i++) {
            size_t q = i < nt ? term_width(&terms[i])
                              : term_width(&terms[ia[i - nt]]) * term_width(&terms[ib[i - nt]]);
            if (i >= nt || o->ninter == 0) {
                if (i < nt)
                    somna_strlcpy(ftname[nft], names[i], sizeof ftname[0]);
                else
                    somna_strlcpy(ftname[nft], o->inter[i - nt], sizeof ftname[0]);
                double *L = calloc(q * p, sizeof *L);
                somna_err e2;
                somna_err_init(&e2, NULL, NULL);
                somna_stats_result_init(&ft[nft]);
                if (L) {
                    for (size_t r = 0; r < q; r++)
                        L[r * p + c0 + r] = 1.0;
                    if ((o->kr ? somna_stats_lmm_ftest_kr : somna_stats_lmm_ftest)(&m, L, q, &ft[nft], &e2))
                        note_add2(&rep, "F test not computed: ", e2.msg);
                }
                free(L);
                nft++;
            }
            c0 += q;
        }
    }
    if (o->ninter)
        note_add(&rep, "with interactions, main-effect coefficients are effects at the reference level of the "
                       "other factor; only interaction F tests are reported");
    /* pairwise contrasts between the levels of --group (3 or more levels),
     * Holm and BH adjusted over the family */
    size_t npair = 0;
    somna_stats_lmm_coef pc[64];
    size_t pa[64], pb[64];
    double pp[64], ph[64], pbh[64];
    if (o->group && o->ninter == 0 && terms[0].categorical && terms[0].L.n >= 3) {
        const term *tg = &terms[0];
        double l[256];
        for (size_t a = 0; a < tg->L.n && p <= 256; a++)
            for (size_t b = a + 1; b < tg->L.n && npair < 64; b++) {
                memset(l, 0, p * sizeof *l);
                /* column of level v: 1 + its rank among the non-reference levels */
                size_t ca = a < tg->ref ? a + 1 : a, cbb = b < tg->ref ? b + 1 : b;
                if (a != tg->ref)
                    l[ca] -= 1.0;
                if (b != tg->ref)
                    l[cbb] += 1.0;
                somna_err e2;
                somna_err_init(&e2, NULL, NULL);
                (o->kr ? somna_stats_lmm_contrast_kr : somna_stats_lmm_contrast)(&m, l, o->conf, &pc[npair], &e2);
                pa[npair] = a;
                pb[npair] = b;
                pp[npair] = pc[npair].p;
                npair++;
            }
        somna_stats_p_adjust(pp, npair, SOMNA_STATS_PADJ_HOLM, ph, NULL);
        somna_stats_p_adjust(pp, npair, SOMNA_STATS_PADJ_BH, pbh, NULL);
    }
    out oo = {.json = o->json};
    begin(&oo, o, "linear mixed model (REML), random intercept per subject");
    if (o->json) {
        somna_json_kv_int(&oo.j, "n_subjects", (int64_t)m.n_groups);
        somna_json_kv_number(&oo.j, "residual_variance", m.sigma2);
        somna_json_kv_number(&oo.j, "subject_variance", m.tau2);
        somna_json_kv_number(&oo.j, "reml_criterion", m.reml_criterion);
        somna_json_kv_number(&oo.j, "conf_level", o->conf);
        somna_json_kv_string(&oo.j, "df_method", o->kr ? "Kenward-Roger" : "Satterthwaite");
        somna_json_key(&oo.j, "coefficients");
        somna_json_array_begin(&oo.j);
        for (size_t j = 0; j < p; j++) {
            const somna_stats_lmm_coef *c = &m.coef[j];
            somna_json_object_begin(&oo.j);
            somna_json_kv_string(&oo.j, "term", coef_name[j]);
            somna_json_kv_number(&oo.j, "estimate", c->estimate);
            somna_json_kv_number(&oo.j, "se", c->se);
            somna_json_kv_number(&oo.j, "ci_low", c->ci_low);
            somna_json_kv_number(&oo.j, "ci_high", c->ci_high);
            somna_json_kv_string(&oo.j, "statistic_name", "t");
            somna_json_kv_number(&oo.j, "statistic", c->t);
            somna_json_kv_number(&oo.j, "df", c->df);
            somna_json_kv_number(&oo.j, "p", c->p);
            somna_json_object_end(&oo.j);
        }
        somna_json_array_end(&oo.j);
        somna_json_key(&oo.j, "terms");
        somna_json_array_begin(&oo.j);
        for (size_t i = 0; i < nft; i++) {
            somna_json_object_begin(&oo.j);
            somna_json_kv_string(&oo.j, "term", ftname[i]);
            somna_json_kv_string(&oo.j, "statistic_name", "F");
            somna_json_kv_number(&oo.j, "statistic", ft[i].statistic);
            somna_json_kv_number(&oo.j, "df", ft[i].df);
            somna_json_kv_number(&oo.j, "df2", ft[i].df2);
            somna_json_kv_number(&oo.j, "p", ft[i].p);
            somna_json_object_end(&oo.j);
        }
        somna_json_array_end(&oo.j);
        if (npair) {
            somna_json_key(&oo.j, "posthoc");
            somna_json_array_begin(&oo.j);
            for (size_t q = 0; q < npair; q++) {
                char label[256];
                snprintf(label, sizeof label, "%s - %s", terms[0].L.name[pb[q]], terms[0].L.name[pa[q]]);
                somna_json_object_begin(&oo.j);
                somna_json_kv_string(&oo.j, "comparison", label);
                somna_json_kv_number(&oo.j, "estimate", pc[q].estimate);
                somna_json_kv_number(&oo.j, "se", pc[q].se);
                somna_json_kv_number(&oo.j, "ci_low", pc[q].ci_low);
                somna_json_kv_number(&oo.j, "ci_high", pc[q].ci_high);
                somna_json_kv_number(&oo.j, "statistic", pc[q].t);
                somna_json_kv_number(&oo.j, "df", pc[q].df);
                somna_json_kv_number(&oo.j, "p", pc[q].p);
                somna_json_kv_number(&oo.j, "p_holm", ph[q]);
                somna_json_kv_number(&oo.j, "p_bh", pbh[q]);
                somna_json_object_end(&oo.j);
            }
            somna_json_array_end(&oo.j);
        }
        json_drops(&oo, &rep, n);
    } else {
        char b[7][32];
        printf("  %zu observations, %zu subjects; residual variance %s, subject variance %s, REML criterion %s\n", n,
               m.n_groups, fmt(b[0], 32, m.sigma2), fmt(b[1], 32, m.tau2), fmt(b[2], 32, m.reml_criterion));
        printf("  %-24s %12s %12s %10s %10s %12s %24s\n", "term", "estimate", "SE", "df", "t", "p", "CI");
        for (size_t j = 0; j < p; j++) {
            const somna_stats_lmm_coef *c = &m.coef[j];
            char ci[80];
            snprintf(ci, sizeof ci, "[%s, %s]", fmt(b[5], 32, c->ci_low), fmt(b[6], 32, c->ci_high));
            printf("  %-24s %12s %12s %10s %10s %12s %24s\n", coef_name[j], fmt(b[0], 32, c->estimate),
                   fmt(b[1], 32, c->se), fmt(b[2], 32, c->df), fmt(b[3], 32, c->t), fmt(b[4], 32, c->p), ci);
        }
        if (npair)
            printf("  pairwise contrasts of %s (%s df), p adjusted by Holm and BH:\n", o->group,
                   o->kr ? "Kenward-Roger" : "Satterthwaite");
        for (size_t q = 0; q < npair; q++) {
            char label[256];
            snprintf(label, sizeof label, "%s - %s", terms[0].L.name[pb[q]], terms[0].L.name[pa[q]]);
            printf("    %-24s estimate = %s  SE = %s  df = %s  p = %s  p_holm = %s  p_bh = %s\n", label,
                   fmt(b[0], 32, pc[q].estimate), fmt(b[1], 32, pc[q].se), fmt(b[2], 32, pc[q].df),
                   fmt(b[3], 32, pc[q].p), fmt(b[4], 32, ph[q]), fmt(b[5], 32, pbh[q]));
        }
        if (nft)
            printf("  F tests (%s):\n", o->kr ? "Kenward-Roger" : "Satterthwaite df");
        for (size_t i = 0; i < nft; i++)
            printf("    %-22s F(%s, %s) = %s, p = %s\n", ftname[i], fmt(b[0], 32, ft[i].df), fmt(b[1], 32, ft[i].df2),
                   fmt(b[2], 32, ft[i].statistic), fmt(b[3], 32, ft[i].p));
        text_drops(&rep, "observations", n);
    }
    end(&oo);
    somna_stats_lmm_free(&m);
done:
    for (size_t i = 0; i < nt; i++) {
        free(terms[i].num);
        levels_free(&terms[i].L);
    }
    levels_free(&S);
    free(yv);
    free(X);
    free(yy);
    free(grp);
    free(coef_name);
    return rc;
}

/* ---- categorical -------------------------------------------------------------------- */

static int run_categorical(const somna_table *t, const opts *o, int which, somna_err *err)
{
    /* which: 0 mcnemar, 1 chisq, 2 fisher */
    report rep = {0};
    const char *ra = which == 0 ? o->before : o->group, *cb = which == 0 ? o->after : o->y;
    const char *na = which == 0 ? "before" : "group", *nb = which == 0 ? "after" : "y";
    size_t c1, c2;
    if (need_col(t, na, ra, &c1, err) || need_col(t, nb, cb, &c2, err))
        return SOMNA_E_ARG;
    levels A, B;
    int rc = build_levels(t, c1, &A, err);
    if (rc)
        return rc;
    if ((rc = build_levels(t, c2, &B, err))) {
        levels_free(&A);
        return rc;
    }
    long *tab = NULL;
    size_t nr = A.n, nc = B.n;
    const char **rn = A.name, **cn = B.name;
    levels U = {0};
    if (which == 0) {
        /* McNemar needs the same categories before and after: use the union */
        U.name = malloc((A.n + B.n + 1) * sizeof *U.name);
        if (!U.name) {
            levels_free(&A);
            levels_free(&B);
            return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < A.n; i++)
            U.name[U.n++] = A.name[i];
        for (size_t i = 0; i < B.n; i++) {
            size_t k = 0;
            while (k < U.n && strcmp(U.name[k], B.name[i]) != 0)
                k++;
            if (k == U.n)
                U.name[U.n++] = B.name[i];
        }
        int all_num = 1;
        for (size_t i = 0; i < U.n; i++) {
            double d;
            if (somna_parse_double_str(U.name[i], &d) != 0)
                all_num = 0;
        }
        qsort(U.name, U.n, sizeof *U.name, all_num ? cmp_num_str : cmp_str);
        nr = nc = U.n;
        rn = cn = U.name;
    }
    tab = calloc(nr * nc + 1, sizeof *tab);
    if (!tab) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        goto done;
    }
    size_t miss = 0, n = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (A.row[r] < 0 || B.row[r] < 0) {
            miss++;
            continue;
        }
        size_t i = (size_t)A.row[r], j = (size_t)B.row[r];
        if (which == 0) {
            for (i = 0; strcmp(U.name[i], A.name[A.row[r]]) != 0; i++)
                ;
            for (j = 0; strcmp(U.name[j], B.name[B.row[r]]) != 0; j++)
                ;
        }
        tab[i * nc + j]++;
        n++;
    }
    char buf[200];
    snprintf(buf, sizeof buf, "missing %s or %s", ra, cb);
    drop_add(&rep, miss, buf);
    somna_stats_result res;
    double p_exact = NAN, emin = NAN;
    if (which == 0)
        rc = somna_stats_mcnemar(tab, nr, 1, &res, &p_exact, err);
    else if (which == 1)
        rc = somna_stats_chisq(tab, nr, nc, 1, &res, &emin, err);
    else if (nr != 2 || nc != 2)
        rc = somna_stats_fisher_rxc(tab, nr, nc, &res, err);
    else
        rc = somna_stats_fisher_2x2(tab, o->conf, &res, err);
    if (rc)
        goto done;
    if (which == 1 && emin < 5) {
        snprintf(buf, sizeof buf, "smallest expected count %.3g < 5: the chi-squared approximation may be poor "
                                  "(consider fisher)", emin);
        note_add(&rep, buf);
    }
    out oo = {.json = o->json};
    begin(&oo, o, res.test);
    if (o->json) {
        somna_json_key(&oo.j, "rows");
        somna_json_array_begin(&oo.j);
        for (size_t i = 0; i < nr; i++)
            somna_json_string(&oo.j, rn[i]);
        somna_json_array_end(&oo.j);
        somna_json_key(&oo.j, "columns");
        somna_json_array_begin(&oo.j);
        for (size_t j = 0; j < nc; j++)
            somna_json_string(&oo.j, cn[j]);
        somna_json_array_end(&oo.j);
        somna_json_key(&oo.j, "table");
        somna_json_array_begin(&oo.j);
        for (size_t i = 0; i < nr; i++) {
            somna_json_array_begin(&oo.j);
            for (size_t j = 0; j < nc; j++)
                somna_json_int(&oo.j, tab[i * nc + j]);
            somna_json_array_end(&oo.j);
        }
        somna_json_array_end(&oo.j);
        json_result(&oo, &res);
        if (which == 0)
            somna_json_kv_number(&oo.j, "p_exact", p_exact);
        json_drops(&oo, &rep, n);
    } else {
        printf("  rows %s x columns %s:\n", ra, cb);
        printf("    %-14s", "");
        for (size_t j = 0; j < nc; j++)
            printf(" %10s", cn[j]);
        printf("\n");
        for (size_t i = 0; i < nr; i++) {
            printf("    %-14s", rn[i]);
            for (size_t j = 0; j < nc; j++)
                printf(" %10ld", tab[i * nc + j]);
            printf("\n");
        }
        text_result(&res);
        if (which == 0 && nr == 2) {
            char a[32];
            printf("  exact p (binomial test of the discordant pairs) = %s\n", fmt(a, sizeof a, p_exact));
        }
        text_drops(&rep, "rows", n);
    }
    end(&oo);
done:
    free(tab);
    free(U.name);
    levels_free(&A);
    levels_free(&B);
    return rc;
}

/* ---- N-of-1 ------------------------------------------------------------------------ */

static int parse_session(const char *s, int *v)
{
    double d;
    if (somna_parse_double_str(s, &d) == 0 && (d == 0 || d == 1)) {
        *v = (int)d;
        return 0;
    }
    static const char *yes[] = {"yes", "y", "true", "massage", "session", "on"};
    static const char *no[] = {"no", "n", "false", "none", "control", "off"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (somna_strieq(s, yes[i])) {
            *v = 1;
            return 0;
        }
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (somna_strieq(s, no[i])) {
            *v = 0;
            return 0;
        }
    return -1;
}

static int run_permutation(const somna_table *t, const opts *o, somna_err *err)
{
    report rep = {0};
    size_t cy, cg;
    if (need_col(t, "y", o->y, &cy, err) || need_col(t, "session", o->group, &cg, err))
        return SOMNA_E_ARG;
    double *y = malloc((t->n_rows + 1) * sizeof *y);
    int *s = malloc((t->n_rows + 1) * sizeof *s);
    int rc = SOMNA_OK;
    if (!y || !s) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = num_col(t, cy, y, err)))
        goto done;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (somna_table_is_missing(t, r, cg) || parse_session(somna_table_cell(t, r, cg), &s[r])) {
            rc = somna_fail(err, SOMNA_E_FORMAT,
                            "%s:%zu: column %s: '%s' is not a session indicator (0/1, yes/no, true/false)", t->name,
                            t->line[r], o->group, somna_table_cell(t, r, cg));
            goto done;
        }
    }
    somna_stats_nof1_opts no;
    somna_stats_nof1_defaults(&no);
    no.lag = (size_t)o->lag;
    no.n_perm = (size_t)o->perms;
    no.n_boot = (size_t)o->boot;
    no.seed = (uint64_t)o->seed;
    no.conf = o->conf;
    somna_stats_nof1_result r;
    if ((rc = somna_stats_nof1(y, s, t->n_rows, &no, &r, err)))
        goto done;
    size_t miss = t->n_rows - r.n_nights;
    char buf[200];
    snprintf(buf, sizeof buf, "nights without a %s value (their session status still counts for the lag)", o->y);
    drop_add(&rep, miss, buf);
    if (isnan(r.pct_change))
        note_add(&rep, "percent change undefined: the mean of the other nights is 0");
    else if (o->boot > 0 && isnan(r.pct_ci_low))
        note_add(&rep, "no bootstrap CI: it needs at least 2 nights after sessions and 2 other nights");
    out oo = {.json = o->json};
    begin(&oo, o, "N-of-1 randomization test");
    if (o->json) {
        somna_json_kv_int(&oo.j, "lag", o->lag);
        somna_json_kv_int(&oo.j, "sessions", (int64_t)r.n_sessions);
        somna_json_kv_int(&oo.j, "n_on", (int64_t)r.n_on);
        somna_json_kv_int(&oo.j, "n_off", (int64_t)r.n_off);
        somna_json_kv_number(&oo.j, "mean_on", r.mean_on);
        somna_json_kv_number(&oo.j, "mean_off", r.mean_off);
        somna_json_kv_string(&oo.j, "estimate_name", "mean difference (after-session nights - other nights)");
        somna_json_kv_number(&oo.j, "estimate", r.diff);
        somna_json_kv_string(&oo.j, "statistic_name", "mean difference");
        somna_json_kv_number(&oo.j, "statistic", r.diff);
        somna_json_kv_number(&oo.j, "df", NAN);
        somna_json_kv_number(&oo.j, "p", r.p);
        somna_json_kv_bool(&oo.j, "exact", r.exact);
        somna_json_kv_int(&oo.j, "arrangements", (int64_t)r.n_perm);
        somna_json_kv_int(&oo.j, "seed", o->seed);
        somna_json_key(&oo.j, "percent_change");
        somna_json_object_begin(&oo.j);
        somna_json_kv_string(&oo.j, "definition", "ratio of means: 100 * (mean_on / mean_off - 1)");
        somna_json_kv_number(&oo.j, "value", r.pct_change);
        somna_json_kv_number(&oo.j, "ci_low", r.pct_ci_low);
        somna_json_kv_number(&oo.j, "ci_high", r.pct_ci_high);
        somna_json_kv_number(&oo.j, "conf_level", o->conf);
        somna_json_kv_int(&oo.j, "bootstrap_resamples", o->boot);
        somna_json_object_end(&oo.j);
        json_drops(&oo, &rep, r.n_nights);
    } else {
        char a[32], b[32], c[32], d[32];
        printf("  %zu sessions, lag %ld: %zu nights after a session, %zu other nights\n", r.n_sessions, o->lag, r.n_on,
               r.n_off);
        printf("  mean after sessions = %s, other nights = %s, difference = %s\n", fmt(a, sizeof a, r.mean_on),
               fmt(b, sizeof b, r.mean_off), fmt(c, sizeof c, r.diff));
        printf("  p = %s (%s, %zu arrangements%s)\n", fmt(a, sizeof a, r.p), r.exact ? "exact" : "Monte Carlo",
               r.n_perm, r.exact ? "" : ", seeded");
        printf("  percent change (ratio of means) = %s %%  %g%% bootstrap CI [%s, %s]\n",
               fmt(a, sizeof a, r.pct_change), 100 * o->conf, fmt(b, sizeof b, r.pct_ci_low),
               fmt(d, sizeof d, r.pct_ci_high));
        text_drops(&rep, "nights", r.n_nights);
    }
    end(&oo);
done:
    free(y);
    free(s);
    return rc;
}

/* ---- meta-analysis ---------------------------------------------------------------- */

static int run_meta(const somna_table *t, const opts *o, somna_err *err)
{
    report rep = {0};
    size_t ci, cv;
    if (need_col(t, "yi", o->yi, &ci, err) || need_col(t, "vi", o->vi, &cv, err))
        return SOMNA_E_ARG;
    somna_stats_meta_method method = SOMNA_STATS_META_REML;
    if (o->method) {
        if (somna_strieq(o->method, "DL"))
            method = SOMNA_STATS_META_DL;
        else if (!somna_strieq(o->method, "REML"))
            return somna_fail(err, SOMNA_E_ARG, "--method %s: use DL or REML", o->method);
    }
    double *yi = malloc((t->n_rows + 1) * sizeof *yi), *vi = malloc((t->n_rows + 1) * sizeof *vi);
    int rc = SOMNA_OK;
    if (!yi || !vi) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = num_col(t, ci, yi, err)) || (rc = num_col(t, cv, vi, err)))
        goto done;
    size_t k = 0, miss = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (isnan(yi[r]) || isnan(vi[r])) {
            miss++;
            continue;
        }
        if (!(vi[r] > 0)) {
            rc = somna_fail(err, SOMNA_E_DATA, "%s:%zu: column %s: sampling variance %g must be positive", t->name,
                            t->line[r], o->vi, vi[r]);
            goto done;
        }
        yi[k] = yi[r];
        vi[k] = vi[r];
        k++;
    }
    drop_add(&rep, miss, "missing effect size or variance");
    somna_stats_meta_result m;
    if ((rc = somna_stats_meta(yi, vi, k, method, o->conf, &m, err)))
        goto done;
    out oo = {.json = o->json};
    begin(&oo, o, "random-effects meta-analysis");
    if (o->json) {
        somna_json_kv_string(&oo.j, "method", method == SOMNA_STATS_META_DL ? "DerSimonian-Laird" : "REML");
        somna_json_kv_string(&oo.j, "estimate_name", "pooled effect");
        somna_json_kv_number(&oo.j, "estimate", m.mu);
        somna_json_kv_number(&oo.j, "se", m.se);
        somna_json_kv_number(&oo.j, "ci_low", m.ci_low);
        somna_json_kv_number(&oo.j, "ci_high", m.ci_high);
        somna_json_kv_number(&oo.j, "conf_level", o->conf);
        somna_json_kv_string(&oo.j, "statistic_name", "z");
        somna_json_kv_number(&oo.j, "statistic", m.z);
        somna_json_kv_number(&oo.j, "df", NAN);
        somna_json_kv_number(&oo.j, "p", m.p);
        somna_json_kv_number(&oo.j, "tau2", m.tau2);
        somna_json_kv_number(&oo.j, "tau", m.tau);
        somna_json_kv_number(&oo.j, "I2", m.i2);
        somna_json_kv_number(&oo.j, "H2", m.h2);
        somna_json_kv_number(&oo.j, "Q", m.q);
        somna_json_kv_number(&oo.j, "Q_df", m.q_df);
        somna_json_kv_number(&oo.j, "Q_p", m.q_p);
        somna_json_kv_number(&oo.j, "pi_low", m.pi_low);
        somna_json_kv_number(&oo.j, "pi_high", m.pi_high);
        json_drops(&oo, &rep, k);
    } else {
        char a[32], b[32], c[32], d[32];
        printf("  method: %s, %zu studies\n", method == SOMNA_STATS_META_DL ? "DerSimonian-Laird" : "REML", k);
        printf("  pooled effect = %s  (SE %s)  %g%% CI [%s, %s]\n", fmt(a, sizeof a, m.mu), fmt(b, sizeof b, m.se),
               100 * o->conf, fmt(c, sizeof c, m.ci_low), fmt(d, sizeof d, m.ci_high));
        printf("  z = %s, p = %s\n", fmt(a, sizeof a, m.z), fmt(b, sizeof b, m.p));
        printf("  tau^2 = %s, I^2 = %s %%, H^2 = %s\n", fmt(a, sizeof a, m.tau2), fmt(b, sizeof b, m.i2),
               fmt(c, sizeof c, m.h2));
        printf("  Q(%s) = %s, p = %s\n", fmt(a, sizeof a, m.q_df), fmt(b, sizeof b, m.q), fmt(c, sizeof c, m.q_p));
        printf("  prediction interval [%s, %s]\n", fmt(a, sizeof a, m.pi_low), fmt(b, sizeof b, m.pi_high));
        text_drops(&rep, "studies", k);
    }
    end(&oo);
done:
    free(yi);
    free(vi);
    return rc;
}

/* ---- entry point ----------------------------------------------------------------- */

int cmd_stats(int argc, char **argv)
{
    enum { O_Y = 1000, O_FACTOR, O_DDF, O_INTER, O_GROUP, O_SUBJECT, O_REF, O_COV, O_BEFORE, O_AFTER, O_YI, O_VI, O_METHOD, O_JSON, O_CONF,
           O_LAG, O_PERMS, O_BOOT, O_SEED };
    static const struct option lo[] = {
        {"y", required_argument, NULL, O_Y},           {"group", required_argument, NULL, O_GROUP},
        {"subject", required_argument, NULL, O_SUBJECT}, {"pair-by", required_argument, NULL, O_SUBJECT},
        {"session", required_argument, NULL, O_GROUP},
        {"ref", required_argument, NULL, O_REF},       {"covariate", required_argument, NULL, O_COV},
        {"factor", required_argument, NULL, O_FACTOR}, {"ddf", required_argument, NULL, O_DDF},
        {"interaction", required_argument, NULL, O_INTER},
        {"before", required_argument, NULL, O_BEFORE}, {"after", required_argument, NULL, O_AFTER},
        {"yi", required_argument, NULL, O_YI},         {"vi", required_argument, NULL, O_VI},
        {"method", required_argument, NULL, O_METHOD}, {"json", no_argument, NULL, O_JSON},
        {"conf", required_argument, NULL, O_CONF},     {"lag", required_argument, NULL, O_LAG},
        {"perms", required_argument, NULL, O_PERMS},   {"boot", required_argument, NULL, O_BOOT},
        {"seed", required_argument, NULL, O_SEED},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    opts o;
    memset(&o, 0, sizeof o);
    o.conf = 0.95;
    o.lag = 1;
    o.perms = 10000;
    o.boot = 2000;
    o.seed = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        case O_Y: o.y = optarg; break;
        case O_GROUP: o.group = optarg; break;
        case O_SUBJECT: o.subject = optarg; break;
        case O_REF: o.ref = optarg; break;
        case O_COV:
            if (o.ncov == MAX_COV)
                return cli_usage_error(CMD, "at most %d --covariate options", MAX_COV);
            o.cov[o.ncov++] = optarg;
            break;
        case O_FACTOR:
            if (o.nfac == MAX_COV)
                return cli_usage_error(CMD, "at most %d --factor options", MAX_COV);
            o.fac[o.nfac++] = optarg;
            break;
        case O_INTER:
            if (o.ninter == MAX_COV)
                return cli_usage_error(CMD, "at most %d --interaction options", MAX_COV);
            o.inter[o.ninter++] = optarg;
            break;
        case O_DDF:
            if (somna_strieq(optarg, "kr") || somna_strieq(optarg, "kenward-roger"))
                o.kr = 1;
            else if (somna_strieq(optarg, "satterthwaite"))
                o.kr = 0;
            else
                return cli_usage_error(CMD, "--ddf %s: use satterthwaite or kr", optarg);
            break;
        case O_BEFORE: o.before = optarg; break;
        case O_AFTER: o.after = optarg; break;
        case O_YI: o.yi = optarg; break;
        case O_VI: o.vi = optarg; break;
        case O_METHOD: o.method = optarg; break;
        case O_JSON: o.json = 1; break;
        case O_CONF:
            if (cli_opt_double(CMD, "conf", optarg, &o.conf))
                return CLI_EXIT_USAGE;
            if (!(o.conf > 0 && o.conf < 1))
                return cli_usage_error(CMD, "--conf %s: must be between 0 and 1 (e.g. 0.95)", optarg);
            break;
        case O_LAG:
            if (cli_opt_long(CMD, "lag", optarg, &o.lag))
                return CLI_EXIT_USAGE;
            if (o.lag < 1 || o.lag > 365)
                return cli_usage_error(CMD, "--lag %s: must be 1..365 nights", optarg);
            break;
        case O_PERMS:
            if (cli_opt_long(CMD, "perms", optarg, &o.perms))
                return CLI_EXIT_USAGE;
            if (o.perms < 1 || o.perms > 100000000)
                return cli_usage_error(CMD, "--perms %s: must be 1..100000000", optarg);
            break;
        case O_BOOT:
            if (cli_opt_long(CMD, "boot", optarg, &o.boot))
                return CLI_EXIT_USAGE;
            if (o.boot < 0 || o.boot > 10000000)
                return cli_usage_error(CMD, "--boot %s: must be 0..10000000", optarg);
            break;
        case O_SEED:
            if (cli_opt_long(CMD, "seed", optarg, &o.seed))
                return CLI_EXIT_USAGE;
            if (o.seed < 0)
                return cli_usage_error(CMD, "--seed %s: must be a non-negative integer", optarg);
            break;
        default:
            return cli_bad_option(CMD);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error(CMD, "expected TEST and DATA.csv (got %d argument%s)", argc - optind,
                               argc - optind == 1 ? "" : "s");
    o.test = argv[optind];
    o.path = argv[optind + 1];
    static const char *tests[] = {"ttest-paired", "wilcoxon", "ttest-welch", "ttest-student", "mannwhitney",
                                  "rmanova",      "friedman", "lmm",         "mcnemar",       "chisq",
                                  "fisher",       "permutation", "meta"};
    size_t which = 0, ntests = sizeof tests / sizeof *tests;
    while (which < ntests && strcmp(tests[which], o.test) != 0)
        which++;
    if (which == ntests)
        return cli_usage_error(CMD, "unknown test '%s' (one of: ttest-paired, wilcoxon, ttest-welch, "
                                    "ttest-student, mannwhitney, rmanova, friedman, lmm, mcnemar, chisq, fisher, "
                                    "permutation, meta)",
                               o.test);
    somna_err err;
    cli_err_init(&err);
    somna_table t;
    somna_table_opts topts;
    memset(&topts, 0, sizeof topts);
    if (somna_table_read(o.path, &topts, &t, &err) != 0)
        return cli_fail(CMD, &err);
    int rc;
    switch (which) {
    case 0: rc = run_paired(&t, &o, 0, &err); break;
    case 1: rc = run_paired(&t, &o, 1, &err); break;
    case 2: rc = run_two_groups(&t, &o, 0, &err); break;
    case 3: rc = run_two_groups(&t, &o, 1, &err); break;
    case 4: rc = run_two_groups(&t, &o, 2, &err); break;
    case 5: rc = run_within(&t, &o, 0, &err); break;
    case 6: rc = run_within(&t, &o, 1, &err); break;
    case 7: rc = run_lmm(&t, &o, &err); break;
    case 8: rc = run_categorical(&t, &o, 0, &err); break;
    case 9: rc = run_categorical(&t, &o, 1, &err); break;
    case 10: rc = run_categorical(&t, &o, 2, &err); break;
    case 11: rc = run_permutation(&t, &o, &err); break;
    default: rc = run_meta(&t, &o, &err); break;
    }
    somna_table_free(&t);
    if (rc == SOMNA_E_ARG && strstr(err.msg, "this test needs --"))
        return cli_usage_error(CMD, "%s: %s", o.test, err.msg);
    if (rc)
        return cli_fail(CMD, &err);
    return CLI_EXIT_OK;
}
