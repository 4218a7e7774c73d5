/* Natural cubic spline interpolation (de Boor, A Practical Guide to
 * Splines, 1978, ch. IV): second derivatives from the tridiagonal system
 * solved by the Thomas algorithm, zero at both ends. */
#include "somna/dsp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int somna_dsp_spline_init(somna_dsp_spline *s, const double *x, const double *y, size_t n, somna_err *err)
{
    memset(s, 0, sizeof *s);
    if (n < 2)
        return somna_fail(err, SOMNA_E_DATA, "spline: %zu knot(s), need at least 2", n);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            return somna_fail(err, SOMNA_E_DATA, "spline: knot %zu is not finite", i);
        if (i > 0 && !(x[i] > x[i - 1]))
            return somna_fail(err, SOMNA_E_DATA, "spline: knots not strictly increasing at %zu (%g after %g)", i,
                              x[i], x[i - 1]);
    }
    s->x = malloc(n * sizeof *s->x);
    s->y = malloc(n * sizeof *s->y);
    s->m = calloc(n, sizeof *s->m);
    double *c = malloc(n * sizeof *c);
    if (!s->x || !s->y || !s->m || !c) {
        free(c);
        somna_dsp_spline_free(s);
        return somna_fail(err, SOMNA_E_NOMEM, "spline: out of memory for %zu knots", n);
    }
    memcpy(s->x, x, n * sizeof *x);
    memcpy(s->y, y, n * sizeof *y);
    s->n = n;
    /* interior equations: h0 m[i-1] + 2(h0+h1) m[i] + h1 m[i+1] = 6 (d1 - d0) */
    c[0] = 0.0;
    for (size_t i = 1; i + 1 < n; i++) {
        double h0 = x[i] - x[i - 1], h1 = x[i + 1] - x[i];
        double rhs = 6.0 * ((y[i + 1] - y[i]) / h1 - (y[i] - y[i - 1]) / h0);
        double diag = 2.0 * (h0 + h1) - h0 * c[i - 1];
        c[i] = h1 / diag;
        s->m[i] = (rhs - h0 * s->m[i - 1]) / diag;
    }
    for (size_t i = n - 2; i >= 1; i--)
        s->m[i] -= c[i] * s->m[i + 1];
    free(c);
    return SOMNA_OK;
}

static double eval_in(const somna_dsp_spline *s, size_t i, double t)
{
    double h = s->x[i + 1] - s->x[i];
    double a = (s->x[i + 1] - t) / h, b = (t - s->x[i]) / h;
    return a * s->y[i] + b * s->y[i + 1] + ((a * a * a - a) * s->m[i] + (b * b * b - b) * s->m[i + 1]) * h * h / 6.0;
}

double somna_dsp_spline_eval(const somna_dsp_spline *s, double t)
{
    size_t lo = 0, hi = s->n - 1;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (s->x[mid] > t)
            hi = mid;
        else
            lo = mid;
    }
    return eval_in(s, lo, t);
}

void somna_dsp_spline_eval_grid(const somna_dsp_spline *s, double t0, double dt, size_t n_out, double *out)
{
    size_t i = 0;
    for (size_t k = 0; k < n_out; k++) {
        double t = t0 + (double)k * dt;
        while (i + 2 < s->n && s->x[i + 1] <= t)
            i++;
        out[k] = eval_in(s, i, t);
    }
}

void somna_dsp_spline_free(somna_dsp_spline *s)
{
    if (!s)
        return;
    free(s->x);
    free(s->y);
    free(s->m);
    memset(s, 0, sizeof *s);
}
