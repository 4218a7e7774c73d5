/* The study report: HTML with inline SVG figures, or Markdown.  The
 * numbers come from somna_study_analyze (which delegates every test to the
 * statistics engine); this file only lays them out. */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "somna/hypno.h"
#include "somna/parse.h"
#include "somna/plot.h"
#include "somna/report.h"
#include "somna/study.h"
#include "somna/version.h"

void somna_report_html_escape(FILE *out, const char *s)
{
    if (!s)
        return;
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}

#define H(s) somna_report_html_escape(out, (s))

/* Markdown cell: pipes and line breaks would break the table. */
static void md_text(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', out);
        else if (*s == '<')
            fputs("&lt;", out);
        else
            fputc(*s, out);
    }
}

static void fmt_num(char *buf, size_t size, double v, int digits)
{
    if (!isfinite(v))
        snprintf(buf, size, "—");
    else
        snprintf(buf, size, "%.*f", digits, v);
}

static void fmt_p(char *buf, size_t size, double p)
{
    if (!isfinite(p))
        snprintf(buf, size, "—");
    else if (p < 0.001)
        snprintf(buf, size, "&lt;0.001");
    else
        snprintf(buf, size, "%.3f", p);
}

/* Digits for a measure's scale: 1 for values in the tens and above. */
static int digits_for(double v)
{
    double a = fabs(v);
    return !isfinite(a) ? 2 : a >= 100 ? 1 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
}

/* Inline an SVG canvas (the XML declaration dropped: it is not HTML). */
static int emit_svg(FILE *out, const somna_plot_canvas *c, somna_err *err)
{
    char *svg;
    size_t len;
    int rc = somna_plot_svg_string(c, &svg, &len, err);
    if (rc)
        return rc;
    const char *p = svg;
    if (strncmp(p, "<?xml", 5) == 0) {
        const char *e = strstr(p, "?>");
        if (e)
            p = e + 2;
    }
    fputs("<figure>", out);
    fputs(p, out);
    fputs("</figure>\n", out);
    free(svg);
    return SOMNA_OK;
}

static const char *const css =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1280px;margin:24px auto;"
    "padding:0 16px;color:#1b1b1b;line-height:1.45}h1{font-size:1.6em;margin-bottom:.2em}"
    "h2{border-bottom:2px solid #e3e7ee;padding-bottom:4px;margin-top:1.8em}table{border-collapse:collapse;"
    "margin:.6em 0;font-size:.85em}th,td{border:1px solid #d5dae3;padding:3px 6px;text-align:right;white-space:nowrap}"
    "th{background:#f1f4f9}td.l,th.l{text-align:left}.muted{color:#667}.flow{display:flex;flex-direction:column;"
    "align-items:center;gap:6px}.box{border:1.5px solid #1f4e79;border-radius:6px;padding:6px 14px;"
    "background:#f7faff;min-width:260px;text-align:center}.arrow{color:#1f4e79;font-size:1.2em}"
    ".row{display:flex;gap:12px;flex-wrap:wrap;justify-content:center}.excl{border-color:#a33;background:#fff6f6}"
    "figure{margin:8px 0;display:inline-block}.figs{display:flex;flex-wrap:wrap;gap:8px}"
    "tr.sig td{background:#f4fbf2}.tw{overflow-x:auto;max-width:100%}";

/* ---- flow -------------------------------------------------------------------------------- */

static int write_flow(FILE *out, somna_db *db, int64_t sid, const somna_study_analysis *a, int md, somna_err *err)
{
    somna_dbv p = somna_dbv_int(sid);
    somna_db_result ex, arms;
    int rc = somna_db_query(db,
                            "SELECT s.reason, count(*) FROM screening s JOIN participant pa ON pa.id = s.participant_id "
                            "WHERE pa.study_id = ? AND s.eligible = 0 GROUP BY s.reason ORDER BY count(*) DESC, s.reason",
                            &p, 1, &ex, err);
    if (rc)
        return rc;
    rc = somna_db_query(db,
                        "SELECT COALESCE(c.code, pa.sequence, '?'), count(*) FROM participant pa LEFT JOIN condition c "
                        "ON c.id = pa.arm_id WHERE pa.study_id = ? AND pa.randomized_at IS NOT NULL GROUP BY 1 ORDER BY 1",
                        &p, 1, &arms, err);
    if (rc) {
        somna_db_result_free(&ex);
        return rc;
    }
    if (md) {
        fprintf(out, "## Participant flow\n\nScreened %ld → eligible %ld → randomized %ld → analysed %ld\n\n",
                a->n_screened, a->n_eligible, a->n_randomized, a->n_analysed);
        for (size_t i = 0; i < ex.n_rows; i++) {
            fputs("- excluded: ", out);
            md_text(out, somna_db_get_text(&ex, i, 0));
            fprintf(out, " (%lld)\n", (long long)somna_db_get_int(&ex, i, 1, 0));
        }
        fputc('\n', out);
    } else {
        fputs("<h2>Participant flow</h2>\n<div class=\"flow\">\n", out);
        fprintf(out, "<div class=\"box\">Assessed for eligibility (screened)<br><b>n = %ld</b></div>\n", a->n_screened);
        fputs("<div class=\"arrow\">&#8595;</div>\n<div class=\"row\">", out);
        fprintf(out, "<div class=\"box\">Eligible<br><b>n = %ld</b></div>", a->n_eligible);
        fprintf(out, "<div class=\"box excl\">Excluded <b>n = %ld</b>", a->n_screened - a->n_eligible);
        for (size_t i = 0; i < ex.n_rows; i++) {
            fputs("<br><span class=\"muted\">", out);
            H(somna_db_get_text(&ex, i, 0));
            fprintf(out, ": %lld</span>", (long long)somna_db_get_int(&ex, i, 1, 0));
        }
        fputs("</div></div>\n<div class=\"arrow\">&#8595;</div>\n", out);
        fprintf(out, "<div class=\"box\">Randomized / allocated<br><b>n = %ld</b></div>\n", a->n_randomized);
        fputs("<div class=\"arrow\">&#8595;</div>\n<div class=\"row\">", out);
        for (size_t i = 0; i < arms.n_rows; i++) {
            fputs("<div class=\"box\">", out);
            H(somna_db_get_text(&arms, i, 0));
            fprintf(out, "<br><b>n = %lld</b></div>", (long long)somna_db_get_int(&arms, i, 1, 0));
        }
        fputs("</div>\n<div class=\"arrow\">&#8595;</div>\n", out);
        fprintf(out, "<div class=\"box\">Analysed (any outcome value)<br><b>n = %ld</b></div>\n</div>\n", a->n_analysed);
    }
    somna_db_result_free(&ex);
    somna_db_result_free(&arms);
    return SOMNA_OK;
}

/* ---- results table ----------------------------------------------------------------------------- */

static const somna_study_cell *find_cell(const somna_study_analysis *a, const char *m, const char *c)
{
    for (size_t i = 0; i < a->n_cells; i++)
        if (strcmp(a->cells[i].measure, m) == 0 && strcmp(a->cells[i].condition, c) == 0)
            return &a->cells[i];
    return NULL;
}

/* An effect row's numbers as table text, digits by the measure's scale. */
typedef struct effect_text {
    char m1[32], s1[32], m0[32], s0[32], df[32], lo[32], hi[32], pc[32], p[32], ef[32], el[32], eh[32], pl[32],
        pa[32];
} effect_text;

static void format_effect(const somna_study_effect *e, effect_text *t)
{
    int dg = digits_for(isfinite(e->ref_mean) ? e->ref_mean : e->mean);
    fmt_num(t->m1, sizeof t->m1, e->mean, dg);
    fmt_num(t->s1, sizeof t->s1, e->sd, dg);
    fmt_num(t->m0, sizeof t->m0, e->ref_mean, dg);
    fmt_num(t->s0, sizeof t->s0, e->ref_sd, dg);
    fmt_num(t->df, sizeof t->df, e->diff, dg);
    fmt_num(t->lo, sizeof t->lo, e->diff_ci_low, dg);
    fmt_num(t->hi, sizeof t->hi, e->diff_ci_high, dg);
    fmt_num(t->pc, sizeof t->pc, e->pct_change, 1);
    fmt_p(t->p, sizeof t->p, e->p);
    fmt_num(t->ef, sizeof t->ef, e->effect, 2);
    fmt_num(t->el, sizeof t->el, e->effect_ci_low, 2);
    fmt_num(t->eh, sizeof t->eh, e->effect_ci_high, 2);
    fmt_p(t->pl, sizeof t->pl, e->p_lmm);
    fmt_p(t->pa, sizeof t->pa, e->p_adj);
}

static void write_table(FILE *out, const somna_study_analysis *a, int md)
{
    if (md) {
        fputs("## Results\n\n| Measure | Condition | Mean ± SD | Reference | Mean ± SD (ref) | Change vs ref [95% CI] "
              "| % change | Test | p | Effect [95% CI] | p (mixed model) | p (Holm) |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|\n",
              out);
    } else {
        fputs("<h2>Results</h2>\n<p class=\"muted\">Mean ± SD of participant means; change = condition − reference "
              "with its 95 % CI; % change = ratio of means; p of the design's primary test (paired t for within-"
              "subject designs, Welch t between groups); effect = Cohen's d<sub>z</sub> (paired) or d (groups) with "
              "95 % CI; mixed-model p of the same contrast; Holm-adjusted p over all rows.</p>\n"
              "<div class=\"tw\"><table>\n<tr><th class=\"l\">Measure</th><th class=\"l\">Condition</th><th>n</th><th>Mean ± SD</th>"
              "<th class=\"l\">Reference</th><th>Mean ± SD</th><th>Change [95% CI]</th><th>% change</th>"
              "<th class=\"l\">Test</th><th>p</th><th>Effect [95% CI]</th><th>p (mixed)</th><th>p (Holm)</th></tr>\n",
              out);
    }
    for (size_t i = 0; i < a->n_effects; i++) {
        const somna_study_effect *e = &a->effects[i];
        effect_text t;
        format_effect(e, &t);
        if (md) {
            fputs("| ", out);
            md_text(out, e->measure);
            fputs(" | ", out);
            md_text(out, e->condition);
            fprintf(out, " | %s ± %s | ", t.m1, t.s1);
            md_text(out, e->reference);
            fprintf(out, " | %s ± %s | %s [%s, %s] | %s | ", t.m0, t.s0, t.df, t.lo, t.hi, t.pc);
            md_text(out, e->test);
            fprintf(out, " | %s | ", t.p);
            md_text(out, e->effect_name);
            fprintf(out, " %s [%s, %s] | %s | %s |\n", t.ef, t.el, t.eh, t.pl, t.pa);
        } else {
            fprintf(out, "<tr%s><td class=\"l\">", isfinite(e->p_adj) && e->p_adj < 0.05 ? " class=\"sig\"" : "");
            H(e->measure);
            fputs("</td><td class=\"l\">", out);
            H(e->condition);
            fprintf(out, "</td><td>%d</td><td>%s ± %s</td><td class=\"l\">", e->n, t.m1, t.s1);
            H(e->reference);
            fprintf(out, "</td><td>%s ± %s</td><td>%s [%s, %s]</td><td>%s</td><td class=\"l\">", t.m0, t.s0, t.df,
                    t.lo, t.hi, t.pc);
            H(e->test);
            fprintf(out, "</td><td>%s</td><td>", t.p);
            H(e->effect_name);
            fprintf(out, " %s [%s, %s]</td><td>%s</td><td>%s</td></tr>\n", t.ef, t.el, t.eh, t.pl, t.pa);
        }
    }
    if (!md)
        fputs("</table></div>\n", out);
    else
        fputc('\n', out);
    /* why a number is missing */
    void (*text)(FILE *, const char *) = md ? md_text : somna_report_html_escape;
    int any = 0;
    for (size_t i = 0; i < a->n_effects; i++) {
        const somna_study_effect *e = &a->effects[i];
        if (!e->note[0])
            continue;
        if (!any)
            fputs(md ? "Notes:\n\n" : "<p class=\"muted\">Not computable:</p><ul class=\"muted\">\n", out);
        any = 1;
        fputs(md ? "- " : "<li>", out);
        text(out, e->measure);
        fputs(" / ", out);
        text(out, e->condition);
        fputs(": ", out);
        text(out, e->note);
        fputs(md ? "\n" : "</li>\n", out);
    }
    if (any)
        fputs(md ? "\n" : "</ul>\n", out);
}

/* Parallel designs with repeated occasions: each arm at each occasion. */
static void write_occasions(FILE *out, const somna_study_desc *d, const somna_study_analysis *a)
{
    if (!a->n_visits)
        return;
    size_t k = (size_t)d->n_conditions;
    fputs("<h2>By occasion</h2>\n<p class=\"muted\">Mean ± SD (n) of each arm at each occasion; difference and "
          "Welch p vs the reference arm at that occasion (unadjusted).</p>\n<div class=\"figs\">\n",
          out);
    for (size_t i = 0; i < a->n_visits; i += k) {
        const somna_study_visit *v = &a->visits[i];
        if (i == 0 || strcmp(v->measure, a->visits[i - k].measure) != 0) {
            if (i)
                fputs("</table></div>\n", out);
            fputs("<div class=\"tw\"><table>\n<tr><th class=\"l\">", out);
            H(v->measure);
            fputs("</th>", out);
            for (size_t c = 0; c < k && i + c < a->n_visits; c++) {
                fputs("<th>", out);
                H(a->visits[i + c].condition);
                fputs("</th>", out);
            }
            fputs("<th>Difference</th><th>p</th></tr>\n", out);
        }
        fputs("<tr><td class=\"l\">", out);
        H(v->occasion);
        fputs("</td>", out);
        char diff[32] = "—", p[32] = "—";
        for (size_t c = 0; c < k && i + c < a->n_visits; c++) {
            const somna_study_visit *x = &a->visits[i + c];
            int dg = digits_for(x->mean);
            char m[32], sd[32];
            fmt_num(m, sizeof m, x->mean, dg);
            fmt_num(sd, sizeof sd, x->sd, dg);
            fprintf(out, "<td>%s ± %s (%d)</td>", m, sd, x->n);
            if (isfinite(x->p)) {
                fmt_num(diff, sizeof diff, x->diff, dg);
                fmt_p(p, sizeof p, x->p);
            }
        }
        fprintf(out, "<td>%s</td><td>%s</td></tr>\n", diff, p);
    }
    fputs("</table></div>\n</div>\n", out);
}

/* One figure per measure: each arm's mean with 95 % CI at each occasion. */
static int write_trajectories(FILE *out, const somna_study_desc *d, const somna_study_analysis *a, somna_err *err)
{
    size_t k = (size_t)d->n_conditions;
    if (!a->n_visits || k == 0)
        return SOMNA_OK;
    int rc = SOMNA_OK;
    fputs("<div class=\"figs\">\n", out);
    for (size_t i = 0; !rc && i < a->n_visits;) {
        size_t j = i;
        while (j < a->n_visits && strcmp(a->visits[j].measure, a->visits[i].measure) == 0)
            j++;
        size_t n_occ = (j - i) / k;
        if (n_occ == 0 || n_occ > 64) {
            i = j;
            continue;
        }
        const char *occ[64], *groups[SOMNA_STUDY_MAX_CONDITIONS];
        double mean[64 * SOMNA_STUDY_MAX_CONDITIONS], lo[64 * SOMNA_STUDY_MAX_CONDITIONS],
            hi[64 * SOMNA_STUDY_MAX_CONDITIONS];
        for (size_t g = 0; g < k; g++)
            groups[g] = d->conditions[g].code;
        for (size_t o = 0; o < n_occ; o++) {
            occ[o] = a->visits[i + o * k].occasion;
            for (size_t g = 0; g < k; g++) {
                const somna_study_visit *v = &a->visits[i + o * k + g];
                double h = v->n > 1 ? gsl_cdf_tdist_Pinv(0.975, (double)(v->n - 1)) * v->sd / sqrt((double)v->n) : NAN;
                mean[g * n_occ + o] = v->mean;
                lo[g * n_occ + o] = v->mean - h;
                hi[g * n_occ + o] = v->mean + h;
            }
        }
        somna_plot_canvas *cv = NULL;
        rc = somna_plot_canvas_create(380, 270, &cv, err);
        somna_err pe;
        somna_err_init(&pe, NULL, NULL);
        if (!rc && somna_plot_trajectory(cv, occ, n_occ, groups, k, mean, lo, hi, a->visits[i].measure,
                                         a->visits[i].measure, &pe) == SOMNA_OK)
            rc = emit_svg(out, cv, err);
        somna_plot_canvas_destroy(cv);
        i = j;
    }
    fputs("</div>\n", out);
    return rc;
}

/* Seed 2024: those who drifted off on the table did better.  When the
 * session log records it, the analysis is repeated on that subgroup. */
static int write_subgroup(FILE *out, somna_db *db, int64_t sid, const somna_report_opts *o, somna_err *err)
{
    if (o && o->subset)
        return SOMNA_OK; /* the whole report is already a subset */
    somna_dbv p = somna_dbv_int(sid);
    int64_t n = 0;
    int rc = somna_db_query_int(db,
                                "SELECT count(*) FROM session s JOIN participant pa ON pa.id = s.participant_id "
                                "WHERE pa.study_id = ? AND s.drifted_off = 1",
                                &p, 1, &n, err);
    if (rc || n == 0)
        return rc;
    somna_study_analyze_opts ao = {"drifted_off=1", NULL, NULL, NULL};
    somna_study_analysis a;
    if ((rc = somna_study_analyze(db, sid, &ao, &a, err)))
        return rc;
    fprintf(out, "<h2>Subgroup: drifted off during the massage</h2>\n<p class=\"muted\">Massage nights kept only when "
                 "the session log says the participant fell asleep on the table (%lld sessions); reference nights "
                 "unchanged.  Exploratory: p not adjusted beyond this table's Holm.</p>\n",
            (long long)n);
    fputs("<div class=\"tw\"><table>\n<tr><th class=\"l\">Measure</th><th class=\"l\">Condition</th><th>n</th>"
          "<th>Change [95% CI]</th><th>% change</th><th>p</th><th>p (Holm)</th></tr>\n",
          out);
    for (size_t i = 0; i < a.n_effects; i++) {
        const somna_study_effect *e = &a.effects[i];
        effect_text t;
        format_effect(e, &t);
        fputs("<tr><td class=\"l\">", out);
        H(e->measure);
        fputs("</td><td class=\"l\">", out);
        H(e->condition);
        fputs(" vs ", out);
        H(e->reference);
        fprintf(out, "</td><td>%d</td><td>%s [%s, %s]</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", e->n, t.df, t.lo,
                t.hi, t.pc, t.p, t.pa);
    }
    fputs("</table></div>\n", out);
    somna_study_analysis_free(&a);
    return SOMNA_OK;
}

/* ---- figures ---------------------------------------------------------------------------------------- */

static int outcome_figure(FILE *out, somna_db *db, int64_t sid, const somna_study_desc *d,
                          const somna_study_analysis *a, const char *measure, somna_err *err)
{
    int paired = a->design == SOMNA_STUDY_CROSSOVER || a->design == SOMNA_STUDY_DOSE;
    somna_dbv p[] = {somna_dbv_int(sid), somna_dbv_text(measure)};
    somna_db_result r;
    /* participant x condition means over the analysed occasions (baseline excluded) */
    int rc = somna_db_query(db,
                            "SELECT participant, condition, avg(value) FROM outcome WHERE study_id = ? AND measure = ? "
                            "AND value IS NOT NULL AND condition IS NOT NULL AND (time_index IS NULL OR time_index > 0 "
                            "OR kind <> 'visit') GROUP BY participant, condition ORDER BY participant",
                            p, 2, &r, err);
    if (rc)
        return rc;
    size_t k = (size_t)d->n_conditions, n = 0;
    double *vals = calloc(r.n_rows * k + 1, sizeof *vals);
    if (!vals) {
        somna_db_result_free(&r);
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    }
    const char *last = NULL;
    for (size_t i = 0; i < r.n_rows; i++) {
        const char *part = somna_db_get_text(&r, i, 0), *cond = somna_db_get_text(&r, i, 1);
        if (!part || !cond)
            continue;
        if (!last || strcmp(last, part) != 0) {
            for (size_t j = 0; j < k; j++)
                vals[n * k + j] = NAN;
            n++;
            last = part;
        }
        for (size_t j = 0; j < k; j++)
            if (strcmp(d->conditions[j].code, cond) == 0)
                vals[(n - 1) * k + j] = somna_db_get_double(&r, i, 2);
    }
    const char *labels[SOMNA_STUDY_MAX_CONDITIONS];
    double mean[SOMNA_STUDY_MAX_CONDITIONS], lo[SOMNA_STUDY_MAX_CONDITIONS], hi[SOMNA_STUDY_MAX_CONDITIONS];
    for (size_t j = 0; j < k; j++) {
        labels[j] = d->conditions[j].code;
        const somna_study_cell *c = find_cell(a, measure, d->conditions[j].code);
        mean[j] = c ? c->mean : NAN;
        lo[j] = c ? c->ci_low : NAN;
        hi[j] = c ? c->ci_high : NAN;
    }
    somna_plot_canvas *cv = NULL;
    rc = somna_plot_canvas_create(340, 260, &cv, err);
    if (!rc) {
        somna_err pe;
        somna_err_init(&pe, NULL, NULL);
        if (somna_plot_conditions(cv, labels, k, vals, n, paired, mean, lo, hi, measure, measure, &pe) == SOMNA_OK)
            rc = emit_svg(out, cv, err);
        /* a measure with no plottable value is listed in the table's notes */
    }
    somna_plot_canvas_destroy(cv);
    free(vals);
    somna_db_result_free(&r);
    return rc;
}

static int is_hrv(const char *m)
{
    /* log-transformed powers ("ln_HF_N2") are HRV measures too */
    if (somna_strnieq(m, "ln_", 3))
        m += 3;
    else if (somna_strnieq(m, "log_", 4))
        m += 4;
    static const char *const names[] = {"AVNN", "SDNN", "SDANN", "SDNNIDX", "RMSSD", "pNN50", "HR", "TOTPWR", "ULF",
                                        "VLF",  "LF",   "HF",    "LF_HF",   "LFnu",  "HFnu",  "SD1", "SD2",    "SampEn",
                                        "DFA_a1", "DFA_a2", NULL};
    for (size_t i = 0; names[i]; i++)
        if (somna_strieq(m, names[i]) || (somna_strnieq(m, names[i], strlen(names[i])) && m[strlen(names[i])] == '_'))
            return 1;
    return 0;
}

static int is_emg(const char *m)
{
    if (somna_strnieq(m, "ln_", 3))
        m += 3;
    return somna_strnieq(m, "emg", 3) || strstr(m, "tone") != NULL || strstr(m, "atonia") != NULL;
}

static int figures(FILE *out, somna_db *db, int64_t sid, const somna_study_desc *d, const somna_study_analysis *a,
                   somna_err *err)
{
    /* distinct measures in table order */
    const char *ms[256];
    size_t nm = 0;
    for (size_t i = 0; i < a->n_cells && nm < 256; i++) {
        size_t j = 0;
        while (j < nm && strcmp(ms[j], a->cells[i].measure) != 0)
            j++;
        if (j == nm)
            ms[nm++] = a->cells[i].measure;
    }
    static const char *const titles[] = {"Outcomes by condition", "Heart-rate variability",
                                         "Muscle tone (EMG)"};
    int rc = SOMNA_OK;
    for (int sec = 0; !rc && sec < 3; sec++) {
        fprintf(out, "<h2>%s</h2>\n", titles[sec]);
        if (sec == 0)
            fputs("<p class=\"muted\">Grey: each participant (lines join a participant's conditions in within-subject "
                  "designs); red: condition mean with 95 % CI.</p>\n",
                  out);
        fputs("<div class=\"figs\">\n", out);
        int shown = 0;
        for (size_t i = 0; !rc && i < nm; i++) {
            int kind = is_hrv(ms[i]) ? 1 : is_emg(ms[i]) ? 2 : 0;
            if (kind != sec)
                continue;
            rc = outcome_figure(out, db, sid, d, a, ms[i], err);
            shown++;
        }
        fputs("</div>\n", out);
        if (!shown)
            fprintf(out, "<p class=\"muted\">No %s measures in this study's database.</p>\n",
                    sec == 1 ? "HRV" : sec == 2 ? "EMG" : "outcome");
    }
    if (rc)
        return rc;
    /* forest plot of standardized effects */
    fputs("<h2>Forest plot</h2>\n", out);
    size_t n = 0;
    char(*lab)[128] = calloc(a->n_effects + 1, sizeof *lab);
    const char **labp = calloc(a->n_effects + 1, sizeof *labp);
    double *est = calloc(a->n_effects + 1, sizeof *est), *lo = calloc(a->n_effects + 1, sizeof *lo),
           *hi = calloc(a->n_effects + 1, sizeof *hi);
    if (!lab || !labp || !est || !lo || !hi)
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    for (size_t i = 0; !rc && i < a->n_effects; i++) {
        const somna_study_effect *e = &a->effects[i];
        if (!isfinite(e->effect) || (strcmp(e->effect_name, "d") != 0 && strcmp(e->effect_name, "dz") != 0))
            continue;
        snprintf(lab[n], sizeof lab[n], "%s: %s vs %s", e->measure, e->condition, e->reference);
        labp[n] = lab[n];
        est[n] = e->effect;
        lo[n] = e->effect_ci_low;
        hi[n] = e->effect_ci_high;
        n++;
    }
    if (!rc && n) {
        somna_plot_canvas *cv = NULL;
        rc = somna_plot_canvas_create(820, 70 + 26.0 * (double)n, &cv, err);
        if (!rc)
            rc = somna_plot_forest(cv, labp, est, lo, hi, n, "standardized effect (Cohen's d / dz) with 95% CI",
                                   NULL, err);
        if (!rc)
            rc = emit_svg(out, cv, err);
        somna_plot_canvas_destroy(cv);
    } else if (!rc) {
        fputs("<p class=\"muted\">No standardized effect could be computed.</p>\n", out);
    }
    free(lab);
    free(labp);
    free(est);
    free(lo);
    free(hi);
    return rc;
}

static int hypnograms(FILE *out, somna_db *db, int64_t sid, int max, somna_err *err)
{
    somna_dbv p[] = {somna_dbv_int(sid), somna_dbv_int(max)};
    somna_db_result r;
    int rc = somna_db_query(db,
                            "SELECT pa.code, COALESCE(c.code, ''), n.label, r.path, n.kind, n.lights_off, n.lights_on "
                            "FROM recording r "
                            "JOIN night n ON n.id = r.night_id JOIN participant pa ON pa.id = n.participant_id "
                            "LEFT JOIN condition c ON c.id = n.condition_id WHERE pa.study_id = ? AND "
                            "r.kind = 'hypnogram' ORDER BY pa.enrol_order, n.period, n.label LIMIT ?",
                            p, 2, &r, err);
    if (rc)
        return rc;
    fputs("<h2>Hypnograms</h2>\n", out);
    if (r.n_rows == 0)
        fputs("<p class=\"muted\">No hypnogram files are linked to this study's nights.</p>\n", out);
    for (size_t i = 0; !rc && i < r.n_rows; i++) {
        const char *path = somna_db_get_text(&r, i, 3);
        somna_hypnogram h;
        memset(&h, 0, sizeof h);
        somna_hypno_read_opts ro;
        memset(&ro, 0, sizeof ro);
        ro.epoch_s = 30;
        somna_err he;
        somna_err_init(&he, NULL, NULL);
        char title[200];
        snprintf(title, sizeof title, "%s — %s — %s (%s)", somna_db_get_text(&r, i, 0), somna_db_get_text(&r, i, 2),
                 somna_db_get_text(&r, i, 1), somna_db_get_text(&r, i, 4));
        if (somna_hypno_read(path, &ro, &h, NULL, &he) != SOMNA_OK) {
            fputs("<p class=\"muted\">", out);
            H(title);
            fputs(": cannot read hypnogram: ", out);
            H(he.msg);
            fputs("</p>\n", out);
            continue;
        }
        somna_plot_canvas *cv = NULL;
        rc = somna_plot_canvas_create(760, 200, &cv, err);
        /* lights-off/on marks from the night's clock times, as process uses them */
        somna_plot_hypno_opts ho = {title, -1, -1};
        double clk;
        const char *loff = somna_db_get_text(&r, i, 5), *lon = somna_db_get_text(&r, i, 6);
        if (h.start_clock_s >= 0 && loff && somna_parse_clock(loff, &clk) == 0)
            ho.lights_off_s = fmod(clk - h.start_clock_s + 86400.0, 86400.0);
        if (h.start_clock_s >= 0 && lon && somna_parse_clock(lon, &clk) == 0)
            ho.lights_on_s = fmod(clk - h.start_clock_s + 86400.0, 86400.0);
        if (!rc && somna_plot_hypnogram(cv, &h, &ho, &he) == SOMNA_OK)
            rc = emit_svg(out, cv, err);
        somna_plot_canvas_destroy(cv);
        somna_hypno_free(&h);
    }
    somna_db_result_free(&r);
    return rc;
}

/* What the database holds for this study, with where each measure came from. */
static int write_contents(FILE *out, somna_db *db, int64_t sid, somna_err *err)
{
    static const char *const q[][2] = {
        {"sessions", "SELECT count(*) FROM session s JOIN participant p ON p.id = s.participant_id WHERE p.study_id = ?"},
        {"nights / naps / visits", "SELECT count(*) FROM night n JOIN participant p ON p.id = n.participant_id "
                                   "WHERE p.study_id = ?"},
        {"recordings (SHA-256 checked)", "SELECT count(*) FROM recording r JOIN night n ON n.id = r.night_id "
                                         "JOIN participant p ON p.id = n.participant_id WHERE p.study_id = ?"},
        {"derived measures", "SELECT count(*) FROM measure m JOIN night n ON n.id = m.night_id JOIN participant p "
                             "ON p.id = n.participant_id WHERE p.study_id = ?"},
        {"questionnaire scores", "SELECT count(*) FROM questionnaire q JOIN participant p ON p.id = q.participant_id "
                                 "WHERE p.study_id = ?"},
        {"biomarker samples", "SELECT count(*) FROM biomarker b JOIN participant p ON p.id = b.participant_id "
                              "WHERE p.study_id = ?"},
    };
    fputs("<h2>Data</h2>\n<table>\n", out);
    somna_dbv p = somna_dbv_int(sid);
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        int64_t n;
        int rc = somna_db_query_int(db, q[i][1], &p, 1, &n, err);
        if (rc)
            return rc;
        fprintf(out, "<tr><td class=\"l\">%s</td><td>%lld</td></tr>\n", q[i][0], (long long)n);
    }
    fputs("</table>\n", out);
    somna_db_result r;
    int rc = somna_db_query(db,
                            "SELECT m.source, m.somna_version, count(*), count(DISTINCT m.name) FROM measure m "
                            "JOIN night n ON n.id = m.night_id JOIN participant p ON p.id = n.participant_id "
                            "WHERE p.study_id = ? GROUP BY m.source, m.somna_version ORDER BY m.source",
                            &p, 1, &r, err);
    if (rc)
        return rc;
    if (r.n_rows) {
        fputs("<table>\n<tr><th class=\"l\">Measure source</th><th class=\"l\">somna version</th><th>Rows</th>"
              "<th>Measures</th></tr>\n",
              out);
        for (size_t i = 0; i < r.n_rows; i++) {
            fputs("<tr><td class=\"l\">", out);
            H(somna_db_get_text(&r, i, 0));
            fputs("</td><td class=\"l\">", out);
            H(somna_db_get_text(&r, i, 1));
            fprintf(out, "</td><td>%lld</td><td>%lld</td></tr>\n", (long long)somna_db_get_int(&r, i, 2, 0),
                    (long long)somna_db_get_int(&r, i, 3, 0));
        }
        fputs("</table>\n", out);
    }
    somna_db_result_free(&r);
    return SOMNA_OK;
}

/* ---- document ------------------------------------------------------------------------------------------ */

int somna_report_write(somna_db *db, int64_t study_id, const somna_report_opts *o, FILE *out, somna_err *err)
{
    int md = o && o->format == SOMNA_REPORT_MD;
    somna_study_desc d;
    int rc = somna_study_load(db, study_id, &d, err);
    if (rc)
        return rc;
    somna_study_analyze_opts ao = {o ? o->subset : NULL, NULL, NULL, NULL};
    somna_study_analysis a;
    if ((rc = somna_study_analyze(db, study_id, &ao, &a, err)))
        return rc;
    time_t now = time(NULL);
    struct tm tmv;
    char when[32] = "";
    if (gmtime_r(&now, &tmv))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tmv);
    if (md) {
        fputs("# ", out);
        md_text(out, d.name);
        fprintf(out, "\n\n%s design, %d conditions; generated by somna %s on %s.\n\n",
                somna_study_design_name(d.design), d.n_conditions, SOMNA_VERSION, when);
        if (a.subset[0])
            fprintf(out, "Subset: %s\n\n", a.subset);
        rc = write_flow(out, db, study_id, &a, 1, err);
        if (!rc)
            write_table(out, &a, 1);
    } else {
        fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
              out);
        H(d.name);
        fprintf(out, " — somna report</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", css);
        H(d.name);
        fprintf(out, "</h1>\n<p class=\"muted\">%s design · randomization ", somna_study_design_name(d.design));
        H(d.randomization);
        fprintf(out, " (seed %llu) · generated by somna %s on %s</p>\n", (unsigned long long)d.seed, SOMNA_VERSION,
                when);
        if (a.subset[0]) {
            fputs("<p><b>Subset:</b> ", out);
            H(a.subset);
            fputs("</p>\n", out);
        }
        fputs("<h2>Conditions</h2>\n<table>\n<tr><th class=\"l\">Code</th><th class=\"l\">Condition</th>"
              "<th class=\"l\">Massage type</th><th>Minutes</th><th class=\"l\">Pressure</th><th class=\"l\">Region</th>"
              "</tr>\n",
              out);
        for (int i = 0; i < d.n_conditions; i++) {
            const somna_study_condition *c = &d.conditions[i];
            char mins[32];
            fmt_num(mins, sizeof mins, c->minutes, 0);
            fputs("<tr><td class=\"l\">", out);
            H(c->code);
            fputs(strcmp(c->code, d.control) == 0 ? " (reference)" : "", out);
            fputs("</td><td class=\"l\">", out);
            H(c->label);
            fputs("</td><td class=\"l\">", out);
            H(c->massage_type);
            fprintf(out, "</td><td>%s</td><td class=\"l\">", mins);
            H(c->pressure);
            fputs("</td><td class=\"l\">", out);
            H(c->region);
            fputs("</td></tr>\n", out);
        }
        fputs("</table>\n", out);
        rc = write_contents(out, db, study_id, err);
        if (!rc)
            rc = write_flow(out, db, study_id, &a, 0, err);
        if (!rc) {
            write_table(out, &a, 0);
            write_occasions(out, &d, &a);
            rc = write_trajectories(out, &d, &a, err);
        }
        if (!rc)
            rc = write_subgroup(out, db, study_id, o, err);
        if (!rc)
            rc = figures(out, db, study_id, &d, &a, err);
        if (!rc)
            rc = hypnograms(out, db, study_id, o && o->max_hypnograms > 0 ? o->max_hypnograms : 12, err);
        fputs("<h2>Methods</h2>\n<p class=\"muted\">Statistics by the somna statistics engine (checked against R "
              "4.2): paired t and Wilcoxon signed-rank tests, Welch t and Mann-Whitney tests, Cohen's d/d<sub>z</sub> "
              "with noncentral-t CIs, linear mixed models fitted by REML with Satterthwaite degrees of freedom "
              "(as lme4 + lmerTest), Holm adjustment (Holm 1979). Sleep statistics from hypnograms as defined in "
              "docs/sleep-statistics.md.</p>\n</body>\n</html>\n",
              out);
    }
    somna_study_analysis_free(&a);
    if (!rc && ferror(out))
        rc = somna_fail(err, SOMNA_E_IO, "write error while writing the report");
    return rc;
}
