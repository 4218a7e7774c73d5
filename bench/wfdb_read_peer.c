/* bench helper: the same work with the WFDB library (getvec + aduphys),
 * i.e. the reference's decoder without rdsamp's text output.
 * Usage: wfdb_read_peer RECORD...   (built by bench/wfdb_read.sh against
 * the WFDB software installed outside the repository) */
#include <stdio.h>
#include <time.h>
#include <stdlib.h>

#include <wfdb/wfdb.h>

int main(int argc, char **argv)
{
    double total = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int a = 1; a < argc; a++) {
        int nsig = isigopen(argv[a], NULL, 0);
        if (nsig <= 0)
            return 2;
        WFDB_Siginfo *si = malloc(sizeof *si * (size_t)nsig);
        WFDB_Sample *v = malloc(sizeof *v * (size_t)nsig);
        if (!si || !v || isigopen(argv[a], si, nsig) != nsig)
            return 2;
        while (getvec(v) == nsig)
            for (int s = 0; s < nsig; s++)
                if (v[s] != WFDB_INVALID_SAMPLE)
                    total += aduphys(s, v[s]);
        wfdbquit();
        free(si);
        free(v);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* checksum, then microseconds spent opening and decoding */
    printf("%.6f %.0f\n", total, (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3);
    return 0;
}
