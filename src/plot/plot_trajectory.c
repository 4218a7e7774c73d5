/* Group means over repeated occasions (weeks, visits): one line per arm
 * with 95 % CI bars, arms offset slightly so the bars do not overlap — the
 * usual display of a parallel trial with repeated measures (e.g. CONSORT
 * 2010 item 17a figures). */
#include <math.h>
#include <string.h>

#include "somna/plot.h"
#include "plot/plot_internal.h"

static const uint32_t palette[] = {0x1f4e79, 0xc0392b, 0x27ae60, 0x8e44ad, 0xd35400, 0x16a085, 0x7f8c8d, 0x2c3e50};

int somna_plot_trajectory(somna_plot_canvas *c, const char *const *occ_labels, size_t n_occ,
                          const char *const *group_labels, size_t n_groups, const double *mean, const double *lo,
                          const double *hi, const char *ylabel, const char *title, somna_err *err)
{
    if (!c || n_occ == 0 || n_groups == 0 || !mean || !lo || !hi || !occ_labels || !group_labels)
        return somna_fail(err, SOMNA_E_ARG, "trajectory plot: nothing to draw");
    double ymin = 0, ymax = 0;
    int any = 0;
    somna_plot_range_add(&ymin, &ymax, &any, mean, n_occ * n_groups);
    somna_plot_range_add(&ymin, &ymax, &any, lo, n_occ * n_groups);
    somna_plot_range_add(&ymin, &ymax, &any, hi, n_occ * n_groups);
    if (!any)
        return somna_fail(err, SOMNA_E_DATA, "trajectory plot: every mean is missing");
    somna_plot_range_pad(&ymin, &ymax, 0.08);
    double W = somna_plot_width(c), H = somna_plot_height(c);
    double left = 64, right = W - 16, top = title ? 34 : 12, bottom = H - 58;
    int rc = 0;
    if (title) {
        somna_plot_font tf = {13, 1, 0x111111, SOMNA_PLOT_ANCHOR_MIDDLE, 0};
        rc |= somna_plot_text(c, W / 2, 20, title, &tf);
    }
    rc |= somna_plot_set_viewport(c, left, top, right, bottom, -0.5, (double)n_occ - 0.5, ymin, ymax);
    double dx = n_groups > 1 ? 0.12 / (double)(n_groups - 1) : 0;
    for (size_t g = 0; g < n_groups; g++) {
        uint32_t col = palette[g % (sizeof palette / sizeof palette[0])];
        somna_plot_style ln = somna_plot_stroke(col, 1.8);
        somna_plot_style bar = somna_plot_stroke(col, 1.2);
        somna_plot_style pt = somna_plot_fill(col);
        double off = n_groups > 1 ? -0.06 + dx * (double)g : 0;
        double prev_x = NAN, prev_y = NAN;
        for (size_t o = 0; o < n_occ; o++) {
            size_t i = g * n_occ + o;
            double x = (double)o + off;
            if (isfinite(lo[i]) && isfinite(hi[i]))
                rc |= somna_plot_line(c, x, lo[i], x, hi[i], &bar);
            if (!isfinite(mean[i]))
                continue;
            if (isfinite(prev_y))
                rc |= somna_plot_line(c, prev_x, prev_y, x, mean[i], &ln);
            double ry = (ymax - ymin) * 0.012;
            rc |= somna_plot_rect(c, x - 0.03, mean[i] - ry, x + 0.03, mean[i] + ry, &pt);
            prev_x = x;
            prev_y = mean[i];
        }
    }
    double xt[64];
    size_t nx = n_occ < 64 ? n_occ : 64;
    for (size_t o = 0; o < nx; o++)
        xt[o] = (double)o;
    rc |= somna_plot_axis(c, SOMNA_PLOT_BOTTOM, xt, occ_labels, nx, NULL);
    rc |= somna_plot_value_axis(c, SOMNA_PLOT_LEFT, ymin, ymax, 6, ylabel);
    somna_plot_reset_viewport(c);
    /* legend under the axis */
    somna_plot_font lf = {11, 0, 0x222222, SOMNA_PLOT_ANCHOR_START, 0};
    double lx = left;
    for (size_t g = 0; g < n_groups; g++) {
        uint32_t col = palette[g % (sizeof palette / sizeof palette[0])];
        somna_plot_style pt = somna_plot_fill(col);
        rc |= somna_plot_rect(c, lx, H - 14, lx + 10, H - 4, &pt);
        rc |= somna_plot_text(c, lx + 14, H - 4, group_labels[g], &lf);
        lx += 24 + 7.0 * (double)strlen(group_labels[g]);
    }
    return rc ? somna_fail(err, SOMNA_E_NOMEM, "trajectory plot: out of memory") : SOMNA_OK;
}
