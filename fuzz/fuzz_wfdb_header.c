/* libFuzzer harness: WFDB header parser plus decoding of the signals it
 * declares.  The input is written as fuzzrec.hea beside a fixed 3000-byte
 * signal file (named fuzz.dat, rec.dat and 100.dat ... 104.dat, the names
 * the seed headers use); when the header is accepted, the first 4096
 * and the last 256 samples of each of the first 16 signals are decoded,
 * which must succeed, and read as codes, which must equal the adu. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "somna/wfdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void setup(void)
{
    if (dir[0])
        return;
    snprintf(dir, sizeof dir, "/tmp/fuzz_wfdb_hea.%ld", (long)getpid());
    mkdir(dir, 0700);
    /* The same bytes under the names the seed headers use. */
    static const char *const names[] = {"fuzz.dat", "rec.dat", "100.dat", "101.dat", "102.dat", "103.dat", "104.dat"};
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        char p[128];
        snprintf(p, sizeof p, "%s/%s", dir, names[n]);
        FILE *f = fopen(p, "wb");
        if (!f)
            abort();
        for (int i = 0; i < 3000; i++)
            fputc((i * 37 + 11) & 0xFF, f);
        fclose(f);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    char hea[128], rec[128];
    snprintf(hea, sizeof hea, "%s/fuzzrec.hea", dir);
    snprintf(rec, sizeof rec, "%s/fuzzrec", dir);
    FILE *f = fopen(hea, "wb");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_wfdb_record *r = NULL;
    if (somna_wfdb_open(rec, &r, &err) != SOMNA_OK)
        return 0;
    for (int s = 0; s < r->n_signals && s < 16; s++) {
        int64_t len = somna_wfdb_signal_length(r, s);
        if (len > 4096)
            len = 4096; /* format-0 signals can claim any length */
        double *buf = malloc(sizeof(double) * (size_t)(len > 0 ? len : 1));
        if (!buf)
            abort();
        if (somna_wfdb_read_physical(r, s, 0, len, buf, &err) != SOMNA_OK)
            abort(); /* an opened record must decode every sample it declares */
        /* ... and its last ones (skew, partial frames at the end). */
        int64_t full = somna_wfdb_signal_length(r, s);
        int64_t tail = full < 256 ? full : 256;
        if (somna_wfdb_read_physical(r, s, full - tail, tail, buf, &err) != SOMNA_OK)
            abort();
        /* the codes (direct 212/16 decoders) equal the adu of the generic
         * decoder, NaN for the invalid code, at the start and at the end */
        int32_t *adu = malloc(sizeof(int32_t) * (size_t)(len > 0 ? len : 1));
        if (!adu)
            abort();
        for (int part = 0; part < 2; part++) {
            int64_t first = part ? full - tail : 0, cnt = part ? tail : len;
            if (somna_wfdb_read_codes(r, s, first, cnt, buf, &err) != SOMNA_OK ||
                somna_wfdb_read_adu(r, s, first, cnt, adu, &err) != SOMNA_OK)
                abort();
            for (int64_t i = 0; i < cnt; i++)
                if (adu[i] == SOMNA_WFDB_INVALID ? buf[i] == buf[i] : buf[i] != (double)adu[i])
                    abort();
        }
        free(adu);
        free(buf);
    }
    somna_wfdb_close(r);
    return 0;
}
