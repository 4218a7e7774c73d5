/* EDF/EDF+/BDF reader and writer: hand-built files whose every byte is
 * chosen here, so the expected values follow from the EDF spec by hand
 * (Kemp 1992; Kemp & Olivan 2003), not from somna's output. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "somna/edf.h"
#include "test_util.h"

/* ---- a tiny EDF builder ---------------------------------------------------*/

typedef struct tsig {
    const char *label;
    int spr;
    const char *pmin, *pmax, *dmin, *dmax;
} tsig;

typedef struct tfile {
    unsigned char *d;
    size_t len, hdr, rec;
    int bps;
    int ns;
    size_t off[8];
} tfile;

static void fld(unsigned char *p, size_t w, const char *s)
{
    memset(p, ' ', w);
    size_t l = strlen(s);
    memcpy(p, s, l < w ? l : w);
}

/* Header with n_records records of zeroed data. */
static tfile build(int bdf, const char *reserved, const char *nrec_field, const char *dur, int ns, const tsig *s,
                   int n_records)
{
    tfile t;
    memset(&t, 0, sizeof t);
    t.bps = bdf ? 3 : 2;
    t.ns = ns;
    t.hdr = 256 + 256 * (size_t)ns;
    for (int i = 0; i < ns; i++) {
        t.off[i] = t.rec;
        t.rec += (size_t)s[i].spr * (size_t)t.bps;
    }
    t.len = t.hdr + t.rec * (size_t)n_records;
    t.d = calloc(1, t.len);
    assert_non_null(t.d);
    unsigned char *h = t.d;
    if (bdf) {
        h[0] = 0xFF;
        memcpy(h + 1, "BIOSEMI", 7);
    } else {
        fld(h, 8, "0");
    }
    fld(h + 8, 80, "X X X X");
    fld(h + 88, 80, "Startdate 05-MAR-2021 X X X");
    fld(h + 168, 8, "05.03.21");
    fld(h + 176, 8, "22.10.05");
    char num[32];
    snprintf(num, sizeof num, "%zu", t.hdr);
    fld(h + 184, 8, num);
    fld(h + 192, 44, reserved);
    fld(h + 236, 8, nrec_field);
    fld(h + 244, 8, dur);
    snprintf(num, sizeof num, "%d", ns);
    fld(h + 252, 4, num);
    unsigned char *sh = h + 256;
    size_t n = (size_t)ns;
    for (size_t i = 0; i < n; i++) {
        fld(sh + i * 16, 16, s[i].label);
        fld(sh + 16 * n + i * 80, 80, "");
        fld(sh + 96 * n + i * 8, 8, "uV");
        fld(sh + 104 * n + i * 8, 8, s[i].pmin);
        fld(sh + 112 * n + i * 8, 8, s[i].pmax);
        fld(sh + 120 * n + i * 8, 8, s[i].dmin);
        fld(sh + 128 * n + i * 8, 8, s[i].dmax);
        fld(sh + 136 * n + i * 80, 80, "");
        snprintf(num, sizeof num, "%d", s[i].spr);
        fld(sh + 216 * n + i * 8, 8, num);
        fld(sh + 224 * n + i * 32, 32, "");
    }
    return t;
}

static void put_sample(tfile *t, int rec, int sig, int k, int32_t v)
{
    unsigned char *p = t->d + t->hdr + (size_t)rec * t->rec + t->off[sig] + (size_t)k * (size_t)t->bps;
    uint32_t u = (uint32_t)v;
    p[0] = (unsigned char)(u & 0xFF);
    p[1] = (unsigned char)((u >> 8) & 0xFF);
    if (t->bps == 3)
        p[2] = (unsigned char)((u >> 16) & 0xFF);
}

static void put_tal(tfile *t, int rec, int sig, const char *bytes, size_t n)
{
    assert_true(t->off[sig] + n <= t->rec); /* a TAL longer than its signal is a bug in the test */
    memcpy(t->d + t->hdr + (size_t)rec * t->rec + t->off[sig], bytes, n);
}

typedef struct warns {
    int n;
    char last[1024];
} warns;

static void collect(void *ctx, const char *msg)
{
    warns *w = ctx;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", msg);
}

static int open_t(const tfile *t, somna_edf **e, somna_err *err, warns *w)
{
    memset(w, 0, sizeof *w);
    somna_err_init(err, collect, w);
    return somna_edf_open_buffer(t->d, t->len, "t.edf", e, err);
}

#define assert_msg(err, text)                                                                                      \
    do {                                                                                                           \
        if (strcmp((err).msg, (text)) != 0)                                                                        \
            fail_msg("message\n  got:  %s\n  want: %s", (err).msg, (text));                                        \
    } while (0)

/* ---- reading ---------------------------------------------------------------*/

static void test_plain_edf_values(void **state)
{
    (void)state;
    /* Signal 1: 0..100 phys over 0..100 dig -> physical == digital.
     * Signal 2: -1..1 phys over -1000..1000 -> physical = digital / 1000. */
    tsig s[2] = {{"EEG Fpz-Cz   ", 4, "0", "100", "0", "100"}, {"  EMG", 2, "-1", "1", "-1000", "1000"}};
    tfile t = build(0, "", "3", "0.5", 2, s, 3);
    for (int r = 0; r < 3; r++) {
        for (int k = 0; k < 4; k++)
            put_sample(&t, r, 0, k, r * 4 + k);
        put_sample(&t, r, 1, 0, -1000 + r);
        put_sample(&t, r, 1, 1, 1000 - r);
    }
    somna_edf *e;
    somna_err err;
    warns w;
    assert_int_equal(open_t(&t, &e, &err, &w), SOMNA_OK);
    assert_int_equal(w.n, 0);
    const somna_edf_header *h = somna_edf_get_header(e);
    assert_int_equal(h->format, SOMNA_EDF);
    assert_string_equal(somna_edf_format_name(h->format), "EDF");
    assert_int_equal(h->n_signals, 2);
    assert_int_equal(h->n_records, 3);
    assert_int_equal(h->start_year, 2021);
    assert_int_equal(h->start_month, 3);
    assert_int_equal(h->start_day, 5);
    assert_int_equal(h->start_hour, 22);
    assert_int_equal(h->start_second, 5);
    assert_string_equal(h->signals[0].label, "EEG Fpz-Cz");
    assert_string_equal(h->signals[1].label, "EMG");
    assert_close_rel(h->signals[0].fs, 8.0, 1e-15);
    assert_close_rel(h->signals[1].fs, 4.0, 1e-15);
    assert_int_equal(h->signals[0].n_samples, 12);
    assert_close_rel(h->duration_s, 1.5, 1e-15);
    assert_close_rel(h->record_onsets[2], 1.0, 1e-15);
    double x[12];
    assert_int_equal(somna_edf_read_physical(e, 0, 0, 12, x, &err), SOMNA_OK);
    for (int i = 0; i < 12; i++)
        assert_close_abs(x[i], (double)i, 1e-12);
    /* across a record boundary, starting mid-record */
    assert_int_equal(somna_edf_read_physical(e, 0, 3, 6, x, &err), SOMNA_OK);
    for (int i = 0; i < 6; i++)
        assert_close_abs(x[i], (double)(3 + i), 1e-12);
    assert_int_equal(somna_edf_read_physical(e, 1, 0, 6, x, &err), SOMNA_OK);
    const double want1[6] = {-1.0, 1.0, -0.999, 0.999, -0.998, 0.998};
    for (int i = 0; i < 6; i++)
        assert_close_rel(x[i], want1[i], 1e-12);
    int32_t d[6];
    assert_int_equal(somna_edf_read_digital(e, 1, 0, 6, d, &err), SOMNA_OK);
    assert_int_equal(d[0], -1000);
    assert_int_equal(d[5], 998);
    /* time range [0.25, 1.0) of the 8 Hz signal: t = 0.25 .. 0.875 = samples 2..7 */
    double *r = NULL;
    int64_t nr = 0;
    assert_int_equal(somna_edf_read_range(e, 0, 0.25, 1.0, &r, &nr, &err), SOMNA_OK);
    assert_int_equal(nr, 6);
    for (int i = 0; i < 6; i++)
        assert_close_abs(r[i], (double)(2 + i), 1e-12);
    free(r);
    assert_int_equal(somna_edf_find_signal(e, "emg "), 1);
    assert_int_equal(somna_edf_find_signal(e, "eeg fpz-cz"), 0);
    assert_int_equal(somna_edf_find_signal(e, "ECG"), -1);
    /* out of range requests are refused, not clipped */
    assert_int_equal(somna_edf_read_physical(e, 0, 10, 3, x, &err), SOMNA_E_ARG);
    assert_msg(err, "t.edf: signal 1 (EEG Fpz-Cz): samples 10..13 requested, the signal has 12");
    assert_int_equal(somna_edf_read_physical(e, 5, 0, 1, x, &err), SOMNA_E_NOTFOUND);
    somna_edf_close(e);
    free(t.d);
}

static void test_edflib_calibration(void **state)
{
    (void)state;
    /* pmin -250, pmax 250, dmin -2048, dmax 2047: EDF says
     * physical = pmin + (d - dmin) * 500 / 4095. */
    tsig s[1] = {{"C3", 4, "-250", "250", "-2048", "2047"}};
    tfile t = build(0, "", "1", "1", 1, s, 1);
    const int32_t dig[4] = {-2048, 2047, 0, -1};
    for (int k = 0; k < 4; k++)
        put_sample(&t, 0, 0, k, dig[k]);
    somna_edf *e;
    somna_err err;
    warns w;
    assert_int_equal(open_t(&t, &e, &err, &w), SOMNA_OK);
    double x[4];
    assert_int_equal(somna_edf_read_physical(e, 0, 0, 4, x, &err), SOMNA_OK);
    assert_close_rel(x[0], -250.0, 1e-12);
    assert_close_rel(x[1], 250.0, 1e-12);
    assert_close_rel(x[2], -250.0 + 2048.0 * 500.0 / 4095.0, 1e-12); /* 0.0610500610... */
    assert_close_rel(x[3], -250.0 + 2047.0 * 500.0 / 4095.0, 1e-12);
    assert_close_rel(somna_edf_get_header(e)->signals[0].gain, 500.0 / 4095.0, 1e-15);
    somna_edf_close(e);
    free(t.d);
}

static void test_bdf_24bit(void **state)
{
    (void)state;
    tsig s[1] = {{"EEG", 5, "-8388608", "8388607", "-8388608", "8388607"}};
    tfile t = build(1, "", "1", "1", 1, s, 1);
    const int32_t v[5] = {-8388608, 8388607, -1, 123456, -654321};
    for (int k = 0; k < 5; k++)
        put_sample(&t, 0, 0, k, v[k]);
    somna_edf *e;
    somna_err err;
    warns w;
    assert_int_equal(open_t(&t, &e, &err, &w), SOMNA_OK);
    assert_int_equal(somna_edf_get_header(e)->format, SOMNA_BDF);
    int32_t d[5];
    double x[5];
    assert_int_equal(somna_edf_read_digital(e, 0, 0, 5, d, &err), SOMNA_OK);
    assert_int_equal(somna_edf_read_physical(e, 0, 0, 5, x, &err), SOMNA_OK);
    for (int k = 0; k < 5; k++) {
        assert_int_equal(d[k], v[k]);
        assert_close_abs(x[k], (double)v[k], 1e-6);
    }
    somna_edf_close(e);
    free(t.d);
}

#define TAL(s) s, sizeof(s) - 1

static void test_edfplus_d_tals(void **state)
{
    (void)state;
    /* EDF+D, 3 records of 1 s at onsets 0, 10 and 11.5 (gaps kept); two
     * annotation signals; TALs with durations, several texts, negative onset. */
    tsig s[3] = {{"EEG", 4, "0", "100", "0", "100"},
                 {"EDF Annotations", 24, "-1", "1", "-32768", "32767"},
                 {"EDF Annotations", 12, "-1", "1", "-32768", "32767"}};
    tfile t = build(0, "EDF+D", "3", "1", 3, s, 3);
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < 4; k++)
            put_sample(&t, r, 0, k, r * 10 + k);
    put_tal(&t, 0, 1, TAL("+0\x14\x14\x00+0.5\x15" "30\x14Sleep stage W\x14\x00"));
    put_tal(&t, 1, 1, TAL("+10\x14\x14\x00-2.25\x14Lights off\x14Note\x14\x00"));
    put_tal(&t, 2, 1, TAL("+11.5\x14\x14\x00"));
    put_tal(&t, 1, 2, TAL("+10.75\x15" "0\x14" "Arousal\x14\x00"));
    somna_edf *e;
    somna_err err;
    warns w;
    int rc = open_t(&t, &e, &err, &w);
    if (rc)
        fail_msg("%s", err.msg);
    const somna_edf_header *h = somna_edf_get_header(e);
    assert_int_equal(h->format, SOMNA_EDFPLUS_D);
    assert_close_abs(h->record_onsets[0], 0.0, 0);
    assert_close_abs(h->record_onsets[1], 10.0, 0);
    assert_close_abs(h->record_onsets[2], 11.5, 0);
    assert_close_abs(h->duration_s, 12.5, 1e-12);
    assert_int_equal(h->signals[0].n_samples, 12);
    assert_int_equal(h->signals[1].n_samples, 0);
    size_t na;
    const somna_edf_annotation *a = somna_edf_annotations(e, &na);
    assert_int_equal(na, 4);
    assert_close_abs(a[0].onset, 0.5, 0);
    assert_close_abs(a[0].duration, 30.0, 0);
    assert_string_equal(a[0].text, "Sleep stage W");
    assert_close_abs(a[1].onset, -2.25, 0);
    assert_true(a[1].duration < 0);
    assert_string_equal(a[1].text, "Lights off");
    assert_string_equal(a[2].text, "Note");
    assert_close_abs(a[2].onset, -2.25, 0);
    assert_string_equal(a[3].text, "Arousal");
    assert_close_abs(a[3].onset, 10.75, 0);
    assert_close_abs(a[3].duration, 0.0, 0);
    /* [9, 12): all of record 2 (t = 10 .. 10.75) and t = 11.5, 11.75 of record 3 */
    double *r = NULL;
    int64_t nr = 0;
    assert_int_equal(somna_edf_read_range(e, 0, 9.0, 12.0, &r, &nr, &err), SOMNA_OK);
    assert_int_equal(nr, 6);
    const double want[6] = {10, 11, 12, 13, 20, 21};
    for (int i = 0; i < 6; i++)
        assert_close_abs(r[i], want[i], 1e-12);
    free(r);
    /* the gap [1, 10) holds no samples */
    assert_int_equal(somna_edf_read_range(e, 0, 1.0, 10.0, &r, &nr, &err), SOMNA_OK);
    assert_int_equal(nr, 0);
    free(r);
    double one;
    assert_int_equal(somna_edf_read_physical(e, 1, 0, 1, &one, &err), SOMNA_E_ARG);
    assert_msg(err, "t.edf: signal 2 (EDF Annotations) is an annotation signal, not samples");
    somna_edf_close(e);
    free(t.d);
}

static void test_edfplus_c_subsecond_and_padding(void **state)
{
    (void)state;
    /* Noxturnal-style time-keeping TAL "+0\x14\x14\x14" (an empty extra
     * text) and a first onset of 0.25 s. */
    tsig s[2] = {{"EDF Annotations", 10, "-1", "1", "-32768", "32767"}, {"X", 2, "0", "100", "0", "100"}};
    tfile t = build(0, "EDF+C", "2", "2", 2, s, 2);
    put_tal(&t, 0, 0, TAL("+0.25\x14\x14\x14"));
    put_tal(&t, 1, 0, TAL("+2.25\x14\x14\x14"));
    somna_edf *e;
    somna_err err;
    warns w;
    int rc = open_t(&t, &e, &err, &w);
    if (rc)
        fail_msg("%s", err.msg);
    const somna_edf_header *h = somna_edf_get_header(e);
    assert_int_equal(h->format, SOMNA_EDFPLUS_C);
    assert_close_abs(h->start_subsecond, 0.25, 1e-15);
    assert_close_abs(h->record_onsets[1], 2.25, 1e-15);
    assert_close_abs(h->duration_s, 4.0, 1e-15);
    size_t na;
    somna_edf_annotations(e, &na);
    assert_int_equal(na, 0);
    assert_int_equal(w.n, 0);
    somna_edf_close(e);
    free(t.d);
}

/* ---- leniency --------------------------------------------------------------*/

static void test_lenient_record_count(void **state)
{
    (void)state;
    tsig s[1] = {{"EEG", 2, "0", "100", "0", "100"}};
    somna_edf *e;
    somna_err err;
    warns w;
    /* -1 (still recording): count from the file size */
    tfile t = build(0, "", "-1", "1", 1, s, 4);
    assert_int_equal(open_t(&t, &e, &err, &w), SOMNA_OK);
    assert_int_equal(somna_edf_get_header(e)->n_records, 4);
    assert_int_equal(w.n, 1);
    assert_string_equal(w.last, "t.edf: number of data records is -1 (file not closed by its writer); using the 4 "
                                "complete records the file holds");
    somna_edf_close(e);
    free(t.d);
    /* header says 10, file holds 4 records and 3 stray bytes */
    t = build(0, "", "10", "1", 1, s, 4);
    t.len += 3;
    t.d = realloc(t.d, t.len);
    assert_int_equal(open_t(&t, &e, &err, &w), SOMNA_OK);
    assert_int_equal(somna_edf_get_header(e)->n_records, 4);
    assert_int_equal(somna_edf_get_header(e)->signals[0].n_samples, 8);
    assert_int_equal(w.n, 2);
    assert_string_equal(w.last, "t.edf: 3 bytes after the last complete data record ignored (truncated record)");
    somna_edf_close(e);
    free(t.d);
}

static void test_lenient_non_ascii_and_digital_range(void **state)
{
    (void)state;
    tsig s[1] = {{"1 Imp\xc3\xa9" "dance", 2, "-730", "503", "-72984", "50277"}};
    tfile t = build(0, "", "1", "1", 1, s, 1);
    somna_edf *e;
    somna_err err;
    warns w;
    assert_int_equal(open_t(&t, &e, &err, &w), SOMNA_OK);
    assert_int_equal(w.n, 2);
    assert_string_equal(w.last, "t.edf: digital range beyond the 16-bit EDF range -32768..32767, calibration "
                                "used as written (1 field): signal 1 (1 Imp\xc3\xa9" "dance) -72984..50277");
    assert_string_equal(somna_edf_get_header(e)->signals[0].label, "1 Imp\xc3\xa9" "dance");
    somna_edf_close(e);
    free(t.d);
}

/* ---- refusals: one precise message each -------------------------------------*/

static void expect_refusal(tfile *t, int code, const char *msg)
{
    somna_edf *e = (somna_edf *)(uintptr_t)1;
    somna_err err;
    warns w;
    int rc = open_t(t, &e, &err, &w);
    if (rc != code)
        fail_msg("rc %d, want %d (%s)", rc, code, err.msg);
    assert_null(e);
    assert_msg(err, msg);
    free(t->d);
}

static void test_refusals(void **state)
{
    (void)state;
    tsig two[2] = {{"EEG Fpz-Cz", 2, "-100", "100", "-2048", "2047"}, {"EEG Pz-Oz", 2, "-1", "1", "100", "100"}};
    tfile t = build(0, "", "1", "1", 2, two, 1);
    expect_refusal(&t, SOMNA_E_FORMAT, "t.edf: signal 2 (EEG Pz-Oz): digital minimum 100 >= digital maximum 100");

    tsig pm[1] = {{"ECG", 2, "5", "5", "0", "10"}};
    t = build(0, "", "1", "1", 1, pm, 1);
    expect_refusal(&t, SOMNA_E_FORMAT, "t.edf: signal 1 (ECG): physical minimum 5 == physical maximum 5");

    tsig ovf[1] = {{"ECG", 2, "-9e307", "9e307", "0", "10"}};
    t = build(0, "", "1", "1", 1, ovf, 1);
    expect_refusal(&t, SOMNA_E_FORMAT,
                   "t.edf: signal 1 (ECG): physical range -9e+307..9e+307 over digital 0..10 cannot be calibrated "
                   "(overflow)");

    tsig bad[1] = {{"ECG", 2, "abc", "5", "0", "10"}};
    t = build(0, "", "1", "1", 1, bad, 1);
    expect_refusal(&t, SOMNA_E_FORMAT, "t.edf: signal 1 (ECG): physical minimum 'abc' is not a number");

    tsig zero[1] = {{"ECG", 0, "0", "5", "0", "10"}};
    t = build(0, "", "1", "1", 1, zero, 0);
    expect_refusal(&t, SOMNA_E_FORMAT, "t.edf: signal 1 (ECG): number of samples per data record is 0; must be >= 1");

    tsig one[1] = {{"ECG", 2, "0", "5", "0", "10"}};
    t = build(0, "", "1", "1", 1, one, 1);
    memcpy(t.d + 252, "0   ", 4);
    expect_refusal(&t, SOMNA_E_FORMAT,
                   "t.edf: number of signals (header bytes 253-256) is 0; a recording needs at least 1");

    t = build(0, "", "1", "1", 1, one, 1);
    memcpy(t.d + 252, "-3  ", 4);
    expect_refusal(&t, SOMNA_E_FORMAT,
                   "t.edf: number of signals (header bytes 253-256) is -3; a recording needs at least 1");

    t = build(0, "", "1", "1", 1, one, 1);
    memcpy(t.d + 184, "99999999", 8);
    expect_refusal(&t, SOMNA_E_FORMAT, "t.edf: number of header bytes is 99999999, but 1 signals need 256 + 256 x 1 = 512");

    /* absurd: 9999 signals in a 516-byte file -> refused before allocating */
    t = build(0, "", "1", "1", 1, one, 1);
    memcpy(t.d + 252, "9999", 4);
    memcpy(t.d + 184, "2560000 ", 8);
    expect_refusal(&t, SOMNA_E_FORMAT, "t.edf: file is 516 bytes, shorter than its 2560000-byte header (9999 signals): truncated");

    /* absurd: 99999999 samples per record -> the file cannot hold one record */
    tsig huge[1] = {{"ECG", 99999999, "0", "5", "0", "10"}};
    t = build(0, "", "1", "1", 1, huge, 0);
    t.d = realloc(t.d, t.len + 10);
    memset(t.d + t.len, 0, 10);
    t.len += 10;
    expect_refusal(&t, SOMNA_E_FORMAT,
                   "t.edf: file ends inside the first data record (10 data bytes, a record is 199999998 bytes): "
                   "truncated");

    t = build(0, "", "5", "1", 1, one, 0);
    expect_refusal(&t, SOMNA_E_FORMAT,
                   "t.edf: header declares 5 data records but the file ends after the header: truncated");

    t = build(0, "", "1", "1", 1, one, 1);
    t.len = 300;
    expect_refusal(&t, SOMNA_E_FORMAT, "t.edf: file is 300 bytes, shorter than its 512-byte header (1 signals): truncated");

    t = build(0, "", "1", "1", 1, one, 1);
    t.len = 100;
    expect_refusal(&t, SOMNA_E_FORMAT, "t.edf: file is 100 bytes, shorter than the 256-byte EDF header (truncated)");

    t = build(0, "", "1", "1", 1, one, 1);
    memcpy(t.d, "1.0     ", 8);
    expect_refusal(&t, SOMNA_E_FORMAT,
                   "t.edf: not an EDF or BDF file: version field (bytes 1-8) is '1.0', expected '0' (EDF) or 0xFF "
                   "'BIOSEMI' (BDF)");

    t = build(0, "", "-7", "1", 1, one, 1);
    expect_refusal(&t, SOMNA_E_FORMAT,
                   "t.edf: number of data records (header bytes 237-244) is -7; must be >= 0 (or -1 while recording)");

    t = build(0, "", "1", "-1", 1, one, 1);
    expect_refusal(&t, SOMNA_E_FORMAT, "t.edf: duration of a data record is -1 s; must be >= 0");

    t = build(0, "EDF+D", "1", "1", 1, one, 1);
    expect_refusal(&t, SOMNA_E_FORMAT, "t.edf: EDF+D file has no 'EDF Annotations' signal, so its record onsets are unknown");
}

static void test_broken_tals(void **state)
{
    (void)state;
    tsig s[2] = {{"EEG", 2, "0", "100", "0", "100"}, {"EDF Annotations", 8, "-1", "1", "-32768", "32767"}};
    struct {
        const char *tal;
        size_t n;
        const char *msg;
    } cases[] = {
        {TAL("0\x14\x14\x00"), "t.edf: data record 1, signal 2 (EDF Annotations): TAL at byte 0: onset must start "
                               "with '+' or '-', found byte 0x30"},
        {TAL("+1x\x14\x14\x00"), "t.edf: data record 1, signal 2 (EDF Annotations): TAL at byte 0: onset '+1x' is "
                                 "not a number"},
        {TAL("+0\x15" "ab\x14\x14\x00"), "t.edf: data record 1, signal 2 (EDF Annotations): TAL at byte 0: duration "
                                         "'ab' is not a number"},
        {TAL("+0\x14" "abcdefghijklm"), "t.edf: data record 1, signal 2 (EDF Annotations): TAL at byte 0 is not "
                                         "terminated by 0x14 0x00 before the end of the annotation signal"},
        {TAL("+0123456789abcde"), "t.edf: data record 1, signal 2 (EDF Annotations): TAL at byte 0: onset is not "
                                   "followed by 0x14 or 0x15 before the end of the annotation signal"},
        {TAL("\x00\x00"), "t.edf: data record 1: signal 2 (EDF Annotations) has no time-keeping TAL (EDF+ needs one "
                          "per record to know when the record starts)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tfile t = build(0, "EDF+C", "1", "1", 2, s, 1);
        put_tal(&t, 0, 1, cases[i].tal, cases[i].n);
        expect_refusal(&t, SOMNA_E_FORMAT, cases[i].msg);
    }
    /* records out of order in EDF+D */
    tfile t = build(0, "EDF+D", "2", "1", 2, s, 2);
    put_tal(&t, 0, 1, TAL("+5\x14\x14\x00"));
    put_tal(&t, 1, 1, TAL("+5.5\x14\x14\x00"));
    expect_refusal(&t, SOMNA_E_FORMAT, "t.edf: data record 2 starts at 5.5 s, before data record 1 ends (6 s)");
}

/* ---- writer ----------------------------------------------------------------*/

static void test_writer_roundtrip(void **state)
{
    (void)state;
    char path[4096];
    test_tmp_path(path, sizeof path, "test_edf_writer.edf");
    unlink(path);
    somna_edf_signal_spec sig[2] = {{"EEG C3-M2", "uV", NULL, NULL, 4, -100.0, 100.0, -1000, 1000},
                                    {"SpO2", "%", NULL, NULL, 1, 0.0, 100.0, 0, 1000}};
    somna_edf_writer_spec spec = {0, "X F 01-JAN-1990 Anon", "X tech device", 2023, 12, 31, 23, 59, 30, 0.5, 2, sig, 60};
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_edf_writer *w;
    assert_int_equal(somna_edf_writer_open(path, &spec, &w, &err), SOMNA_OK);
    /* nothing visible under the final name until close */
    assert_int_not_equal(access(path, F_OK), 0);
    for (int r = 0; r < 3; r++) {
        double a[4] = {r * 10 + 0.1, -50.05, 200.0 /* clipped to 100 */, -0.04}, b[1] = {95.5 + r};
        const double *d[2] = {a, b};
        assert_int_equal(somna_edf_writer_put_record(w, d, &err), SOMNA_OK);
    }
    assert_int_equal(somna_edf_writer_add_annotation(w, 1.0, -1, "Lights off", &err), SOMNA_OK);
    assert_int_equal(somna_edf_writer_add_annotation(w, 0.25, 0.5, "Movement", &err), SOMNA_OK);
    assert_int_equal(somna_edf_writer_add_annotation(w, 1.0, 10, "bad\x14text", &err), SOMNA_E_ARG);
    if (somna_edf_writer_close(w, &err) != SOMNA_OK)
        fail_msg("%s", err.msg);

    somna_edf *e;
    assert_int_equal(somna_edf_open(path, &e, &err), SOMNA_OK);
    const somna_edf_header *h = somna_edf_get_header(e);
    assert_int_equal(h->format, SOMNA_EDFPLUS_C);
    assert_int_equal(h->n_records, 3);
    assert_int_equal(h->n_signals, 3);
    assert_true(h->signals[2].is_annotation);
    assert_int_equal(h->start_year, 2023);
    assert_int_equal(h->start_second, 30);
    assert_close_rel(h->record_duration, 0.5, 0);
    assert_string_equal(h->patient, "X F 01-JAN-1990 Anon");
    assert_string_equal(h->recording, "Startdate 31-DEC-2023 X tech device");
    assert_close_rel(h->record_onsets[2], 1.0, 0);
    double x[12];
    assert_int_equal(somna_edf_read_physical(e, 0, 0, 12, x, &err), SOMNA_OK);
    /* step 0.1 uV: 0.1 -> 0.1, -50.05 -> -50.1 or -50.0 (half step), 200 -> 100, -0.04 -> 0 */
    assert_close_abs(x[0], 0.1, 1e-9);
    assert_close_abs(x[1], -50.05, 0.05 + 1e-9);
    assert_close_abs(x[2], 100.0, 1e-9);
    assert_close_abs(x[3], 0.0, 1e-9);
    assert_close_abs(x[8], 20.1, 1e-9);
    assert_int_equal(somna_edf_read_physical(e, 1, 0, 3, x, &err), SOMNA_OK);
    assert_close_abs(x[0], 95.5, 1e-9);
    assert_close_abs(x[2], 97.5, 1e-9);
    size_t na;
    const somna_edf_annotation *a = somna_edf_annotations(e, &na);
    assert_int_equal(na, 2);
    assert_string_equal(a[0].text, "Movement");
    assert_close_abs(a[0].onset, 0.25, 0);
    assert_close_abs(a[0].duration, 0.5, 0);
    assert_string_equal(a[1].text, "Lights off");
    assert_true(a[1].duration < 0);
    somna_edf_close(e);
    unlink(path);
}

static void test_writer_failures_leave_nothing(void **state)
{
    (void)state;
    char path[4096];
    test_tmp_path(path, sizeof path, "test_edf_writer_fail.edf");
    unlink(path);
    somna_edf_signal_spec sig[1] = {{"EEG", "uV", NULL, NULL, 2, -1.0, 1.0, 0, 0}};
    somna_edf_writer_spec spec = {0, NULL, NULL, 2023, 1, 1, 0, 0, 0, 1.0, 1, sig, 30};
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_edf_writer *w;
    assert_int_equal(somna_edf_writer_open(path, &spec, &w, &err), SOMNA_OK);
    double a[2] = {0.5, NAN};
    const double *d[1] = {a};
    assert_int_equal(somna_edf_writer_put_record(w, d, &err), SOMNA_E_ARG);
    assert_string_equal(err.msg + strlen(path), ": data record 1, signal 1: sample 1 is NaN");
    somna_edf_writer_abort(w);
    assert_int_not_equal(access(path, F_OK), 0);

    /* more annotations than the records can carry: close fails, no file */
    assert_int_equal(somna_edf_writer_open(path, &spec, &w, &err), SOMNA_OK);
    a[1] = 0.25;
    assert_int_equal(somna_edf_writer_put_record(w, d, &err), SOMNA_OK);
    for (int i = 0; i < 10; i++)
        assert_int_equal(somna_edf_writer_add_annotation(w, i, -1, "a fairly long annotation text", &err), SOMNA_OK);
    assert_int_equal(somna_edf_writer_close(w, &err), SOMNA_E_ARG);
    assert_non_null(strstr(err.msg, "annotations do not fit"));
    assert_int_not_equal(access(path, F_OK), 0);

    /* bad specs */
    spec.start_year = 1970;
    assert_int_equal(somna_edf_writer_open(path, &spec, &w, &err), SOMNA_E_ARG);
    spec.start_year = 2023;
    sig[0].phys_min = sig[0].phys_max = 3.0;
    assert_int_equal(somna_edf_writer_open(path, &spec, &w, &err), SOMNA_E_ARG);
    sig[0].phys_min = -1;
    sig[0].label = "EEG \xc3\xa9";
    assert_int_equal(somna_edf_writer_open(path, &spec, &w, &err), SOMNA_E_ARG);
    assert_int_not_equal(access(path, F_OK), 0);
    /* EDF+ header subfields: patient needs 4, recording 3 after the date (EDFlib refuses fewer) */
    sig[0].label = "EEG";
    spec.recording = "X X";
    assert_int_equal(somna_edf_writer_open(path, &spec, &w, &err), SOMNA_E_ARG);
    assert_non_null(strstr(err.msg, "recording field 'X X' needs the 3 EDF+ subfields"));
    spec.recording = NULL;
    spec.patient = "P01 M";
    assert_int_equal(somna_edf_writer_open(path, &spec, &w, &err), SOMNA_E_ARG);
    assert_non_null(strstr(err.msg, "patient field 'P01 M' needs the 4 EDF+ subfields"));
    assert_int_not_equal(access(path, F_OK), 0);
    spec.patient = "P01 M 01-JAN-1980 X";
    spec.recording = "Lab1 tech PSG-3 extra";
    assert_int_equal(somna_edf_writer_open(path, &spec, &w, &err), SOMNA_OK);
    somna_edf_writer_abort(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_edf_values),
        cmocka_unit_test(test_edflib_calibration),
        cmocka_unit_test(test_bdf_24bit),
        cmocka_unit_test(test_edfplus_d_tals),
        cmocka_unit_test(test_edfplus_c_subsecond_and_padding),
        cmocka_unit_test(test_lenient_record_count),
        cmocka_unit_test(test_lenient_non_ascii_and_digital_range),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_broken_tals),
        cmocka_unit_test(test_writer_roundtrip),
        cmocka_unit_test(test_writer_failures_leave_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
