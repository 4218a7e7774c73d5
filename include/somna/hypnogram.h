/* somna — the hypnogram type shared by every module that produces or uses
 * sleep stages (readers, statistics, staging, simulation, study, report).
 *
 * Stage codes are YASA's integers so files interchange without a table:
 * W 0, N1 1, N2 2, N3 3 (R&K S3+S4), REM 4, artefact/movement -1,
 * unscored -2.
 */
#ifndef SOMNA_HYPNOGRAM_H
#define SOMNA_HYPNOGRAM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum somna_stage {
    SOMNA_STAGE_UNSCORED = -2,
    SOMNA_STAGE_ART = -1,
    SOMNA_STAGE_W = 0,
    SOMNA_STAGE_N1 = 1,
    SOMNA_STAGE_N2 = 2,
    SOMNA_STAGE_N3 = 3,
    SOMNA_STAGE_REM = 4
};

typedef struct somna_hypnogram {
    double epoch_s;          /* epoch length in seconds (30 unless the source says otherwise) */
    size_t n_epochs;
    int8_t *stages;          /* n_epochs codes from enum somna_stage */
    double start_clock_s;    /* clock time of epoch 0 in seconds after midnight, < 0 if unknown */
    char start_date[16];     /* "YYYY-MM-DD" of epoch 0 or "" */
} somna_hypnogram;

static inline int somna_stage_is_sleep(int s)
{
    return s >= SOMNA_STAGE_N1 && s <= SOMNA_STAGE_REM;
}

#ifdef __cplusplus
}
#endif
#endif
