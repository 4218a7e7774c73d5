/* bench helper: decode every sample of every signal of a WFDB record to
 * physical units with somna (somna_wfdb_open + somna_wfdb_read_physical +
 * somna_wfdb_close), REPEAT times in one process.  Prints the checksum (sum
 * of all values, so the work cannot be optimised away) and the best
 * repetition's wall time in microseconds.
 * Usage: wfdb_read RECORD [REPEAT]   (built and run by bench/wfdb_read.sh) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "somna/wfdb.h"

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 1;
    int repeat = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 1;
    double best = 1e300, total = 0;
    for (int k = 0; k < (repeat > 0 ? repeat : 1); k++) {
        double t0 = now_us();
        total = 0;
        somna_err err;
        somna_err_init(&err, NULL, NULL);
        somna_wfdb_record *r = NULL;
        if (somna_wfdb_open(argv[1], &r, &err) != SOMNA_OK) {
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
        double t = now_us() - t0;
        if (t < best)
            best = t;
    }
    printf("%.6f %.0f\n", total, best);
    return 0;
}
