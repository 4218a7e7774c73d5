/* libFuzzer harness: WFDB header parser plus decoding of every signal it
 * declares.  The input is written as fuzzrec.hea beside a fixed 3000-byte
 * signal file (fuzz.dat, also reachable as any other name via symlink-free
 * "fuzz.dat" references), then every sample of every signal is decoded. */
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
    char p[128];
    snprintf(p, sizeof p, "%s/fuzz.dat", dir);
    FILE *f = fopen(p, "wb");
    if (!f)
        abort();
    for (int i = 0; i < 3000; i++)
        fputc((i * 37 + 11) & 0xFF, f);
    fclose(f);
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
    for (int s = 0; s < r->n_signals && s < 64; s++) {
        int64_t len = somna_wfdb_signal_length(r, s);
        if (len > 100000)
            len = 100000; /* format-0 signals can claim any length */
        double *buf = malloc(sizeof(double) * (size_t)(len > 0 ? len : 1));
        if (!buf)
            abort();
        if (somna_wfdb_read_physical(r, s, 0, len, buf, &err) != SOMNA_OK)
            abort(); /* an opened record must decode every sample it declares */
        free(buf);
    }
    somna_wfdb_close(r);
    return 0;
}
