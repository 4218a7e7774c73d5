/* Forest plot: one row per effect (point estimate and confidence interval)
 * against a vertical line of no effect, as in meta-analyses and trial
 * reports (Lewis & Clarke 2001, "Forest plots: trying to see the wood and
 * the trees"). */
#include <math.h>
#include <string.h>

#include "somna/plot.h"
#include "plot/plot_internal.h"

int somna_plot_forest(somna_plot_canvas *c, const char *const *labels, const double *est, const double *lo,
                      const double *hi, size_t n, const char *xlabel, const char *title, somna_err *err)
{
    if (!c || n == 0 || !labels || !est || !lo || !hi)
        return somna_fail(err, SOMNA_E_ARG, "forest plot: no effects to draw");
    double xmin = 0, xmax = 0;
    int any = 0;
    somna_plot_range_add(&xmin, &xmax, &any, est, n);
    somna_plot_range_add(&xmin, &xmax, &any, lo, n);
    somna_plot_range_add(&xmin, &xmax, &any, hi, n);
    if (!any)
        return somna_fail(err, SOMNA_E_DATA, "forest plot: every effect is missing");
    /* the line of no effect is always in view */
    xmin = fmin(xmin, 0);
    xmax = fmax(xmax, 0);
    somna_plot_range_pad(&xmin, &xmax, 0.05);
    double W = somna_plot_width(c), H = somna_plot_height(c);
    double left = 0.42 * W, right = W - 20, top = title ? 34 : 12, bottom = H - 44;
    double row_h = (bottom - top) / (double)n;
    int rc = 0;
    somna_plot_font tf = {14, 1, 0x111111, SOMNA_PLOT_ANCHOR_MIDDLE, 0};
    somna_plot_font lf = {11, 0, 0x222222, SOMNA_PLOT_ANCHOR_END, 0};
    if (title)
        rc |= somna_plot_text(c, W / 2, 20, title, &tf);
    for (size_t i = 0; i < n; i++)
        rc |= somna_plot_text(c, left - 8, top + row_h * ((double)i + 0.5) + 4, labels[i], &lf);
    /* data coordinates: x = effect, y = row index from the top (n .. 0) */
    rc |= somna_plot_set_viewport(c, left, top, right, bottom, xmin, xmax, 0, (double)n);
    somna_plot_style zero = somna_plot_stroke(0x888888, 1);
    zero.dash = 4;
    rc |= somna_plot_line(c, 0, 0, 0, (double)n, &zero);
    somna_plot_style ci = somna_plot_stroke(0x1f4e79, 1.6);
    somna_plot_style pt = somna_plot_fill(0x1f4e79);
    double dx = (xmax - xmin) * 0.006, dy = 0.18;
    for (size_t i = 0; i < n; i++) {
        double y = (double)n - (double)i - 0.5;
        if (isfinite(lo[i]) && isfinite(hi[i])) {
            rc |= somna_plot_line(c, lo[i], y, hi[i], y, &ci);
            rc |= somna_plot_line(c, lo[i], y - dy / 2, lo[i], y + dy / 2, &ci);
            rc |= somna_plot_line(c, hi[i], y - dy / 2, hi[i], y + dy / 2, &ci);
        }
        if (isfinite(est[i]))
            rc |= somna_plot_rect(c, est[i] - 2 * dx, y - dy, est[i] + 2 * dx, y + dy, &pt);
    }
    rc |= somna_plot_value_axis(c, SOMNA_PLOT_BOTTOM, xmin, xmax, 7, xlabel);
    somna_plot_reset_viewport(c);
    return rc ? somna_fail(err, SOMNA_E_NOMEM, "forest plot: out of memory") : SOMNA_OK;
}
