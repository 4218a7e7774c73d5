/* libFuzzer harness: MIT annotation parser, and the writer on what it reads.
 * Invariant checked: whatever the parser accepts, the writer encodes and the
 * parser reads back to the same annotations (times, codes, fields, aux). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "somna/wfdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_wfdb_annotation *a = NULL;
    size_t n = 0;
    if (somna_wfdb_ann_parse(data, size, "fuzz", &a, &n, &err) != SOMNA_OK)
        return 0;
    for (size_t i = 0; i < n; i++) {
        (void)somna_wfdb_ann_mnemonic(a[i].type);
        (void)somna_wfdb_is_beat(a[i].type);
    }
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_wfdb_ann.%ld.atr", (long)getpid());
    if (somna_wfdb_ann_write_file(path, a, n, &err) == SOMNA_OK) {
        somna_wfdb_annotation *b = NULL;
        size_t m = 0;
        if (somna_wfdb_ann_read_file(path, &b, &m, &err) != SOMNA_OK || m != n)
            abort();
        size_t counted = 0;
        if (somna_wfdb_ann_count_file(path, &counted, &err) != SOMNA_OK || counted != n)
            abort();
        for (size_t i = 0; i < n; i++) {
            if (a[i].sample != b[i].sample || a[i].type != b[i].type || a[i].subtype != b[i].subtype ||
                a[i].chan != b[i].chan || a[i].num != b[i].num || a[i].aux_len != b[i].aux_len ||
                (a[i].aux_len && memcmp(a[i].aux, b[i].aux, a[i].aux_len) != 0))
                abort();
        }
        somna_wfdb_ann_free(b, m);
        unlink(path);
    }
    somna_wfdb_ann_free(a, n);
    return 0;
}
