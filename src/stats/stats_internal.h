/* Helpers shared by the files of the stats module (not public API). */
#ifndef SOMNA_STATS_INTERNAL_H
#define SOMNA_STATS_INTERNAL_H

#include <stddef.h>

#include "somna/stats.h"

/* Average ranks (1-based, ties get the mean rank) of x[0..n-1] into rank[];
 * *tie_term (may be NULL) = sum over tie groups of t^3 - t; returns 1 if
 * any ties, 0 if none, -1 on allocation failure. */
int somna_stats_rank(const double *x, size_t n, double *rank, double *tie_term);

double somna_stats_mean(const double *x, size_t n);
/* Sample variance (n - 1 denominator), two-pass. */
double somna_stats_var(const double *x, size_t n, double mean);
double somna_stats_median_sorted(const double *x, size_t n);
int somna_stats_cmp_double(const void *a, const void *b);

/* Upper tails P(V > q), P(W > q), summed directly for accuracy. */
double somna_stats_signrank_upper(double q, size_t n);
double somna_stats_wilcox_upper(double q, size_t m, size_t n);

/* Smallest q with P(V <= q) >= p (R's qsignrank / qwilcox convention, p <= 0.5). */
double somna_stats_qsignrank(double p, size_t n);
double somna_stats_qwilcox(double p, size_t m, size_t n);

/* Noncentral-t CI for ncp given observed t and df: ncp_lo/ncp_hi solve
 * P(T <= t; ncp) = 1 - alpha/2 and alpha/2. */
int somna_stats_nct_ci(double t, double df, double conf, double *ncp_lo, double *ncp_hi);

/* Copy pairs with both values finite; returns count, *dropped = others. */
size_t somna_stats_complete_pairs(const double *x, const double *y, size_t n, double *xo, double *yo,
                                  size_t *dropped);

/* Fail (SOMNA_E_DATA) when a finite value exceeds 1e150 in magnitude:
 * its square would overflow the sums of squares.  NaN entries are ignored
 * (they are missing values, handled by the caller). */
int somna_stats_check_range(const double *x, size_t n, const char *what, somna_err *err);

/* Check conf in (0,1). */
int somna_stats_check_conf(double conf, somna_err *err);

#endif
