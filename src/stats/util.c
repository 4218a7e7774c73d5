/* Small numeric helpers of the stats module: ranks, moments, pairing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/stats_internal.h"

int somna_stats_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct rank_item {
    double v;
    size_t i;
} rank_item;

static int cmp_item(const void *a, const void *b)
{
    const rank_item *x = a, *y = b;
    if (x->v < y->v)
        return -1;
    if (x->v > y->v)
        return 1;
    return (x->i > y->i) - (x->i < y->i);
}

int somna_stats_rank(const double *x, size_t n, double *rank, double *tie_term)
{
    if (tie_term)
        *tie_term = 0.0;
    if (n == 0)
        return 0;
    rank_item *it = malloc(n * sizeof *it);
    if (!it)
        return -1;
    for (size_t i = 0; i < n; i++) {
        it[i].v = x[i];
        it[i].i = i;
    }
    qsort(it, n, sizeof *it, cmp_item);
    int ties = 0;
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && it[j].v == it[i].v)
            j++;
        /* positions i..j-1 (0-based) share the mean rank (i+1 + j)/2 */
        double r = ((double)(i + 1) + (double)j) / 2.0;
        for (size_t m = i; m < j; m++)
            rank[it[m].i] = r;
        double t = (double)(j - i);
        if (j - i > 1) {
            ties = 1;
            if (tie_term)
                *tie_term += t * t * t - t;
        }
        i = j;
    }
    free(it);
    return ties;
}

double somna_stats_mean(const double *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    double m = s / (double)n;
    /* second pass removes most of the rounding of the first (as R's mean) */
    double c = 0.0;
    for (size_t i = 0; i < n; i++)
        c += x[i] - m;
    return m + c / (double)n;
}

double somna_stats_var(const double *x, size_t n, double mean)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - mean;
        s += d * d;
    }
    return s / (double)(n - 1);
}

double somna_stats_median_sorted(const double *x, size_t n)
{
    if (n == 0)
        return NAN;
    if (n % 2)
        return x[n / 2];
    return (x[n / 2 - 1] + x[n / 2]) / 2.0;
}

size_t somna_stats_complete_pairs(const double *x, const double *y, size_t n, double *xo, double *yo,
                                  size_t *dropped)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || (y && !isfinite(y[i])))
            continue;
        xo[m] = x[i];
        if (yo)
            yo[m] = y ? y[i] : 0.0;
        m++;
    }
    if (dropped)
        *dropped = n - m;
    return m;
}

int somna_stats_check_conf(double conf, somna_err *err)
{
    if (!(conf > 0.0 && conf < 1.0))
        return somna_fail(err, SOMNA_E_ARG, "confidence level %g is not between 0 and 1", conf);
    return SOMNA_OK;
}

void somna_stats_result_init(somna_stats_result *r)
{
    memset(r, 0, sizeof *r);
    r->estimate = r->se = r->ci_low = r->ci_high = r->conf_level = NAN;
    r->statistic = r->df = r->df2 = r->p = NAN;
}

int somna_stats_check_range(const double *x, size_t n, const char *what, somna_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (fabs(x[i]) > 1e150 && !isnan(x[i]))
            return somna_fail(err, SOMNA_E_DATA,
                              "%s value %zu (%g) is too large: its square overflows double precision", what, i + 1,
                              x[i]);
    return SOMNA_OK;
}
