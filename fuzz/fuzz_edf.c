/* libFuzzer harness: EDF/EDF+/BDF header validation, TAL parsing and
 * decoding.  The input is the whole file; when it opens, every data signal
 * is decoded (first, middle and last stretch), a time range is read and the
 * annotation list walked, so a header that lies about sizes is caught by
 * ASan the moment a read would leave the buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "somna/edf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_edf *e = NULL;
    if (somna_edf_open_buffer(data, size, "fuzz.edf", &e, &err) != SOMNA_OK) {
        if (err.msg[0] == '\0')
            abort(); /* every refusal must say why */
        return 0;
    }
    const somna_edf_header *h = somna_edf_get_header(e);
    double buf[512];
    int32_t dig[512];
    for (int s = 0; s < h->n_signals; s++) {
        int64_t n = h->signals[s].n_samples;
        if (h->signals[s].is_annotation || n == 0)
            continue;
        int64_t k = n < 512 ? n : 512;
        if (somna_edf_read_physical(e, s, 0, k, buf, &err) != SOMNA_OK)
            abort();
        if (somna_edf_read_digital(e, s, n - k, k, dig, &err) != SOMNA_OK)
            abort();
        if (somna_edf_read_physical(e, s, n / 2, k / 2, buf, &err) != SOMNA_OK)
            abort();
        double *r = NULL;
        int64_t nr = 0;
        if (somna_edf_read_range(e, s, 0.0, 2.0, &r, &nr, &err) == SOMNA_OK)
            free(r);
    }
    size_t na = 0;
    const somna_edf_annotation *a = somna_edf_annotations(e, &na);
    for (size_t i = 0; i < na; i++)
        if (strlen(a[i].text) > size)
            abort();
    somna_edf_close(e);
    return 0;
}
