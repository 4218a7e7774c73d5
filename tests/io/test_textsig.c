/* Delimited text signals: the DREAMS exports in ../shared/data (values read
 * off the files with head/tail) and small hand-written files. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "somna/textsig.h"
#include "test_util.h"

static const char *write_tmp(char *buf, size_t size, const char *name, const void *data, size_t len)
{
    test_tmp_path(buf, size, name);
    FILE *f = fopen(buf, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    return buf;
}

static void test_dreams_excerpts(void **state)
{
    (void)state;
    char p[1024];
    SHARED_OR_SKIP(p, "dreams-spindles/excerpt1_C3-A1_100Hz.txt");
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_textsig ts;
    assert_int_equal(somna_textsig_read(p, 100.0, &ts, &err), SOMNA_OK);
    /* README: 1800 s at 100 Hz, header "[C3-A1]"; head -3 / tail -2: */
    assert_int_equal(ts.n_signals, 1);
    assert_string_equal(ts.labels[0], "C3-A1");
    assert_int_equal(ts.n_samples, 180000);
    assert_close_abs(ts.fs, 100.0, 0);
    assert_close_abs(ts.data[0][0], -0.9562, 1e-12);
    assert_close_abs(ts.data[0][1], -0.8962, 1e-12);
    assert_close_abs(ts.data[0][179998], -21.6895, 1e-12);
    assert_close_abs(ts.data[0][179999], -12.8338, 1e-12);
    assert_int_equal(err.n_warnings, 0);
    somna_textsig_free(&ts);

    SHARED_OR_SKIP(p, "dreams-spindles/excerpt3_C3-A1_50Hz.txt");
    assert_int_equal(somna_textsig_read(p, 50.0, &ts, &err), SOMNA_OK);
    assert_int_equal(ts.n_samples, 90000); /* 1800 s at 50 Hz */
    assert_string_equal(ts.labels[0], "C3-A1");
    somna_textsig_free(&ts);
}

static void test_csv_shapes(void **state)
{
    (void)state;
    char p[1024];
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_textsig ts;

    /* Comma, quoted header, CRLF, comment and blank lines, a missing value. */
    const char csv[] = "# exported\r\n\"EEG Fpz-Cz\",\"ECG\"\r\n1.5,-2\r\n\r\n2.5e1,NA\r\n-0.25, 3 \r\n";
    write_tmp(p, sizeof p, "ts_comma.csv", csv, sizeof csv - 1);
    assert_int_equal(somna_textsig_read(p, 256, &ts, &err), SOMNA_OK);
    assert_int_equal(ts.n_signals, 2);
    assert_string_equal(ts.labels[0], "EEG Fpz-Cz");
    assert_string_equal(ts.labels[1], "ECG");
    assert_int_equal(ts.n_samples, 3);
    assert_close_abs(ts.data[0][0], 1.5, 0);
    assert_close_abs(ts.data[0][1], 25.0, 0);
    assert_close_abs(ts.data[0][2], -0.25, 0);
    assert_close_abs(ts.data[1][0], -2.0, 0);
    assert_true(isnan(ts.data[1][1]));
    assert_close_abs(ts.data[1][2], 3.0, 0);
    assert_int_equal(err.n_warnings, 1);
    somna_textsig_free(&ts);

    /* Semicolon with a trailing empty field (missing last channel). */
    somna_err_init(&err, NULL, NULL);
    const char semi[] = "a;b;c\n1;2;3\n4;5;\n";
    write_tmp(p, sizeof p, "ts_semi.csv", semi, sizeof semi - 1);
    assert_int_equal(somna_textsig_read(p, 1, &ts, &err), SOMNA_OK);
    assert_int_equal(ts.n_signals, 3);
    assert_int_equal(ts.n_samples, 2);
    assert_close_abs(ts.data[2][0], 3, 0);
    assert_true(isnan(ts.data[2][1]));
    somna_textsig_free(&ts);

    /* Tab, no header: labels ch1, ch2. */
    const char tab[] = "1\t2\n3\t4\n";
    write_tmp(p, sizeof p, "ts_tab.txt", tab, sizeof tab - 1);
    assert_int_equal(somna_textsig_read(p, 10, &ts, &err), SOMNA_OK);
    assert_int_equal(ts.n_signals, 2);
    assert_string_equal(ts.labels[0], "ch1");
    assert_string_equal(ts.labels[1], "ch2");
    assert_int_equal(ts.n_samples, 2);
    assert_close_abs(ts.data[1][1], 4, 0);
    somna_textsig_free(&ts);

    /* Blank-separated columns with a blank-separated header. */
    const char ws[] = "Fp1   C3  O2\n  1  2  3\n  4 5   6\n";
    write_tmp(p, sizeof p, "ts_ws.txt", ws, sizeof ws - 1);
    assert_int_equal(somna_textsig_read(p, 10, &ts, &err), SOMNA_OK);
    assert_int_equal(ts.n_signals, 3);
    assert_string_equal(ts.labels[2], "O2");
    assert_close_abs(ts.data[2][1], 6, 0);
    somna_textsig_free(&ts);

    /* One column under a name with spaces. */
    const char one[] = "EEG Fpz-Cz\n1\n2\n";
    write_tmp(p, sizeof p, "ts_one.txt", one, sizeof one - 1);
    assert_int_equal(somna_textsig_read(p, 10, &ts, &err), SOMNA_OK);
    assert_int_equal(ts.n_signals, 1);
    assert_string_equal(ts.labels[0], "EEG Fpz-Cz");
    assert_int_equal(ts.n_samples, 2);
    somna_textsig_free(&ts);

    /* UTF-16LE with BOM: "x\n1\n2\n" */
    const unsigned char u16[] = {0xFF, 0xFE, 'x', 0, '\n', 0, '1', 0, '\n', 0, '2', 0, '\n', 0};
    write_tmp(p, sizeof p, "ts_utf16.txt", u16, sizeof u16);
    assert_int_equal(somna_textsig_read(p, 10, &ts, &err), SOMNA_OK);
    assert_string_equal(ts.labels[0], "x");
    assert_int_equal(ts.n_samples, 2);
    assert_close_abs(ts.data[0][1], 2, 0);
    somna_textsig_free(&ts);
}

static void expect_fail(const char *name, const char *text, double fs, int code, const char *frag)
{
    char p[1024];
    write_tmp(p, sizeof p, name, text, strlen(text));
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_textsig ts;
    int rc = somna_textsig_read(p, fs, &ts, &err);
    if (rc != code)
        fail_msg("%s: rc %d, expected %d (%s)", name, rc, code, err.msg);
    if (!strstr(err.msg, frag) || !strstr(err.msg, name))
        fail_msg("%s: message '%s' lacks '%s'", name, err.msg, frag);
    assert_int_equal(ts.n_signals, 0);
    assert_null(ts.data);
}

static void test_errors(void **state)
{
    (void)state;
    expect_fail("ts_bad.csv", "t,ECG\n1,2\n3,abc\n", 10, SOMNA_E_FORMAT, ":3: column 2 (ECG): 'abc' is not a number");
    expect_fail("ts_ragged.csv", "a,b\n1,2\n3\n", 10, SOMNA_E_FORMAT, ":3: 1 columns, expected 2");
    expect_fail("ts_wide.csv", "a,b\n1,2\n3,4,5\n", 10, SOMNA_E_FORMAT, ":3: more than the 2 columns");
    expect_fail("ts_empty.txt", "# nothing\n\n", 10, SOMNA_E_FORMAT, "no data");
    expect_fail("ts_hdr.txt", "a,b\n", 10, SOMNA_E_FORMAT, "no data rows");
    expect_fail("ts_fs.txt", "1\n2\n", 0, SOMNA_E_ARG, "sampling rate");
    expect_fail("ts_fs2.txt", "1\n2\n", -5, SOMNA_E_ARG, "sampling rate");
    char p[1024];
    test_tmp_path(p, sizeof p, "ts_absent.txt");
    remove(p);
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_textsig ts;
    assert_int_equal(somna_textsig_read(p, 10, &ts, &err), SOMNA_E_IO);
    assert_non_null(strstr(err.msg, "ts_absent.txt"));
}

/* Numbers must come out exactly as the C library's strtod reads them (the
 * reader has a fast path for plain decimals). */
static void test_numbers_exact(void **state)
{
    (void)state;
    static const char *const vals[] = {
        "0.1", "-0.0", "0", "-327.7744", "327.9933", "123456789012345", "1234567890123456", "0.30000000000000004",
        "1e5", "-2.5E-3", "9007199254740993", ".5", "5.", "+7.25", "0.0000000000000000000001",
        "0.00000000000000000000001", "999999999999999.9", "0.000123456789012345", "-1.7976931348623157e308",
        "4.9e-324", "100000000000000000000000", "3.14159265358979"};
    const size_t n = sizeof vals / sizeof vals[0];
    char text[2048] = "x\n";
    size_t used = strlen(text);
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(text + used, sizeof text - used, "%s\n", vals[i]);
        assert_true(w > 0 && (size_t)w < sizeof text - used);
        used += (size_t)w;
    }
    char p[1024];
    write_tmp(p, sizeof p, "ts_numbers.txt", text, strlen(text));
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_textsig ts;
    if (somna_textsig_read(p, 1, &ts, &err) != SOMNA_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(ts.n_samples, (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        double want = strtod(vals[i], NULL);
        if (memcmp(&want, &ts.data[0][i], sizeof want) != 0)
            fail_msg("'%s' read as %.17g, strtod gives %.17g", vals[i], ts.data[0][i], want);
    }
    somna_textsig_free(&ts);

    /* Every value of a DREAMS export, token by token. */
    char d[1024];
    SHARED_OR_SKIP(d, "dreams-spindles/excerpt2_CZ-A1_200Hz.txt");
    assert_int_equal(somna_textsig_read(d, 200, &ts, &err), SOMNA_OK);
    assert_int_equal(ts.n_samples, 360000);
    FILE *f = fopen(d, "r");
    assert_non_null(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    int64_t i = 0;
    while (fgets(line, sizeof line, f)) {
        double want = strtod(line, NULL);
        if (memcmp(&want, &ts.data[0][i], sizeof want) != 0)
            fail_msg("line %lld: '%s' read as %.17g, strtod gives %.17g", (long long)i + 2, line, ts.data[0][i], want);
        i++;
    }
    fclose(f);
    assert_int_equal(i, 360000);
    somna_textsig_free(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dreams_excerpts),
        cmocka_unit_test(test_csv_shapes),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_numbers_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
