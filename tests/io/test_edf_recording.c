/* The recording view (recording.h): format detection and the EDF, WFDB and
 * text paths, on files written here and on ../shared/data. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "somna/edf.h"
#include "somna/recording.h"
#include "test_util.h"

static void write_small_edf(const char *path)
{
    somna_edf_signal_spec sig[2] = {{"EEG C3-M2", "uV", NULL, NULL, 100, -100.0, 100.0, -1000, 1000},
                                    {"Resp", "mV", NULL, NULL, 10, -1.0, 1.0, -100, 100}};
    somna_edf_writer_spec spec = {0, NULL, NULL, 2020, 2, 29, 1, 2, 3, 2.0, 2, sig, 0};
    somna_edf_writer *w;
    assert_int_equal(somna_edf_writer_open(path, &spec, &w, NULL), SOMNA_OK);
    double a[100], b[10];
    const double *rows[2] = {a, b};
    for (int r = 0; r < 5; r++) {
        for (int k = 0; k < 100; k++)
            a[k] = 0.2 * (r * 100 + k) - 50.0; /* exactly representable in 0.1 uV steps */
        for (int k = 0; k < 10; k++)
            b[k] = 0.01 * (r * 10 + k) - 0.25;
        assert_int_equal(somna_edf_writer_put_record(w, rows, NULL), SOMNA_OK);
    }
    assert_int_equal(somna_edf_writer_add_annotation(w, 3.0, 1.0, "Arousal", NULL), SOMNA_OK);
    assert_int_equal(somna_edf_writer_close(w, NULL), SOMNA_OK);
}

static void test_edf_view(void **state)
{
    (void)state;
    char path[4096];
    test_tmp_path(path, sizeof path, "recording_view.edf");
    write_small_edf(path);
    somna_recording *r;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_rec_open(path, NULL, &r, &err), SOMNA_OK);
    assert_string_equal(somna_rec_format(r), "EDF+C");
    assert_string_equal(somna_rec_start(r), "2020-02-29T01:02:03");
    assert_close_rel(somna_rec_duration(r), 10.0, 1e-15);
    assert_int_equal(somna_rec_n_signals(r), 2); /* the annotation signal is not a signal */
    assert_int_equal(somna_rec_n_annotations(r), 1);
    const somna_rec_signal *s = somna_rec_signal_info(r, 1);
    assert_string_equal(s->label, "Resp");
    assert_string_equal(s->unit, "mV");
    assert_close_rel(s->fs, 5.0, 1e-15);
    assert_int_equal(s->n_samples, 50);
    assert_close_rel(s->phys_min, -1.0, 0);
    assert_null(somna_rec_signal_info(r, 2));
    assert_int_equal(somna_rec_find_signal(r, "resp"), 1);
    assert_int_equal(somna_rec_find_signal(r, "EEG C3-M2 "), 0);
    assert_int_equal(somna_rec_find_signal(r, "2"), 1);
    assert_int_equal(somna_rec_find_signal(r, "1"), 0);
    assert_int_equal(somna_rec_find_signal(r, "0"), -1);
    assert_int_equal(somna_rec_find_signal(r, "3"), -1);
    assert_int_equal(somna_rec_find_signal(r, "ECG"), -1);
    double x[500];
    assert_int_equal(somna_rec_read(r, 0, 0, 500, x, &err), SOMNA_OK);
    for (int i = 0; i < 500; i++)
        assert_close_abs(x[i], 0.2 * i - 50.0, 1e-9);
    assert_int_equal(somna_rec_read(r, 1, 45, 5, x, &err), SOMNA_OK);
    assert_close_abs(x[4], 0.24, 1e-9);
    /* stored codes: physical = (d + 100) * 2 / 200 - 1 = 0.01 d, so 0.24 -> 24 */
    assert_close_rel(s->units_per_code, 0.01, 1e-15);
    assert_int_equal(somna_rec_read_codes(r, 1, 45, 5, x, &err), SOMNA_OK);
    assert_true(x[4] == 24.0 && x[0] == 20.0);
    assert_int_equal(somna_rec_read_codes(r, 1, 46, 5, x, &err), SOMNA_E_ARG);
    assert_int_equal(somna_rec_read(r, 1, 46, 5, x, &err), SOMNA_E_ARG);
    assert_int_equal(somna_rec_read(r, 2, 0, 1, x, &err), SOMNA_E_NOTFOUND);
    somna_rec_close(r);
}

static void test_detection_errors(void **state)
{
    (void)state;
    char path[4096];
    test_tmp_path(path, sizeof path, "recording_not_a_signal.dat");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("hello world\n", f);
    fclose(f);
    somna_recording *r = NULL;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_rec_open(path, NULL, &r, &err), SOMNA_E_FORMAT);
    assert_null(r);
    assert_non_null(strstr(err.msg, "not an EDF/BDF file"));
    test_tmp_path(path, sizeof path, "recording_missing_file");
    assert_int_equal(somna_rec_open(path, NULL, &r, &err), SOMNA_E_IO);
    assert_non_null(strstr(err.msg, "no such file, and no WFDB header"));
    somna_rec_open_opts o = {SOMNA_REC_TEXT, 0.0};
    assert_int_equal(somna_rec_open(path, &o, &r, &err), SOMNA_E_ARG);
    assert_non_null(strstr(err.msg, "needs a sampling rate"));
}

static void test_wfdb_and_text(void **state)
{
    (void)state;
    char path[4096];
    SHARED_OR_SKIP(path, "mitdb/100.hea");
    path[strlen(path) - 4] = '\0'; /* record name as WFDB names it */
    somna_recording *r;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_rec_open(path, NULL, &r, &err), SOMNA_OK);
    assert_string_equal(somna_rec_format(r), "WFDB");
    assert_int_equal(somna_rec_n_signals(r), 2);
    assert_string_equal(somna_rec_signal_info(r, 0)->label, "MLII");
    assert_close_rel(somna_rec_signal_info(r, 0)->fs, 360.0, 0);
    assert_int_equal(somna_rec_signal_info(r, 1)->n_samples, 650000);
    assert_close_rel(somna_rec_duration(r), 650000.0 / 360.0, 1e-15);
    assert_true(isnan(somna_rec_signal_info(r, 0)->phys_min));
    /* MIT-BIH 100 first samples, rdsamp -p: -0.145 and -0.065 mV */
    double x[1];
    assert_int_equal(somna_rec_read(r, 0, 0, 1, x, &err), SOMNA_OK);
    assert_close_abs(x[0], -0.145, 1e-12);
    assert_int_equal(somna_rec_read(r, 1, 0, 1, x, &err), SOMNA_OK);
    assert_close_abs(x[0], -0.065, 1e-12);
    /* codes: the adu (xxd -l 3 100.dat = e3 33 f3: 995, 1011), 1/gain mV each */
    assert_int_equal(somna_rec_read_codes(r, 1, 0, 1, x, &err), SOMNA_OK);
    assert_true(x[0] == 1011.0);
    assert_close_rel(somna_rec_signal_info(r, 0)->units_per_code, 1.0 / 200.0, 1e-15);
    assert_int_equal(somna_rec_n_annotations(r), 2274); /* rdann -r 100 -a atr | wc -l */
    somna_rec_close(r);

    SHARED_OR_SKIP(path, "dreams-spindles/excerpt1_C3-A1_100Hz.txt");
    somna_rec_open_opts o = {SOMNA_REC_AUTO, 100.0};
    assert_int_equal(somna_rec_open(path, &o, &r, &err), SOMNA_OK);
    assert_string_equal(somna_rec_format(r), "text");
    assert_int_equal(somna_rec_n_signals(r), 1);
    assert_string_equal(somna_rec_signal_info(r, 0)->label, "C3-A1");
    assert_int_equal(somna_rec_signal_info(r, 0)->n_samples, 180000);
    assert_close_rel(somna_rec_duration(r), 1800.0, 1e-15);
    /* the file's first two values: -0.9562, -0.8962 */
    double y[2];
    assert_int_equal(somna_rec_read(r, 0, 0, 2, y, &err), SOMNA_OK);
    assert_close_rel(y[0], -0.9562, 1e-15);
    assert_close_rel(y[1], -0.8962, 1e-15);
    assert_int_equal(somna_rec_read_codes(r, 0, 0, 2, y, &err), SOMNA_OK); /* text: the values */
    assert_close_rel(y[1], -0.8962, 1e-15);
    assert_close_rel(somna_rec_signal_info(r, 0)->units_per_code, 1.0, 0);
    somna_rec_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edf_view),
        cmocka_unit_test(test_detection_errors),
        cmocka_unit_test(test_wfdb_and_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
