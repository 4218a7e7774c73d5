/* EDF+ annotation hypnograms written here with the EDF+ writer: stages as
 * "Sleep stage X" TALs spanning several epochs, non-stage annotations
 * ignored, and every malformation refused with the annotation named. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "somna/edf.h"
#include "somna/hypno.h"
#include "test_util.h"

typedef struct ann {
    double onset, duration;
    const char *text;
} ann;

/* 10 records of 30 s (5 min), one dummy signal, start 23:15:00. */
static void write_edf(const char *path, const ann *a, size_t n)
{
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_edf_signal_spec sig = {"Dummy", "uV", NULL, NULL, 1, -100, 100, 0, 0};
    somna_edf_writer_spec spec = {0, "X X X X", NULL, 2020, 3, 14, 23, 15, 0, 30.0, 1, &sig, 400};
    somna_edf_writer *w = NULL;
    if (somna_edf_writer_open(path, &spec, &w, &err))
        fail_msg("writer: %s", err.msg);
    for (size_t i = 0; i < n; i++)
        if (somna_edf_writer_add_annotation(w, a[i].onset, a[i].duration, a[i].text, &err))
            fail_msg("annotation: %s", err.msg);
    double v = 0;
    const double *data[1] = {&v};
    for (int r = 0; r < 10; r++)
        if (somna_edf_writer_put_record(w, data, &err))
            fail_msg("record: %s", err.msg);
    if (somna_edf_writer_close(w, &err))
        fail_msg("close: %s", err.msg);
}

static int read_edf(const char *path, int fill, somna_hypnogram *h, somna_err *err)
{
    somna_hypno_read_opts o = {SOMNA_HYPNO_FMT_AUTO, 0, fill};
    somna_hypno_format f = SOMNA_HYPNO_FMT_AUTO;
    int rc = somna_hypno_read(path, &o, h, &f, err);
    if (rc == 0)
        assert_int_equal(f, SOMNA_HYPNO_FMT_EDF);
    return rc;
}

static void test_edf_good(void **state)
{
    (void)state;
    char p[1024];
    test_tmp_path(p, sizeof p, "hypno_good.edf");
    static const ann a[] = {{0, 60, "Sleep stage W"},    {15, 0, "Lights off"},       {60, 90, "Sleep stage 2"},
                            {150, 30, "Movement time"}, {180, 60, "Sleep stage 4"}, {240, 30, "Sleep stage R"},
                            {270, 30, "Sleep stage ?"}};
    write_edf(p, a, sizeof a / sizeof a[0]);
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_hypnogram h;
    if (read_edf(p, 0, &h, &err))
        fail_msg("%s", err.msg);
    int8_t want[] = {SOMNA_STAGE_W,   SOMNA_STAGE_W,  SOMNA_STAGE_N2,  SOMNA_STAGE_N2,      SOMNA_STAGE_N2,
                     SOMNA_STAGE_ART, SOMNA_STAGE_N3, SOMNA_STAGE_N3, SOMNA_STAGE_REM, SOMNA_STAGE_UNSCORED};
    assert_int_equal(h.n_epochs, 10);
    assert_memory_equal(h.stages, want, 10);
    assert_true(h.start_clock_s == 23 * 3600 + 15 * 60);
    assert_string_equal(h.start_date, "2020-03-14");
    somna_hypno_stats st;
    assert_int_equal(somna_hypno_stats_compute(&h, NULL, &st, &err), 0);
    assert_true(st.SOL == 1.0 && st.TST == 3.0 && st.Lat_REM == 4.0 && st.unscored_min == 1.0);
    somna_hypno_free(&h);
}

static void expect_refusal(const ann *a, size_t n, const char *name, const char *m1, const char *m2)
{
    char p[1024];
    test_tmp_path(p, sizeof p, name);
    write_edf(p, a, n);
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_hypnogram h;
    assert_int_not_equal(read_edf(p, 0, &h, &err), 0);
    assert_null(h.stages);
    if (!strstr(err.msg, name) || !strstr(err.msg, m1) || (m2 && !strstr(err.msg, m2)))
        fail_msg("message '%s' lacks '%s' / '%s'", err.msg, m1, m2 ? m2 : "");
}

static void test_edf_malformed(void **state)
{
    (void)state;
    static const ann unknown[] = {{0, 60, "Sleep stage W"}, {60, 30, "Sleep stage 5"}};
    expect_refusal(unknown, 2, "hypno_unknown.edf", "annotation 2", "unknown sleep stage 'Sleep stage 5'");
    static const ann overlap[] = {{0, 90, "Sleep stage W"}, {60, 30, "Sleep stage 1"}};
    expect_refusal(overlap, 2, "hypno_overlap.edf", "annotation 2", "overlaps the stage of annotation 1");
    static const ann gap[] = {{0, 30, "Sleep stage W"}, {90, 30, "Sleep stage 1"}};
    expect_refusal(gap, 2, "hypno_gap.edf", "annotation 2", "gap of 60 s");
    static const ann partial[] = {{0, 45, "Sleep stage W"}};
    expect_refusal(partial, 1, "hypno_partial.edf", "annotation 1", "not a whole number of 30-s epochs");
    static const ann none[] = {{0, 30, "Lights off"}};
    expect_refusal(none, 1, "hypno_none.edf", "no sleep-stage annotation", NULL);
    /* the gap becomes two unscored epochs with fill_gaps */
    char p[1024];
    test_tmp_path(p, sizeof p, "hypno_gap.edf");
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_hypnogram h;
    assert_int_equal(read_edf(p, 1, &h, &err), 0);
    int8_t want[] = {SOMNA_STAGE_W, SOMNA_STAGE_UNSCORED, SOMNA_STAGE_UNSCORED, SOMNA_STAGE_N1};
    assert_int_equal(h.n_epochs, 4);
    assert_memory_equal(h.stages, want, 4);
    somna_hypno_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edf_good),
        cmocka_unit_test(test_edf_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
