/* somna — the study: database schema, enrolment and screening,
 * randomization, imports, processing of recordings, analysis by design
 * and tidy export.
 *
 * Everything is stored through somna/db.h, so the same calls work on a
 * SQLite file and on a PostgreSQL server.  Each import is one transaction:
 * an interrupted import (error, kill -9, power loss) leaves the database as
 * it was before the import started.  Participants are stored by a
 * pseudonymous code only; the schema has no column for names.
 *
 * The study description file and every import format are documented in
 * docs/study.md.
 */
#ifndef SOMNA_STUDY_H
#define SOMNA_STUDY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "somna/db.h"
#include "somna/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- schema ------------------------------------------------------------------ */

/* Version this build writes; migrations bring older databases up to it. */
#define SOMNA_STUDY_SCHEMA_VERSION 3

/* Create or upgrade the schema (each migration in its own transaction).
 * Fails on a database newer than this build. */
int somna_study_migrate(somna_db *db, somna_err *err);
/* 0 for an empty database. */
int somna_study_schema_version(somna_db *db, int *version, somna_err *err);

/* ---- description ------------------------------------------------------------------ */

enum somna_study_design {
    SOMNA_STUDY_CROSSOVER = 0,
    SOMNA_STUDY_PARALLEL,
    SOMNA_STUDY_PREPOST,
    SOMNA_STUDY_DOSE,
    SOMNA_STUDY_NOF1
};
const char *somna_study_design_name(int design);
int somna_study_design_parse(const char *s); /* -1 if unknown */

#define SOMNA_STUDY_MAX_CONDITIONS 16
#define SOMNA_STUDY_MAX_OUTCOMES 64

typedef struct somna_study_condition {
    char code[32];          /* short code used in files: "relax", "sports", "control" */
    char label[96];
    char massage_type[32];  /* swedish, sports, deep-tissue, myofascial, foot, back, hot-stone, control */
    double minutes;         /* NAN if not given */
    char pressure[32];      /* light, moderate, firm, "" */
    char region[64];        /* "whole body", "back", "feet", "" */
} somna_study_condition;

typedef struct somna_study_desc {
    char name[128];
    int design;                       /* enum somna_study_design */
    char randomization[32];           /* "permuted-blocks", "latin-square", "none" */
    uint64_t seed;
    int block_size;                   /* parallel: multiple of the number of arms (0 = 2 x arms) */
    double psqi_min;                  /* eligible only if PSQI global > psqi_min; NAN = no criterion */
    int n_conditions;
    somna_study_condition conditions[SOMNA_STUDY_MAX_CONDITIONS];
    char control[32];                 /* code of the reference condition ("" = first) */
    int n_outcomes;
    char outcomes[SOMNA_STUDY_MAX_OUTCOMES][48]; /* measures analysed, in report order (empty = all) */
} somna_study_desc;

/* Read a description file (format in docs/study.md); errors name the line. */
int somna_study_desc_read(const char *path, somna_study_desc *d, somna_err *err);
int somna_study_desc_parse(const char *text, const char *name, somna_study_desc *d, somna_err *err);

/* Create the study (migrating first).  Fails if a study of that name exists. */
int somna_study_init(somna_db *db, const somna_study_desc *d, int64_t *study_id, somna_err *err);

/* The study named `name`, or the only study when name is NULL/"". */
int somna_study_find(somna_db *db, const char *name, int64_t *study_id, somna_err *err);

/* Load the stored description of a study. */
int somna_study_load(somna_db *db, int64_t study_id, somna_study_desc *d, somna_err *err);

/* ---- enrolment and screening -------------------------------------------------------- */

/* Contraindications to massage (seed 001).  Codes accepted in files. */
extern const char *const somna_study_contraindications[];

typedef struct somna_study_screen {
    const char *code;              /* pseudonymous participant code */
    double age;                    /* NAN = not given */
    const char *sex;               /* "F", "M", other text or NULL */
    const char *stratum;           /* stratification label or NULL */
    double psqi;                   /* PSQI global, NAN = not given */
    const char *contraindications; /* comma/semicolon list of codes, "" or NULL = none */
    const char *date;              /* screening date or NULL */
} somna_study_screen;

/* Screen and enrol one participant (eligible -> status "enrolled", else
 * "excluded").  reason receives "eligible" or why not. */
int somna_study_enrol(somna_db *db, int64_t study_id, const somna_study_screen *s, int *eligible, char *reason,
                      size_t reason_size, somna_err *err);

typedef struct somna_study_import_stats {
    long rows;       /* rows read */
    long inserted;   /* rows written */
    long skipped;    /* rows already present (re-import) or not applicable */
    long excluded;   /* enrol: screened but not eligible */
} somna_study_import_stats;

/* Enrol every row of a CSV (columns: participant, age, sex, stratum, psqi,
 * contraindications, date; only participant required), one transaction. */
int somna_study_enrol_csv(somna_db *db, int64_t study_id, const char *path, somna_study_import_stats *st,
                          somna_err *err);

/* ---- randomization ---------------------------------------------------------------- */

/* Allocate every enrolled, not yet randomized participant (in enrolment
 * order).  Parallel/pre-post: permuted blocks within each stratum.
 * Crossover/dose: balanced Latin square (Williams 1949) sequences handed
 * out in permuted blocks of whole squares.  Deterministic for the study's
 * seed.  *n_assigned may be NULL. */
int somna_study_randomize(somna_db *db, int64_t study_id, long *n_assigned, somna_err *err);

/* Williams design for k conditions: fills rows x k with condition indices
 * (rows = k for even k, 2k for odd k); returns the number of rows or -1. */
int somna_study_williams(int k, int *rows_out, int max_rows);

/* ---- imports (each one transaction) -------------------------------------------------- */

typedef enum somna_study_import_kind {
    SOMNA_STUDY_IMPORT_SESSIONS = 0, /* session log */
    SOMNA_STUDY_IMPORT_MANIFEST,     /* nights/naps with recording + hypnogram files */
    SOMNA_STUDY_IMPORT_QUESTIONNAIRE,/* scored questionnaire (long or wide) */
    SOMNA_STUDY_IMPORT_MEASURES,     /* tidy per-night measures */
    SOMNA_STUDY_IMPORT_BIOMARKERS,   /* cortisol, melatonin ... pre/post */
    SOMNA_STUDY_IMPORT_WIDE,         /* one row per participant, MEASURE_VISIT columns */
    SOMNA_STUDY_IMPORT_DIARY         /* Consensus Sleep Diary, one night per row */
} somna_study_import_kind;

typedef struct somna_study_import_opts {
    const char *instrument;   /* questionnaire: instrument name when the file has no column */
    const char *group_col;    /* wide: column holding the arm */
    const char *group_map;    /* wide: "1=sleeps,2=edu" codes -> condition codes */
    const char *id_col;       /* wide: participant column; NULL = row number "R01".. */
    const char *visits;       /* wide: comma list of visit suffixes to import (NULL = all) */
    const char *baseline;     /* wide: visit suffix of the baseline ("B"); time 0 */
    const char *source;       /* measures: source label (default "import") */
    long test_delay_ms;       /* >0: sleep per row (used only by the kill -9 test) */
} somna_study_import_opts;

int somna_study_import(somna_db *db, int64_t study_id, somna_study_import_kind kind, const char *path,
                       const somna_study_import_opts *opts, somna_study_import_stats *st, somna_err *err);

/* SHA-256 of a file as 64 lowercase hex digits (FIPS 180-4 via OpenSSL). */
int somna_study_sha256_file(const char *path, char hex[65], uint64_t *bytes, somna_err *err);

/* ---- processing ------------------------------------------------------------------- */

typedef struct somna_study_process_stats {
    long recordings;  /* recordings looked at */
    long processed;   /* newly processed */
    long failed;      /* processing failed (logged with the message) */
    long measures;    /* measure rows written */
} somna_study_process_stats;

/* Run the signal modules on every recording that has no process_log entry
 * yet (hypnograms -> sleep statistics; ...), recording module, version,
 * parameters and outcome in process_log.  One transaction per recording. */
int somna_study_process(somna_db *db, int64_t study_id, somna_study_process_stats *st, somna_err *err);

/* ---- analysis -------------------------------------------------------------------------- */

/* One compared pair for one outcome (condition vs the reference). */
typedef struct somna_study_effect {
    char measure[48];
    char condition[32];
    char reference[32];
    char test[32];        /* "paired-t", "welch", "lmm", ... */
    int n;                /* participants (pairs for paired designs) */
    double mean, sd;      /* condition */
    double ref_mean, ref_sd;
    double diff, diff_ci_low, diff_ci_high;
    double pct_change;    /* 100 * (mean - ref_mean) / ref_mean (ratio of means) */
    double statistic, df, p;
    double p_nonparam;    /* Wilcoxon signed-rank / Mann-Whitney */
    double effect, effect_ci_low, effect_ci_high; /* Cohen's dz (paired) or d (groups) */
    char effect_name[16];
    double p_lmm;         /* mixed-model p of this contrast, NAN if not fitted */
    double lmm_estimate, lmm_se, lmm_df;
    double p_adj;         /* Holm over all outcomes x contrasts of the primary test */
    char note[160];       /* why something is null */
} somna_study_effect;

typedef struct somna_study_cell {
    char measure[48];
    char condition[32];
    int n;
    double mean, sd, ci_low, ci_high; /* participant-level means */
} somna_study_cell;

/* Parallel / pre-post designs with repeated occasions (weekly diaries,
 * visits): each arm at each occasion, and the between-arm Welch test there. */
typedef struct somna_study_visit {
    char measure[48];
    char occasion[40];
    char condition[32];
    double time_index;    /* NAN if the occasion has none */
    int n;
    double mean, sd;
    double diff, p;       /* vs the reference arm at this occasion (Welch t); NAN for the reference */
} somna_study_visit;

typedef struct somna_study_analysis {
    int design;
    char study[128];
    char subset[64];          /* "" = all nights; "drifted_off=1" ... */
    char participant[32];     /* N-of-1 */
    size_t n_effects, n_cells;
    somna_study_effect *effects;
    somna_study_cell *cells;
    size_t n_visits;
    somna_study_visit *visits;
    /* flow (CONSORT): */
    long n_screened, n_eligible, n_randomized, n_analysed;
} somna_study_analysis;

typedef struct somna_study_analyze_opts {
    const char *subset;       /* "drifted_off=1", "drifted_off=0" or NULL */
    const char *participant;  /* N-of-1 participant code or NULL */
    const char *visits;       /* comma list of visit labels to use (NULL = all non-baseline) */
    const char *outcomes;     /* comma list of measures to analyse instead of the description's (NULL = those) */
} somna_study_analyze_opts;

int somna_study_analyze(somna_db *db, int64_t study_id, const somna_study_analyze_opts *opts,
                        somna_study_analysis *a, somna_err *err);
void somna_study_analysis_free(somna_study_analysis *a);

/* ---- export ------------------------------------------------------------------------------ */

/* Tidy tables: "outcomes" (one row per participant x occasion x measure),
 * "participants", "sessions", "nights", "recordings", "screening".
 * format: "csv" or "json". */
int somna_study_export(somna_db *db, int64_t study_id, const char *table, const char *format, FILE *out,
                       somna_err *err);

#ifdef __cplusplus
}
#endif
#endif
