/* somna — the results report of a study: self-contained HTML (inline SVG,
 * no network, no scripts) or a Markdown table.
 *
 * Contents: study summary and conditions, CONSORT-style flow (screened,
 * excluded with reasons, eligible, randomized per arm, analysed; Schulz et
 * al. 2010), the seed-000 table (measure x condition: mean +/- SD, change vs
 * control with CI, % change, p, effect size with CI, Holm-adjusted p),
 * per-outcome figures (each participant's values, paired lines for
 * within-subject designs, condition means with 95 % CIs), a forest plot of
 * standardized effects, hypnograms of the study's nights, and HRV / EMG
 * panels when those measures exist.  Every piece of text from the database
 * or the files is HTML-escaped.
 */
#ifndef SOMNA_REPORT_H
#define SOMNA_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "somna/db.h"
#include "somna/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum somna_report_format { SOMNA_REPORT_HTML = 0, SOMNA_REPORT_MD } somna_report_format;

typedef struct somna_report_opts {
    somna_report_format format;
    const char *subset;     /* analysis subset ("drifted_off=1") or NULL */
    int max_hypnograms;     /* hypnogram figures at most (0 = 12) */
} somna_report_opts;

/* Write the report of a study to `out`. */
int somna_report_write(somna_db *db, int64_t study_id, const somna_report_opts *o, FILE *out, somna_err *err);

/* Write s HTML-escaped (& < > " ') to out. */
void somna_report_html_escape(FILE *out, const char *s);

#ifdef __cplusplus
}
#endif
#endif
