/* somna — a small plotting module: one canvas, two outputs (SVG text and
 * PNG through cairo), plus the figures somna draws (hypnogram here; other
 * plot kinds are added as new files by the report module).
 *
 * The canvas records drawing operations in pixel coordinates; a viewport
 * maps data coordinates (y up) to a pixel box, so figure code works in
 * data units.  Rendering happens only at save time, so the same figure is
 * written as SVG (for papers and inline HTML) or PNG without redrawing.
 * Colours are 0xRRGGBB.  Text is UTF-8 and escaped for SVG.
 */
#ifndef SOMNA_PLOT_H
#define SOMNA_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "somna/error.h"
#include "somna/hypnogram.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SOMNA_PLOT_NONE 0xFFFFFFFFu /* "no stroke" / "no fill" */

typedef struct somna_plot_style {
    uint32_t stroke;     /* 0xRRGGBB or SOMNA_PLOT_NONE */
    uint32_t fill;       /* 0xRRGGBB or SOMNA_PLOT_NONE (lines ignore it) */
    double stroke_width; /* pixels */
    double opacity;      /* 0..1; 0 means opaque (so a zeroed style is usable) */
    double dash;         /* dash length in pixels, 0 = solid */
} somna_plot_style;

typedef enum somna_plot_anchor {
    SOMNA_PLOT_ANCHOR_START = 0,
    SOMNA_PLOT_ANCHOR_MIDDLE,
    SOMNA_PLOT_ANCHOR_END
} somna_plot_anchor;

typedef struct somna_plot_font {
    double size;         /* pixels; 0 = 12 */
    int bold;
    uint32_t color;      /* 0xRRGGBB */
    somna_plot_anchor anchor;
    double rotate_deg;   /* counter-clockwise, about the anchor point */
} somna_plot_font;

typedef enum somna_plot_side {
    SOMNA_PLOT_BOTTOM = 0,
    SOMNA_PLOT_LEFT,
    SOMNA_PLOT_TOP,
    SOMNA_PLOT_RIGHT
} somna_plot_side;

typedef struct somna_plot_canvas somna_plot_canvas;

/* Convenience styles. */
somna_plot_style somna_plot_stroke(uint32_t rgb, double width);
somna_plot_style somna_plot_fill(uint32_t rgb);

int somna_plot_canvas_create(double width_px, double height_px, somna_plot_canvas **out, somna_err *err);
void somna_plot_canvas_destroy(somna_plot_canvas *c);
double somna_plot_width(const somna_plot_canvas *c);
double somna_plot_height(const somna_plot_canvas *c);
/* Background colour (default white); SOMNA_PLOT_NONE = transparent. */
void somna_plot_set_background(somna_plot_canvas *c, uint32_t rgb);

/* Map data x in [x0, x1] to pixels [px0, px1] and data y in [y0, y1] to
 * pixels [py1, py0] (y grows upwards in data, downwards on screen).
 * x0 == x1 or y0 == y1 is refused (returns SOMNA_E_ARG). */
int somna_plot_set_viewport(somna_plot_canvas *c, double px0, double py0, double px1, double py1, double x0,
                            double x1, double y0, double y1);
/* Back to raw pixel coordinates (origin top-left, y down). */
void somna_plot_reset_viewport(somna_plot_canvas *c);
/* Current viewport pixel box and data range (for axis helpers). */
void somna_plot_get_viewport(const somna_plot_canvas *c, double px[4], double data[4]);
double somna_plot_px(const somna_plot_canvas *c, double x);
double somna_plot_py(const somna_plot_canvas *c, double y);

/* Primitives in current (data or pixel) coordinates.  They return 0 or
 * SOMNA_E_NOMEM; a failed primitive also makes the next save fail, so a
 * figure is never silently incomplete. */
int somna_plot_line(somna_plot_canvas *c, double x0, double y0, double x1, double y1, const somna_plot_style *s);
int somna_plot_polyline(somna_plot_canvas *c, const double *x, const double *y, size_t n,
                        const somna_plot_style *s);
int somna_plot_rect(somna_plot_canvas *c, double x0, double y0, double x1, double y1, const somna_plot_style *s);
int somna_plot_text(somna_plot_canvas *c, double x, double y, const char *utf8, const somna_plot_font *f);

/* "Nice" tick positions (1, 2, 2.5, 5 x 10^k steps) covering [lo, hi]
 * with at most max_ticks ticks; returns the count written (<= cap). */
size_t somna_plot_nice_ticks(double lo, double hi, size_t max_ticks, double *ticks, size_t cap);

/* Axis on one side of the current viewport: the axis line, ticks at data
 * positions `ticks` with `labels` (NULL = numbers formatted %g), and a
 * title (may be NULL). */
int somna_plot_axis(somna_plot_canvas *c, somna_plot_side side, const double *ticks, const char *const *labels,
                    size_t n, const char *title);

/* Output.  Files are written atomically (temporary + rename). */
int somna_plot_save_svg(const somna_plot_canvas *c, const char *path, somna_err *err);
int somna_plot_save_png(const somna_plot_canvas *c, const char *path, double scale, somna_err *err);
/* By extension: .svg or .png (case-insensitive); anything else refused. */
int somna_plot_save(const somna_plot_canvas *c, const char *path, somna_err *err);
/* The SVG document as a malloc'd NUL-terminated string (for inline HTML). */
int somna_plot_svg_string(const somna_plot_canvas *c, char **out, size_t *len, somna_err *err);

/* Release cairo's and fontconfig's process-wide caches (fonts loaded for
 * PNG text).  Optional; call once before exit so leak checkers see a clean
 * process.  Drawing afterwards still works (caches are rebuilt). */
void somna_plot_release_caches(void);

/* Escape text for SVG/XML (&, <, >, ", ') into dst; returns the length
 * the escaped text needs (like snprintf), dst always NUL-terminated. */
size_t somna_plot_xml_escape(char *dst, size_t size, const char *src);

/* ---- Hypnogram figure ---------------------------------------------------- */

typedef struct somna_plot_hypno_opts {
    const char *title;    /* NULL = none */
    double lights_off_s;  /* seconds from the first epoch; < 0 = no mark */
    double lights_on_s;   /* < 0 = no mark */
} somna_plot_hypno_opts;

/* Draw a hypnogram over the whole canvas: stages on the y axis (W, REM,
 * N1, N2, N3 from top), REM drawn as thick red bars, artefact/unscored as
 * grey bands, clock time on the x axis (hours from start when the start
 * time is unknown), dashed lights-off/on marks. */
int somna_plot_hypnogram(somna_plot_canvas *c, const somna_hypnogram *h, const somna_plot_hypno_opts *o,
                         somna_err *err);

/* ---- Study figures (report module) --------------------------------------- */

/* Forest plot over the whole canvas: n rows (labels, estimate, CI; NaN =
 * not drawn) against a dashed line at 0. */
int somna_plot_forest(somna_plot_canvas *c, const char *const *labels, const double *est, const double *lo,
                      const double *hi, size_t n, const char *xlabel, const char *title, somna_err *err);

/* Per-condition comparison over the whole canvas: values is n x k row-major
 * (participant x condition, NaN = missing); paired = 1 joins each
 * participant's values by a line; condition means with CIs in red. */
int somna_plot_conditions(somna_plot_canvas *c, const char *const *cond_labels, size_t k, const double *values,
                          size_t n, int paired, const double *mean, const double *ci_lo, const double *ci_hi,
                          const char *ylabel, const char *title, somna_err *err);

/* Group means over occasions over the whole canvas: mean/lo/hi are
 * n_groups x n_occ row-major (NaN = not drawn); one coloured line with CI
 * bars per group and a legend. */
int somna_plot_trajectory(somna_plot_canvas *c, const char *const *occ_labels, size_t n_occ,
                          const char *const *group_labels, size_t n_groups, const double *mean, const double *lo,
                          const double *hi, const char *ylabel, const char *title, somna_err *err);

#ifdef __cplusplus
}
#endif
#endif
