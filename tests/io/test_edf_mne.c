/* EDF+ written by somna, read back by MNE-Python (/usr/bin/python3 with
 * Debian's python3-mne): every sample equals what somna reads (1e-9
 * relative), the annotations match, and MNE emits no warning.  Skipped
 * when MNE is not installed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "somna/edf.h"
#include "test_util.h"

static void test_mne_reads_somna_edf(void **state)
{
    (void)state;
    if (system("/usr/bin/python3 -c 'import mne' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "SKIP: /usr/bin/python3 with mne not available\n");
        skip();
    }
    char path[4096], values[4096], cmd[16384];
    test_tmp_path(path, sizeof path, "mne_roundtrip.edf");
    test_tmp_path(values, sizeof values, "mne_roundtrip.f64");
    /* One rate for all signals: MNE resamples mixed-rate files (and says so). */
    somna_edf_signal_spec sig[3] = {
        {"EEG C3-M2", "uV", NULL, "HP:0.3Hz LP:35Hz", 200, -300.0, 300.0, 0, 0},
        {"EMG chin", "uV", NULL, NULL, 200, -100.0, 100.0, -4096, 4095},
        {"ECG", "mV", NULL, NULL, 200, -5.0, 5.0, 0, 0},
    };
    somna_edf_writer_spec spec = {0, "X X X X", NULL, 2022, 6, 30, 23, 15, 0, 1.0, 3, sig, 0};
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_edf_writer *w;
    assert_int_equal(somna_edf_writer_open(path, &spec, &w, &err), SOMNA_OK);
    const int nrec = 40;
    double a[200], b[200], c[200];
    const double *rows[3] = {a, b, c};
    for (int r = 0; r < nrec; r++) {
        for (int k = 0; k < 200; k++) {
            double t = r + k / 200.0;
            a[k] = 120.0 * sin(2 * M_PI * 10.5 * t) + 30.0 * cos(2 * M_PI * 0.7 * t);
            b[k] = 15.0 * sin(2 * M_PI * 60.0 * t + 0.3) * (1.0 + 0.5 * sin(t));
            c[k] = 1.2 * exp(-pow(fmod(t, 0.8) - 0.2, 2) / 0.0005) - 0.1;
        }
        assert_int_equal(somna_edf_writer_put_record(w, rows, &err), SOMNA_OK);
    }
    assert_int_equal(somna_edf_writer_add_annotation(w, 12.5, 20.0, "Sleep stage W", &err), SOMNA_OK);
    assert_int_equal(somna_edf_writer_add_annotation(w, 1.0, 0.0, "Lights off", &err), SOMNA_OK);
    assert_int_equal(somna_edf_writer_add_annotation(w, 20.0, 0.5, "Arousal", &err), SOMNA_OK);
    if (somna_edf_writer_close(w, &err) != SOMNA_OK)
        fail_msg("%s", err.msg);

    somna_edf *e;
    assert_int_equal(somna_edf_open(path, &e, &err), SOMNA_OK);
    FILE *f = fopen(values, "wb");
    assert_non_null(f);
    double *x = malloc(200 * nrec * sizeof *x);
    for (int s = 0; s < 3; s++) {
        assert_int_equal(somna_edf_read_physical(e, s, 0, 200 * nrec, x, &err), SOMNA_OK);
        assert_int_equal(fwrite(x, sizeof *x, 200 * nrec, f), 200 * nrec);
    }
    fclose(f);
    free(x);
    somna_edf_close(e);
    const char *src = getenv("SOMNA_SOURCE_DIR");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/io/edf_mne_check.py '%s' '%s' uV uV mV", src ? src : ".", path,
             values);
    int rc = system(cmd);
    assert_int_equal(rc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mne_reads_somna_edf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
