/* somna — epoch-by-epoch agreement of two hypnograms: accuracy, Cohen's
 * kappa (Cohen 1960, "A coefficient of agreement for nominal scales"),
 * per-stage precision / recall / F1 (van Rijsbergen 1979) and the
 * confusion matrix, over the epochs both hypnograms score as W..REM. */
#include <math.h>
#include <string.h>

#include "somna/hypno.h"

int somna_hypno_compare(const somna_hypnogram *a, const somna_hypnogram *b, somna_hypno_agreement *ag,
                        somna_err *err)
{
    if (!a || !b || !ag)
        return somna_fail(err, SOMNA_E_ARG, "somna_hypno_compare: NULL argument");
    memset(ag, 0, sizeof *ag);
    if (fabs(a->epoch_s - b->epoch_s) > 1e-9)
        return somna_fail(err, SOMNA_E_DATA,
                          "hypnograms have different epoch lengths (%g s and %g s); aggregate one first (--epoch)",
                          a->epoch_s, b->epoch_s);
    if (a->n_epochs != b->n_epochs)
        return somna_fail(err, SOMNA_E_DATA,
                          "hypnograms have different lengths (%zu and %zu epochs of %g s); comparing them would "
                          "pair epochs of different times",
                          a->n_epochs, b->n_epochs, a->epoch_s);
    for (size_t i = 0; i < a->n_epochs; i++) {
        int x = a->stages[i], y = b->stages[i];
        if (x < SOMNA_STAGE_W || x > SOMNA_STAGE_REM || y < SOMNA_STAGE_W || y > SOMNA_STAGE_REM) {
            ag->n_excluded++;
            continue;
        }
        ag->confusion[x][y]++;
        ag->n_epochs++;
    }
    if (ag->n_epochs == 0)
        return somna_fail(err, SOMNA_E_DATA, "no epoch is scored W..REM in both hypnograms");
    const double n = (double)ag->n_epochs;
    double diag = 0, pe = 0, f1sum = 0;
    int nf1 = 0;
    for (int k = 0; k < SOMNA_HYPNO_NSTAGES; k++) {
        double row = 0, col = 0;
        for (int j = 0; j < SOMNA_HYPNO_NSTAGES; j++) {
            row += (double)ag->confusion[k][j];
            col += (double)ag->confusion[j][k];
        }
        double tp = (double)ag->confusion[k][k];
        diag += tp;
        pe += (row / n) * (col / n);
        ag->precision[k] = col > 0 ? tp / col : NAN;
        ag->recall[k] = row > 0 ? tp / row : NAN;
        /* F1 = 2TP / (2TP + FP + FN); undefined when the stage is absent
         * from both hypnograms. */
        ag->f1[k] = (row + col) > 0 ? 2.0 * tp / (row + col) : NAN;
        if (!isnan(ag->f1[k])) {
            f1sum += ag->f1[k];
            nf1++;
        }
    }
    ag->accuracy = diag / n;
    /* kappa undefined when chance agreement is 1 (one stage only in both) */
    ag->kappa = pe < 1.0 ? (ag->accuracy - pe) / (1.0 - pe) : NAN;
    ag->macro_f1 = nf1 ? f1sum / nf1 : NAN;
    return SOMNA_OK;
}
