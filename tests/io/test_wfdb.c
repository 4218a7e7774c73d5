/* WFDB header parsing and signal decoding.
 *
 * Expected values are worked out by hand from the format descriptions in
 * signal(5)/header(5) (the byte arrays below carry the working), and on
 * ../shared/data/mitdb from bytes read with xxd plus the header's own
 * initial values and checksums, which were computed by the database's
 * creators, not by us. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "somna/wfdb.h"
#include "test_util.h"

static void write_bytes(const char *dir, const char *name, const void *data, size_t len)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    write_bytes(dir, name, text, strlen(text));
}

static const char *mkdir_tmp(char *buf, size_t size, const char *name)
{
    test_tmp_path(buf, size, name);
    mkdir(buf, 0755);
    return buf;
}

static somna_wfdb_record *open_ok(const char *dir, const char *rec)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, rec);
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_wfdb_record *r = NULL;
    int rc = somna_wfdb_open(p, &r, &err);
    if (rc != SOMNA_OK)
        fail_msg("open %s: %s", p, err.msg);
    return r;
}

/* Open must fail with `code` and a message containing every fragment. */
static void open_fails(const char *dir, const char *rec, int code, const char *frag1, const char *frag2)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, rec);
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_wfdb_record *r = NULL;
    int rc = somna_wfdb_open(p, &r, &err);
    assert_null(r);
    if (rc != code)
        fail_msg("open %s: rc %d, expected %d (%s)", p, rc, code, err.msg);
    if (frag1 && !strstr(err.msg, frag1))
        fail_msg("message '%s' lacks '%s'", err.msg, frag1);
    if (frag2 && !strstr(err.msg, frag2))
        fail_msg("message '%s' lacks '%s'", err.msg, frag2);
}

static void expect_adu(const somna_wfdb_record *r, int sig, const int32_t *want, int64_t n)
{
    int32_t got[64];
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_true(n <= 64);
    assert_int_equal(somna_wfdb_read_adu(r, sig, 0, n, got, &err), SOMNA_OK);
    for (int64_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("signal %d sample %lld: %d, expected %d", sig, (long long)i, got[i], want[i]);
}

/* ---- formats, hand-worked bytes -------------------------------------------*/

static void test_format_212(void **state)
{
    (void)state;
    char d[512];
    mkdir_tmp(d, sizeof d, "wfdb_unit_212");
    /* Pairs (sig0, sig1), 12-bit two's complement, byte1 = hi nibble of
     * sig0 | hi nibble of sig1 << 4:
     *   (100=0x064, -1=0xFFF)    -> 64 F0 FF
     *   (-5=0xFFB, 0)            -> FB 0F 00
     *   (2047=0x7FF, 1023=0x3FF) -> FF 37 FF
     *   (-2048=0x800 invalid, 5) -> 00 08 05 */
    const unsigned char dat[] = {0x64, 0xF0, 0xFF, 0xFB, 0x0F, 0x00, 0xFF, 0x37, 0xFF, 0x00, 0x08, 0x05};
    write_bytes(d, "h212.dat", dat, sizeof dat);
    write_text(d, "h212.hea",
               "h212 2 100 4\n"
               "h212.dat 212 100(10)/uV 12 0 0 0 0 first\n"
               "h212.dat 212 0\n");
    somna_wfdb_record *r = open_ok(d, "h212");
    assert_int_equal(r->n_samples, 4);
    const int32_t s0[] = {100, -5, 2047, SOMNA_WFDB_INVALID};
    const int32_t s1[] = {-1, 0, 1023, 5};
    expect_adu(r, 0, s0, 4);
    expect_adu(r, 1, s1, 4);
    double ph[4];
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    /* (adu - 10) / 100 uV */
    assert_int_equal(somna_wfdb_read_physical(r, 0, 0, 4, ph, &err), SOMNA_OK);
    assert_close_abs(ph[0], 0.9, 1e-12);
    assert_close_abs(ph[1], -0.15, 1e-12);
    assert_close_abs(ph[2], 20.37, 1e-12);
    assert_true(isnan(ph[3]));
    /* gain 0 -> 200, baseline = ADC zero (0) */
    assert_int_equal(somna_wfdb_read_physical(r, 1, 1, 3, ph, &err), SOMNA_OK);
    assert_close_abs(ph[0], 0.0, 1e-15);
    assert_close_abs(ph[1], 5.115, 1e-12);
    assert_close_abs(ph[2], 0.025, 1e-12);
    /* Out-of-range reads are refused, naming the signal. */
    assert_int_equal(somna_wfdb_read_physical(r, 1, 2, 3, ph, &err), SOMNA_E_ARG);
    assert_non_null(strstr(err.msg, "signal 1"));
    assert_int_equal(somna_wfdb_read_physical(r, 2, 0, 1, ph, &err), SOMNA_E_ARG);
    /* the codes as doubles (the same bytes, decoded straight to double on
     * the even-frame-size path): both halves of a pair, invalid -> NaN */
    double cd[4];
    assert_int_equal(somna_wfdb_read_codes(r, 0, 0, 4, cd, &err), SOMNA_OK);
    assert_true(cd[0] == 100 && cd[1] == -5 && cd[2] == 2047 && isnan(cd[3]));
    assert_int_equal(somna_wfdb_read_codes(r, 1, 1, 3, cd, &err), SOMNA_OK);
    assert_true(cd[0] == 0 && cd[1] == 1023 && cd[2] == 5);
    assert_int_equal(somna_wfdb_read_codes(r, 1, 2, 3, cd, &err), SOMNA_E_ARG);
    assert_non_null(strstr(err.msg, "signal 1"));
    somna_wfdb_close(r);

    /* three signals: a frame is 4.5 bytes, so a signal's samples alternate
     * between the halves of their pairs (the general path).  Samples
     * s0 s1 s2 | s0 s1 s2 = 1 -2 3 | -2048 (invalid) 2047 -1:
     *   (1, -2) -> 01 F0 FE; (3, -2048) -> 03 80 00; (2047, -1) -> FF F7 FF */
    const unsigned char dat3[] = {0x01, 0xF0, 0xFE, 0x03, 0x80, 0x00, 0xFF, 0xF7, 0xFF};
    write_bytes(d, "t212.dat", dat3, sizeof dat3);
    write_text(d, "t212.hea",
               "t212 3 100 2\n"
               "t212.dat 212 200 12 0 0 0 0 a\n"
               "t212.dat 212 200 12 0 0 0 0 b\n"
               "t212.dat 212 200 12 0 0 0 0 c\n");
    r = open_ok(d, "t212");
    const double want3[3][2] = {{1, NAN}, {-2, 2047}, {3, -1}};
    for (int sg = 0; sg < 3; sg++) {
        assert_int_equal(somna_wfdb_read_codes(r, sg, 0, 2, cd, &err), SOMNA_OK);
        for (int i = 0; i < 2; i++)
            if (!(cd[i] == want3[sg][i] || (isnan(cd[i]) && isnan(want3[sg][i]))))
                fail_msg("3-signal 212: signal %d sample %d: %g, expected %g", sg, i, cd[i], want3[sg][i]);
    }
    somna_wfdb_close(r);

    /* format 16, two signals, decoded straight to doubles: (1000, -1),
     * (-32768 invalid, 32767), (-2, 5) -> E8 03 FF FF | 00 80 FF 7F | FE FF 05 00 */
    const unsigned char dat16[] = {0xE8, 0x03, 0xFF, 0xFF, 0x00, 0x80, 0xFF, 0x7F, 0xFE, 0xFF, 0x05, 0x00};
    write_bytes(d, "t16.dat", dat16, sizeof dat16);
    write_text(d, "t16.hea",
               "t16 2 100 3\n"
               "t16.dat 16 200 16 0 0 0 0 a\n"
               "t16.dat 16 200 16 0 0 0 0 b\n");
    r = open_ok(d, "t16");
    assert_int_equal(somna_wfdb_read_codes(r, 0, 0, 3, cd, &err), SOMNA_OK);
    assert_true(cd[0] == 1000 && isnan(cd[1]) && cd[2] == -2);
    assert_int_equal(somna_wfdb_read_codes(r, 1, 1, 2, cd, &err), SOMNA_OK);
    assert_true(cd[0] == 32767 && cd[1] == 5);
    assert_int_equal(somna_wfdb_read_codes(r, 1, 1, 3, cd, &err), SOMNA_E_ARG);
    somna_wfdb_close(r);
}

struct fmt_case {
    int format;
    unsigned char bytes[16];
    size_t len;
    int32_t want[4];
    int n;
};

static void test_formats_single(void **state)
{
    (void)state;
    const int32_t INV = SOMNA_WFDB_INVALID;
    const struct fmt_case cases[] = {
        /* 16: little-endian two's complement; -32768 invalid */
        {16, {0x01, 0x00, 0xFE, 0xFF, 0xFF, 0x7F, 0x00, 0x80}, 8, {1, -2, 32767, INV}, 4},
        /* 61: the same values big-endian */
        {61, {0x00, 0x01, 0xFF, 0xFE, 0x7F, 0xFF, 0x80, 0x00}, 8, {1, -2, 32767, INV}, 4},
        /* 80: offset binary, byte - 128; byte 0 (-128) invalid */
        {80, {0x80, 0xFF, 0x00, 0x01}, 4, {0, 127, INV, -127}, 4},
        /* 160: 16-bit LE offset binary, value - 32768 */
        {160, {0x00, 0x80, 0xFF, 0xFF, 0x00, 0x00, 0x01, 0x00}, 8, {0, 32767, INV, -32767}, 4},
        /* 24: 24-bit LE two's complement; -2^23 invalid */
        {24, {0x01, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x80, 0xFF, 0xFF, 0x7F}, 12, {1, -1, INV, 8388607}, 4},
        /* 32: 32-bit LE two's complement; -2^31 invalid */
        {32, {0x01, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0x80, 0xFF, 0xFF, 0xFF, 0x7F}, 16,
         {1, -2, INV, 2147483647}, 4},
        /* 310: samples 5, -3, 100.  word0 = (5 << 1) | (100 & 0x1F) << 11 = 0x200A;
         * word1 = (0x3FD << 1) | (100 >> 5) << 11 = 0x1FFA. */
        {310, {0x0A, 0x20, 0xFA, 0x1F}, 4, {5, -3, 100, 0}, 3},
        /* 311: 5 | 0x3FD << 10 | 0x200 << 20 = 0x200FF405: 5, -3, invalid (-512) */
        {311, {0x05, 0xF4, 0x0F, 0x20}, 4, {5, -3, INV, 0}, 3},
        /* 8: first differences from initial value 10 (header): +1 -2 +127 -128 */
        {8, {0x01, 0xFE, 0x7F, 0x80}, 4, {11, 9, 136, 8}, 4},
    };
    char d[512];
    mkdir_tmp(d, sizeof d, "wfdb_unit_fmt");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char name[32], hea[256];
        snprintf(name, sizeof name, "f%d.dat", cases[c].format);
        write_bytes(d, name, cases[c].bytes, cases[c].len);
        snprintf(name, sizeof name, "f%d.hea", cases[c].format);
        snprintf(hea, sizeof hea, "f%d 1 100 %d\nf%d.dat %d 1 8 0 10\n", cases[c].format, cases[c].n,
                 cases[c].format, cases[c].format);
        write_text(d, name, hea);
        snprintf(name, sizeof name, "f%d", cases[c].format);
        somna_wfdb_record *r = open_ok(d, name);
        assert_int_equal(r->signals[0].format, cases[c].format);
        expect_adu(r, 0, cases[c].want, cases[c].n);
        /* A read starting mid-stream gives the same values (format 8
         * must sum the differences before it). */
        int32_t one;
        somna_err err;
        somna_err_init(&err, NULL, NULL);
        assert_int_equal(somna_wfdb_read_adu(r, 0, cases[c].n - 1, 1, &one, &err), SOMNA_OK);
        assert_int_equal(one, cases[c].want[cases[c].n - 1]);
        somna_wfdb_close(r);
    }
}

/* Partial groups at the end of bit-packed files, as WFDB's writers flush
 * them, and as many samples as whole ones the bytes hold. */
static void test_packed_tails(void **state)
{
    (void)state;
    char d[512];
    mkdir_tmp(d, sizeof d, "wfdb_unit_tail");
    /* 212: (7, -7) -> 07 F0 F9, then a lone 100 flushed as 2 bytes 64 00. */
    const unsigned char d212[] = {0x07, 0xF0, 0xF9, 0x64, 0x00};
    /* 310: (1, 2, 3): word0 = 1 << 1 | (3 & 0x1F) << 11 = 0x1802, word1 =
     * 2 << 1 = 0x0004; a lone 4 flushed as one word 4 << 1 = 0x0008. */
    const unsigned char d310[] = {0x02, 0x18, 0x04, 0x00, 0x08, 0x00};
    /* 311: (1, 2, 3) = 1 | 2 << 10 | 3 << 20 = 0x00300801; then (4, 5) in
     * 3 bytes: 4 | 5 << 10 = 0x1404 -> 04 14 00. */
    const unsigned char d311[] = {0x01, 0x08, 0x30, 0x00, 0x04, 0x14, 0x00};
    write_bytes(d, "t212.dat", d212, sizeof d212);
    write_bytes(d, "t310.dat", d310, sizeof d310);
    write_bytes(d, "t311.dat", d311, sizeof d311);
    write_text(d, "t212.hea", "t212 1 10\nt212.dat 212\n");
    write_text(d, "t310.hea", "t310 1 10\nt310.dat 310\n");
    write_text(d, "t311.hea", "t311 1 10\nt311.dat 311\n");
    const int32_t w212[] = {7, -7, 100}, w310[] = {1, 2, 3, 4}, w311[] = {1, 2, 3, 4, 5};
    somna_wfdb_record *r = open_ok(d, "t212");
    assert_int_equal(r->n_samples, 3);
    expect_adu(r, 0, w212, 3);
    somna_wfdb_close(r);
    r = open_ok(d, "t310");
    assert_int_equal(r->n_samples, 4);
    expect_adu(r, 0, w310, 4);
    somna_wfdb_close(r);
    r = open_ok(d, "t311");
    assert_int_equal(r->n_samples, 5);
    expect_adu(r, 0, w311, 5);
    somna_wfdb_close(r);
}

static void test_frames_skew_offset_groups(void **state)
{
    (void)state;
    char d[512];
    mkdir_tmp(d, sizeof d, "wfdb_unit_mf");
    /* Group 1 (mf.dat, format 16, 4-byte prolog DE AD BE EF): A has 2
     * samples per frame, B one, frames [A0 A1 B0] [A2 A3 B1] [A4 A5 B2]
     * with A = 10..15, B = 20..22.  B has skew 1: its sample i is frame i+1.
     * Group 2 (mf2.dat, format 80): C = 1, 2, 3 (bytes 0x81 0x82 0x83). */
    const unsigned char dat[] = {0xDE, 0xAD, 0xBE, 0xEF, 10, 0, 11, 0, 20, 0, 12, 0, 13, 0,
                                 21, 0, 14, 0, 15, 0, 22, 0};
    write_bytes(d, "mf.dat", dat, sizeof dat);
    const unsigned char dat2[] = {0x81, 0x82, 0x83};
    write_bytes(d, "mf2.dat", dat2, sizeof dat2);
    write_text(d, "mf.hea",
               "# a comment before the record line\n"
               "mf 3 50 3\n"
               "mf.dat 16x2+4 1\n"
               "mf.dat 16:1+4 1\n"
               "\n"
               "mf2.dat 80 1\n"
               "# Age: 42\n"
               "#Sex: F\n");
    somna_wfdb_record *r = open_ok(d, "mf");
    assert_int_equal(r->signals[0].samples_per_frame, 2);
    assert_int_equal(r->signals[0].byte_offset, 4);
    assert_int_equal(r->signals[1].skew, 1);
    assert_int_equal(somna_wfdb_signal_length(r, 0), 6);
    assert_int_equal(somna_wfdb_signal_length(r, 1), 3);
    assert_close_abs(somna_wfdb_signal_fs(r, 0), 100.0, 0);
    assert_close_abs(somna_wfdb_signal_fs(r, 1), 50.0, 0);
    const int32_t a[] = {10, 11, 12, 13, 14, 15};
    const int32_t b[] = {21, 22, SOMNA_WFDB_INVALID};
    const int32_t c[] = {1, 2, 3};
    expect_adu(r, 0, a, 6);
    expect_adu(r, 1, b, 3);
    expect_adu(r, 2, c, 3);
    int32_t mid[3];
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_wfdb_read_adu(r, 0, 3, 3, mid, &err), SOMNA_OK);
    assert_int_equal(mid[0], 13);
    assert_int_equal(mid[2], 15);
    assert_non_null(r->info);
    assert_string_equal(r->info, "Age: 42\nSex: F");
    somna_wfdb_close(r);
}

/* ---- header fields ---------------------------------------------------------*/

static void test_header_fields(void **state)
{
    (void)state;
    char d[512];
    mkdir_tmp(d, sizeof d, "wfdb_unit_hea");
    unsigned char zeros[24] = {0};
    write_bytes(d, "full.dat", zeros, sizeof zeros);
    write_text(d, "full.hea",
               "full 2 128.5/1000(-3.5) 6 10:20:30 01/02/2003\r\n"
               "full.dat 16 12.5(-7)/uV 14 3 4 -1234 0 EEG Fpz-Cz  \r\n"
               "full.dat 16 400/mmHg\r\n");
    somna_wfdb_record *r = open_ok(d, "full");
    assert_string_equal(r->name, "full");
    assert_int_equal(r->n_signals, 2);
    assert_close_abs(r->fs, 128.5, 0);
    assert_close_abs(r->counter_fs, 1000, 0);
    assert_close_abs(r->base_counter, -3.5, 0);
    assert_int_equal(r->n_samples, 6);
    assert_string_equal(r->base_time, "10:20:30");
    assert_string_equal(r->base_date, "01/02/2003");
    const somna_wfdb_signal *s = &r->signals[0];
    assert_string_equal(s->file, "full.dat");
    assert_close_abs(s->gain, 12.5, 0);
    assert_int_equal(s->baseline, -7);
    assert_string_equal(s->units, "uV");
    assert_int_equal(s->adc_resolution, 14);
    assert_int_equal(s->adc_zero, 3);
    assert_int_equal(s->initial_value, 4);
    assert_int_equal(s->checksum, -1234);
    assert_int_equal(s->block_size, 0);
    assert_string_equal(s->description, "EEG Fpz-Cz");
    /* Second signal: baseline defaults to ADC zero (0), resolution to 12
     * for format 16, description to WFDB's "record R, signal N". */
    s = &r->signals[1];
    assert_string_equal(s->units, "mmHg");
    assert_int_equal(s->baseline, 0);
    assert_int_equal(s->adc_resolution, 12);
    assert_string_equal(s->description, "record full, signal 1");
    somna_wfdb_close(r);

    /* Defaults: only the record name and one signal: 250 Hz, gain 200,
     * units mV, n_samples from the file size (24 bytes / 2 = 12). */
    write_text(d, "min.hea", "min 1\nfull.dat 212\n");
    r = open_ok(d, "min.hea"); /* the .hea suffix is accepted too */
    assert_close_abs(r->fs, 250.0, 0);
    assert_close_abs(r->signals[0].gain, 200.0, 0);
    assert_string_equal(r->signals[0].units, "mV");
    assert_int_equal(r->signals[0].adc_resolution, 12);
    assert_int_equal(r->n_samples, 16); /* 24 bytes of 212 = 16 samples */
    somna_wfdb_close(r);
}

static void test_header_errors(void **state)
{
    (void)state;
    char d[512];
    mkdir_tmp(d, sizeof d, "wfdb_unit_bad");
    unsigned char six[6] = {0};
    write_bytes(d, "x.dat", six, sizeof six);
    write_text(d, "ms.hea", "ms/2 1 360 100\nseg0 50\nseg1 50\n");
    open_fails(d, "ms", SOMNA_E_UNSUPPORTED, "ms.hea:1:", "multi-segment");
    write_text(d, "uf.hea", "uf 1 360\nx.dat 999 200\n");
    open_fails(d, "uf", SOMNA_E_UNSUPPORTED, "uf.hea:2:", "unknown signal format 999");
    write_text(d, "fl.hea", "fl 1 360\nx.dat 516 200\n");
    open_fails(d, "fl", SOMNA_E_UNSUPPORTED, "fl.hea:2:", "FLAC");
    write_text(d, "ms2.hea", "ms2 1 360\nnothere.dat 16 200\n");
    open_fails(d, "ms2", SOMNA_E_IO, "nothere.dat", "signal 0");
    write_text(d, "few.hea", "few 3 360\nx.dat 16\n# only one\n");
    open_fails(d, "few", SOMNA_E_FORMAT, "few.hea", "declares 3 signals but only 1");
    write_text(d, "gain.hea", "gain 1 360\nx.dat 16 abc/mV\n");
    open_fails(d, "gain", SOMNA_E_FORMAT, "gain.hea:2:", "gain is 'abc'");
    write_text(d, "ns.hea", "ns 1 360 -5\nx.dat 16\n");
    open_fails(d, "ns", SOMNA_E_FORMAT, "ns.hea:1:", "number of samples");
    write_text(d, "fs.hea", "fs 1 -360\nx.dat 16\n");
    open_fails(d, "fs", SOMNA_E_FORMAT, "fs.hea:1:", "sampling frequency");
    write_text(d, "huge.hea", "huge 1000000000 360\nx.dat 16\n");
    open_fails(d, "huge", SOMNA_E_FORMAT, "huge.hea", "declares 1000000000 signals but only 1 signal lines");
    write_text(d, "empty.hea", "# nothing\n\n");
    open_fails(d, "empty", SOMNA_E_FORMAT, "empty.hea", "no record line");
    write_text(d, "spf.hea", "spf 1 360\nx.dat 16x0\n");
    open_fails(d, "spf", SOMNA_E_FORMAT, "spf.hea:2:", "samples per frame");
    write_text(d, "junk.hea", "junk 1 360\nx.dat 16q\n");
    open_fails(d, "junk", SOMNA_E_FORMAT, "junk.hea:2:", "'q'");
    write_text(d, "mix.hea", "mix 2 360\nx.dat 16\nx.dat 212\n");
    open_fails(d, "mix", SOMNA_E_FORMAT, "mix.hea", "differ in format");
    write_text(d, "nonadj.hea", "nonadj 3 360\nx.dat 16\ny.dat 16\nx.dat 16\n");
    open_fails(d, "nonadj", SOMNA_E_FORMAT, "nonadj.hea", "signal 2 uses file x.dat like signal 0");
    write_text(d, "off.hea", "off 1 360\nx.dat 16+100\n");
    open_fails(d, "off", SOMNA_E_FORMAT, "off.hea", "byte offset 100");
    open_fails(d, "absent", SOMNA_E_IO, "absent.hea", NULL);
    /* A null (format 0) signal may claim any length, but not one whose
     * sample indices would overflow: 2^53 frames x 10^6 samples. */
    write_text(d, "ovf.hea", "ovf 1 360 9007199254740992\n~ 0x1000000\n");
    open_fails(d, "ovf", SOMNA_E_FORMAT, "ovf.hea", "too large");

    /* Format 0 (null signal, no file): every sample is invalid. */
    write_text(d, "null.hea", "null 1 100 5\n~ 0\n");
    {
        somna_wfdb_record *z = open_ok(d, "null");
        double v[5];
        somna_err e0;
        somna_err_init(&e0, NULL, NULL);
        assert_int_equal(z->n_samples, 5);
        assert_int_equal(somna_wfdb_read_physical(z, 0, 0, 5, v, &e0), SOMNA_OK);
        for (int i = 0; i < 5; i++)
            assert_true(isnan(v[i]));
        somna_wfdb_close(z);
    }

    /* A signal file shorter than the header says: warning, n_samples cut
     * to what the file holds (6 bytes of format 16 = 3 frames). */
    write_text(d, "short.hea", "short 1 360 1000000000000\nx.dat 16\n");
    char p[1024];
    snprintf(p, sizeof p, "%s/short", d);
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_wfdb_record *r = NULL;
    assert_int_equal(somna_wfdb_open(p, &r, &err), SOMNA_OK);
    assert_int_equal(err.n_warnings, 1);
    assert_int_equal(r->n_samples, 3);
    somna_wfdb_close(r);
}

/* ---- ../shared/data/mitdb ---------------------------------------------------*/

static void test_mitdb_values(void **state)
{
    (void)state;
    char p[1024];
    SHARED_OR_SKIP(p, "mitdb/100.hea");
    p[strlen(p) - 4] = '\0';
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_wfdb_record *r = NULL;
    assert_int_equal(somna_wfdb_open(p, &r, &err), SOMNA_OK);
    assert_int_equal(r->n_signals, 2);
    assert_close_abs(r->fs, 360, 0);
    assert_int_equal(r->n_samples, 650000);
    assert_string_equal(r->signals[0].description, "MLII");
    assert_string_equal(r->signals[1].description, "V5");
    assert_int_equal(r->signals[0].baseline, 1024);
    assert_non_null(strstr(r->info, "Aldomet, Inderal"));
    /* xxd -s 0 -l 3 100.dat = e3 33 f3: 0x3e3 = 995, 0x3f3 = 1011 — also
     * the header's initial values.  xxd -s 300000 -l 6 = ab 33 bb ab 33 bd:
     * frame 100000 = (0x3ab, 0x3bb) = (939, 955), frame 100001 = (939, 957). */
    int32_t adu[2];
    assert_int_equal(somna_wfdb_read_adu(r, 0, 0, 1, adu, &err), SOMNA_OK);
    assert_int_equal(adu[0], r->signals[0].initial_value);
    assert_int_equal(adu[0], 995);
    assert_int_equal(somna_wfdb_read_adu(r, 1, 0, 1, adu, &err), SOMNA_OK);
    assert_int_equal(adu[0], 1011);
    assert_int_equal(somna_wfdb_read_adu(r, 1, 100000, 2, adu, &err), SOMNA_OK);
    assert_int_equal(adu[0], 955);
    assert_int_equal(adu[1], 957);
    double ph[2];
    assert_int_equal(somna_wfdb_read_physical(r, 0, 100000, 2, ph, &err), SOMNA_OK);
    assert_close_abs(ph[0], (939 - 1024) / 200.0, 1e-15); /* -0.425 mV */
    assert_close_abs(ph[1], -0.425, 1e-15);
    assert_int_equal(somna_wfdb_read_physical(r, 1, 100000, 1, ph, &err), SOMNA_OK);
    assert_close_abs(ph[0], -0.345, 1e-15);
    /* codes = adu for the whole record, both signals (the fast 212 path
     * against the per-sample decoder) */
    int32_t *a = malloc(650000 * sizeof *a);
    double *c = malloc(650000 * sizeof *c);
    for (int sg = 0; sg < 2; sg++) {
        assert_int_equal(somna_wfdb_read_adu(r, sg, 0, 650000, a, &err), SOMNA_OK);
        assert_int_equal(somna_wfdb_read_codes(r, sg, 0, 650000, c, &err), SOMNA_OK);
        for (int64_t i = 0; i < 650000; i++)
            if (c[i] != (double)a[i])
                fail_msg("signal %d sample %lld: code %g, adu %d", sg, (long long)i, c[i], a[i]);
    }
    assert_int_equal(somna_wfdb_read_codes(r, 1, 100000, 2, c, &err), SOMNA_OK);
    assert_true(c[0] == 955 && c[1] == 957);
    free(a);
    free(c);
    somna_wfdb_close(r);
}

/* Every record's every sample: the 16-bit sums must equal the checksums in
 * the headers, which PhysioNet computed when the database was made. */
static void test_mitdb_checksums(void **state)
{
    (void)state;
    char p[1024];
    SHARED_OR_SKIP(p, "mitdb/100.hea");
    int checked = 0;
    for (int rec = 100; rec <= 124; rec++) {
        const char *root = getenv("SOMNA_SHARED_DATA") ? getenv("SOMNA_SHARED_DATA") : "../shared/data";
        snprintf(p, sizeof p, "%s/mitdb/%d.hea", root, rec);
        FILE *f = fopen(p, "rb");
        if (!f)
            continue; /* 110 and 120 do not exist in the MIT-BIH numbering */
        fclose(f);
        p[strlen(p) - 4] = '\0';
        somna_err err;
        somna_err_init(&err, NULL, NULL);
        somna_wfdb_record *r = NULL;
        if (somna_wfdb_open(p, &r, &err) != SOMNA_OK)
            fail_msg("%s", err.msg);
        for (int s = 0; s < r->n_signals; s++) {
            int c = 0, ok = 0;
            assert_int_equal(somna_wfdb_checksum(r, s, &c, &ok, &err), SOMNA_OK);
            if (!ok)
                fail_msg("record %d signal %d: checksum %d, header %d", rec, s, c, r->signals[s].checksum);
            checked++;
        }
        somna_wfdb_close(r);
    }
    assert_true(checked >= 40); /* 23 records x 2 signals are in the folder */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_212),
        cmocka_unit_test(test_formats_single),
        cmocka_unit_test(test_packed_tails),
        cmocka_unit_test(test_frames_skew_offset_groups),
        cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_mitdb_values),
        cmocka_unit_test(test_mitdb_checksums),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
