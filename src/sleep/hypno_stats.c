/* somna — sleep statistics from a hypnogram.
 *
 * Definitions: AASM scoring manual (Iber et al. 2007) for TIB, SPT, TST,
 * WASO, SE, SOL and stage percentages; persistent-sleep latency as the
 * first epoch of the first uninterrupted sleep run of >= 10 (and 5)
 * minutes (Luna HYPNO's SOL_PER); sleep fragmentation index as sleep->wake
 * transitions per hour of TST (Luna HYPNO's SFI).  Every statistic and its
 * treatment of artefact/unscored epochs is written out in
 * docs/sleep-statistics.md; the comments here only say how.
 *
 * One pass over the window: O(n) and no allocation, so a cohort of
 * hundreds of nights costs milliseconds.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "somna/hypno.h"

static int is_scored(int s)
{
    return s >= SOMNA_STAGE_W && s <= SOMNA_STAGE_REM;
}

int somna_hypno_stats_compute(const somna_hypnogram *h, const somna_hypno_window *win, somna_hypno_stats *st,
                              somna_err *err)
{
    if (!h || !st)
        return somna_fail(err, SOMNA_E_ARG, "somna_hypno_stats_compute: NULL argument");
    memset(st, 0, sizeof *st);
    if (!(h->epoch_s > 0) || !isfinite(h->epoch_s))
        return somna_fail(err, SOMNA_E_ARG, "hypnogram: epoch length %g s is not valid", h->epoch_s);
    if (h->n_epochs == 0 || !h->stages)
        return somna_fail(err, SOMNA_E_DATA, "hypnogram: no epochs");
    const double e = h->epoch_s;
    const double em = e / 60.0; /* minutes per epoch */
    const double rec = (double)h->n_epochs * e;

    /* Window: whole epochs inside [lights-off, lights-on). */
    size_t lo = 0, hi = h->n_epochs;
    if (win && win->lights_off_s >= 0) {
        if (win->lights_off_s >= rec)
            return somna_fail(err, SOMNA_E_ARG, "lights-off at %g s is after the end of the hypnogram (%g s)",
                              win->lights_off_s, rec);
        double k = ceil(win->lights_off_s / e - 1e-9);
        if (fabs(k * e - win->lights_off_s) > 1e-6)
            somna_warn(err, "lights-off at %g s is inside epoch %zu; the window starts at the next epoch (%g s)",
                       win->lights_off_s, (size_t)floor(win->lights_off_s / e) + 1, k * e);
        lo = (size_t)k;
    }
    if (win && win->lights_on_s >= 0) {
        double k = floor(win->lights_on_s / e + 1e-9);
        if (fabs(k * e - win->lights_on_s) > 1e-6 && win->lights_on_s < rec)
            somna_warn(err, "lights-on at %g s is inside an epoch; the window ends at the previous epoch (%g s)",
                       win->lights_on_s, k * e);
        if (win->lights_on_s > rec + 1e-6)
            somna_warn(err, "lights-on at %g s is after the end of the hypnogram (%g s); the window ends there",
                       win->lights_on_s, rec);
        if (k < (double)hi)
            hi = (size_t)k;
    }
    if (lo >= hi)
        return somna_fail(err, SOMNA_E_ARG, "the lights-off -> lights-on window holds no whole epoch");

    const int8_t *s = h->stages;
    st->epoch_s = e;
    st->n_epochs = hi - lo;
    st->first_epoch = lo;

    size_t first = SIZE_MAX, last = 0;
    size_t first_stage[SOMNA_HYPNO_NSTAGES];
    size_t count[SOMNA_HYPNO_NSTAGES] = {0};
    size_t unscored = 0;
    for (int k = 0; k < SOMNA_HYPNO_NSTAGES; k++)
        first_stage[k] = SIZE_MAX;
    for (size_t i = lo; i < hi; i++) {
        int x = s[i];
        if (is_scored(x)) {
            count[x]++;
            if (first_stage[x] == SIZE_MAX)
                first_stage[x] = i;
            if (x != SOMNA_STAGE_W) {
                if (first == SIZE_MAX)
                    first = i;
                last = i;
            }
        } else {
            unscored++;
        }
        /* transition matrix: consecutive pairs where both are scored */
        if (i + 1 < hi && is_scored(x) && is_scored(s[i + 1]))
            st->transition_matrix[x][s[i + 1]]++;
    }
    size_t tst = count[1] + count[2] + count[3] + count[4];
    st->TIB = (double)(hi - lo) * em;
    st->TST = (double)tst * em;
    st->N1 = (double)count[1] * em;
    st->N2 = (double)count[2] * em;
    st->N3 = (double)count[3] * em;
    st->REM = (double)count[4] * em;
    st->W_total = (double)count[0] * em;
    st->unscored_min = (double)unscored * em;
    st->SE = 100.0 * st->TST / st->TIB;
    double shifts = 0;
    for (int a = 0; a < SOMNA_HYPNO_NSTAGES; a++)
        for (int b = 0; b < SOMNA_HYPNO_NSTAGES; b++)
            if (a != b)
                shifts += (double)st->transition_matrix[a][b];
    st->stage_shifts = shifts;

    double *lat[4] = {&st->Lat_N1, &st->Lat_N2, &st->Lat_N3, &st->Lat_REM};
    for (int k = 1; k <= 4; k++)
        *lat[k - 1] = first_stage[k] == SIZE_MAX ? NAN : (double)(first_stage[k] - lo) * em;

    if (tst == 0) {
        st->SPT = st->WASO = st->W_in_SPT = st->SOL = st->SME = NAN;
        st->SOL_persistent_5 = st->SOL_persistent_10 = NAN;
        st->REM_latency_from_onset = NAN;
        st->N1_pct = st->N2_pct = st->N3_pct = st->REM_pct = NAN;
        st->awakenings = st->awakenings_2min = st->SFI = NAN;
        return SOMNA_OK;
    }
    st->SOL = (double)(first - lo) * em;
    st->SPT = (double)(last - first + 1) * em;
    st->SME = 100.0 * st->TST / st->SPT;
    st->N1_pct = 100.0 * (double)count[1] / (double)tst;
    st->N2_pct = 100.0 * (double)count[2] / (double)tst;
    st->N3_pct = 100.0 * (double)count[3] / (double)tst;
    st->REM_pct = 100.0 * (double)count[4] / (double)tst;
    st->REM_latency_from_onset = first_stage[4] == SIZE_MAX ? NAN : (double)(first_stage[4] - first) * em;

    /* Wake inside the sleep period, and wake bouts.  A bout is a run of W
     * epochs between two sleep epochs; artefact/unscored epochs inside a
     * run neither end it nor add to its length. */
    size_t waso = 0, bouts = 0, bouts2 = 0, bout_len = 0;
    int in_bout = 0;
    const size_t two_min = (size_t)ceil(120.0 / e - 1e-9);
    for (size_t i = first; i <= last; i++) {
        int x = s[i];
        if (x == SOMNA_STAGE_W) {
            waso++;
            if (!in_bout) {
                in_bout = 1;
                bout_len = 0;
                bouts++;
            }
            bout_len++;
        } else if (somna_stage_is_sleep(x)) {
            if (in_bout && bout_len >= two_min)
                bouts2++;
            in_bout = 0;
        }
    }
    /* `last` is a sleep epoch, so every bout was closed inside the loop. */
    st->WASO = st->W_in_SPT = (double)waso * em;
    st->awakenings = (double)bouts;
    st->awakenings_2min = (double)bouts2;
    st->SFI = (double)bouts / (st->TST / 60.0);

    /* Persistent sleep: first epoch of the first run of uninterrupted
     * sleep (any of N1..REM; W, artefact and unscored interrupt) lasting at
     * least 5 / 10 minutes. */
    const size_t need5 = (size_t)ceil(300.0 / e - 1e-9), need10 = (size_t)ceil(600.0 / e - 1e-9);
    st->SOL_persistent_5 = st->SOL_persistent_10 = NAN;
    size_t run = 0, run_start = 0;
    for (size_t i = first; i < hi; i++) {
        if (somna_stage_is_sleep(s[i])) {
            if (run == 0)
                run_start = i;
            run++;
            if (run >= need5 && isnan(st->SOL_persistent_5))
                st->SOL_persistent_5 = (double)(run_start - lo) * em;
            if (run >= need10) {
                st->SOL_persistent_10 = (double)(run_start - lo) * em;
                break;
            }
        } else {
            run = 0;
        }
    }
    return SOMNA_OK;
}

const char *somna_hypno_null_reason(const somna_hypno_stats *st, const char *field)
{
    if (!st || !field)
        return NULL;
    int no_sleep = st->TST == 0;
    struct {
        const char *key;
        double v;
        const char *why;
    } rows[] = {
        {"SPT", st->SPT, "no sleep epoch in the window"},
        {"WASO", st->WASO, "no sleep epoch in the window"},
        {"W_in_SPT", st->W_in_SPT, "no sleep epoch in the window"},
        {"SOL", st->SOL, "no sleep epoch in the window"},
        {"SME", st->SME, "no sleep epoch in the window"},
        {"awakenings", st->awakenings, "no sleep period (no sleep epoch)"},
        {"awakenings_2min", st->awakenings_2min, "no sleep period (no sleep epoch)"},
        {"SFI", st->SFI, "TST is 0"},
        {"N1_pct", st->N1_pct, "TST is 0"},
        {"N2_pct", st->N2_pct, "TST is 0"},
        {"N3_pct", st->N3_pct, "TST is 0"},
        {"REM_pct", st->REM_pct, "TST is 0"},
        {"SOL_persistent_5", st->SOL_persistent_5,
         no_sleep ? "no sleep epoch in the window" : "no uninterrupted run of 5 min of sleep"},
        {"SOL_persistent_10", st->SOL_persistent_10,
         no_sleep ? "no sleep epoch in the window" : "no uninterrupted run of 10 min of sleep"},
        {"Lat_N1", st->Lat_N1, "no N1 epoch in the window"},
        {"Lat_N2", st->Lat_N2, "no N2 epoch in the window"},
        {"Lat_N3", st->Lat_N3, "no N3 epoch in the window"},
        {"Lat_REM", st->Lat_REM, "no REM epoch in the window"},
        {"REM_latency_from_onset", st->REM_latency_from_onset,
         no_sleep ? "no sleep epoch in the window" : "no REM epoch in the window"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (strcmp(rows[i].key, field) == 0)
            return isnan(rows[i].v) ? rows[i].why : NULL;
    return NULL;
}
