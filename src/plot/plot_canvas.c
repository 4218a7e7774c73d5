/* somna — plotting canvas: a display list rendered to SVG (SVG 1.1, W3C
 * 2011) or to PNG through cairo's image surface.
 *
 * Operations are stored already converted to pixels, so the viewport can
 * change between calls (several panels on one canvas) and both back ends
 * draw exactly the same figure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <stddef.h>

#include "core/dynlib.h"
#include "somna/fileio.h"
#include "somna/json.h"
#include "somna/parse.h"
#include "somna/plot.h"
#include "plot/plot_internal.h"

typedef enum op_kind { OP_LINE, OP_POLYLINE, OP_RECT, OP_TEXT } op_kind;

typedef struct plot_op {
    op_kind kind;
    somna_plot_style style;
    somna_plot_font font;
    double x0, y0, x1, y1; /* line ends, rect corners (normalised), text anchor */
    double *pts;           /* polyline: 2n pixel coordinates */
    size_t n;
    char *text;
} plot_op;

struct somna_plot_canvas {
    double w, h;
    uint32_t background;
    /* viewport: pixel = a + b * data */
    double ax, bx, ay, by;
    double vp_px[4];   /* px0, py0, px1, py1 */
    double vp_data[4]; /* x0, x1, y0, y1 */
    plot_op *ops;
    size_t n_ops, cap_ops;
    int failed; /* an allocation failed: saving refuses */
};

somna_plot_style somna_plot_stroke(uint32_t rgb, double width)
{
    somna_plot_style s = {rgb, SOMNA_PLOT_NONE, width, 1.0, 0.0};
    return s;
}

somna_plot_style somna_plot_fill(uint32_t rgb)
{
    somna_plot_style s = {SOMNA_PLOT_NONE, rgb, 0.0, 1.0, 0.0};
    return s;
}

int somna_plot_canvas_create(double width_px, double height_px, somna_plot_canvas **out, somna_err *err)
{
    *out = NULL;
    if (!(width_px >= 1 && width_px <= 20000 && height_px >= 1 && height_px <= 20000))
        return somna_fail(err, SOMNA_E_ARG, "plot: canvas size %g x %g px is not in 1..20000", width_px, height_px);
    somna_plot_canvas *c = calloc(1, sizeof *c);
    if (!c)
        return somna_fail(err, SOMNA_E_NOMEM, "plot: out of memory");
    c->w = width_px;
    c->h = height_px;
    c->background = 0xFFFFFF;
    somna_plot_reset_viewport(c);
    *out = c;
    return SOMNA_OK;
}

void somna_plot_canvas_destroy(somna_plot_canvas *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_ops; i++) {
        free(c->ops[i].pts);
        free(c->ops[i].text);
    }
    free(c->ops);
    free(c);
}

double somna_plot_width(const somna_plot_canvas *c) { return c->w; }
double somna_plot_height(const somna_plot_canvas *c) { return c->h; }
void somna_plot_set_background(somna_plot_canvas *c, uint32_t rgb) { c->background = rgb; }

int somna_plot_set_viewport(somna_plot_canvas *c, double px0, double py0, double px1, double py1, double x0,
                            double x1, double y0, double y1)
{
    if (!(x1 != x0) || !(y1 != y0) || !isfinite(x0 + x1 + y0 + y1 + px0 + px1 + py0 + py1))
        return SOMNA_E_ARG;
    c->bx = (px1 - px0) / (x1 - x0);
    c->ax = px0 - c->bx * x0;
    c->by = (py0 - py1) / (y1 - y0); /* y up: y0 at the bottom (py1) */
    c->ay = py1 - c->by * y0;
    double p[4] = {px0, py0, px1, py1}, d[4] = {x0, x1, y0, y1};
    memcpy(c->vp_px, p, sizeof p);
    memcpy(c->vp_data, d, sizeof d);
    return SOMNA_OK;
}

void somna_plot_reset_viewport(somna_plot_canvas *c)
{
    c->ax = c->ay = 0;
    c->bx = c->by = 1;
    double p[4] = {0, 0, c->w, c->h}, d[4] = {0, c->w, c->h, 0};
    memcpy(c->vp_px, p, sizeof p);
    memcpy(c->vp_data, d, sizeof d);
}

void somna_plot_get_viewport(const somna_plot_canvas *c, double px[4], double data[4])
{
    memcpy(px, c->vp_px, sizeof c->vp_px);
    memcpy(data, c->vp_data, sizeof c->vp_data);
}

double somna_plot_px(const somna_plot_canvas *c, double x) { return c->ax + c->bx * x; }
double somna_plot_py(const somna_plot_canvas *c, double y) { return c->ay + c->by * y; }

static plot_op *new_op(somna_plot_canvas *c, op_kind kind)
{
    if (c->failed)
        return NULL;
    if (c->n_ops == c->cap_ops) {
        size_t cap = c->cap_ops ? c->cap_ops * 2 : 64;
        plot_op *n = realloc(c->ops, cap * sizeof *n);
        if (!n) {
            c->failed = 1;
            return NULL;
        }
        c->ops = n;
        c->cap_ops = cap;
    }
    plot_op *op = &c->ops[c->n_ops++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    return op;
}

static somna_plot_style style_or_default(const somna_plot_style *s)
{
    if (s)
        return *s;
    return somna_plot_stroke(0x000000, 1.0);
}

int somna_plot_line(somna_plot_canvas *c, double x0, double y0, double x1, double y1, const somna_plot_style *s)
{
    plot_op *op = new_op(c, OP_LINE);
    if (!op)
        return SOMNA_E_NOMEM;
    op->style = style_or_default(s);
    op->x0 = somna_plot_px(c, x0);
    op->y0 = somna_plot_py(c, y0);
    op->x1 = somna_plot_px(c, x1);
    op->y1 = somna_plot_py(c, y1);
    return SOMNA_OK;
}

int somna_plot_polyline(somna_plot_canvas *c, const double *x, const double *y, size_t n,
                        const somna_plot_style *s)
{
    if (n == 0)
        return SOMNA_OK;
    double *pts = malloc(2 * n * sizeof *pts);
    plot_op *op = pts ? new_op(c, OP_POLYLINE) : NULL;
    if (!op) {
        free(pts);
        c->failed = 1;
        return SOMNA_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        pts[2 * i] = somna_plot_px(c, x[i]);
        pts[2 * i + 1] = somna_plot_py(c, y[i]);
    }
    op->style = style_or_default(s);
    op->pts = pts;
    op->n = n;
    return SOMNA_OK;
}

int somna_plot_rect(somna_plot_canvas *c, double x0, double y0, double x1, double y1, const somna_plot_style *s)
{
    plot_op *op = new_op(c, OP_RECT);
    if (!op)
        return SOMNA_E_NOMEM;
    op->style = s ? *s : somna_plot_fill(0x000000);
    double a = somna_plot_px(c, x0), b = somna_plot_px(c, x1);
    double p = somna_plot_py(c, y0), q = somna_plot_py(c, y1);
    op->x0 = fmin(a, b);
    op->x1 = fmax(a, b);
    op->y0 = fmin(p, q);
    op->y1 = fmax(p, q);
    return SOMNA_OK;
}

int somna_plot_text(somna_plot_canvas *c, double x, double y, const char *utf8, const somna_plot_font *f)
{
    char *t = strdup(utf8 ? utf8 : "");
    plot_op *op = t ? new_op(c, OP_TEXT) : NULL;
    if (!op) {
        free(t);
        c->failed = 1;
        return SOMNA_E_NOMEM;
    }
    somna_plot_font def = {12.0, 0, 0x000000, SOMNA_PLOT_ANCHOR_START, 0.0};
    op->font = f ? *f : def;
    if (!(op->font.size > 0))
        op->font.size = 12.0;
    op->x0 = somna_plot_px(c, x);
    op->y0 = somna_plot_py(c, y);
    op->text = t;
    return SOMNA_OK;
}

/* ---- ticks and axes ------------------------------------------------------ */

size_t somna_plot_nice_ticks(double lo, double hi, size_t max_ticks, double *ticks, size_t cap)
{
    if (!(hi > lo) || !isfinite(lo) || !isfinite(hi) || max_ticks < 2 || cap == 0)
        return 0;
    /* Heckbert, "Nice numbers for graph labels", Graphics Gems 1990:
     * step = 1, 2, 2.5 or 5 times a power of ten. */
    double raw = (hi - lo) / (double)(max_ticks - 1);
    double p = pow(10.0, floor(log10(raw)));
    static const double mult[] = {1.0, 2.0, 2.5, 5.0, 10.0};
    double step = 10.0 * p;
    for (size_t i = 0; i < sizeof mult / sizeof mult[0]; i++)
        if (mult[i] * p >= raw) {
            step = mult[i] * p;
            break;
        }
    double first = ceil(lo / step - 1e-9) * step;
    size_t n = 0;
    for (double t = first; t <= hi + step * 1e-9 && n < cap; t = first + step * (double)n) {
        ticks[n++] = fabs(t) < step * 1e-12 ? 0.0 : t;
    }
    return n;
}

int somna_plot_axis(somna_plot_canvas *c, somna_plot_side side, const double *ticks, const char *const *labels,
                    size_t n, const char *title)
{
    double px0 = c->vp_px[0], py0 = c->vp_px[1], px1 = c->vp_px[2], py1 = c->vp_px[3];
    /* Axes are drawn in pixels: save and restore the data viewport. */
    double sax = c->ax, sbx = c->bx, say = c->ay, sby = c->by;
    double vp[4], vd[4];
    memcpy(vp, c->vp_px, sizeof vp);
    memcpy(vd, c->vp_data, sizeof vd);
    somna_plot_style ax = somna_plot_stroke(0x222222, 1.0);
    somna_plot_font lf = {11.0, 0, 0x222222, SOMNA_PLOT_ANCHOR_MIDDLE, 0.0};
    somna_plot_font tf = {12.0, 0, 0x222222, SOMNA_PLOT_ANCHOR_MIDDLE, 0.0};
    int rc = SOMNA_OK;
    double pos[256];
    if (n > 256)
        n = 256;
    for (size_t i = 0; i < n; i++)
        pos[i] = (side == SOMNA_PLOT_BOTTOM || side == SOMNA_PLOT_TOP) ? sax + sbx * ticks[i] : say + sby * ticks[i];
    somna_plot_reset_viewport(c);
    char buf[64];
    switch (side) {
    case SOMNA_PLOT_BOTTOM:
    case SOMNA_PLOT_TOP: {
        double y = side == SOMNA_PLOT_BOTTOM ? py1 : py0;
        double dir = side == SOMNA_PLOT_BOTTOM ? 1.0 : -1.0;
        rc |= somna_plot_line(c, px0, y, px1, y, &ax);
        for (size_t i = 0; i < n; i++) {
            rc |= somna_plot_line(c, pos[i], y, pos[i], y + 5 * dir, &ax);
            const char *l = labels ? labels[i] : NULL;
            if (!l) {
                somna_format_double(buf, sizeof buf, ticks[i]);
                l = buf;
            }
            rc |= somna_plot_text(c, pos[i], side == SOMNA_PLOT_BOTTOM ? y + 18 : y - 9, l, &lf);
        }
        if (title)
            rc |= somna_plot_text(c, (px0 + px1) / 2, side == SOMNA_PLOT_BOTTOM ? y + 36 : y - 26, title, &tf);
        break;
    }
    case SOMNA_PLOT_LEFT:
    case SOMNA_PLOT_RIGHT: {
        double x = side == SOMNA_PLOT_LEFT ? px0 : px1;
        double dir = side == SOMNA_PLOT_LEFT ? -1.0 : 1.0;
        lf.anchor = side == SOMNA_PLOT_LEFT ? SOMNA_PLOT_ANCHOR_END : SOMNA_PLOT_ANCHOR_START;
        rc |= somna_plot_line(c, x, py0, x, py1, &ax);
        for (size_t i = 0; i < n; i++) {
            rc |= somna_plot_line(c, x, pos[i], x + 5 * dir, pos[i], &ax);
            const char *l = labels ? labels[i] : NULL;
            if (!l) {
                somna_format_double(buf, sizeof buf, ticks[i]);
                l = buf;
            }
            rc |= somna_plot_text(c, x + 8 * dir, pos[i] + 4, l, &lf);
        }
        if (title) {
            tf.rotate_deg = side == SOMNA_PLOT_LEFT ? 90.0 : -90.0;
            rc |= somna_plot_text(c, side == SOMNA_PLOT_LEFT ? x - 45 : x + 45, (py0 + py1) / 2, title, &tf);
        }
        break;
    }
    }
    c->ax = sax;
    c->bx = sbx;
    c->ay = say;
    c->by = sby;
    memcpy(c->vp_px, vp, sizeof vp);
    memcpy(c->vp_data, vd, sizeof vd);
    return rc ? SOMNA_E_NOMEM : SOMNA_OK;
}

void somna_plot_range_add(double *lo, double *hi, int *any, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            *lo = *any ? fmin(*lo, v[i]) : v[i];
            *hi = *any ? fmax(*hi, v[i]) : v[i];
            *any = 1;
        }
}

void somna_plot_range_pad(double *lo, double *hi, double frac)
{
    if (*hi - *lo < 1e-12) {
        *lo -= 1;
        *hi += 1;
    }
    double pad = frac * (*hi - *lo);
    *lo -= pad;
    *hi += pad;
}

int somna_plot_value_axis(somna_plot_canvas *c, somna_plot_side side, double lo, double hi, size_t max_ticks,
                          const char *title)
{
    double ticks[12];
    size_t nt = somna_plot_nice_ticks(lo, hi, max_ticks, ticks, 12);
    /* tick labels with at most 6 significant digits: 0.86, not 0.8600000000000001 */
    char tl[12][24];
    const char *tlp[12];
    for (size_t i = 0; i < nt; i++) {
        snprintf(tl[i], sizeof tl[i], "%.6g",
                 fabs(ticks[i]) < 1e-12 * (fabs(ticks[0]) + fabs(ticks[nt - 1])) ? 0.0 : ticks[i]);
        tlp[i] = tl[i];
    }
    return somna_plot_axis(c, side, ticks, tlp, nt, title);
}

/* ---- SVG ------------------------------------------------------------------ */

size_t somna_plot_xml_escape(char *dst, size_t size, const char *src)
{
    size_t need = 0;
    for (const char *p = src; *p; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        default: break;
        }
        /* control characters are not allowed in XML 1.0: drop them */
        if (!rep && (unsigned char)*p < 0x20 && *p != '\t' && *p != '\n')
            continue;
        size_t k = rep ? strlen(rep) : 1;
        if (size && need + k < size)
            memcpy(dst + need, rep ? rep : p, k);
        need += k;
    }
    if (size)
        dst[need < size ? need : size - 1] = '\0';
    return need;
}

/* Locale-free fixed-point number with up to 2 decimals ("12.5", "-3"). */
static void fmt2(char *buf, size_t size, double v)
{
    if (!isfinite(v))
        v = 0;
    long long k = llround(v * 100.0);
    const char *sign = k < 0 ? "-" : "";
    if (k < 0)
        k = -k;
    long long ip = k / 100, fp = k % 100;
    if (fp == 0)
        snprintf(buf, size, "%s%lld", sign, ip);
    else if (fp % 10 == 0)
        snprintf(buf, size, "%s%lld.%lld", sign, ip, fp / 10);
    else
        snprintf(buf, size, "%s%lld.%02lld", sign, ip, fp);
}

static void put_color(FILE *f, const char *attr, uint32_t rgb)
{
    if (rgb == SOMNA_PLOT_NONE)
        fprintf(f, " %s=\"none\"", attr);
    else
        fprintf(f, " %s=\"#%06X\"", attr, (unsigned)(rgb & 0xFFFFFFu));
}

static void put_style(FILE *f, const somna_plot_style *s, int fill)
{
    char a[32];
    put_color(f, "stroke", s->stroke);
    if (s->stroke != SOMNA_PLOT_NONE) {
        fmt2(a, sizeof a, s->stroke_width > 0 ? s->stroke_width : 1.0);
        fprintf(f, " stroke-width=\"%s\"", a);
        if (s->dash > 0) {
            fmt2(a, sizeof a, s->dash);
            fprintf(f, " stroke-dasharray=\"%s,%s\"", a, a);
        }
    }
    if (fill)
        put_color(f, "fill", s->fill);
    if (s->opacity > 0 && s->opacity < 1) {
        fmt2(a, sizeof a, s->opacity);
        fprintf(f, " opacity=\"%s\"", a);
    }
}

static int write_svg(const somna_plot_canvas *c, FILE *f)
{
    char a[32], b[32], d[32], e[32];
    fmt2(a, sizeof a, c->w);
    fmt2(b, sizeof b, c->h);
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%s\" height=\"%s\" "
            "viewBox=\"0 0 %s %s\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
            a, b, a, b);
    if (c->background != SOMNA_PLOT_NONE)
        fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%s\" height=\"%s\" fill=\"#%06X\"/>\n", a, b,
                (unsigned)(c->background & 0xFFFFFFu));
    for (size_t i = 0; i < c->n_ops; i++) {
        const plot_op *op = &c->ops[i];
        switch (op->kind) {
        case OP_LINE:
            fmt2(a, sizeof a, op->x0);
            fmt2(b, sizeof b, op->y0);
            fmt2(d, sizeof d, op->x1);
            fmt2(e, sizeof e, op->y1);
            fprintf(f, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"", a, b, d, e);
            put_style(f, &op->style, 0);
            fputs(" stroke-linecap=\"square\"/>\n", f);
            break;
        case OP_POLYLINE:
            fputs("<polyline points=\"", f);
            for (size_t k = 0; k < op->n; k++) {
                fmt2(a, sizeof a, op->pts[2 * k]);
                fmt2(b, sizeof b, op->pts[2 * k + 1]);
                fprintf(f, "%s%s,%s", k ? " " : "", a, b);
            }
            fputc('"', f);
            put_style(f, &op->style, 1);
            fputs(" stroke-linejoin=\"miter\"/>\n", f);
            break;
        case OP_RECT:
            fmt2(a, sizeof a, op->x0);
            fmt2(b, sizeof b, op->y0);
            fmt2(d, sizeof d, op->x1 - op->x0);
            fmt2(e, sizeof e, op->y1 - op->y0);
            fprintf(f, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\"", a, b, d, e);
            put_style(f, &op->style, 1);
            fputs("/>\n", f);
            break;
        case OP_TEXT: {
            static const char *const anchors[] = {"start", "middle", "end"};
            fmt2(a, sizeof a, op->x0);
            fmt2(b, sizeof b, op->y0);
            fmt2(d, sizeof d, op->font.size);
            fprintf(f, "<text x=\"%s\" y=\"%s\" font-size=\"%s\" text-anchor=\"%s\"", a, b, d,
                    anchors[op->font.anchor <= SOMNA_PLOT_ANCHOR_END ? op->font.anchor : 0]);
            put_color(f, "fill", op->font.color);
            if (op->font.bold)
                fputs(" font-weight=\"bold\"", f);
            if (op->font.rotate_deg != 0) {
                fmt2(e, sizeof e, -op->font.rotate_deg);
                fprintf(f, " transform=\"rotate(%s %s %s)\"", e, a, b);
            }
            fputc('>', f);
            size_t need = somna_plot_xml_escape(NULL, 0, op->text);
            char *esc = malloc(need + 1);
            if (!esc)
                return -1;
            somna_plot_xml_escape(esc, need + 1, op->text);
            fputs(esc, f);
            free(esc);
            fputs("</text>\n", f);
            break;
        }
        }
    }
    fputs("</svg>\n", f);
    return ferror(f) ? -1 : 0;
}

int somna_plot_svg_string(const somna_plot_canvas *c, char **out, size_t *len, somna_err *err)
{
    *out = NULL;
    if (c->failed)
        return somna_fail(err, SOMNA_E_NOMEM, "plot: figure incomplete (out of memory while drawing)");
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return somna_fail(err, SOMNA_E_NOMEM, "plot: out of memory");
    int bad = write_svg(c, f);
    if (fclose(f) != 0 || bad) {
        free(buf);
        return somna_fail(err, SOMNA_E_NOMEM, "plot: out of memory while writing SVG");
    }
    *out = buf;
    if (len)
        *len = n;
    return SOMNA_OK;
}

int somna_plot_save_svg(const somna_plot_canvas *c, const char *path, somna_err *err)
{
    if (c->failed)
        return somna_fail(err, SOMNA_E_NOMEM, "%s: figure incomplete (out of memory while drawing)", path);
    somna_outfile o;
    int rc = somna_outfile_open(&o, path, err);
    if (rc)
        return rc;
    if (write_svg(c, o.fp)) {
        somna_outfile_abort(&o);
        return somna_fail(err, SOMNA_E_IO, "%s: write failed", path);
    }
    return somna_outfile_commit(&o, err);
}

/* ---- PNG through cairo ----------------------------------------------------- */

/* cairo is opened for each PNG written (core/dynlib.h), not linked: it and
 * its dependencies (fontconfig, freetype, X11 ...) would cost every command
 * its start-up time.  Declared from <cairo.h>, so every call is checked. */
#define CAIRO_FUNCS(X)                                                                                       \
    X(image_surface_create) X(surface_status) X(surface_destroy) X(surface_write_to_png_stream) X(create)     \
    X(destroy) X(status) X(status_to_string) X(scale) X(save) X(restore) X(translate) X(rotate) X(paint)     \
    X(set_source_rgba) X(set_line_width) X(set_line_cap) X(set_line_join) X(set_dash) X(move_to) X(line_to) \
    X(rectangle) X(new_path) X(stroke) X(fill) X(fill_preserve) X(select_font_face) X(set_font_size)        \
    X(text_extents) X(show_text)
#define CAIRO_MEMBER(f) SOMNA_DYNLIB_MEMBER(cairo_, f)
#define CAIRO_SYM(f) SOMNA_DYNLIB_SYM(cairo_api, cairo_, f)

typedef struct cairo_api {
    CAIRO_FUNCS(CAIRO_MEMBER)
} cairo_api;

static const somna_dynlib_sym cairo_syms[] = {CAIRO_FUNCS(CAIRO_SYM)};
static const somna_dynlib_spec cairo_lib = {SOMNA_SONAME_CAIRO, "PNG plots", SOMNA_DEBPKG_CAIRO, cairo_syms,
                                            sizeof cairo_syms / sizeof cairo_syms[0]};

static void cairo_rgb(const cairo_api *ca, cairo_t *cr, uint32_t rgb, double opacity)
{
    double a = (opacity > 0 && opacity < 1) ? opacity : 1.0;
    ca->set_source_rgba(cr, (double)((rgb >> 16) & 0xFF) / 255.0, (double)((rgb >> 8) & 0xFF) / 255.0,
                        (double)(rgb & 0xFF) / 255.0, a);
}

static void cairo_stroke_style(const cairo_api *ca, cairo_t *cr, const somna_plot_style *s)
{
    ca->set_line_width(cr, s->stroke_width > 0 ? s->stroke_width : 1.0);
    if (s->dash > 0) {
        double d[2] = {s->dash, s->dash};
        ca->set_dash(cr, d, 2, 0);
    } else {
        ca->set_dash(cr, NULL, 0, 0);
    }
    cairo_rgb(ca, cr, s->stroke, s->opacity);
}

static cairo_status_t png_write(void *closure, const unsigned char *data, unsigned int length)
{
    FILE *f = closure;
    return fwrite(data, 1, length, f) == length ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

static void render_cairo(const cairo_api *ca, const somna_plot_canvas *c, cairo_t *cr)
{
    if (c->background != SOMNA_PLOT_NONE) {
        cairo_rgb(ca, cr, c->background, 1.0);
        ca->paint(cr);
    }
    for (size_t i = 0; i < c->n_ops; i++) {
        const plot_op *op = &c->ops[i];
        switch (op->kind) {
        case OP_LINE:
            if (op->style.stroke == SOMNA_PLOT_NONE)
                break;
            ca->set_line_cap(cr, CAIRO_LINE_CAP_SQUARE);
            ca->move_to(cr, op->x0, op->y0);
            ca->line_to(cr, op->x1, op->y1);
            cairo_stroke_style(ca, cr, &op->style);
            ca->stroke(cr);
            break;
        case OP_POLYLINE:
        case OP_RECT:
            if (op->kind == OP_RECT)
                ca->rectangle(cr, op->x0, op->y0, op->x1 - op->x0, op->y1 - op->y0);
            else {
                ca->move_to(cr, op->pts[0], op->pts[1]);
                for (size_t k = 1; k < op->n; k++)
                    ca->line_to(cr, op->pts[2 * k], op->pts[2 * k + 1]);
            }
            if (op->style.fill != SOMNA_PLOT_NONE) {
                cairo_rgb(ca, cr, op->style.fill, op->style.opacity);
                if (op->style.stroke != SOMNA_PLOT_NONE)
                    ca->fill_preserve(cr);
                else
                    ca->fill(cr);
            }
            if (op->style.stroke != SOMNA_PLOT_NONE) {
                ca->set_line_join(cr, CAIRO_LINE_JOIN_MITER);
                cairo_stroke_style(ca, cr, &op->style);
                ca->stroke(cr);
            }
            ca->new_path(cr);
            break;
        case OP_TEXT: {
            ca->save(cr);
            ca->select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                                 op->font.bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
            ca->set_font_size(cr, op->font.size);
            cairo_text_extents_t ext;
            ca->text_extents(cr, op->text, &ext);
            ca->translate(cr, op->x0, op->y0);
            if (op->font.rotate_deg != 0)
                ca->rotate(cr, -op->font.rotate_deg * M_PI / 180.0);
            double dx = 0;
            if (op->font.anchor == SOMNA_PLOT_ANCHOR_MIDDLE)
                dx = -ext.x_advance / 2;
            else if (op->font.anchor == SOMNA_PLOT_ANCHOR_END)
                dx = -ext.x_advance;
            ca->move_to(cr, dx, 0);
            cairo_rgb(ca, cr, op->font.color, 1.0);
            ca->show_text(cr, op->text);
            ca->restore(cr);
            break;
        }
        }
    }
}

/* Draw and write with a loaded cairo: the failure paths before the
 * output file exists need no clean-up of it. */
static int png_render_write(const cairo_api *ca, const somna_plot_canvas *c, const char *path, double scale,
                            somna_err *err)
{
    int w = (int)ceil(c->w * scale), h = (int)ceil(c->h * scale);
    cairo_surface_t *s = ca->image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    if (ca->surface_status(s) != CAIRO_STATUS_SUCCESS) {
        ca->surface_destroy(s);
        return somna_fail(err, SOMNA_E_NOMEM, "%s: cannot create a %d x %d image", path, w, h);
    }
    cairo_t *cr = ca->create(s);
    ca->scale(cr, scale, scale);
    render_cairo(ca, c, cr);
    cairo_status_t cst = ca->status(cr);
    ca->destroy(cr);
    if (cst != CAIRO_STATUS_SUCCESS) {
        ca->surface_destroy(s);
        return somna_fail(err, SOMNA_E_IO, "%s: drawing failed: %s", path, ca->status_to_string(cst));
    }
    somna_outfile o;
    int rc = somna_outfile_open(&o, path, err);
    if (rc) {
        ca->surface_destroy(s);
        return rc;
    }
    cst = ca->surface_write_to_png_stream(s, png_write, o.fp);
    ca->surface_destroy(s);
    if (cst != CAIRO_STATUS_SUCCESS) {
        somna_outfile_abort(&o);
        return somna_fail(err, SOMNA_E_IO, "%s: PNG write failed: %s", path, ca->status_to_string(cst));
    }
    return somna_outfile_commit(&o, err);
}

int somna_plot_save_png(const somna_plot_canvas *c, const char *path, double scale, somna_err *err)
{
    if (c->failed)
        return somna_fail(err, SOMNA_E_NOMEM, "%s: figure incomplete (out of memory while drawing)", path);
    if (!(scale > 0 && scale <= 8))
        scale = 1.0;
    cairo_api ca;
    void *lib;
    int rc = somna_dynlib_open(&cairo_lib, 0, &lib, &ca, err);
    if (rc) {
        somna_err_prefix(err, "%s", path);
        return rc;
    }
    rc = png_render_write(&ca, c, path, scale, err);
    somna_dynlib_close(lib);
    return rc;
}

int somna_plot_save(const somna_plot_canvas *c, const char *path, somna_err *err)
{
    size_t n = path ? strlen(path) : 0;
    if (n > 4 && somna_strieq(path + n - 4, ".svg"))
        return somna_plot_save_svg(c, path, err);
    if (n > 4 && somna_strieq(path + n - 4, ".png"))
        return somna_plot_save_png(c, path, 2.0, err);
    return somna_fail(err, SOMNA_E_ARG, "%s: plot file must end in .svg or .png", path ? path : "(null)");
}

/* What releasing the caches needs: cairo's reset, and fontconfig's FcFini
 * reached through cairo's own dependency (dlsym on cairo's handle searches
 * its dependencies), so fontconfig is neither linked nor its header needed. */
typedef struct cache_api {
    __typeof__(&cairo_debug_reset_static_data) reset;
    void (*fcfini)(void);
} cache_api;

static const somna_dynlib_sym cache_syms[] = {
    {"cairo_debug_reset_static_data", offsetof(cache_api, reset), 0},
    {"FcFini", offsetof(cache_api, fcfini), 1},
};
static const somna_dynlib_spec cache_lib = {SOMNA_SONAME_CAIRO, "PNG plots", SOMNA_DEBPKG_CAIRO, cache_syms,
                                            sizeof cache_syms / sizeof cache_syms[0]};

void somna_plot_release_caches(void)
{
    /* cairo's documented leak-check sequence: drop cairo's static caches,
     * then fontconfig's (FcFini).  Nothing to do if no PNG was ever drawn:
     * cairo is then not loaded, and is not loaded for this. */
    cache_api ca;
    void *lib;
    if (somna_dynlib_open(&cache_lib, SOMNA_DYNLIB_IF_LOADED, &lib, &ca, NULL) != SOMNA_OK)
        return;
    ca.reset();
    if (ca.fcfini)
        ca.fcfini();
    somna_dynlib_close(lib);
}
