/* Hypnogram readers, statistics and agreement on small hypnograms whose
 * expected values are worked out by hand in the comments (definitions in
 * docs/sleep-statistics.md), plus YASA's documented example. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "somna/hypno.h"
#include "test_util.h"

#define assert_ok(call, err)                                                                                 \
    do {                                                                                                       \
        int rc_ = (call);                                                                                      \
        if (rc_ != 0)                                                                                          \
            fail_msg("%s failed (%d): %s", #call, rc_, (err).msg);                                             \
    } while (0)

static void count_warn(void *ctx, const char *msg)
{
    (void)msg;
    (*(int *)ctx)++;
}

static int parse(const char *text, const char *name, somna_hypno_format fmt, double epoch, int fill,
                 somna_hypnogram *h, somna_err *err)
{
    somna_hypno_read_opts o = {fmt, epoch, fill};
    return somna_hypno_parse(text, strlen(text), name, &o, h, NULL, err);
}

static somna_hypnogram make(const int8_t *s, size_t n, double epoch)
{
    somna_hypnogram h;
    memset(&h, 0, sizeof h);
    h.epoch_s = epoch;
    h.n_epochs = n;
    h.stages = (int8_t *)s;
    h.start_clock_s = -1;
    return h;
}

#define W SOMNA_STAGE_W
#define S_N1 SOMNA_STAGE_N1
#define S_N2 SOMNA_STAGE_N2
#define S_N3 SOMNA_STAGE_N3
#define R SOMNA_STAGE_REM
#define A SOMNA_STAGE_ART
#define U SOMNA_STAGE_UNSCORED

static void test_labels(void **state)
{
    (void)state;
    int s = 99;
    assert_int_equal(somna_hypno_parse_label("Sleep stage 4", &s), 0);
    assert_int_equal(s, S_N3); /* R&K S4 -> N3 */
    assert_int_equal(somna_hypno_parse_label(" sleep stage r ", &s), 0);
    assert_int_equal(s, R);
    assert_int_equal(somna_hypno_parse_label("Movement time", &s), 0);
    assert_int_equal(s, A);
    assert_int_equal(somna_hypno_parse_label("Sleep stage ?", &s), 0);
    assert_int_equal(s, U);
    assert_int_equal(somna_hypno_parse_label("\xc3\x89veil", &s), 0);
    assert_int_equal(s, W);
    assert_int_equal(somna_hypno_parse_label("Sommeil paradoxal", &s), 0);
    assert_int_equal(s, R);
    assert_int_equal(somna_hypno_parse_label("NREM3", &s), 0);
    assert_int_equal(s, S_N3);
    assert_int_equal(somna_hypno_parse_label("N5", &s), -1);
    assert_int_equal(somna_hypno_parse_label("", &s), -1);
    assert_int_equal(somna_hypno_parse_label("2", &s), -1); /* digits depend on the file */
}

static void test_text_formats(void **state)
{
    (void)state;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_hypnogram h;
    somna_hypno_format f;
    /* labels; digits beside letters are R&K (4 -> N3) */
    const char *t1 = "# comment\nW\nN1\n2\n4\nR\n?\nMT\n";
    assert_int_equal(somna_hypno_parse(t1, strlen(t1), "t1.txt", NULL, &h, &f, &err), 0);
    assert_int_equal(f, SOMNA_HYPNO_FMT_TEXT);
    int8_t e1[] = {W, S_N1, S_N2, S_N3, R, U, A};
    assert_int_equal(h.n_epochs, 7);
    assert_memory_equal(h.stages, e1, 7);
    assert_true(h.epoch_s == 30.0);
    assert_true(h.start_clock_s < 0);
    somna_hypno_free(&h);
    /* all-integer: YASA codes (4 = REM here) */
    const char *t2 = "0\n1\n2\n3\n4\n-1\n-2\n";
    assert_int_equal(parse(t2, "t2.txt", SOMNA_HYPNO_FMT_AUTO, 20, 0, &h, &err), 0);
    int8_t e2[] = {W, S_N1, S_N2, S_N3, R, A, U};
    assert_memory_equal(h.stages, e2, 7);
    assert_true(h.epoch_s == 20.0);
    somna_hypno_free(&h);
    /* epoch string (one R&K character per epoch) */
    assert_int_equal(parse("WW1234R?M\n", "s.txt", SOMNA_HYPNO_FMT_AUTO, 0, 0, &h, &err), 0);
    int8_t e3[] = {W, W, S_N1, S_N2, S_N3, S_N3, R, U, A};
    assert_int_equal(h.n_epochs, 9);
    assert_memory_equal(h.stages, e3, 9);
    somna_hypno_free(&h);
    /* Walch psg_labels: 4 = N4 -> N3, 5 = REM */
    const char *t4 = "0.000000\n1.000000\n4.000000\n5.000000\n";
    assert_int_equal(somna_hypno_parse(t4, strlen(t4), "x_psg_labels.out", NULL, &h, &f, &err), 0);
    assert_int_equal(f, SOMNA_HYPNO_FMT_WALCH);
    int8_t e4[] = {W, S_N1, S_N3, R};
    assert_memory_equal(h.stages, e4, 4);
    somna_hypno_free(&h);
    /* Luna .eannot */
    const char *t5 = "W\nN2\nR\nL\n";
    assert_int_equal(somna_hypno_parse(t5, strlen(t5), "n.eannot", NULL, &h, &f, &err), 0);
    assert_int_equal(f, SOMNA_HYPNO_FMT_EANNOT);
    int8_t e5[] = {W, S_N2, R, U};
    assert_memory_equal(h.stages, e5, 4);
    somna_hypno_free(&h);
}

static void test_dreams_aggregation_tie_rule(void **state)
{
    (void)state;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_hypnogram h;
    /* three 30-s windows of six 5-s codes (5 W, 2 S2, 4 REM):
     *  5 5 5 2 2 2 -> tie W:N2 3:3, W occurs first -> W
     *  2 2 5 5 5 2 -> tie 3:3, N2 occurs first -> N2
     *  4 2 2 2 2 4 -> majority N2 (4 of 6) */
    const char *t = "[Hypnogram]\n5\n5\n5\n2\n2\n2\n2\n2\n5\n5\n5\n2\n4\n2\n2\n2\n2\n4\n";
    assert_int_equal(parse(t, "d.txt", SOMNA_HYPNO_FMT_AUTO, 0, 0, &h, &err), 0);
    assert_int_equal(h.n_epochs, 18);
    assert_true(h.epoch_s == 5.0);
    somna_hypno_free(&h);
    assert_int_equal(parse(t, "d.txt", SOMNA_HYPNO_FMT_AUTO, 30, 0, &h, &err), 0);
    int8_t e[] = {W, S_N2, S_N2};
    assert_int_equal(h.n_epochs, 3);
    assert_true(h.epoch_s == 30.0);
    assert_memory_equal(h.stages, e, 3);
    somna_hypno_free(&h);
    /* 7 epochs do not fill 30-s epochs: refused, naming the leftover */
    const char *t7 = "[Hypnogram]\n5\n5\n5\n5\n5\n5\n5\n";
    assert_int_not_equal(parse(t7, "d7.txt", SOMNA_HYPNO_FMT_AUTO, 30, 0, &h, &err), 0);
    assert_non_null(strstr(err.msg, "d7.txt"));
    assert_non_null(strstr(err.msg, "left over"));
    assert_null(h.stages);
    /* DREAMS codes: 3 S1 -> N1, 1 S3 and 0 S4 -> N3, -1 movement */
    assert_int_equal(parse("[HypnogramAASM]\n3\n1\n0\n-1\n-3\n", "d.txt", SOMNA_HYPNO_FMT_AUTO, 0, 0, &h, &err), 0);
    int8_t e2[] = {S_N1, S_N3, S_N3, A, U};
    assert_memory_equal(h.stages, e2, 5);
    somna_hypno_free(&h);
}

static void test_tables_and_intervals(void **state)
{
    (void)state;
    int nwarn = 0;
    somna_err err;
    somna_err_init(&err, count_warn, &nwarn);
    somna_hypnogram h;
    somna_hypno_format f;
    /* per-epoch table */
    const char *t1 = "epoch\tstage\n1\tW\n2\tN2\n3\tREM\n";
    assert_int_equal(somna_hypno_parse(t1, strlen(t1), "a.tsv", NULL, &h, &f, &err), 0);
    assert_int_equal(f, SOMNA_HYPNO_FMT_TABLE);
    int8_t e1[] = {W, S_N2, R};
    assert_memory_equal(h.stages, e1, 3);
    somna_hypno_free(&h);
    /* onset/duration/stage spanning several epochs */
    const char *t2 = "onset,duration,stage\n0,60,W\n60,90,N2\n150,30,R\n";
    assert_int_equal(parse(t2, "b.csv", SOMNA_HYPNO_FMT_AUTO, 0, 0, &h, &err), 0);
    int8_t e2[] = {W, W, S_N2, S_N2, S_N2, R};
    assert_int_equal(h.n_epochs, 6);
    assert_memory_equal(h.stages, e2, 6);
    somna_hypno_free(&h);
    /* overlap -> error naming the line */
    const char *t3 = "onset,duration,stage\n0,30,W\n30,60,N2\n60,30,N2\n";
    assert_int_not_equal(parse(t3, "c.csv", SOMNA_HYPNO_FMT_AUTO, 0, 0, &h, &err), 0);
    assert_non_null(strstr(err.msg, "c.csv: line 4"));
    assert_non_null(strstr(err.msg, "overlaps"));
    /* gap -> error naming the line, unless fill_gaps (then unscored + warning) */
    const char *t4 = "onset,duration,stage\n0,30,W\n60,30,N2\n";
    assert_int_not_equal(parse(t4, "g.csv", SOMNA_HYPNO_FMT_AUTO, 0, 0, &h, &err), 0);
    assert_non_null(strstr(err.msg, "g.csv: line 3"));
    assert_non_null(strstr(err.msg, "gap of 30 s"));
    assert_int_equal(parse(t4, "g.csv", SOMNA_HYPNO_FMT_AUTO, 0, 1, &h, &err), 0);
    int8_t e4[] = {W, U, S_N2};
    assert_int_equal(h.n_epochs, 3);
    assert_memory_equal(h.stages, e4, 3);
    assert_int_equal(nwarn, 1);
    somna_hypno_free(&h);
    /* duration not a whole number of epochs */
    const char *t5 = "onset,duration,stage\n0,45,W\n";
    assert_int_not_equal(parse(t5, "d.csv", SOMNA_HYPNO_FMT_AUTO, 0, 0, &h, &err), 0);
    assert_non_null(strstr(err.msg, "line 2"));
    assert_non_null(strstr(err.msg, "not a whole number of 30-s epochs"));
    /* ... but fine with 15-s epochs */
    assert_int_equal(parse(t5, "d.csv", SOMNA_HYPNO_FMT_AUTO, 15, 0, &h, &err), 0);
    assert_int_equal(h.n_epochs, 3);
    somna_hypno_free(&h);
    /* onset off the epoch grid */
    const char *t6 = "onset,duration,stage\n0,30,W\n40,30,N2\n";
    assert_int_not_equal(parse(t6, "e.csv", SOMNA_HYPNO_FMT_AUTO, 0, 1, &h, &err), 0);
    assert_non_null(strstr(err.msg, "line 3"));
    assert_non_null(strstr(err.msg, "epoch boundary"));
    /* clock-time onsets crossing midnight give the start clock */
    const char *t7 = "start,duration,stage\n23:59:30,30,W\n00:00:00,60,N1\n";
    assert_ok(parse(t7, "m.csv", SOMNA_HYPNO_FMT_AUTO, 0, 0, &h, &err), err);
    assert_int_equal(h.n_epochs, 3);
    assert_true(h.start_clock_s == 23 * 3600 + 59 * 60 + 30);
    somna_hypno_free(&h);
}

static void test_malformed(void **state)
{
    (void)state;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_hypnogram h;
    assert_int_not_equal(parse("W\nN2\nX\n", "u.txt", SOMNA_HYPNO_FMT_AUTO, 0, 0, &h, &err), 0);
    assert_non_null(strstr(err.msg, "u.txt:3:"));
    assert_non_null(strstr(err.msg, "'X'"));
    assert_null(h.stages);
    assert_int_not_equal(parse("0\n1\n7\n", "y.txt", SOMNA_HYPNO_FMT_AUTO, 0, 0, &h, &err), 0);
    assert_non_null(strstr(err.msg, "y.txt:3:"));
    assert_int_not_equal(parse("", "empty.txt", SOMNA_HYPNO_FMT_AUTO, 0, 0, &h, &err), 0);
    assert_non_null(strstr(err.msg, "empty.txt"));
    assert_int_not_equal(parse("a,b\n1,2\n", "nostage.csv", SOMNA_HYPNO_FMT_AUTO, 0, 0, &h, &err), 0);
    assert_non_null(strstr(err.msg, "no stage column"));
    assert_int_not_equal(parse("[Hypnogram]\n6\n", "dr.txt", SOMNA_HYPNO_FMT_AUTO, 0, 0, &h, &err), 0);
    assert_non_null(strstr(err.msg, "dr.txt:2:"));
    /* invalid epoch length */
    assert_int_not_equal(parse("W\n", "x.txt", SOMNA_HYPNO_FMT_AUTO, -5, 0, &h, &err), 0);
}

static void test_noxturnal_utf16(void **state)
{
    (void)state;
    int nwarn = 0;
    somna_err err;
    somna_err_init(&err, count_warn, &nwarn);
    /* A miniature export: French header, units row, stage events mixed
     * with other events (ignored), UTF-16 LE with BOM as Noxturnal writes. */
    const char *u8 = "Heure de d\xc3\xa9" "but,Heure de fin,\xc3\x89v\xc3\xa9nement,Dur\xc3\xa9" "e,\r\n"
                     "[],[],[],[s],\r\n"
                     "15/01/2016 23:59:00,15/01/2016 23:59:30,\xc3\x89veil,30,\r\n"
                     "15/01/2016 23:59:10,15/01/2016 23:59:11,Notification,1,\r\n"
                     "15/01/2016 23:59:30,16/01/2016 00:00:00,N1,30,\r\n"
                     "16/01/2016 00:00:00,16/01/2016 00:00:30,Sommeil paradoxal,30,\r\n"
                     "16/01/2016 00:00:05,16/01/2016 00:00:08,Artefact,3,\r\n"
                     "16/01/2016 00:00:30,16/01/2016 00:01:00,N3,30,\r\n";
    size_t n8 = strlen(u8);
    unsigned char *u16 = malloc(2 * n8 + 2);
    size_t k = 0;
    u16[k++] = 0xFF;
    u16[k++] = 0xFE;
    for (size_t i = 0; i < n8;) {
        unsigned cp = (unsigned char)u8[i];
        if (cp < 0x80) {
            i++;
        } else { /* 2-byte sequences only in this text */
            cp = ((cp & 0x1Fu) << 6) | ((unsigned char)u8[i + 1] & 0x3Fu);
            i += 2;
        }
        u16[k++] = (unsigned char)(cp & 0xFF);
        u16[k++] = (unsigned char)(cp >> 8);
    }
    somna_hypnogram h;
    somna_hypno_format f;
    assert_ok(somna_hypno_parse((const char *)u16, k, "nox.csv", NULL, &h, &f, &err), err);
    free(u16);
    assert_int_equal(f, SOMNA_HYPNO_FMT_NOXTURNAL);
    int8_t e[] = {W, S_N1, R, S_N3};
    assert_int_equal(h.n_epochs, 4);
    assert_memory_equal(h.stages, e, 4);
    assert_true(h.start_clock_s == 23 * 3600 + 59 * 60);
    assert_string_equal(h.start_date, "2016-01-15");
    assert_int_equal(nwarn, 0);
    somna_hypno_free(&h);
}

/* YASA's documented example (yasa.sleep_statistics docstring). */
static void test_stats_yasa_doc_example(void **state)
{
    (void)state;
    static const int8_t s[] = {0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 2, 3, 3, 4, 4, 4, 4, 0, 0};
    somna_hypnogram h = make(s, 20, 30);
    somna_hypno_stats st;
    assert_int_equal(somna_hypno_stats_compute(&h, NULL, &st, NULL), 0);
    assert_true(st.TIB == 10.0);
    assert_true(st.SPT == 8.0);
    assert_true(st.WASO == 0.0);
    assert_true(st.TST == 8.0);
    assert_true(st.N1 == 1.5 && st.N2 == 2.0 && st.N3 == 2.5 && st.REM == 2.0);
    assert_true(st.SOL == 1.0 && st.Lat_N1 == 1.0 && st.Lat_N2 == 2.5 && st.Lat_N3 == 4.0 && st.Lat_REM == 7.0);
    assert_true(st.N1_pct == 18.75 && st.N2_pct == 25.0 && st.N3_pct == 31.25 && st.REM_pct == 25.0);
    assert_true(st.SE == 80.0 && st.SME == 100.0);
}

/* Worked by hand (30-s epochs, minutes):
 * idx 0 1 2  3  4  5 6 7 8 9 10 11  12 13  14 15 16 17 18
 *     W W N1 N2 N2 W W W W W N2 ART N2 REM W  N2 N2 W  W          */
static void test_stats_hand(void **state)
{
    (void)state;
    static const int8_t s[] = {W, W, S_N1, S_N2, S_N2, W, W, W, W, W, S_N2, A, S_N2, R, W, S_N2, S_N2, W, W};
    somna_hypnogram h = make(s, 19, 30);
    somna_hypno_stats st;
    assert_int_equal(somna_hypno_stats_compute(&h, NULL, &st, NULL), 0);
    assert_int_equal(st.n_epochs, 19);
    assert_true(st.TIB == 9.5);
    assert_true(st.SPT == 7.5);           /* epochs 2..16 */
    assert_true(st.TST == 4.0);           /* 8 sleep epochs */
    assert_true(st.WASO == 3.0);          /* W at 5-9 and 14 */
    assert_true(st.W_in_SPT == 3.0);
    assert_true(st.unscored_min == 0.5);  /* the ART epoch */
    assert_true(st.SOL == 1.0);
    assert_true(st.Lat_N1 == 1.0 && st.Lat_N2 == 1.5 && st.Lat_REM == 6.5);
    assert_true(isnan(st.Lat_N3));
    assert_string_equal(somna_hypno_null_reason(&st, "Lat_N3"), "no N3 epoch in the window");
    assert_null(somna_hypno_null_reason(&st, "Lat_N2"));
    assert_true(st.REM_latency_from_onset == 5.5);
    assert_close_rel(st.SE, 100.0 * 4.0 / 9.5, 1e-12);
    assert_close_rel(st.SME, 100.0 * 4.0 / 7.5, 1e-12);
    assert_true(st.N1_pct == 12.5 && st.N2_pct == 75.0 && st.N3_pct == 0.0 && st.REM_pct == 12.5);
    assert_true(st.awakenings == 2.0);      /* bouts 5-9 (2.5 min) and 14 (0.5 min) */
    assert_true(st.awakenings_2min == 1.0);
    assert_true(st.SFI == 30.0);            /* 2 / (4 min / 60) */
    assert_true(isnan(st.SOL_persistent_5)); /* longest sleep run is 3 epochs */
    assert_true(isnan(st.SOL_persistent_10));
    /* transitions between consecutive scored epochs (pairs with ART skipped) */
    long tm[5][5] = {{6, 1, 2, 0, 0}, {0, 0, 1, 0, 0}, {2, 0, 2, 0, 1}, {0, 0, 0, 0, 0}, {1, 0, 0, 0, 0}};
    assert_memory_equal(st.transition_matrix, tm, sizeof tm);
    assert_true(st.stage_shifts == 8.0);
}

static void test_stats_bouts_persistent_nap(void **state)
{
    (void)state;
    somna_hypno_stats st;
    /* W ART W inside the sleep period is one bout of 1 minute */
    static const int8_t b[] = {S_N2, W, A, W, S_N2};
    somna_hypnogram h = make(b, 5, 30);
    assert_int_equal(somna_hypno_stats_compute(&h, NULL, &st, NULL), 0);
    assert_true(st.awakenings == 1.0 && st.awakenings_2min == 0.0 && st.WASO == 1.0);
    /* W, N2 x10, W, N2 x20: 5-min persistence at 0.5 min, 10-min at 6 min */
    int8_t p[32];
    p[0] = W;
    for (int i = 1; i <= 10; i++)
        p[i] = S_N2;
    p[11] = W;
    for (int i = 12; i < 32; i++)
        p[i] = S_N2;
    h = make(p, 32, 30);
    assert_int_equal(somna_hypno_stats_compute(&h, NULL, &st, NULL), 0);
    assert_true(st.SOL == 0.5 && st.SOL_persistent_5 == 0.5 && st.SOL_persistent_10 == 6.0);
    /* a 20-min nap without REM: W x6, N1 x4, N2 x30 */
    int8_t n[40];
    for (int i = 0; i < 40; i++)
        n[i] = (int8_t)(i < 6 ? W : i < 10 ? S_N1 : S_N2);
    h = make(n, 40, 30);
    assert_int_equal(somna_hypno_stats_compute(&h, NULL, &st, NULL), 0);
    assert_true(st.TIB == 20.0 && st.TST == 17.0 && st.SOL == 3.0 && st.Lat_N2 == 5.0);
    assert_true(st.SOL_persistent_5 == 3.0 && st.SOL_persistent_10 == 3.0);
    assert_true(isnan(st.Lat_REM) && isnan(st.REM_latency_from_onset));
    assert_true(st.awakenings == 0.0 && st.SFI == 0.0 && st.WASO == 0.0);
    /* no sleep at all: latencies and SPT-based values are null, TST 0 */
    static const int8_t w[] = {W, W, U, W};
    h = make(w, 4, 30);
    assert_int_equal(somna_hypno_stats_compute(&h, NULL, &st, NULL), 0);
    assert_true(st.TST == 0.0 && st.SE == 0.0 && isnan(st.SOL) && isnan(st.SPT) && isnan(st.awakenings));
    assert_string_equal(somna_hypno_null_reason(&st, "SOL"), "no sleep epoch in the window");
}

static void test_stats_window(void **state)
{
    (void)state;
    int nwarn = 0;
    somna_err err;
    somna_err_init(&err, count_warn, &nwarn);
    static const int8_t s[] = {W, W, W, S_N2, S_N2, W};
    somna_hypnogram h = make(s, 6, 30);
    somna_hypno_stats st;
    somna_hypno_window win = {30.0, 150.0}; /* epochs 1..4 */
    assert_int_equal(somna_hypno_stats_compute(&h, &win, &st, &err), 0);
    assert_true(st.TIB == 2.0 && st.SOL == 1.0 && st.TST == 1.0 && st.SE == 50.0);
    assert_int_equal(st.first_epoch, 1);
    assert_int_equal(nwarn, 0);
    win.lights_off_s = 45.0; /* inside epoch 1: window starts at 60 s, warned */
    assert_int_equal(somna_hypno_stats_compute(&h, &win, &st, &err), 0);
    assert_true(st.TIB == 1.5 && st.SOL == 0.5);
    assert_int_equal(nwarn, 1);
    win.lights_off_s = -1;
    win.lights_on_s = 600.0; /* after the end: window ends at 180 s, warned */
    assert_int_equal(somna_hypno_stats_compute(&h, &win, &st, &err), 0);
    assert_true(st.TIB == 3.0);
    assert_int_equal(nwarn, 2);
    win.lights_on_s = 150.0;
    win.lights_off_s = 200.0; /* after lights-on */
    assert_int_not_equal(somna_hypno_stats_compute(&h, &win, &st, &err), 0);
    win.lights_off_s = 1000.0; /* after the end */
    assert_int_not_equal(somna_hypno_stats_compute(&h, &win, &st, &err), 0);
    assert_non_null(strstr(err.msg, "after the end"));
}

static void test_compare(void **state)
{
    (void)state;
    /* A: W W N1 N2 N2 N3 R R ART ; B: W N1 N1 N2 N3 N3 R W N2.
     * The ART epoch is excluded; 5 of 8 agree.  Marginals A (rows)
     * W2 N1 1 N2 2 N3 1 R2, B (cols) W2 N1 2 N2 1 N3 2 R1:
     * pe = (4+2+2+2+2)/64 = 0.1875, kappa = (0.625-0.1875)/0.8125 = 7/13.
     * F1 = 2TP/(row+col): W 2/4, others 2/3. */
    static const int8_t a[] = {W, W, S_N1, S_N2, S_N2, S_N3, R, R, A};
    static const int8_t b[] = {W, S_N1, S_N1, S_N2, S_N3, S_N3, R, W, S_N2};
    somna_hypnogram ha = make(a, 9, 30), hb = make(b, 9, 30);
    somna_hypno_agreement ag;
    assert_int_equal(somna_hypno_compare(&ha, &hb, &ag, NULL), 0);
    assert_int_equal(ag.n_epochs, 8);
    assert_int_equal(ag.n_excluded, 1);
    assert_true(ag.accuracy == 0.625);
    assert_close_rel(ag.kappa, 7.0 / 13.0, 1e-12);
    assert_close_rel(ag.f1[0], 0.5, 1e-12);
    for (int k = 1; k < 5; k++)
        assert_close_rel(ag.f1[k], 2.0 / 3.0, 1e-12);
    assert_close_rel(ag.macro_f1, (0.5 + 4 * 2.0 / 3.0) / 5, 1e-12);
    assert_close_rel(ag.precision[1], 0.5, 1e-12); /* S_N1: 1 of 2 B-S_N1 right */
    assert_close_rel(ag.recall[1], 1.0, 1e-12);
    assert_int_equal(ag.confusion[4][0], 1);
    assert_int_equal(ag.confusion[2][3], 1);
    /* perfect agreement on one stage only: kappa undefined (null) */
    static const int8_t c[] = {S_N2, S_N2, S_N2};
    somna_hypnogram hc = make(c, 3, 30);
    assert_int_equal(somna_hypno_compare(&hc, &hc, &ag, NULL), 0);
    assert_true(ag.accuracy == 1.0 && isnan(ag.kappa) && isnan(ag.f1[0]) && ag.f1[2] == 1.0);
    /* different lengths refused */
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_not_equal(somna_hypno_compare(&ha, &hc, &ag, &err), 0);
    assert_non_null(strstr(err.msg, "different lengths"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_text_formats),
        cmocka_unit_test(test_dreams_aggregation_tie_rule),
        cmocka_unit_test(test_tables_and_intervals),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_noxturnal_utf16),
        cmocka_unit_test(test_stats_yasa_doc_example),
        cmocka_unit_test(test_stats_hand),
        cmocka_unit_test(test_stats_bouts_persistent_nap),
        cmocka_unit_test(test_stats_window),
        cmocka_unit_test(test_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
