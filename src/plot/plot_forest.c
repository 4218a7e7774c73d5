/* Forest plot: one row per effect (point estimate and confidence interval)
 * against a vertical line of no effect, as in meta-analyses and trial
 * reports (Lewis & Clarke 2001, "Forest plots: trying to see the wood and
 * the trees"). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "somna/plot.h"

int somna_plot_forest(somna_plot_canvas *c, const char *const *labels, const double *est, const double *lo,
                      const double *hi, size_t n, const char *xlabel, const char *title, somna_err *err)
{
    if (!c || n == 0 || !labels || !est || !lo || !hi)
        return somna_fail(err, SOMNA_E_ARG, "forest plot: no effects to draw");
    double xmin = 0, xmax = 0;
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        const double v[3] = {est[i], lo[i], hi[i]};
        for (int k = 0; k < 3; k++)
            if (isfinite(v[k])) {
                xmin = any ? fmin(xmin, v[k]) : fmin(0, v[k]);
                xmax = any ? fmax(xmax, v[k]) : fmax(0, v[k]);
                any = 1;
            }
    }
    if (!any)
        return somna_fail(err, SOMNA_E_DATA, "forest plot: every effect is missing");
    if (xmax - xmin < 1e-12) {
        xmin -= 1;
        xmax += 1;
    }
    double pad = 0.05 * (xmax - xmin);
    xmin -= pad;
    xmax += pad;
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
    double ticks[12];
    size_t nt = somna_plot_nice_ticks(xmin, xmax, 7, ticks, 12);
    /* tick labels with at most 6 significant digits: 0.86, not 0.8600000000000001 */
    char tl[12][24];
    const char *tlp[12];
    for (size_t i = 0; i < nt; i++) {
        snprintf(tl[i], sizeof tl[i], "%.6g", fabs(ticks[i]) < 1e-12 * (fabs(ticks[0]) + fabs(ticks[nt - 1])) ? 0.0 : ticks[i]);
        tlp[i] = tl[i];
    }
    rc |= somna_plot_axis(c, SOMNA_PLOT_BOTTOM, ticks, tlp, nt, xlabel);
    somna_plot_reset_viewport(c);
    return rc ? somna_fail(err, SOMNA_E_NOMEM, "forest plot: out of memory") : SOMNA_OK;
}
