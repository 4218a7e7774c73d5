/* bench helper: decode every sample of every signal of WFDB records to
 * physical units with somna (what a caller of somna_wfdb_read_physical
 * gets), printing a checksum so the work cannot be optimised away.
 * Usage: wfdb_read RECORD...   (built and run by bench/wfdb_read.sh) */
#include <stdio.h>
#include <time.h>
#include <stdlib.h>

#include "somna/wfdb.h"

int main(int argc, char **argv)
{
    double total = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int a = 1; a < argc; a++) {
        somna_err err;
        somna_err_init(&err, NULL, NULL);
        somna_wfdb_record *r = NULL;
        if (somna_wfdb_open(argv[a], &r, &err) != SOMNA_OK) {
            fprintf(stderr, "wfdb_read: %s\n", err.msg);
            return 2;
        }
        for (int s = 0; s < r->n_signals; s++) {
            int64_t n = somna_wfdb_signal_length(r, s);
            double *x = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
            if (!x || somna_wfdb_read_physical(r, s, 0, n, x, &err) != SOMNA_OK) {
                fprintf(stderr, "wfdb_read: %s\n", x ? err.msg : "out of memory");
                return 2;
            }
            for (int64_t i = 0; i < n; i++)
                total += x[i];
            free(x);
        }
        somna_wfdb_close(r);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* checksum, then microseconds spent opening and decoding */
    printf("%.6f %.0f\n", total, (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3);
    return 0;
}
