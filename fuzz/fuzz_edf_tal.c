/* libFuzzer harness: the EDF+ TAL parser alone (Kemp & Olivan 2003, 2.2),
 * fed the raw bytes of one annotation signal.  Checks that every TAL it
 * reports lies inside the input and every text is non-empty and free of the
 * 0x14 / 0x00 separators. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/edf_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct check_ctx {
    const uint8_t *data;
    size_t size;
} check_ctx;

static int check(void *vctx, double onset, double duration, int has_duration, const char *const *texts,
                 const size_t *lens, size_t n_texts, size_t byte_pos, somna_err *err)
{
    (void)err;
    const check_ctx *c = vctx;
    if (!isfinite(onset) || byte_pos >= c->size || (has_duration && !(duration >= 0)))
        abort();
    for (size_t i = 0; i < n_texts; i++) {
        const uint8_t *t = (const uint8_t *)texts[i];
        if (lens[i] == 0 || t < c->data || t + lens[i] > c->data + c->size)
            abort();
        if (memchr(t, 0x14, lens[i]) || memchr(t, 0x00, lens[i]))
            abort();
    }
    return SOMNA_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_ctx c = {data, size};
    edf_tal_cb cb = {check, &c};
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    if (somna_edf_parse_tals(data, size, "fuzz", &cb, &err) != SOMNA_OK && err.msg[0] == '\0')
        abort();
    return 0;
}
