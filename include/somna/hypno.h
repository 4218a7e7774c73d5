/* somna — hypnograms: readers for every scoring format, sleep statistics
 * and epoch-by-epoch agreement.
 *
 * Builds on the shared somna_hypnogram type (somna/hypnogram.h).  Readers
 * turn a file into one stage code per epoch; statistics are computed over
 * the window lights-off -> lights-on (whole record by default) with the
 * definitions written out in docs/sleep-statistics.md (AASM manual, Iber
 * 2007; persistent-sleep latency as in Luna's HYPNO).
 */
#ifndef SOMNA_HYPNO_H
#define SOMNA_HYPNO_H

#include <stddef.h>
#include <stdint.h>

#include "somna/error.h"
#include "somna/hypnogram.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Stage labels ------------------------------------------------------- */

/* Short label of a stage code: "W", "N1", "N2", "N3", "REM", "ART", "UNS". */
const char *somna_hypno_stage_name(int stage);

/* Map a scoring label to a stage code (ASCII case-insensitive, blanks
 * trimmed): W/Wake/Eveil/Éveil/AWA, N1..N3, S1..S4, NREM1..4, R/REM/
 * Sommeil paradoxal, "Sleep stage W|1|2|3|4|R|?" (Sleep-EDF), "Movement
 * time"/MT/Artefact -> ART, ?/Unscored/L -> UNS.  R&K S3 and S4 -> N3.
 * Digits are not labels here (their meaning depends on the file).
 * Returns 0 and sets *stage, or -1 for an unknown label. */
int somna_hypno_parse_label(const char *label, int *stage);

/* ---- Readers ------------------------------------------------------------ */

typedef enum somna_hypno_format {
    SOMNA_HYPNO_FMT_AUTO = 0,
    SOMNA_HYPNO_FMT_EDF,       /* EDF+ annotations "Sleep stage X" onset+duration (Sleep-EDF) */
    SOMNA_HYPNO_FMT_TABLE,     /* CSV/TSV: a stage column per epoch, or onset,duration,stage */
    SOMNA_HYPNO_FMT_EANNOT,    /* Luna .eannot: one label per epoch */
    SOMNA_HYPNO_FMT_TEXT,      /* one stage per line: labels, R&K digits+letters, or YASA ints */
    SOMNA_HYPNO_FMT_NOXTURNAL, /* Noxturnal event export (UTF-16 BOM, French labels) */
    SOMNA_HYPNO_FMT_DREAMS,    /* DREAMS "[Hypnogram]" 5-s codes 5=W 4=REM 3..0=S1..S4 */
    SOMNA_HYPNO_FMT_WALCH      /* Walch et al. psg_labels.out: 0 W 1 N1 2 N2 3 N3 4 N4 5 REM */
} somna_hypno_format;

/* "edf", "table", "eannot", "text", "noxturnal", "dreams", "walch"; "auto". */
const char *somna_hypno_format_name(somna_hypno_format f);
/* Parse a format name (as above); -1 if unknown. */
int somna_hypno_format_parse(const char *name, somna_hypno_format *f);

typedef struct somna_hypno_read_opts {
    somna_hypno_format format; /* AUTO = detect from content (and name) */
    /* Wanted epoch length in seconds, 0 = default.  Files that do not store
     * the epoch (text, per-epoch tables, eannot, walch) are taken to have
     * this epoch (default 30 s).  Interval files (EDF+, onset/duration
     * tables, Noxturnal) are cut into epochs of this length (default 30 s);
     * an interval that is not a whole number of epochs is an error.  Files
     * with a fixed finer epoch (DREAMS 5 s) are aggregated to it by
     * majority (see somna_hypno_aggregate); default: kept at 5 s. */
    double epoch_s;
    /* Interval files: a stretch no stage annotation covers is an error
     * (default) naming the annotation after it; with fill_gaps = 1 it
     * becomes unscored epochs (and a warning), never a shift. */
    int fill_gaps;
} somna_hypno_read_opts;

/* Read a hypnogram; h->stages is malloc'd (free with somna_hypno_free).
 * *detected (may be NULL) receives the format used.  Every refusal names
 * the file and the line or annotation at fault. */
int somna_hypno_read(const char *path, const somna_hypno_read_opts *opts, somna_hypnogram *h,
                     somna_hypno_format *detected, somna_err *err);

/* Parse text already in memory (name used in messages).  EDF+ is not
 * accepted here (it needs the file). */
int somna_hypno_parse(const char *text, size_t len, const char *name, const somna_hypno_read_opts *opts,
                      somna_hypnogram *h, somna_hypno_format *detected, somna_err *err);

/* Detect the format from the first bytes (UTF-8 or UTF-16 text, or EDF)
 * and the file name; returns SOMNA_HYPNO_FMT_AUTO if unknown. */
somna_hypno_format somna_hypno_detect(const char *data, size_t len, const char *name);

void somna_hypno_free(somna_hypnogram *h);

/* Majority aggregation of `factor` consecutive epochs into one (e.g. six
 * 5-s DREAMS epochs -> one 30-s epoch).  The stage occupying most of the
 * new epoch wins; on a tie the tied stage that occurs FIRST in the new
 * epoch wins (documented in docs/sleep-statistics.md).  Artefact and
 * unscored count as stages.  Fails when n_epochs is not a multiple of
 * factor (no silent trimming).  Works in place. */
int somna_hypno_aggregate(somna_hypnogram *h, size_t factor, const char *name, somna_err *err);

/* ---- Statistics --------------------------------------------------------- */

#define SOMNA_HYPNO_NSTAGES 5 /* W, N1, N2, N3, REM (index = stage code) */

typedef struct somna_hypno_window {
    /* Seconds from the first epoch's start; < 0 = default (first epoch /
     * end of last epoch).  A bound inside an epoch is moved to the next
     * epoch boundary inward (whole epochs only). */
    double lights_off_s;
    double lights_on_s;
} somna_hypno_window;

/* All durations in minutes, percentages in %.  NAN = not computable; the
 * matching reason is set in `null_reason` (field name -> text) through
 * somna_hypno_null_reason(). */
typedef struct somna_hypno_stats {
    double epoch_s;
    size_t n_epochs;          /* epochs in the window */
    size_t first_epoch;       /* index of the window's first epoch in the hypnogram */
    double TIB, SPT, TST, WASO, SOL, SOL_persistent_5, SOL_persistent_10;
    double Lat_N1, Lat_N2, Lat_N3, Lat_REM; /* from lights-off */
    double REM_latency_from_onset;
    double SE, SME;
    double N1, N2, N3, REM, W_in_SPT;
    double N1_pct, N2_pct, N3_pct, REM_pct;
    double awakenings, awakenings_2min; /* counts; NAN when there is no sleep */
    double SFI;                         /* sleep -> wake transitions per hour of TST */
    double stage_shifts;                /* count */
    long transition_matrix[SOMNA_HYPNO_NSTAGES][SOMNA_HYPNO_NSTAGES]; /* [from][to] */
    double unscored_min;                /* artefact + unscored minutes in the window */
    double W_total;                     /* all wake in the window (minutes) */
} somna_hypno_stats;

int somna_hypno_stats_compute(const somna_hypnogram *h, const somna_hypno_window *win, somna_hypno_stats *st,
                              somna_err *err);

/* Why a NAN field is null ("no REM epoch in the window", ...), or NULL if
 * the field is a number.  `field` is the JSON key. */
const char *somna_hypno_null_reason(const somna_hypno_stats *st, const char *field);

/* ---- Agreement ---------------------------------------------------------- */

typedef struct somna_hypno_agreement {
    size_t n_epochs;    /* epochs compared (both scored W..REM) */
    size_t n_excluded;  /* epochs where either hypnogram is artefact/unscored */
    long confusion[SOMNA_HYPNO_NSTAGES][SOMNA_HYPNO_NSTAGES]; /* [A][B] */
    double accuracy;    /* fraction 0..1 */
    double kappa;       /* Cohen 1960 */
    double precision[SOMNA_HYPNO_NSTAGES]; /* B against A as reference; NAN if undefined */
    double recall[SOMNA_HYPNO_NSTAGES];
    double f1[SOMNA_HYPNO_NSTAGES];
    double macro_f1;    /* mean of the defined per-stage F1 */
} somna_hypno_agreement;

/* Epoch-by-epoch agreement of two hypnograms with the same epoch length and
 * number of epochs (A is the reference for precision/recall). */
int somna_hypno_compare(const somna_hypnogram *a, const somna_hypnogram *b, somna_hypno_agreement *ag,
                        somna_err *err);

#ifdef __cplusplus
}
#endif
#endif
