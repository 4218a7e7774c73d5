/* bench helper: the same work with the WFDB library (isigopen + getvec +
 * aduphys + wfdbquit), i.e. the reference's decoder without rdsamp's text
 * output, REPEAT times in one process; prints the checksum and the best
 * repetition in microseconds.
 * Usage: wfdb_read_peer RECORD [REPEAT]   (built by bench/wfdb_read.sh
 * against the WFDB software installed outside the repository) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <wfdb/wfdb.h>

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
        int nsig = isigopen(argv[1], NULL, 0);
        if (nsig <= 0)
            return 2;
        WFDB_Siginfo *si = malloc(sizeof *si * (size_t)nsig);
        WFDB_Sample *v = malloc(sizeof *v * (size_t)nsig);
        if (!si || !v || isigopen(argv[1], si, nsig) != nsig)
            return 2;
        while (getvec(v) == nsig)
            for (int s = 0; s < nsig; s++)
                if (v[s] != WFDB_INVALID_SAMPLE)
                    total += aduphys(s, v[s]);
        wfdbquit();
        free(si);
        free(v);
        double t = now_us() - t0;
        if (t < best)
            best = t;
    }
    printf("%.6f %.0f\n", total, best);
    return 0;
}
