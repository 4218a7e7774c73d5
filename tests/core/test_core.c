#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <locale.h>

#include "somna/json.h"
#include "somna/parse.h"
#include "somna/table.h"
#include "somna/fileio.h"
#include "test_util.h"

static void test_parse_double(void **state)
{
    (void)state;
    double v;
    assert_int_equal(somna_parse_double_str(" -2.5e3 ", &v), 0);
    assert_true(v == -2500.0);
    assert_int_equal(somna_parse_double_str(".5", &v), 0);
    assert_true(v == 0.5);
    assert_int_equal(somna_parse_double_str("1,5", &v), -1);
    assert_int_equal(somna_parse_double_str("nan", &v), -1);
    assert_int_equal(somna_parse_double_str("0x10", &v), -1);
    assert_int_equal(somna_parse_double_str("", &v), -1);
    assert_int_equal(somna_parse_double_str("1e999", &v), -1);
    /* EDF-style fixed field with trailing spaces */
    assert_int_equal(somna_parse_double("3276.7  ", 8, &v), 0);
    assert_true(v == 3276.7);
}

static void test_parse_double_ignores_locale(void **state)
{
    (void)state;
    /* If a German locale exists, strtod would stop at '.'; ours must not. */
    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") == NULL)
        setlocale(LC_NUMERIC, "C");
    double v;
    assert_int_equal(somna_parse_double_str("0.25", &v), 0);
    assert_true(v == 0.25);
    setlocale(LC_NUMERIC, "C");
}

static void test_parse_int(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(somna_parse_int64_str("  -42 ", &v), 0);
    assert_true(v == -42);
    assert_int_equal(somna_parse_int64_str("9223372036854775807", &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(somna_parse_int64_str("9223372036854775808", &v), -1);
    assert_int_equal(somna_parse_int64_str("-9223372036854775808", &v), 0);
    assert_true(v == INT64_MIN);
    assert_int_equal(somna_parse_int64_str("12a", &v), -1);
    assert_int_equal(somna_parse_int64_str("-", &v), -1);
}

static void test_parse_clock(void **state)
{
    (void)state;
    double s;
    assert_int_equal(somna_parse_clock("23:30", &s), 0);
    assert_true(s == 23 * 3600 + 30 * 60);
    assert_int_equal(somna_parse_clock("07:05:30", &s), 0);
    assert_true(s == 7 * 3600 + 5 * 60 + 30);
    assert_int_equal(somna_parse_clock("11:30 PM", &s), 0);
    assert_true(s == 23 * 3600 + 30 * 60);
    assert_int_equal(somna_parse_clock("12:15am", &s), 0);
    assert_true(s == 15 * 60);
    assert_int_equal(somna_parse_clock("12:00 pm", &s), 0);
    assert_true(s == 12 * 3600);
    assert_int_equal(somna_parse_clock("24:00", &s), 0);
    assert_true(s == 0);
    assert_int_equal(somna_parse_clock("13:00 pm", &s), -1);
    assert_int_equal(somna_parse_clock("25:00", &s), -1);
    assert_int_equal(somna_parse_clock("10:7", &s), -1);
    assert_int_equal(somna_parse_clock("1030", &s), -1);
}

static void test_table_csv(void **state)
{
    (void)state;
    const char *text = "id, score ,note\r\nP01,3,\"a, \"\"quoted\"\" note\"\r\n\r\nP02,NA,x\r\n";
    somna_table t;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_table_parse(text, strlen(text), "mem.csv", NULL, &t, &err), 0);
    assert_int_equal(t.n_cols, 3);
    assert_int_equal(t.n_rows, 2);
    assert_int_equal(somna_table_col(&t, "SCORE"), 1);
    assert_string_equal(somna_table_cell(&t, 0, 2), "a, \"quoted\" note");
    assert_int_equal(t.line[1], 4);
    assert_true(somna_table_is_missing(&t, 1, 1));
    double v;
    assert_int_equal(somna_table_get_double(&t, 0, 1, &v, &err), 0);
    assert_true(v == 3.0);
    assert_int_not_equal(somna_table_get_double(&t, 1, 2, &v, &err), 0);
    assert_string_equal(err.msg, "mem.csv:4: column note: 'x' is not a number");
    size_t col;
    assert_int_equal(somna_table_require_col(&t, "age", &col, &err), SOMNA_E_NOTFOUND);
    assert_string_equal(err.msg, "mem.csv: no column 'age' (columns: id, score, note)");
    somna_table_free(&t);
}

static void test_table_tsv_ragged_and_errors(void **state)
{
    (void)state;
    somna_table t;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    const char *tsv = "a\tb\tc\n1\t2\t3\n4\t5\n";
    assert_int_equal(somna_table_parse(tsv, strlen(tsv), "x.tsv", NULL, &t, &err), SOMNA_E_FORMAT);
    assert_string_equal(err.msg, "x.tsv:3: 2 fields, but the header has 3");
    somna_table_opts o = {.allow_ragged = 1};
    assert_int_equal(somna_table_parse(tsv, strlen(tsv), "x.tsv", &o, &t, &err), 0);
    assert_int_equal(t.delim, '\t');
    assert_string_equal(somna_table_cell(&t, 1, 2), "");
    somna_table_free(&t);
    const char *bad = "a,b\n\"open,2\n";
    assert_int_equal(somna_table_parse(bad, strlen(bad), "q.csv", NULL, &t, &err), SOMNA_E_FORMAT);
    assert_string_equal(err.msg, "q.csv:2: unterminated quoted field");
    const char *noh = "1;2\n3;4\n";
    somna_table_opts o2 = {.no_header = 1};
    assert_int_equal(somna_table_parse(noh, strlen(noh), "n.csv", &o2, &t, &err), 0);
    assert_int_equal(t.n_rows, 2);
    assert_string_equal(t.header[1], "2");
    assert_string_equal(somna_table_cell(&t, 1, 1), "4");
    somna_table_free(&t);
}

static void test_table_utf16(void **state)
{
    (void)state;
    /* "a,b\nÉ,2\n" in UTF-16LE with BOM */
    const unsigned char u16[] = {0xFF, 0xFE, 'a', 0, ',', 0, 'b', 0, '\n', 0, 0xC9, 0, ',', 0, '2', 0, '\n', 0};
    somna_table t;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_table_parse((const char *)u16, sizeof u16, "u.csv", NULL, &t, &err), 0);
    assert_string_equal(somna_table_cell(&t, 0, 0), "\xC3\x89");
    somna_table_free(&t);
}

static void test_json_writer(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    somna_json j;
    somna_json_init(&j, f, 0);
    somna_json_object_begin(&j);
    somna_json_kv_number(&j, "a", 0.1);
    somna_json_kv_number(&j, "nan", NAN);
    somna_json_key(&j, "list");
    somna_json_array_begin(&j);
    somna_json_int(&j, 1);
    somna_json_string(&j, "q\"\n");
    somna_json_array_end(&j);
    somna_json_key(&j, "empty");
    somna_json_object_begin(&j);
    somna_json_object_end(&j);
    somna_json_object_end(&j);
    fclose(f);
    assert_string_equal(buf, "{\"a\":0.1,\"nan\":null,\"list\":[1,\"q\\\"\\n\"],\"empty\":{}}");
    free(buf);
    char nb[40];
    somna_format_double(nb, sizeof nb, 1.0 / 3.0);
    assert_string_equal(nb, "0.3333333333333333");
}

static void test_outfile_atomic(void **state)
{
    (void)state;
    char path[512];
    test_tmp_path(path, sizeof path, "atomic.txt");
    remove(path);
    somna_outfile o;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_outfile_open(&o, path, &err), 0);
    fputs("partial", o.fp);
    somna_outfile_abort(&o);
    FILE *f = fopen(path, "r");
    assert_null(f);
    assert_int_equal(somna_outfile_open(&o, path, &err), 0);
    fputs("whole", o.fp);
    assert_int_equal(somna_outfile_commit(&o, &err), 0);
    char *data;
    size_t n;
    assert_int_equal(somna_read_file(path, 1024, &data, &n, &err), 0);
    assert_string_equal(data, "whole");
    free(data);
    assert_int_equal(somna_read_file(path, 2, &data, &n, &err), SOMNA_E_NOMEM);
    remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_double),
        cmocka_unit_test(test_parse_double_ignores_locale),
        cmocka_unit_test(test_parse_int),
        cmocka_unit_test(test_parse_clock),
        cmocka_unit_test(test_table_csv),
        cmocka_unit_test(test_table_tsv_ragged_and_errors),
        cmocka_unit_test(test_table_utf16),
        cmocka_unit_test(test_json_writer),
        cmocka_unit_test(test_outfile_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
