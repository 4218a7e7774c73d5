/* Per-condition comparison: every participant's value per condition (joined
 * by a line when the design is within-subject, so each person's change is
 * visible) with the condition means and their confidence intervals, the
 * display recommended for small crossover trials (Weissgerber et al. 2015,
 * "Beyond bar and line graphs", PLoS Biol). */
#include <math.h>
#include <string.h>

#include "somna/plot.h"
#include "plot/plot_internal.h"

int somna_plot_conditions(somna_plot_canvas *c, const char *const *cond_labels, size_t k, const double *values,
                          size_t n, int paired, const double *mean, const double *ci_lo, const double *ci_hi,
                          const char *ylabel, const char *title, somna_err *err)
{
    if (!c || k == 0 || !cond_labels || !mean || !ci_lo || !ci_hi)
        return somna_fail(err, SOMNA_E_ARG, "condition plot: nothing to draw");
    double ymin = 0, ymax = 0;
    int any = 0;
    somna_plot_range_add(&ymin, &ymax, &any, values, n * k);
    somna_plot_range_add(&ymin, &ymax, &any, mean, k);
    somna_plot_range_add(&ymin, &ymax, &any, ci_lo, k);
    somna_plot_range_add(&ymin, &ymax, &any, ci_hi, k);
    if (!any)
        return somna_fail(err, SOMNA_E_DATA, "condition plot: every value is missing");
    somna_plot_range_pad(&ymin, &ymax, 0.08);
    double W = somna_plot_width(c), H = somna_plot_height(c);
    double left = 64, right = W - 16, top = title ? 34 : 12, bottom = H - 40;
    int rc = 0;
    if (title) {
        somna_plot_font tf = {13, 1, 0x111111, SOMNA_PLOT_ANCHOR_MIDDLE, 0};
        rc |= somna_plot_text(c, W / 2, 20, title, &tf);
    }
    rc |= somna_plot_set_viewport(c, left, top, right, bottom, -0.5, (double)k - 0.5, ymin, ymax);
    somna_plot_style line = somna_plot_stroke(0x9aaabb, 1);
    line.opacity = 0.8;
    somna_plot_style dot = somna_plot_fill(0x6b7f99);
    double dx = (double)k * 0.006, dy = (ymax - ymin) * 0.008;
    for (size_t i = 0; i < n; i++) {
        const double *row = values + i * k;
        /* small deterministic jitter so tied values stay visible */
        double jit = paired ? 0 : (((double)(i % 7) - 3.0) / 3.0) * 0.08;
        for (size_t j = 0; j < k; j++) {
            if (!isfinite(row[j]))
                continue;
            if (paired && j + 1 < k && isfinite(row[j + 1]))
                rc |= somna_plot_line(c, (double)j, row[j], (double)j + 1, row[j + 1], &line);
            rc |= somna_plot_rect(c, (double)j + jit - dx, row[j] - dy, (double)j + jit + dx, row[j] + dy, &dot);
        }
    }
    somna_plot_style ci = somna_plot_stroke(0xc0392b, 2.2);
    somna_plot_style mp = somna_plot_fill(0xc0392b);
    for (size_t j = 0; j < k; j++) {
        double x = (double)j + 0.18;
        if (isfinite(ci_lo[j]) && isfinite(ci_hi[j])) {
            rc |= somna_plot_line(c, x, ci_lo[j], x, ci_hi[j], &ci);
            rc |= somna_plot_line(c, x - 0.04, ci_lo[j], x + 0.04, ci_lo[j], &ci);
            rc |= somna_plot_line(c, x - 0.04, ci_hi[j], x + 0.04, ci_hi[j], &ci);
        }
        if (isfinite(mean[j]))
            rc |= somna_plot_rect(c, x - 2.5 * dx, mean[j] - 2.5 * dy, x + 2.5 * dx, mean[j] + 2.5 * dy, &mp);
    }
    double xt[64];
    size_t nk = k < 64 ? k : 64;
    for (size_t j = 0; j < nk; j++)
        xt[j] = (double)j;
    rc |= somna_plot_axis(c, SOMNA_PLOT_BOTTOM, xt, cond_labels, nk, NULL);
    rc |= somna_plot_value_axis(c, SOMNA_PLOT_LEFT, ymin, ymax, 6, ylabel);
    somna_plot_reset_viewport(c);
    return rc ? somna_fail(err, SOMNA_E_NOMEM, "condition plot: out of memory") : SOMNA_OK;
}
