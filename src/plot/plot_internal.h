/* Helpers shared by the figure files of the plot module (not public API). */
#ifndef SOMNA_PLOT_INTERNAL_H
#define SOMNA_PLOT_INTERNAL_H

#include <stddef.h>

#include "somna/plot.h"

/* Extend [*lo, *hi] by the finite values of v[0..n); *any is set once a
 * finite value has been seen (before that *lo and *hi are not read). */
void somna_plot_range_add(double *lo, double *hi, int *any, const double *v, size_t n);

/* Widen a data range for drawing: a range of (nearly) zero width becomes
 * +-1 around its value, then `frac` of the width is added on each side. */
void somna_plot_range_pad(double *lo, double *hi, double frac);

/* A numeric axis on one side of the current viewport: "nice" ticks over
 * [lo, hi] (at most max_ticks, at most 12) labelled with at most 6
 * significant digits, and the axis title (may be NULL). */
int somna_plot_value_axis(somna_plot_canvas *c, somna_plot_side side, double lo, double hi, size_t max_ticks,
                          const char *title);

#endif
