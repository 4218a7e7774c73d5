/* Amplitude envelope from the analytic signal: FFT, zero the negative
 * frequencies and double the positive ones (DC and Nyquist kept once),
 * inverse FFT, modulus (Marple, "Computing the discrete-time analytic
 * signal via FFT", IEEE Trans. SP 47:2600, 1999 — scipy.signal.hilbert). */
#include "somna/dsp.h"

#include <fftw3.h>
#include <math.h>

int somna_dsp_envelope(const double *x, size_t n, double *out, somna_err *err)
{
    if (n == 0)
        return SOMNA_OK;
    if (n > (size_t)1 << 30)
        return somna_fail(err, SOMNA_E_NOMEM, "envelope: %zu samples is too many for one transform", n);
    fftw_complex *a = fftw_malloc(n * sizeof *a);
    if (!a)
        return somna_fail(err, SOMNA_E_NOMEM, "envelope: out of memory for %zu samples", n);
    fftw_plan fwd = fftw_plan_dft_1d((int)n, a, a, FFTW_FORWARD, FFTW_ESTIMATE);
    fftw_plan inv = fftw_plan_dft_1d((int)n, a, a, FFTW_BACKWARD, FFTW_ESTIMATE);
    if (!fwd || !inv) {
        if (fwd)
            fftw_destroy_plan(fwd);
        if (inv)
            fftw_destroy_plan(inv);
        fftw_free(a);
        return somna_fail(err, SOMNA_E_NOMEM, "envelope: FFTW could not plan %zu points", n);
    }
    for (size_t i = 0; i < n; i++) {
        a[i][0] = x[i];
        a[i][1] = 0.0;
    }
    fftw_execute(fwd);
    size_t half = n / 2;
    for (size_t k = 1; k < n; k++) {
        double h = (k < (n + 1) / 2) ? 2.0 : (n % 2 == 0 && k == half) ? 1.0 : 0.0;
        a[k][0] *= h;
        a[k][1] *= h;
    }
    fftw_execute(inv);
    for (size_t i = 0; i < n; i++)
        out[i] = hypot(a[i][0], a[i][1]) / (double)n;
    fftw_destroy_plan(fwd);
    fftw_destroy_plan(inv);
    fftw_free(a);
    return SOMNA_OK;
}
