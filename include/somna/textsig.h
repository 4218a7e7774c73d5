/* somna — signals exported as delimited text: one column per channel, a
 * header line of channel names (or none), the sampling rate given by the
 * user.  ../shared/data/dreams-spindles/excerpt1_C3-A1_100Hz.txt is this shape. */
#ifndef SOMNA_TEXTSIG_H
#define SOMNA_TEXTSIG_H

#include <stddef.h>
#include <stdint.h>

#include "somna/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct somna_textsig {
    int n_signals;
    char **labels;           /* from the header line, or "ch1", "ch2", ... */
    double fs;
    int64_t n_samples;
    double **data;           /* data[s][i], physical units as written */
} somna_textsig;

/* Whitespace, comma, tab or semicolon separated.  A first line that is not
 * numeric is the header.  Every bad cell is reported as FILE:LINE: column. */
int somna_textsig_read(const char *path, double fs, somna_textsig *out, somna_err *err);
void somna_textsig_free(somna_textsig *ts);

#ifdef __cplusplus
}
#endif
#endif
