/* MIT annotation files: decoding of hand-built bytes (worked out from
 * annot(5)), the writer's encoding choices, byte-exact round trips of the
 * reference annotations in ../shared/data/mitdb, malformed files, codes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "somna/fileio.h"
#include "somna/wfdb.h"
#include "test_util.h"

/* N at 18 with SUB 5, CHN 2, NUM -1, AUX "ab"; SKIP 100000; V at +0 with
 * AUX "xyz" (odd: one pad byte); end.  Word = code << 10 | value, LE:
 *   N (1) at 18      0x0412 -> 12 04
 *   SUB (61) 5       0xF405 -> 05 F4
 *   CHN (62) 2       0xF802 -> 02 F8
 *   NUM (60) -1      0xF3FF -> FF F3   (10-bit field, read as signed char)
 *   AUX (63) len 2   0xFC02 -> 02 FC 'a' 'b'
 *   SKIP (59)        0xEC00 -> 00 EC, then 100000 = 0x000186A0 high word
 *                    first: 01 00 A0 86
 *   V (5) at +0      0x1400 -> 00 14
 *   AUX len 3        03 FC 'x' 'y' 'z' 00
 *   end              00 00 */
static const unsigned char hand[] = {0x12, 0x04, 0x05, 0xF4, 0x02, 0xF8, 0xFF, 0xF3, 0x02, 0xFC, 'a',  'b',
                                     0x00, 0xEC, 0x01, 0x00, 0xA0, 0x86, 0x00, 0x14, 0x03, 0xFC, 'x',  'y',
                                     'z',  0x00, 0x00, 0x00};

static void test_decode_hand_bytes(void **state)
{
    (void)state;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_wfdb_annotation *a = NULL;
    size_t n = 0;
    assert_int_equal(somna_wfdb_ann_parse(hand, sizeof hand, "hand", &a, &n, &err), SOMNA_OK);
    assert_int_equal(n, 2);
    assert_int_equal(a[0].sample, 18);
    assert_int_equal(a[0].type, 1);
    assert_int_equal(a[0].subtype, 5);
    assert_int_equal(a[0].chan, 2);
    assert_int_equal(a[0].num, -1);
    assert_int_equal(a[0].aux_len, 2);
    assert_string_equal(a[0].aux, "ab");
    assert_int_equal(a[1].sample, 100018);
    assert_int_equal(a[1].type, 5);
    assert_int_equal(a[1].subtype, 0); /* SUB does not persist */
    assert_int_equal(a[1].chan, 2);    /* CHN and NUM do */
    assert_int_equal(a[1].num, -1);
    assert_string_equal(a[1].aux, "xyz");
    assert_int_equal(err.n_warnings, 0);

    /* Writing them back gives the same bytes. */
    char path[512];
    test_tmp_path(path, sizeof path, "wfdb_hand.atr");
    assert_int_equal(somna_wfdb_ann_write_file(path, a, n, &err), SOMNA_OK);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(somna_read_file(path, 1 << 20, &data, &len, &err), SOMNA_OK);
    assert_int_equal(len, sizeof hand);
    assert_memory_equal(data, hand, sizeof hand);
    free(data);
    somna_wfdb_ann_free(a, n);
}

static void expect_encoding(const somna_wfdb_annotation *a, size_t n, const unsigned char *want, size_t wlen)
{
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    char path[512];
    test_tmp_path(path, sizeof path, "wfdb_enc.atr");
    assert_int_equal(somna_wfdb_ann_write_file(path, a, n, &err), SOMNA_OK);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(somna_read_file(path, 1 << 20, &data, &len, &err), SOMNA_OK);
    assert_int_equal(len, wlen);
    assert_memory_equal(data, want, wlen);
    /* and it reads back to the same annotations */
    somna_wfdb_annotation *b = NULL;
    size_t m = 0;
    assert_int_equal(somna_wfdb_ann_parse(data, len, "enc", &b, &m, &err), SOMNA_OK);
    assert_int_equal(m, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(b[i].sample, a[i].sample);
        assert_int_equal(b[i].type, a[i].type);
    }
    somna_wfdb_ann_free(b, m);
    free(data);
}

static void test_encoding_rules(void **state)
{
    (void)state;
    /* Type 0 at 50: a zero word would mean "end", so SKIP 49 then interval 1:
     * 00 EC | 00 00 31 00 | 01 00 | 00 00 */
    somna_wfdb_annotation z = {50, 0, 0, 0, 0, NULL, 0};
    const unsigned char wz[] = {0x00, 0xEC, 0x00, 0x00, 0x31, 0x00, 0x01, 0x00, 0x00, 0x00};
    expect_encoding(&z, 1, wz, sizeof wz);
    /* Backwards in time: N at 1000 (0x0400 | 1000 = 0x07E8), N at 500:
     * SKIP -500 = 0xFFFFFE0C (FF FF 0C FE) then 0x0400. */
    somna_wfdb_annotation bk[2] = {{1000, 1, 0, 0, 0, NULL, 0}, {500, 1, 0, 0, 0, NULL, 0}};
    const unsigned char wb[] = {0xE8, 0x07, 0x00, 0xEC, 0xFF, 0xFF, 0x0C, 0xFE, 0x00, 0x04, 0x00, 0x00};
    expect_encoding(bk, 2, wb, sizeof wb);
    /* Interval 1023 fits one word, 1024 needs a SKIP (00 EC 00 00 00 04). */
    somna_wfdb_annotation lg[2] = {{1023, 1, 0, 0, 0, NULL, 0}, {2047, 1, 0, 0, 0, NULL, 0}};
    const unsigned char wl[] = {0xFF, 0x07, 0x00, 0xEC, 0x00, 0x00, 0x00, 0x04, 0x00, 0x04, 0x00, 0x00};
    expect_encoding(lg, 2, wl, sizeof wl);
    /* A jump of 2^31 + 5: one SKIP of 0x7FFFFFFF (the most one holds), the
     * remaining 6 in the word: 0x0406 (wrann writes the same bytes). */
    somna_wfdb_annotation hj = {((int64_t)1 << 31) + 5, 1, 0, 0, 0, NULL, 0};
    const unsigned char wh[] = {0x00, 0xEC, 0xFF, 0x7F, 0xFF, 0xFF, 0x06, 0x04, 0x00, 0x00};
    expect_encoding(&hj, 1, wh, sizeof wh);
}

static void expect_refused(const unsigned char *b, size_t len, const char *frag)
{
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_wfdb_annotation *a = NULL;
    size_t n = 0;
    assert_int_equal(somna_wfdb_ann_parse(b, len, "bad.atr", &a, &n, &err), SOMNA_E_FORMAT);
    assert_null(a);
    if (!strstr(err.msg, frag) || !strstr(err.msg, "bad.atr"))
        fail_msg("message '%s' lacks '%s'", err.msg, frag);
}

static void test_malformed(void **state)
{
    (void)state;
    /* SKIP cut off after 2 of its 4 bytes */
    const unsigned char s1[] = {0x12, 0x04, 0x00, 0xEC, 0x01, 0x00};
    expect_refused(s1, sizeof s1, "SKIP");
    /* AUX claiming 200 bytes with 2 present */
    const unsigned char s2[] = {0x12, 0x04, 0xC8, 0xFC, 'a', 'b'};
    expect_refused(s2, sizeof s2, "AUX");
    /* NUM before any annotation */
    const unsigned char s3[] = {0x01, 0xF0, 0x12, 0x04, 0x00, 0x00};
    expect_refused(s3, sizeof s3, "before any annotation");
    /* No end marker: accepted with a warning. */
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_wfdb_annotation *a = NULL;
    size_t n = 0;
    const unsigned char s4[] = {0x12, 0x04, 0x12, 0x04, 0x12};
    assert_int_equal(somna_wfdb_ann_parse(s4, sizeof s4, "trunc.atr", &a, &n, &err), SOMNA_OK);
    assert_int_equal(n, 2);
    assert_int_equal(a[1].sample, 36);
    assert_true(err.n_warnings >= 1);
    somna_wfdb_ann_free(a, n);
    /* Empty file: no annotations, a warning. */
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_wfdb_ann_parse("", 0, "empty.atr", &a, &n, &err), SOMNA_OK);
    assert_int_equal(n, 0);
    assert_int_equal(err.n_warnings, 1);
    somna_wfdb_ann_free(a, n);
    /* Writer refusals leave no file. */
    somna_wfdb_annotation badt = {10, 60, 0, 0, 0, NULL, 0};
    char path[512];
    test_tmp_path(path, sizeof path, "wfdb_refused.atr");
    remove(path);
    assert_int_equal(somna_wfdb_ann_write_file(path, &badt, 1, &err), SOMNA_E_ARG);
    FILE *f = fopen(path, "rb");
    assert_null(f);
    somna_wfdb_annotation badc = {10, 1, 0, 256, 0, NULL, 0};
    assert_int_equal(somna_wfdb_ann_write_file(path, &badc, 1, &err), SOMNA_E_ARG);
    assert_non_null(strstr(err.msg, "chan 256"));
    /* Counting checks the same bytes: a cut-off AUX is refused, a missing
     * end marker is a warning. */
    size_t counted = 99;
    test_tmp_path(path, sizeof path, "wfdb_count_bad_aux.atr");
    f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(s2, 1, sizeof s2, f);
    fclose(f);
    assert_int_equal(somna_wfdb_ann_count_file(path, &counted, &err), SOMNA_E_FORMAT);
    assert_non_null(strstr(err.msg, "AUX"));
    test_tmp_path(path, sizeof path, "wfdb_count_trunc.atr");
    f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(s4, 1, sizeof s4, f);
    fclose(f);
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_wfdb_ann_count_file(path, &counted, &err), SOMNA_OK);
    assert_int_equal(counted, 2);
    assert_true(err.n_warnings >= 1);
    /* A missing file names itself. */
    test_tmp_path(path, sizeof path, "wfdb_absent");
    assert_int_equal(somna_wfdb_ann_read(path, "atr", &a, &n, &err), SOMNA_E_IO);
    assert_non_null(strstr(err.msg, "wfdb_absent.atr"));
}

static int file_exists(const char *p)
{
    FILE *f = fopen(p, "rb");
    if (!f)
        return 0;
    fclose(f);
    return 1;
}

/* Every mitdb .atr file: read, write, compare bytes. */
static void test_mitdb_round_trip(void **state)
{
    (void)state;
    char p[1024];
    SHARED_OR_SKIP(p, "mitdb/100.atr");
    const char *root = getenv("SOMNA_SHARED_DATA") ? getenv("SOMNA_SHARED_DATA") : "../shared/data";
    int files = 0;
    for (int rec = 100; rec <= 124; rec++) {
        snprintf(p, sizeof p, "%s/mitdb/%d.atr", root, rec);
        if (!file_exists(p))
            continue; /* 110 and 120 do not exist in the MIT-BIH numbering */
        somna_err err;
        somna_err_init(&err, NULL, NULL);
        somna_wfdb_annotation *a = NULL;
        size_t n = 0;
        if (somna_wfdb_ann_read_file(p, &a, &n, &err) != SOMNA_OK)
            fail_msg("%s", err.msg);
        assert_int_equal(err.n_warnings, 0);
        char out[512];
        test_tmp_path(out, sizeof out, "wfdb_rt.atr");
        assert_int_equal(somna_wfdb_ann_write_file(out, a, n, &err), SOMNA_OK);
        char *x = NULL, *y = NULL;
        size_t xl = 0, yl = 0;
        assert_int_equal(somna_read_file(p, 1 << 24, &x, &xl, &err), SOMNA_OK);
        assert_int_equal(somna_read_file(out, 1 << 24, &y, &yl, &err), SOMNA_OK);
        if (xl != yl || memcmp(x, y, xl) != 0)
            fail_msg("record %d: round trip differs (%zu vs %zu bytes)", rec, xl, yl);
        free(x);
        free(y);
        somna_wfdb_ann_free(a, n);
        files++;
    }
    assert_int_equal(files, 23);
}

/* Counts stated in ../shared/data/mitdb/README.txt (from the database docs):
 * 100: 2274 annotations (2239 N, 33 A, 1 V, 1 rhythm '+');
 * 113: 1796 (1789 N, 6 a, 1 rhythm). */
static void test_mitdb_counts(void **state)
{
    (void)state;
    char p[1024];
    SHARED_OR_SKIP(p, "mitdb/100.atr");
    static const struct {
        const char *rel;
        size_t total;
        const char *code[4];
        int count[4];
    } want[] = {
        {"mitdb/100", 2274, {"N", "A", "V", "+"}, {2239, 33, 1, 1}},
        {"mitdb/113", 1796, {"N", "a", "+", NULL}, {1789, 6, 1, 0}},
    };
    for (size_t w = 0; w < 2; w++) {
        char hea[1024];
        char rel[64];
        snprintf(rel, sizeof rel, "%s.hea", want[w].rel);
        SHARED_OR_SKIP(hea, rel);
        hea[strlen(hea) - 4] = '\0';
        somna_err err;
        somna_err_init(&err, NULL, NULL);
        somna_wfdb_annotation *a = NULL;
        size_t n = 0;
        assert_int_equal(somna_wfdb_ann_read(hea, "atr", &a, &n, &err), SOMNA_OK);
        assert_int_equal(n, want[w].total);
        char atr[1100];
        size_t counted = 0;
        snprintf(atr, sizeof atr, "%s.atr", hea);
        assert_int_equal(somna_wfdb_ann_count_file(atr, &counted, &err), SOMNA_OK);
        assert_int_equal(counted, want[w].total);
        for (int c = 0; c < 4 && want[w].code[c]; c++) {
            int code = somna_wfdb_ann_code(want[w].code[c]);
            int k = 0;
            for (size_t i = 0; i < n; i++)
                k += a[i].type == code;
            assert_int_equal(k, want[w].count[c]);
        }
        /* 100's first annotation: rdann shows "0:00.050 18 + 0 0 0 (N" */
        if (w == 0) {
            assert_int_equal(a[0].sample, 18);
            assert_string_equal(somna_wfdb_ann_mnemonic(a[0].type), "+");
            assert_string_equal(a[0].aux, "(N");
            assert_int_equal(a[1].sample, 77);
        }
        somna_wfdb_ann_free(a, n);
    }
}

static void test_codes(void **state)
{
    (void)state;
    /* ecgcodes.h: NORMAL 1 N, PVC 5 V, RHYTHM 28 +, NOTE 22 ", LEARN 30 ?,
     * PWAVE 24 p, unnamed 15 -> [15] */
    assert_string_equal(somna_wfdb_ann_mnemonic(1), "N");
    assert_string_equal(somna_wfdb_ann_mnemonic(5), "V");
    assert_string_equal(somna_wfdb_ann_mnemonic(28), "+");
    assert_string_equal(somna_wfdb_ann_mnemonic(22), "\"");
    assert_string_equal(somna_wfdb_ann_mnemonic(15), "[15]");
    assert_string_equal(somna_wfdb_ann_mnemonic(57), "?");
    assert_int_equal(somna_wfdb_ann_code("N"), 1);
    assert_int_equal(somna_wfdb_ann_code("V"), 5);
    assert_int_equal(somna_wfdb_ann_code("/"), 12);
    assert_int_equal(somna_wfdb_ann_code("f"), 38);
    assert_int_equal(somna_wfdb_ann_code("!"), 31);
    assert_int_equal(somna_wfdb_ann_code("zz"), -1);
    /* isqrs: beats N L R a V F J A S E j / Q B ? ! e n f r; not + ~ | " p */
    const char *beats[] = {"N", "L", "R", "a", "V", "F", "J", "A", "S", "E", "j",
                           "/", "Q", "B", "!", "e", "n", "f", "r"};
    for (size_t i = 0; i < sizeof beats / sizeof beats[0]; i++)
        if (!somna_wfdb_is_beat(somna_wfdb_ann_code(beats[i])))
            fail_msg("%s should be a beat", beats[i]);
    assert_true(somna_wfdb_is_beat(30));
    const char *nonbeats[] = {"+", "~", "|", "\"", "p", "t", "x", "[", "]", "("};
    for (size_t i = 0; i < sizeof nonbeats / sizeof nonbeats[0]; i++)
        if (somna_wfdb_is_beat(somna_wfdb_ann_code(nonbeats[i])))
            fail_msg("%s should not be a beat", nonbeats[i]);
    assert_false(somna_wfdb_is_beat(0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_hand_bytes), cmocka_unit_test(test_encoding_rules),
        cmocka_unit_test(test_malformed),         cmocka_unit_test(test_mitdb_round_trip),
        cmocka_unit_test(test_mitdb_counts),      cmocka_unit_test(test_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
