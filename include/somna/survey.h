/* somna — questionnaires and sleep diaries: PSQI, RCSQ, ISI, Epworth,
 * Karolinska, configurable (relaxation) scales, Consensus Sleep Diary.
 *
 * One record (one questionnaire, one diary night) is scored from a
 * key -> value accessor, so the same code serves a CSV file (cli `score`),
 * a database row (study module) or a test.  The accessor is asked for the
 * instrument's standard field names ("psqi_01", "isi_3", "csd_bedtime" ...,
 * listed by somna_survey_field_name) and returns the answer as text, or
 * NULL when the record has no such field.  Empty text and the markers NA,
 * NaN, ".", "null", "-" mean "not answered".
 *
 * A record is never scored silently wrong: every answer that is missing,
 * out of range or contradictory becomes a problem naming the field, and each
 * output value is either computed under the documented rule
 * (docs/questionnaires.md) or NaN ("not computable").  Data problems are not
 * errors: somna_survey_score returns SOMNA_OK and reports them in the
 * result; it fails only on invalid arguments.
 */
#ifndef SOMNA_SURVEY_H
#define SOMNA_SURVEY_H

#include <stddef.h>
#include <stdint.h>

#include "somna/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum somna_survey_kind {
    SOMNA_SURVEY_PSQI = 0,  /* Pittsburgh Sleep Quality Index (Buysse 1989) */
    SOMNA_SURVEY_RCSQ,      /* Richards-Campbell Sleep Questionnaire (Richards 2000) */
    SOMNA_SURVEY_ISI,       /* Insomnia Severity Index (Bastien, Vallieres & Morin 2001) */
    SOMNA_SURVEY_ESS,       /* Epworth Sleepiness Scale (Johns 1991) */
    SOMNA_SURVEY_KSS,       /* Karolinska Sleepiness Scale (Akerstedt & Gillberg 1990) */
    SOMNA_SURVEY_SCALE,     /* configurable scale, e.g. a relaxation-state questionnaire */
    SOMNA_SURVEY_DIARY,     /* Consensus Sleep Diary, one night (Carney et al. 2012) */
    SOMNA_SURVEY_N_KINDS
} somna_survey_kind;

/* Returns the text of `field` in the record being scored, or NULL when the
 * record has no such field.  The pointer must stay valid until the next call. */
typedef const char *(*somna_survey_get_fn)(void *ctx, const char *field);

/* ---- configurable scale ------------------------------------------------ */

#define SOMNA_SURVEY_SCALE_MAX_ITEMS 64
#define SOMNA_SURVEY_NAME_MAX 64

typedef struct somna_survey_scale {
    char name[SOMNA_SURVEY_NAME_MAX];      /* output column prefix, e.g. "relax" */
    size_t n_items;
    char items[SOMNA_SURVEY_SCALE_MAX_ITEMS][SOMNA_SURVEY_NAME_MAX];
    unsigned char reverse[SOMNA_SURVEY_SCALE_MAX_ITEMS]; /* 1 = reverse keyed: min + max - x */
    double min, max;                       /* answer range (inclusive) */
    int mean;                              /* 1 = score is the item mean, 0 = the item sum */
    int integer;                           /* 1 = answers must be whole numbers */
    size_t max_missing;                    /* unanswered items tolerated (person-mean rule) */
} somna_survey_scale;

/* Defaults: name "scale", no items, range 1..5, sum, integer answers, no missing item. */
void somna_survey_scale_init(somna_survey_scale *s);

/* Set the items from a comma/blank separated list ("r1,r2, r3"); reverse
 * keys from a second list whose names must be among the items. */
int somna_survey_scale_set_items(somna_survey_scale *s, const char *list, somna_err *err);
int somna_survey_scale_set_reverse(somna_survey_scale *s, const char *list, somna_err *err);

/* Read "key = value" lines (# comments): name, items, reverse, min, max,
 * range (MIN:MAX), scoring (sum|mean), integer (yes|no), max_missing.
 * `source` names the text in messages ("relax.conf:4: ..."). */
int somna_survey_scale_parse(somna_survey_scale *s, const char *text, const char *source, somna_err *err);
/* Check a filled-in scale (>= 1 item, min < max, max_missing < n_items). */
int somna_survey_scale_check(const somna_survey_scale *s, somna_err *err);

/* ---- options ------------------------------------------------------------ */

typedef struct somna_survey_opts {
    /* PSQI: count unanswered disturbance items 5b-5i as 0 ("not during the
     * past month"), the rule of the LCBC R package, instead of the default
     * (component 5 only when its band is the same for every possible answer). */
    int psqi_missing_as_zero;
    /* SOMNA_SURVEY_SCALE: the scale definition (required for that kind). */
    const somna_survey_scale *scale;
} somna_survey_opts;

/* ---- results ------------------------------------------------------------ */

#define SOMNA_SURVEY_MAX_OUTPUTS 12
#define SOMNA_SURVEY_MAX_PROBLEMS 16

typedef struct somna_survey_problem {
    char field[SOMNA_SURVEY_NAME_MAX]; /* standard field name, "" = the record as a whole */
    char msg[192];                      /* what is wrong and which rule was applied */
    int fatal;                          /* 1 = made an output not computable, 0 = note */
} somna_survey_problem;

typedef struct somna_survey_result {
    int scored;                                /* 1 = the main score was computed */
    double value[SOMNA_SURVEY_MAX_OUTPUTS];    /* see somna_survey_output_name; NaN = not computable */
    const char *band;                          /* band/category of the main score (static), NULL if none */
    size_t n_problems;
    unsigned n_problems_dropped;               /* problems beyond SOMNA_SURVEY_MAX_PROBLEMS */
    somna_survey_problem problem[SOMNA_SURVEY_MAX_PROBLEMS];
} somna_survey_result;

/* Instrument by name: psqi, rcsq, isi, ess|epworth, kss|karolinska,
 * scale|relaxation, diary|csd (case-insensitive).  SOMNA_E_NOTFOUND otherwise. */
int somna_survey_kind_from_name(const char *name, somna_survey_kind *kind, somna_err *err);
const char *somna_survey_kind_name(somna_survey_kind kind);
const char *somna_survey_kind_title(somna_survey_kind kind);

/* Fields an instrument reads.  `opts` matters only for SOMNA_SURVEY_SCALE. */
size_t somna_survey_n_fields(somna_survey_kind kind, const somna_survey_opts *opts);
const char *somna_survey_field_name(somna_survey_kind kind, const somna_survey_opts *opts, size_t i);
const char *somna_survey_field_label(somna_survey_kind kind, const somna_survey_opts *opts, size_t i);
/* 1 = the record may omit this field (e.g. PSQI 5j, RCSQ noise, ISI total). */
int somna_survey_field_optional(somna_survey_kind kind, const somna_survey_opts *opts, size_t i);
/* 1 if a column header names field i: the standard name or a known alias,
 * compared ignoring case, blanks, '_', '-', '.' and leading zeros of numbers
 * ("PSQI 5a" = "psqi_05a"). */
int somna_survey_field_matches(somna_survey_kind kind, const somna_survey_opts *opts, size_t i,
                               const char *column);

/* Outputs of an instrument, in result->value order.  Names for the scale
 * kind are prefixed by scale->name ("relax_score"), hence the buffer. */
size_t somna_survey_n_outputs(somna_survey_kind kind);
const char *somna_survey_output_name(somna_survey_kind kind, size_t i);
/* Index of the main score among the outputs (PSQI global, ISI total ...). */
size_t somna_survey_main_output(somna_survey_kind kind);

/* Score one record.  Fails (SOMNA_E_ARG) only on bad arguments. */
int somna_survey_score(somna_survey_kind kind, const somna_survey_opts *opts, somna_survey_get_fn get, void *ctx,
                       somna_survey_result *res, somna_err *err);

/* ---- scoring the rows of a table ------------------------------------------
 * Column resolution shared by the CLI and study imports: the instrument's
 * fields are found in the header by standard name or alias, the participant
 * id and date columns by their usual names, and explicit mappings override. */

#define SOMNA_SURVEY_MAX_FIELDS (SOMNA_SURVEY_SCALE_MAX_ITEMS + 4)

struct somna_table;

typedef struct somna_survey_columns {
    somna_survey_kind kind;
    const somna_survey_opts *opts;     /* kept by pointer: must outlive the mapping */
    const struct somna_table *table;
    size_t n_fields;
    const char *field[SOMNA_SURVEY_MAX_FIELDS]; /* standard names */
    long col[SOMNA_SURVEY_MAX_FIELDS];          /* column of each field, -1 = absent */
    long id_col, date_col;                      /* -1 = absent */
} somna_survey_columns;

/* Match the header.  Fails only on bad arguments (e.g. a scale without items). */
int somna_survey_columns_init(somna_survey_columns *m, somna_survey_kind kind, const somna_survey_opts *opts,
                              const struct somna_table *t, somna_err *err);
/* Map FIELD (a field name or alias, or "id" / "date") to the column named
 * COLUMN.  SOMNA_E_NOTFOUND with a message naming the unknown field or column. */
int somna_survey_columns_set(somna_survey_columns *m, const char *field, const char *column, somna_err *err);
/* Check that every required field has a column (SOMNA_E_NOTFOUND naming the
 * missing fields otherwise).  A recorded total (ISI, ESS) stands in for the
 * items; when only some item-like columns sit beside it they are set aside,
 * with a warning naming them.  PSQI hours in bed stand in for items 1 and 3. */
int somna_survey_columns_check(somna_survey_columns *m, somna_err *err);
/* Header name of the column holding `field` (the field name if unmapped). */
const char *somna_survey_columns_name(const somna_survey_columns *m, const char *field);
/* Score row `row` (0-based) of the mapped table. */
int somna_survey_score_row(const somna_survey_columns *m, size_t row, somna_survey_result *res, somna_err *err);

/* Output indices, for callers that want a named value. */
enum {
    SOMNA_PSQI_C1 = 0, /* subjective sleep quality */
    SOMNA_PSQI_C2,     /* sleep latency */
    SOMNA_PSQI_C3,     /* sleep duration */
    SOMNA_PSQI_C4,     /* habitual sleep efficiency */
    SOMNA_PSQI_C5,     /* sleep disturbances */
    SOMNA_PSQI_C6,     /* use of sleeping medication */
    SOMNA_PSQI_C7,     /* daytime dysfunction */
    SOMNA_PSQI_GLOBAL, /* 0-21 */
    SOMNA_PSQI_POOR,   /* 1 = global > 5 (known even when global is not, see docs) */
    SOMNA_PSQI_TIB_H,  /* hours in bed from items 1 and 3 */
    SOMNA_PSQI_SE_PCT  /* item 4 / hours in bed * 100 */
};
enum { SOMNA_RCSQ_MEAN = 0, SOMNA_RCSQ_NOISE };
enum { SOMNA_ISI_TOTAL = 0 };
enum { SOMNA_ESS_TOTAL = 0 };
enum { SOMNA_KSS_SCORE = 0 };
enum { SOMNA_SCALE_SCORE = 0, SOMNA_SCALE_N_ANSWERED };
enum {
    SOMNA_DIARY_TIB = 0, /* minutes, into bed -> out of bed */
    SOMNA_DIARY_TST,     /* minutes */
    SOMNA_DIARY_SE,      /* percent, TST / TIB */
    SOMNA_DIARY_WASO,    /* minutes (item 5) */
    SOMNA_DIARY_SOL,     /* minutes (item 3) */
    SOMNA_DIARY_NWAK,    /* number of awakenings (item 4) */
    SOMNA_DIARY_TWAK,    /* minutes from final awakening to out of bed */
    SOMNA_DIARY_QUALITY  /* 1 very poor .. 5 very good (item 8) */
};

/* Bands of a total, exposed for totals recorded without items.  Return a
 * static label or NULL when the total is outside the instrument's range or
 * not a whole number. */
const char *somna_survey_isi_band(double total);   /* none|subthreshold|moderate|severe */
const char *somna_survey_ess_band(double total);   /* lower_normal|higher_normal|mild|moderate|severe */
const char *somna_survey_kss_band(double score);   /* alert|neither|sleepy */

/* ---- sleep diary: weekly means ----------------------------------------- */

/* Day number (days since 1970-01-01) of an ISO date "YYYY-MM-DD" (also
 * "YYYY/MM/DD"; a trailing time "THH:MM..." or " HH:MM" is ignored).
 * Returns 0, or -1 when the text is not a valid calendar date. */
int somna_survey_parse_date(const char *s, int32_t *day);
/* "YYYY-MM-DD" of a day number into buf (>= 11 bytes). */
void somna_survey_format_date(int32_t day, char *buf, size_t size);

typedef struct somna_diary_night {
    const char *participant; /* caller-owned, compared with strcmp */
    int32_t day;             /* from somna_survey_parse_date */
    double value[SOMNA_SURVEY_MAX_OUTPUTS]; /* result->value of the diary night */
} somna_diary_night;

typedef struct somna_diary_week {
    const char *participant; /* points into the nights given */
    int week;                /* 1 = the participant's first 7 diary days */
    int32_t first_day;       /* first day of the week window */
    size_t n_nights;         /* diary entries in the window */
    size_t n[SOMNA_SURVEY_MAX_OUTPUTS];     /* entries with that value computable */
    double mean[SOMNA_SURVEY_MAX_OUTPUTS];  /* NaN when n == 0 */
} somna_diary_week;

/* Group nights by participant and week (week k = days [first + 7(k-1),
 * first + 7k) counted from the participant's first diary date) and average
 * every diary output over the nights where it is computable.  Weeks come out
 * ordered by participant (strcmp) then week.  *weeks is malloc'd. */
int somna_survey_diary_weeks(const somna_diary_night *nights, size_t n, somna_diary_week **weeks, size_t *n_weeks,
                             somna_err *err);

#ifdef __cplusplus
}
#endif
#endif
