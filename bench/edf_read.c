/* Bench helper for bench/edf_read.sh: write an 8-hour, 7-signal EDF+ with
 * somna (4 signals at 256 Hz, 3 at 100 Hz, 1-s records), then decode every
 * sample of every signal to physical units with somna or with EDFlib.
 *   edf_read write PATH
 *   edf_read somna PATH      prints: somna WALL_S CPU_S CHECKSUM PEAK_RSS_KB
 *   edf_read edflib PATH     prints: edflib WALL_S CPU_S CHECKSUM PEAK_RSS_KB
 * Both readers decode the file the same way: 30 records at a time, signal
 * by signal, into one reused buffer (what an epoch-wise analysis does), so
 * peak memory is the file's mapped/cached pages plus a small buffer. */
#include <edflib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "somna/edf.h"

enum { NSIG = 7, HOURS = 8, CHUNK_RECORDS = 30 };
static const int spr[NSIG] = {256, 256, 256, 256, 100, 100, 100};
static const char *const labels[NSIG] = {"EEG F4-M1", "EEG C4-M1", "EEG O2-M1", "EOG E1-M2",
                                         "EMG chin",  "ECG",       "Resp"};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Checksum with four accumulators: a single running sum would be one long
 * dependency chain costing more than the decoding being measured. */
static double checksum(const double *x, int64_t n)
{
    double a = 0, b = 0, c = 0, d = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a += x[i];
        b += x[i + 1];
        c += x[i + 2];
        d += x[i + 3];
    }
    for (; i < n; i++)
        a += x[i];
    return (a + b) + (c + d);
}

static int do_write(const char *path)
{
    somna_edf_signal_spec sig[NSIG];
    for (int s = 0; s < NSIG; s++)
        sig[s] = (somna_edf_signal_spec){labels[s], "uV", NULL, NULL, spr[s], -500.0, 500.0, 0, 0};
    somna_edf_writer_spec spec = {0, "X X X X", NULL, 2024, 1, 15, 22, 30, 0, 1.0, NSIG, sig, 0};
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_edf_writer *w;
    if (somna_edf_writer_open(path, &spec, &w, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double buf[NSIG][256];
    const double *rows[NSIG];
    unsigned rng = 12345;
    for (int r = 0; r < HOURS * 3600; r++) {
        for (int s = 0; s < NSIG; s++) {
            for (int k = 0; k < spr[s]; k++) {
                double t = r + (double)k / spr[s];
                rng = rng * 1103515245u + 12345u;
                buf[s][k] = 80.0 * sin(2 * M_PI * (1.0 + s) * t) + (double)(rng >> 16 & 0x3FF) / 10.0 - 51.2;
            }
            rows[s] = buf[s];
        }
        if (somna_edf_writer_put_record(w, rows, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            somna_edf_writer_abort(w);
            return 1;
        }
        if (r % 1800 == 0 && somna_edf_writer_add_annotation(w, r, 30, "Sleep stage 2", &err)) {
            fprintf(stderr, "%s\n", err.msg);
            somna_edf_writer_abort(w);
            return 1;
        }
    }
    if (somna_edf_writer_close(w, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    return 0;
}

static int do_somna(const char *path)
{
    double *buf = malloc(CHUNK_RECORDS * 256 * sizeof *buf);
    double t0 = now(), c0 = cpu_seconds(), sum = 0;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_edf *e;
    if (somna_edf_open(path, &e, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const somna_edf_header *h = somna_edf_get_header(e);
    for (int64_t r = 0; r < h->n_records; r += CHUNK_RECORDS) {
        int64_t nr = h->n_records - r < CHUNK_RECORDS ? h->n_records - r : CHUNK_RECORDS;
        for (int s = 0; s < h->n_signals; s++) {
            if (h->signals[s].is_annotation)
                continue;
            int64_t p = h->signals[s].samples_per_record;
            if (somna_edf_read_physical(e, s, r * p, nr * p, buf, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            sum += checksum(buf, nr * p);
        }
    }
    somna_edf_close(e);
    double t1 = now();
    printf("somna %.6f %.6f %.10e %ld\n", t1 - t0, cpu_seconds() - c0, sum, peak_rss_kb());
    free(buf);
    return 0;
}

static int do_edflib(const char *path)
{
    double *buf = malloc(CHUNK_RECORDS * 256 * sizeof *buf);
    static struct edf_hdr_struct hdr;
    double t0 = now(), c0 = cpu_seconds(), sum = 0;
    if (edfopen_file_readonly(path, &hdr, EDFLIB_READ_ALL_ANNOTATIONS)) {
        fprintf(stderr, "EDFlib cannot open %s: error %d\n", path, hdr.filetype);
        return 1;
    }
    long long nrec = hdr.datarecords_in_file;
    for (long long r = 0; r < nrec; r += CHUNK_RECORDS) {
        long long nr = nrec - r < CHUNK_RECORDS ? nrec - r : CHUNK_RECORDS;
        for (int s = 0; s < hdr.edfsignals; s++) {
            int n = (int)(nr * hdr.signalparam[s].smp_in_datarecord);
            if (edfread_physical_samples(hdr.handle, s, n, buf) != n) {
                fprintf(stderr, "EDFlib read error\n");
                return 1;
            }
            sum += checksum(buf, n);
        }
    }
    edfclose_file(hdr.handle);
    double t1 = now();
    printf("edflib %.6f %.6f %.10e %ld\n", t1 - t0, cpu_seconds() - c0, sum, peak_rss_kb());
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: edf_read write|somna|edflib PATH\n");
        return 2;
    }
    if (strcmp(argv[1], "write") == 0)
        return do_write(argv[2]);
    if (strcmp(argv[1], "somna") == 0)
        return do_somna(argv[2]);
    if (strcmp(argv[1], "edflib") == 0)
        return do_edflib(argv[2]);
    fprintf(stderr, "usage: edf_read write|somna|edflib PATH\n");
    return 2;
}
