/* Internal helpers shared by the hypnogram readers (not a public API). */
#ifndef SOMNA_SLEEP_HYPNO_INTERNAL_H
#define SOMNA_SLEEP_HYPNO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "somna/error.h"
#include "somna/hypno.h"

/* One scored stretch of an interval file (EDF+ TAL, onset/duration row,
 * Noxturnal event): [onset, onset + duration) seconds on one time axis. */
typedef struct hypno_interval {
    double onset;
    double duration;
    int stage;
    size_t tag; /* line number or annotation number, for messages */
} hypno_interval;

/* Cut intervals into epochs of epoch_s seconds.  The first interval's
 * onset becomes epoch 0 (*t0 receives it).  Every onset and duration must
 * be a whole number of epochs from t0; overlaps are errors; gaps are
 * errors unless fill_gaps (then unscored + a warning).  `what` names the
 * tag in messages ("line", "annotation"). */
int hypno_from_intervals(hypno_interval *iv, size_t n, double epoch_s, int fill_gaps, const char *name,
                         const char *what, somna_hypnogram *h, double *t0, somna_err *err);

/* Noxturnal event export (UTF-8 text after BOM/UTF-16 decoding). */
int hypno_read_noxturnal(const char *text, size_t len, const char *name, const somna_hypno_read_opts *o,
                         somna_hypnogram *h, somna_err *err);

/* EDF+ annotation hypnogram (Sleep-EDF). */
int hypno_read_edf(const char *path, const somna_hypno_read_opts *o, somna_hypnogram *h, somna_err *err);

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant,
 * "chrono-Compatible Low-Level Date Algorithms", days_from_civil). */
int64_t hypno_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
