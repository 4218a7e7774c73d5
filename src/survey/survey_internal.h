/* survey module — private helpers shared by the instrument files. */
#ifndef SOMNA_SURVEY_INTERNAL_H
#define SOMNA_SURVEY_INTERNAL_H

#include "somna/survey.h"

/* One field an instrument reads: standard name, '|'-separated aliases,
 * short label (docs and messages), optional flag. */
typedef struct sv_field {
    const char *name;
    const char *aliases;
    const char *label;
    int optional;
} sv_field;

/* The record being scored. */
typedef struct sv_rec {
    somna_survey_get_fn get;
    void *ctx;
    somna_survey_result *res;
} sv_rec;

enum { SV_BAD = -1, SV_MISSING = 0, SV_OK = 1 };

/* Record a problem on `field` ("" for the record). */
void sv_problem(sv_rec *r, const char *field, int fatal, const char *fmt, ...) SOMNA_PRINTF(4, 5);

/* Raw answer: SV_MISSING (absent, empty or NA marker) or SV_OK with *text trimmed
 * into buf. */
int sv_text(sv_rec *r, const char *field, char *buf, size_t size);

/* Whole-number item in [lo, hi] ("2" and "2.0" accepted).  SV_BAD records a
 * fatal problem naming the value and the allowed range. */
int sv_item(sv_rec *r, const char *field, int lo, int hi, int *out);
/* Real number in [lo, hi]. */
int sv_real(sv_rec *r, const char *field, double lo, double hi, double *out);
/* Clock time (24-h "23:30", "23:30:00", 12-h "11:30 pm", "11pm", "noon",
 * "midnight") -> seconds after midnight. */
int sv_clock(sv_rec *r, const char *field, double *seconds);
/* Duration: a plain number in `unit` ("min" or "h"), a number with a unit
 * suffix ("20 min", "6.5 h"), or H:MM ("0:20", "6:30") -> value in `unit`,
 * checked to lie in [lo, hi]. */
int sv_duration(sv_rec *r, const char *field, const char *unit, double lo, double hi, double *out);

/* Parse a clock text without recording anything (used by tests too). */
int sv_parse_clock(const char *s, double *seconds);

/* Instruments (one file each). */
void sv_score_psqi(sv_rec *r, const somna_survey_opts *opts);
void sv_score_rcsq(sv_rec *r);
void sv_score_isi(sv_rec *r);
void sv_score_ess(sv_rec *r);
void sv_score_kss(sv_rec *r);
void sv_score_scale(sv_rec *r, const somna_survey_scale *scale);
void sv_score_diary(sv_rec *r);

/* Field tables. */
extern const sv_field sv_psqi_fields[];
extern const size_t sv_psqi_n_fields;
extern const sv_field sv_rcsq_fields[];
extern const size_t sv_rcsq_n_fields;
extern const sv_field sv_isi_fields[];
extern const size_t sv_isi_n_fields;
extern const sv_field sv_ess_fields[];
extern const size_t sv_ess_n_fields;
extern const sv_field sv_kss_fields[];
extern const size_t sv_kss_n_fields;
extern const sv_field sv_diary_fields[];
extern const size_t sv_diary_n_fields;

#endif
