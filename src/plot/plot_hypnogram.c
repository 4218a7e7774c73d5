/* somna — hypnogram figure: the conventional layout of sleep papers (stages
 * W, REM, N1, N2, N3 from top to bottom with REM as a raised thick bar, as
 * in the AASM manual's and most PSG reports' hypnograms), clock time on x.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "somna/plot.h"

#define COLOR_LINE 0x1A1A1A
#define COLOR_REM 0xC62828
#define COLOR_GRID 0xE6E6E6
#define COLOR_UNSCORED 0xD9D9D9
#define COLOR_LIGHTS 0x1565C0

/* y level of each stage: N3 0, N2 1, N1 2, REM 3, W 4 */
static double level(int stage)
{
    switch (stage) {
    case SOMNA_STAGE_N3: return 0;
    case SOMNA_STAGE_N2: return 1;
    case SOMNA_STAGE_N1: return 2;
    case SOMNA_STAGE_REM: return 3;
    case SOMNA_STAGE_W: return 4;
    default: return NAN;
    }
}

static void clock_label(char *buf, size_t size, double seconds)
{
    long s = lround(seconds);
    s %= 86400;
    if (s < 0)
        s += 86400;
    snprintf(buf, size, "%02ld:%02ld", s / 3600, (s / 60) % 60);
}

static void elapsed_label(char *buf, size_t size, double seconds)
{
    long s = lround(seconds);
    snprintf(buf, size, "%ld:%02ld", s / 3600, (s / 60) % 60);
}

int somna_plot_hypnogram(somna_plot_canvas *c, const somna_hypnogram *h, const somna_plot_hypno_opts *o,
                         somna_err *err)
{
    if (!c || !h || !h->stages || h->n_epochs == 0 || !(h->epoch_s > 0))
        return somna_fail(err, SOMNA_E_ARG, "plot: empty hypnogram");
    const double W = somna_plot_width(c), H = somna_plot_height(c);
    const char *title = o ? o->title : NULL;
    const double ml = 64, mr = 22, mt = title ? 44 : 26, mb = 52;
    if (W < ml + mr + 50 || H < mt + mb + 50)
        return somna_fail(err, SOMNA_E_ARG, "plot: canvas %g x %g px too small for a hypnogram", W, H);
    const double e = h->epoch_s;
    const double total = (double)h->n_epochs * e; /* seconds */
    int rc = somna_plot_set_viewport(c, ml, mt, W - mr, H - mb, 0.0, total, -0.6, 4.6);
    if (rc)
        return somna_fail(err, SOMNA_E_ARG, "plot: bad viewport");

    /* grid lines at each stage level */
    somna_plot_style grid = somna_plot_stroke(COLOR_GRID, 1.0);
    for (int k = 0; k <= 4; k++)
        rc |= somna_plot_line(c, 0, k, total, k, &grid);

    /* artefact / unscored stretches as grey bands behind the trace */
    somna_plot_style band = somna_plot_fill(COLOR_UNSCORED);
    for (size_t i = 0; i < h->n_epochs;) {
        size_t j = i;
        while (j < h->n_epochs && isnan(level(h->stages[j])))
            j++;
        if (j > i) {
            rc |= somna_plot_rect(c, (double)i * e, -0.6, (double)j * e, 4.6, &band);
            i = j;
        } else {
            i++;
        }
    }

    /* the stage trace: one polyline per scored stretch (steps) */
    somna_plot_style trace = somna_plot_stroke(COLOR_LINE, 1.4);
    double px[1024], py[1024];
    size_t np = 0;
    for (size_t i = 0; i <= h->n_epochs; i++) {
        double y = i < h->n_epochs ? level(h->stages[i]) : NAN;
        if (isnan(y) || np + 2 > sizeof px / sizeof px[0]) {
            if (np)
                rc |= somna_plot_polyline(c, px, py, np, &trace);
            /* continue a too-long trace from its last point */
            if (!isnan(y) && np) {
                px[0] = px[np - 1];
                py[0] = py[np - 1];
                np = 1;
            } else {
                np = 0;
            }
            if (isnan(y))
                continue;
        }
        double t0 = (double)i * e, t1 = t0 + e;
        if (np && py[np - 1] == y) {
            px[np - 1] = t1; /* extend the current step */
        } else {
            px[np] = t0;
            py[np] = y;
            np++;
            px[np] = t1;
            py[np] = y;
            np++;
        }
    }

    /* REM highlighted as a thick red bar on its level */
    somna_plot_style rem = somna_plot_fill(COLOR_REM);
    for (size_t i = 0; i < h->n_epochs;) {
        if (h->stages[i] != SOMNA_STAGE_REM) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < h->n_epochs && h->stages[j] == SOMNA_STAGE_REM)
            j++;
        rc |= somna_plot_rect(c, (double)i * e, 3 - 0.13, (double)j * e, 3 + 0.13, &rem);
        i = j;
    }

    /* lights-off / lights-on marks */
    somna_plot_style lights = somna_plot_stroke(COLOR_LIGHTS, 1.3);
    lights.dash = 5;
    somna_plot_font lf = {11.0, 0, COLOR_LIGHTS, SOMNA_PLOT_ANCHOR_MIDDLE, 0.0};
    double marks[2] = {o ? o->lights_off_s : -1, o ? o->lights_on_s : -1};
    const char *mark_text[2] = {"lights off", "lights on"};
    for (int k = 0; k < 2; k++) {
        if (marks[k] < 0 || marks[k] > total)
            continue;
        rc |= somna_plot_line(c, marks[k], -0.6, marks[k], 4.6, &lights);
        lf.anchor = k == 0 ? SOMNA_PLOT_ANCHOR_START : SOMNA_PLOT_ANCHOR_END;
        double dx = (k == 0 ? 4.0 : -4.0) * (total / (W - ml - mr));
        rc |= somna_plot_text(c, marks[k] + dx, 4.35, mark_text[k], &lf);
    }

    /* axes */
    static const double ylev[] = {0, 1, 2, 3, 4};
    static const char *const ylab[] = {"N3", "N2", "N1", "REM", "W"};
    rc |= somna_plot_axis(c, SOMNA_PLOT_LEFT, ylev, ylab, 5, NULL);
    double step;
    if (total <= 600)
        step = 120;
    else if (total <= 1800)
        step = 300; /* naps */
    else if (total <= 3600)
        step = 600;
    else if (total <= 3 * 3600)
        step = 1800;
    else if (total <= 14 * 3600)
        step = 3600;
    else
        step = 7200;
    double ticks[128];
    char labbuf[128][48];
    const char *labs[128];
    size_t nt = 0;
    int have_clock = h->start_clock_s >= 0;
    double first = have_clock ? ceil(h->start_clock_s / step - 1e-9) * step - h->start_clock_s : 0.0;
    for (double t = first; t <= total + 1e-6 && nt < 128; t += step) {
        ticks[nt] = t;
        if (have_clock)
            clock_label(labbuf[nt], sizeof labbuf[nt], h->start_clock_s + t);
        else
            elapsed_label(labbuf[nt], sizeof labbuf[nt], t);
        labs[nt] = labbuf[nt];
        nt++;
    }
    rc |= somna_plot_axis(c, SOMNA_PLOT_BOTTOM, ticks, labs, nt,
                          have_clock ? "Clock time (hh:mm)" : "Time from start of scoring (h:mm)");
    /* legend, top right above the plot area: box, then its label to the
     * right (start-anchored, so only the spacing between items depends on
     * the estimated text width of ~6.3 px per character at 11 px) */
    somna_plot_reset_viewport(c);
    {
        int any_uns = 0, any_rem = 0;
        for (size_t i = 0; i < h->n_epochs; i++) {
            any_uns |= isnan(level(h->stages[i]));
            any_rem |= h->stages[i] == SOMNA_STAGE_REM;
        }
        somna_plot_font gf = {11.0, 0, 0x333333, SOMNA_PLOT_ANCHOR_START, 0.0};
        const char *uns_label = "artefact / unscored";
        double wr = 16 + 3 * 6.3, wu = 16 + 19 * 6.3;
        double width = (any_rem ? wr : 0) + (any_uns ? wu : 0) + (any_rem && any_uns ? 18 : 0);
        double x = W - mr - width, y = mt - 9;
        if (any_rem) {
            rc |= somna_plot_rect(c, x, y - 7, x + 12, y - 1, &rem);
            rc |= somna_plot_text(c, x + 16, y, "REM", &gf);
            x += wr + 18;
        }
        if (any_uns) {
            rc |= somna_plot_rect(c, x, y - 9, x + 12, y + 1, &band);
            rc |= somna_plot_text(c, x + 16, y, uns_label, &gf);
        }
    }
    if (title) {
        somna_plot_font tf = {14.0, 1, 0x111111, SOMNA_PLOT_ANCHOR_START, 0.0};
        rc |= somna_plot_text(c, ml, 24, title, &tf);
    }
    if (rc)
        return somna_fail(err, SOMNA_E_NOMEM, "plot: out of memory while drawing the hypnogram");
    return SOMNA_OK;
}
