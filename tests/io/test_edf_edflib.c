/* EDF reader/writer against EDFlib (Debian libedf, the reference
 * implementation by Teunis van Beelen): every physical sample, the header
 * numbers and the annotations must agree.
 *   - the real EDFs in ../shared/data (skipped when absent);
 *   - EDF+ and BDF+ files written by somna's writer, read back by EDFlib. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <edflib.h>

#include "somna/edf.h"
#include "somna/parse.h"
#include "test_util.h"

/* Compare every data signal and annotation of `path` between somna and EDFlib.
 * Returns the number of samples compared. */
static int64_t compare_with_edflib(const char *path)
{
    struct edf_hdr_struct *ref = calloc(1, sizeof *ref);
    assert_non_null(ref);
    int rrc = edfopen_file_readonly(path, ref, EDFLIB_READ_ALL_ANNOTATIONS);
    if (rrc != 0)
        fail_msg("EDFlib cannot open %s (error %d)", path, ref->filetype);

    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_edf *edf = NULL;
    int rc = somna_edf_open(path, &edf, &err);
    if (rc != SOMNA_OK)
        fail_msg("somna_edf_open(%s): %s", path, err.msg);
    const somna_edf_header *h = somna_edf_get_header(edf);

    assert_int_equal(h->start_year, ref->startdate_year);
    assert_int_equal(h->start_month, ref->startdate_month);
    assert_int_equal(h->start_day, ref->startdate_day);
    assert_int_equal(h->start_hour, ref->starttime_hour);
    assert_int_equal(h->start_minute, ref->starttime_minute);
    assert_int_equal(h->start_second, ref->starttime_second);
    assert_int_equal(h->n_records, ref->datarecords_in_file);
    assert_close_rel(h->record_duration, (double)ref->datarecord_duration / EDFLIB_TIME_DIMENSION, 1e-12);

    int64_t compared = 0;
    int refsig = 0;
    for (int s = 0; s < h->n_signals; s++) {
        const somna_edf_signal *sg = &h->signals[s];
        if (sg->is_annotation)
            continue;
        assert_true(refsig < ref->edfsignals);
        const struct edf_param_struct *p = &ref->signalparam[refsig];
        char reflabel[17];
        somna_strlcpy(reflabel, p->label, sizeof reflabel);
        somna_trim(reflabel);
        assert_string_equal(sg->label, reflabel);
        assert_int_equal(sg->n_samples, p->smp_in_file);
        assert_int_equal(sg->samples_per_record, p->smp_in_datarecord);
        assert_int_equal(sg->dig_min, p->dig_min);
        assert_int_equal(sg->dig_max, p->dig_max);
        assert_true(sg->phys_min == p->phys_min);
        assert_true(sg->phys_max == p->phys_max);

        size_t n = (size_t)sg->n_samples;
        double *a = malloc((n ? n : 1) * sizeof *a);
        double *b = malloc((n ? n : 1) * sizeof *b);
        assert_non_null(a);
        assert_non_null(b);
        rc = somna_edf_read_physical(edf, s, 0, sg->n_samples, a, &err);
        if (rc != SOMNA_OK)
            fail_msg("read signal %d: %s", s + 1, err.msg);
        edfrewind(ref->handle, refsig);
        /* EDFlib reads at most INT_MAX samples per call: chunk it. */
        size_t got = 0;
        while (got < n) {
            int want = n - got > 1000000 ? 1000000 : (int)(n - got);
            int r = edfread_physical_samples(ref->handle, refsig, want, b + got);
            assert_int_equal(r, want);
            got += (size_t)r;
        }
        for (size_t i = 0; i < n; i++) {
            if (!test_close_rel(a[i], b[i], 1e-9))
                fail_msg("%s signal %d (%s) sample %zu: somna %.17g, EDFlib %.17g", path, s + 1, sg->label, i, a[i],
                         b[i]);
        }
        /* A mid-signal window starting inside a record decodes the same. */
        if (n > 10) {
            int64_t first = (int64_t)n / 3 + 1;
            int64_t cnt = (int64_t)n / 3;
            rc = somna_edf_read_physical(edf, s, first, cnt, a, &err);
            assert_int_equal(rc, SOMNA_OK);
            for (int64_t i = 0; i < cnt; i++)
                assert_true(a[i] == b[first + i]);
        }
        compared += (int64_t)n;
        free(a);
        free(b);
        refsig++;
    }
    assert_int_equal(refsig, ref->edfsignals);

    /* EDFlib also lists empty texts (e.g. the Noxturnal time-keeping TAL
     * "+0\x14\x14\x14" has one); somna keeps only annotations with text. */
    size_t na = 0;
    const somna_edf_annotation *ann = somna_edf_annotations(edf, &na);
    size_t i = 0;
    for (long long j = 0; j < ref->annotations_in_file; j++) {
        struct edf_annotation_struct ra;
        assert_int_equal(edf_get_annotation(ref->handle, (int)j, &ra), 0);
        if (ra.annotation[0] == '\0')
            continue;
        assert_true(i < na);
        /* EDFlib reports onsets relative to the first record (start time
         * plus its subsecond offset), in units of 100 ns. */
        double ref_onset = (double)ra.onset / EDFLIB_TIME_DIMENSION +
                           (double)ref->starttime_subsecond / EDFLIB_TIME_DIMENSION;
        assert_close_abs(ann[i].onset, ref_onset, 1e-7);
        assert_string_equal(ann[i].text, ra.annotation);
        if (ra.duration[0])
            assert_close_abs(ann[i].duration, strtod(ra.duration, NULL), 1e-7);
        else
            assert_true(ann[i].duration < 0);
        i++;
    }
    assert_int_equal(i, na);
    somna_edf_close(edf);
    edfclose_file(ref->handle);
    free(ref);
    return compared;
}

/* EDFlib refuses header text that is not printable ASCII and EDF+ patient
 * fields with fewer than 4 subfields; real files have both (Noxturnal writes
 * "Imp\xc3\xa9dance" labels, a degree sign unit and patient "M X X").  Those
 * bytes do not touch the samples, so EDFlib reads a copy whose header text
 * is made ASCII, and somna must decode the original and the copy alike. */
static void make_edflib_copy(const char *src, const char *dst)
{
    FILE *f = fopen(src, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *d = malloc((size_t)len);
    assert_non_null(d);
    assert_int_equal(fread(d, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    char nsf[5] = {0};
    memcpy(nsf, d + 252, 4);
    long ns = strtol(nsf, NULL, 10);
    for (long i = 0; i < 256 + 256 * ns; i++)
        if (d[i] < 32 || d[i] > 126)
            d[i] = '_';
    if (memcmp(d + 192, "EDF+", 4) == 0) {
        memset(d + 8, ' ', 80);
        memcpy(d + 8, "X X X X", 7);
    }
    f = fopen(dst, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    free(d);
}

/* somna decodes a and b to the same bits, signal by signal. */
static void assert_same_samples(const char *a_path, const char *b_path)
{
    somna_edf *a = NULL, *b = NULL;
    assert_int_equal(somna_edf_open(a_path, &a, NULL), SOMNA_OK);
    assert_int_equal(somna_edf_open(b_path, &b, NULL), SOMNA_OK);
    const somna_edf_header *ha = somna_edf_get_header(a), *hb = somna_edf_get_header(b);
    assert_int_equal(ha->n_signals, hb->n_signals);
    for (int s = 0; s < ha->n_signals; s++) {
        if (ha->signals[s].is_annotation)
            continue;
        size_t n = (size_t)ha->signals[s].n_samples;
        double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        assert_int_equal(somna_edf_read_physical(a, s, 0, (int64_t)n, x, NULL), SOMNA_OK);
        assert_int_equal(somna_edf_read_physical(b, s, 0, (int64_t)n, y, NULL), SOMNA_OK);
        assert_memory_equal(x, y, n * sizeof *x);
        free(x);
        free(y);
    }
    somna_edf_close(a);
    somna_edf_close(b);
}

static void test_shared_noxturnal(void **state)
{
    (void)state;
    char path[4096], copy[4096];
    SHARED_OR_SKIP(path, "noxturnal-psg-rsleep/subject1.edf");
    test_tmp_path(copy, sizeof copy, "edflib_subject1_ascii.edf");
    make_edflib_copy(path, copy);
    int64_t n = compare_with_edflib(copy);
    /* 89 data signals, 12 records: per record 31 x 2000 + 28 x 10 + 11 x 250
     * + 6 x 200 + 5 x 1000 + 4 x 30 + 3 x 750 + 50 samples (the header's
     * samples-per-record counts, the 10 of "EDF Annotations" excluded). */
    assert_int_equal(n, 12 * (31 * 2000 + 28 * 10 + 11 * 250 + 6 * 200 + 5 * 1000 + 4 * 30 + 3 * 750 + 50));
    assert_same_samples(path, copy);
    /* The original's UTF-8 label bytes are kept. */
    somna_edf *e = NULL;
    assert_int_equal(somna_edf_open(path, &e, NULL), SOMNA_OK);
    assert_string_equal(somna_edf_get_header(e)->signals[2].label, "1 Imp\xc3\xa9" "dance");
    assert_int_equal(somna_edf_find_signal(e, "c3-m2"), 18);
    somna_edf_close(e);
}

static void test_shared_dreams(void **state)
{
    (void)state;
    char path[4096];
    SHARED_OR_SKIP(path, "dreams-spindles/excerpt3.edf");
    /* EDFlib refuses this file: its digital limits (e.g. -72984..50277)
     * exceed the 16-bit range.  Reference instead: the EDF specification's
     * formula, physical = pmin + (d - dmin) * (pmax - pmin) / (dmax - dmin),
     * on the raw little-endian int16 bytes read here independently. */
    struct edf_hdr_struct *ref = calloc(1, sizeof *ref);
    assert_int_not_equal(edfopen_file_readonly(path, ref, EDFLIB_DO_NOT_READ_ANNOTATIONS), 0);
    free(ref);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *d = malloc((size_t)len);
    assert_int_equal(fread(d, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    const int ns = 20, nrec = 900;
    char fld[9];
#define NUM(off, w, i) (memcpy(fld, d + 256 + (off) * ns + (i) * (w), (w)), fld[(w)] = 0, strtod(fld, NULL))
    somna_edf *e = NULL;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_edf_open(path, &e, &err), SOMNA_OK);
    assert_true(err.n_warnings > 0); /* the out-of-range digital limits */
    const somna_edf_header *h = somna_edf_get_header(e);
    assert_int_equal(h->n_signals, ns);
    assert_int_equal(h->n_records, nrec);
    assert_int_equal(h->format, SOMNA_EDF);
    assert_int_equal(h->start_year, 2003);
    assert_int_equal(h->start_hour, 3);
    assert_int_equal(h->start_minute, 27);
    size_t rec_bytes = 0, off[20];
    int spr[20];
    for (int s = 0; s < ns; s++) {
        spr[s] = (int)NUM(216, 8, s);
        off[s] = rec_bytes;
        rec_bytes += (size_t)spr[s] * 2;
    }
    int64_t total = 0;
    for (int s = 0; s < ns; s++) {
        double pmin = NUM(104, 8, s), pmax = NUM(112, 8, s), dmin = NUM(120, 8, s), dmax = NUM(128, 8, s);
        int64_t n = (int64_t)spr[s] * nrec;
        assert_int_equal(h->signals[s].n_samples, n);
        double *x = malloc((size_t)n * sizeof *x);
        assert_int_equal(somna_edf_read_physical(e, s, 0, n, x, &err), SOMNA_OK);
        for (int64_t i = 0; i < n; i++) {
            const unsigned char *p = d + 256 + 256 * ns + (size_t)(i / spr[s]) * rec_bytes + off[s] +
                                     (size_t)(i % spr[s]) * 2;
            int dig = (int16_t)(uint16_t)(p[0] | (p[1] << 8));
            double want = pmin + ((double)dig - dmin) * (pmax - pmin) / (dmax - dmin);
            if (fabs(x[i] - want) > 1e-9 * fmax(fabs(want), 1e-3 * fabs(pmax - pmin)))
                fail_msg("signal %d sample %lld: somna %.17g, spec formula %.17g", s + 1, (long long)i, x[i], want);
        }
        total += n;
        free(x);
    }
#undef NUM
    assert_int_equal(total, 15 * 50 * 1800 + 5 * 1800);
    somna_edf_close(e);
    free(d);
}

/* Deterministic test signal: a 1.3 Hz sine plus a ramp, in physical units. */
static double test_value(int sig, int64_t i, double fs)
{
    double t = (double)i / fs;
    return 180.0 * sin(2.0 * M_PI * 1.3 * t + sig) + 0.01 * (double)(i % 1000) - 5.0;
}

static void write_and_compare(int bdf)
{
    char path[4096];
    test_tmp_path(path, sizeof path, bdf ? "edflib_roundtrip.bdf" : "edflib_roundtrip.edf");
    somna_edf_signal_spec sig[3] = {
        {"EEG Fpz-Cz", "uV", "AgAgCl electrode", "HP:0.1Hz LP:75Hz", 256, -250.0, 250.0, 0, 0},
        {"EMG chin", "uV", NULL, NULL, 100, -200.0, 210.5, -2000, 2000},
        {"Resp", "mV", NULL, NULL, 25, -300.0, 300.0, 0, 0},
    };
    somna_edf_writer_spec spec = {bdf, "X X X X", NULL, 2024, 3, 9, 22, 45, 5, 1.0, 3, sig, 0};
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_edf_writer *w = NULL;
    int rc = somna_edf_writer_open(path, &spec, &w, &err);
    if (rc)
        fail_msg("writer_open: %s", err.msg);
    const int n_records = 30;
    double *bufs[3];
    for (int s = 0; s < 3; s++)
        bufs[s] = malloc((size_t)sig[s].samples_per_record * sizeof(double));
    for (int r = 0; r < n_records; r++) {
        for (int s = 0; s < 3; s++)
            for (int k = 0; k < sig[s].samples_per_record; k++)
                bufs[s][k] = test_value(s, (int64_t)r * sig[s].samples_per_record + k, sig[s].samples_per_record);
        rc = somna_edf_writer_put_record(w, (const double *const *)bufs, &err);
        assert_int_equal(rc, SOMNA_OK);
    }
    assert_int_equal(somna_edf_writer_add_annotation(w, 12.5, 30.0, "Sleep stage W", &err), SOMNA_OK);
    assert_int_equal(somna_edf_writer_add_annotation(w, 3.25, -1, "Lights off", &err), SOMNA_OK);
    assert_int_equal(somna_edf_writer_add_annotation(w, 20.0, 0.5, "Arousal \xc3\xa9veil", &err), SOMNA_OK);
    rc = somna_edf_writer_close(w, &err);
    if (rc)
        fail_msg("writer_close: %s", err.msg);

    struct edf_hdr_struct *ref = calloc(1, sizeof *ref);
    assert_int_equal(edfopen_file_readonly(path, ref, EDFLIB_READ_ALL_ANNOTATIONS), 0);
    assert_int_equal(ref->filetype, bdf ? EDFLIB_FILETYPE_BDFPLUS : EDFLIB_FILETYPE_EDFPLUS);
    assert_int_equal(ref->edfsignals, 3);
    assert_int_equal(ref->datarecords_in_file, n_records);
    assert_int_equal(ref->startdate_year, 2024);
    assert_int_equal(ref->starttime_hour, 22);
    assert_int_equal(ref->starttime_second, 5);
    assert_string_equal(ref->signalparam[0].label, "EEG Fpz-Cz      ");
    assert_string_equal(ref->signalparam[1].physdimension, "uV      ");
    assert_int_equal(ref->signalparam[1].dig_min, -2000);
    assert_int_equal(ref->annotations_in_file, 3);
    struct edf_annotation_struct ra;
    assert_int_equal(edf_get_annotation(ref->handle, 0, &ra), 0);
    assert_int_equal(ra.onset, 32500000LL);
    assert_string_equal(ra.annotation, "Lights off");
    assert_int_equal(edf_get_annotation(ref->handle, 1, &ra), 0);
    assert_int_equal(ra.onset, 125000000LL);
    assert_string_equal(ra.duration, "30");
    assert_string_equal(ra.annotation, "Sleep stage W");
    assert_int_equal(edf_get_annotation(ref->handle, 2, &ra), 0);
    assert_string_equal(ra.annotation, "Arousal \xc3\xa9veil");
    /* EDFlib's values must be the written values to within half a digital
     * step (the quantisation), for every sample. */
    for (int s = 0; s < 3; s++) {
        int32_t dmin = sig[s].dig_min, dmax = sig[s].dig_max;
        if (dmin == 0 && dmax == 0) {
            dmin = bdf ? -8388608 : -32768;
            dmax = bdf ? 8388607 : 32767;
        }
        double step = (sig[s].phys_max - sig[s].phys_min) / ((double)dmax - (double)dmin);
        int n = n_records * sig[s].samples_per_record;
        double *b = malloc((size_t)n * sizeof *b);
        assert_int_equal(edfread_physical_samples(ref->handle, s, n, b), n);
        for (int i = 0; i < n; i++) {
            double want = test_value(s, i, sig[s].samples_per_record);
            if (fabs(b[i] - want) > 0.5 * step * (1 + 1e-9))
                fail_msg("signal %d sample %d: EDFlib reads %.17g, written %.17g (step %g)", s, i, b[i], want,
                         step);
        }
        free(b);
    }
    edfclose_file(ref->handle);
    free(ref);
    for (int s = 0; s < 3; s++)
        free(bufs[s]);
    /* And somna reads back exactly what EDFlib reads. */
    int64_t n = compare_with_edflib(path);
    assert_int_equal(n, n_records * (256 + 100 + 25));
}

static void test_writer_edfplus(void **state)
{
    (void)state;
    write_and_compare(0);
}

static void test_writer_bdfplus(void **state)
{
    (void)state;
    write_and_compare(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_noxturnal),
        cmocka_unit_test(test_shared_dreams),
        cmocka_unit_test(test_writer_edfplus),
        cmocka_unit_test(test_writer_bdfplus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
